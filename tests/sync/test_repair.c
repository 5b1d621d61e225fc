/* copy --repair against a real Dovecot and into a Maildir (issue 10): a
 * message with a NUL byte (which Dovecot stores as 0x80), one with 8-bit
 * Latin-1 header text, a stray mbox From_ line, a header line that is no
 * field and no Date or Message-ID, and one too big for the server because
 * of its NUL bytes are stored repaired: the exact bytes fetched back over
 * IMAP are the repair's, the report lists each repair with the original's
 * SHA-256, a second pass (with the state, and without it) copies nothing,
 * verify --repair pairs every copy and exits 0 with "repaired" lines while
 * plain verify exits 4 and points at --repair. A message refused without
 * --repair is stored by a copy --repair after it.
 *
 * The harness's Dovecot refuses messages over quota_max_mail_size (its
 * max_mail_size option): the big message is over it with its NULs and
 * under it without them. */
#include "dovecot.h"
#include "maildir_walk.h"
#include "repair.h"
#include "sync_check.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct fixture {
    mp_dovecot *dc;
    char *dir, *src, *src_url, *report;
    char *big;
    size_t big_len;
} fixture;

/* The messages, as the source holds them, and as they must be stored. */
static const char nul_in[] = "From: a@example.org\n"
                             "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                             "Message-ID: <nul@example.org>\n\n"
                             "before\0after\n";
static const char nul_out[] = "From: a@example.org\n"
                              "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                              "Message-ID: <nul@example.org>\n\n"
                              "beforeafter\n";
static const char latin_in[] =
    "From someone@example.org Mon Mar  4 09:00:00 2024\n"
    "From: a@example.org\n"
    "Subject: caf\xe9 cr\xe8me\n"
    "this line is no field\n\nbody\n";
/* %.16s: the original's hash. Its internal date is 1709542802. */
static const char latin_out_fmt[] =
    "From: a@example.org\n"
    "Subject: =?iso-8859-1?b?Y2Fm6SBjcuhtZQ==?=\n"
    " this line is no field\n"
    "Date: Mon, 04 Mar 2024 09:00:02 +0000\n"
    "Message-ID: <mailport.%.16s@repaired.invalid>\n\nbody\n";
static const char latin_changes[] =
    "header line without a colon folded into the field before (1), header "
    "line without a colon dropped (1), 8-bit header text encoded as RFC 2047 "
    "words (1 field, windows-1252), Date added, Message-ID added";
static const char clean[] = "From: a@example.org\n"
                            "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                            "Message-ID: <clean@example.org>\n\nclean\n";
static const char big_head[] = "From: a@example.org\n"
                               "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                               "Message-ID: <fat@example.org>\n\n";
#define BIG_TEXT 12000 /* then 10000 NULs, then a line break */
#define BIG_NULS 10000

static void put(const char *root, const char *name, const char *text,
                size_t len, long mtime)
{
    char *path = mp_strf("%s/cur/%s", root, name);
    mp_write_file(path, text, len);
    mp_sh("touch -d @%ld '%s'", mtime, path);
    free(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mp_dovecot_opts o = {.max_mail_size = 20000};
    f->dc = mp_dovecot_start_opts(&o);
    mp_dovecot_add_users(f->dc, "rita", "rita-secret", "sam", "sam-secret",
                         NULL);
    f->dir = mp_tmpdir("repair");
    f->src = mp_strf("%s/src", f->dir);
    f->src_url = mp_strf("maildir:%s", f->src);
    f->report = mp_strf("%s/report.json", f->dir);
    setenv("XDG_STATE_HOME", f->dir, 1);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", f->src, f->src, f->src);
    put(f->src, "1709542801.nul.host:2,S", nul_in, sizeof nul_in - 1,
        1709542801);
    put(f->src, "1709542802.latin.host:2,S", latin_in, sizeof latin_in - 1,
        1709542802);
    put(f->src, "1709542803.clean.host:2,S", clean, sizeof clean - 1,
        1709542803);
    f->big_len = sizeof big_head - 1 + BIG_TEXT + BIG_NULS + 1;
    f->big = malloc(f->big_len);
    memcpy(f->big, big_head, sizeof big_head - 1);
    char *p = f->big + sizeof big_head - 1;
    for (size_t i = 0; i < BIG_TEXT; i++)
        p[i] = i % 61 == 60 ? '\n' : 'x';
    memset(p + BIG_TEXT, 0, BIG_NULS);
    p[BIG_TEXT + BIG_NULS] = '\n';
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mp_dovecot_stop(f->dc);
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->src);
    free(f->src_url);
    free(f->report);
    free(f->big);
    free(f);
    return 0;
}

