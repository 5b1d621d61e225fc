/* Fault injection: the IMAP server (a real Dovecot) killed, stopped and
 * restarted at random points while mailport copies into it (Maildir ->
 * IMAP) and out of it (IMAP -> Maildir). Issue 8, "Deliver".
 *
 * Each round copies a folder of its own (N_INTO or N_OUT messages) through
 * one or more disrupted runs and then a clean one. A disruption
 * comes from a watcher thread once a random share (10-80 %) of what is
 * still to copy has arrived, and is one of:
 *   - the whole server killed (SIGKILL to every process) and left down;
 *   - the whole server killed and started again 0-600 ms later, while
 *     mailport is still running (its retry may or may not reach it);
 *   - the server stopped cleanly (SIGTERM to the master) and left down.
 * A disrupted run must end with 0 (it finished, or reconnected) or 3
 * (README: cannot reach the endpoint), never a signal or a sanitizer
 * report. After the last one the server is up and the same copy exits 0;
 * then every message is in the destination folder exactly once, nothing
 * else is there (for a Maildir of ours: nothing left in tmp/ either), and
 * `mailport verify` exits 0.
 *
 * MP_FAULT_SEED=N replays a run (the seed is printed); MP_FAULT_ROUNDS=N
 * sets the rounds per direction and MP_FAULT_DISRUPTIONS=N the most
 * disrupted runs per round (default 1 and 1, a short run for the suite;
 * `./build.sh soak` runs more). */
#include "testutil.h"

#include "dovecot.h"
#include "dvkill.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Into IMAP: few messages, since each disrupted run may wait up to 30 s
 * for an APPEND that was in flight to show (docs/sync-model.md). */
#define N_INTO 200
#define BODY_INTO 4000
/* Out of IMAP: enough batches of 1,024 that the server is still being
 * read while the Maildir sink makes earlier ones durable. */
#define N_OUT 3000
#define BODY_OUT 1000

static mp_dovecot *dv;
static char *work;
static uint64_t rng;
static int rounds = 1;
static int max_disruptions = 1;

enum { KILL_STAY_DOWN, KILL_AND_RESTART, STOP_STAY_DOWN, N_KINDS };
static const char *const kind_name[N_KINDS] = {
    "killed, left down", "killed, restarted mid-run", "stopped, left down"};
