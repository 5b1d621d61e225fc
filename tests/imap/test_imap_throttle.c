/* Throttling replies (issue 9.4), through the binary against the real
 * Dovecot, with a relay in front of it (mp_proxy_start_rules) that answers
 * some commands as a throttling server does and Dovecot cannot be made to:
 * "NO [THROTTLED]", "NO [UNAVAILABLE]", Microsoft 365's "NO Request is
 * throttled. Suggested Backoff Time: N milliseconds", and a "* BYE" saying
 * so. A refused command never reaches Dovecot (the relay sends a NOOP in
 * its place), so a refused APPEND is not stored, as on a real server.
 *
 * - into IMAP (Maildir -> IMAP, two folders): four throttling replies in
 *   one folder, a BYE among them, more than the retries a dropped
 *   connection gets; every message is stored exactly once, byte for byte,
 *   Dovecot received each APPEND once (none refused was stored, none sent
 *   twice), the report counts every message copied once and the waits;
 * - out of IMAP (IMAP -> Maildir): the M365 reply to a UID FETCH and a BYE
 *   in the middle of the body fetches;
 * - throttling that does not end: the run keeps waiting and retrying
 *   (the give-up after 30 min of waiting in all is too long to wait for
 *   here), a stop asked for (SIGTERM) ends a long wait at once, and the
 *   run resumes to completion once the server takes mail again. */
#include "testutil.h"

#include "dovecot.h"
#include "dvkill.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *work;
static mp_dovecot *dv;

static int setup(void **state)
{
    (void)state;
    work = mp_tmpdir("imap-throttle");
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "up", "pw", "down", "pw", "endless", "pw",
                         "giveup", "pw", (char *)NULL);
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
#define N_RULES(a) (sizeof(a) / sizeof(a)[0])

/* USER's plain-text URL through port PORT (the relay's, or Dovecot's). */
static char *url_via(const char *user, int port)
{
    return mp_strf("imap://%s@127.0.0.1:%d?tls=none&password_file=%s", user,
                   port, mp_dovecot_password_file(dv, user));
}

/* The same as a destination sending one APPEND per message: the relay's
 * rules count APPEND commands (test_imap_multiappend.c throttles batches). */
