/* The byte-exact IMAP suite against Cyrus IMAP 3.6 (issue 10), a strict
 * second server beside Dovecot: real corpus messages from a Maildir (three
 * folders in a hierarchy, system flags, keywords, internal dates) and from
 * an mbox (over STARTTLS) arrive byte for byte in CRLF form under Cyrus's
 * "INBOX." namespace, a second run copies nothing, with its state and
 * without, and verify passes. Then a MULTIAPPEND batch with one message
 * Cyrus refuses (a NUL byte; Cyrus fails the whole batch, "NO Message
 * contains NUL characters"): the others are stored once each, the refused
 * one is named with the reason and --repair, and copy --repair then adds
 * it, repaired, duplicating nothing. */
#include "cyrus.h"
#include "cyrus_msgs.h"
#include "sync_check.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static mp_cyrus *cy;
static char *work;
static corpus_msg *msgs;
static size_t n_msgs;

#define N_CLEAN 9

static int setup(void **state)
{
    (void)state;
    cy = mp_cyrus_start();
    mp_cyrus_add_user(cy, "alice", "alice-secret");
    mp_cyrus_add_user(cy, "bob", "bob-secret");
    mp_cyrus_add_user(cy, "carol", "carol-secret");
    work = mp_tmpdir("cyrus-e2e");
    setenv("XDG_STATE_HOME", work, 1);
    n_msgs = clean_corpus_msgs(N_CLEAN, &msgs);
    if (n_msgs != N_CLEAN)
        fail_msg("only %zu clean messages in the corpora", n_msgs);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_cyrus_stop(cy);
    mp_rm_rf(work);
    free(work);
    corpus_msgs_free(msgs, n_msgs);
    return 0;
}

/* Which source folder, Maildir info and keywords each message gets. */
typedef struct placed {
    const char *dir;  /* under the Maildir root: "", ".Work", ".Work.Sub" */
    const char *info; /* standard letters, then keyword letters a, b */
    const char *want; /* the FLAGS Cyrus must give back */
    const char *folder;
} placed;

static const placed places[] = {
    {"", "S", "\\Seen", "INBOX"},
    {"", "RS", "\\Answered \\Seen", "INBOX"},
    {"", "", "", "INBOX"},
    {".Work", "Fa", "\\Flagged Work", "INBOX.Work"},
    {".Work", "Sab", "\\Seen Work $Forwarded", "INBOX.Work"},
    {".Work", "DS", "\\Seen \\Draft", "INBOX.Work"},
    {".Work.Sub", "Sb", "\\Seen $Forwarded", "INBOX.Work.Sub"},
    {".Work.Sub", "FRS", "\\Answered \\Flagged \\Seen", "INBOX.Work.Sub"},
    {".Work.Sub", "T", "\\Deleted", "INBOX.Work.Sub"},
};

/* Is every flag of WANT in GOT, and GOT no longer (same count)? */
static int same_flags(const char *want, const char *got)
{
    char *w = strdup(want);
    size_t nw = 0, ng = 0;
    int ok = 1;
    for (char *t = strtok(w, " "); t; t = strtok(NULL, " ")) {
        nw++;
        size_t tl = strlen(t);
        const char *p = got;
        int found = 0;
        while ((p = strstr(p, t))) {
            if ((p == got || p[-1] == ' ') && (p[tl] == ' ' || !p[tl]))
                found = 1;
            p += tl;
        }
        ok &= found;
    }
    for (const char *p = got; *p; p++)
        ng += (p == got || p[-1] == ' ') && *p != ' ';
    free(w);
    return ok && nw == ng;
}

static time_t date_of(size_t i)
{
    return 1600000000 + (time_t)i * 86413;
}

static char *make_maildir(const char *tag)
{
    char *root = mp_strf("%s/%s", work, tag);
    for (size_t i = 0; i < n_msgs; i++) {
        char *dir = mp_strf("%s/%s", root, places[i].dir);
        char *name = mp_strf("%lld.M%zuP1.host", (long long)date_of(i), i);
        put_maildir_msg(dir, name, places[i].info, msgs[i].text, msgs[i].len,
                        date_of(i));
        char *kw = mp_strf("%s/dovecot-keywords", dir);
        static const char kws[] = "0 Work\n1 $Forwarded\n";
        mp_write_file(kw, kws, sizeof kws - 1);
        free(kw);
        free(name);
        free(dir);
    }
    return root;
}

/* Every source message is in its folder once, byte for byte in CRLF
 * form, with its flags and internal date; no folder holds more. */
