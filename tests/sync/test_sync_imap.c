/* Incremental sync against a real Dovecot: no-op re-runs fetch no bodies,
 * source changes (new mail, flags, a recreated folder) are picked up
 * without duplicates, and kill -9 into an IMAP destination resumes to
 * exactly one copy of every message. */
#include "dovecot.h"
#include "maildir_walk.h"
#include "sync_check.h"
#include "testutil.h"

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"

typedef struct fixture {
    mp_dovecot *dc;
    char *dir;
    char *imap; /* alice's account */
    char *state;
    char *report;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dc = mp_dovecot_start();
    mp_dovecot_add_user(f->dc, "alice", "alice-secret");
    mp_dovecot_add_user(f->dc, "bob", "bob-secret");
    f->dir = mp_tmpdir("syncimap");
    f->imap = mp_dovecot_url(f->dc, "imap", "alice");
    f->state = mp_strf("%s/state.sqlite", f->dir);
    f->report = mp_strf("%s/report.json", f->dir);
    setenv("XDG_STATE_HOME", f->dir, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mp_dovecot_stop(f->dc);
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->imap);
    free(f->state);
    free(f->report);
    free(f);
    return 0;
}

static char *run_copy(fixture *f, const char *src, const char *dst, int want)
{
    return sync_copy(src, dst, f->state, f->report, want, NULL);
}

#define assert_counts sync_assert_counts

/* Wait until Dovecot's log holds at least N session logout lines (it
 * writes them asynchronously); returns how many it holds. */
static int wait_for_logouts(fixture *f, int n)
{
    int count = 0;
    for (int i = 0; i < 200; i++) {
        char *log = mp_read_file(mp_dovecot_log_path(f->dc), NULL);
        count = 0;
        for (char *p = log; (p = strstr(p, " body_count=")); p++)
            count++;
        free(log);
        if (count >= n)
            return count;
        usleep(50000);
    }
    fail_msg("Dovecot logged %d session ends, expected %d", count, n);
    return count;
}