/* The LF-form SHA-256 of the source message whose file name starts with
 * PREFIX (the strict content hash, digest.h), from an independent reader. */
static char *source_hash(fixture *f, const char *prefix)
{
    walked_dir w = walk_maildir(f->src);
    char *hash = NULL;
    for (size_t i = 0; i < w.n; i++)
        if (strstr(w.v[i].path, prefix))
            hash = strdup(w.v[i].hash);
    walked_free(&w);
    assert_non_null(hash);
    return hash;
}

typedef struct fetched {
    char *data[8];
    size_t len[8];
    size_t n;
} fetched;

/* Every message of USER's INBOX, its bytes as the server sends them. */
static fetched fetch_all(fixture *f, const char *user)
{
    const char *const cmds[] = {"SELECT INBOX", "UID FETCH 1:* BODY.PEEK[]",
                                NULL};
    char *all = mp_dovecot_session(f->dc, user, cmds);
    fetched out = {0};
    for (char *p = all; (p = strstr(p, "BODY[] {"));) {
        p += strlen("BODY[] {");
        size_t n = strtoul(p, &p, 10);
        assert_true(p[0] == '}' && p[1] == '\r' && p[2] == '\n');
        p += 3;
        assert_true(out.n < 8);
        out.data[out.n] = malloc(n + 1);
        memcpy(out.data[out.n], p, n);
        out.data[out.n][n] = '\0';
        out.len[out.n++] = n;
        p += n;
    }
    free(all);
    return out;
}

static void fetched_free(fetched *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->data[i]);
}

/* M holds WANT (LF form) exactly, sent as CRLF. */
static void assert_holds(const fetched *m, const char *want, size_t len)
{
    size_t n;
    char *wire = mp_crlf_form(want, len, &n);
    for (size_t i = 0; i < m->n; i++)
        if (m->len[i] == n && memcmp(m->data[i], wire, n) == 0) {
            free(wire);
            return;
        }
    fail_msg("the server holds no message of these bytes:\n%s", want);
}

/* copy SRC DST --repair, with the state ST or none (NULL): exit 0, and
 * COPIED copied, SKIPPED already present, REPAIRED repaired. */
static void copy_repair(fixture *f, const char *src, const char *dst,
                        const char *st, int copied, int skipped, int repaired)
{
    mp_run_result r = st ? mp_run("copy", src, dst, "--repair", "--state", st,
                                  "--report", f->report, NULL)
                         : mp_run("copy", src, dst, "--repair", "--no-state",
                                  "--report", f->report, NULL);
    if (r.exit_code != 0)
        fail_msg("copy --repair exit %d:\n%s", r.exit_code, r.err);
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, copied, skipped, 0, 0);
    assert_int_equal((int)mp_json_number(rep, "repaired"), repaired);
    free(rep);
}

