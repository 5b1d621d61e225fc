#include "escape.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 character at P (of N bytes left), or 0. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range, or a surrogate */
    return len;
}

char *mp_escape(const char *in, int backslash, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), o = 0;
    if (!size)
        return out;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_char(p + i, n - i);
        int c1 = len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;
        char piece[16];
        size_t k;
        if (len == 1 && p[i] >= 0x20 && p[i] != 0x7f &&
            !(backslash && p[i] == '\\')) {
            piece[0] = (char)p[i];
            k = 1;
        } else if (len == 1 && p[i] == '\\') {
            memcpy(piece, "\\\\", 2);
            k = 2;
        } else if (len > 1 && !c1) {
            memcpy(piece, p + i, len);
            k = len;
        } else {
            if (!len || c1)
                len = c1 ? 2 : 1;
            k = 0;
            for (size_t b = 0; b < len; b++)
                k += (size_t)snprintf(piece + k, sizeof piece - k, "\\x%02x",
                                      p[i + b]);
        }
        /* Keep room for "..." and the NUL unless this is the end. */
        size_t room = i + len < n ? 4 : 1;
        if (o + k + room > size) {
            snprintf(out + o, size - o, "...");
            return out;
        }
        memcpy(out + o, piece, k);
        o += k;
        i += len;
    }
    out[o] = '\0';
    return out;
}

mp_shown mp_show_name(const char *name)
{
    mp_shown r;
    mp_escape(name ? name : "", 1, r.s, sizeof r.s);
    return r;
}
