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
    MP_PLAN_SKIP,     /* present with the right flags */
    MP_PLAN_FLAGS,    /* present; set the source's flags on it */
    MP_PLAN_FILTERED, /* left out by --since/--before/--max-size; any pairing
                       * it has still protects its destination message */
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
    /* Per destination message: the state names it the copy of a source
     * message that is gone; it pairs with another only by content. */
    char *dst_owned;
    size_t n_dst;
    size_t n_copy, n_skip, n_flags, n_filtered;
    /* Destination messages to remove with --delete (mp_plan_removals):
     * indices into the state rows it was given. */
    long *removals;
    size_t n_removals;
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

/* Leave source message I out (a filter): it is neither copied nor counted
 * as present, but a destination message it is paired with stays claimed. */
void mp_plan_filter_out(mp_plan *p, size_t i);

/* Content hashes of some messages, for pairing messages whose identity is
 * shared (hex SHA-256, "" where not hashed). STRICT is over the message
 * with LF line endings (mp_digest); LOOSE over the form a server may
 * leave of it (mp_loose_digest: no CR, NUL, 8-bit bytes and 'X' folded
 * together). */
typedef struct mp_plan_hashes {
    char (*strict)[65];
    char (*loose)[65];
    /* Without the fields mail readers keep flags in (storefields.h): a
     * message marked read in mutt or Thunderbird since its copy was made
     * is still that message. NULL: not known. */
    char (*nostore)[65];
} mp_plan_hashes;

/* Phase 2a: which messages need their content hash before identity
 * pairing. An identity is ambiguous when two or more undecided source
 * messages or two or more unclaimed destination messages share it, or when
 * its one message on each side differs in date or size (a server may have
 * changed the copy), or the state names that destination message the copy
 * of a gone message (dst_owned), or the identity is a header hash (no
 * Message-ID: machine-made messages share headers, date and size): every
 * message of it on both sides is marked in
 * WANT_SRC / WANT_DST (one char per message). Returns how many were
 * marked. */
size_t mp_plan_ambiguous(const mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, int size_comparable,
                         char *want_src, char *want_dst);

/* Phase 2b: pair undecided source messages with unclaimed destination
 * messages of the same identity, internal date (when both known) and size
 * (vsize when both known; plain size when SIZE_COMPARABLE; no size at all
 * when SIZE_COMPARABLE < 0, as verify does, since a server may change a
 * message's size). Both lists must carry identities. Messages sharing a
 * Message-ID but differing in date or size stay apart unless their content
 * is equal. Pairing is one-to-one. Within an ambiguous identity (SRC_H /
 * DST_H given, NULL otherwise) equal strict hashes pair first, then equal
 * loose hashes (a copy the server altered), then equal hashes without the
 * fields mail readers keep flags in; in each, a copy with the same
 * internal date is taken before one whose date moved (a Maildir copied
 * with cp -r has new file times but the same bytes). A hashed message
 * matching nothing by hash is not paired. */
void mp_plan_by_identity(mp_plan *p, const mp_msglist *src,
                         const mp_msglist *dst, int size_comparable,
                         const mp_plan_hashes *src_h,
                         const mp_plan_hashes *dst_h);

/* For verify only, after mp_plan_by_identity: a source message still
 * unpaired whose identity (and date, when both are known) matches exactly
 * one unclaimed destination message, and no other source message, is
 * paired with it although their content differs, so that verify reports
 * one "different" message rather than a "missing" and an "extra" one.
 * Copy never does this: it would take a new message for an old copy. */
void mp_plan_pair_leftovers(mp_plan *p, const mp_msglist *src,
                            const mp_msglist *dst);

/* Pair undecided source message I with unclaimed destination message D,
 * which holds it repaired (--repair, repair.h: the caller compared the
 * content), as identity pairing would have paired them. */
void mp_plan_pair_repaired(mp_plan *p, const mp_msglist *src,
                           const mp_msglist *dst, size_t i, size_t d);
/* Phase 3: everything still undecided is copied; counts are filled in. */
void mp_plan_finish(mp_plan *p);

/* Phase 4 (--delete): destination messages synced by an earlier run (a
 * state row names them) whose source message is gone: the row is an
 * orphan or its source key is not in SRC (the unfiltered list), and no
 * source message claimed the destination message in this plan. Fills
 * p->removals. */
void mp_plan_removals(mp_plan *p, mp_msglist *src, mp_msglist *dst,
                      const mp_state_row *rows, size_t n_rows);

/* One copy per message over several folders of one store (Gmail shows a
 * message once per label, and again in [Gmail]/All Mail): LISTS[0..N)
 * are the folders' messages scanned with identities, in the order the
 * copies are wanted in. A message whose identity, internal date and size
 * (vsize when both know it) equal those of a message of an earlier list
 * is marked in LEFT[f][i] (one char per message of list f, zeroed by the
 * caller); one without identity never is, nor are equal messages within
 * one list (a folder's own duplicates are its own). Returns how many were
 * marked. */
size_t mp_plan_first_copies(const mp_msglist *const *lists, size_t n,
                            char **left);

void mp_plan_free(mp_plan *p);

#endif
