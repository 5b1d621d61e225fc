/* Issue 12's table of error messages, local endpoints only: each test runs
 * the real binary on what a new user gets wrong and checks the exit code
 * and that the text names what failed and why. */
#include "../maildir/mdtest.h"
#include "../targz/pty_run.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;
    char *src; /* a Maildir++ tree: INBOX with one message, folder Foo */
    char *src_url;
} fixture;

static void write_msg(const char *path, const char *id)
{
    char *text = mp_strf("From: a@example.org\nMessage-ID: <%s@example.org>\n"
                         "Subject: %s\n\nbody of %s\n",
                         id, id, id);
    mp_write_file(path, text, strlen(text));
    free(text);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = mp_tmpdir("cli-errors");
    f->src = mp_strf("%s/src", f->dir);
    assert_int_equal(mp_sh("mkdir -p '%1$s/cur' '%1$s/new' '%1$s/tmp' "
                           "'%1$s/.Foo/cur' '%1$s/.Foo/new' '%1$s/.Foo/tmp'",
                           f->src),
                     0);
    char *p = mp_strf("%s/cur/1700000000.a.host:2,S", f->src);
    write_msg(p, "one");
    free(p);
    p = mp_strf("%s/.Foo/cur/1700000001.b.host:2,", f->src);
    write_msg(p, "two");
    free(p);
    f->src_url = mp_strf("maildir:%s", f->src);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->src);
    free(f->src_url);
    free(f);
    return 0;
}

/* A TCP socket listening on a free loopback port: a connection attempt
 * completes in the kernel even when nobody accepts, so a test can tell
 * afterwards whether mailport connected at all. */
static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int connections_made(int fd)
{
    int n = 0, c;
    while ((c = accept(fd, NULL, NULL)) >= 0) {
        close(c);
        n++;
    }
    assert_int_equal(errno, EAGAIN);
    return n;
}

/* Row: a typo in a URL parameter is refused before anything is opened,
 * for every plugin, naming the closest known parameter. */
static void unknown_parameters_named_with_suggestion(void **state)
{
    fixture *f = *state;
    int port;
    int lfd = listen_local(&port);
    setenv("MP_TEST_PW", "not-used", 1);
    char *dst = mp_strf("maildir:%s/dst", f->dir);
    char *dst_dir = mp_strf("%s/dst", f->dir);

    /* imap://: the typo'd password_file, with a password from elsewhere
     * so that the old code got as far as connecting. */
    char *imap = mp_strf("imap://alice@127.0.0.1:%d?tls=none&password_env="
                         "MP_TEST_PW&pasword_file=/run/pw",
                         port);
    mp_run_result r = mp_run("copy", imap, dst, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"pasword_file\" in imap://");
    assert_contains(r.err, "did you mean \"password_file\"?");
    mp_run_free(&r);
    /* imaps:// as the destination: found before the source is read. */
    char *imaps = mp_strf("imaps://alice@127.0.0.1:%d?password_env=MP_TEST_PW"
                          "&ca_file=/etc/ca.pem",
                          port);
    r = mp_run("copy", f->src_url, imaps, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"ca_file\" in imaps://");
    assert_contains(r.err, "did you mean \"cafile\"?");
    mp_run_free(&r);
    /* A typo in the destination stops an IMAP source from connecting. */
    char *good_imap = mp_strf(
        "imap://alice@127.0.0.1:%d?tls=none&password_env=MP_TEST_PW", port);
    char *bad_dst = mp_strf("%s?layuot=fs", dst);
    r = mp_run("copy", good_imap, bad_dst, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"layuot\" in maildir:");
    assert_contains(r.err, "did you mean \"layout\"?");
    mp_run_free(&r);
    assert_int_equal(connections_made(lfd), 0);
    assert_false(mp_file_exists(dst_dir)); /* nothing created either */

    /* maildir, mbox, targz; copy, verify and list alike. */
    char *md = mp_strf("%s?layot=fs", f->src_url);
    r = mp_run("list", md, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"layot\"");
    assert_contains(r.err, "did you mean \"layout\"?");
    mp_run_free(&r);
    char *mbox = mp_strf("mbox:%s/out.mbox?fromat=mboxo", f->dir);
    r = mp_run("copy", f->src_url, mbox, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "did you mean \"format\"?");
    mp_run_free(&r);
    char *tgz = mp_strf("targz:%s/a.tar.gz.age?recipeint=age1xyz", f->dir);
    r = mp_run("copy", f->src_url, tgz, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"recipeint\" in targz:");
    assert_contains(r.err, "did you mean \"recipient\"?");
    mp_run_free(&r);
    r = mp_run("verify", f->src_url, tgz, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "did you mean \"recipient\"?");
    mp_run_free(&r);
    /* Nothing close: the known names are listed instead. */
    char *far = mp_strf("%s?compression=zstd", f->src_url);
    r = mp_run("list", far, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"compression\"");
    assert_contains(r.err, "maildir: URLs take layout");
    assert_null(strstr(r.err, "did you mean"));
    mp_run_free(&r);

    close(lfd);
    free(imap);
    free(imaps);
    free(good_imap);
    free(bad_dst);
    free(md);
    free(mbox);
    free(tgz);
    free(far);
    free(dst);
    free(dst_dir);
}

