#include "targz_manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing --------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n) * 2 + 128;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A JSON string. Bytes >= 0x80 pass through: folder names are UTF-8, and
 * a source key that is not stays byte-exact rather than being mangled. */
static void put_json_string(sbuf *b, const char *s)
{
    put(b, "\"", 1);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    put(b, "\"", 1);
}

char *targz_manifest_format(const char *folder, const char *file,
                            uint64_t size, const char *sha256_hex,
                            const char *flags, const char *keywords,
                            int64_t internal_date, const char *source_key)
{
    sbuf b = {0};
    char num[32];
    puts_(&b, "{\"folder\":");
    put_json_string(&b, folder);
    puts_(&b, ",\"file\":");
    put_json_string(&b, file);
    snprintf(num, sizeof num, "%" PRIu64, size);
    puts_(&b, ",\"size\":");
    puts_(&b, num);
    puts_(&b, ",\"sha256\":");
    put_json_string(&b, sha256_hex);
    puts_(&b, ",\"flags\":");
    put_json_string(&b, flags);
    puts_(&b, ",\"keywords\":[");
    const char *p = keywords ? keywords : "";
    int first = 1;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        char *kw = strndup(p, n);
        if (!kw) {
            b.oom = 1;
            break;
        }
        if (!first)
            puts_(&b, ",");
        put_json_string(&b, kw);
        free(kw);
        first = 0;
        p += n;
    }
    snprintf(num, sizeof num, "%" PRId64, internal_date);
    puts_(&b, "],\"internal_date\":");
    puts_(&b, num);
    puts_(&b, ",\"source_key\":");
    put_json_string(&b, source_key ? source_key : "");
    puts_(&b, "}");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
    int depth;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static void put_utf8(sbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    put(b, u, n);
}

/* A JSON string into a malloc'd C string; NUL (\u0000) is refused since
 * every string here becomes a C string. */
static char *parse_string(cursor *c)
{
    if (c->p >= c->end || *c->p != '"')
        return NULL;
    c->p++;
    sbuf b = {0};
    put(&b, "", 0);
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20)
            goto bad;
        if (ch != '\\') {
            put(&b, c->p++, 1);
            continue;
        }
        if (c->end - c->p < 2)
            goto bad;
        char e = c->p[1];
        c->p += 2;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *simple = e ? strchr(from, e) : NULL;
        if (simple) {
            put(&b, &to[simple - from], 1);
            continue;
        }
        if (e != 'u' || c->end - c->p < 4)
            goto bad;
        unsigned cp;
        if (hex4(c->p, &cp) != 0)
            goto bad;
        c->p += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {
            unsigned lo;
            if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' ||
                hex4(c->p + 2, &lo) != 0 || lo < 0xdc00 || lo >= 0xe000)
                goto bad;
            c->p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if ((cp >= 0xdc00 && cp < 0xe000) || cp == 0) {
            goto bad;
        }
        put_utf8(&b, cp);
    }
    if (c->p >= c->end || b.oom)
        goto bad;
    c->p++;
    return b.p;
bad:
    free(b.p);
    return NULL;
}

static int parse_int(cursor *c, int64_t *out, int allow_negative)
{
    int neg = 0;
    if (c->p < c->end && *c->p == '-' && allow_negative) {
        neg = 1;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return -1;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static int skip_value(cursor *c);

static int skip_container(cursor *c, char close)
{
    if (++c->depth > 32)
        return -1;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(c);
        if (close == '}') {
            char *k = parse_string(c);
            if (!k)
                return -1;
            free(k);
            skip_ws(c);
            if (c->p >= c->end || *c->p++ != ':')
                return -1;
            skip_ws(c);
        }
        if (skip_value(c) != 0)
            return -1;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            c->depth--;
            return 0;
        }
        return -1;
    }
}

static int skip_value(cursor *c)
{
    if (c->p >= c->end)
        return -1;
    char ch = *c->p;
    if (ch == '"') {
        char *s = parse_string(c);
        free(s);
        return s ? 0 : -1;
    }
    if (ch == '{')
        return skip_container(c, '}');
    if (ch == '[')
        return skip_container(c, ']');
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        c->p++;
        while (c->p < c->end && strchr("0123456789.eE+-", *c->p))
            c->p++;
        return 0;
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(c->end - c->p) >= n && memcmp(c->p, words[i], n) == 0) {
            c->p += n;
            return 0;
        }
    }
    return -1;
}

static char *parse_keywords(cursor *c)
{
    if (c->p >= c->end || *c->p != '[')
        return NULL;
    c->p++;
    sbuf b = {0};
    put(&b, "", 0);
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return b.p;
    }
    for (;;) {
        skip_ws(c);
        char *kw = parse_string(c);
        /* A keyword is an IMAP atom: no spaces, since the list is
         * space-separated in mp_msg_info. */
        if (!kw || !*kw || strchr(kw, ' ')) {
            free(kw);
            free(b.p);
            return NULL;
        }
        if (b.len)
            put(&b, " ", 1);
        puts_(&b, kw);
        free(kw);
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']' && !b.oom) {
            c->p++;
            return b.p;
        }
        free(b.p);
        return NULL;
    }
}

int targz_manifest_parse(const char *line, size_t len, targz_manifest_line *out)
{
    memset(out, 0, sizeof *out);
    cursor c = {line, line + len, 0};
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return -1;
    c.p++;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') {
        c.p++;
        goto done;
    }
    for (;;) {
        skip_ws(&c);
        char *key = parse_string(&c);
        if (!key)
            goto bad;
        skip_ws(&c);
        if (c.p >= c.end || *c.p++ != ':') {
            free(key);
            goto bad;
        }
        skip_ws(&c);
        char **str = NULL;
        int rc = 0;
        if (strcmp(key, "folder") == 0)
            str = &out->folder;
        else if (strcmp(key, "file") == 0)
            str = &out->file;
        else if (strcmp(key, "sha256") == 0)
            str = &out->sha256;
        else if (strcmp(key, "flags") == 0)
            str = &out->flags;
        else if (strcmp(key, "source_key") == 0)
            str = &out->source_key;
        if (str) {
            free(*str); /* a repeated key: the last one wins */
            *str = parse_string(&c);
            rc = *str ? 0 : -1;
        } else if (strcmp(key, "keywords") == 0) {
            free(out->keywords);
            out->keywords = parse_keywords(&c);
            rc = out->keywords ? 0 : -1;
        } else if (strcmp(key, "size") == 0) {
            int64_t v;
            rc = parse_int(&c, &v, 0);
            out->size = (uint64_t)v;
            out->has_size = rc == 0;
        } else if (strcmp(key, "internal_date") == 0) {
            rc = parse_int(&c, &out->internal_date, 1);
            out->has_date = rc == 0;
        } else {
            rc = skip_value(&c);
        }
        free(key);
        if (rc != 0)
            goto bad;
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (c.p < c.end && *c.p == '}') {
            c.p++;
            break;
        }
        goto bad;
    }
done:
    skip_ws(&c);
    if (c.p != c.end || !out->file || !out->sha256 || strlen(out->sha256) != 64)
        goto bad;
    return 0;
bad:
    targz_manifest_line_free(out);
    return -1;
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