/* Trial counts, printed at the end of each test. */
static int n_disrupted[N_KINDS], n_missed, n_survived;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int setup(void **state)
{
    (void)state;
    const char *seed_env = getenv("MP_FAULT_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10)
                             : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
    if (getenv("MP_FAULT_ROUNDS"))
        rounds = atoi(getenv("MP_FAULT_ROUNDS"));
    if (getenv("MP_FAULT_DISRUPTIONS"))
        max_disruptions = atoi(getenv("MP_FAULT_DISRUPTIONS"));
    if (max_disruptions < 1)
        max_disruptions = 1;
    printf("imap_server_faults: MP_FAULT_SEED=%llu, %d round(s) per "
           "direction, 1-%d disruption(s) each\n",
           (unsigned long long)seed, rounds, max_disruptions);
    fflush(stdout);
    rng = seed ? seed : 1;
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "sinker", "pw-of-user", "reader", "pw-of-user",
                         (char *)NULL);
    work = mp_tmpdir("imap-faults");
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

static char *plain_url(const char *user)
{
    return mp_strf("imap://%s@127.0.0.1:%d?tls=none&password_file=%s", user,
                   mp_dovecot_port(dv), mp_dovecot_password_file(dv, user));
}

static void server_up(void)
{
    if (mp_dovecot_pid(dv) <= 0)
        mp_dovecot_restart(dv);
}

/* ---- the disruption, from a watcher thread ----------------------------- */

typedef struct watcher {
    const char *dir; /* the destination folder whose files show progress */
    int with_tmp;    /* count its tmp/ too (our Maildir sink links files
                        into cur/ only when a batch is made durable) */
    int threshold;   /* disrupt once it holds this many */
    int kind;
    int restart_ms;  /* KILL_AND_RESTART: down this long */
    volatile int stop;
    int fired;
    pthread_t tid;
} watcher;

static void *watch(void *arg)
{
    watcher *w = arg;
    for (long i = 0; i < 300 * 1000 && !w->stop; i++) {
        if (dvk_count_files(w->dir, w->with_tmp) >= w->threshold) {
            if (w->kind == STOP_STAY_DOWN) {
                mp_dovecot_kill(dv);
                mp_sh("find '%s/mail' -name 'dovecot*.lock' -delete",
                      mp_dovecot_dir(dv));
            } else {
                dvk_kill_whole_server(dv);
            }
            w->fired = 1;
            if (w->kind == KILL_AND_RESTART) {
                usleep((useconds_t)w->restart_ms * 1000);
                mp_dovecot_restart(dv);
            }
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

/* One run of ARGV (NULL-terminated) disrupted at a random point of the
 * copy into folder DIR (N messages in all). */
static void disrupted_run(const char *const *argv, const char *dir,
                          int with_tmp, int n, int round, int step)
{
    watcher w = {.dir = dir, .with_tmp = with_tmp};
    int have = dvk_count_files(dir, with_tmp);
    int share = 10 + (int)(next_rand() % 71); /* percent of what is left */
    w.threshold = have + (n - have) * share / 100 + 1;
    w.kind = (int)(next_rand() % N_KINDS);
    w.restart_ms = (int)(next_rand() % 601);
    assert_int_equal(pthread_create(&w.tid, NULL, watch, &w), 0);
    mp_run_result r = mp_runv(argv);
    w.stop = 1;
    pthread_join(w.tid, NULL);

    if (r.exit_code >= 128)
        fail_msg("round %d, run %d: mailport died of signal %d\nstderr:\n%s",
                 round, step, r.exit_code - 128, r.err);
    assert_true(strstr(r.err, "AddressSanitizer") == NULL);
    assert_true(strstr(r.err, "runtime error") == NULL);
    if (r.exit_code != 0 && r.exit_code != 3)
        fail_msg("round %d, run %d: exit %d (expected 0 or 3)\nstderr:\n%s",
                 round, step, r.exit_code, r.err);
    if (w.fired) {
        n_disrupted[w.kind]++;
        n_survived += r.exit_code == 0;
    } else {
        n_missed++;
    }
    print_message("round %d, run %d: server %s at %d of %d messages%s: exit "
                  "%d\n",
                  round, step, kind_name[w.kind], w.threshold, n,
                  w.fired ? "" : " (not reached: the run ended first)",
                  r.exit_code);
    mp_run_free(&r);
}

/* The disruptions of one round, then the clean run, then the checks. */
static void fault_round(const char *const *copy_argv,
                        const char *const *verify_argv, const char *dst_dir,
                        int ours, int n, int round)
{
    int disruptions = 1 + (int)(next_rand() % (unsigned)max_disruptions);
    for (int step = 1; step <= disruptions; step++) {
        server_up();
        disrupted_run(copy_argv, dst_dir, ours, n, round, step);
    }
    server_up();
    mp_run_result r = mp_runv(copy_argv);
    dvk_expect_exit(&r, 0);
    mp_run_free(&r);
    dvk_assert_each_once(dst_dir, n);
    if (ours)
        assert_int_equal(dvk_count_files(dst_dir, 1), n);
    r = mp_runv(verify_argv);
    dvk_expect_exit(&r, 0);
    mp_run_free(&r);
}

static void print_counts(const char *what)
{
    print_message("%s: %d round(s); disruptions: %d killed and left down, %d "
                  "killed and restarted mid-run, %d stopped; %d runs "
                  "completed despite one, %d not reached\n",
                  what, rounds, n_disrupted[KILL_STAY_DOWN],
                  n_disrupted[KILL_AND_RESTART], n_disrupted[STOP_STAY_DOWN],
                  n_survived, n_missed);
    memset(n_disrupted, 0, sizeof n_disrupted);
    n_missed = n_survived = 0;
}

/* ---- tests ------------------------------------------------------------ */

/* Maildir -> IMAP, each round into folder R<round> of "sinker". */
static void test_faults_into_imap(void **state)
{
    (void)state;
    server_up();
    char *dst = plain_url("sinker");
    char *md = mp_dovecot_maildir(dv, "sinker");
    for (int round = 1; round <= rounds; round++) {
        char *tag = mp_strf("in%d", round);
        char *src = dvk_make_source(work, tag, N_INTO, BODY_INTO);
        char *src_url = mp_strf("maildir:%s", src);
        char *map = mp_strf("INBOX=R%d", round);
        char *st = mp_strf("%s/%s.db", work, tag);
        char *folder = mp_strf("%s/.R%d", md, round);
        const char *copy[] = {"copy", src_url, dst, "--map", map,
                              "--state", st, NULL};
        const char *verify[] = {"verify", src_url, dst, "--map", map, NULL};
        fault_round(copy, verify, folder, 0, N_INTO, round);
        free(folder);
        free(st);
        free(map);
        free(src_url);
        free(src);
        free(tag);
    }
    print_counts("into IMAP");
    free(md);
    free(dst);
}

/* IMAP -> Maildir, each round from folder R<round> of "reader" (filled
 * first, undisturbed) into a Maildir of its own. */
static void test_faults_out_of_imap(void **state)
{
    (void)state;
    server_up();
    char *imap = plain_url("reader");
    for (int round = 1; round <= rounds; round++) {
        char *tag = mp_strf("out%d", round);
        char *seed = dvk_make_source(work, tag, N_OUT, BODY_OUT);
        char *seed_url = mp_strf("maildir:%s", seed);
        char *map = mp_strf("INBOX=R%d", round);
        mp_run_result r = run("copy", seed_url, imap, "--map", map,
                              "--no-state");
        dvk_expect_exit(&r, 0);
        mp_run_free(&r);

        char *folder_name = mp_strf("R%d", round);
        char *dst = mp_strf("%s/%s-dst", work, tag);
        char *dst_url = mp_strf("maildir:%s", dst);
        char *st = mp_strf("%s/%s.db", work, tag);
        char *folder = mp_strf("%s/.R%d", dst, round);
        const char *copy[] = {"copy",   imap,        dst_url, "--include",
                              folder_name, "--state", st,     NULL};
        const char *verify[] = {"verify", imap, dst_url, "--include",
                                folder_name, NULL};
        fault_round(copy, verify, folder, 1, N_OUT, round);
        free(folder);
        free(st);
        free(dst_url);
        free(dst);
        free(folder_name);
        free(map);
        free(seed_url);
        free(seed);
        free(tag);
    }
    print_counts("out of IMAP");
    free(imap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faults_into_imap),
        cmocka_unit_test(test_faults_out_of_imap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