/* On a terminal, the typo is reported before the password prompt. */
static void unknown_parameter_before_password_prompt(void **state)
{
    fixture *f = *state;
    int port;
    int lfd = listen_local(&port);
    char *imap = mp_strf(
        "imap://alice@127.0.0.1:%d?tls=none&pasword_file=/run/pw", port);
    char *dst = mp_strf("maildir:%s/pty-dst", f->dir);
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    const char *argv[] = {bin, "copy", imap, dst, NULL};
    char transcript[8192];
    int prompts = 0;
    int rc = pty_run(argv, NULL, &prompts, transcript, sizeof transcript);
    assert_int_equal(rc, 2);
    assert_contains(transcript, "did you mean \"password_file\"?");
    assert_null(strstr(transcript, "Password for"));
    assert_int_equal(connections_made(lfd), 0);
    close(lfd);
    free(imap);
    free(dst);
}

/* Row: a password file that cannot be read says why and names it. */
static void password_file_errors_say_why(void **state)
{
    fixture *f = *state;
    char *dst = mp_strf("maildir:%s/pw-dst", f->dir);
    /* Port 9 (discard) is never reached: the password comes first. */
    char *missing = mp_strf("%s/no-such-pw", f->dir);
    char *url =
        mp_strf("imap://alice@127.0.0.1:9?tls=none&password_file=%s", missing);
    mp_run_result r = mp_run("copy", url, dst, NULL);
    assert_int_equal(r.exit_code, 2);
    char *want = mp_strf("cannot read password file %s: No such file or "
                         "directory",
                         missing);
    assert_contains(r.err, want);
    mp_run_free(&r);
    free(want);
    free(url);

    url = mp_strf("imap://alice@127.0.0.1:9?tls=none&password_file=%s", f->dir);
    r = mp_run("copy", url, dst, NULL);
    assert_int_equal(r.exit_code, 2);
    want = mp_strf("cannot read password file %s: it is a directory", f->dir);
    assert_contains(r.err, want);
    mp_run_free(&r);
    free(want);
    free(url);

    if (geteuid() == 0) {
        /* root reads any file whatever its mode: nothing to test. */
        print_message("skipping the permission-denied password file: "
                      "running as root\n");
    } else {
        char *locked = mp_strf("%s/locked-pw", f->dir);
        mp_write_file(locked, "x\n", 2);
        chmod(locked, 0);
        url = mp_strf("imap://alice@127.0.0.1:9?tls=none&password_file=%s",
                      locked);
        r = mp_run("copy", url, dst, NULL);
        assert_int_equal(r.exit_code, 2);
        want =
            mp_strf("cannot read password file %s: Permission denied", locked);
        assert_contains(r.err, want);
        mp_run_free(&r);
        free(want);
        free(url);
        free(locked);
    }
    free(missing);
    free(dst);
}

/* Row: a missing Maildir source is an endpoint that cannot be opened
 * (exit 3), named with the reason. */
