/* Host limits on the destination, through the binary against a real
 * Dovecot (issue 9.4, 9.5):
 * - APPENDLIMIT (RFC 7889): a message over the server's limit is reported
 *   as too big without being sent; the rest is copied;
 * - --max-messages-per-second / --max-bytes-per-second: the run keeps
 *   under the rate and reports how long it waited for it. */
#include "testutil.h"

#include "dovecot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *work;

static int setup(void **state)
{
    (void)state;
    work = mp_tmpdir("imap-limits");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(work);
    free(work);
    return 0;
}

/* A Maildir folder DIR with message N holding TEXT. */
static void put_msg(const char *dir, int n, const char *text)
{
    const char *sub[] = {"", "/cur", "/new", "/tmp"};
    for (int i = 0; i < 4; i++) {
        char *d = mp_strf("%s%s", dir, sub[i]);
        mkdir(d, 0700);
        free(d);
    }
    char *path = mp_strf("%s/cur/1700000000.M%dP1.test:2,S", dir, n);
    mp_write_file(path, text, strlen(text));
    free(path);
}

static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The server says APPENDLIMIT=20000 (and its quota plugin enforces it):
 * the 60000-byte message is never sent, it is counted failed with its size
 * and the limit, the two others are copied, exit 1. */
static void test_appendlimit(void **state)
{
    (void)state;
    mp_dovecot_opts o = {.max_mail_size = 20000,
                         .capability = "+APPENDLIMIT=20000"};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "zed", "pw");
    char *dir = mp_strf("%s/limit", work);
    put_msg(dir, 1, "Message-ID: <ok1@x>\nSubject: ok\n\nsmall\n");
    size_t big_len = 60000;
    char *big = malloc(big_len + 1);
    int h = snprintf(big, big_len, "Message-ID: <big@x>\nSubject: big\n\n");
    for (size_t i = (size_t)h; i < big_len; i++)
        big[i] = i % 61 == 60 ? '\n' : 'x';
    big[big_len] = '\0';
    put_msg(dir, 2, big);
    put_msg(dir, 3, "Message-ID: <ok2@x>\nSubject: ok too\n\nsmall\n");
    char *src = mp_strf("maildir:%s", dir);
    /* One APPEND per message, so that the count below counts messages
     * sent (test_imap_multiappend.c has the batches). */
    char *plain = mp_dovecot_url(d, "imap", "zed");
    char *dst = mp_strf("%s&multiappend=0", plain);
    free(plain);
    char *report = mp_strf("%s/limit.json", work);
    mp_run_result r = mp_run("copy", src, dst, "--no-state", "--report",
                             report, (char *)NULL);
    if (r.exit_code != 1)
        fail_msg("exit %d, stderr:\n%s", r.exit_code, r.err);
    /* Its size as sent: every LF a CRLF. */
    size_t wire = big_len;
    for (size_t i = 0; i < big_len; i++)
        wire += big[i] == '\n';
    char *why = mp_strf("too big for the destination: %zu bytes, the server "
                        "accepts at most 20000",
                        wire);
    assert_contains(r.err, why);
    assert_contains(r.err, "failed 1");
    mp_run_free(&r);
    char *json = mp_read_file(report, NULL);
    assert_contains(json, "\"copied\": 2");
    assert_contains(json, "\"failed\": 1");
    assert_contains(json, why);
    free(json);
    free(why);
    /* Never sent: two APPENDs reached the server, not three. */
    assert_int_equal(mp_dovecot_count_commands(d, "zed", "APPEND"), 2);
    char *md = mp_dovecot_maildir(d, "zed");
    char *cur = mp_strf("%s/cur", md);
    assert_int_equal(count_files(cur), 2);
    free(cur);
    free(md);
    mp_dovecot_stop(d);
    free(big);
    free(dir);
    free(src);
    free(dst);
    free(report);
}

/* Two folders of 10 messages, two workers, at most 10 messages a second
 * for the one destination account: the rate is shared, so the 20 messages
 * take at least 1.9 s (each worker alone would be done in 0.9 s), every
 * one is copied once, and the wait is reported. */
