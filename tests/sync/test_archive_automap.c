/* --automap from an archive source (issue 14), against the real Dovecot:
 * an archive of a Maildir whose special folders are called "Sent Items"
 * and "Deleted Items" uploads them into the server's \Sent and \Trash
 * folders (Sent, Trash), as the same tree read as maildir: does. */
#include "dovecot.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"

static void copy_ok(const char *from, const char *to, const char *map)
{
    mp_run_result r = mp_run("copy", from, to, "--map", map, "--include",
                             "INBOX", "--no-state", "-q", NULL);
    if (r.exit_code != 0)
        fail_msg("copy %s -> %s: exit %d\n%s", from, to, r.exit_code, r.err);
    mp_run_free(&r);
}

static void test_automap_from_archive(void **state)
{
    (void)state;
    mp_dovecot *dc = mp_dovecot_start();
    mp_dovecot_add_users(dc, "bob", "b", (char *)NULL);
    char *dir = mp_tmpdir("arch-automap");
    char *md = mp_strf("maildir:%s/old", dir);
    copy_ok("mbox:" SAMPLE, md, "INBOX=Sent Items");
    copy_ok("mbox:" SAMPLE, md, "INBOX=Deleted Items");
    copy_ok("mbox:" SAMPLE, md, "INBOX=Junk");
    char *arch = mp_strf("targz:%s/old.tar.gz", dir);
    mp_run_result r = mp_run("copy", md, arch, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* bob's server has its \Sent and \Trash folders, named Sent and Trash. */
    char *bob = mp_dovecot_url(dc, "imap", "bob");
    copy_ok("mbox:" SAMPLE, bob, "INBOX=Sent");
    copy_ok("mbox:" SAMPLE, bob, "INBOX=Trash");

    r = mp_run("copy", arch, bob, "--automap", "--no-state", NULL);
    if (r.exit_code != 0)
        fail_msg("copy exit %d\n%s", r.exit_code, r.err);
    /* The 10 messages of Sent Items and Deleted Items are found in Sent
     * and Trash; Junk (no \Junk folder on the server) is copied as Junk. */
    assert_contains(r.err, "copied 5, already present 10,");
    mp_run_free(&r);
    r = mp_run("list", bob, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_null(strstr(r.out, "Sent Items"));
    assert_null(strstr(r.out, "Deleted Items"));
    assert_contains(r.out, "Junk");
    mp_run_free(&r);

    free(bob);
    free(arch);
    free(md);
    mp_dovecot_stop(dc);
    mp_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_automap_from_archive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