static char *single_appends_via(const char *user, int port)
{
    char *u = url_via(user, port);
    char *out = mp_strf("%s&multiappend=0", u);
    free(u);
    return out;
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Every message of the Maildir folder DIR ("Subject: kill I") is byte for
 * byte message I of the Maildir folder SEED (dvk_make_source's files). */
static void assert_same_bytes(const char *dir, const char *seed, int n)
{
    int checked = 0;
    const char *sub[] = {"cur", "new"};
    for (int k = 0; k < 2; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        DIR *dh = opendir(d);
        for (struct dirent *e; dh && (e = readdir(dh));) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", d, e->d_name);
            size_t len, want_len;
            char *text = mp_read_file(path, &len);
            const char *s = strstr(text, "Subject: kill ");
            assert_non_null(s);
            int i = atoi(s + 14);
            assert_true(i >= 0 && i < n);
            char *orig =
                mp_strf("%s/cur/1700000000.M%dP1.test:2,S", seed, i);
            char *want = mp_read_file(orig, &want_len);
            if (len != want_len || memcmp(text, want, len) != 0)
                fail_msg("%s differs from %s", path, orig);
            checked++;
            free(want);
            free(orig);
            free(text);
            free(path);
        }
        if (dh)
            closedir(dh);
        free(d);
    }
    assert_int_equal(checked, n);
}

/* ---- into IMAP -------------------------------------------------------- */

#define N_INTO 200
#define N_WORK 40

/* Maildir (INBOX of 200 messages, Work of 40) -> IMAP, one worker,
 * through a relay that refuses APPENDs 5, 50 and 95 (counted as they
 * arrive, resent ones included) with three kinds of throttling reply and
 * says BYE instead of answering the 140th: all four in the first folder,
 * each in an attempt of its own (the client has at most 32 APPENDs
 * unanswered, so it sees a refusal before it has sent 35 more). */
static void test_into_imap(void **state)
{
    (void)state;
    char *inbox = dvk_make_source(work, "into", N_INTO, 300);
    char *sub = dvk_make_source(work, "into/.Work", N_WORK, 300);
    const mp_proxy_rule rules[] = {
        {.command = "APPEND", .nth = 5,
         .reply = "NO [THROTTLED] Too many uploads, slow down"},
        {.command = "APPEND", .nth = 50,
         .reply = "NO Request is throttled. Suggested Backoff Time: 1500 "
                  "milliseconds"},
        {.command = "APPEND", .nth = 95,
         .reply = "NO [UNAVAILABLE] Server busy, try again later"},
        {.command = "APPEND", .nth = 140, .bye = 1,
         .reply = "BYE [UNAVAILABLE] Server overloaded, connection "
                  "throttled"},
    };
    mp_tcp_proxy *px =
        mp_proxy_start_rules(mp_dovecot_port(dv), rules, N_RULES(rules));
    char *src = mp_strf("maildir:%s", inbox);
    char *dst = single_appends_via("up", mp_proxy_port(px));
    char *report = mp_strf("%s/into.json", work);
    double t0 = mp_now_s();
    mp_run_result r = run("copy", src, dst, "--jobs", "1", "--no-state",
                          "--report", report);
    double took = mp_now_s() - t0;
    mp_expect_exit(&r, 0);
    for (size_t i = 0; i < N_RULES(rules); i++)
        if (mp_proxy_fired(px, i) != 1)
            mp_fail_showing(r.err, "rule %zu fired %d times", i,
                            mp_proxy_fired(px, i));
    /* Waited out, not taken for dropped connections: four in one folder
     * would have used up its RETRY_ATTEMPTS (4) and given it up. */
    assert_contains(r.err, "as the server asked");
    assert_contains(r.err, "Suggested Backoff Time: 1500 milliseconds");
    assert_contains(r.err, "waiting 1.5 s as the server asked");
    if (strstr(r.err, "(attempt "))
        mp_fail_showing(r.err, "retried as a dropped connection");
    assert_contains(r.err, "s for the server (throttled)");
    /* A message refused for now is known not to be stored: it is sent
     * again at once, not looked for first (up to 30 s) as one whose
     * answer was lost may be; only those after the BYE are. */
    if (count_in(r.err, "sent when the connection dropped") > 1)
        mp_fail_showing(r.err, "refused messages taken for possibly stored");
    mp_run_free(&r);

    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), N_INTO + N_WORK);
    assert_int_equal((int)mp_json_number(json, "failed"), 0);
    assert_int_equal((int)mp_json_number(json, "skipped"), 0);
    /* No pause suggested: 1 s, then 2 s, then 4 s (doubling); 1.5 s as
     * suggested. */
    double waited = mp_json_number(json, "throttled_seconds");
    if (waited < 1.0 + 1.5 + 2.0 + 4.0 - 0.01 || waited > took)
        fail_msg("throttled_seconds %.3f (the run took %.1f s), expected at "
                 "least 8.5:\n%s",
                 waited, took, json);
    printf("into IMAP: the copy took %.1f s, %.1f s of it throttled\n", took,
           waited);
    assert_contains(json, "{\"name\": \"INBOX\", \"copied\": 200, "
                          "\"skipped\": 0, \"failed\": 0");
    assert_contains(json, "{\"name\": \"Work\", \"copied\": 40, "
                          "\"skipped\": 0, \"failed\": 0");
    free(json);

    /* Each message once, as it was; Dovecot got each APPEND once: the
     * refused ones never reached it, the ones after the BYE were sent
     * again, nothing twice. */
    char *md = mp_dovecot_maildir(dv, "up");
    char *md_work = mp_strf("%s/.Work", md);
    dvk_assert_each_once(md, N_INTO);
    dvk_assert_each_once(md_work, N_WORK);
    assert_same_bytes(md, inbox, N_INTO);
    assert_same_bytes(md_work, sub, N_WORK);
    assert_int_equal(mp_dovecot_count_commands(dv, "up", "APPEND"),
                     N_INTO + N_WORK);

    /* A re-run copies nothing; verify agrees. */
    char *direct = url_via("up", mp_dovecot_port(dv));
    r = run("copy", src, direct, "--no-state");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    assert_int_equal(mp_dovecot_count_commands(dv, "up", "APPEND"),
                     N_INTO + N_WORK);
    r = run("verify", src, direct);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    mp_proxy_stop(px);
    free(direct);
    free(md_work);
    free(md);
    free(report);
    free(dst);
    free(src);
    free(sub);
    free(inbox);
}

/* ---- out of IMAP ------------------------------------------------------ */

#define N_OUT 600

/* IMAP (600 messages: 6 pipelined body fetches of 100) -> Maildir
 * through a relay that answers the 2nd UID FETCH (the first body fetch,
 * after the scan) with Microsoft 365's reply, says BYE instead of
 * answering the 4th body fetch (most likely in the same attempt: the
 * 1.5 s asked for must still be waited, not the 1 s of a BYE naming no
 * pause), and BYE [UNAVAILABLE] at the 5th (a later attempt: nothing
 * the client sends after a BYE reaches the relay's counting). */