static void test_messages_per_second(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "rate", "pw");
    char *root = mp_strf("%s/rate", work);
    put_msg(root, 0, "Message-ID: <inbox@x>\nSubject: in\n\nx\n");
    const char *folders[] = {".A", ".B"};
    for (int f = 0; f < 2; f++) {
        char *dir = mp_strf("%s/%s", root, folders[f]);
        for (int i = 1; i <= 10; i++) {
            char *text = mp_strf("Message-ID: <%d.%d@x>\nSubject: %d\n\nbody\n",
                                 f, i, i);
            put_msg(dir, i, text);
            free(text);
        }
        free(dir);
    }
    char *src = mp_strf("maildir:%s", root);
    char *plain = mp_dovecot_url(d, "imap", "rate"); /* as above */
    char *dst = mp_strf("%s&multiappend=0", plain);
    free(plain);
    char *report = mp_strf("%s/rate.json", work);
    double t0 = mp_now_s();
    mp_run_result r =
        mp_run("copy", src, dst, "--no-state", "--jobs", "2",
               "--max-messages-per-second", "10", "--report", report,
               (char *)NULL);
    double elapsed = mp_now_s() - t0;
    if (r.exit_code != 0)
        fail_msg("exit %d, stderr:\n%s", r.exit_code, r.err);
    assert_contains(r.err, "s for the rate limits");
    mp_run_free(&r);
    /* 21 messages at 10/s: the last starts 2.0 s after the first. */
    if (elapsed < 1.9)
        fail_msg("21 messages at 10/s took only %.2f s", elapsed);
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 21);
    assert_int_equal((int)mp_json_number(json, "failed"), 0);
    double waited = mp_json_number(json, "rate_limit_seconds");
    if (waited < 1.0)
        fail_msg("reported rate wait %.3f s, expected more than 1 s", waited);
    assert_true(mp_json_number(json, "throttled_seconds") == 0);
    free(json);
    assert_int_equal(mp_dovecot_count_commands(d, "rate", "APPEND"), 21);
    mp_dovecot_stop(d);
    free(root);
    free(src);
    free(dst);
    free(report);
}

/* 4 messages of 10 KB at 20000 bytes a second: each holds the next back
 * for half a second, so at least 1.5 s in all. */
static void test_bytes_per_second(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "bytes", "pw");
    char *dir = mp_strf("%s/bytes", work);
    for (int i = 1; i <= 4; i++) {
        char body[10001];
        for (int k = 0; k < 10000; k++)
            body[k] = k % 100 == 99 ? '\n' : 'a' + i;
        body[10000] = '\0';
        char *text = mp_strf("Message-ID: <b%d@x>\nSubject: %d\n\n%s", i, i,
                             body);
        put_msg(dir, i, text);
        free(text);
    }
    char *src = mp_strf("maildir:%s", dir);
    char *dst = mp_dovecot_url(d, "imap", "bytes");
    char *report = mp_strf("%s/bytes.json", work);
    double t0 = mp_now_s();
    mp_run_result r = mp_run("copy", src, dst, "--no-state",
                             "--max-bytes-per-second", "20000", "--report",
                             report, (char *)NULL);
    double elapsed = mp_now_s() - t0;
    if (r.exit_code != 0)
        fail_msg("exit %d, stderr:\n%s", r.exit_code, r.err);
    mp_run_free(&r);
    if (elapsed < 1.5)
        fail_msg("40 KB at 20000 B/s took only %.2f s", elapsed);
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 4);
    if (mp_json_number(json, "rate_limit_seconds") < 1.4)
        fail_msg("reported rate wait too short:\n%s", json);
    free(json);
    mp_dovecot_stop(d);
    free(dir);
    free(src);
    free(dst);
    free(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendlimit),
        cmocka_unit_test(test_messages_per_second),
        cmocka_unit_test(test_bytes_per_second),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
