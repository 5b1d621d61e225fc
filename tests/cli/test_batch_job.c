/* Issue 12, scale-out: one job file handed out job by job, as a Kubernetes
 * Indexed Job, a Slurm array or GNU parallel does, through concurrent
 * `mailport batch JOBFILE --job N` processes against the test Dovecot.
 * Every account is copied exactly once: each process runs its own job and
 * no other, and each account's INBOX holds the sample's messages once. */
#include "dovecot.h"
#include "testutil.h"

#include <stdio.h>
#include <sys/stat.h>

#define ACCOUNTS 6

static mp_dovecot *dv;
static char *dir;

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "u0", "p0", "u1", "p1", "u2", "p2", "u3", "p3",
                         "u4", "p4", "u5", "p5", NULL);
    dir = mp_tmpdir("batch-job");
    char *st = mp_strf("%s/state", dir);
    setenv("XDG_STATE_HOME", st, 1);
    free(st);
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

static char *read_in(const char *name, int n)
{
    char *p = mp_strf("%s/%s.%d", dir, name, n);
    size_t len;
    char *text = mp_read_file(p, &len);
    free(p);
    return text;
}

static void jobs_run_once_each(void **state)
{
    (void)state;
    /* A comment and a blank line do not count as jobs. */
    char *text = mp_strf("# accounts\n\n");
    for (int i = 0; i < ACCOUNTS; i++) {
        char user[8];
        snprintf(user, sizeof user, "u%d", i);
        char *url = mp_dovecot_url(dv, "starttls", user);
        char *next = mp_strf("%smbox:%s/examples/sample.mbox %s\n", text,
                             MP_TEST_SOURCE_DIR, url);
        free(text);
        free(url);
        text = next;
    }
    char *jobs = mp_strf("%s/accounts.jobs", dir);
    mp_write_file(jobs, text, strlen(text));
    chmod(jobs, 0600);

    /* All at once, each with its own index, as a scheduler starts them. */
    assert_int_equal(
        mp_sh("cd '%s' && for n in 0 1 2 3 4 5; do "
              "( \"$MAILPORT_BIN\" batch accounts.jobs --job $n >out.$n "
              "2>err.$n; echo $? >rc.$n ) & done; wait",
              dir),
        0);
    for (int n = 0; n < ACCOUNTS; n++) {
        char *rc = read_in("rc", n), *err = read_in("err", n);
        assert_string_equal(rc, "0\n");
        /* Its own job and no other; line n + 3 after the comment. */
        char *own = mp_strf("mailport: job %d (line %d): mbox:", n, n + 3);
        assert_contains(err, own);
        assert_int_equal(strstr(err, "mailport: job ") - strstr(err, own), 0);
        assert_null(strstr(strstr(err, own) + 1, "mailport: job "));
        assert_contains(err, "mailport: batch ran 1 job\n");
        assert_contains(err, "copied 5, already present 0");
        free(own);
        free(rc);
        free(err);
        char user[8];
        snprintf(user, sizeof user, "u%d", n);
        char *status = mp_dovecot_command(dv, user, "STATUS INBOX (MESSAGES)");
        assert_contains(status, "(MESSAGES 5)");
        free(status);
    }

    /* A job run again (a task retried on another node) copies nothing. */
    mp_run_result r = mp_run("batch", jobs, "--job", "4", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "copied 0, already present 5");
    mp_run_free(&r);
    char *status = mp_dovecot_command(dv, "u4", "STATUS INBOX (MESSAGES)");
    assert_contains(status, "(MESSAGES 5)");
    free(status);

    /* No such job; --job beside --shard; not an index. */
    r = mp_run("batch", jobs, "--job", "6", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "holds 6 jobs; there is no job 6 (they count "
                           "from 0)");
    assert_contains(r.err, "batch ran 0 jobs");
    mp_run_free(&r);
    r = mp_run("batch", jobs, "--job", "1", "--shard", "0/2", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "--job and --shard exclude each other");
    mp_run_free(&r);
    r = mp_run("batch", jobs, "--job", "x", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "--job wants a job index");
    mp_run_free(&r);
    free(jobs);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jobs_run_once_each),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