static void test_out_of_imap(void **state)
{
    (void)state;
    char *seed = dvk_make_source(work, "outseed", N_OUT, 2000);
    char *seed_url = mp_strf("maildir:%s", seed);
    char *direct = url_via("down", mp_dovecot_port(dv));
    mp_run_result r = run("copy", seed_url, direct, "--no-state");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    const mp_proxy_rule rules[] = {
        {.command = "UID FETCH", .nth = 2,
         .reply = "NO Request is throttled. Suggested Backoff Time: 1500 "
                  "milliseconds"},
        {.command = "UID FETCH", .contains = "BODY.PEEK[]", .nth = 4,
         .bye = 1, .reply = "BYE Server is busy: connection throttled"},
        {.command = "UID FETCH", .contains = "BODY.PEEK[]", .nth = 5,
         .bye = 1, .reply = "BYE [UNAVAILABLE] Try again later"},
    };
    mp_tcp_proxy *px =
        mp_proxy_start_rules(mp_dovecot_port(dv), rules, N_RULES(rules));
    char *src = url_via("down", mp_proxy_port(px));
    char *out = mp_strf("%s/out-dst", work);
    char *dst = mp_strf("maildir:%s", out);
    char *state_db = mp_strf("%s/out.db", work);
    char *report = mp_strf("%s/out.json", work);
    double t0 = mp_now_s();
    r = run("copy", src, dst, "--state", state_db, "--report", report);
    double took = mp_now_s() - t0;
    mp_expect_exit(&r, 0);
    for (size_t i = 0; i < N_RULES(rules); i++)
        if (mp_proxy_fired(px, i) != 1)
            mp_fail_showing(r.err, "rule %zu fired %d times (of %d matching)",
                            i, mp_proxy_fired(px, i), mp_proxy_seen(px, i));
    assert_contains(r.err, "waiting 1.5 s as the server asked");
    assert_contains(r.err, "waiting 1.0 s as the server asked");
    if (strstr(r.err, "(attempt "))
        mp_fail_showing(r.err, "retried as a dropped connection");
    mp_run_free(&r);

    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), N_OUT);
    assert_int_equal((int)mp_json_number(json, "failed"), 0);
    double waited = mp_json_number(json, "throttled_seconds");
    if (waited < 1.5 + 1.0 - 0.01 || waited > took)
        fail_msg("throttled_seconds %.3f (the run took %.1f s), expected at "
                 "least 2.5:\n%s",
                 waited, took, json);
    printf("out of IMAP: the copy took %.1f s, %.1f s of it throttled\n",
           took, waited);
    free(json);
    dvk_assert_each_once(out, N_OUT);
    assert_same_bytes(out, seed, N_OUT);

    /* The state holds every message: a re-run copies none. */
    r = run("copy", direct, dst, "--state", state_db, "--report", report);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 0);
    free(json);
    r = run("verify", direct, dst);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    mp_proxy_stop(px);
    free(report);
    free(state_db);
    free(dst);
    free(out);
    free(src);
    free(direct);
    free(seed_url);
    free(seed);
}

/* ---- throttling that does not end ------------------------------------ */

/* Run mailport ARGS under timeout(1): SIGTERM after SECONDS. Returns its
 * exit status; its stderr goes to ERR_PATH. */
static int run_for(double seconds, const char *err_path, const char *args)
{
    const char *bin = getenv("MAILPORT_BIN");
    if (!bin)
        bin = MP_TEST_BINARY_DIR "/mailport"; /* as mp_run */
    return mp_sh("timeout --preserve-status -s TERM %.1f '%s' %s 2>'%s' "
                 ">/dev/null </dev/null",
                 seconds, bin, args, err_path);
}

/* Every APPEND from the 3rd on is refused with a suggested pause of
 * 300 ms: after 6 s the run is still waiting and retrying (more than 4
 * throttled attempts; a dropped connection gets RETRY_ATTEMPTS, 4), then
 * SIGTERM stops it (exit 143). With a suggested
 * pause of 10 minutes (5 min, the cap), SIGTERM 3 s in ends the wait at
 * once. Then, with the server taking mail again, the same command copies
 * the rest: each message once. */
