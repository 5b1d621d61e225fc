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

/* A private tree holding a 5-message Maildir source (the shipped sample),
 * the destination, sync state and report paths; XDG_STATE_HOME points
 * into it so no test touches the real state. For cmocka setup/teardown. */
typedef struct sync_fixture {
    char *dir;   /* the test's private tree */
    char *src;   /* maildir:... of a 5-message source */
    char *dst;   /* maildir:... of the destination */
    char *state; /* --state path */
    char *report;
} sync_fixture;

int sync_fixture_setup(void **state, const char *tag);
int sync_fixture_teardown(void **state);

/* copy F's source into F's destination with F's state and report (and up
 * to two extra arguments, NULL for none); returns the report text. */
char *sync_fixture_copy(sync_fixture *f, int want_exit, const char *extra1,
                        const char *extra2);

/* The path of a "plugin:PATH" endpoint. */
char *sync_path_of(const char *url);

#endif
