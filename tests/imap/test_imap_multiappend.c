/* MULTIAPPEND (RFC 3502, issue 11), through the binary against the real
 * Dovecot (which offers MULTIAPPEND and LITERAL+), asked for with the
 * URL parameter multiappend=1:
 *
 * - the uid-set of APPENDUID (RFC 4315) is parsed in message order;
 * - what Dovecot 2.3 does with a batch holding one message it refuses
 *   (one tagged NO for the whole command, none of the batch stored, the
 *   session still in step), and the APPENDUID of a batch that worked;
 * - Maildir -> IMAP of 300 messages in batches: every message once, byte
 *   for byte, with its flags, keywords and internal date; far fewer
 *   APPEND commands than messages (fails if MULTIAPPEND is not used);
 *   the keys recorded are the right ones (a flag changed at the source
 *   reaches the right message) and a second pass copies nothing;
 * - one message refused inside a batch: the batch is sent again as
 *   single APPENDs, so the others are stored exactly once and only that
 *   one is reported failed, with Dovecot's words (exit 1);
 * - throttling replies to batches ([THROTTLED], a BYE saying so) are
 *   waited out and every message is stored once;
 * - the whole server killed just as batches are being stored: after a
 *   restart the re-run finds what was stored unconfirmed and copies the
 *   rest, every message exactly once;
 * - a server without MULTIAPPEND gets one APPEND per message, and so
 *   does one with it unless the URL says multiappend=1. */
#include "testutil.h"

#include "dovecot.h"
#include "dvkill.h"
#include "imap_util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static char *work;

static int setup(void **state)
{
    (void)state;
    work = mp_tmpdir("imap-multiappend");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(work);
    free(work);
    return 0;
}

#define run(...) mp_run(__VA_ARGS__, (char *)NULL)

/* ---- uid-sets --------------------------------------------------------- */

static void test_uid_sets(void **state)
{
    (void)state;
    uint32_t u[16];
    assert_int_equal(imap_parse_uid_set("3955:3962", u, 8), 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(u[i], 3955 + i);
    assert_int_equal(imap_parse_uid_set("3955,3957:3960", u, 5), 5);
    const uint32_t want[] = {3955, 3957, 3958, 3959, 3960};
    for (int i = 0; i < 5; i++)
        assert_int_equal(u[i], want[i]);
    assert_int_equal(imap_parse_uid_set("7", u, 1), 1);
    assert_int_equal(u[0], 7);
    /* Ends at a space (more of the response code may follow). */
    assert_int_equal(imap_parse_uid_set("1:2 x", u, 2), 2);
    /* A range written downwards runs downwards: message order. */
    assert_int_equal(imap_parse_uid_set("5:3", u, 3), 3);
    assert_int_equal(u[0], 5);
    assert_int_equal(u[2], 3);
    /* Another count than the messages sent, or garbage: no keys. */
    assert_int_equal(imap_parse_uid_set("1:3", u, 2), -1);
    assert_int_equal(imap_parse_uid_set("1:3", u, 4), -1);
    assert_int_equal(imap_parse_uid_set("0:2", u, 3), -1);
    assert_int_equal(imap_parse_uid_set("1,,2", u, 2), -1);
    assert_int_equal(imap_parse_uid_set("1,2,", u, 2), -1);
    assert_int_equal(imap_parse_uid_set("", u, 1), -1);
    assert_int_equal(imap_parse_uid_set("4294967296", u, 1), -1);
    assert_int_equal(imap_parse_uid_set("1:4294967295", u, 16), -1);
}

/* ---- what Dovecot does -------------------------------------------------- */

/* A message of LEN bytes (CRLF lines) saying TAG. */
static char *message(const char *tag, size_t len)
{
    char *m = malloc(len + 1);
    int h = snprintf(m, len + 1, "Subject: %s\r\n\r\n", tag);
    for (size_t i = (size_t)h; i < len; i++)
        m[i] = i % 60 == 58 ? '\r' : i % 60 == 59 ? '\n' : 'x';
    m[len - 2] = '\r';
    m[len - 1] = '\n';
    m[len] = '\0';
    return m;
}

/* Dovecot 2.3 with a 20000-byte limit (its quota plugin): a MULTIAPPEND
 * of three whose second is too big gets one tagged NO for the command,
 * with no word of which message, and stores none of the three (no UID is
 * even used up); a zero-byte message fails a batch the same way; the
 * session stays in step (the rest of the literals was read and dropped);
 * a batch that works gets "APPENDUID <validity> 1:3". */
static void test_dovecot_refuses_whole_batch(void **state)
{
    (void)state;
    mp_dovecot_opts o = {.max_mail_size = 20000};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "probe", "pw");
    char *a = message("one", 300), *b = message("big", 30000),
         *c = message("three", 300);
    char *big = mp_strf("?APPEND INBOX (\\Seen) {%zu+}\r\n%s (\\Flagged) "
                        "{%zu+}\r\n%s {%zu+}\r\n%s",
                        strlen(a), a, strlen(b), b, strlen(c), c);
    char *zero = mp_strf("?APPEND INBOX {%zu+}\r\n%s {0+}\r\n {%zu+}\r\n%s",
                         strlen(a), a, strlen(c), c);
    char *good = mp_strf("APPEND INBOX {%zu+}\r\n%s {%zu+}\r\n%s {%zu+}\r\n%s",
                         strlen(a), a, strlen(c), c, strlen(a), a);
    const char *first[] = {big, "NOOP", zero, "NOOP", "SELECT INBOX", NULL};
    char *out = mp_dovecot_session(d, "probe", first);
    printf("---- Dovecot's answers ----\n%s----\n", out);
    assert_contains(out, "t NO [LIMIT] Mail size is larger than the maximum "
                         "size allowed by server configuration");
    assert_contains(out, "t NO Can't save a zero byte message");
    assert_contains(out, "* 0 EXISTS");
    assert_contains(out, "[UIDNEXT 1]");
    free(out);
    const char *second[] = {good, NULL};
    out = mp_dovecot_session(d, "probe", second);
    assert_contains(out, " 1:3] Append completed");
    assert_contains(out, "t OK [APPENDUID ");
    free(out);
    free(big);
    free(zero);
    free(good);
    free(a);
    free(b);
    free(c);
    mp_dovecot_stop(d);
}

