/* Subscriptions are migrated (issue 9.2), against a real Dovecot: the
 * destination subscribes INBOX and the source's subscribed folders under
 * their mapped names (IMAP LSUB / LIST RETURN (SUBSCRIBED) to SUBSCRIBE),
 * a Dovecot Maildir's "subscriptions" file is read and written in the
 * format Dovecot itself reads, re-runs add nothing twice, and an archive
 * keeps the file. */
#include "dovecot.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct fixture {
    mp_dovecot *dc;
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dc = mp_dovecot_start();
    mp_dovecot_add_users(f->dc, "alice", "a-pw", "bob", "b-pw", "carol", "c-pw",
                         "dave", "d-pw", "erin", "e-pw", "frank", "f-pw",
                         "ivan", "i-pw", "judy", "j-pw", "kim", "k-pw", NULL);
    f->dir = mp_tmpdir("subs");
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
    free(f);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* USER's subscriptions as Dovecot reports them (LSUB), sorted, one a
 * line. */
static char *lsub(fixture *f, const char *user)
{
    char *ans = mp_dovecot_command(f->dc, user, "LSUB \"\" \"*\"");
    char *names[64];
    size_t n = 0;
    for (char *p = ans; (p = strstr(p, "* LSUB ")); p++) {
        char *end = strstr(p, "\r\n");
        char *q = strchr(strchr(p, ')') + 1, ' ') + 1; /* the delimiter */
        q = strchr(q + 1, ' ') + 1;                    /* the name */
        size_t len = (size_t)(end - q);
        if (*q == '"') {
            q++;
            len -= 2;
        }
        assert_true(n < 64);
        names[n++] = strndup(q, len);
    }
    qsort(names, n, sizeof *names, cmp_str);
    char *out = strdup("");
    for (size_t i = 0; i < n; i++) {
        char *more = mp_strf("%s%s\n", out, names[i]);
        free(out);
        free(names[i]);
        out = more;
    }
    free(ans);
    return out;
}

static void imap(fixture *f, const char *user, const char *command)
{
    free(mp_dovecot_command(f->dc, user, command));
}

/* One message in FOLDER of USER. */
static void append_one(fixture *f, const char *user, const char *folder)
{
    const char *msg = "Subject: hello\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n";
    char *cmd = mp_strf("APPEND \"%s\" {%zu+}\r\n%s", folder, strlen(msg), msg);
    imap(f, user, cmd);
    free(cmd);
}

static char *copy(fixture *f, const char *src, const char *dst,
                  const char *extra)
{
    char *report = mp_strf("%s/report.json", f->dir);
    mp_run_result r = mp_run("copy", src, dst, "-q", "--report", report,
                             extra ? extra : "-q", NULL);
    if (r.exit_code != 0)
        fail_msg("copy %s %s: exit %d\n%s", src, dst, r.exit_code, r.err);
    mp_run_free(&r);
    char *text = mp_read_file(report, NULL);
    free(report);
    return text;
}

static void assert_subscribed_count(const char *report, int n)
{
    char *want = mp_strf("\"subscribed\": %d,", n);
    if (!strstr(report, want))
        fail_msg("expected %s in the report:\n%s", want, report);
    free(want);
}

/* Folders Work, Work/Projects, Archive, Lists and Entwürfe with mail;
 * Work/Projects, Archive and Entwürfe subscribed, INBOX not. */
static void make_source(fixture *f, const char *user)
{
    static const char *const folders[] = {"Work", "Work/Projects", "Archive",
                                          "Lists", "Entw&APw-rfe"};
    for (size_t i = 0; i < 5; i++) {
        char *cmd = mp_strf("CREATE \"%s\"", folders[i]);
        imap(f, user, cmd);
        free(cmd);
        append_one(f, user, folders[i]);
    }
    append_one(f, user, "INBOX");
    imap(f, user, "SUBSCRIBE \"Work/Projects\"");
    imap(f, user, "SUBSCRIBE \"Archive\"");
    imap(f, user, "SUBSCRIBE \"Entw&APw-rfe\"");
    char *had = lsub(f, user);
    assert_string_equal(had, "Archive\nEntw&APw-rfe\nWork/Projects\n");
    free(had);
}

