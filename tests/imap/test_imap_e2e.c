/* mailport copy/verify through the binary with a real Dovecot on one side
 * or both: Maildir <-> IMAP <-> IMAP, mbox -> IMAP, TLS, login failures,
 * refused messages, dropped connections and a server going away. */
#include "testutil.h"

#include "dovecot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static mp_dovecot *dv;
static char *work;

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "alice", "pw-of-user", "bob", "pw-of-user",
                         "carol", "pw-of-user", "dave", "pw-of-user", "erin",
                         "pw-of-user", "frank", "pw-of-user", "gina",
                         "pw-of-user", (char *)NULL);
    work = mp_tmpdir("imap-e2e");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dv);
    mp_rm_rf(work);
    free(work);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Building and reading Maildirs.                                           */

static void mkdirs(const char *path)
{
    char *p = strdup(path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0700);
            *s = '/';
        }
    mkdir(p, 0700);
    free(p);
}

/* A message in DIR (a Maildir folder) with info FLAGS and mtime DATE. */
static void put_msg(const char *dir, int n, const char *text, const char *flags,
                    time_t date)
{
    char *sub[] = {"cur", "new", "tmp"};
    for (int i = 0; i < 3; i++) {
        char *d = mp_strf("%s/%s", dir, sub[i]);
        mkdirs(d);
        free(d);
    }
    char *path = mp_strf("%s/cur/1700000000.M%dP1.test:2,%s", dir, n, flags);
    mp_write_file(path, text, strlen(text));
    struct utimbuf t = {date, date};
    utime(path, &t);
    free(path);
}

typedef struct msgset {
    size_t n;
    char *text[512];
} msgset;

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every message of the Maildir folder DIR (cur and new), sorted, with
 * line endings as LF. */
static void read_folder(const char *dir, msgset *s)
{
    s->n = 0;
    const char *sub[] = {"cur", "new"};
    for (int k = 0; k < 2; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        DIR *dh = opendir(d);
        struct dirent *e;
        while (dh && (e = readdir(dh))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", d, e->d_name);
            size_t len;
            char *t = mp_read_file(path, &len);
            size_t w = 0;
            for (size_t i = 0; i < len; i++)
                if (!(t[i] == '\r' && i + 1 < len && t[i + 1] == '\n'))
                    t[w++] = t[i];
            t[w] = '\0';
            assert_true(s->n < 512);
            s->text[s->n++] = t;
            free(path);
        }
        if (dh)
            closedir(dh);
        free(d);
    }
    qsort(s->text, s->n, sizeof s->text[0], str_cmp);
}

static void msgset_free(msgset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->text[i]);
    s->n = 0;
}

static void assert_same_folder(const char *a, const char *b, size_t expect)
{
    msgset x = {0}, y = {0};
    read_folder(a, &x);
    read_folder(b, &y);
    if (x.n != expect || y.n != expect)
        fail_msg("%s holds %zu messages, %s holds %zu; expected %zu", a, x.n, b,
                 y.n, expect);
    for (size_t i = 0; i < x.n; i++)
        assert_string_equal(x.text[i], y.text[i]);
    msgset_free(&x);
    msgset_free(&y);
}

static int count_files(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dh)))
        n += e->d_name[0] != '.';
    closedir(dh);
    return n;
}

#define run(...) mp_run(__VA_ARGS__, (char *)NULL)

/* A rawlog count once Dovecot has finished writing: sessions flush their
 * rawlogs a moment after the client is gone, so read until two reads a
 * tenth of a second apart agree. */
static int settled_count(int (*count)(const mp_dovecot *, const char *,
                                      const char *),
                         const char *user, const char *text)
{
    int prev = -1;
    for (int i = 0; i < 100; i++) {
        usleep(100000);
        int now = count(dv, user, text);
        if (now == prev)
            return now;
        prev = now;
    }
    return prev;
}

/* ------------------------------------------------------------------------ */

static const char *const folder_names[] = {"", "Archiv/Übersicht 2024",
                                           "Projects/Ω", "Quote\"d & Co"};

/* A source Maildir (layout=fs) with nested, non-ASCII and quoted names,
 * flags and dates. Returns its root. */
