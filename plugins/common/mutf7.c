/* Modified UTF-7 (RFC 3501 section 5.1.3), both directions. */
#include "mutf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == ',')
        return 63;
    return -1;
}

static int is_direct(uint32_t c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* Decode one UTF-8 sequence at *P, advancing it. Returns the code point or
 * -1 for anything RFC 3629 forbids. */
static int32_t utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t cp;
    int extra;
    uint32_t min;

    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        cp = s[0] & 0x1f;
        extra = 1;
        min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        cp = s[0] & 0x0f;
        extra = 2;
        min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        cp = s[0] & 0x07;
        extra = 3;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int i = 1; i <= extra; i++) {
        /* A NUL terminator fails this test too, so no read past the end. */
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *p = s + 1 + extra;
    return (int32_t)cp;
}

static char *utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Base64 writer over a stream of 16-bit units. */
typedef struct b64_out {
    char *o;
    uint32_t bits;
    int nbits;
} b64_out;

static void b64_unit(b64_out *w, uint32_t unit)
{
    w->bits = w->bits << 16 | unit;
    w->nbits += 16;
    while (w->nbits >= 6) {
        w->nbits -= 6;
        *w->o++ = b64_alphabet[(w->bits >> w->nbits) & 63];
    }
    w->bits &= (1u << w->nbits) - 1;
}

char *mp_mutf7_encode(const char *utf8)
{
    size_t len = strlen(utf8);
    /* Worst case: a lone control character costs "&AAE-", 5 bytes. */
    char *out = malloc(len * 5 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)utf8;
    char *o = out;

    while (*p) {
        if (is_direct(*p)) {
            *o++ = (char)*p;
            if (*p == '&')
                *o++ = '-';
            p++;
            continue;
        }
        b64_out w = {o, 0, 0};
        *w.o++ = '&';
        while (*p && !is_direct(*p)) {
            int32_t cp = utf8_next(&p);
            if (cp < 0) {
                free(out);
                return NULL;
            }
            if (cp >= 0x10000) {
                uint32_t v = (uint32_t)cp - 0x10000;
                b64_unit(&w, 0xd800 | v >> 10);
                b64_unit(&w, 0xdc00 | (v & 0x3ff));
            } else {
                b64_unit(&w, (uint32_t)cp);
            }
        }
        if (w.nbits > 0)
            *w.o++ = b64_alphabet[(w.bits << (6 - w.nbits)) & 63];
        *w.o++ = '-';
        o = w.o;
    }
    *o = '\0';
    return out;
}

/* Decode the base64 section starting at *P (just after '&', not "&-"),
 * through its closing '-'. Returns the new output end or NULL. */
static char *decode_section(const unsigned char **p, char *o)
{
    const unsigned char *s = *p;
    uint32_t bits = 0;
    int nbits = 0;
    uint32_t high = 0; /* a pending high surrogate, or 0 */

    for (; *s != '-'; s++) {
        int v = b64_value(*s);
        if (v < 0) /* also the NUL of an unclosed section */
            return NULL;
        bits = bits << 6 | (uint32_t)v;
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        uint32_t unit = (bits >> nbits) & 0xffff;
        bits &= (1u << nbits) - 1;
        uint32_t cp;
        if (high) {
            if (unit < 0xdc00 || unit > 0xdfff)
                return NULL;
            cp = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
            high = 0;
        } else if (unit >= 0xd800 && unit <= 0xdbff) {
            high = unit;
            continue;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            return NULL;
        } else {
            cp = unit;
        }
        /* Printable ASCII must stand for itself; NUL cannot be a name. */
        if (cp == 0 || is_direct(cp))
            return NULL;
        o = utf8_put(o, cp);
    }
    /* Only zero padding bits, less than one base64 digit's worth, may be
     * left; no unit and no surrogate may be half done. */
    if (nbits >= 6 || bits != 0 || high)
        return NULL;
    *p = s + 1;
    return o;
}

char *mp_mutf7_decode(const char *mutf7)
{
    size_t len = strlen(mutf7);
    /* 8 base64 digits carry 3 units, at most 9 UTF-8 bytes: 2x is ample. */
    char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)mutf7;
    char *o = out;
    int after_section = 0;

    while (*p) {
        if (!is_direct(*p))
            goto bad;
        if (*p != '&') {
            *o++ = (char)*p++;
            after_section = 0;
            continue;
        }
        p++;
        if (*p == '-') {
            *o++ = '&';
            p++;
            after_section = 0;
            continue;
        }
        /* "&AOQ-&AOQ-" says what "&AOQA5A-" says: not minimal. */
        if (after_section)
            goto bad;
        o = decode_section(&p, o);
        if (!o)
            goto bad;
        after_section = 1;
    }
    *o = '\0';
    return out;
bad:
    free(out);
    return NULL;
}
