/* Syncing one folder from a source store into a destination store: scan,
 * plan (plan.h), update flags, stream missing messages, record state. */
#ifndef MP_SYNC_H
#define MP_SYNC_H

#include "options.h"
#include "report.h"
#include "state.h"
#include "store.h"

#include <stdio.h>

typedef struct mp_sync_env {
    const mp_options *opt;
    mp_report *report;
    mp_state *state; /* NULL: plan from content identity alone */
    mp_store *src;   /* opened as a source */
    /* Opened as a sink; for a dry run opened as a source (read-only), or
     * NULL when the destination does not exist yet. */
    mp_store *dst;
    /* Plain sizes mean the same bytes on both sides (no line-ending change
     * between the stores), so identity matching may compare them. */
    int size_comparable;
    FILE *out; /* where a dry run prints its plan */
} mp_sync_env;

/* Sync SRC_NAME into DST_NAME. Failures of single messages and of the folder
 * are recorded in the report (MP_OK / MP_MSG_BAD / MP_FOLDER_BAD returned).
 * MP_TEMPORARY is returned unreported so the caller can reopen the stores
 * and try again; the state keeps what was already done. MP_FATAL is
 * reported and stops the run for this store. */
mp_status mp_sync_folder(mp_sync_env *env, const char *src_name,
                         const char *dst_name);

/* Record a failure of a whole folder, with the store's error text. */
void mp_sync_report_folder_error(mp_sync_env *env, const char *folder,
                                 mp_store *store);

#endif