static void missing_source_exits_3(void **state)
{
    fixture *f = *state;
    char *gone = mp_strf("maildir:%s/no-such-maildir", f->dir);
    char *dst = mp_strf("maildir:%s/gone-dst", f->dir);
    char *want = mp_strf("cannot open directory %s/no-such-maildir: No such "
                         "file or directory",
                         f->dir);
    const char *const cmds[][4] = {
        {"copy", gone, dst, NULL},
        {"verify", gone, dst, NULL},
        {"verify", gone, NULL, NULL},
        {"list", gone, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        mp_run_result r = mp_runv(cmds[i]);
        if (r.exit_code != 3)
            fail_msg("%s: exit %d, not 3:\n%s", cmds[i][0], r.exit_code, r.err);
        assert_contains(r.err, want);
        mp_run_free(&r);
    }
    free(gone);
    free(dst);
    free(want);
}

/* An option of another command is refused before anything is opened,
 * naming the commands that take it; the same options where they belong
 * run. */
static void another_commands_option_is_refused(void **state)
{
    fixture *f = *state;
    char *dst = mp_strf("maildir:%s/opt-dst", f->dir);
    const struct {
        const char *argv[6];
        const char *want;
    } cases[] = {
        {{"list", "--jobs", "3", f->src_url, NULL},
         "mailport list: --jobs is not an option of list (copy and batch take "
         "it)\nTry 'mailport list --help'."},
        {{"list", "--jobs=3", f->src_url, NULL},
         "--jobs is not an option of list"},
        {{"verify", f->src_url, dst, "--delete", NULL},
         "mailport verify: --delete is not an option of verify (copy and "
         "batch take it)"},
        {{"verify", "--dry-run", f->src_url, dst, NULL},
         "--dry-run is not an option of verify"},
        {{"copy", "--shard", "0/2", f->src_url, dst, NULL},
         "mailport copy: --shard is not an option of copy (batch takes it)"},
        {{"list", "--state", "x", f->src_url, NULL},
         "--state is not an option of list (copy, verify and batch take it)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mp_run_result r = mp_runv(cases[i].argv);
        if (r.exit_code != 2)
            fail_msg("%s: exit %d, not 2:\n%s", cases[i].argv[0], r.exit_code,
                     r.err);
        assert_contains(r.err, cases[i].want);
        mp_run_free(&r);
    }
    struct stat sb;
    char *dpath = mp_strf("%s/opt-dst", f->dir);
    assert_int_equal(stat(dpath, &sb), -1); /* nothing was opened */
    mp_run_result r = mp_run("list", "-q", "--include", "Foo", f->src_url, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "Foo");
    mp_run_free(&r);
    r = mp_run("copy", "--jobs", "2", "-q", f->src_url, dst, "--no-state",
               NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("verify", "--no-state", "-q", f->src_url, dst, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(dpath);
    free(dst);
}

/* The fresh tester's notes (issue 13): a run refused before it began
 * prints no line of zero counts, --delete without a sync state says it
 * removes nothing, and one folder is "1 folder". */
static void refused_runs_print_no_summary(void **state)
{
    fixture *f = *state;
    char *dst = mp_strf("maildir:%s/sum-dst", f->dir);
    mp_run_result r = mp_run("copy", "", dst, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "is not an endpoint URL");
    assert_null(strstr(r.err, "copied 0"));
    mp_run_free(&r);
    r = mp_run("copy", f->src_url, dst, "--no-state", "--delete", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "--delete removes only messages that an earlier "
                           "run recorded in the sync state, and --no-state "
                           "keeps none; this run removes nothing");
    assert_contains(r.err, "copied 2,");
    mp_run_free(&r);
    free(dst);
}

/* Row: a folder whose cur/ cannot be opened is named by its real path;
 * cur/ replaced by a plain file fails for root too. */
static void unreadable_cur_names_real_path(void **state)
{
    fixture *f = *state;
    assert_int_equal(mp_sh("mv '%1$s/.Foo/cur/'* '%1$s/.Foo/new/' && rmdir "
                           "'%1$s/.Foo/cur' && : > '%1$s/.Foo/cur'",
                           f->src),
                     0);
    char *dst = mp_strf("maildir:%s/cur-dst", f->dir);
    mp_run_result r = mp_run("copy", f->src_url, dst, "--no-state", NULL);
    assert_int_equal(r.exit_code, 1);
    char *want = mp_strf("folder \"Foo\": cannot open %s/.Foo/cur: Not a "
                         "directory",
                         f->src);
    assert_contains(r.err, want);
    mp_run_free(&r);
    r = mp_run("list", f->src_url, NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.err, want);
    mp_run_free(&r);
    free(want);
    free(dst);
}

/* Row: a message file that cannot be read gives the real reason, not "no
 * such message". A file turned into a symlink loop after the scan fails
 * for root as well (ELOOP), so this runs through the plugin's ops. */
static void unreadable_message_real_reason(void **state)
{
    fixture *f = *state;
    md_env env;
    assert_int_equal(md_env_open(&env, f->src_url, 0), MP_OK);
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    const mp_source_ops *so = env.plugin->source;
    assert_int_equal(so->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    md_msgs msgs;
    assert_int_equal(md_scan_all(&env, folder, 0, &msgs), MP_OK);
    assert_int_equal(msgs.n, 1);
    char *file = mp_strf("%s/cur/1700000000.a.host:2,S", f->src);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(symlink("1700000000.a.host:2,S", file), 0);
    size_t len;
    mp_status fst;
    char *got = md_fetch_one(&env, folder, msgs.v[0].key, &len, &fst);
    assert_int_equal(fst, MP_MSG_BAD);
    assert_int_equal(env.host.err_kind, MP_ERR_IO);
    char *want =
        mp_strf("cannot read %s: Too many levels of symbolic links", file);
    assert_contains(env.host.err, want);
    assert_null(strstr(env.host.err, "no such message"));
    free(got);
    free(want);
    md_msgs_free(&msgs);
    so->close_folder(folder);
    md_env_close(&env);
    unlink(file);
    write_msg(file, "one");

    if (geteuid() == 0) {
        print_message("skipping the mode-000 message through copy: running "
                      "as root, which reads it anyway\n");
    } else {
        chmod(file, 0);
        char *dst = mp_strf("maildir:%s/msg-dst", f->dir);
        mp_run_result r = mp_run("copy", f->src_url, dst, "--no-state", NULL);
        assert_int_equal(r.exit_code, 1);
        assert_contains(r.err, "Permission denied");
        assert_null(strstr(r.err, "no such message"));
        mp_run_free(&r);
        chmod(file, 0600);
        free(dst);
    }
    free(file);
}

/* Row: an --include pattern that matches no folder is a warning naming it
 * and the folders there are, on stderr and in the report; exit 0, and no
 * destination is created for nothing. */
static void include_matching_nothing_warns(void **state)
{
    fixture *f = *state;
    char *dst_dir = mp_strf("%s/inc-dst", f->dir);
    char *dst = mp_strf("maildir:%s", dst_dir);
    char *report = mp_strf("%s/inc-report.json", f->dir);
    const char *want = "--include \"Sentt\" matched no folder; folders are: "
                       "INBOX, Foo";
    mp_run_result r = mp_run("copy", f->src_url, dst, "--include", "Sentt",
                             "--report", report, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, want);
    mp_run_free(&r);
    assert_false(mp_file_exists(dst_dir));
    char *rep = mp_read_file(report, NULL);
    assert_contains(rep, "\"warnings\": [\"--include \\\"Sentt\\\" matched "
                         "no folder");
    free(rep);

    /* One pattern matches, one does not: the first is copied, the second
     * named alone. */
    r = mp_run("copy", f->src_url, dst, "--include", "Foo", "--include",
               "Sentt", "--no-state", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, want);
    assert_contains(r.err, "copied 1,");
    mp_run_free(&r);
    r = mp_run("verify", f->src_url, dst, "--include", "Sentt", "--report",
               report, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, want);
    mp_run_free(&r);
    rep = mp_read_file(report, NULL);
    assert_contains(rep, "\"warnings\": [\"--include \\\"Sentt\\\" matched "
                         "no folder");
    free(rep);
    /* A pattern that matches says nothing. */
    r = mp_run("verify", f->src_url, dst, "--include", "Fo*", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_null(strstr(r.err, "matched no folder"));
    mp_run_free(&r);
    free(dst_dir);
    free(dst);
    free(report);
}

/* Row: a native job line whose URL holds a password, in a job file others
 * can read, is refused unless --force, as imapsync-style lines are; the
 * password is never shown, and each job is announced by its endpoints. */
static void batch_password_in_url_needs_private_file(void **state)
{
    fixture *f = *state;
    char *jobs = mp_strf("%s/jobs", f->dir);
    /* Port 9 on loopback refuses: the job, once run, fails fast (exit 3). */
    char *text = mp_strf("%s 'imaps://alice:s3cret@127.0.0.1:9' --no-state\n",
                         f->src_url);
    mp_write_file(jobs, text, strlen(text));
    chmod(jobs, 0644);
    mp_run_result r = mp_run("batch", jobs, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "holds passwords and is readable by other users");
    assert_contains(r.err, "batch ran 0 jobs");
    assert_null(strstr(r.err, "s3cret"));
    mp_run_free(&r);
    r = mp_run("batch", jobs, "--force", NULL);
    assert_int_equal(r.exit_code, 3);
    char *announced = mp_strf("job 0 (line 1): %s -> "
                              "imaps://alice:***@127.0.0.1:9",
                              f->src_url);
    assert_contains(r.err, announced);
    assert_null(strstr(r.err, "s3cret"));
    mp_run_free(&r);
    chmod(jobs, 0600);
    r = mp_run("batch", jobs, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_null(strstr(r.err, "readable by other users"));
    mp_run_free(&r);
    /* Without a password in it, a readable job file is fine. */
    free(text);
    text = mp_strf("%s maildir:%s/batch-dst --no-state\n", f->src_url, f->dir);
    mp_write_file(jobs, text, strlen(text));
    chmod(jobs, 0644);
    r = mp_run("batch", jobs, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_null(strstr(r.err, "holds passwords"));
    mp_run_free(&r);
    free(announced);
    free(text);
    free(jobs);
}

/* Row: batch --report writes one report for the whole batch: every job
 * with its endpoints (passwords masked), exit status and copy report; and
 * a closing table. */
static void batch_report_covers_every_job(void **state)
{
    fixture *f = *state;
    char *jobs = mp_strf("%s/jobs-report", f->dir);
    char *report = mp_strf("%s/batch.json", f->dir);
    char *text = mp_strf("%1$s maildir:%2$s/b1 --no-state\n"
                         "maildir:%2$s/no-such maildir:%2$s/b2 --no-state\n"
                         "%1$s 'imaps://bob:s3cret@127.0.0.1:9' --no-state\n",
                         f->src_url, f->dir);
    mp_write_file(jobs, text, strlen(text));
    chmod(jobs, 0600);
    mp_run_result r = mp_run("batch", jobs, "--report", report, NULL);
    assert_int_equal(r.exit_code, 3);
    assert_contains(r.err, "JOB  ACCOUNT");
    assert_contains(r.err, "COPIED  PRESENT  FAILED EXIT");
    char *row = mp_strf("mailport: 1    maildir:%s/no-such", f->dir);
    assert_contains(r.err, row);
    assert_null(strstr(r.err, "s3cret"));
    mp_run_free(&r);
    char *rep = mp_read_file(report, NULL);
    assert_contains(rep, "{\"jobs\": [");
    char *j0 = mp_strf("{\"job\": 0, \"line\": 1, \"source\": \"%s\", "
                       "\"dest\": \"maildir:%s/b1\", \"exit\": 0,\n  "
                       "\"report\": {\"copied\": 2,",
                       f->src_url, f->dir);
    assert_contains(rep, j0);
    assert_contains(rep, "{\"job\": 1, \"line\": 2,");
    assert_contains(rep, "\"exit\": 3,");
    assert_contains(rep, "no-such: cannot open directory");
    assert_contains(rep, "\"dest\": \"imaps://bob:***@127.0.0.1:9\"");
    assert_contains(rep, "\n \"exit\": 3}\n");
    assert_null(strstr(rep, "s3cret"));
    /* Written under a temporary name, then put in place. */
    assert_int_equal(mp_sh("! ls '%s' | grep -q 'batch.json.tmp'", f->dir), 0);
    free(rep);
    free(row);
    free(j0);
    free(text);
    free(jobs);
    free(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            unknown_parameters_named_with_suggestion, setup, teardown),
        cmocka_unit_test_setup_teardown(
            unknown_parameter_before_password_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(password_file_errors_say_why, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_source_exits_3, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(another_commands_option_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(refused_runs_print_no_summary, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unreadable_cur_names_real_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unreadable_message_real_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(include_matching_nothing_warns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            batch_password_in_url_needs_private_file, setup, teardown),
        cmocka_unit_test_setup_teardown(batch_report_covers_every_job, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
