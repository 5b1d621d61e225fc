#include "msglist.h"

#include <stdlib.h>
#include <string.h>

static size_t hash_key(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

mp_status mp_msglist_collect(void *ctx, const mp_msg_info *info)
{
    mp_msglist *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        mp_msg *grown = realloc(l->v, cap * sizeof *grown);
        if (!grown)
            return MP_FATAL;
        l->v = grown;
        l->cap = cap;
    }
    mp_msg *m = &l->v[l->n];
    m->key = strdup(info->key);
    m->size = info->size;
    m->vsize = info->vsize;
    m->flags = info->flags;
    m->keywords = strdup(info->keywords ? info->keywords : "");
    m->date = info->internal_date;
    m->identity = info->identity ? strdup(info->identity) : NULL;
    if (!m->key || !m->keywords)
        return MP_FATAL;
    l->n++;
    free(l->slots); /* the index is rebuilt on the next find */
    l->slots = NULL;
    return MP_OK;
}

static void build_index(mp_msglist *l)
{
    l->n_slots = 16;
    while (l->n_slots < l->n * 2)
        l->n_slots *= 2;
    l->slots = calloc(l->n_slots, sizeof *l->slots);
    for (size_t i = 0; i < l->n; i++) {
        size_t s = hash_key(l->v[i].key) & (l->n_slots - 1);
        while (l->slots[s])
            s = (s + 1) & (l->n_slots - 1);
        l->slots[s] = i + 1;
    }
}

long mp_msglist_find(mp_msglist *l, const char *key)
{
    if (l->n == 0)
        return -1;
    if (!l->slots)
        build_index(l);
    size_t s = hash_key(key) & (l->n_slots - 1);
    while (l->slots[s]) {
        size_t i = l->slots[s] - 1;
        if (strcmp(l->v[i].key, key) == 0)
            return (long)i;
        s = (s + 1) & (l->n_slots - 1);
    }
    return -1;
}

void mp_msglist_free(mp_msglist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].key);
        free(l->v[i].keywords);
        free(l->v[i].identity);
    }
    free(l->v);
    free(l->slots);
    memset(l, 0, sizeof *l);
}

/* Does every word of A occur in B? */
static int words_within(const char *a, const char *b)
{
    const char *p = a;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            break;
        int found = 0;
        for (const char *q = b; *q && !found;) {
            while (*q == ' ')
                q++;
            const char *qe = strchr(q, ' ');
            size_t ql = qe ? (size_t)(qe - q) : strlen(q);
            found = ql == len && strncmp(p, q, len) == 0;
            q += ql;
        }
        if (!found)
            return 0;
        p += len;
    }
    return 1;
}

int mp_flags_equal(unsigned fa, const char *ka, unsigned fb, const char *kb)
{
    ka = ka ? ka : "";
    kb = kb ? kb : "";
    return fa == fb && words_within(ka, kb) && words_within(kb, ka);
}
