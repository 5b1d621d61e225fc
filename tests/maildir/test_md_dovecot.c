/* Maildir flags as Dovecot 2.3 reads them (issue 13): a real Dovecot serves
 * Maildirs written by hand, by mailport and by itself, and its FETCH FLAGS
 * (read with a raw IMAP session, not mailport) is the judge.
 *
 * What Dovecot does, asserted first so a change in Dovecot shows here: the
 * info letter 'P' (passed) is not served at all, and the letter that
 * dovecot-keywords names "$Forwarded" is served as $Forwarded. */
#include "testutil.h"

#include "dovecot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static mp_dovecot *dv;

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "hand", "pw-hand", "src", "pw-src", "dst",
                         "pw-dst", "back", "pw-back", (char *)NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dv);
    return 0;
}

/* The FLAGS Dovecot serves for the message of FOLDER whose Subject is
 * SUBJECT ("" when no message has it), '\Recent' left out. */
static char *served_flags(const char *user, const char *folder,
                          const char *subject)
{
    char *sel = mp_strf("EXAMINE \"%s\"", folder);
    const char *cmds[] = {
        sel, "FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", NULL};
    char *answer = mp_dovecot_session(dv, user, cmds);
    free(sel);
    char *want = mp_strf("Subject: %s\r\n", subject);
    char *out = strdup("");
    /* Each "* N FETCH (FLAGS (...) BODY[...] {n}" line, then the literal. */
    for (char *p = answer; (p = strstr(p, " FETCH (FLAGS (")); p++) {
        char *flags = p + 15, *end = strchr(flags, ')');
        char *next = strstr(p + 1, " FETCH (FLAGS (");
        char *hit = strstr(end, want);
        if (!hit || (next && hit > next))
            continue;
        free(out);
        out = strndup(flags, (size_t)(end - flags));
        break;
    }
    free(want);
    free(answer);
    return out;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FLAGS as a sorted, space-separated set, without \Recent (session
 * state, not the message's). */
static char *flag_set(const char *flags)
{
    char *copy = strdup(flags), *words[32], *save = NULL;
    size_t n = 0;
    for (char *w = strtok_r(copy, " ", &save); w && n < 32;
         w = strtok_r(NULL, " ", &save))
        if (strcmp(w, "\\Recent") != 0)
            words[n++] = w;
    qsort(words, n, sizeof *words, str_cmp);
    char *out = strdup("");
    for (size_t i = 0; i < n; i++) {
        char *next = mp_strf("%s%s%s", out, i ? " " : "", words[i]);
        free(out);
        out = next;
    }
    free(copy);
    return out;
}

static void expect_flags(const char *user, const char *folder,
                         const char *subject, const char *want)
{
    char *raw = served_flags(user, folder, subject);
    char *got = flag_set(raw), *expect = flag_set(want);
    free(raw);
    if (strcmp(got, expect) != 0)
        fail_msg("%s/%s, message \"%s\": Dovecot serves FLAGS (%s), "
                 "expected (%s)",
                 user, folder, subject, got, expect);
    free(got);
    free(expect);
}

static void write_msg(const char *dir, const char *name, const char *subject)
{
    char *path = mp_strf("%s/cur/%s", dir, name);
    char *text = mp_strf("Message-ID: <%s@example.org>\nSubject: %s\n\n%s\n",
                         subject, subject, subject);
    mp_write_file(path, text, strlen(text));
    free(text);
    free(path);
}

static void make_folder(const char *dir)
{
    if (mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", dir, dir, dir) != 0)
        fail_msg("mkdir %s", dir);
}

static void expect_exit(mp_run_result *r, int code, const char *what)
{
    if (r->exit_code != code)
        fail_msg("%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", what,
                 r->exit_code, code, r->out, r->err);
}

/* Dovecot's own reading of the two forms, on a Maildir written by hand. */
static void test_what_dovecot_serves(void **state)
{
    (void)state;
    char *md = mp_dovecot_maildir(dv, "hand");
    char *dir = mp_strf("%s/.Forms", md);
    make_folder(md);
    make_folder(dir);
    write_msg(dir, "1700000001.M1P1.t:2,PS", "letter-P");
    write_msg(dir, "1700000002.M2P1.t:2,Sa", "keyword");
    write_msg(dir, "1700000003.M3P1.t:2,S", "neither");
    char *kw = mp_strf("%s/dovecot-keywords", dir);
    mp_write_file(kw, "0 $Forwarded\n", 13);
    mp_dovecot_fix_owner(dv);
    expect_flags("hand", "Forms", "letter-P", "\\Seen");
    expect_flags("hand", "Forms", "keyword", "\\Seen $Forwarded");
    expect_flags("hand", "Forms", "neither", "\\Seen");

    /* mailport reads both forms: the 'P' message arrives in IMAP with
     * $Forwarded, which Dovecot alone would not have given it. */
    char *src = mp_strf("maildir:%s", md);
    char *dst = mp_dovecot_url(dv, "imap", "back");
    mp_run_result r = mp_run("copy", src, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "copy the hand-made Maildir into IMAP");
    mp_run_free(&r);
    expect_flags("back", "Forms", "letter-P", "\\Seen $Forwarded");
    expect_flags("back", "Forms", "keyword", "\\Seen $Forwarded");
    expect_flags("back", "Forms", "neither", "\\Seen");
    r = mp_run("verify", src, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "verify");
    mp_run_free(&r);
    free(src);
    free(dst);
    free(kw);
    free(dir);
    free(md);
}

/* IMAP (with $Forwarded) -> a Maildir written by mailport -> served by
 * Dovecot: the flag is there; and a Maildir Dovecot itself wrote reads back
 * the same. */
static void test_mailport_maildir_served_by_dovecot(void **state)
{
    (void)state;
    free(mp_dovecot_command(dv, "src", "CREATE Fwd"));
    struct {
        const char *subject, *flags, *served;
    } msgs[] = {
        {"fwd-seen", "$Forwarded \\Seen", "\\Seen $Forwarded"},
        {"fwd-only", "$Forwarded", "$Forwarded"},
        {"fwd-more", "\\Answered $Junk $Forwarded",
         "\\Answered $Junk $Forwarded"},
        {"plain", "\\Seen", "\\Seen"},
    };
    for (size_t i = 0; i < 4; i++) {
        char *text = mp_strf("Message-ID: <%s@example.org>\r\nSubject: %s\r\n"
                             "\r\nbody\r\n",
                             msgs[i].subject, msgs[i].subject);
        char *cmd = mp_strf("APPEND Fwd (%s) {%zu+}\r\n%s", msgs[i].flags,
                            strlen(text), text);
        free(mp_dovecot_command(dv, "src", cmd));
        free(cmd);
        free(text);
    }
    /* The source as Dovecot serves it (its own Maildir, keyword form). */
    for (size_t i = 0; i < 4; i++)
        expect_flags("src", "Fwd", msgs[i].subject, msgs[i].served);

    char *src = mp_dovecot_url(dv, "imap", "src");
    char *md = mp_dovecot_maildir(dv, "dst");
    char *dst = mp_strf("maildir:%s", md);
    mp_run_result r = mp_run("copy", src, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "copy IMAP -> Maildir");
    assert_contains(r.err, "copied 4, already present 0");
    mp_run_free(&r);
    /* No 'P' in the names mailport wrote. */
    char *cur = mp_strf("%s/.Fwd/cur", md);
    if (mp_sh("ls '%s' | grep -q ':2,[A-Z]*P'", cur) == 0)
        fail_msg("a name in %s still carries 'P'", cur);
    mp_dovecot_fix_owner(dv);
    /* Dovecot serving the Maildir mailport wrote. */
    for (size_t i = 0; i < 4; i++)
        expect_flags("dst", "Fwd", msgs[i].subject, msgs[i].served);

    /* verify agrees on every side: IMAP source against the Maildir, the
     * Maildir against Dovecot serving it, and IMAP against IMAP. */
    char *dst_imap = mp_dovecot_url(dv, "imap", "dst");
    r = mp_run("verify", src, dst, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "verify IMAP / Maildir");
    mp_run_free(&r);
    r = mp_run("verify", dst, dst_imap, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "verify Maildir / the same served by Dovecot");
    assert_contains(r.err, "verified 4 messages");
    mp_run_free(&r);
    r = mp_run("verify", src, dst_imap, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "verify IMAP / IMAP");
    mp_run_free(&r);

    /* Dovecot's own Maildir (keyword form) as a mailport source. */
    char *src_md = mp_dovecot_maildir(dv, "src");
    char *src_dir = mp_strf("maildir:%s", src_md);
    r = mp_run("verify", src_dir, src, "--no-state", (char *)NULL);
    expect_exit(&r, 0, "verify Dovecot's Maildir / its IMAP view");
    assert_contains(r.err, "verified 4 messages");
    mp_run_free(&r);
    free(src_dir);
    free(src_md);
    free(dst_imap);
    free(cur);
    free(src);
    free(dst);
    free(md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_dovecot_serves),
        cmocka_unit_test(test_mailport_maildir_served_by_dovecot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
