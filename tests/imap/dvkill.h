/* Killing the whole test Dovecot under a running mailport, and checking a
 * Maildir folder afterwards. Every helper fails the running cmocka test on
 * an unexpected system error. */
#ifndef MP_TEST_DVKILL_H
#define MP_TEST_DVKILL_H

#include "dovecot.h"
#include "testutil.h"

/* A Maildir WORK/TAG (malloc'd path) of N distinct messages of about BODY
 * bytes, each with a Message-ID and "Subject: kill <i>", flags S, mtime
 * 1600000000 + i. */
char *dvk_make_source(const char *work, const char *tag, int n, int body);

/* Files in DIR/cur and DIR/new, and in DIR/tmp too when WITH_TMP. */
int dvk_count_files(const char *dir, int with_tmp);

/* Every message "Subject: kill <i>", 0 <= i < N, is in the Maildir folder
 * DIR (cur/ or new/) exactly once and nothing else is; fails the test,
 * counting missing, doubled and stray ones, when not. */
void dvk_assert_each_once(const char *dir, int n);

/* The whole server dies at once (SIGKILL to every process, the kernel
 * closes every connection), as a crash or an OOM kill would; then D is
 * reaped and its stale dovecot*.lock files removed, so mp_dovecot_restart
 * can bring it back. */
void dvk_kill_whole_server(mp_dovecot *d);

/* Bytes the imap processes under Dovecot master PID have written so far
 * (/proc/PID/io wchar): how far a transfer out of the server has got. */
long dvk_imap_bytes_written(int pid);

/* R ended with CODE; else fail the test, showing its output. */
void dvk_expect_exit(mp_run_result *r, int code);

#endif
