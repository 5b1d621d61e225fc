/* Planning one folder's sync (DESIGN §4): which source messages to copy,
 * which are already in the destination (by sync state, else by content
 * identity), and whose flags to update. Pure: no I/O, so it is unit-tested
 * on its own. */
#ifndef MP_PLAN_H
#define MP_PLAN_H

#include "msglist.h"
#include "state.h"

typedef enum mp_plan_action {
    MP_PLAN_UNDECIDED,
    MP_PLAN_COPY,
    MP_PLAN_SKIP,  /* present with the right flags */
    MP_PLAN_FLAGS, /* present; set the source's flags on it */
} mp_plan_action;

typedef struct mp_plan_entry {
    mp_plan_action action;
    long dst;   /* index into the destination list, or -1 */
    long row;   /* index into the state rows, or -1 */
    int record; /* the state lacks this src -> dst pair (or its flags) */
} mp_plan_entry;

typedef struct mp_plan {
    mp_plan_entry *entries; /* one per source message, same order */
    size_t n;
    char *dst_claimed; /* per destination message: matched already */
    size_t n_dst;
    size_t n_copy, n_skip, n_flags;
} mp_plan;

/* Start a plan for SRC against DST (NULL when the destination cannot be
 * scanned: then nothing is known to be there). */
void mp_plan_init(mp_plan *p, const mp_msglist *src, const mp_msglist *dst);

/* Phase 1: pair source messages with destination messages through the
 * sync state ROWS. A row whose destination key is gone pairs nothing. */
void mp_plan_by_state(mp_plan *p, const mp_msglist *src, mp_msglist *dst,
                      const mp_state_row *rows, size_t n_rows,
                      mp_msglist *rows_index);

/* Would content identity find more? (undecided sources and unclaimed
 * destination messages both exist) */
int mp_plan_needs_identity(const mp_plan *p);

/* Phase 2: pair undecided source messages with unclaimed destination
 * messages of the same identity, internal date (when both known) and size
 * (vsize when both known; plain size when SIZE_COMPARABLE). Both lists must
 * carry identities. Distinct messages sharing a Message-ID but differing in
 * date or size stay apart. */
void mp_plan_by_identity(mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, int size_comparable);

/* Phase 3: everything still undecided is copied; counts are filled in. */
void mp_plan_finish(mp_plan *p);

void mp_plan_free(mp_plan *p);

#endif