static void test_throttling_without_end(void **state)
{
    (void)state;
    char *inbox = dvk_make_source(work, "endless", 10, 100);
    const mp_proxy_rule rules[] = {
        {.command = "APPEND", .nth = 3, .every = 1,
         .reply = "NO Request is throttled. Suggested Backoff Time: 300 "
                  "milliseconds"},
    };
    mp_tcp_proxy *px =
        mp_proxy_start_rules(mp_dovecot_port(dv), rules, N_RULES(rules));
    char *dst = single_appends_via("endless", mp_proxy_port(px));
    char *state_db = mp_strf("%s/endless.db", work);
    char *args = mp_strf("copy 'maildir:%s' '%s' --state '%s'", inbox, dst,
                         state_db);
    char *err_path = mp_strf("%s/endless.err", work);
    int code = run_for(6, err_path, args);
    char *err = mp_read_file(err_path, NULL);
    if (code != 143)
        mp_fail_showing(err, "exit %d, expected 143 (SIGTERM)", code);
    /* One warning per attempt; a dropped connection gets 4. */
    int waits = count_in(err, "waiting 0.3 s as the server asked");
    if (waits <= 4)
        mp_fail_showing(err, "%d throttled attempts in 6 s", waits);
    if (strstr(err, "(attempt ") || strstr(err, "giving up"))
        mp_fail_showing(err, "gave up or retried as a dropped connection");
    free(err);
    mp_proxy_stop(px);

    /* A pause of 10 minutes asked for (waited 5, the cap): SIGTERM ends
     * it at once. */
    const mp_proxy_rule long_pause[] = {
        {.command = "APPEND", .nth = 1, .every = 1,
         .reply = "NO Request is throttled. Suggested Backoff Time: 600000 "
                  "milliseconds"},
    };
    px = mp_proxy_start_rules(mp_dovecot_port(dv), long_pause,
                              N_RULES(long_pause));
    free(dst);
    free(args);
    dst = single_appends_via("endless", mp_proxy_port(px));
    args = mp_strf("copy 'maildir:%s' '%s' --state '%s'", inbox, dst,
                   state_db);
    double t0 = mp_now_s();
    code = run_for(3, err_path, args);
    double took = mp_now_s() - t0;
    err = mp_read_file(err_path, NULL);
    if (code != 143)
        mp_fail_showing(err, "exit %d, expected 143 (SIGTERM)", code);
    assert_int_equal(count_in(err, "waiting 300.0 s as the server asked"), 1);
    if (took > 6.0)
        fail_msg("SIGTERM during the wait: stopped after %.1f s", took);
    free(err);
    mp_proxy_stop(px);

    /* The server takes mail again: the rest is copied, nothing twice. */
    char *direct = single_appends_via("endless", mp_dovecot_port(dv));
    char *src = mp_strf("maildir:%s", inbox);
    mp_run_result r = run("copy", src, direct, "--state", state_db);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    char *md = mp_dovecot_maildir(dv, "endless");
    dvk_assert_each_once(md, 10);
    assert_int_equal(mp_dovecot_count_commands(dv, "endless", "APPEND"), 10);

    free(md);
    free(src);
    free(direct);
    free(err_path);
    free(args);
    free(state_db);
    free(dst);
    free(inbox);
}

/* A folder throttled for longer than the bound is given up: its messages
 * are failed and counted, the error names the wait, and the run goes on
 * with the next folder. The bound ($MAILPORT_THROTTLE_GIVE_UP, 30 min
 * by default) is 2 s here; every APPEND into Work is refused with a
 * suggested pause of 500 ms. */
static void test_throttled_folder_given_up(void **state)
{
    (void)state;
    char *inbox = dvk_make_source(work, "giveup", 6, 100);
    const mp_proxy_rule rules[] = {
        {.command = "APPEND",
         .nth = 1,
         .every = 1,
         .reply = "NO Request is throttled. Suggested Backoff Time: 500 "
                  "milliseconds"},
    };
    mp_tcp_proxy *px =
        mp_proxy_start_rules(mp_dovecot_port(dv), rules, N_RULES(rules));
    char *dst = single_appends_via("giveup", mp_proxy_port(px));
    char *src = mp_strf("maildir:%s", inbox);
    setenv("MAILPORT_THROTTLE_GIVE_UP", "2", 1);
    double t0 = mp_now_s();
    mp_run_result r = run("copy", src, dst, "--no-state");
    double took = mp_now_s() - t0;
    unsetenv("MAILPORT_THROTTLE_GIVE_UP");
    mp_expect_exit(&r, 1);
    if (!strstr(r.err, "still throttled after waiting 2 s in all, giving up "
                       "the folder") ||
        !strstr(r.err, "failed 6,"))
        mp_fail_showing(r.err, "the folder was not given up as told");
    assert_int_equal(count_in(r.err, "waiting 0.5 s as the server asked"), 4);
    if (took > 20.0)
        fail_msg("gave up after %.1f s", took);
    mp_run_free(&r);
    assert_int_equal(mp_dovecot_count_commands(dv, "giveup", "APPEND"), 0);
    mp_proxy_stop(px);
    free(src);
    free(dst);
    free(inbox);
}

int main(void)
{
    /* The connections dropped here end with a relay's BYE, after which
     * nothing reaches Dovecot: what was in flight is never stored. */
    mp_short_inflight_wait();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_into_imap),
        cmocka_unit_test(test_out_of_imap),
        cmocka_unit_test(test_throttling_without_end),
        cmocka_unit_test(test_throttled_folder_given_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
