/* One pass over one folder pair: the sync model of docs/sync-model.md.
 * Scan both sides, plan (plan.h) from the sync state and content identity,
 * then apply the plan: flags, missing messages, and with --delete the
 * removal of messages whose source is gone. A dry run plans the same way
 * and applies nothing. */
#ifndef MP_SYNC_H
#define MP_SYNC_H

#include "msglist.h"
#include "options.h"
#include "registry.h"
#include "report.h"
#include "state.h"
#include "store.h"

#include <stdio.h>

typedef struct mp_suspect {
    char *src_key, *dst_key;
    char *label; /* "<Message-ID>" or "key K", as the report names it */
    char *found; /* what validation found that servers alter (validate.h) */
} mp_suspect;

/* Idle workers that can take part of a large folder (lanes.h). */
typedef struct mp_lanes mp_lanes;

typedef struct mp_sync_env {
    const mp_options *opt;
    mp_report *report;
    /* NULL: plan from content identity alone. Read-only for a dry run. */
    mp_state *state;
    mp_store *src; /* opened as a source */
    /* Opened as a sink; for a dry run opened as a source (read-only), or
     * NULL when the destination does not exist yet. */
    mp_store *dst;
    /* The destination opened a second time as a source, on first need:
     * to read the content of destination messages whose identity is
     * shared (a sink cannot be read). Closed by whoever owns the env. */
    const mp_registry *reg;
    const char *dst_url;
    mp_store *dst_reader;
    /* Plain sizes mean the same bytes on both sides (no line-ending change
     * between the stores), so identity matching may compare them. */
    int size_comparable;
    /* Source keys of the current folder copied by this run, over all its
     * attempts: a retry finds them present and must not count them twice
     * (mp_sync_folder adds to it; the caller empties it per folder). */
    mp_msglist copied_keys;
    /* Source keys of the current folder whose APPEND was under way when
     * the destination's connection dropped: the server may still store
     * them, so a retry waits to find them before sending them again
     * (transfer adds to it; the caller empties it per folder). */
    mp_msglist uncertain_keys;
    /* Messages the current pass copied that hold bytes servers are known
     * to rewrite (NUL, 8-bit header bytes: MP_FINDINGS_ALTERED): compared with
     * what the destination stored once the folder's transfer is done (transfer
     * adds to it; mp_sync_folder checks and empties it). */
    mp_suspect *suspects;
    size_t n_suspects;
    FILE *out; /* where a dry run prints its plan */
    /* The destination folders of this run's source folders (borrowed):
     * the pass of a gone pair into one of them is left to that folder's
     * pass, which adopts its rows (adopt.h). */
    char *const *run_dst_names;
    size_t n_run_dst;
    /* Every folder the source lists, read on first need to tell gone
     * pairs (1: read; -1: could not be read; 0: not yet). Freed by whoever
     * owns the env. */
    mp_msglist src_listed;
    int src_listed_read;
    /* The run's lane servers, to share a large folder's copies with
     * (lanes.h); NULL: this env's connections alone. */
    mp_lanes *lanes;
} mp_sync_env;

/* Sync SRC_NAME into DST_NAME. Every selected source message ends counted
 * in the report as copied, skipped (already present), filtered or failed.
 * Failures of single messages and of the folder are recorded in the report
 * (MP_OK / MP_MSG_BAD / MP_FOLDER_BAD returned). MP_TEMPORARY is returned
 * unreported so the caller can reopen the stores and try again; the state
 * keeps what was already done. MP_FATAL is reported and stops the run for
 * this store. */
mp_status mp_sync_folder(mp_sync_env *env, const char *src_name,
                         const char *dst_name);

/* Record a failure of a whole folder, with the store's error text. */
void mp_sync_report_folder_error(mp_sync_env *env, const char *folder,
                                 mp_store *store);

/* --delete for folders gone from the source (deleted or renamed there
 * since an earlier run): every folder pair the sync state records whose
 * source folder the source no longer lists, and which this run's
 * --include/--exclude select, has the destination messages that earlier
 * runs copied from it removed (a dry run prints and counts them), as a
 * pass with an empty source folder would (docs/sync-model.md). The
 * destination folder itself, and mail in it that mailport did not copy,
 * stay. Does nothing without a state or --delete. Failures are reported
 * per folder; returns the first one. */
mp_status mp_sync_gone_folders(mp_sync_env *env);

#endif