/* ---- copies ----------------------------------------------------------- */

#define N_MSGS 300
#define DATE0 1600000000

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

/* Maildir flags of message I, and whether it has keyword $Junk. */
static const char *flags_of(int i)
{
    /* No P: Dovecot keeps it as the keyword $Forwarded. */
    static const char *const f[] = {"S", "", "FS", "RS", "DS", "FRS", "T"};
    return f[i % 7];
}

static int junk_of(int i)
{
    return i % 5 == 3;
}

/* Sizes vary from 200 bytes to 200 + span bytes. */
static size_t span = 70000;

/* Message I: "Subject: m I", of a size between 200 bytes and 200 + SPAN,
 * LF line endings; BIG makes it BIG bytes instead. */
static char *msg_text(int i, size_t big, size_t *len)
{
    size_t n = big ? big : 200 + (size_t)i * 7919 % span;
    char *t = malloc(n + 1);
    int h = snprintf(t, n + 1,
                     "Message-ID: <m%d@multi.test>\nSubject: m %d\n"
                     "From: a@b.test\n\n",
                     i, i);
    for (size_t k = (size_t)h; k < n; k++)
        t[k] = k % 72 == 71 ? '\n' : (char)('a' + (k * 31 + (size_t)i) % 26);
    t[n - 1] = '\n';
    t[n] = '\0';
    *len = n;
    return t;
}

/* A Maildir at WORK/NAME of N messages (BIG_AT: that one is BIG bytes);
 * returns its path. Message I has date DATE0 + I * 3600. */
static char *make_source(const char *name, int n, int big_at, size_t big)
{
    char *dir = mp_strf("%s/%s", work, name);
    const char *sub[] = {"cur", "new", "tmp"};
    for (int k = 0; k < 3; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        mkdirs(d);
        free(d);
    }
    /* Dovecot's Maildir keyword file: letter a is $Junk. */
    char *kw = mp_strf("%s/dovecot-keywords", dir);
    mp_write_file(kw, "0 $Junk\n", 8);
    free(kw);
    for (int i = 0; i < n; i++) {
        size_t len;
        char *t = msg_text(i, i == big_at ? big : 0, &len);
        char *path = mp_strf("%s/cur/%d.M%dP1.multi:2,%s%s", dir, DATE0 + i, i,
                             flags_of(i), junk_of(i) ? "a" : "");
        mp_write_file(path, t, len);
        struct utimbuf tb = {DATE0 + i * 3600, DATE0 + i * 3600};
        utime(path, &tb);
        free(path);
        free(t);
    }
    return dir;
}