static void imap_to_imap_copies_the_mapped_set_plus_inbox(void **state)
{
    fixture *f = *state;
    make_source(f, "alice");
    char *src = mp_dovecot_url(f->dc, "imap", "alice");
    char *dst = mp_dovecot_url(f->dc, "imap", "bob");
    char *empty = lsub(f, "bob");
    assert_string_equal(empty, ""); /* a fresh account subscribes nothing */
    free(empty);

    char *rep = copy(f, src, dst, "--map=Archive=Old/Archive");
    assert_subscribed_count(rep, 4);
    free(rep);
    char *got = lsub(f, "bob");
    assert_string_equal(got,
                        "Entw&APw-rfe\nINBOX\nOld/Archive\nWork/Projects\n");
    free(got);

    /* A re-run subscribes nothing again. */
    rep = copy(f, src, dst, "--map=Archive=Old/Archive");
    assert_subscribed_count(rep, 0);
    free(rep);
    got = lsub(f, "bob");
    assert_string_equal(got,
                        "Entw&APw-rfe\nINBOX\nOld/Archive\nWork/Projects\n");
    free(got);

    /* verify agrees; a subscription dropped in the destination is
     * listed, as information: the exit code stays 0. */
    mp_run_result v = mp_run("verify", src, dst, "--map=Archive=Old/Archive",
                             "--no-state", NULL);
    assert_int_equal(v.exit_code, 0);
    assert_null(strstr(v.out, "subscription"));
    mp_run_free(&v);
    imap(f, "bob", "UNSUBSCRIBE \"Old/Archive\"");
    imap(f, "bob", "SUBSCRIBE \"Lists\"");
    v = mp_run("verify", src, dst, "--map=Archive=Old/Archive", "--no-state",
               NULL);
    assert_int_equal(v.exit_code, 0);
    assert_non_null(strstr(v.out, "subscription Old/Archive  subscribed in "
                                  "the source, not in the destination\n"));
    assert_non_null(strstr(v.out, "subscription Lists  subscribed in the "
                                  "destination, not in the source\n"));
    assert_non_null(strstr(v.err, "2 folders subscribed differently"));
    mp_run_free(&v);

    /* A dry run into a fresh account names what it would subscribe and
     * subscribes nothing. */
    char *fresh = mp_dovecot_url(f->dc, "imap", "dave");
    mp_run_result r = mp_run("copy", src, fresh, "--dry-run", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_non_null(strstr(r.out, "subscribe INBOX\n"));
    assert_non_null(strstr(r.out, "subscribe Work/Projects\n"));
    assert_null(strstr(r.out, "subscribe Lists\n"));
    assert_non_null(strstr(r.err, "would subscribe 4 folders"));
    mp_run_free(&r);
    got = lsub(f, "dave");
    assert_string_equal(got, "");
    free(got);
    free(fresh);
    free(src);
    free(dst);
}

static void write_text(const char *path, const char *text)
{
    mp_write_file(path, text, strlen(text));
}

/* A Maildir++ tree: INBOX, .Work, .Work.Sub, .Lists, each with one
 * message. */
static char *make_maildir(fixture *f, const char *name)
{
    char *root = mp_strf("%s/%s", f->dir, name);
    static const char *const dirs[] = {"", "/.Work", "/.Work.Sub", "/.Lists"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(mp_sh("mkdir -p '%s%s/cur' '%s%s/new' '%s%s/tmp'",
                               root, dirs[i], root, dirs[i], root, dirs[i]),
                         0);
        char *msg = mp_strf("%s%s/cur/100%zu.M1P1.host:2,S", root, dirs[i], i);
        write_text(msg, "Subject: m\nMessage-ID: <m@x>\n\nbody\n");
        free(msg);
    }
    return root;
}

static void maildir_subscriptions_file_goes_to_imap(void **state)
{
    fixture *f = *state;
    char *root = make_maildir(f, "dovecot-md");
    char *subs = mp_strf("%s/subscriptions", root);
    write_text(subs, "V\t2\n\nWork\tSub\nLists\n");
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_dovecot_url(f->dc, "imap", "carol");
    char *rep = copy(f, src, dst, NULL);
    assert_subscribed_count(rep, 3);
    free(rep);
    char *got = lsub(f, "carol");
    assert_string_equal(got, "INBOX\nLists\nWork/Sub\n");
    free(got);

    /* Without the file the Maildir cannot tell: every folder is
     * subscribed, as after an upload the user expects. */
    char *plain = make_maildir(f, "plain-md");
    char *src2 = mp_strf("maildir:%s", plain);
    char *dst2 = mp_dovecot_url(f->dc, "imap", "dave");
    rep = copy(f, src2, dst2, NULL);
    assert_subscribed_count(rep, 4);
    free(rep);
    got = lsub(f, "dave");
    assert_string_equal(got, "INBOX\nLists\nWork\nWork/Sub\n");
    free(got);
    free(root);
    free(subs);
    free(src);
    free(dst);
    free(plain);
    free(src2);
    free(dst2);
}

static void imap_to_maildir_writes_a_file_dovecot_reads(void **state)
{
    fixture *f = *state;
    make_source(f, "erin");
    char *src = mp_dovecot_url(f->dc, "imap", "erin");
    /* frank's own mail directory, served by the same Dovecot afterwards,
     * with a subscription of its own that must survive. */
    char *root = mp_dovecot_maildir(f->dc, "frank");
    assert_int_equal(mp_sh("mkdir -p '%s'", root), 0);
    char *subs = mp_strf("%s/subscriptions", root);
    write_text(subs, "V\t2\n\nKeep\tMe\n");
    char *dst = mp_strf("maildir:%s", root);
    char *rep = copy(f, src, dst, NULL);
    assert_subscribed_count(rep, 4);
    free(rep);
    char *text = mp_read_file(subs, NULL);
    assert_string_equal(text, "V\t2\n\nKeep\tMe\nINBOX\nArchive\nEntw&APw-rfe\n"
                              "Work\tProjects\n");
    struct stat sb;
    assert_int_equal(stat(subs, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *lock = mp_strf("%s/subscriptions.lock", root);
    assert_false(mp_file_exists(lock));

    /* A re-run leaves the file as it is. */
    rep = copy(f, src, dst, NULL);
    assert_subscribed_count(rep, 0);
    free(rep);
    char *again = mp_read_file(subs, NULL);
    assert_string_equal(again, text);
    free(again);

    /* Dovecot reads it: frank's LSUB is erin's subscribed set, INBOX and
     * the line that was there. */
    mp_dovecot_fix_owner(f->dc);
    char *got = lsub(f, "frank");
    assert_string_equal(
        got, "Archive\nEntw&APw-rfe\nINBOX\nKeep/Me\nWork/Projects\n");
    free(got);
    free(text);
    free(lock);
    free(subs);
    free(root);
    free(src);
    free(dst);
}

static void an_archive_round_trip_keeps_the_file(void **state)
{
    fixture *f = *state;
    char *root = make_maildir(f, "arch-src");
    char *subs = mp_strf("%s/subscriptions", root);
    write_text(subs, "V\t2\n\nWork\tSub\nLists\n");
    char *src = mp_strf("maildir:%s", root);
    char *arch = mp_strf("targz:%s/a.tar.gz", f->dir);
    char *rep = copy(f, src, arch, NULL);
    assert_subscribed_count(rep, 3);
    free(rep);
    /* Plain tar sees the file in the archive's Maildir. */
    char *listed = mp_strf("%s/tar.txt", f->dir);
    assert_int_equal(
        mp_sh("tar -xzOf '%s/a.tar.gz' subscriptions > '%s'", f->dir, listed),
        0);
    char *inside = mp_read_file(listed, NULL);
    assert_string_equal(inside, "V\t2\n\nINBOX\nLists\nWork\tSub\n");
    free(inside);
    /* Restored, the Maildir has the same subscriptions. */
    char *out = mp_strf("%s/restored", f->dir);
    char *dst = mp_strf("maildir:%s", out);
    rep = copy(f, arch, dst, NULL);
    assert_subscribed_count(rep, 3);
    free(rep);
    char *back = mp_strf("%s/subscriptions", out);
    char *text = mp_read_file(back, NULL);
    assert_string_equal(text, "V\t2\n\nINBOX\nLists\nWork\tSub\n");
    free(text);
    free(back);
    free(out);
    free(dst);
    free(listed);
    free(arch);
    free(src);
    free(subs);
    free(root);
}

/* A server without LIST-EXTENDED (RFC 5258) is asked with LSUB. */
static void lsub_where_list_extended_is_missing(void **state)
{
    fixture *f = *state;
    mp_dovecot_opts o = {
        .capability = "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS "
                      "MULTIAPPEND CONDSTORE"};
    mp_dovecot *old = mp_dovecot_start_opts(&o);
    mp_dovecot *keep = f->dc;
    f->dc = old;
    mp_dovecot_add_user(old, "gina", "g-pw");
    make_source(f, "gina");
    char *src = mp_dovecot_url(old, "imap", "gina");
    char *root = mp_strf("%s/from-lsub", f->dir);
    char *dst = mp_strf("maildir:%s", root);
    char *rep = copy(f, src, dst, NULL);
    assert_subscribed_count(rep, 4);
    free(rep);
    char *subs = mp_strf("%s/subscriptions", root);
    char *text = mp_read_file(subs, NULL);
    assert_string_equal(text, "V\t2\n\nINBOX\nArchive\nEntw&APw-rfe\n"
                              "Work\tProjects\n");
    assert_true(mp_dovecot_count_commands(old, "gina", "LSUB") >= 1);
    assert_int_equal(mp_dovecot_count_lines(old, "gina", "RETURN (SUBSCRIBED"),
                     0);
    free(text);
    free(subs);
    free(root);
    free(src);
    free(dst);
    f->dc = keep;
    mp_dovecot_stop(old);
}

/* 13.6: a destination that keeps a subscription of a folder it does not
 * have (Dovecot keeps it after the folder is deleted): the real run
 * creates the folder, which is then subscribed already, so the dry run
 * must not foresee subscribing it. The same through LIST (SUBSCRIBED)
 * and, on a server without LIST-EXTENDED, through LSUB. */
static void stale_subscription_is_foreseen(fixture *f, mp_dovecot *dc,
                                           const char *from, const char *to)
{
    mp_dovecot *keep = f->dc;
    f->dc = dc;
    make_source(f, from);
    /* Subscribed, then deleted: the subscription stays. */
    imap(f, to, "CREATE \"Archive\"");
    imap(f, to, "SUBSCRIBE \"Archive\"");
    imap(f, to, "DELETE \"Archive\"");
    char *had = lsub(f, to);
    assert_string_equal(had, "Archive\n");
    free(had);
    char *src = mp_dovecot_url(dc, "imap", from);
    char *dst = mp_dovecot_url(dc, "imap", to);
    mp_run_result r = mp_run("copy", src, dst, "--dry-run", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_non_null(strstr(r.out, "subscribe INBOX\n"));
    assert_non_null(strstr(r.out, "subscribe Work/Projects\n"));
    assert_null(strstr(r.out, "subscribe Archive\n"));
    assert_non_null(strstr(r.err, "would subscribe 3 folders"));
    mp_run_free(&r);
    char *rep = copy(f, src, dst, NULL);
    assert_subscribed_count(rep, 3);
    free(rep);
    char *got = lsub(f, to);
    assert_string_equal(got, "Archive\nEntw&APw-rfe\nINBOX\nWork/Projects\n");
    free(got);
    free(src);
    free(dst);
    f->dc = keep;
}

static void a_dry_run_knows_subscriptions_of_no_folder(void **state)
{
    fixture *f = *state;
    stale_subscription_is_foreseen(f, f->dc, "judy", "kim");
    mp_dovecot_opts o = {
        .capability = "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS "
                      "MULTIAPPEND CONDSTORE"};
    mp_dovecot *old = mp_dovecot_start_opts(&o);
    mp_dovecot_add_users(old, "gina", "g-pw", "hank", "h-pw", NULL);
    stale_subscription_is_foreseen(f, old, "gina", "hank");
    assert_int_equal(mp_dovecot_count_lines(old, "hank", "RETURN (SUBSCRIBED"),
                     0);
    mp_dovecot_stop(old);
}

/* Into and out of a host whose personal namespace is the inbox
 * ("INBOX." with '.', as Courier and cPanel): SUBSCRIBE and LSUB use the
 * server's names, the folders keep their places. */
static void courier_style_namespace_both_ways(void **state)
{
    fixture *f = *state;
    mp_dovecot_opts o = {.separator = '.', .prefix = "INBOX."};
    mp_dovecot *courier = mp_dovecot_start_opts(&o);
    mp_dovecot *keep = f->dc;
    mp_dovecot_add_user(courier, "hank", "h-pw");
    f->dc = keep;
    make_source(f, "ivan");
    char *src = mp_dovecot_url(keep, "imap", "ivan");
    char *dst = mp_dovecot_url(courier, "imap", "hank");
    char *rep = copy(f, src, dst, NULL);
    assert_subscribed_count(rep, 4);
    free(rep);
    f->dc = courier;
    char *got = lsub(f, "hank");
    assert_string_equal(got, "INBOX\nINBOX.Archive\nINBOX.Entw&APw-rfe\n"
                             "INBOX.Work.Projects\n");
    free(got);
    f->dc = keep;

    /* Back out of it into a Maildir: the folders are children of the
     * inbox there (README, "IMAP folder names"), and so are their lines,
     * each naming the directory the folder got. */
    char *root = mp_strf("%s/from-courier", f->dir);
    char *md = mp_strf("maildir:%s", root);
    rep = copy(f, dst, md, NULL);
    assert_subscribed_count(rep, 4);
    free(rep);
    char *subs = mp_strf("%s/subscriptions", root);
    char *text = mp_read_file(subs, NULL);
    assert_string_equal(text, "V\t2\n\nINBOX\nINBOX\tArchive\n"
                              "INBOX\tEntw&APw-rfe\nINBOX\tWork\tProjects\n");
    char *dir = mp_strf("%s/.INBOX.Work.Projects/cur", root);
    assert_true(mp_file_exists(dir));
    free(dir);
    free(text);
    free(subs);
    free(md);
    free(root);
    free(src);
    free(dst);
    mp_dovecot_stop(courier);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imap_to_imap_copies_the_mapped_set_plus_inbox),
        cmocka_unit_test(maildir_subscriptions_file_goes_to_imap),
        cmocka_unit_test(imap_to_maildir_writes_a_file_dovecot_reads),
        cmocka_unit_test(an_archive_round_trip_keeps_the_file),
        cmocka_unit_test(lsub_where_list_extended_is_missing),
        cmocka_unit_test(courier_style_namespace_both_ways),
        cmocka_unit_test(a_dry_run_knows_subscriptions_of_no_folder),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
