/* Several connections per large folder (issue 11, core/engine/lanes.h),
 * through the binary against the real Dovecot:
 *
 * - Maildir -> IMAP of one folder of 2,000 messages with --jobs 4: the
 *   folder is shared, so APPENDs come from more than one of the account's
 *   sessions (counted in Dovecot's own rawlogs); every message is stored
 *   exactly once, byte for byte, with its flags and date; the report
 *   counts 2,000 copied over 4 connections; a second pass copies nothing
 *   and sends no APPEND; verify agrees;
 * - IMAP -> IMAP of that account into another with --jobs 3: the same;
 * - the whole server killed while the lanes store batches: the run fails
 *   cleanly, and after a restart the re-run with --jobs 4 leaves every
 *   message exactly once (what was stored unconfirmed on any lane is
 *   found, not sent again);
 * - mailport itself killed (SIGKILL) mid-copy with --jobs 4, then run
 *   again: every message exactly once, verify agrees;
 * - a folder too small to share (under two chunks) stays on one
 *   connection's session. */
#include "testutil.h"

#include "dovecot.h"
#include "dvkill.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *work;

static int setup(void **state)
{
    (void)state;
    work = mp_tmpdir("imap-lanes");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(work);
    free(work);
    return 0;
}

#define run(...) mp_run(__VA_ARGS__, (char *)NULL)

/* How many of USER's sessions (Dovecot rawlogs, *.in) sent an APPEND. */
static int sessions_appending(const mp_dovecot *d, const char *user)
{
    char *dir = mp_strf("%s/rawlog/%s", mp_dovecot_dir(d), user);
    DIR *dh = opendir(dir);
    int n = 0;
    for (struct dirent *e; dh && (e = readdir(dh));) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 3, ".in") != 0)
            continue;
        char *path = mp_strf("%s/%s", dir, e->d_name);
        char *text = mp_read_file(path, NULL);
        if (text && strstr(text, " APPEND "))
            n++;
        free(text);
        free(path);
    }
    if (dh)
        closedir(dh);
    free(dir);
    return n;
}

static void expect_counts(const char *report, int copied, int present,
                          int failed)
{
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), copied);
    assert_int_equal((int)mp_json_number(json, "skipped"), present);
    assert_int_equal((int)mp_json_number(json, "failed"), failed);
    free(json);
}

#define N_LARGE 2000

static void test_one_folder_over_several_connections(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "la", "pw");
    mp_dovecot_add_user(d, "lb", "pw");
    char *src_dir = dvk_make_source(work, "large", N_LARGE, 1500);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = mp_dovecot_url(d, "imap", "la");
    char *st = mp_strf("%s/large.db", work);
    char *rep = mp_strf("%s/large.json", work);
    mp_run_result r = run("copy", src, dst, "--jobs", "4", "--state", st,
                          "--report", rep, "-v", "-v");
    mp_expect_exit(&r, 0);
    /* The owner says how many connections its folder used. */
    assert_non_null(strstr(r.err, "2000 copies over "));
    mp_run_free(&r);
    expect_counts(rep, N_LARGE, 0, 0);
    char *json = mp_read_file(rep, NULL);
    assert_int_equal((int)mp_json_number(json, "connections"), 4);
    free(json);
    int sessions = sessions_appending(d, "la");
    printf("APPENDs from %d sessions\n", sessions);
    if (sessions < 2)
        fail_msg("one folder of %d messages with --jobs 4 was appended by "
                 "%d session(s): not shared",
                 N_LARGE, sessions);
    char *md = mp_dovecot_maildir(d, "la");
    dvk_assert_each_once(md, N_LARGE);
    int appends = mp_dovecot_count_commands(d, "la", "APPEND");

    /* Again: nothing to copy, no APPEND at all. */
    r = run("copy", src, dst, "--jobs", "4", "--state", st, "--report", rep);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    expect_counts(rep, 0, N_LARGE, 0);
    assert_int_equal(mp_dovecot_count_commands(d, "la", "APPEND"), appends);
    r = run("verify", src, dst);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    /* IMAP -> IMAP, three workers. */
    char *dst2 = mp_dovecot_url(d, "imap", "lb");
    char *st2 = mp_strf("%s/large2.db", work);
    r = run("copy", dst, dst2, "--jobs", "3", "--state", st2, "--report", rep);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    expect_counts(rep, N_LARGE, 0, 0);
    if (sessions_appending(d, "lb") < 2)
        fail_msg("IMAP -> IMAP with --jobs 3: not shared");
    char *md2 = mp_dovecot_maildir(d, "lb");
    dvk_assert_each_once(md2, N_LARGE);
    r = run("verify", dst, dst2);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    free(md2);
    free(st2);
    free(dst2);
    free(md);
    free(rep);
    free(st);
    free(dst);
    free(src);
    free(src_dir);
    mp_dovecot_stop(d);
}