/* Which letter Dovecot's Maildir DIR uses for $Junk, or 0. */
static char junk_letter(const char *dir)
{
    char *path = mp_strf("%s/dovecot-keywords", dir);
    char letter = 0;
    if (mp_file_exists(path)) {
        char *text = mp_read_file(path, NULL);
        for (char *l = text; l && *l;) {
            int idx;
            char name[64];
            if (sscanf(l, "%d %63s", &idx, name) == 2 &&
                strcmp(name, "$Junk") == 0)
                letter = (char)('a' + idx);
            l = strchr(l, '\n');
            if (l)
                l++;
        }
        free(text);
    }
    free(path);
    return letter;
}

/* Dovecot's Maildir DIR holds exactly the messages 0..N-1 of a source
 * made by make_source, except SKIP (-1: none), each once, byte for byte
 * (in LF form), with its system flags, $Junk and date. FLAGGED_AT and
 * FLAGGED_TOO: those messages must have F too (-1: none). Returns the
 * count. */
static int assert_destination(const char *dir, int n, int skip, int flagged_at,
                              int flagged_too)
{
    char *seen = calloc((size_t)n, 1);
    char junk = junk_letter(dir);
    int count = 0;
    const char *sub[] = {"cur", "new"};
    for (int k = 0; k < 2; k++) {
        char *d = mp_strf("%s/%s", dir, sub[k]);
        DIR *dh = opendir(d);
        for (struct dirent *e; dh && (e = readdir(dh));) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", d, e->d_name);
            size_t len;
            char *text = mp_read_file(path, &len);
            const char *s = strstr(text, "\nSubject: m ");
            assert_non_null(s);
            int i = atoi(s + 12);
            if (i < 0 || i >= n || i == skip)
                fail_msg("unexpected message %d in %s", i, path);
            if (seen[i])
                fail_msg("message %d stored twice (%s)", i, path);
            seen[i] = 1;
            size_t want_len;
            char *want = msg_text(i, 0, &want_len);
            size_t lf_len;
            char *lf = mp_lf_form(text, len, &lf_len);
            if (lf_len != want_len || memcmp(lf, want, lf_len) != 0)
                fail_msg("message %d differs (%s)", i, path);
            const char *info = strstr(e->d_name, ":2,");
            assert_non_null(info);
            info += 3;
            char want_flags[16];
            snprintf(want_flags, sizeof want_flags, "%s%s", flags_of(i),
                     (i == flagged_at || i == flagged_too) &&
                             !strchr(flags_of(i), 'F')
                         ? "F"
                         : "");
            for (const char *f = "DFPRST"; *f; f++)
                if (!!strchr(info, *f) != !!strchr(want_flags, *f))
                    fail_msg("message %d: flags \"%s\", expected \"%s\"", i,
                             info, want_flags);
            int has_junk = junk && strchr(info, junk);
            if (has_junk != junk_of(i))
                fail_msg("message %d: $Junk %s", i,
                         has_junk ? "set" : "missing");
            struct stat st;
            assert_int_equal(stat(path, &st), 0);
            if (st.st_mtime != DATE0 + i * 3600)
                fail_msg("message %d: internal date %lld, expected %lld", i,
                         (long long)st.st_mtime, (long long)(DATE0 + i * 3600));
            count++;
            free(lf);
            free(want);
            free(text);
            free(path);
        }
        if (dh)
            closedir(dh);
        free(d);
    }
    free(seen);
    return count;
}

/* Give source message I of DIR flag F (rename its file). */
static void add_flag_at_source(const char *dir, int i, char f)
{
    char *d = mp_strf("%s/cur", dir);
    char *prefix = mp_strf("%d.M%dP1.multi:2,", DATE0 + i, i);
    DIR *dh = opendir(d);
    int done = 0;
    for (struct dirent *e; dh && (e = readdir(dh));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char *from = mp_strf("%s/%s", d, e->d_name);
        /* Maildir wants the flag letters sorted. */
        char letters[32];
        snprintf(letters, sizeof letters, "%s%c", e->d_name + strlen(prefix),
                 f);
        size_t nl = strlen(letters);
        for (size_t a = 0; a < nl; a++)
            for (size_t b = a + 1; b < nl; b++)
                if (letters[b] < letters[a]) {
                    char t = letters[a];
                    letters[a] = letters[b];
                    letters[b] = t;
                }
        char *to = mp_strf("%s/%s%s", d, prefix, letters);
        assert_int_equal(rename(from, to), 0);
        free(from);
        free(to);
        done = 1;
        break;
    }
    if (dh)
        closedir(dh);
    assert_true(done);
    free(prefix);
    free(d);
}

