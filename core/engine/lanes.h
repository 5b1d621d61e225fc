/* Several connections per large folder (issue 11): one folder's copies
 * shared between the run's workers.
 *
 * copy --jobs N gives each of N workers its own source and destination
 * connections and state handle, and shares the folders out. When fewer
 * folders than workers are left, a worker with no folder to take becomes a
 * lane server (mp_lanes_serve): it waits for a worker whose folder has many
 * messages to copy (mp_lanes_transfer) to hand it part of that folder.
 *
 * The folder's worker (its owner) has planned the whole pass as one
 * connection would (docs/sync-model.md). It hands its copies out, in plan
 * order, in chunks of MP_LANE_CHUNK copies, to itself and to every server
 * that joins while chunks are left (a server that logs in late still
 * helps). Each lane opens the folder on its own connections once and
 * copies each chunk it takes with mp_transfer_range, recording each batch
 * in the state once its destination made it durable, as a single
 * connection does: so a kill, a dropped connection or a refusal leaves
 * what the model says, and every message counts once. A lane that stops
 * (its connection dropped, its folder failed) stops the handing out. The
 * owner waits for every lane that joined before it goes on with the pass
 * (the check of altered copies, removals, markers); the lanes' copied and
 * uncertain keys and suspects become the owner's, so a retry of the folder
 * sees what each lane did.
 *
 * Lanes are used only where both plugins allow it (plugin.h:
 * mp_source_ops.concurrent_fetch and mp_sink_ops.concurrent_put). The
 * messages of a shared folder may then interleave in the destination: the
 * destination's UIDs follow the order the server stored them in. */
#ifndef MP_LANES_H
#define MP_LANES_H

#include "plan.h"
#include "sync.h"

#include <stddef.h>
#include <stdint.h>

/* Copies handed out at a time; a folder is shared only when it has at
 * least two chunks to copy: below that a second connection costs more than
 * it saves (its SELECT, its own batches). */
#define MP_LANE_CHUNK 256

/* Can one folder be copied over several connections of these stores (a
 * source and a sink)? Only then are lanes made for a run. */
int mp_lanes_possible(const mp_store *src, const mp_store *dst);

/* For a run of WORKERS workers, each of which calls mp_lanes_done_taking
 * once, when it takes no more folders (also when it never took one). The
 * run's stores must be mp_lanes_possible. */
mp_lanes *mp_lanes_new(size_t workers);
void mp_lanes_free(mp_lanes *l);

void mp_lanes_done_taking(mp_lanes *l);

/* Serve lanes with ENV's stores and state (a worker with no folder left)
 * until every worker is done taking folders, or ENV's stores are lost (a
 * connection dropped and could not be reopened). */
void mp_lanes_serve(mp_lanes *l, mp_sync_env *env);

/* mp_transfer_range over the whole plan for ENV's pass over SRC_NAME ->
 * DST_NAME (SF, DF open on ENV's stores), shared with the lane servers
 * that join when ENV->lanes is set and the plan copies at least two
 * chunks; otherwise on ENV's connections alone. Returns as
 * mp_transfer_range: MP_TEMPORARY when any lane's connection dropped (the
 * folder is retried), else the owner's own status, else MP_FOLDER_BAD when a
 * lane stopped (reported by it). */
mp_status mp_lanes_transfer(mp_sync_env *env, const char *src_name,
                            const char *dst_name, void *sf, void *df,
                            const mp_msglist *src, const mp_plan *plan,
                            int64_t state_folder);

#endif