/* A folder of 300 messages (under two chunks) goes over one session even
 * with --jobs 4. */
static void test_small_folder_stays_on_one_connection(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "small", "pw");
    char *src_dir = dvk_make_source(work, "small", 300, 800);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = mp_dovecot_url(d, "imap", "small");
    char *st = mp_strf("%s/small.db", work);
    mp_run_result r = run("copy", src, dst, "--jobs", "4", "--state", st);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    assert_int_equal(sessions_appending(d, "small"), 1);
    char *md = mp_dovecot_maildir(d, "small");
    dvk_assert_each_once(md, 300);
    free(md);
    free(st);
    free(dst);
    free(src);
    free(src_dir);
    mp_dovecot_stop(d);
}

typedef struct watcher {
    mp_dovecot *d;
    const char *dir;  /* the destination Maildir folder */
    int threshold;    /* act once it holds this many (tmp/ too) */
    const char *kill; /* NULL: kill the server; else pkill -9 -f this
                       * (a pattern that does not match its own shell) */
    int acted_at;
    volatile int stop;
} watcher;

static void *act_when_stored(void *arg)
{
    watcher *w = arg;
    w->acted_at = -1;
    for (int i = 0; i < 120 * 1000 && !w->stop; i++) {
        int n = dvk_count_files(w->dir, 1);
        if (n >= w->threshold) {
            if (w->kill)
                mp_sh("pkill -9 -f '%s'", w->kill);
            else
                dvk_kill_whole_server(w->d);
            w->acted_at = n;
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

/* 1,500 messages into one folder with --jobs 4; once 600 (KILL_SERVER:
 * the whole server) or 700 (mailport, SIGKILL) files are in the folder,
 * the server or mailport is killed; after a restart the same copy leaves
 * every message exactly once, and verify agrees. */
static void killed_under_lanes(const char *user, int kill_server)
{
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, user, "pw");
    char *src_dir = dvk_make_source(work, user, 1500, 3000);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = mp_dovecot_url(d, "imap", user);
    /* The state's path names this run for pkill. */
    char *st = mp_strf("%s/lanes-killed-%d.db", work, (int)getpid());
    char *pattern = mp_strf("[l]anes-killed-%d", (int)getpid());
    char *md = mp_dovecot_maildir(d, user);
    watcher w = {.d = d,
                 .dir = md,
                 .threshold = kill_server ? 600 : 700,
                 .kill = kill_server ? NULL : pattern};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, act_when_stored, &w), 0);
    mp_run_result r = run("copy", src, dst, "--jobs", "4", "--state", st);
    w.stop = 1;
    pthread_join(tid, NULL);
    if (w.acted_at < 0)
        mp_fail_showing(r.err, "the copy ended before the kill");
    if (kill_server) {
        if (r.exit_code >= 128)
            mp_fail_showing(r.err, "mailport died of signal %d",
                            r.exit_code - 128);
        mp_expect_exit(&r, 3);
        mp_dovecot_restart(d);
    } else {
        mp_expect_exit(&r, 128 + SIGKILL);
    }
    mp_run_free(&r);
    printf("%s killed with %d files in the folder\n",
           kill_server ? "the server" : "mailport", w.acted_at);
    r = run("copy", src, dst, "--jobs", "4", "--state", st);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    dvk_assert_each_once(md, 1500);
    r = run("verify", src, dst);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    free(md);
    free(pattern);
    free(st);
    free(dst);
    free(src);
    free(src_dir);
    mp_dovecot_stop(d);
}

static void test_server_killed_under_lanes(void **state)
{
    (void)state;
    killed_under_lanes("lk", 1);
}

static void test_mailport_killed_under_lanes(void **state)
{
    (void)state;
    killed_under_lanes("lm", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_folder_over_several_connections),
        cmocka_unit_test(test_small_folder_stays_on_one_connection),
        cmocka_unit_test(test_server_killed_under_lanes),
        cmocka_unit_test(test_mailport_killed_under_lanes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
