/* The whole IMAP server killed in the middle of a copy (issue 8.1).
 *
 * Before 6e013b0 libcurl's error buffer lived on the stack of
 * imap_conn_open; when the server went away, the failing curl_easy_recv or
 * curl_easy_send of a later command wrote "Recv failure: ..." into that
 * dead frame and mailport died of SIGSEGV (exit 139). These tests kill the
 * real Dovecot (master and every imap process) while mailport copies into
 * it and, separately, while it reads from it, and demand:
 *   - a documented exit code (README: 3, cannot reach the endpoint), not a
 *     signal, and an error that names the server and what happened;
 *   - after a restart, the same copy completes: every message exactly
 *     once in the destination, and `mailport verify` exits 0.
 * The kill comes from a watcher thread (a real server death: the kernel
 * closes every connection of the dead processes) as soon as a third of the
 * messages reached the server, or the server has sent a quarter of the
 * bodies, or, in the proxy variant, at a known
 * byte of the server's output (mp_proxy_start cuts the connection, then
 * kills the server). Under the sanitizer build (detect_stack_use_after_return
 * =1, as ./build.sh test sets) a write into a dead frame is reported too. */
#include "testutil.h"

#include "dovecot.h"
#include "dvkill.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MSGS 600
/* For the fetch test: 1200 bodies of 64 KB (77 MB), so that the server
 * is still sending when mailport has read a quarter of them. */
#define FETCH_MSGS 1200
#define FETCH_BODY 64000

static mp_dovecot *dv;
static char *work;

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "sinker", "pw-of-user", "reader", "pw-of-user",
                         "cutter", "pw-of-user", (char *)NULL);
    work = mp_tmpdir("imap-kill");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dv);
    mp_rm_rf(work);
    free(work);
    return 0;
}

#define run(...) mp_run(__VA_ARGS__, (char *)NULL)

/* ---- Maildirs --------------------------------------------------------- */

/* Messages in the Maildir folder DIR (in cur/ or new/). */
static int count_messages(const char *dir)
{
    return dvk_count_files(dir, 0);
}

/* ---- killing the server ------------------------------------------------ */

/* Tests start with a running server, whatever an earlier one left. */
static void server_up(void)
{
    if (mp_dovecot_pid(dv) <= 0)
        mp_dovecot_restart(dv);
}

/* ---- killing the server from a watcher thread --------------------------- */

typedef struct watcher {
    const char *dir; /* Maildir folder whose files are counted; NULL: count
                        the bytes the server's imap processes wrote */
    int with_tmp;    /* count tmp/ too: the Maildir sink links its files
                        into cur/ only when a batch is made durable */
    long threshold;  /* kill once it holds this many (files or bytes) */
    volatile int stop;
    long killed_at; /* files or bytes when the server was killed; -1: never */
    pthread_t tid;
} watcher;

