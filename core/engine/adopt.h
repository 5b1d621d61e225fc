/* Rows left by a folder pair whose source folder is gone, taken over by the
 * pass of the source folder that now fills the same destination folder.
 *
 * A folder renamed on the source and mapped back to its old destination
 * (--map NEW=OLD), or a folder listed under a name that changed ("A~2"
 * became "A" when the folder it clashed with went away), leaves the state
 * with two pairs into one destination folder: the gone one (its rows name
 * the copies made from it) and the live one (new, or with rows of its own).
 * The pass of the gone pair alone would remove every copy its rows name,
 * although the live folder still holds those messages. So the live pass
 * adopts the gone pair's rows as orphan rows of its own (docs/sync-model.md,
 * "Orphan row"): its plan pairs them by content, keeps what the live folder
 * still holds and, with --delete, removes only what neither folder holds;
 * and the pass of gone pairs leaves such a destination folder alone. */
#ifndef MP_ADOPT_H
#define MP_ADOPT_H

#include "msglist.h"
#include "state.h"

/* The rows of every pair in STATE into DST_NAME whose source folder is not
 * in SRC_LISTED (the source's full listing) and is not SRC_NAME, as orphan
 * rows ("~orphan~" + destination key), appended to *ROWS / *N (malloc'd as
 * mp_state_load's). When INTO > 0 (a writable state and the live pair's
 * folder id) they are moved there in the state in one transaction: put
 * into INTO, deleted from the gone pair. Returns how many were adopted, or
 * -1 on a state error (nothing moved). */
long mp_adopt_gone_rows(mp_state *state, int64_t into, const char *src_name,
                        const char *dst_name, mp_msglist *src_listed,
                        mp_state_row **rows, size_t *n);

/* Is the source folder of PAIR in SRC_LISTED (a listing of folder names,
 * each with the store's own name of the folder as its identity, NULL when
 * the store gives none)? A pair recorded with a store name is its folder's
 * whatever name that folder is listed under now ("A~2" listed as "A" once
 * the folder "A" it clashed with is gone), and a folder listed under the
 * pair's name with another store name is not it. */
int mp_adopt_src_listed(mp_msglist *src_listed, const mp_state_pair *pair);

/* Does a source folder of this run (DST_NAMES, N of them: the run's
 * destination folders) fill DST_NAME? Then the pass of a gone pair into it
 * is left to that folder's pass. */
int mp_adopt_is_filled(const char *dst_name, char *const *dst_names, size_t n);

#endif
