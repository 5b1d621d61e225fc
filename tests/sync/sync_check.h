/* Checks shared by the sync tests: a copy run that returns its JSON report,
 * the report's counts, message counts of a Maildir folder, and a copy run
 * killed with SIGKILL once a chosen number of messages is visible. */
#ifndef MP_TEST_SYNC_CHECK_H
#define MP_TEST_SYNC_CHECK_H

#include <stddef.h>

/* mailport copy SRC DST --state STATE --report REPORT [extra...] (NULL-
 * terminated); fails the test unless it exits WANT_EXIT; returns the
 * report text (malloc'd). */
char *sync_copy(const char *src, const char *dst, const char *state,
                const char *report, int want_exit, ...);

/* The report's leading counts are exactly these. */
void sync_assert_counts(const char *report, int copied, int skipped,
                        int flags_updated, int failed);

/* Files in FOLDER/cur and FOLDER/new (what a Maildir reader sees). */
size_t sync_count_messages(const char *folder);

/* Run mailport copy SRC DST --state STATE -q and SIGKILL it as soon as
 * WATCH (a Maildir folder) holds TARGET messages. Returns 1 when it was
 * killed, 0 when it had finished first. */
int sync_copy_killed_at(const char *src, const char *dst, const char *state,
                        const char *watch, size_t target);

#endif