static void *watch(void *arg)
{
    watcher *w = arg;
    w->killed_at = -1;
    for (long i = 0; i < 120 * 1000 && !w->stop; i++) {
        long n = w->dir ? dvk_count_files(w->dir, w->with_tmp)
                        : dvk_imap_bytes_written(mp_dovecot_pid(dv));
        if (n >= w->threshold) {
            dvk_kill_whole_server(dv);
            w->killed_at = n;
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

static void watch_start(watcher *w, const char *dir, int with_tmp,
                        long threshold)
{
    w->dir = dir;
    w->with_tmp = with_tmp;
    w->threshold = threshold;
    w->stop = 0;
    w->killed_at = -1;
    assert_int_equal(pthread_create(&w->tid, NULL, watch, w), 0);
}

static void watch_end(watcher *w)
{
    w->stop = 1;
    pthread_join(w->tid, NULL);
}

/* The run the server died under: a documented code, not a signal, and
 * an error naming the server and the failure. */
static void assert_clean_failure(mp_run_result *r, int port)
{
    if (r->exit_code >= 128)
        fail_msg("mailport died of signal %d\nstderr:\n%s", r->exit_code - 128,
                 r->err);
    /* README: 3 = cannot reach or log in to an endpoint. */
    dvk_expect_exit(r, 3);
    char *where = mp_strf("127.0.0.1:%d", port);
    assert_contains(r->err, where);
    free(where);
    assert_contains(r->err, "lost");
    assert_contains(r->err, "cannot connect");
    assert_true(strstr(r->err, "AddressSanitizer") == NULL);
}

static char *plain_url(const char *user, int port)
{
    return mp_strf("imap://%s@127.0.0.1:%d?tls=none&password_file=%s", user,
                   port, mp_dovecot_password_file(dv, user));
}

/* USER's INBOX on the server, filled with N messages of BODY bytes. */
static void seed_account(const char *user, const char *tag, int n, int body)
{
    char *seed = dvk_make_source(work, tag, n, body);
    char *seed_url = mp_strf("maildir:%s", seed);
    char *imap = plain_url(user, mp_dovecot_port(dv));
    mp_run_result r = run("copy", seed_url, imap, "--no-state");
    dvk_expect_exit(&r, 0);
    mp_run_free(&r);
    free(imap);
    free(seed_url);
    free(seed);
}

/* The run the server was killed under (by W, when a watcher did it):
 * a clean failure, and the destination folder DST_DIR incomplete. */
static void check_killed_run(mp_run_result *r, const watcher *w,
                             const char *done, int n, int port,
                             const char *dst_dir)
{
    if (w && w->killed_at < 0)
        fail_msg("the copy ended before the server could be killed:\n%s",
                 r->err);
    if (w)
        print_message("server killed with %ld %s (%d messages in all)\n",
                      w->killed_at, done, n);
    assert_clean_failure(r, port);
    mp_run_free(r);
    assert_true(count_messages(dst_dir) < n);
}

/* The server is back: the same copy completes, every message exactly once
 * in DST_DIR (and nothing left in its tmp/ when the Maildir is ours), and
 * verify agrees. */
static void rerun_completes(const char *src_url, const char *dst_url,
                            const char *st, const char *dst_dir, int n,
                            int ours)
{
    mp_dovecot_restart(dv);
    mp_run_result r = run("copy", src_url, dst_url, "--state", st);
    dvk_expect_exit(&r, 0);
    mp_run_free(&r);
    dvk_assert_each_once(dst_dir, n);
    if (ours)
        assert_int_equal(dvk_count_files(dst_dir, 1), n);
    r = run("verify", src_url, dst_url);
    dvk_expect_exit(&r, 0);
    mp_run_free(&r);
}

/* ---- tests ------------------------------------------------------------ */

/* Maildir -> IMAP; the server dies while APPENDs are in flight. */
static void test_server_killed_while_appending(void **state)
{
    (void)state;
    server_up();
    char *src = dvk_make_source(work, "into", MSGS, 8000);
    char *src_url = mp_strf("maildir:%s", src);
    char *dst = plain_url("sinker", mp_dovecot_port(dv));
    char *st = mp_strf("%s/into.db", work);
    char *md = mp_dovecot_maildir(dv, "sinker");

    watcher w;
    watch_start(&w, md, 0, MSGS / 3);
    mp_run_result r = run("copy", src_url, dst, "--state", st);
    watch_end(&w);
    check_killed_run(&r, &w, "messages stored", MSGS, mp_dovecot_port(dv), md);
    rerun_completes(src_url, dst, st, md, MSGS, 0);

    free(md);
    free(st);
    free(dst);
    free(src_url);
    free(src);
}

/* IMAP -> Maildir; the server dies while bodies are being fetched. */
static void test_server_killed_while_fetching(void **state)
{
    (void)state;
    server_up();
    seed_account("reader", "from", FETCH_MSGS, FETCH_BODY);
    char *imap = plain_url("reader", mp_dovecot_port(dv));
    char *dst = mp_strf("%s/from-out", work);
    char *dst_url = mp_strf("maildir:%s", dst);
    char *st = mp_strf("%s/from.db", work);

    /* Killed once the server has sent a quarter of the bodies. */
    watcher w;
    watch_start(&w, NULL, 0, (long)FETCH_MSGS * FETCH_BODY / 4);
    mp_run_result r = run("copy", imap, dst_url, "--state", st);
    watch_end(&w);
    check_killed_run(&r, &w, "bytes sent by the server", FETCH_MSGS,
                     mp_dovecot_port(dv), dst);
    rerun_completes(imap, dst_url, st, dst, FETCH_MSGS, 1);

    free(st);
    free(dst_url);
    free(dst);
    free(imap);
}

static void kill_server(void *ctx)
{
    dvk_kill_whole_server(ctx);
}

/* The same at a known point, through the relay: the connection is cut
 * after 200 KB of the server's output (mid-fetch), then the server is
 * killed; every reconnection then fails too. */
static void test_server_killed_at_cut(void **state)
{
    (void)state;
    server_up();
    seed_account("cutter", "cut", MSGS, 8000);
    mp_tcp_proxy *px =
        mp_proxy_start(mp_dovecot_port(dv), 200000, kill_server, dv);
    char *via = plain_url("cutter", mp_proxy_port(px));
    char *dst = mp_strf("%s/cut-out", work);
    char *dst_url = mp_strf("maildir:%s", dst);
    char *st = mp_strf("%s/cut.db", work);

    mp_run_result r = run("copy", via, dst_url, "--state", st);
    assert_int_equal(mp_proxy_cuts(px), 1);
    check_killed_run(&r, NULL, "", MSGS, mp_proxy_port(px), dst);
    rerun_completes(via, dst_url, st, dst, MSGS, 1);
    mp_proxy_stop(px);

    free(st);
    free(dst_url);
    free(dst);
    free(via);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_killed_while_appending),
        cmocka_unit_test(test_server_killed_while_fetching),
        cmocka_unit_test(test_server_killed_at_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
