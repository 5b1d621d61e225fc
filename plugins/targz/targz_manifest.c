#include "targz_manifest.h"

#include "hex.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A line may nest this deep (the shape needs 2) and hold this many values
 * and containers, so that what jansson builds for one line stays a few MiB
 * however hostile the line is. */
#define MANIFEST_MAX_DEPTH 32
#define MANIFEST_MAX_VALUES 65536

/* Length of the strictly valid UTF-8 sequence at S (N bytes left): no
 * overlong forms, no surrogates, nothing past U+10FFFF, the rule jansson
 * loads by. 0 when S starts no valid sequence. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        if (s[0] == 0xe0)
            lo = 0xa0;
        else if (s[0] == 0xed)
            hi = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        if (s[0] == 0xf0)
            lo = 0x90;
        else if (s[0] == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k)
        if ((k = utf8_seq(p + i, n - i)) == 0)
            return 0;
    return 1;
}

/* The bytes of an invalid sequence, one by one, in the legacy reading
 * below: byte B (>= 0x80) as U+10FF00 + B, a private-use code point. */
static char *put_mapped(char *q, unsigned char b)
{
    unsigned cp = 0x10ff00u + b;
    *q++ = (char)(0xf0 | cp >> 18);
    *q++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *q++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *q++ = (char)(0x80 | (cp & 0x3f));
    return q;
}

/* ---- writing --------------------------------------------------------- */

static char *hex_of(const char *s)
{
    size_t n = strlen(s);
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
    h[2 * n] = '\0';
    return h;
}

/* S as a jansson string; when S is not valid UTF-8 (a source key taken
 * from a file name, say), each byte of an invalid sequence becomes U+FFFD
 * and *HEX (when HEX is not NULL) gets S's bytes in hex. */
static json_t *text(const char *s, char **hex)
{
    s = s ? s : "";
    if (hex)
        *hex = NULL;
    size_t n = strlen(s);
    if (utf8_valid(s, n))
        return json_string(s);
    char *lossy = malloc(3 * n + 1), *q = lossy;
    if (!lossy)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k) {
        k = utf8_seq(p + i, n - i);
        if (k) {
            memcpy(q, p + i, k);
            q += k;
        } else {
            memcpy(q, "\xef\xbf\xbd", 3);
            q += 3;
            k = 1;
        }
    }
    *q = '\0';
    json_t *v = json_string(lossy);
    free(lossy);
    if (v && hex && !(*hex = hex_of(s))) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* Set KEY to S (and, when S is not UTF-8, KEY_hex to its bytes, kept in
 * HEXES to be added after the fixed keys). */
static int set_text(json_t *o, json_t *hexes, const char *key, const char *s)
{
    char *hex;
    json_t *v = text(s, &hex);
    if (!v || json_object_set_new(o, key, v) != 0)
        return -1;
    if (!hex)
        return 0;
    char name[32];
    snprintf(name, sizeof name, "%s_hex", key);
    int rc = json_object_set_new(hexes, name, json_string(hex));
    free(hex);
    return rc;
}

