#include "ib_name.h"

#include "hex.h"

#include <stdint.h>
#include <stdlib.h>

/* Code point of the escape at S ("%HEX;"), storing its length in *N;
 * 0 when S holds no escape imap-backup could have written. */
static uint32_t escape_at(const char *s, size_t left, size_t *n)
{
    uint32_t cp = 0;
    size_t i = 1;
    while (i < left && i <= 6 && mp_hex_value(s[i]) >= 0)
        cp = cp * 16 + (uint32_t)mp_hex_value(s[i++]);
    if (i == 1 || i >= left || s[i] != ';')
        return 0;
    if (cp == 0 || cp == '/' || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *n = i + 1;
    return cp;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *ib_name_decode(const char *component, size_t len)
{
    /* An escape never yields more bytes than it takes ("%80;" -> 2,
     * "%800;" -> 3, "%10000;" -> 4), so LEN + 1 bytes are enough. */
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t n;
        uint32_t cp;
        if (component[i] == '%' &&
            (cp = escape_at(component + i, len - i, &n)) != 0) {
            w += put_utf8(out + w, cp);
            i += n;
        } else {
            out[w++] = component[i++];
        }
    }
    out[w] = '\0';
    return out;
}
