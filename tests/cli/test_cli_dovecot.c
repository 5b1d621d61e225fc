/* Issue 12, against the test Dovecot: the TLS mode of the URL and of the
 * port disagree (a STARTTLS port and an implicit-TLS port), each mismatch
 * named at once with the URL to use instead; and a batch whose first
 * account cannot log in, reported as a whole. */
#include "dovecot.h"
#include "testutil.h"

#include <sys/stat.h>
#include <time.h>

static mp_dovecot *dv;
static char *dir;

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_user(dv, "alice", "pw-of-alice");
    dir = mp_tmpdir("cli-tls");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dv);
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* imaps:// on the STARTTLS port: not OpenSSL's "wrong version number" but
 * what the port speaks and the URL to use. */
static void imaps_on_starttls_port(void **state)
{
    (void)state;
    char *url = mp_strf("imaps://alice@127.0.0.1:%d?cafile=%s&password_file=%s",
                        mp_dovecot_port(dv), mp_dovecot_cafile(dv),
                        mp_dovecot_password_file(dv, "alice"));
    char *dst = mp_strf("maildir:%s/a", dir);
    mp_run_result r = mp_run("copy", url, dst, NULL);
    assert_int_equal(r.exit_code, 3);
    char *want = mp_strf("127.0.0.1:%d speaks plain IMAP (STARTTLS), not "
                         "implicit TLS: use imap://alice@127.0.0.1:%d?",
                         mp_dovecot_port(dv), mp_dovecot_port(dv));
    assert_contains(r.err, want);
    assert_null(strstr(r.err, "wrong version number"));
    mp_run_free(&r);
    /* The URL it suggests works. */
    char *good = mp_strf("imap://alice@127.0.0.1:%d?cafile=%s&password_file=%s",
                         mp_dovecot_port(dv), mp_dovecot_cafile(dv),
                         mp_dovecot_password_file(dv, "alice"));
    r = mp_run("list", good, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(want);
    free(good);
    free(url);
    free(dst);
}

/* imap:// on the implicit-TLS port: not a 30 s wait for a greeting that
 * never comes, but at once what the port speaks and the URL to use. */
static void imap_on_implicit_tls_port(void **state)
{
    (void)state;
    char *url = mp_strf("imap://alice@127.0.0.1:%d?cafile=%s&password_file=%s",
                        mp_dovecot_tls_port(dv), mp_dovecot_cafile(dv),
                        mp_dovecot_password_file(dv, "alice"));
    char *dst = mp_strf("maildir:%s/b", dir);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mp_run_result r = mp_run("copy", url, dst, NULL);
    double took = seconds_since(&t0);
    assert_int_equal(r.exit_code, 3);
    char *want = mp_strf("127.0.0.1:%d speaks TLS from the start (implicit "
                         "TLS) and sent no IMAP greeting: use "
                         "imaps://alice@127.0.0.1:%d?",
                         mp_dovecot_tls_port(dv), mp_dovecot_tls_port(dv));
    assert_contains(r.err, want);
    mp_run_free(&r);
    /* The greeting is waited for 1.5 s, the probe takes a handshake; the
     * connect timeout it replaces is 30 s. */
    if (took > 10)
        fail_msg("took %.1f s to notice the TLS port", took);
    free(want);
    free(url);
    free(dst);
}

/* A failed login in job 0 is in the batch's one report, beside the job
 * that ran well; the closing table shows both. */
static void batch_report_keeps_a_failed_login(void **state)
{
    (void)state;
    char *badpw = mp_strf("%s/wrong.pw", dir);
    mp_write_file(badpw, "not-her-password\n", 17);
    chmod(badpw, 0600);
    char *bad = mp_strf("imap://alice@127.0.0.1:%d?tls=none&password_file=%s",
                        mp_dovecot_port(dv), badpw);
    char *good = mp_dovecot_url(dv, "imap", "alice");
    char *jobs = mp_strf("%s/jobs", dir);
    char *text = mp_strf("'%s' maildir:%s/j0 --no-state\n"
                         "'%s' maildir:%s/j1 --no-state\n",
                         bad, dir, good, dir);
    mp_write_file(jobs, text, strlen(text));
    chmod(jobs, 0600);
    char *report = mp_strf("%s/batch.json", dir);
    mp_run_result r = mp_run("batch", jobs, "--report", report, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "JOB  ACCOUNT");
    char *row0 = mp_strf("mailport: 0    imap://alice@127.0.0.1:%d ",
                         mp_dovecot_port(dv));
    assert_contains(r.err, row0);
    mp_run_free(&r);
    char *rep = mp_read_file(report, NULL);
    char *start0 = strstr(rep, "{\"job\": 0,");
    char *start1 = strstr(rep, "{\"job\": 1,");
    assert_non_null(start0);
    assert_non_null(start1);
    *start1 = '\0'; /* job 0's entry alone */
    assert_contains(start0, "\"exit\": 3,");
    assert_contains(start0, "login refused for alice");
    *start1 = '{';
    assert_contains(start1, "\"exit\": 0,");
    assert_contains(start1, "\"errors\": []");
    assert_null(strstr(rep, "not-her-password"));
    free(rep);
    free(row0);
    free(report);
    free(text);
    free(jobs);
    free(good);
    free(bad);
    free(badpw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imaps_on_starttls_port),
        cmocka_unit_test(imap_on_implicit_tls_port),
        cmocka_unit_test(batch_report_keeps_a_failed_login),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
