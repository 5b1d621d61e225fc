#include "namesub.h"

#include <stdio.h>

/* Length of the one UTF-8 character at S (a shortest form, no surrogate,
 * at most U+10FFFF), or 0. */
static size_t utf8_char_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return c ? 1 : 0;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
        (cp >= 0x80 && cp < 0xa0))
        return 0;
    return n;
}

int mp_substitute_check(const char *sub, char delim, char *err, size_t err_size)
{
    const unsigned char *s = (const unsigned char *)sub;
    size_t n = utf8_char_len(s);
    if (n == 0 || s[n] != '\0') {
        snprintf(err, err_size,
                 "delimiter_substitute=%s: give exactly one character", sub);
        return -1;
    }
    if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f || s[0] == '/' || s[0] == '*' ||
                   s[0] == '%' || (delim && s[0] == delim))) {
        snprintf(err, err_size,
                 "delimiter_substitute=%s: not a control character, '/', "
                 "'*', '%%' or the server's delimiter",
                 sub);
        return -1;
    }
    return 0;
}
