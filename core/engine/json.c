#include "json.h"

#include <stdlib.h>
#include <string.h>

#define DUMP_FLAGS (JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* Length of the valid UTF-8 sequence at S (N bytes left) by the rule
 * jansson checks strings with (shortest form, no surrogates, at most
 * U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
                 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                : 0;
    unsigned lo = s[0] == 0xe0 ? 0xa0 : s[0] == 0xf0 ? 0x90 : 0x80;
    unsigned hi = s[0] == 0xed ? 0x9f : s[0] == 0xf4 ? 0x8f : 0xbf;
    if (len == 0 || n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

json_t *mp_json_text(const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s), bad = 0;
    for (size_t i = 0, k; i < n; i += k ? k : 1)
        bad += (k = utf8_len(s + i, n - i)) == 0;
    if (!bad)
        return json_stringn((const char *)s, n);
    char *fixed = malloc(n + 2 * bad + 1), *q = fixed;
    if (!fixed)
        return NULL;
    for (size_t i = 0, k; i < n; i += k) {
        k = utf8_len(s + i, n - i);
        if (k == 0) {
            memcpy(q, "\xef\xbf\xbd", 3); /* U+FFFD */
            q += 3;
            k = 1;
        } else {
            memcpy(q, s + i, k);
            q += k;
        }
    }
    json_t *v = json_stringn(fixed, (size_t)(q - fixed));
    free(fixed);
    return v;
}

void mp_json_write(FILE *f, const json_t *v)
{
    if (!v || json_dumpf(v, f, DUMP_FLAGS) != 0)
        fputs("null", f);
}

void mp_json_string(FILE *f, const char *s)
{
    json_t *v = mp_json_text(s);
    mp_json_write(f, v);
    json_decref(v);
}

static void write_key(FILE *f, const char *key)
{
    mp_json_string(f, key);
    fputs(": ", f);
}

void mp_json_write_report(FILE *f, const json_t *obj, int objects_on_lines)
{
    const char *key;
    json_t *v;
    int first = 1;
    fputc('{', f);
    json_object_foreach((json_t *)obj, key, v)
    {
        int array = json_is_array(v);
        if (!first)
            fputs(array ? ",\n " : ", ", f);
        first = 0;
        write_key(f, key);
        if (!array || !objects_on_lines) {
            mp_json_write(f, v);
            continue;
        }
        size_t i;
        json_t *e;
        fputc('[', f);
        json_array_foreach(v, i, e)
        {
            if (json_is_object(e))
                fputs(i ? ",\n  " : "\n  ", f);
            else if (i)
                fputs(", ", f);
            mp_json_write(f, e);
        }
        fputc(']', f);
    }
    fputc('}', f);
}