/* USER's plain-text URL asking for MULTIAPPEND. */
static char *multi_url(mp_dovecot *d, const char *user)
{
    char *u = mp_dovecot_url(d, "imap", user);
    char *m = mp_strf("%s&multiappend=1", u);
    free(u);
    return m;
}

static void test_copy_in_batches(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "multi", "pw");
    char *src_dir = make_source("batches", N_MSGS, -1, 0);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = multi_url(d, "multi");
    char *state_db = mp_strf("%s/batches.db", work);
    char *report = mp_strf("%s/batches.json", work);
    mp_run_result r =
        run("copy", src, dst, "--state", state_db, "--report", report);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), N_MSGS);
    assert_int_equal((int)mp_json_number(json, "failed"), 0);
    free(json);
    char *md = mp_dovecot_maildir(d, "multi");
    assert_int_equal(assert_destination(md, N_MSGS, -1, -1, -1), N_MSGS);
    /* Batches, not one APPEND per message: 300 messages of ~35 KB on
     * average (10 MB) make at least 5 batches of at most 64 messages or 8
     * MiB, a few more where the core's fetch batches end. */
    int appends = mp_dovecot_count_commands(d, "multi", "APPEND");
    printf("%d messages in %d APPEND commands\n", N_MSGS, appends);
    if (appends < N_MSGS / 64 || appends > N_MSGS / 10)
        fail_msg("%d APPEND commands for %d messages: MULTIAPPEND not used",
                 appends, N_MSGS);

    /* The keys recorded are each message's own UID: a flag added at the
     * source is set on that message and no other, and nothing is copied
     * again. */
    add_flag_at_source(src_dir, 10, 'F');
    add_flag_at_source(src_dir, 202, 'F');
    r = run("copy", src, dst, "--state", state_db, "--report", report);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 0);
    assert_int_equal((int)mp_json_number(json, "failed"), 0);
    free(json);
    assert_int_equal(mp_dovecot_count_commands(d, "multi", "APPEND"), appends);
    assert_int_equal(assert_destination(md, N_MSGS, -1, 10, 202), N_MSGS);
    assert_int_equal(mp_dovecot_count_lines(d, "multi", "UID STORE"), 2);
    r = run("verify", src, dst);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);

    free(md);
    free(report);
    free(state_db);
    free(dst);
    free(src);
    free(src_dir);
    mp_dovecot_stop(d);
}

/* The 8th of 20 messages is over Dovecot's 20000-byte limit, which the
 * server does not announce (no APPENDLIMIT): the one batch of 20 is
 * refused as a whole, then sent again one by one; 19 are stored once, the
 * big one is reported failed with Dovecot's words, exit 1. Again: only
 * the big one is sent (a batch of one, refused as itself). */
static void test_one_refused_in_a_batch(void **state)
{
    (void)state;
    mp_dovecot_opts o = {.max_mail_size = 20000};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "refuse", "pw");
    span = 5000; /* all but the big one are under the limit */
    char *src_dir = make_source("refuse", 20, 7, 30000);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = multi_url(d, "refuse");
    char *report = mp_strf("%s/refuse.json", work);
    const char *why = "Mail size is larger than the maximum size allowed by "
                      "server configuration";
    mp_run_result r =
        run("copy", "-v", src, dst, "--no-state", "--report", report);
    mp_expect_exit(&r, 1);
    assert_contains(r.err, why);
    assert_contains(r.err, "<m7@multi.test>");
    if (strstr(r.err, "<m6@multi.test>") || strstr(r.err, "<m8@multi.test>"))
        mp_fail_showing(r.err, "another message reported refused");
    assert_contains(r.err, "sending them one by one");
    mp_run_free(&r);
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 19);
    assert_int_equal((int)mp_json_number(json, "failed"), 1);
    assert_contains(json, why);
    free(json);
    char *md = mp_dovecot_maildir(d, "refuse");
    /* Message 7's text differs from msg_text(7, 0): it is skipped. */
    assert_int_equal(assert_destination(md, 20, 7, -1, -1), 19);
    /* One MULTIAPPEND of 20, then 20 single APPENDs. */
    assert_int_equal(mp_dovecot_count_commands(d, "refuse", "APPEND"), 21);

    r = run("copy", src, dst, "--no-state", "--report", report);
    mp_expect_exit(&r, 1);
    assert_contains(r.err, why);
    mp_run_free(&r);
    json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 0);
    assert_int_equal((int)mp_json_number(json, "failed"), 1);
    free(json);
    assert_int_equal(assert_destination(md, 20, 7, -1, -1), 19);
    assert_int_equal(mp_dovecot_count_commands(d, "refuse", "APPEND"), 22);
    free(md);
    free(report);
    free(dst);
    free(src);
    free(src_dir);
    span = 70000;
    mp_dovecot_stop(d);
}

