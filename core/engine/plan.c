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
    p->dst_owned = calloc(p->n_dst ? p->n_dst : 1, 1);
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
    for (size_t i = 0; i < p->n; i++) {
        const mp_msg *s = &src->v[i];
        long r = mp_msglist_find(rows_index, s->key);
        if (r < 0)
            continue;
        const mp_state_row *row = &rows[r];
        if (row->orphan)
            continue;
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
    /* A destination message the state gives to a source message that is
     * gone is that message's copy: another source message may share its
     * identity (a quota warning sent again, a re-filed message with its
     * Message-ID and date), so it pairs with one only by content. The
     * same holds for the copies an orphan row names after a source reset:
     * re-pairing them then reads the bodies of both sides once, the price
     * of not taking a new message for an old one's copy. */
    for (size_t r = 0; dst && r < n_rows; r++) {
        if (!rows[r].orphan &&
            mp_msglist_find((mp_msglist *)src, rows[r].src_key) >= 0)
            continue;
        long d = mp_msglist_find(dst, rows[r].dst_key);
        if (d >= 0 && !p->dst_claimed[d])
            p->dst_owned[d] = 1;
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
    if (size_comparable < 0) /* identity and date only */
        return s->identity && d->identity &&
               strcmp(s->identity, d->identity) == 0 &&
               (s->date == MP_DATE_UNKNOWN || d->date == MP_DATE_UNKNOWN ||
                s->date == d->date);
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
    size_t index;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->identity, y->identity);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* The unclaimed destination messages sorted by identity (equal identities
 * adjacent, in destination order). *N gets their count. */
static id_ref *unclaimed_by_identity(const mp_plan *p, const mp_msglist *dst,
                                     size_t *n)
{
    id_ref *refs = malloc((dst->n ? dst->n : 1) * sizeof *refs);
    *n = 0;
    for (size_t d = 0; d < dst->n; d++)
        if (!p->dst_claimed[d] && dst->v[d].identity)
            refs[(*n)++] = (id_ref){dst->v[d].identity, d};
    qsort(refs, *n, sizeof *refs, cmp_id_ref);
    return refs;
}

/* The undecided source messages sorted the same way. */
static id_ref *undecided_by_identity(const mp_plan *p, const mp_msglist *src,
                                     size_t *n)
{
    id_ref *refs = malloc((src->n ? src->n : 1) * sizeof *refs);
    *n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->entries[i].action == MP_PLAN_UNDECIDED && src->v[i].identity)
            refs[(*n)++] = (id_ref){src->v[i].identity, i};
    qsort(refs, *n, sizeof *refs, cmp_id_ref);
    return refs;
}

