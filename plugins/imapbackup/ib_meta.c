#include "ib_meta.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ib_meta_free(ib_meta *m)
{
    for (size_t i = 0; i < m->n; i++)
        ib_flag_set_free(&m->v[i].flags);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* A non-negative integer member, or a decimal string: imap-backup read
 * version 1 and 2 UIDs with to_i, so strings may have been written. */
static int get_uint(json_t *v, uint64_t max, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i > max)
            return -1;
        *out = (uint64_t)i;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (!*s || *s < '0' || *s > '9')
            return -1;
        unsigned long long u = strtoull(s, &end, 10);
        if (*end || u > max)
            return -1;
        *out = u;
        return 0;
    }
    return -1;
}

/* The UIDs read so far, sorted, to find one listed twice (it would give
 * two messages one key). */
typedef struct uid_set {
    uint32_t *v;
    size_t n, cap;
} uid_set;

/* Sets *SEEN when UID is in S, else adds it. -1 when out of memory. */
static int uid_seen(uid_set *s, uint32_t uid, int *seen)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n && s->v[lo] == uid) {
        *seen = 1;
        return 0;
    }
    *seen = 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint32_t *g = realloc(s->v, cap * sizeof *g);
        if (!g)
            return -1;
        s->v = g;
        s->cap = cap;
    }
    memmove(s->v + lo + 1, s->v + lo, (s->n - lo) * sizeof *s->v);
    s->v[lo] = uid;
    s->n++;
    return 0;
}

static int read_entry(json_t *item, int version, ib_meta *m, ib_entry *e,
                      const char **why)
{
    uint64_t u;
    json_t *uid = version == 3 ? json_object_get(item, "uid") : item;
    if (version == 3 && !json_is_object(item)) {
        *why = "a message entry is not an object";
        return -1;
    }
    if (get_uint(uid, UINT32_MAX, &u) != 0 || u == 0) {
        *why = "a UID is missing or not a number from 1 to 4294967295";
        return -1;
    }
    e->uid = (uint32_t)u;
    if (version != 3)
        return 0;
    if (get_uint(json_object_get(item, "offset"), INT64_MAX, &e->offset) ||
        get_uint(json_object_get(item, "length"), INT64_MAX, &e->length)) {
        *why = "a message entry has no valid \"offset\" and \"length\"";
        return -1;
    }
    json_t *flags = json_object_get(item, "flags");
    if (flags && !json_is_array(flags) && !json_is_null(flags)) {
        *why = "a message entry's \"flags\" is not a list";
        return -1;
    }
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f)
    {
        if (!json_is_string(f)) {
            m->dropped_flags++;
            continue;
        }
        if (ib_flag_add(&e->flags, json_string_value(f), &m->dropped_flags)) {
            *why = "out of memory";
            return -1;
        }
    }
    return 0;
}

static int read_root(json_t *root, ib_meta *m, const char **why)
{
    if (!json_is_object(root)) {
        *why = "it is not a JSON object";
        return -1;
    }
    json_t *version = json_object_get(root, "version");
    if (!version && json_object_get(root, "uids")) {
        m->version = 1;
    } else if (json_is_integer(version) && json_integer_value(version) >= 1 &&
               json_integer_value(version) <= 3) {
        m->version = (int)json_integer_value(version);
    } else {
        *why = "its \"version\" is missing or not 1, 2 or 3 (the versions "
               "imap-backup has written)";
        return -1;
    }
    json_t *validity = json_object_get(root, "uid_validity");
    if (validity && !json_is_null(validity)) {
        if (get_uint(validity, UINT32_MAX, &m->uid_validity) != 0) {
            *why = "its \"uid_validity\" is not a number";
            return -1;
        }
        m->has_validity = 1;
    } else if (m->version == 3) {
        *why = "it has no \"uid_validity\"";
        return -1;
    }
    json_t *list = json_object_get(root, m->version == 3 ? "messages" : "uids");
    if (!json_is_array(list)) {
        *why = m->version == 3 ? "it has no \"messages\" list"
                               : "it has no \"uids\" list";
        return -1;
    }
    m->v = calloc(json_array_size(list) + 1, sizeof *m->v);
    if (!m->v) {
        *why = "out of memory";
        return -1;
    }
    uid_set seen = {0};
    size_t i;
    json_t *item;
    int rc = 0;
    json_array_foreach(list, i, item)
    {
        ib_entry *e = &m->v[m->n];
        if (read_entry(item, m->version, m, e, why) != 0) {
            ib_flag_set_free(&e->flags);
            rc = -1;
            break;
        }
        int dup;
        if (uid_seen(&seen, e->uid, &dup) != 0) {
            *why = "out of memory";
            rc = -1;
            break;
        }
        if (dup) {
            if (!m->duplicate_uids++)
                m->first_duplicate = e->uid;
            ib_flag_set_free(&e->flags);
            /* Versions 1 and 2 pair UIDs with records by position, so the
             * position stays taken; it is dropped later. */
            if (m->version != 3) {
                e->uid = 0;
                m->n++;
            }
            continue;
        }
        m->n++;
    }
    free(seen.v);
    return rc;
}

int ib_meta_load(const char *path, ib_meta *m, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(err, err_size, "%s is not a readable JSON file (line %d: %s)",
                 path, jerr.line, jerr.text);
        return -1;
    }
    const char *why = NULL;
    int rc = read_root(root, m, &why);
    json_decref(root);
    if (rc != 0) {
        snprintf(err, err_size, "%s is not an imap-backup index: %s", path,
                 why);
        ib_meta_free(m);
    }
    return rc;
}