static void assert_arrived(const char *user, int with_places)
{
    const char *folders[] = {"INBOX", "INBOX.Work", "INBOX.Work.Sub"};
    size_t seen = 0;
    for (size_t k = 0; k < 3; k++) {
        if (!with_places && k > 0)
            break;
        server_folder f = fetch_folder(cy, user, folders[k]);
        seen += f.n;
        for (size_t i = 0; i < n_msgs; i++) {
            if (with_places && strcmp(places[i].folder, folders[k]) != 0)
                continue;
            size_t wl;
            char *wire = mp_crlf_form(msgs[i].text, msgs[i].len, &wl);
            size_t j = 0;
            while (j < f.n &&
                   !(f.v[j].len == wl && memcmp(f.v[j].body, wire, wl) == 0))
                j++;
            if (j == f.n)
                fail_msg("%s of %s holds no copy of %s", folders[k], user,
                         msgs[i].path);
            assert_int_equal(count_bytes(&f, wire, wl), 1);
            if (with_places) {
                if (!same_flags(places[i].want, f.v[j].flags))
                    fail_msg("%s in %s: flags (%s), want (%s)", msgs[i].path,
                             folders[k], f.v[j].flags, places[i].want);
                assert_int_equal((long long)f.v[j].internaldate,
                                 (long long)date_of(i));
            }
            free(wire);
        }
        server_folder_free(&f);
    }
    assert_int_equal(seen, n_msgs);
}

static void maildir_to_cyrus_byte_exact(void **state)
{
    (void)state;
    char *root = make_maildir("md");
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_cyrus_url(cy, "imap", "alice");
    char *st = mp_strf("%s/alice.sqlite", work);
    char *rep = mp_strf("%s/alice.json", work);

    char *r = sync_copy(src, dst, st, rep, 0, NULL);
    sync_assert_counts(r, (int)n_msgs, 0, 0, 0);
    free(r);
    char *list = mp_cyrus_command(cy, "alice", "LIST \"\" \"*\"");
    assert_contains(list, "\".\" INBOX.Work\r\n");
    assert_contains(list, "\".\" INBOX.Work.Sub\r\n");
    free(list);
    assert_arrived("alice", 1);

    /* Again: with the state, then without it (pairing by content). */
    r = sync_copy(src, dst, st, rep, 0, NULL);
    sync_assert_counts(r, 0, (int)n_msgs, 0, 0);
    free(r);
    mp_run_result v =
        mp_run("copy", src, dst, "--no-state", "--report", rep, NULL);
    mp_expect_exit(&v, 0);
    mp_run_free(&v);
    r = mp_read_file(rep, NULL);
    sync_assert_counts(r, 0, (int)n_msgs, 0, 0);
    free(r);
    assert_arrived("alice", 1);

    v = mp_run("verify", src, dst, NULL);
    mp_expect_exit(&v, 0);
    mp_run_free(&v);
    /* And back out of Cyrus into a Maildir: the same bytes, LF form.
     * Folders under "INBOX." come back as inbox children (INBOX/Work,
     * README "The inbox as the namespace"), so verify compares Cyrus with
     * that Maildir. */
    char *back = mp_strf("%s/back", work);
    char *back_url = mp_strf("maildir:%s", back);
    v = mp_run("copy", dst, back_url, "--no-state", NULL);
    mp_expect_exit(&v, 0);
    mp_run_free(&v);
    v = mp_run("verify", dst, back_url, NULL);
    mp_expect_exit(&v, 0);
    mp_run_free(&v);

    free(back);
    free(back_url);
    free(root);
    free(src);
    free(dst);
    free(st);
    free(rep);
}

static void mbox_to_cyrus_over_starttls(void **state)
{
    (void)state;
    char *path = mp_strf("%s/in.mbox", work);
    char *text = strdup("");
    for (size_t i = 0; i < n_msgs; i++) {
        /* mboxrd: body lines starting ">*From " get one more '>'. */
        char *esc = strdup("");
        for (const char *l = msgs[i].text; *l;) {
            const char *e = strchr(l, '\n');
            size_t n = e ? (size_t)(e - l) + 1 : strlen(l);
            const char *q = l;
            while (*q == '>')
                q++;
            char *next =
                mp_strf("%s%s%.*s", esc, strncmp(q, "From ", 5) == 0 ? ">" : "",
                        (int)n, l);
            free(esc);
            esc = next;
            l += n;
        }
        char *next = mp_strf("%sFrom sender@example.org Mon Mar  4 09:00:%02zu "
                             "2024\n%s\n",
                             text, i, esc);
        free(esc);
        free(text);
        text = next;
    }
    mp_write_file(path, text, strlen(text));
    free(text);
    char *src = mp_strf("mbox:%s", path);
    char *dst = mp_cyrus_url(cy, "starttls", "bob");
    char *st = mp_strf("%s/bob.sqlite", work);
    char *rep = mp_strf("%s/bob.json", work);
    char *r = sync_copy(src, dst, st, rep, 0, NULL);
    sync_assert_counts(r, (int)n_msgs, 0, 0, 0);
    free(r);
    assert_arrived("bob", 0);
    server_folder f = fetch_folder(cy, "bob", "INBOX");
    for (size_t j = 0; j < f.n; j++)
        assert_true(f.v[j].internaldate >= 1709542800 &&
                    f.v[j].internaldate < 1709542800 + (time_t)n_msgs);
    server_folder_free(&f);
    r = sync_copy(src, dst, st, rep, 0, NULL);
    sync_assert_counts(r, 0, (int)n_msgs, 0, 0);
    free(r);
    mp_run_result v = mp_run("verify", src, dst, NULL);
    mp_expect_exit(&v, 0);
    mp_run_free(&v);
    free(path);
    free(src);
    free(dst);
    free(st);
    free(rep);
}