static void copy_repair_stores_repaired_messages_on_dovecot(void **state)
{
    fixture *f = *state;
    char *imap = mp_dovecot_url(f->dc, "imap", "rita");
    char *st = mp_strf("%s/rita.sqlite", f->dir);
    put(f->src, "1709542804.big.host:2,S", f->big, f->big_len, 1709542804);

    mp_run_result r = mp_run("copy", f->src_url, imap, "--repair", "--state",
                             st, "--report", f->report, NULL);
    if (r.exit_code != 0)
        fail_msg("copy --repair exit %d:\n%s", r.exit_code, r.err);
    assert_contains(r.err, ", repaired 3 (of those copied; see the report)");
    assert_null(strstr(r.err, "altered"));
    mp_run_free(&r);

    /* The exact bytes the server gives back. */
    char *latin_hash = source_hash(f, "latin");
    char *latin_out = mp_strf(latin_out_fmt, latin_hash);
    fetched m = fetch_all(f, "rita");
    assert_int_equal(m.n, 4);
    assert_holds(&m, nul_out, sizeof nul_out - 1);
    assert_holds(&m, latin_out, strlen(latin_out));
    assert_holds(&m, clean, sizeof clean - 1);
    size_t big_out_len = sizeof big_head - 1 + BIG_TEXT + 1;
    char *big_out = malloc(big_out_len + 1);
    memcpy(big_out, f->big, big_out_len - 1);
    big_out[big_out_len - 1] = '\n';
    big_out[big_out_len] = '\0';
    assert_holds(&m, big_out, big_out_len);
    fetched_free(&m);

    /* The report: copied 4, repaired 3, each with the original's hash. */
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 4, 0, 0, 0);
    assert_int_equal((int)mp_json_number(rep, "repaired"), 3);
    char *nul_hash = source_hash(f, "nul"), *big_hash = source_hash(f, "big");
    char *e1 = mp_strf("{\"folder\": \"INBOX\", \"message\": "
                       "\"<nul@example.org>\", \"changes\": \"NUL removed "
                       "(1)\", \"original_sha256\": \"%s\"}",
                       nul_hash);
    char *e2 = mp_strf("{\"folder\": \"INBOX\", \"message\": \"key "
                       "1709542802.latin.host\", \"changes\": \"%s\", "
                       "\"original_sha256\": \"%s\"}",
                       latin_changes, latin_hash);
    char *e3 = mp_strf("{\"folder\": \"INBOX\", \"message\": "
                       "\"<fat@example.org>\", \"changes\": \"NUL removed "
                       "(10000)\", \"original_sha256\": \"%s\"}",
                       big_hash);
    assert_contains(rep, e1);
    assert_contains(rep, e2);
    assert_contains(rep, e3);
    assert_contains(rep, "\"altered_messages\": []");
    free(rep);

    /* Again, with the state and without it: nothing to copy. */
    copy_repair(f, f->src_url, imap, st, 0, 4, 0);
    copy_repair(f, f->src_url, imap, NULL, 0, 4, 0);
    m = fetch_all(f, "rita");
    assert_int_equal(m.n, 4);
    fetched_free(&m);

    /* verify --repair: each repaired copy is "repaired", exit 0. */
    r = mp_run("verify", f->src_url, imap, "--repair", NULL);
    if (r.exit_code != 0)
        fail_msg("verify --repair exit %d:\n%s%s", r.exit_code, r.out, r.err);
    assert_contains(r.out, "repaired     INBOX  <nul@example.org>  NUL "
                           "removed (1)\n");
    assert_contains(r.out, "repaired     INBOX  <fat@example.org>  NUL "
                           "removed (10000)\n");
    char *line = mp_strf("repaired     INBOX  key 1709542802.latin.host  %s\n",
                         latin_changes);
    assert_contains(r.out, line);
    assert_null(strstr(r.out, "missing"));
    assert_null(strstr(r.out, "extra"));
    assert_contains(r.err, "mailport: 3 messages copied repaired");
    mp_run_free(&r);
    /* Plain verify: differences, and the way to read them. */
    r = mp_run("verify", f->src_url, imap, NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "different    INBOX  <nul@example.org>  ");
    assert_contains(r.out, "the copy is the source message repaired (NUL "
                           "removed (1)): verify --repair reports it as "
                           "repaired\n");
    assert_contains(r.out, "missing      INBOX  key 1709542802.latin.host  "
                           "DEST holds it repaired (");
    assert_contains(r.err, "mailport: 3 missing or different messages are in "
                           "DEST as copy --repair repairs it: verify --repair "
                           "reports them as repaired\n");
    mp_run_free(&r);

    free(line);
    free(e1);
    free(e2);
    free(e3);
    free(nul_hash);
    free(big_hash);
    free(big_out);
    free(latin_out);
    free(latin_hash);
    free(st);
    free(imap);
}

