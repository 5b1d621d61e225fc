/* imap-backup's config.json run by `mailport batch` (issue 14), against the
 * real Dovecot, with hand-made config.json files in imap-backup's format
 * (docs/files/config.md, lib/imap/backup/account.rb): --backup-to backs
 * each account's server up into a template destination (connection_options
 * port and ssl, folders as a whitelist, status "archived" left out), its
 * passwords warned about once and refused in a file others can read;
 * --upload-to uploads each account's backup (local_path, here the real
 * imap-backup backup of the corpora) into a template destination. */
#include "dovecot.h"
#include "maildir_walk.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"

static void fill(mp_dovecot *dc, const char *user, const char *folder_map)
{
    char *url = mp_dovecot_url(dc, "imap", user);
    mp_run_result r = folder_map ? mp_run("copy", "mbox:" SAMPLE, url, "--map",
                                          folder_map, "--no-state", "-q", NULL)
                                 : mp_run("copy", "mbox:" SAMPLE, url,
                                          "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(url);
}

static int count_in(const char *dir)
{
    walked_dir w = walk_maildir(dir);
    int n = (int)w.n;
    walked_free(&w);
    return n;
}

static void test_backup_to_backs_up_each_account(void **state)
{
    (void)state;
    mp_dovecot *dc = mp_dovecot_start();
    const char *pw_a = "correct horse \"#1\" battery";
    mp_dovecot_add_users(dc, "alice", pw_a, "carol", "c pw", "erin", "e",
                         (char *)NULL);
    fill(dc, "alice", NULL);
    fill(dc, "carol", NULL);
    fill(dc, "carol", "INBOX=Work");
    fill(dc, "erin", NULL);
    char *dir = mp_tmpdir("ibconfig");
    const char *ca = mp_dovecot_cafile(dc);
    /* alice: the harness's TLS port, the CA as Net::IMAP's ssl.ca_file;
     * carol: connection_options as a JSON string (imap-backup's setup
     * stores what was typed), certificate not verified (verify_mode 0,
     * OpenSSL's VERIFY_NONE), INBOX only; erin: archived, not backed up. */
    char *config = mp_strf(
        "{\n"
        "  \"version\": \"2.2\",\n"
        "  \"accounts\": [\n"
        "    {\"username\": \"alice\", \"password\": \"correct horse "
        "\\\"#1\\\" battery\",\n"
        "     \"local_path\": \"/nonexistent/alice\", \"server\": "
        "\"127.0.0.1\",\n"
        "     \"connection_options\": {\"port\": %d, \"ssl\": {\"ca_file\": "
        "\"%s\"}},\n"
        "     \"multi_fetch_size\": 3},\n"
        "    {\"username\": \"carol\", \"password\": \"c pw\", \"server\": "
        "\"127.0.0.1\",\n"
        "     \"connection_options\": \"{\\\"port\\\": %d, \\\"ssl\\\": "
        "{\\\"verify_mode\\\": 0}}\",\n"
        "     \"folders\": [{\"name\": \"INBOX\"}]},\n"
        "    {\"username\": \"erin\", \"password\": \"e\", \"server\": "
        "\"127.0.0.1\", \"status\": \"archived\"}\n"
        "  ],\n"
        "  \"download_strategy\": \"delay_metadata\"\n"
        "}\n",
        mp_dovecot_tls_port(dc), ca, mp_dovecot_tls_port(dc));
    char *path = mp_strf("%s/config.json", dir);
    mp_write_file(path, config, strlen(config));
    chmod(path, 0600);
    char *xdg = mp_strf("%s/state", dir);
    setenv("XDG_STATE_HOME", xdg, 1);
    char *tmpl = mp_strf("maildir:%s/backup/{user}-{server}", dir);
    mp_run_result r = mp_run("batch", path, "--backup-to", tmpl, NULL);
    if (r.exit_code != 0)
        fail_msg("batch exit %d\n%s", r.exit_code, r.err);
    const char *w = strstr(r.err, "config.json holds passwords; prefer "
                                  "password_file= in URLs\n");
    assert_non_null(w);
    assert_null(strstr(w + 20, "holds passwords"));
    assert_null(strstr(r.err, "typed in the URL"));
    assert_null(strstr(r.err, "correct horse"));
    assert_null(strstr(r.out, "correct horse"));
    assert_null(strstr(r.err, "c pw"));
    assert_contains(r.err, "mailport: job 0 (account 1): imaps://alice:***@"
                           "127.0.0.1:");
    char *carol = mp_strf("mailport: job 1 (account 2): imaps://carol:***@"
                          "127.0.0.1:%d?insecure=1 -> maildir:",
                          mp_dovecot_tls_port(dc));
    assert_contains(r.err, carol);
    free(carol);
    assert_contains(r.err, "config.json: account 3: its status is "
                           "\"archived\"; skipped\n");
    assert_contains(r.err, "mailport: batch ran 2 jobs\n");
    mp_run_free(&r);
    char *a_inbox = mp_strf("%s/backup/alice-127.0.0.1", dir);
    char *c_inbox = mp_strf("%s/backup/carol-127.0.0.1", dir);
    char *c_work = mp_strf("%s/backup/carol-127.0.0.1/.Work", dir);
    char *e_root = mp_strf("%s/backup/erin-127.0.0.1", dir);
    assert_int_equal(count_in(a_inbox), 5);
    assert_int_equal(count_in(c_inbox), 5);
    assert_false(mp_file_exists(c_work)); /* "folders": INBOX only */
    assert_false(mp_file_exists(e_root));

    /* dave: "ssl": false (imap-backup's plain connection) on the plain
     * port becomes imap:// with STARTTLS, never a login in plain text: the
     * job is announced so, and the harness's certificate, which this
     * account names no CA for, is refused before any password is sent. */
    char *plain = mp_strf(
        "{\"version\": \"2.2\", \"accounts\": [\n"
        "  {\"username\": \"dave\", \"password\": \"d pw\", \"server\": "
        "\"127.0.0.1\",\n"
        "   \"connection_options\": {\"port\": %d, \"ssl\": false}}]}\n",
        mp_dovecot_port(dc));
    char *plain_path = mp_strf("%s/plain.json", dir);
    mp_write_file(plain_path, plain, strlen(plain));
    chmod(plain_path, 0600);
    r = mp_run("batch", plain_path, "--backup-to", tmpl, NULL);
    assert_int_equal(r.exit_code, 3);
    char *dave = mp_strf("mailport: job 0 (account 1): imap://dave:***@"
                         "127.0.0.1:%d -> maildir:",
                         mp_dovecot_port(dc));
    assert_contains(r.err, dave);
    assert_contains(r.err, "not trusted");
    assert_null(strstr(r.err, "d pw"));
    mp_run_free(&r);
    free(dave);
    free(plain_path);
    free(plain);

    /* Readable by others: refused before any account is reached. */
    mp_rm_rf(a_inbox);
    chmod(path, 0644);
    r = mp_run("batch", path, "--backup-to", tmpl, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "config.json holds passwords and is readable by "
                           "other users; chmod 600 it (or pass --force)");
    assert_contains(r.err, "mailport: batch ran 0 jobs\n");
    mp_run_free(&r);
    assert_false(mp_file_exists(a_inbox));

    /* Without a template: a usage error saying what to give. */
    chmod(path, 0600);
    r = mp_run("batch", path, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "config.json is imap-backup's config.json: give "
                           "one of --backup-to TEMPLATE");
    mp_run_free(&r);
    /* An unknown placeholder. */
    r = mp_run("batch", path, "--backup-to", "maildir:x/{name}", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "--backup-to unknown {name} in "
                           "\"maildir:x/{name}\" (known: {user}, {server}, "
                           "{local_path})");
    mp_run_free(&r);
    /* The templates are for config.json only. */
    char *lines = mp_strf("%s/jobs.txt", dir);
    mp_write_file(lines, "# none\n", 7);
    r = mp_run("batch", lines, "--upload-to", tmpl, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "--backup-to and --upload-to are for imap-backup's "
                           "config.json");
    mp_run_free(&r);

    unsetenv("XDG_STATE_HOME");
    free(lines);
    free(a_inbox);
    free(c_inbox);
    free(c_work);
    free(e_root);
    free(tmpl);
    free(xdg);
    free(path);
    free(config);
    mp_dovecot_stop(dc);
    mp_rm_rf(dir);
    free(dir);
}

static void test_upload_to_uploads_each_backup(void **state)
{
    (void)state;
    mp_dovecot *dc = mp_dovecot_start();
    mp_dovecot_add_users(dc, "dave", "d pw", (char *)NULL);
    char *dir = mp_tmpdir("ibupload");
    char *backup = mp_strf("%s/imap-backup/backup", mp_corpora());
    /* The upload never logs in with config.json's passwords, so a file
     * others can read is no reason to stop, nor to warn. */
    /* The harness's Dovecot refuses '.' in folder names, so the backup's
     * alice/Lists.dev is left out as imap-backup leaves folders out: a
     * blacklist. */
    char *config = mp_strf(
        "{\"version\": \"2.2\", \"accounts\": [\n"
        " {\"username\": \"dave\", \"password\": \"old\", \"local_path\": "
        "\"%s\",\n"
        "  \"folders\": [{\"name\": \"alice/Lists.dev\"}], "
        "\"folder_blacklist\": true},\n"
        " {\"username\": \"frank\", \"password\": \"f\", \"status\": "
        "\"offline\", \"local_path\": \"/nonexistent\"},\n"
        " {\"username\": \"gina\", \"password\": \"g\"}\n"
        "]}\n",
        backup);
    char *path = mp_strf("%s/config.json", dir);
    mp_write_file(path, config, strlen(config));
    chmod(path, 0644);
    char *pw = mp_strf("%s/dave.pw", dir);
    mp_write_file(pw, "d pw\n", 5);
    chmod(pw, 0600);
    char *xdg = mp_strf("%s/state", dir);
    setenv("XDG_STATE_HOME", xdg, 1);
    char *tmpl = mp_strf("imaps://{user}@127.0.0.1:%d?cafile=%s&"
                         "password_file=%s/{user}.pw",
                         mp_dovecot_tls_port(dc), mp_dovecot_cafile(dc), dir);
    mp_run_result r = mp_run("batch", path, "--upload-to", tmpl, NULL);
    /* gina has no local_path: her account is an error (exit 2), the
     * others run. */
    assert_int_equal(r.exit_code, 2);
    assert_null(strstr(r.err, "holds passwords"));
    assert_contains(r.err, "config.json: account 3: no \"local_path\" (the "
                           "backup's directory); skipped\n");
    assert_contains(r.err, "config.json: account 2: its status is "
                           "\"offline\"; skipped\n");
    char *shown = mp_strf("mailport: job 0 (account 1): imap-backup:%s -> "
                          "imaps://dave@127.0.0.1:",
                          backup);
    assert_contains(r.err, shown);
    assert_contains(r.err, "mailport: batch ran 1 job\n");
    mp_run_free(&r);
    /* What dave's server holds now is the backup, message for message,
     * flags included. */
    char *dest = mp_dovecot_url(dc, "imaps", "dave");
    char *src = mp_strf("imap-backup:%s", backup);
    r = mp_run("verify", src, dest, "--exclude", "alice/Lists.dev", NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d\n%s%s", r.exit_code, r.out, r.err);
    mp_run_free(&r);

    unsetenv("XDG_STATE_HOME");
    free(src);
    free(dest);
    free(shown);
    free(tmpl);
    free(xdg);
    free(pw);
    free(path);
    free(config);
    free(backup);
    mp_dovecot_stop(dc);
    mp_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_to_backs_up_each_account),
        cmocka_unit_test(test_upload_to_uploads_each_backup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