static const char nul_msg[] = "From: a@example.org\n"
                              "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                              "Message-ID: <nul-in-batch@example.org>\n"
                              "Subject: one NUL\n\n"
                              "before\0after\n";
static const char nul_repaired[] = "From: a@example.org\n"
                                   "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                                   "Message-ID: <nul-in-batch@example.org>\n"
                                   "Subject: one NUL\n\n"
                                   "beforeafter\n";

/* Cyrus answers a MULTIAPPEND with one bad message by refusing the whole
 * command (RFC 3502: nothing stored); mailport sends that batch's
 * messages again one by one. */
static void a_refusal_inside_a_multiappend_batch(void **state)
{
    (void)state;
    char *root = mp_strf("%s/batch", work);
    for (size_t i = 0; i < n_msgs; i++) {
        char *name = mp_strf("%lld.M%zuP1.host", (long long)date_of(i), i);
        put_maildir_msg(root, name, "S", msgs[i].text, msgs[i].len, date_of(i));
        free(name);
        if (i == n_msgs / 2)
            put_maildir_msg(root, "1600000000.nul.host", "S", nul_msg,
                            sizeof nul_msg - 1, 1600000000);
    }
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_cyrus_url(cy, "imap", "carol");
    char *st = mp_strf("%s/carol.sqlite", work);
    char *rep = mp_strf("%s/carol.json", work);

    mp_run_result v =
        mp_run("copy", src, dst, "--state", st, "--report", rep, "-vv", NULL);
    mp_expect_exit(&v, 1);
    /* Batches were used, and Cyrus refused one of them. */
    assert_contains(v.err, "server refused a MULTIAPPEND");
    assert_contains(v.err, "server refused the message: Message contains NUL "
                           "characters; the message has a NUL byte at offset");
    assert_contains(v.err, "run copy again with --repair to send it repaired");
    mp_run_free(&v);
    char *r = mp_read_file(rep, NULL);
    sync_assert_counts(r, (int)n_msgs, 0, 0, 1);
    free(r);
    assert_arrived("carol", 0);

    /* Again without --repair: the same refusal, nothing added. */
    r = sync_copy(src, dst, st, rep, 1, NULL);
    sync_assert_counts(r, 0, (int)n_msgs, 0, 1);
    free(r);
    assert_arrived("carol", 0);

    /* --repair: only the refused one goes, repaired, once. */
    r = sync_copy(src, dst, st, rep, 0, "--repair", NULL);
    sync_assert_counts(r, 1, (int)n_msgs, 0, 0);
    assert_int_equal((int)mp_json_number(r, "repaired"), 1);
    free(r);
    server_folder f = fetch_folder(cy, "carol", "INBOX");
    assert_int_equal(f.n, n_msgs + 1);
    size_t wl;
    char *wire = mp_crlf_form(nul_repaired, sizeof nul_repaired - 1, &wl);
    assert_int_equal(count_bytes(&f, wire, wl), 1);
    free(wire);
    server_folder_free(&f);
    v = mp_run("verify", src, dst, "--repair", NULL);
    mp_expect_exit(&v, 0);
    assert_contains(v.out, "repaired     INBOX  <nul-in-batch@example.org>  "
                           "NUL removed (1)\n");
    mp_run_free(&v);

    free(root);
    free(src);
    free(dst);
    free(st);
    free(rep);
}

int main(void)
{
    MP_CYRUS_SKIP_UNLESS_AVAILABLE();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maildir_to_cyrus_byte_exact),
        cmocka_unit_test(mbox_to_cyrus_over_starttls),
        cmocka_unit_test(a_refusal_inside_a_multiappend_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
