/* imapsync's accounts list run by `mailport batch` (issue 14), against the
 * real Dovecot: fields split on ';' only (passwords with blanks and '#'),
 * the trailing ';' of imapsync's examples, HOST:PORT, and options after
 * the sixth field (--tls2 for STARTTLS, --port2, --cafile1/--cafile2, and a
 * mailport option); one warning for the file, none per account, and no
 * password in any output. */
#include "dovecot.h"
#include "maildir_walk.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"

static void test_accounts_list_migrates_every_account(void **state)
{
    (void)state;
    mp_dovecot *dc = mp_dovecot_start();
    const char *pw_a = "correct horse #1 battery", *pw_b = "b0b's pass word";
    mp_dovecot_add_users(dc, "alice", pw_a, "bob", pw_b, "carol", "c", "dave",
                         "d", (char *)NULL);
    char *dir = mp_tmpdir("accounts");
    /* alice's and carol's mail on the server. */
    char *a_url = mp_dovecot_url(dc, "imap", "alice");
    char *c_url = mp_dovecot_url(dc, "imap", "carol");
    mp_run_result r =
        mp_run("copy", "mbox:" SAMPLE, a_url, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("copy", "mbox:" SAMPLE, c_url, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);

    const char *ca = mp_dovecot_cafile(dc);
    char *list = mp_strf(
        "# imapsync's file.txt\n"
        "127.0.0.1:%d;alice;%s;127.0.0.1;bob;%s;--cafile1 %s --tls2 "
        "--port2 %d --cafile2 %s\n"
        "127.0.0.1:%d;carol;c;127.0.0.1:%d;dave;d;--cafile1 %s;--cafile2 %s;"
        "--include INBOX\n",
        mp_dovecot_tls_port(dc), pw_a, pw_b, ca, mp_dovecot_port(dc), ca,
        mp_dovecot_tls_port(dc), mp_dovecot_tls_port(dc), ca, ca);
    char *path = mp_strf("%s/file.txt", dir);
    mp_write_file(path, list, strlen(list));
    chmod(path, 0600);
    char *xdg = mp_strf("%s/state", dir);
    setenv("XDG_STATE_HOME", xdg, 1);
    r = mp_run("batch", path, NULL);
    if (r.exit_code != 0)
        fail_msg("batch exit %d\n%s", r.exit_code, r.err);
    /* One warning for the file; none per URL; no password shown. */
    const char *w = strstr(r.err, "holds passwords");
    assert_non_null(w);
    assert_null(strstr(w + 1, "holds passwords"));
    assert_null(strstr(r.err, "typed in the URL"));
    assert_null(strstr(r.err, pw_a));
    assert_null(strstr(r.err, pw_b));
    assert_null(strstr(r.out, pw_a));
    /* bob's destination was reached with STARTTLS on the plain port. */
    assert_contains(r.err, "-> imap://bob:***@127.0.0.1:");
    mp_run_free(&r);
    char *bob = mp_dovecot_maildir(dc, "bob"),
         *dave = mp_dovecot_maildir(dc, "dave");
    walked_dir b = walk_maildir(bob), d = walk_maildir(dave);
    assert_int_equal(b.n, 5);
    assert_int_equal(d.n, 5);
    walked_free(&b);
    walked_free(&d);

    /* Five fields: a usage error naming the line and the form. */
    const char *bad = "127.0.0.1;alice;x;127.0.0.1;bob\n";
    mp_write_file(path, bad, strlen(bad));
    r = mp_run("batch", path, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "file.txt:1: an imapsync-style line needs 6 fields");
    mp_run_free(&r);

    unsetenv("XDG_STATE_HOME");
    free(bob);
    free(dave);
    free(xdg);
    free(path);
    free(list);
    free(a_url);
    free(c_url);
    mp_dovecot_stop(dc);
    mp_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accounts_list_migrates_every_account),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
