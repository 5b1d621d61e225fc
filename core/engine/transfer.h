/* Copying the messages a plan selects from an open source folder into an
 * open destination folder (see transfer.c). */
#ifndef MP_TRANSFER_H
#define MP_TRANSFER_H

#include "plan.h"
#include "sync.h"

/* Copy every message PLAN marks MP_PLAN_COPY among its entries [FROM, TO),
 * in batches (the whole plan: 0, PLAN->n; one lane's share of a folder
 * copied over several connections, lanes.h: its chunk, with ENV holding
 * that lane's stores and state handle and SRC_FOLDER, DST_FOLDER open on
 * them; SRC and PLAN are only read, so lanes may share them). Single
 * messages that fail are reported (report: failed, errors) and skipped.
 * Returns MP_OK, or the status that stopped the folder (MP_TEMPORARY
 * unreported, others reported). Copied messages are counted and recorded
 * in the state (folder STATE_FOLDER, when >= 0) once the sink made them
 * durable. */
mp_status mp_transfer_range(mp_sync_env *env, const char *folder,
                            void *src_folder, void *dst_folder,
                            const mp_msglist *src, const mp_plan *plan,
                            size_t from, size_t to, int64_t state_folder);

/* Messages and bytes handed to sinks by every transfer of this process so
 * far (committed, durable or not yet), for a progress display. Safe from
 * any thread. */
void mp_transfer_streamed(uint64_t *messages, uint64_t *bytes);

#endif
