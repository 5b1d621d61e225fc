#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mp_plan_init(mp_plan *p, const mp_msglist *src, const mp_msglist *dst)
{
    memset(p, 0, sizeof *p);
    p->n = src->n;
    p->entries = calloc(p->n ? p->n : 1, sizeof *p->entries);
    for (size_t i = 0; i < p->n; i++)
        p->entries[i] = (mp_plan_entry){MP_PLAN_UNDECIDED, -1, -1, 0};
    p->n_dst = dst ? dst->n : 0;
    p->dst_claimed = calloc(p->n_dst ? p->n_dst : 1, 1);
}

static void decide_present(mp_plan_entry *e, const mp_msg *s, unsigned flags,
                           const char *keywords)
{
    e->action = mp_flags_equal(s->flags, s->keywords, flags, keywords)
                    ? MP_PLAN_SKIP
                    : MP_PLAN_FLAGS;
}

void mp_plan_by_state(mp_plan *p, const mp_msglist *src, mp_msglist *dst,
                      const mp_state_row *rows, size_t n_rows,
                      mp_msglist *rows_index)
{
    (void)n_rows;
    for (size_t i = 0; i < p->n; i++) {
        const mp_msg *s = &src->v[i];
        long r = mp_msglist_find(rows_index, s->key);
        if (r < 0)
            continue;
        const mp_state_row *row = &rows[r];
        long d = dst ? mp_msglist_find(dst, row->dst_key) : -1;
        if (d < 0 || p->dst_claimed[d])
            continue; /* gone from the destination: copy again */
        p->dst_claimed[d] = 1;
        mp_plan_entry *e = &p->entries[i];
        e->dst = d;
        e->row = r;
        /* Flags changed on the source since the last sync win; flags changed
         * only in the destination are left alone. */
        decide_present(e, s, row->flags, row->keywords);
    }
}

int mp_plan_needs_identity(const mp_plan *p)
{
    int undecided = 0, unclaimed = 0;
    for (size_t i = 0; i < p->n && !undecided; i++)
        undecided = p->entries[i].action == MP_PLAN_UNDECIDED;
    for (size_t i = 0; i < p->n_dst && !unclaimed; i++)
        unclaimed = !p->dst_claimed[i];
    return undecided && unclaimed;
}

static int same_message(const mp_msg *s, const mp_msg *d, int size_comparable)
{
    if (!s->identity || !d->identity || strcmp(s->identity, d->identity) != 0)
        return 0;
    if (s->date != MP_DATE_UNKNOWN && d->date != MP_DATE_UNKNOWN &&
        s->date != d->date)
        return 0;
    if (s->vsize && d->vsize)
        return s->vsize == d->vsize;
    if (size_comparable && s->size && d->size)
        return s->size == d->size;
    return 1;
}

typedef struct id_ref {
    const char *identity;
    size_t dst;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->identity, y->identity);
    return c ? c : (x->dst > y->dst) - (x->dst < y->dst);
}

void mp_plan_by_identity(mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, int size_comparable)
{
    /* Unclaimed destination messages sorted by identity; equal identities
     * (resends, list copies) stay adjacent, in destination order. */
    id_ref *refs = malloc((dst->n ? dst->n : 1) * sizeof *refs);
    size_t n = 0;
    for (size_t d = 0; d < dst->n; d++)
        if (!p->dst_claimed[d] && dst->v[d].identity)
            refs[n++] = (id_ref){dst->v[d].identity, d};
    qsort(refs, n, sizeof *refs, cmp_id_ref);
    for (size_t i = 0; i < p->n; i++) {
        mp_plan_entry *e = &p->entries[i];
        const mp_msg *s = &src->v[i];
        if (e->action != MP_PLAN_UNDECIDED || !s->identity)
            continue;
        size_t lo = 0, hi = n; /* first ref whose identity >= s->identity */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(refs[mid].identity, s->identity) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo; k < n && strcmp(refs[k].identity, s->identity) == 0;
             k++) {
            size_t d = refs[k].dst;
            if (p->dst_claimed[d] ||
                !same_message(s, &dst->v[d], size_comparable))
                continue;
            p->dst_claimed[d] = 1;
            e->dst = (long)d;
            e->record = 1;
            decide_present(e, s, dst->v[d].flags, dst->v[d].keywords);
            break;
        }
    }
    free(refs);
}

void mp_plan_finish(mp_plan *p)
{
    p->n_copy = p->n_skip = p->n_flags = 0;
    for (size_t i = 0; i < p->n; i++) {
        mp_plan_entry *e = &p->entries[i];
        if (e->action == MP_PLAN_UNDECIDED)
            e->action = MP_PLAN_COPY;
        p->n_copy += e->action == MP_PLAN_COPY;
        p->n_skip += e->action == MP_PLAN_SKIP;
        p->n_flags += e->action == MP_PLAN_FLAGS;
    }
}

void mp_plan_free(mp_plan *p)
{
    free(p->entries);
    free(p->dst_claimed);
    memset(p, 0, sizeof *p);
}