/* Maildir -> IMAP through a relay that answers the 2nd APPEND command
 * (a batch) "NO [THROTTLED]" and the 4th (counting resent ones) with a
 * throttling BYE: both waited out as the server asked, not taken for
 * dropped connections; every message stored once, byte for byte. The
 * batch refused for now is known not stored (RFC 3502) and is sent again
 * at once; the one the BYE cut off had no answer, so the core looks for
 * it first (it never reached the server: it then sends it again). */
static void test_throttled_batches(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "slow", "pw");
    char *src_dir = dvk_make_source(work, "throttle", 400, 2000);
    char *src = mp_strf("maildir:%s", src_dir);
    const mp_proxy_rule rules[] = {
        {.command = "APPEND",
         .nth = 2,
         .reply = "NO [THROTTLED] Too many uploads, slow down"},
        {.command = "APPEND",
         .nth = 4,
         .bye = 1,
         .reply = "BYE [UNAVAILABLE] Server overloaded, connection "
                  "throttled"},
    };
    mp_tcp_proxy *px = mp_proxy_start_rules(mp_dovecot_port(d), rules, 2);
    char *dst = mp_strf("imap://slow@127.0.0.1:%d?tls=none&password_file=%s"
                        "&multiappend=1",
                        mp_proxy_port(px), mp_dovecot_password_file(d, "slow"));
    char *report = mp_strf("%s/throttle.json", work);
    mp_run_result r =
        run("copy", src, dst, "--jobs", "1", "--no-state", "--report", report);
    mp_expect_exit(&r, 0);
    for (size_t i = 0; i < 2; i++)
        if (mp_proxy_fired(px, i) != 1)
            mp_fail_showing(r.err, "rule %zu fired %d times", i,
                            mp_proxy_fired(px, i));
    assert_contains(r.err, "as the server asked");
    if (strstr(r.err, "(attempt "))
        mp_fail_showing(r.err, "retried as a dropped connection");
    mp_run_free(&r);
    char *json = mp_read_file(report, NULL);
    assert_int_equal((int)mp_json_number(json, "copied"), 400);
    assert_int_equal((int)mp_json_number(json, "failed"), 0);
    free(json);
    char *md = mp_dovecot_maildir(d, "slow");
    dvk_assert_each_once(md, 400);
    /* Batches reached the server, not one APPEND per message. */
    int appends = mp_dovecot_count_commands(d, "slow", "APPEND");
    if (appends >= 40)
        fail_msg("%d APPEND commands for 400 messages", appends);
    mp_proxy_stop(px);
    free(md);
    free(report);
    free(dst);
    free(src);
    free(src_dir);
    mp_dovecot_stop(d);
}

typedef struct killer {
    mp_dovecot *d;
    const char *dir;
    int threshold;
    volatile int stop;
    int killed_at; /* messages stored when killed; -1: never */
} killer;

static void *kill_when_stored(void *arg)
{
    killer *k = arg;
    k->killed_at = -1;
    for (int i = 0; i < 120 * 1000 && !k->stop; i++) {
        int n = dvk_count_files(k->dir, 0);
        if (n >= k->threshold) {
            dvk_kill_whole_server(k->d);
            k->killed_at = n;
            return NULL;
        }
        usleep(1000);
    }
    return NULL;
}

/* Dovecot moves a batch's messages out of tmp/ when it commits the
 * MULTIAPPEND, just before it answers: the server is killed (every
 * process at once) as soon as a batch has been stored beyond the 100th
 * message, most likely before its OK reached mailport. The run fails
 * cleanly (exit 3); after a restart the same copy ends with every message
 * exactly once, and verify agrees. */