char *targz_manifest_format(const char *folder, const char *file,
                            uint64_t size, const char *sha256_hex,
                            const char *flags, const char *keywords,
                            int64_t internal_date, const char *source_key)
{
    if (size > (uint64_t)INT64_MAX)
        return NULL;
    json_t *o = json_object(), *hexes = json_object(), *kw = json_array(),
           *kw_hex = json_array();
    char *out = NULL;
    int bad = !o || !hexes || !kw || !kw_hex, any_hex = 0;
    const char *p = keywords ? keywords : "";
    while (!bad && *p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        /* Every keyword's bytes go into keywords_hex too, which is
         * written only when one of them is not UTF-8. */
        char *one = strndup(p, n), *hex = NULL, *all = one ? hex_of(one) : NULL;
        json_t *v = all ? text(one, &hex) : NULL;
        bad = !v || json_array_append_new(kw, v) != 0 ||
              json_array_append_new(kw_hex, json_string(all)) != 0;
        any_hex |= hex != NULL;
        free(all);
        free(hex);
        free(one);
        p += n;
    }
    json_t *sha = bad ? NULL : json_string(sha256_hex ? sha256_hex : "");
    if (!bad && sha &&
        set_text(o, hexes, "folder", folder) == 0 &&
        set_text(o, hexes, "file", file) == 0 &&
        json_object_set_new(o, "size", json_integer((json_int_t)size)) == 0 &&
        json_object_set_new(o, "sha256", sha) == 0 &&
        (sha = NULL, set_text(o, hexes, "flags", flags) == 0) &&
        json_object_set(o, "keywords", kw) == 0 &&
        json_object_set_new(o, "internal_date",
                            json_integer((json_int_t)internal_date)) == 0 &&
        set_text(o, hexes, "source_key", source_key) == 0 &&
        json_object_update(o, hexes) == 0 &&
        (!any_hex || json_object_set(o, "keywords_hex", kw_hex) == 0))
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(sha);
    json_decref(o);
    json_decref(hexes);
    json_decref(kw);
    json_decref(kw_hex);
    return out;
}

/* ---- parsing ----------------------------------------------------------- */

/* Nesting and value count outside strings; -1 past the limits. */
static int shape_ok(const char *s, size_t n)
{
    size_t depth = 0, values = 0;
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '[' || c == '{') {
            if (++depth > MANIFEST_MAX_DEPTH)
                return 0;
        } else if ((c == ']' || c == '}') && depth > 0)
            depth--;
        if ((c == ',' || c == '[' || c == '{') && ++values > MANIFEST_MAX_VALUES)
            return 0;
    }
    return 1;
}

/* The legacy reading of a line that is not valid UTF-8 (the raw bytes
 * writers before jansson put into strings): each byte of an invalid
 * sequence mapped to U+10FF00 + byte, which jansson loads, and mapped back
 * by unmap(). NULL when the line already holds such a code point, raw or
 * escaped (\udbff...), since then the mapping could not be undone. */
static char *legacy_form(const char *s, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++)
        if (s[i] == '\\' && s[i + 1] == 'u' && strncasecmp(s + i + 2, "dbff", 4) == 0)
            return NULL;
    char *out = malloc(4 * n + 1), *q = out;
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0, k; i < n; i += k) {
        k = utf8_seq(p + i, n - i);
        if (k == 4 && p[i] == 0xf4 && p[i + 1] == 0x8f && p[i + 2] >= 0xbc) {
            free(out);
            return NULL;
        }
        if (k) {
            memcpy(q, p + i, k);
            q += k;
        } else {
            q = put_mapped(q, p[i]);
            k = 1;
        }
    }
    *q = '\0';
    return out;
}

/* S (a jansson string) as a malloc'd C string; with LEGACY, the code
 * points legacy_form() made turned back into their bytes. */
static char *unmap(const char *s, int legacy)
{
    char *out = strdup(s), *q = out;
    if (!out || !legacy)
        return out;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (p[0] == 0xf4 && p[1] == 0x8f && p[2] >= 0xbe && p[3]) {
            /* U+10FF80..U+10FFFF: the byte 0x80..0xff */
            *q++ = (char)(((p[2] & 0x03) << 6) | (p[3] & 0x3f));
            p += 4;
        } else {
            *q++ = (char)*p++;
        }
    }
    *q = '\0';
    return out;
}

/* The bytes a KEY_hex string spells, or NULL when it is not an even
 * number of hex digits or spells a NUL. */