static char *make_source(const char *tag, int per_folder)
{
    char *root = mp_strf("%s/%s", work, tag);
    for (size_t f = 0; f < 4; f++) {
        char *dir = folder_names[f][0] ? mp_strf("%s/%s", root, folder_names[f])
                                       : strdup(root);
        for (int i = 0; i < per_folder; i++) {
            char *text = mp_strf(
                "Message-ID: <%s.%zu.%d@example.org>\n"
                "From: Tester <t@example.org>\n"
                "Subject: message %d in %s\n"
                "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
                "\n"
                "Line one.\n"
                "From the start of a line.\n"
                "%s\n",
                tag, f, i, i, folder_names[f], i % 2 ? "Gr\xc3\xbc\xc3\x9f" "e" : "..");
            const char *flags[] = {"", "S", "FS", "RS", "DT", "P"};
            put_msg(dir, i, text, flags[i % 6], 1600000000 + 86400 * i);
            free(text);
        }
        free(dir);
    }
    return root;
}

static char *url(const char *mode, const char *user)
{
    return mp_dovecot_url(dv, mode, user);
}

static void test_maildir_to_imap_to_maildir(void **state)
{
    (void)state;
    char *src = make_source("m2i", 6);
    char *src_url = mp_strf("maildir:%s?layout=fs", src);
    char *imap = url("imap", "alice");
    char *st1 = mp_strf("%s/m2i-1.db", work), *st2 = mp_strf("%s/m2i-2.db", work);
    char *dst = mp_strf("%s/m2i-back", work);
    char *dst_url = mp_strf("maildir:%s?layout=fs", dst);

    mp_run_result r = run("copy", src_url, imap, "--state", st1, NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "copied 24");
    mp_run_free(&r);
    r = run("verify", src_url, imap, NULL, NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    r = run("list", imap, NULL, NULL, NULL, NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.out, "Archiv/Übersicht 2024");
    assert_contains(r.out, "Projects/Ω");
    assert_contains(r.out, "Quote\"d & Co");
    mp_run_free(&r);

    /* Back out over STARTTLS into a second Maildir: byte-exact (line
     * endings aside), flags in the names, dates in the mtimes. */
    char *starttls = url("starttls", "alice");
    r = run("copy", starttls, dst_url, "--state", st2, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    for (size_t f = 0; f < 4; f++) {
        char *a = folder_names[f][0] ? mp_strf("%s/%s", src, folder_names[f])
                                     : strdup(src);
        char *b = folder_names[f][0] ? mp_strf("%s/%s", dst, folder_names[f])
                                     : strdup(dst);
        assert_same_folder(a, b, 6);
        free(a);
        free(b);
    }
    r = run("verify", src_url, dst_url, NULL, NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    /* A flag and a date, checked on the files themselves. */
    char *cur = mp_strf("%s/Projects/Ω/cur", dst);
    DIR *dh = opendir(cur);
    assert_non_null(dh);
    struct dirent *e;
    int seen_fs = 0;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = mp_strf("%s/%s", cur, e->d_name);
        char *text = mp_read_file(path, NULL);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        if (strstr(text, "message 2 in")) {
            assert_contains(e->d_name, ":2,FS");
            assert_int_equal(sb.st_mtime, 1600000000 + 86400 * 2);
            seen_fs = 1;
        }
        free(text);
        free(path);
    }
    closedir(dh);
    assert_true(seen_fs);

    /* A no-op re-run fetches no bodies from the server. */
    int bodies = settled_count(mp_dovecot_count_lines, "alice", "BODY.PEEK[]");
    assert_true(bodies > 0);
    r = run("copy", starttls, dst_url, "--state", st2, NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, "copied 0");
    mp_run_free(&r);
    assert_int_equal(
        settled_count(mp_dovecot_count_lines, "alice", "BODY.PEEK[]"), bodies);

    free(cur);
    free(starttls);
    free(src);
    free(src_url);
    free(imap);
    free(st1);
    free(st2);
    free(dst);
    free(dst_url);
}

/* IMAP -> IMAP with one worker and with four give the same result, and
 * keywords travel. */
static void test_imap_to_imap_jobs(void **state)
{
    (void)state;
    char *src = make_source("i2i", 5);
    char *src_url = mp_strf("maildir:%s?layout=fs", src);
    char *notmuch = mp_strf("maildir:%s/maildir/notmuch-default?layout=fs",
                            mp_corpora());
    char *bob = url("imaps", "bob"), *carol = url("imap", "carol"),
         *dave = url("starttls", "dave");
    mp_run_result r = run("copy", src_url, bob, "--no-state", NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    r = run("copy", notmuch, bob, "--no-state", "--map", "INBOX=Notmuch");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    r = run("copy", bob, carol, "--jobs", "1", "--no-state", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    r = run("copy", bob, dave, "--jobs", "4", "--no-state", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    mp_run_result l1 = run("list", carol, NULL, NULL, NULL, NULL);
    mp_run_result l2 = run("list", dave, NULL, NULL, NULL, NULL);
    mp_run_result l0 = run("list", bob, NULL, NULL, NULL, NULL);
    mp_expect_exit(&l1, 0);
    if (strcmp(l1.out, l2.out) != 0)
        fail_msg("--jobs 1 gave\n%s\n--jobs 4 gave\n%s", l1.out, l2.out);
    assert_string_equal(l0.out, l1.out);
    assert_contains(l1.out, "Notmuch");
    mp_run_free(&l0);
    mp_run_free(&l1);
    mp_run_free(&l2);
    r = run("verify", bob, carol, NULL, NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    r = run("verify", bob, dave, NULL, NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    /* The servers' own files agree too: same messages in each folder. */
    char *mc = mp_dovecot_maildir(dv, "carol"), *md = mp_dovecot_maildir(dv, "dave");
    const char *dirs[] = {"", "/.Archiv.&ANw-bersicht 2024", "/.Projects.&A6k-",
                          "/.Quote\"d &- Co", "/.Notmuch"};
    for (size_t i = 0; i < 5; i++) {
        char *a = mp_strf("%s%s", mc, dirs[i]), *b = mp_strf("%s%s", md, dirs[i]);
        msgset x = {0};
        read_folder(a, &x);
        assert_true(x.n > 0);
        assert_same_folder(a, b, x.n);
        msgset_free(&x);
        free(a);
        free(b);
    }
    free(mc);
    free(md);
    free(src);
    free(src_url);
    free(notmuch);
    free(bob);
    free(carol);
    free(dave);
}

static void test_mbox_to_imap(void **state)
{
    (void)state;
    char *mbox = mp_strf("mbox:%s/mbox/git-t5100/sample.mboxrd", mp_corpora());
    char *erin = url("imaps", "erin");
    mp_run_result r = run("copy", mbox, erin, "--no-state", NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    r = run("verify", mbox, erin, NULL, NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    /* Again: nothing new is appended. */
    int appends = settled_count(mp_dovecot_count_commands, "erin", "APPEND");
    assert_true(appends > 0);
    r = run("copy", mbox, erin, "--no-state", NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    assert_int_equal(settled_count(mp_dovecot_count_commands, "erin", "APPEND"),
                     appends);
    free(mbox);
    free(erin);
}

static void test_tls_and_login_failures(void **state)
{
    (void)state;
    char *dst = mp_strf("maildir:%s/tlsfail", work);
    /* No cafile: the self-signed certificate is not trusted. */
    char *u = mp_strf("imaps://alice@127.0.0.1:%d?password_file=%s",
                      mp_dovecot_tls_port(dv),
                      mp_dovecot_password_file(dv, "alice"));
    mp_run_result r = run("copy", u, dst, "--no-state", NULL, NULL);
    mp_expect_exit(&r, 3);
    assert_contains(r.err, "not trusted");
    mp_run_free(&r);
    free(u);
    /* Wrong password. */
    char *pw = mp_strf("%s/wrong.pw", work);
    mp_write_file(pw, "wrong\n", 6);
    chmod(pw, 0600);
    u = mp_strf("imap://alice@127.0.0.1:%d?tls=none&password_file=%s",
                mp_dovecot_port(dv), pw);
    r = run("copy", u, dst, "--no-state", NULL, NULL);
    mp_expect_exit(&r, 3);
    char *want = mp_strf("login refused for alice at 127.0.0.1:%d",
                         mp_dovecot_port(dv));
    assert_contains(r.err, want);
    assert_null(strstr(r.err, "wrong\n"));
    mp_run_free(&r);
    free(u);
    free(want);
    free(pw);
    free(dst);
}

/* A message the server refuses is reported; the rest is copied; exit 1. */
static void test_refused_message(void **state)
{
    (void)state;
    mp_dovecot_opts o = {.max_mail_size = 20000};
    mp_dovecot *small = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(small, "zed", "pw");
    char *dir = mp_strf("%s/refuse", work);
    put_msg(dir, 1, "Message-ID: <ok1@x>\nSubject: ok\n\nsmall\n", "S", 1600000000);
    size_t big_len = 60000;
    char *big = malloc(big_len + 1);
    int h = snprintf(big, big_len, "Message-ID: <big@x>\nSubject: big\n\n");
    for (size_t i = (size_t)h; i < big_len; i++)
        big[i] = i % 61 == 60 ? '\n' : 'x';
    big[big_len] = '\0';
    put_msg(dir, 2, big, "", 1600000000);
    put_msg(dir, 3, "Message-ID: <ok2@x>\nSubject: ok too\n\nsmall\n", "", 1600000000);
    char *src = mp_strf("maildir:%s", dir);
    char *dst = mp_dovecot_url(small, "imap", "zed");
    char *report = mp_strf("%s/refuse.json", work);
    mp_run_result r = run("copy", src, dst, "--no-state", "--report", report);
    mp_expect_exit(&r, 1);
    assert_contains(r.err, "refused");
    mp_run_free(&r);
    char *json = mp_read_file(report, NULL);
    assert_contains(json, "\"copied\": 2");
    assert_contains(json, "\"failed\": 1");
    assert_contains(json, "server refused the message: Mail size is larger");
    free(json);
    char *md = mp_dovecot_maildir(small, "zed");
    char *cur = mp_strf("%s/cur", md);
    assert_int_equal(count_files(cur), 2);
    free(cur);
    free(md);
    mp_dovecot_stop(small);
    free(big);
    free(dir);
    free(src);
    free(dst);
    free(report);
}

/* Many messages in one folder, for cutting connections mid-fetch. */
static char *make_bulk(const char *tag, int n)
{
    char *dir = mp_strf("%s/%s", work, tag);
    for (int i = 0; i < n; i++) {
        char *text = mp_strf("Message-ID: <%s.%d@example.org>\nSubject: %d\n\n"
                             "%0*d\n",
                             tag, i, i, 3000, i);
        put_msg(dir, i, text, "S", 1600000000 + i);
        free(text);
    }
    return dir;
}

/* The connection drops mid-fetch: the core reconnects and the run ends
 * with every message exactly once. */
static void test_dropped_connection_is_retried(void **state)
{
    (void)state;
    char *bulk = make_bulk("cut", 120);
    char *bulk_url = mp_strf("maildir:%s", bulk);
    char *frank = url("imap", "frank");
    mp_run_result r = run("copy", bulk_url, frank, "--no-state", NULL, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    mp_tcp_proxy *px = mp_proxy_start(mp_dovecot_port(dv), 150000, NULL, NULL);
    char *via = mp_strf("imap://frank@127.0.0.1:%d?tls=none&password_file=%s",
                        mp_proxy_port(px), mp_dovecot_password_file(dv, "frank"));
    char *dst = mp_strf("%s/cut-out", work);
    char *dst_url = mp_strf("maildir:%s", dst);
    char *st = mp_strf("%s/cut.db", work);
    r = run("copy", via, dst_url, "--state", st, NULL);
    mp_expect_exit(&r, 0);
    assert_int_equal(mp_proxy_cuts(px), 1);
    assert_contains(r.err, "lost");
    mp_run_free(&r);
    assert_same_folder(bulk, dst, 120);
    char *tmp = mp_strf("%s/tmp", dst);
    assert_int_equal(count_files(tmp), 0);
    mp_proxy_stop(px);
    free(tmp);
    free(bulk);
    free(bulk_url);
    free(frank);
    free(via);
    free(dst);
    free(dst_url);
    free(st);
}

/* The connection drops while APPENDs are in flight: after the retry the
 * destination holds every message exactly once (the ones stored but not
 * yet confirmed are found again by their identity). */
static void test_dropped_connection_while_appending(void **state)
{
    (void)state;
    char *bulk = make_bulk("cutsink", 150);
    char *bulk_url = mp_strf("maildir:%s", bulk);
    /* About 30 APPEND answers (and the login) get through. */
    mp_tcp_proxy *px = mp_proxy_start(mp_dovecot_port(dv), 3000, NULL, NULL);
    /* Single APPENDs, whose answers the cut counts (batches: the
     * multiappend test's killed server). */
    char *via = mp_strf("imap://gina@127.0.0.1:%d?tls=none&password_file=%s"
                        "&multiappend=0",
                        mp_proxy_port(px), mp_dovecot_password_file(dv, "gina"));
    char *st = mp_strf("%s/cutsink.db", work);
    mp_run_result r = run("copy", bulk_url, via, "--state", st);
    /* The retry completes the folder: nothing failed. */
    mp_expect_exit(&r, 0);
    assert_int_equal(mp_proxy_cuts(px), 1);
    assert_contains(r.err, "lost");
    assert_contains(r.err, "retrying folder INBOX");
    mp_run_free(&r);
    char *md = mp_dovecot_maildir(dv, "gina");
    assert_same_folder(bulk, md, 150);
    r = run("verify", bulk_url, via);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    mp_proxy_stop(px);
    free(md);
    free(bulk);
    free(bulk_url);
    free(via);
    free(st);
}

static void kill_server(void *ctx)
{
    mp_dovecot_kill(ctx);
}

/* The server goes away mid-run and stays away: a clear error, nothing
 * half-written; once it is back, a re-run completes. */
static void test_server_stopped_mid_run(void **state)
{
    (void)state;
    char *bulk = make_bulk("stop", 120);
    char *bulk_url = mp_strf("maildir:%s", bulk);
    char *frank = mp_strf("imap://frank@127.0.0.1:%d?tls=none&password_file=%s",
                          mp_dovecot_port(dv),
                          mp_dovecot_password_file(dv, "frank"));
    mp_run_result r = run("copy", bulk_url, frank, "--no-state", "--map",
                          "INBOX=Stop");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    mp_tcp_proxy *px = mp_proxy_start(mp_dovecot_port(dv), 150000, kill_server, dv);
    char *via = mp_strf("imap://frank@127.0.0.1:%d?tls=none&password_file=%s",
                        mp_proxy_port(px), mp_dovecot_password_file(dv, "frank"));
    char *dst = mp_strf("%s/stop-out", work);
    char *dst_url = mp_strf("maildir:%s", dst);
    char *st = mp_strf("%s/stop.db", work);
    r = run("copy", via, dst_url, "--state", st, "--include", "Stop");
    assert_true(r.exit_code != 0);
    assert_contains(r.err, "127.0.0.1");
    assert_true(strstr(r.err, "lost") || strstr(r.err, "cannot connect"));
    mp_run_free(&r);
    char *tmp = mp_strf("%s/Stop/tmp", dst);
    msgset part = {0};
    char *out_folder = mp_strf("%s/.Stop", dst);
    read_folder(out_folder, &part);
    assert_true(part.n < 120);
    msgset_free(&part);
    assert_int_equal(count_files(tmp), 0);

    mp_dovecot_restart(dv);
    r = run("copy", via, dst_url, "--state", st, "--include", "Stop");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    assert_same_folder(bulk, out_folder, 120);
    mp_proxy_stop(px);
    free(out_folder);
    free(tmp);
    free(bulk);
    free(bulk_url);
    free(frank);
    free(via);
    free(dst);
    free(dst_url);
    free(st);
}

int main(void)
{
    /* The connections dropped here are a relay's cuts or a server stopped:
     * Dovecot has stored whatever APPEND reached it whole by the time the
     * retry logs in. */
    mp_short_inflight_wait();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maildir_to_imap_to_maildir),
        cmocka_unit_test(test_imap_to_imap_jobs),
        cmocka_unit_test(test_mbox_to_imap),
        cmocka_unit_test(test_tls_and_login_failures),
        cmocka_unit_test(test_refused_message),
        cmocka_unit_test(test_dropped_connection_is_retried),
        cmocka_unit_test(test_dropped_connection_while_appending),
        cmocka_unit_test(test_server_stopped_mid_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
