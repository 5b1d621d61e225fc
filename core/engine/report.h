/* Counts and errors of one run, shared by the worker threads, written as the
 * JSON report of CLI.md and summarised on stderr. */
#ifndef MP_REPORT_H
#define MP_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mp_report mp_report;

typedef enum mp_counter {
    MP_COUNT_COPIED,
    MP_COUNT_SKIPPED, /* already present in the destination */
    MP_COUNT_FAILED,
    MP_COUNT_FLAGS_UPDATED,
    MP_COUNT_BYTES,
    MP_COUNT_FILTERED, /* left out by --since/--before/--max-size */
    MP_COUNT_REMOVED,  /* --delete */
    MP_COUNT_PLANNED,  /* messages planned for copying (progress only) */
    MP_COUNT_ALTERED,  /* copied, but the destination stored other bytes */
    /* Destination folders this run subscribed (a total, no folder's). */
    MP_COUNT_SUBSCRIBED,
    /* Connections to the destination the run held at once (a total): fewer
     * than --jobs when the server refused more. */
    MP_COUNT_CONNECTIONS,
    /* Milliseconds waited (totals): for the destination's rate limits
     * (--max-messages-per-second, --max-bytes-per-second), and because a
     * server asked the run to slow down (throttling replies). */
    MP_COUNT_RATE_WAIT_MS,
    MP_COUNT_THROTTLED_MS,
    /* Copied repaired (--repair, repair.h): counted in COPIED as well. */
    MP_COUNT_REPAIRED,
    MP_COUNT__N
} mp_counter;

mp_report *mp_report_new(void);
void mp_report_free(mp_report *r);

/* Add N to a counter of FOLDER (created on first use) and to the total. */
void mp_report_add(mp_report *r, const char *folder, mp_counter c, uint64_t n);

/* Add N to the run's total of C only, for counts that belong to no one
 * folder (MP_COUNT_SUBSCRIBED). */
void mp_report_count(mp_report *r, mp_counter c, uint64_t n);

/* Record a failure: FOLDER, the message's key or Message-ID (NULL for a
 * folder-wide failure) and the error text. */
void mp_report_error(mp_report *r, const char *folder, const char *message,
                     const char *error);

uint64_t mp_report_total(const mp_report *r, mp_counter c);

/* Where FOLDER's counts and errors stand, so an attempt at the folder that
 * ends in a dropped connection can be taken back before it is retried. */
typedef struct mp_report_mark {
    uint64_t n[MP_COUNT__N];
    size_t n_errors;
} mp_report_mark;
void mp_report_mark_folder(mp_report *r, const char *folder,
                           mp_report_mark *mark);
/* Undo what an attempt at FOLDER counted since MARK except what lasts:
 * messages copied and their bytes, flags updated and messages removed are
 * kept (they happened); skipped, failed, filtered and planned counts and
 * the folder's errors go back to MARK, since the retry counts them anew. */
void mp_report_retry_folder(mp_report *r, const char *folder,
                            const mp_report_mark *mark);
/* A message the destination stored altered (copied all the same):
 * FOLDER, the message's Message-ID or key, and what differs. Counted in
 * MP_COUNT_ALTERED and listed under "altered_messages" in the JSON report. */
void mp_report_altered(mp_report *r, const char *folder, const char *message,
                       const char *difference);

/* A message copied repaired (--repair): FOLDER, the message's Message-ID
 * (the original's) or key, what was changed, and the SHA-256 content hash
 * of the original (digest.h). Counted in MP_COUNT_REPAIRED and listed under
 * "repaired_messages" in the JSON report. */
void mp_report_repaired(mp_report *r, const char *folder, const char *message,
                        const char *changes, const char *original_sha256);

/* Nothing this run counted as copied was kept: a sink that stores the
 * whole run at its end (an archive) could not finish. Every copied message
 * is counted failed instead, with no bytes and nothing altered. */
void mp_report_copies_lost(mp_report *r);

/* A warning about the run as a whole (nothing failed: e.g. an --include
 * pattern that matched no folder), listed under "warnings" in the JSON
 * report. */
void mp_report_warning(mp_report *r, const char *text);

/* For the progress line: a worker starts work on FOLDER (its source
 * name), or ends it (NULL). */
void mp_report_set_current(mp_report *r, const char *folder);
/* The folder a worker started last while any is at work ("" when none)
 * into OUT (SIZE bytes, cut); returns how many folders are at work. */
int mp_report_current(mp_report *r, char *out, size_t size);

/* Errors recorded so far. */
size_t mp_report_n_errors(const mp_report *r);

/* Write the JSON report to PATH (0600). Returns 0 or -1 with errno. */
int mp_report_write(const mp_report *r, const char *path);

/* The same JSON object on F, without a final newline (batch puts one per
 * job into its own report). */
void mp_report_print(const mp_report *r, FILE *f);

#endif