static char *unhex(const json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *h = json_string_value(v);
    size_t n = json_string_length(v);
    if (n % 2)
        return NULL;
    char *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = mp_hex_value(h[2 * i]), lo = mp_hex_value(h[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(out);
            return NULL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[n / 2] = '\0';
    return out;
}

/* KEY's string into *OUT: KEY_hex's bytes when the line has it, else
 * KEY's text. 0 (also when the line has neither), -1 on a wrong type. */
static int get_text(json_t *root, const char *key, int legacy, char **out)
{
    char name[32];
    snprintf(name, sizeof name, "%s_hex", key);
    json_t *v = json_object_get(root, key), *h = json_object_get(root, name);
    if (v && !json_is_string(v))
        return -1;
    if (h)
        *out = unhex(h);
    else if (v)
        *out = unmap(json_string_value(v), legacy);
    else
        return 0;
    return *out ? 0 : -1;
}

/* sha256: exactly 64 hex digits (required). */
static int get_sha256(json_t *root, char **out)
{
    json_t *v = json_object_get(root, "sha256");
    if (!json_is_string(v) || json_string_length(v) != 64)
        return -1;
    const char *h = json_string_value(v);
    for (int i = 0; i < 64; i++)
        if (mp_hex_value(h[i]) < 0)
            return -1;
    *out = strdup(h);
    return *out ? 0 : -1;
}

/* A keyword is an IMAP atom: not empty, no space (the list is
 * space-separated in mp_msg_info). */
static int add_keyword(char **list, size_t *len, char *kw)
{
    size_t n = kw ? strlen(kw) : 0;
    char *grown = n && !strchr(kw, ' ') ? realloc(*list, *len + n + 2) : NULL;
    if (!grown) {
        free(kw);
        return -1;
    }
    *list = grown;
    if (*len)
        grown[(*len)++] = ' ';
    memcpy(grown + *len, kw, n + 1);
    *len += n;
    free(kw);
    return 0;
}

static int get_keywords(json_t *root, int legacy, char **out)
{
    json_t *kw = json_object_get(root, "keywords"),
           *hex = json_object_get(root, "keywords_hex");
    if ((kw && !json_is_array(kw)) || (hex && !json_is_array(hex)))
        return -1;
    json_t *from = hex ? hex : kw;
    if (!from)
        return 0;
    size_t len = 0, i;
    json_t *v;
    *out = calloc(1, 1);
    if (!*out)
        return -1;
    json_array_foreach(from, i, v) {
        char *one = hex ? unhex(v)
                    : json_is_string(v) ? unmap(json_string_value(v), legacy)
                                        : NULL;
        if (add_keyword(out, &len, one) != 0)
            return -1;
    }
    return 0;
}

static int get_int(json_t *root, const char *key, int64_t min, int64_t *out,
                   int *has)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min)
        return -1;
    *out = (int64_t)json_integer_value(v);
    *has = 1;
    return 0;
}

int targz_manifest_parse(const char *line, size_t len, targz_manifest_line *out)
{
    memset(out, 0, sizeof *out);
    if (len > TARGZ_MANIFEST_LINE_MAX || !shape_ok(line, len))
        return -1;
    char *legacy = NULL;
    if (!utf8_valid(line, len) && !(legacy = legacy_form(line, len)))
        return -1;
    json_error_t err;
    json_t *root = legacy ? json_loads(legacy, JSON_REJECT_DUPLICATES, &err)
                          : json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    int lg = legacy != NULL;
    free(legacy);
    int64_t size = 0;
    int rc = -1;
    if (json_is_object(root) &&
        get_text(root, "folder", lg, &out->folder) == 0 &&
        get_text(root, "file", lg, &out->file) == 0 &&
        get_sha256(root, &out->sha256) == 0 &&
        get_text(root, "flags", lg, &out->flags) == 0 &&
        get_text(root, "source_key", lg, &out->source_key) == 0 &&
        get_keywords(root, lg, &out->keywords) == 0 &&
        get_int(root, "size", 0, &size, &out->has_size) == 0 &&
        get_int(root, "internal_date", INT64_MIN, &out->internal_date,
                &out->has_date) == 0 &&
        out->file && out->sha256)
        rc = 0;
    out->size = (uint64_t)size;
    json_decref(root);
    if (rc != 0)
        targz_manifest_line_free(out);
    return rc;
}

void targz_manifest_line_free(targz_manifest_line *l)
{
    free(l->folder);
    free(l->file);
    free(l->sha256);
    free(l->flags);
    free(l->keywords);
    free(l->source_key);
    memset(l, 0, sizeof *l);
}
