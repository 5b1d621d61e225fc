/* Archive series: the header and the change lines, in JSON through
 * jansson (series.h). */
#include "series.h"

#include "targz_names.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_FORMAT 1

char *series_header_format(const series_header *h)
{
    json_t *o = json_pack(
        "{s:i,s:I,s:I,s:o,s:I}", "series", SERIES_FORMAT, "generation",
        (json_int_t)h->generation, "seq", (json_int_t)h->seq, "prev_sha256",
        h->prev_sha256[0] ? json_string(h->prev_sha256) : json_null(),
        "created", (json_int_t)h->created);
    if (!o)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

static int is_sha256_hex(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int series_header_parse(const char *text, size_t len, series_header *out)
{
    memset(out, 0, sizeof *out);
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    json_t *format = json_object_get(o, "series");
    json_t *gen = json_object_get(o, "generation");
    json_t *seq = json_object_get(o, "seq");
    json_t *prev = json_object_get(o, "prev_sha256");
    json_t *created = json_object_get(o, "created");
    int ok =
        json_is_integer(format) &&
        json_integer_value(format) == SERIES_FORMAT && json_is_integer(gen) &&
        json_integer_value(gen) > 0 && json_is_integer(seq) &&
        json_integer_value(seq) >= json_integer_value(gen) &&
        (json_is_null(prev) ||
         (json_is_string(prev) && is_sha256_hex(json_string_value(prev)))) &&
        (!created || json_is_integer(created));
    if (ok) {
        out->generation = (uint64_t)json_integer_value(gen);
        out->seq = (uint64_t)json_integer_value(seq);
        if (json_is_string(prev))
            strcpy(out->prev_sha256, json_string_value(prev));
        out->created = created ? (int64_t)json_integer_value(created) : 0;
        /* A base has no archive before it, and only a base lacks one. */
        ok = (out->seq == out->generation) == (out->prev_sha256[0] == '\0');
    }
    json_decref(o);
    return ok ? 0 : -1;
}

char *series_change_format(const series_change *c)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "key", json_string(c->key)) != 0)
        goto fail;
    if (c->removed) {
        if (json_object_set_new(o, "removed", json_true()) != 0)
            goto fail;
    } else {
        char letters[8];
        targz_flags_to_letters(c->flags, letters);
        json_t *kw = json_array();
        if (!kw || json_object_set_new(o, "flags", json_string(letters)) != 0 ||
            json_object_set_new(o, "keywords", kw) != 0)
            goto fail;
        const char *p = c->keywords ? c->keywords : "";
        while (*p) {
            size_t n = strcspn(p, " ");
            if (n && json_array_append_new(kw, json_stringn(p, n)) != 0)
                goto fail;
            p += n;
            p += strspn(p, " ");
        }
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
fail:
    json_decref(o);
    return NULL;
}

/* Keywords of a JSON array into one space-separated string. */
static char *join_keywords(const json_t *kw)
{
    size_t total = 1, i;
    json_t *v;
    json_array_foreach(kw, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strchr(json_string_value(v), ' '))
            return NULL;
        total += json_string_length(v) + 1;
    }
    char *out = malloc(total), *w = out;
    if (!out)
        return NULL;
    json_array_foreach(kw, i, v)
    {
        if (w != out)
            *w++ = ' ';
        memcpy(w, json_string_value(v), json_string_length(v));
        w += json_string_length(v);
    }
    *w = '\0';
    return out;
}

static int parse_line(const char *line, size_t len, series_change *c)
{
    memset(c, 0, sizeof *c);
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *key = json_object_get(o, "key");
    json_t *removed = json_object_get(o, "removed");
    json_t *flags = json_object_get(o, "flags");
    json_t *kw = json_object_get(o, "keywords");
    int ok =
        json_is_object(o) && json_is_string(key) && json_string_length(key) > 0;
    if (ok && removed)
        ok = json_is_true(removed) && !flags && !kw;
    else if (ok)
        ok = json_is_string(flags) && (!kw || json_is_array(kw));
    if (ok) {
        c->key = strdup(json_string_value(key));
        c->removed = removed != NULL;
        if (!c->removed) {
            c->flags = targz_letters_to_flags(json_string_value(flags));
            c->keywords = kw ? join_keywords(kw) : strdup("");
        }
        ok = c->key && (c->removed || c->keywords);
        if (!ok) {
            free(c->key);
            free(c->keywords);
        }
    }
    json_decref(o);
    return ok ? 0 : -1;
}

size_t series_changes_parse(const char *text, size_t len, series_change **out,
                            size_t *n)
{
    size_t line_no = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line_no++;
        if (stop > p) {
            series_change c;
            if (parse_line(p, (size_t)(stop - p), &c) != 0)
                return line_no;
            series_change *g = realloc(*out, (*n + 1) * sizeof *g);
            if (!g) {
                free(c.key);
                free(c.keywords);
                return line_no;
            }
            *out = g;
            g[(*n)++] = c;
        }
        p = stop + (nl != NULL);
    }
    return 0;
}

void series_changes_free(series_change *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].key);
        free(c[i].keywords);
    }
    free(c);
}