static void a_refused_message_is_stored_by_copy_repair(void **state)
{
    fixture *f = *state;
    char *imap = mp_dovecot_url(f->dc, "imap", "sam");
    char *st = mp_strf("%s/sam.sqlite", f->dir);
    char *src = mp_strf("%s/big", f->dir);
    char *src_url = mp_strf("maildir:%s", src);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", src, src, src);
    put(src, "1709542804.big.host:2,S", f->big, f->big_len, 1709542804);

    mp_run_result r = mp_run("copy", src_url, imap, "--state", st, "--report",
                             f->report, NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.err, "refused the message: Mail size is larger than");
    assert_contains(r.err, "; the message has 10000 NUL bytes (the first at "
                           "offset 12088, line 201) and a line longer than "
                           "998 octets (line 201: 10044 octets), which "
                           "servers may refuse: run copy again with --repair "
                           "to send it "
                           "repaired, or correct the message at the source "
                           "and run copy again, which sends only what is "
                           "missing\n");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 0, 0, 0, 1);
    free(rep);

    copy_repair(f, src_url, imap, st, 1, 0, 1);
    fetched m = fetch_all(f, "sam");
    assert_int_equal(m.n, 1);
    size_t want_len = sizeof big_head - 1 + BIG_TEXT + 1;
    char *want = malloc(want_len);
    memcpy(want, f->big, want_len - 1);
    want[want_len - 1] = '\n';
    size_t wire_len;
    char *wire = mp_crlf_form(want, want_len, &wire_len);
    assert_int_equal(m.len[0], wire_len);
    assert_memory_equal(m.data[0], wire, wire_len);
    fetched_free(&m);
    free(wire);
    free(want);
    free(src_url);
    free(src);
    free(st);
    free(imap);
}

/* Into a Maildir: the files hold the repaired bytes; passes after copy
 * nothing; verify --repair exits 0. */
static void copy_repair_into_a_maildir(void **state)
{
    fixture *f = *state;
    char *dst = mp_strf("%s/dst", f->dir);
    char *dst_url = mp_strf("maildir:%s", dst);
    char *st = mp_strf("%s/md.sqlite", f->dir);
    copy_repair(f, f->src_url, dst_url, st, 3, 0, 2);
    walked_dir w = walk_maildir(dst);
    assert_int_equal(w.n, 3);
    char *latin_hash = source_hash(f, "latin");
    char *latin_out = mp_strf(latin_out_fmt, latin_hash);
    int found = 0;
    for (size_t i = 0; i < w.n; i++) {
        size_t len;
        char *data = mp_read_file(w.v[i].path, &len);
        found +=
            (len == sizeof nul_out - 1 && memcmp(data, nul_out, len) == 0) ||
            (len == strlen(latin_out) && memcmp(data, latin_out, len) == 0);
        free(data);
    }
    assert_int_equal(found, 2);
    walked_free(&w);
    copy_repair(f, f->src_url, dst_url, st, 0, 3, 0);
    copy_repair(f, f->src_url, dst_url, NULL, 0, 3, 0);
    mp_run_result r = mp_run("verify", f->src_url, dst_url, "--repair",
                             "--report", f->report, NULL);
    if (r.exit_code != 0)
        fail_msg("verify --repair exit %d:\n%s%s", r.exit_code, r.out, r.err);
    mp_run_free(&r);
    /* verify's report lists them under "repaired", with the changes. */
    char *rep = mp_read_file(f->report, NULL);
    assert_contains(rep, "\"repaired\": [{\"folder\": \"INBOX\", \"message\": "
                         "\"<nul@example.org>\", \"detail\": \"NUL removed "
                         "(1)\"}, ");
    char *entry = mp_strf("{\"folder\": \"INBOX\", \"message\": \"key "
                          "1709542802.latin.host\", \"detail\": \"%s\"}]",
                          latin_changes);
    assert_contains(rep, entry);
    assert_contains(rep, "\"missing\": [],");
    assert_contains(rep, "\"extra\": [],");
    assert_contains(rep, "\"different\": [],");
    free(entry);
    free(rep);
    free(latin_out);
    free(latin_hash);
    free(st);
    free(dst_url);
    free(dst);
}

/* A message over MP_REPAIR_MAX (64 MiB), here 65 MiB of 75-octet lines
 * with HOLE a NUL (a finding) or not, LF line ends. */
static char *huge_message(const char *id, int hole, size_t *len)
{
    char *head = mp_strf("From: a@example.org\n"
                         "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                         "Message-ID: <%s@example.org>\n\n",
                         id);
    size_t h = strlen(head), n = h + 65u * 1024 * 1024;
    char *m = malloc(n);
    assert_non_null(m);
    memcpy(m, head, h);
    for (size_t i = h; i < n; i++)
        m[i] = (i - h) % 76 == 75 ? '\n' : 'a' + (char)((i - h) % 76 % 26);
    m[n - 1] = '\n';
    if (hole)
        m[h + 40u * 1024 * 1024 + 3] = '\0';
    free(head);
    *len = n;
    return m;
}