static void test_server_killed_under_batches(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "killed", "pw");
    char *src_dir = dvk_make_source(work, "killed", 600, 3000);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = multi_url(d, "killed");
    char *state_db = mp_strf("%s/killed.db", work);
    char *md = mp_dovecot_maildir(d, "killed");
    killer k = {.d = d, .dir = md, .threshold = 100};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, kill_when_stored, &k), 0);
    mp_run_result r = run("copy", src, dst, "--state", state_db);
    k.stop = 1;
    pthread_join(tid, NULL);
    if (k.killed_at < 0)
        mp_fail_showing(r.err, "the copy ended before the server was killed");
    if (r.exit_code >= 128)
        mp_fail_showing(r.err, "mailport died of signal %d", r.exit_code - 128);
    mp_expect_exit(&r, 3);
    mp_run_free(&r);
    printf("killed with %d messages stored\n", k.killed_at);
    mp_dovecot_restart(d);
    r = run("copy", src, dst, "--state", state_db);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    dvk_assert_each_once(md, 600);
    r = run("verify", src, dst);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    free(md);
    free(state_db);
    free(dst);
    free(src);
    free(src_dir);
    mp_dovecot_stop(d);
}

/* 40 messages into Dovecot, with OPTS, through URL form MULTI (1: with
 * multiappend=1): one APPEND per message, every message once. */
static void copy_singly(const mp_dovecot_opts *opts, int multi)
{
    mp_dovecot *d = mp_dovecot_start_opts(opts);
    mp_dovecot_add_user(d, "single", "pw");
    char *src_dir = make_source("single", 40, -1, 0);
    char *src = mp_strf("maildir:%s", src_dir);
    char *plain = mp_dovecot_url(d, "imap", "single");
    char *dst = multi ? multi_url(d, "single")
                      : mp_strf("%s&multiappend=0", plain);
    free(plain);
    mp_run_result r = run("copy", src, dst, "--no-state");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    char *md = mp_dovecot_maildir(d, "single");
    assert_int_equal(assert_destination(md, 40, -1, -1, -1), 40);
    assert_int_equal(mp_dovecot_count_commands(d, "single", "APPEND"), 40);
    free(md);
    free(dst);
    free(src);
    mp_rm_rf(src_dir);
    free(src_dir);
    mp_dovecot_stop(d);
}

/* multiappend=1 and a server without it (Dovecot's capabilities less
 * MULTIAPPEND): pipelined single APPENDs, as before. */
static void test_server_without_multiappend(void **state)
{
    (void)state;
    mp_dovecot_opts o = {
        .capability = "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS "
                      "SPECIAL-USE LIST-EXTENDED CONDSTORE"};
    copy_singly(&o, 1);
}

/* multiappend=0: single APPENDs. */
static void test_off_when_asked(void **state)
{
    (void)state;
    mp_dovecot_opts o = {0};
    copy_singly(&o, 0);
}

/* Without the parameter: batches where the server offers them. */
static void test_on_by_default(void **state)
{
    (void)state;
    mp_dovecot *d = mp_dovecot_start();
    mp_dovecot_add_user(d, "deflt", "pw");
    char *src_dir = make_source("deflt", 40, -1, 0);
    char *src = mp_strf("maildir:%s", src_dir);
    char *dst = mp_dovecot_url(d, "imap", "deflt");
    mp_run_result r = run("copy", src, dst, "--no-state");
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    char *md = mp_dovecot_maildir(d, "deflt");
    assert_int_equal(assert_destination(md, 40, -1, -1, -1), 40);
    int appends = mp_dovecot_count_commands(d, "deflt", "APPEND");
    if (appends < 1 || appends > 4)
        fail_msg("%d APPEND commands for 40 messages: not in batches",
                 appends);
    free(md);
    free(dst);
    free(src);
    mp_rm_rf(src_dir);
    free(src_dir);
    mp_dovecot_stop(d);
}

int main(void)
{
    /* Connections drop here at a relay's BYE (nothing after it reaches
     * Dovecot) or with the whole server killed (restarted only after the
     * run ended): nothing in flight is stored later. */
    mp_short_inflight_wait();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_sets),
        cmocka_unit_test(test_dovecot_refuses_whole_batch),
        cmocka_unit_test(test_copy_in_batches),
        cmocka_unit_test(test_one_refused_in_a_batch),
        cmocka_unit_test(test_throttled_batches),
        cmocka_unit_test(test_server_killed_under_batches),
        cmocka_unit_test(test_server_without_multiappend),
        cmocka_unit_test(test_off_when_asked),
        cmocka_unit_test(test_on_by_default),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