/* First ref in REFS[0..N) whose identity is >= ID. */
static size_t lower_bound(const id_ref *refs, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(refs[mid].identity, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t run_length(const id_ref *refs, size_t n, size_t at)
{
    size_t k = at;
    while (k < n && strcmp(refs[k].identity, refs[at].identity) == 0)
        k++;
    return k - at;
}

/* An identity taken from the header block because there is no Message-ID
 * ("H:..."). Machine-made messages share such headers to the second (two
 * quota warnings, "80% full" and "90% full", of one size): a 1:1 match on
 * it is confirmed by content. A Message-ID, its date and its size are
 * trusted as they are. */
static int weak_identity(const char *identity)
{
    return strncmp(identity, "H:", 2) == 0;
}

size_t mp_plan_ambiguous(const mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, int size_comparable,
                         char *want_src, char *want_dst)
{
    size_t ns, nd, marked = 0;
    id_ref *s = undecided_by_identity(p, src, &ns);
    id_ref *d = unclaimed_by_identity(p, dst, &nd);
    for (size_t i = 0; i < ns;) {
        size_t run = run_length(s, ns, i);
        size_t at = lower_bound(d, nd, s[i].identity);
        size_t drun = at < nd && strcmp(d[at].identity, s[i].identity) == 0
                          ? run_length(d, nd, at)
                          : 0;
        if (drun && (run > 1 || drun > 1 || p->dst_owned[d[at].index] ||
                     weak_identity(s[i].identity) ||
                     !same_message(&src->v[s[i].index], &dst->v[d[at].index],
                                   size_comparable))) {
            for (size_t k = i; k < i + run; k++, marked++)
                want_src[s[k].index] = 1;
            for (size_t k = at; k < at + drun; k++, marked++)
                want_dst[d[k].index] = 1;
        }
        i += run;
    }
    free(s);
    free(d);
    return marked;
}

static int hashed_equal(const char (*a)[65], size_t i, const char (*b)[65],
                        size_t j)
{
    return a && b && a[i][0] && b[j][0] && strcmp(a[i], b[j]) == 0;
}

/* The rounds of pairing by content identity, in order. A message that was
 * hashed pairs only on an equal hash, first with a copy of its internal
 * date, then with one of any date: equal bytes outweigh a date that moved
 * (a Maildir copied with cp -r, an mbox rewritten by a mail reader), as
 * they outweigh a size a server changed, while two equal messages of two
 * dates still pair date with date. Last of the hashes, equal content but
 * for the fields mail readers keep flags in (a message marked read in an
 * mbox since). A message not hashed pairs on its
 * identity, date and size alone (the last round). */
typedef enum pair_round {
    ROUND_STRICT_SAME_DATE,
    ROUND_STRICT,
    ROUND_LOOSE_SAME_DATE,
    ROUND_LOOSE,
    ROUND_NOSTORE_SAME_DATE,
    ROUND_NOSTORE,
    ROUND_IDENTITY,
    ROUND_COUNT
} pair_round;

/* Does destination message D accept source message I in ROUND? */
static int round_accepts(const mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, size_t i, size_t d,
                         int size_comparable, const mp_plan_hashes *sh,
                         const mp_plan_hashes *dh, pair_round round)
{
    const mp_msg *s = &src->v[i];
    if (p->dst_claimed[d])
        return 0;
    switch (round) {
    case ROUND_STRICT_SAME_DATE:
    case ROUND_LOOSE_SAME_DATE:
    case ROUND_NOSTORE_SAME_DATE:
        if (!same_message(s, &dst->v[d], -1))
            return 0;
        break;
    case ROUND_STRICT:
    case ROUND_LOOSE:
    case ROUND_NOSTORE:
        break;
    case ROUND_IDENTITY:
    case ROUND_COUNT:
        /* Another message's copy pairs by content only. */
        return !p->dst_owned[d] && same_message(s, &dst->v[d], size_comparable);
    }
    if (round == ROUND_STRICT_SAME_DATE || round == ROUND_STRICT)
        return hashed_equal(sh->strict, i, dh ? dh->strict : NULL, d);
    if (round == ROUND_LOOSE_SAME_DATE || round == ROUND_LOOSE)
        return hashed_equal(sh->loose, i, dh ? dh->loose : NULL, d);
    return hashed_equal(sh->nostore, i, dh ? dh->nostore : NULL, d);
}

/* Pair undecided source messages with the first unclaimed destination
 * message of their identity that ROUND accepts. */
static void pair_round_run(mp_plan *p, const mp_msglist *src,
                           const mp_msglist *dst, const id_ref *refs, size_t n,
                           int size_comparable, const mp_plan_hashes *sh,
                           const mp_plan_hashes *dh, pair_round round)
{
    for (size_t i = 0; i < p->n; i++) {
        mp_plan_entry *e = &p->entries[i];
        const mp_msg *s = &src->v[i];
        if (e->action != MP_PLAN_UNDECIDED || !s->identity)
            continue;
        int hashed = sh && sh->strict && sh->strict[i][0];
        if ((round != ROUND_IDENTITY) != hashed)
            continue;
        for (size_t k = lower_bound(refs, n, s->identity);
             k < n && strcmp(refs[k].identity, s->identity) == 0; k++) {
            size_t d = refs[k].index;
            if (!round_accepts(p, src, dst, i, d, size_comparable, sh, dh,
                               round))
                continue;
            p->dst_claimed[d] = 1;
            e->dst = (long)d;
            e->record = 1;
            decide_present(e, s, dst->v[d].flags, dst->v[d].keywords);
            break;
        }
    }
}

void mp_plan_pair_repaired(mp_plan *p, const mp_msglist *src,
                           const mp_msglist *dst, size_t i, size_t d)
{
    mp_plan_entry *e = &p->entries[i];
    p->dst_claimed[d] = 1;
    e->dst = (long)d;
    e->record = 1;
    decide_present(e, &src->v[i], dst->v[d].flags, dst->v[d].keywords);
}

void mp_plan_by_identity(mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, int size_comparable,
                         const mp_plan_hashes *src_h,
                         const mp_plan_hashes *dst_h)
{
    size_t n;
    id_ref *refs = unclaimed_by_identity(p, dst, &n);
    for (int round = 0; round < ROUND_COUNT; round++)
        pair_round_run(p, src, dst, refs, n, size_comparable, src_h, dst_h,
                       (pair_round)round);
    free(refs);
}

void mp_plan_pair_leftovers(mp_plan *p, const mp_msglist *src,
                            const mp_msglist *dst)
{
    size_t n, ns;
    id_ref *refs = unclaimed_by_identity(p, dst, &n);
    id_ref *srcs = undecided_by_identity(p, src, &ns);
    for (size_t i = 0; i < ns;) {
        size_t run = run_length(srcs, ns, i);
        size_t at = lower_bound(refs, n, srcs[i].identity);
        size_t drun = at < n && strcmp(refs[at].identity, srcs[i].identity) == 0
                          ? run_length(refs, n, at)
                          : 0;
        size_t d = drun == 1 ? refs[at].index : 0;
        const mp_msg *s = &src->v[srcs[i].index];
        if (run == 1 && drun == 1 && !p->dst_claimed[d] &&
            same_message(s, &dst->v[d], -1)) {
            mp_plan_entry *e = &p->entries[srcs[i].index];
            p->dst_claimed[d] = 1;
            e->dst = (long)d;
            decide_present(e, s, dst->v[d].flags, dst->v[d].keywords);
        }
        i += run;
    }
    free(srcs);
    free(refs);
}

void mp_plan_filter_out(mp_plan *p, size_t i)
{
    p->entries[i].action = MP_PLAN_FILTERED;
}

void mp_plan_removals(mp_plan *p, mp_msglist *src, mp_msglist *dst,
                      const mp_state_row *rows, size_t n_rows)
{
    free(p->removals);
    p->removals = malloc((n_rows ? n_rows : 1) * sizeof *p->removals);
    p->n_removals = 0;
    for (size_t r = 0; r < n_rows; r++) {
        long d = mp_msglist_find(dst, rows[r].dst_key);
        if (d < 0 || p->dst_claimed[d])
            continue;
        if (!rows[r].orphan && mp_msglist_find(src, rows[r].src_key) >= 0)
            continue;
        p->dst_claimed[d] = 1; /* two rows naming one message remove it once */
        p->removals[p->n_removals++] = (long)r;
    }
}

void mp_plan_finish(mp_plan *p)
{
    p->n_copy = p->n_skip = p->n_flags = p->n_filtered = 0;
    for (size_t i = 0; i < p->n; i++) {
        mp_plan_entry *e = &p->entries[i];
        if (e->action == MP_PLAN_UNDECIDED)
            e->action = MP_PLAN_COPY;
        p->n_copy += e->action == MP_PLAN_COPY;
        p->n_skip += e->action == MP_PLAN_SKIP;
        p->n_flags += e->action == MP_PLAN_FLAGS;
        p->n_filtered += e->action == MP_PLAN_FILTERED;
    }
}

void mp_plan_free(mp_plan *p)
{
    free(p->entries);
    free(p->dst_claimed);
    free(p->dst_owned);
    free(p->removals);
    memset(p, 0, sizeof *p);
}

typedef struct copy_ref {
    const mp_msg *m;
    size_t list, index;
} copy_ref;

/* Size as both sides of a comparison know it: vsize where there is one. */
static uint64_t ref_size(const mp_msg *m)
{
    return m->vsize ? m->vsize : m->size;
}

/* By identity, date and size, then by list: equal messages are adjacent,
 * the one of the first list first. */
static int cmp_copy_ref(const void *a, const void *b)
{
    const copy_ref *x = a, *y = b;
    int c = strcmp(x->m->identity, y->m->identity);
    if (c)
        return c;
    if (x->m->date != y->m->date)
        return x->m->date < y->m->date ? -1 : 1;
    if (ref_size(x->m) != ref_size(y->m))
        return ref_size(x->m) < ref_size(y->m) ? -1 : 1;
    if (x->list != y->list)
        return x->list < y->list ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

size_t mp_plan_first_copies(const mp_msglist *const *lists, size_t n,
                            char **left)
{
    size_t total = 0, k = 0, marked = 0;
    for (size_t f = 0; f < n; f++)
        total += lists[f]->n;
    copy_ref *refs = malloc((total ? total : 1) * sizeof *refs);
    if (!refs)
        return 0;
    for (size_t f = 0; f < n; f++)
        for (size_t i = 0; i < lists[f]->n; i++)
            if (lists[f]->v[i].identity)
                refs[k++] = (copy_ref){&lists[f]->v[i], f, i};
    qsort(refs, k, sizeof *refs, cmp_copy_ref);
    for (size_t at = 0; at < k;) {
        size_t end = at + 1;
        while (end < k &&
               strcmp(refs[end].m->identity, refs[at].m->identity) == 0 &&
               refs[end].m->date == refs[at].m->date &&
               ref_size(refs[end].m) == ref_size(refs[at].m))
            end++;
        /* refs[at] is of the first list holding the message. */
        for (size_t r = at; r < end; r++)
            if (refs[r].list != refs[at].list) {
                left[refs[r].list][refs[r].index] = 1;
                marked++;
            }
        at = end;
    }
    free(refs);
    return marked;
}