/* Fill alice's INBOX with the sample through mailport itself. */
static void load_sample(fixture *f)
{
    mp_run_result r =
        mp_run("copy", "mbox:" SAMPLE, f->imap, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
}

static void imap_backup_is_incremental(void **state)
{
    fixture *f = *state;
    load_sample(f);
    char *dst = mp_strf("maildir:%s/backup", f->dir);
    int sessions = wait_for_logouts(f, 1); /* load_sample's */
    char *rep = run_copy(f, f->imap, dst, 0);
    assert_counts(rep, 5, 0, 0, 0);
    free(rep);
    /* Dovecot's own count of message bodies sent (its logout lines, which
     * it may write a moment after the client is gone). */
    sessions = wait_for_logouts(f, sessions + 1);
    long fetches = mp_dovecot_body_fetches(f->dc);
    assert_true(fetches >= 5);

    /* A no-op re-run: nothing copied, no message body fetched. */
    rep = run_copy(f, f->imap, dst, 0);
    assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    wait_for_logouts(f, sessions + 1);
    assert_int_equal(mp_dovecot_body_fetches(f->dc), fetches);

    /* New mail and a flag change on the server (as a mail client makes
     * them: through IMAP). */
    const char *msg = "From: z@example.org\nMessage-ID: <late@example.org>\n"
                      "Subject: late\n\nlate mail\n";
    char *mbox = mp_strf("%s/late.mbox", f->dir);
    char *text =
        mp_strf("From z@example.org Fri Mar  8 10:00:00 2024\n%s", msg);
    mp_write_file(mbox, text, strlen(text));
    char *src_mbox = mp_strf("mbox:%s", mbox);
    mp_run_result r =
        mp_run("copy", src_mbox, f->imap, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* Flag the sample's unflagged newsletter in Dovecot's own Maildir. */
    char *inbox = mp_dovecot_maildir(f->dc, "alice");
    walked_dir dv = walk_maildir(inbox);
    walked_msg *news = NULL;
    for (size_t i = 0; i < dv.n; i++)
        if (strstr(mp_read_file(dv.v[i].path, NULL), "Your weekly digest"))
            news = &dv.v[i];
    assert_non_null(news);
    walked_set_flags(news, "FS");
    mp_dovecot_fix_owner(f->dc);
    rep = run_copy(f, f->imap, dst, 0);
    assert_counts(rep, 1, 4, 1, 0);
    free(rep);
    walked_dir bk = walk_maildir(strchr(dst, ':') + 1);
    assert_int_equal(bk.n, 6);
    long k = walked_find_hash(&bk, news->hash);
    assert_true(k >= 0);
    assert_string_equal(bk.v[k].flags, "FS");
    walked_free(&bk);

    /* The folder recreated on the server: a new UIDVALIDITY, same mail.
     * Nothing is copied twice. */
    char *uidlist = mp_strf("%s/dovecot-uidlist", inbox);
    assert_int_equal(unlink(uidlist), 0);
    rep = run_copy(f, f->imap, dst, 0);
    assert_counts(rep, 0, 6, 0, 0);
    free(rep);
    bk = walk_maildir(strchr(dst, ':') + 1);
    assert_int_equal(bk.n, 6);
    walked_free(&bk);

    /* State lost: content identity again. */
    assert_int_equal(unlink(f->state), 0);
    rep = run_copy(f, f->imap, dst, 0);
    assert_counts(rep, 0, 6, 0, 0);
    free(rep);

    r = mp_run("verify", f->imap, dst, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    walked_free(&dv);
    free(uidlist);
    free(inbox);
    free(src_mbox);
    free(text);
    free(mbox);
    free(dst);
}

static void migration_imap_to_imap_in_passes(void **state)
{
    fixture *f = *state;
    load_sample(f);
    char *bob = mp_dovecot_url(f->dc, "imap", "bob");
    char *rep = run_copy(f, f->imap, bob, 0);
    assert_counts(rep, 5, 0, 0, 0);
    free(rep);
    /* In MULTIAPPEND batches: fewer commands than messages. */
    int appends = mp_dovecot_count_commands(f->dc, "bob", "APPEND");
    assert_true(appends >= 1 && appends <= 5);
    rep = run_copy(f, f->imap, bob, 0);
    assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    assert_int_equal(mp_dovecot_count_commands(f->dc, "bob", "APPEND"),
                     appends); /* nothing sent again */
    mp_run_result r = mp_run("verify", f->imap, bob, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(bob);
}

/* --automap: a source's special folders land in the destination folders of
 * the same special use (RFC 6154), whatever they are called. */
static void automap_puts_special_folders_where_the_server_has_them(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("maildir:%s/old", f->dir);
    const char *maps[] = {"INBOX=Sent Items", "INBOX=Deleted Items", NULL};
    for (const char **m = maps; *m; m++) {
        mp_run_result r = mp_run("copy", "mbox:" SAMPLE, src, "--map", *m,
                                 "--no-state", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
    }
    /* Bob's server has \Sent and \Trash folders named Sent and Trash. */
    char *bob = mp_dovecot_url(f->dc, "imap", "bob");
    const char *seed[] = {"INBOX=Sent", "INBOX=Trash", NULL};
    for (const char **m = seed; *m; m++) {
        mp_run_result r =
            mp_run("copy", "mbox:" SAMPLE, bob, "--map", *m, "--include",
                   "INBOX", "--no-state", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
    }
    char *rep = sync_copy(src, bob, f->state, f->report, 0, "--automap", NULL);
    /* The sample's 5 messages are already in Sent and Trash: found there. */
    sync_assert_counts(rep, 0, 10, 0, 0);
    free(rep);
    char *root = mp_dovecot_maildir(f->dc, "bob");
    char *sent = mp_strf("%s/.Sent", root), *trash = mp_strf("%s/.Trash", root);
    char *items = mp_strf("%s/.Sent Items", root);
    assert_int_equal(sync_count_messages(sent), 5);
    assert_int_equal(sync_count_messages(trash), 5);
    assert_false(mp_file_exists(items));
    /* Without --automap the names are kept. */
    assert_int_equal(unlink(f->state), 0);
    rep = sync_copy(src, bob, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 10, 0, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(items), 5);
    free(root);
    free(sent);
    free(trash);
    free(items);
    free(bob);
    free(src);
}

/* An encrypted archive restored into an IMAP account: every message, with
 * its flags and date, and verify agrees. */
static void archive_restores_into_imap(void **state)
{
    fixture *f = *state;
    char *key = mp_strf("%s/key.txt", f->dir);
    char *keygen = mp_strf("age-keygen -o '%s' 2>&1", key);
    FILE *p = popen(keygen, "r");
    char line[256] = "", recipient[128] = "";
    while (p && fgets(line, sizeof line, p))
        sscanf(line, "Public key: %127s", recipient);
    assert_non_null(p);
    assert_int_equal(pclose(p), 0);
    assert_true(strncmp(recipient, "age1", 4) == 0);
    char *archive =
        mp_strf("targz:%s/backup.tar.gz.age?recipient=%s", f->dir, recipient);
    mp_run_result r = mp_run("copy", "mbox:" SAMPLE, archive, "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    char *restore =
        mp_strf("targz:%s/backup.tar.gz.age?identity=%s", f->dir, key);
    char *rep = sync_copy(restore, f->imap, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 5, 0, 0, 0);
    free(rep);
    r = mp_run("verify", "mbox:" SAMPLE, f->imap, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 5 messages");
    mp_run_free(&r);
    r = mp_run("verify", restore, f->imap, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(key);
    free(keygen);
    free(archive);
    free(restore);
}

/* A password is never printed, logged, reported or kept in the state,
 * whichever way it was given and whether the login works or not. */
static void secrets_stay_out_of_output_reports_and_state(void **state)
{
    fixture *f = *state;
    const char *pw = "Pa55-w0rd-Zx9q";
    mp_dovecot_add_user(f->dc, "carol", pw);
    char *dst = mp_strf("maildir:%s/carol", f->dir);
    char *ways[3];
    ways[0] = mp_dovecot_url(f->dc, "imap", "carol"); /* password_file= */
    ways[1] = mp_strf("imap://carol:%s@127.0.0.1:%d?tls=none", pw,
                      mp_dovecot_port(f->dc));
    setenv("MP_TEST_PW", pw, 1);
    ways[2] =
        mp_strf("imap://carol@127.0.0.1:%d?tls=none&password_env=MP_TEST_PW",
                mp_dovecot_port(f->dc));
    for (int i = 0; i < 3; i++) {
        mp_run_result r = mp_run("copy", ways[i], dst, "--state", f->state,
                                 "--report", f->report, "-vv", NULL);
        assert_int_equal(r.exit_code, 0);
        assert_null(strstr(r.out, pw));
        assert_null(strstr(r.err, pw));
        if (i == 1)
            assert_contains(r.err, "can be seen by other users");
        mp_run_free(&r);
    }
    /* A refused login names the account, not the password. */
    mp_dovecot_add_user(f->dc, "carol", "changed-on-the-server");
    mp_run_result r = mp_run("copy", ways[1], dst, "-vv", NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "login refused for carol");
    assert_null(strstr(r.err, pw));
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    assert_null(strstr(rep, pw));
    free(rep);
    size_t len;
    char *db = mp_read_file(f->state, &len);
    assert_null(memmem(db, len, pw, strlen(pw)));
    free(db);
    unsetenv("MP_TEST_PW");
    for (int i = 0; i < 3; i++)
        free(ways[i]);
    free(dst);
}

static void kill_nine_into_imap_then_resume(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    char *inbox = mp_dovecot_maildir(f->dc, "alice");
    const size_t total = 3900;
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("kill -9 into IMAP, seed %u\n", seed);
    int killed = 0;
    for (int trial = 0; trial < 3; trial++) {
        size_t before = sync_count_messages(inbox);
        size_t target = before + 1 +
                        (size_t)((total - before - 1) *
                                 (0.05 + 0.5 * rand() / (double)RAND_MAX));
        int k = sync_copy_killed_at(src, f->imap, f->state, inbox, target);
        killed += k;
        printf("  trial %d: %s at %zu of %zu (aimed at %zu)\n", trial,
               k ? "killed" : "had finished", sync_count_messages(inbox), total,
               target);
    }
    assert_true(killed >= 3);
    /* The state lost after a kill (the tester's case, issue 13): the run
     * without it waits for the killed run's last appends as the state's
     * crash record would have it wait (the destination lock tells), so it
     * finds them stored instead of storing them again. */
    size_t before = sync_count_messages(inbox);
    int k = sync_copy_killed_at(src, f->imap, f->state, inbox,
                                before + (total - before) / 3);
    printf("  state dropped after a kill: %s at %zu\n",
           k ? "killed" : "had finished", sync_count_messages(inbox));
    unlink(f->state);
    mp_run_result r0 = mp_run("copy", src, f->imap, "--no-state", "-v", NULL);
    assert_int_equal(r0.exit_code, 0);
    if (k)
        assert_contains(r0.err, "was interrupted; waiting 2 s for the "
                                "destination to settle");
    mp_run_free(&r0);
    char *rep = run_copy(f, src, f->imap, 0);
    free(rep);
    assert_int_equal(sync_count_messages(inbox), total);
    /* Exactly the source's messages: verify pairs every one, and there is
     * nothing extra. */
    mp_run_result r = mp_run("verify", src, f->imap, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "0 missing, 0 different, 0 with other flags, 0 "
                           "unreadable, 0 duplicated, 0 extra");
    mp_run_free(&r);
    free(src);
    free(inbox);
}

/* 13: copy notices at once a message the server stored altered (Dovecot
 * stores NUL as 0x80): a warning naming it and the kind, "altered" in the
 * report; the next run finds it present (never copied again) and verify
 * reports it as different, naming the kind. */
static void a_message_the_server_alters_is_reported(void **state)
{
    fixture *f = *state;
    char *root = mp_strf("%s/nul", f->dir);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root);
    static const char with_nul[] = "From: a@example.org\nSubject: nul\n"
                                   "Message-ID: <nul@example.org>\n\n"
                                   "before\0after\n";
    char *p1 = mp_strf("%s/cur/1709542801.nul.host:2,S", root);
    mp_write_file(p1, with_nul, sizeof with_nul - 1);
    static const char clean[] = "From: a@example.org\nSubject: clean\n"
                                "Message-ID: <clean@example.org>\n\nclean\n";
    char *p2 = mp_strf("%s/cur/1709542802.clean.host:2,S", root);
    mp_write_file(p2, clean, sizeof clean - 1);
    char *src = mp_strf("maildir:%s", root);
    mp_run_result r = mp_run("copy", src, f->imap, "--state", f->state,
                             "--report", f->report, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "the destination stored message "
                           "<nul@example.org> altered (bytes a server "
                           "replaces");
    assert_null(strstr(r.err, "<clean@example.org> altered"));
    assert_contains(r.err, "stored altered by the destination 1");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 2, 0, 0, 0);
    assert_contains(rep, "\"altered\": 1,");
    assert_contains(rep, "\"altered_messages\": [\n  {\"folder\": \"INBOX\", "
                         "\"message\": \"<nul@example.org>\"");
    free(rep);
    /* With the state lost too, the altered copy is found, not re-sent. */
    assert_int_equal(unlink(f->state), 0);
    rep = run_copy(f, src, f->imap, 0);
    sync_assert_counts(rep, 0, 2, 0, 0);
    free(rep);
    r = mp_run("verify", src, f->imap, NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "different    INBOX");
    assert_contains(r.out, "bytes a server replaces");
    assert_contains(r.err, "0 missing, 1 different");
    mp_run_free(&r);
    free(p1);
    free(p2);
    free(src);
    free(root);
}

/* 8.5: a message without Message-ID with a NUL in its header (Dovecot
 * stores it as 0x80, so the stored header differs): runs that cannot use
 * the state find the altered copy instead of copying it once per run. */
static void an_altered_header_is_found_without_state(void **state)
{
    fixture *f = *state;
    char *root = mp_strf("%s/nulhdr", f->dir);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root);
    static const char text[] = "From: a@example.org\nSubject: a\0b\n"
                               "Date: Mon, 4 Mar 2024 09:00:00 +0000\n\n"
                               "body\n";
    char *p1 = mp_strf("%s/cur/1709542801.nulhdr.host:2,S", root);
    mp_write_file(p1, text, sizeof text - 1);
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_dovecot_url(f->dc, "imap", "bob");
    for (int run = 0; run < 3; run++) {
        char *rep =
            sync_copy(src, dst, f->state, f->report, 0, "--no-state", NULL);
        sync_assert_counts(rep, run == 0, run > 0, 0, 0);
        free(rep);
    }
    char *inbox = mp_dovecot_maildir(f->dc, "bob");
    assert_int_equal(sync_count_messages(inbox), 1);
    free(inbox);
    free(dst);
    free(src);
    free(p1);
    free(root);
}

/* 13.4: one account reached two ways at once (the server's STARTTLS port
 * and its TLS port, another host name, another --state, even another
 * $HOME and $XDG_STATE_HOME): the second run waits for the first instead
 * of storing every message a second time (the tester's 3,691 duplicates),
 * and then finds them all present. Another account of the same server is
 * not held up. */
static void one_account_through_two_ports_is_copied_once(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    char *inbox = mp_dovecot_maildir(f->dc, "alice");
    char *starttls = mp_dovecot_url(f->dc, "starttls", "alice");
    char *tls = mp_dovecot_url(f->dc, "imaps", "alice");
    char *other_home = mp_strf("%s/other-home", f->dir);
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    /* At most 1,000 a second: still copying while the others start. */
    char *argv[] = {(char *)bin,
                    "copy",
                    src,
                    starttls,
                    "--state",
                    f->state,
                    "--max-messages-per-second",
                    "1000",
                    "-q",
                    NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
    while (sync_count_messages(inbox) < 20)
        usleep(2000);

    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", other_home, 1);
    setenv("XDG_STATE_HOME", other_home, 1);
    char *other_state = mp_strf("%s/other.sqlite", f->dir);
    char *bob = mp_dovecot_url(f->dc, "imaps", "bob");
    mp_run_result rb =
        mp_run("copy", "mbox:" SAMPLE, bob, "--state", other_state, NULL);
    assert_int_equal(rb.exit_code, 0);
    assert_null(strstr(rb.err, "waiting"));
    mp_run_free(&rb);
    unlink(other_state);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still copying */

    mp_run_result r = mp_run("copy", src, tls, "--state", other_state,
                             "--report", f->report, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "is copying into the same destination as");
    assert_contains(r.err, "waiting for it to finish");
    assert_null(strstr(r.err, "secret"));
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *rep = mp_read_file(f->report, NULL);
    assert_non_null(rep);
    sync_assert_counts(rep, 0, 3900, 0, 0);
    free(rep);
    mp_run_free(&r);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    setenv("XDG_STATE_HOME", f->dir, 1);
    free(saved_home);

    assert_int_equal(sync_count_messages(inbox), 3900);
    r = mp_run("verify", src, tls, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "0 duplicated");
    mp_run_free(&r);
    free(bob);
    free(other_state);
    free(other_home);
    free(tls);
    free(starttls);
    free(inbox);
    free(src);
}

/* One message FOLDER of USER on D, with SUBJECT. */
static void append_to(mp_dovecot *d, const char *user, const char *folder,
                      const char *subject)
{
    char *msg = mp_strf("Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n"
                        "%s\r\n",
                        subject, subject, subject);
    char *cmd = mp_strf("APPEND \"%s\" {%zu+}\r\n%s", folder, strlen(msg), msg);
    free(mp_dovecot_command(d, user, cmd));
    free(cmd);
    free(msg);
}

/* 13.3: a folder listed under a name made to avoid a clash ("GPR/GPA" on
 * a '.' server is "GPR_GPA~2" beside a real "GPR_GPA") keeps its
 * destination folder once the real one is gone and it is listed as
 * "GPR_GPA": the state knows it by the server's name for it. It used to
 * be paired with the destination "GPR_GPA" and copied there again (its
 * messages then stored twice, verify passing). */
static void a_folder_whose_listed_name_changes_keeps_its_copies(void **state)
{
    fixture *f = *state;
    mp_dovecot_opts o = {.separator = '.', .listescape = 1};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "gpr", "pw");
    free(mp_dovecot_command(d, "gpr", "CREATE \"GPR/GPA\""));
    free(mp_dovecot_command(d, "gpr", "CREATE \"GPR_GPA\""));
    append_to(d, "gpr", "GPR/GPA", "b");
    append_to(d, "gpr", "GPR/GPA", "c");
    append_to(d, "gpr", "GPR_GPA", "a");
    char *src = mp_dovecot_url(d, "imap", "gpr");
    char *root = mp_strf("%s/gpr-md", f->dir);
    char *dst = mp_strf("maildir:%s", root);
    char *real = mp_strf("%s/.GPR_GPA", root);
    char *clash = mp_strf("%s/.GPR_GPA~2", root);
    char *rep = run_copy(f, src, dst, 0);
    sync_assert_counts(rep, 3, 0, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(real), 1);
    assert_int_equal(sync_count_messages(clash), 2);

    free(mp_dovecot_command(d, "gpr", "DELETE \"GPR_GPA\""));
    rep = run_copy(f, src, dst, 0);
    sync_assert_counts(rep, 0, 2, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(real), 1);
    assert_int_equal(sync_count_messages(clash), 2);
    mp_run_result r = mp_run("verify", src, dst, "--state", f->state, NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d\n%s%s", r.exit_code, r.out, r.err);
    mp_run_free(&r);
    /* The message of the folder that is gone goes with --delete; the
     * others stay where they are. */
    rep = run_copy(f, src, dst, 0);
    free(rep);
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", NULL);
    assert_contains(rep, "\"removed\": 1");
    sync_assert_counts(rep, 0, 2, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(real), 0);
    assert_int_equal(sync_count_messages(clash), 2);
    r = mp_run("verify", src, dst, "--state", f->state, NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d\n%s%s", r.exit_code, r.out, r.err);
    mp_run_free(&r);
    free(clash);
    free(real);
    free(dst);
    free(root);
    free(src);
    mp_dovecot_stop(d);
}

/* 13.3, the other way round (a fresh tester's case): "GPR/GPA" alone is
 * listed, and copied, as "GPR_GPA"; then a real "GPR_GPA" appears, takes
 * that name, and "GPR/GPA" becomes "GPR_GPA~2". Both now fill the
 * destination "GPR_GPA". The pair recorded for "GPR/GPA" stays its own:
 * a pass over the real folder alone with --delete removed "GPR/GPA"'s 15
 * copies (its rows taken for orphans of a reset folder), and a plain
 * --delete pass removed and copied them again. */
static void a_name_taken_by_a_new_folder_keeps_the_old_ones_copies(void **state)
{
    fixture *f = *state;
    mp_dovecot_opts o = {.separator = '.', .listescape = 1};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "gpr2", "pw");
    free(mp_dovecot_command(d, "gpr2", "CREATE \"GPR/GPA\""));
    append_to(d, "gpr2", "GPR/GPA", "a1");
    append_to(d, "gpr2", "GPR/GPA", "a2");
    append_to(d, "gpr2", "GPR/GPA", "a3");
    char *src = mp_dovecot_url(d, "imap", "gpr2");
    char *root = mp_strf("%s/gpr2-md", f->dir);
    char *dst = mp_strf("maildir:%s", root);
    char *folder = mp_strf("%s/.GPR_GPA", root);
    char *rep = run_copy(f, src, dst, 0);
    sync_assert_counts(rep, 3, 0, 0, 0);
    free(rep);
    free(mp_dovecot_command(d, "gpr2", "CREATE \"GPR_GPA\""));
    append_to(d, "gpr2", "GPR_GPA", "b1");
    append_to(d, "gpr2", "GPR_GPA", "b2");
    rep = run_copy(f, src, dst, 0);
    sync_assert_counts(rep, 2, 3, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(folder), 5);

    const char *runs[][3] = {{"--include", "GPR_GPA", NULL},
                             {"--delete", NULL, NULL}};
    for (size_t i = 0; i < 2; i++) {
        char *planned = mp_strf("%s/planned-%zu.json", f->dir, i);
        mp_run_result r = mp_run("copy", src, dst, "--state", f->state,
                                 "--delete", "--dry-run", "--report", planned,
                                 runs[i][0], runs[i][1], NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        char *plan = mp_read_file(planned, NULL);
        assert_contains(plan, "\"removed\": 0");
        assert_contains(plan, "\"copied\": 0,");
        free(plan);
        free(planned);
        rep = sync_copy(src, dst, f->state, f->report, 0, "--delete",
                        runs[i][0], runs[i][1], NULL);
        assert_contains(rep, "\"removed\": 0");
        assert_contains(rep, "{\"copied\": 0,");
        free(rep);
        assert_int_equal(sync_count_messages(folder), 5);
    }
    mp_run_result r = mp_run("verify", src, dst, "--state", f->state, NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d\n%s%s", r.exit_code, r.out, r.err);
    mp_run_free(&r);
    free(folder);
    free(dst);
    free(root);
    free(src);
    mp_dovecot_stop(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(imap_backup_is_incremental, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(migration_imap_to_imap_in_passes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            automap_puts_special_folders_where_the_server_has_them, setup,
            teardown),
        cmocka_unit_test_setup_teardown(archive_restores_into_imap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            an_altered_header_is_found_without_state, setup, teardown),
        cmocka_unit_test_setup_teardown(
            secrets_stay_out_of_output_reports_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(kill_nine_into_imap_then_resume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_message_the_server_alters_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            one_account_through_two_ports_is_copied_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_folder_whose_listed_name_changes_keeps_its_copies, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            a_name_taken_by_a_new_folder_keeps_the_old_ones_copies, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