static int big_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = mp_tmpdir("repair-big");
    f->src = mp_strf("%s/src", f->dir);
    f->src_url = mp_strf("maildir:%s", f->src);
    f->report = mp_strf("%s/report.json", f->dir);
    setenv("XDG_STATE_HOME", f->dir, 1);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", f->src, f->src, f->src);
    *state = f;
    return 0;
}

static int big_teardown(void **state)
{
    fixture *f = *state;
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->src);
    free(f->src_url);
    free(f->report);
    free(f);
    return 0;
}

/* How many files of Maildir DIR hold exactly TEXT (LEN bytes). */
static int maildir_holds(const char *dir, const char *text, size_t len)
{
    walked_dir w = walk_maildir(dir);
    int found = 0;
    for (size_t i = 0; i < w.n; i++) {
        size_t got;
        char *data = mp_read_file(w.v[i].path, &got);
        found += got == len && memcmp(data, text, len) == 0;
        free(data);
    }
    walked_free(&w);
    return found;
}

static void a_message_over_64_mib_is_sent_as_it_is(void **state)
{
    fixture *f = *state;
    /* One with a NUL (a finding --repair would mend), one without, and the
     * small NUL message, which is repaired as ever. */
    size_t holed_len, plain_len;
    char *holed = huge_message("huge", 1, &holed_len);
    char *plain = huge_message("plain-huge", 0, &plain_len);
    assert_true(holed_len > MP_REPAIR_MAX);
    put(f->src, "1709542810.huge.host:2,S", holed, holed_len, 1709542810);
    put(f->src, "1709542811.plain.host:2,S", plain, plain_len, 1709542811);
    put(f->src, "1709542801.nul.host:2,S", nul_in, sizeof nul_in - 1,
        1709542801);
    char *dst = mp_strf("%s/dst", f->dir);
    char *dst_url = mp_strf("maildir:%s", dst);
    mp_run_result r = mp_run("copy", f->src_url, dst_url, "--repair",
                             "--report", f->report, NULL);
    if (r.exit_code != 0)
        mp_fail_showing(r.err, "copy --repair exit %d", r.exit_code);
    /* Warned about once: the one with a finding. */
    static const char warning[] =
        "mailport: warning: message <huge@example.org> in folder INBOX is "
        "larger than 64 MiB, too big to repair: sent as it is\n";
    assert_contains(r.err, warning);
    assert_null(strstr(strstr(r.err, warning) + sizeof warning - 1,
                       "too big to repair"));
    assert_null(strstr(r.err, "plain-huge"));
    assert_contains(r.err, "repaired 1 (of those copied; see the report)");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 3, 0, 0, 0);
    assert_int_equal((int)mp_json_number(rep, "repaired"), 1);
    assert_contains(rep, "\"message\": \"<nul@example.org>\", \"changes\": "
                         "\"NUL removed (1)\"");
    assert_null(strstr(rep, "huge@example.org"));
    free(rep);
    /* Both stored byte for byte, the NUL kept; the small one repaired. */
    assert_int_equal(maildir_holds(dst, holed, holed_len), 1);
    assert_int_equal(maildir_holds(dst, plain, plain_len), 1);
    assert_int_equal(maildir_holds(dst, nul_out, sizeof nul_out - 1), 1);
    /* verify --repair: the big ones the same as their sources, exit 0. */
    r = mp_run("verify", f->src_url, dst_url, "--repair", NULL);
    if (r.exit_code != 0)
        mp_fail_showing(r.err, "verify --repair exit %d:\n%s", r.exit_code,
                        r.out);
    assert_null(strstr(r.out, "huge"));
    assert_contains(r.out, "repaired     INBOX  <nul@example.org>  NUL "
                           "removed (1)\n");
    mp_run_free(&r);
    free(dst_url);
    free(dst);
    free(plain);
    free(holed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            copy_repair_stores_repaired_messages_on_dovecot, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_refused_message_is_stored_by_copy_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_repair_into_a_maildir, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_message_over_64_mib_is_sent_as_it_is,
                                        big_setup, big_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
