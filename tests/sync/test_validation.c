/* Validation findings against a real Dovecot (issue 10): a message the
 * server refuses is counted failed and its error, on stderr and in the
 * report, names what validation found in it (a NUL byte, a header line
 * that is no field, a missing Date) with what the user can do; a message
 * the server stores altered (Dovecot turns NUL into 0x80) is listed as
 * altered with the finding that explains it; a clean message is copied
 * with nothing said. Exit 1, as the README says for a message that fails.
 *
 * The harness's Dovecot refuses messages over quota_max_mail_size (its
 * max_mail_size option); the refused message is made larger than that. */
#include "dovecot.h"
#include "sync_check.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    mp_dovecot *dc;
    char *dir;
    char *imap;
    char *state;
    char *report;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    mp_dovecot_opts o = {.max_mail_size = 20000};
    f->dc = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(f->dc, "vera", "vera-secret");
    f->dir = mp_tmpdir("validation");
    f->imap = mp_dovecot_url(f->dc, "imap", "vera");
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

static void put(const char *root, const char *name, const char *text,
                size_t len)
{
    char *path = mp_strf("%s/cur/%s", root, name);
    mp_write_file(path, text, len);
    free(path);
}

/* HAY holds PREFIX, Dovecot's timing ("0.001 + 0.000"), then " secs)" and
 * SUFFIX: Dovecot's refusal ends in how long it took, which varies. */
static void assert_refusal(const char *hay, const char *prefix,
                           const char *suffix)
{
    for (const char *p = hay; (p = strstr(p, prefix)); p++) {
        const char *q = p + strlen(prefix);
        q += strspn(q, "0123456789.+ ");
        if (strncmp(q, "secs)", 5) == 0 &&
            strncmp(q + 5, suffix, strlen(suffix)) == 0)
            return;
    }
    fail_msg("expected \"%s<timing>secs)%s\" in:\n%s", prefix, suffix, hay);
}

static void refused_and_altered_messages_name_their_findings(void **state)
{
    fixture *f = *state;
    char *root = mp_strf("%s/src", f->dir);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root);

    /* Refused (too big for this server), with a header line that is no
     * field on line 3, no Date, and a NUL byte in its body. */
    static const char head[] = "From: a@example.org\n"
                               "Message-ID: <big@example.org>\n"
                               "this line is no field\n"
                               "Subject: big\n\n";
    size_t hlen = sizeof head - 1, len = 30000;
    char *big = malloc(len);
    memcpy(big, head, hlen);
    for (size_t i = hlen; i < len; i++)
        big[i] = (i - hlen) % 61 == 60 ? '\n' : 'x';
    size_t nul_at = hlen + 61 * 3 + 5; /* body line 4: file line 9 */
    big[nul_at] = '\0';
    put(root, "1709542801.big.host:2,S", big, len);

    /* Stored altered: NUL becomes 0x80 in Dovecot. */
    static const char with_nul[] = "From: a@example.org\n"
                                   "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                                   "Message-ID: <nul@example.org>\n\n"
                                   "before\0after\n";
    put(root, "1709542802.nul.host:2,S", with_nul, sizeof with_nul - 1);

    static const char clean[] = "From: a@example.org\n"
                                "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                                "Message-ID: <clean@example.org>\n\nclean\n";
    put(root, "1709542803.clean.host:2,S", clean, sizeof clean - 1);

    char *src = mp_strf("maildir:%s", root);
    mp_run_result r = mp_run("copy", src, f->imap, "--state", f->state,
                             "--report", f->report, NULL);
    assert_int_equal(r.exit_code, 1);
    /* The server's text, as the IMAP plugin gives it, then the findings. */
    char *server = mp_strf("%s: folder \"INBOX\" on 127.0.0.1:%d: server "
                           "refused the message: Mail size is larger than the "
                           "maximum size allowed by server configuration (",
                           f->imap, mp_dovecot_port(f->dc));
    char *findings = mp_strf(
        "; the message has a NUL byte at offset %zu (line 9), a header "
        "line without a field name and colon (line 3) and no Date field, "
        "which servers may refuse: run copy again with --repair to send it "
        "repaired, or correct the message at the source and run copy again, "
        "which sends only what is missing",
        nul_at);
    char *line = mp_strf(
        "mailport: warning: cannot store message <big@example.org> in folder "
        "INBOX: %s",
        server);
    char *line_end = mp_strf("%s\n", findings);
    assert_refusal(r.err, line, line_end);
    size_t nul2 = strlen("From: a@example.org\n"
                         "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                         "Message-ID: <nul@example.org>\n\nbefore");
    char *altered = mp_strf(
        "folder INBOX: the destination stored message <nul@example.org> "
        "altered (bytes a server replaces (NUL, 8-bit, X); the message has "
        "a NUL byte at offset %zu (line 5))\n",
        nul2);
    assert_contains(r.err, altered);
    assert_null(strstr(r.err, "<clean@example.org>"));
    mp_run_free(&r);

    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 2, 0, 0, 1);
    char *entry = mp_strf(
        "{\"folder\": \"INBOX\", \"message\": \"<big@example.org>\", "
        "\"error\": \"%s: folder \\\"INBOX\\\" on 127.0.0.1:%d: server "
        "refused the message: Mail size is larger than the maximum size "
        "allowed by server configuration (",
        f->imap, mp_dovecot_port(f->dc));
    char *entry_end = mp_strf("%s\"}", findings);
    assert_refusal(rep, entry, entry_end);
    char *alt_entry = mp_strf(
        "{\"folder\": \"INBOX\", \"message\": \"<nul@example.org>\", "
        "\"difference\": \"bytes a server replaces (NUL, 8-bit, X); the "
        "message has a NUL byte at offset %zu (line 5)\"}",
        nul2);
    assert_contains(rep, alt_entry);
    free(rep);

    /* The clean message went through untouched and nothing is said of a
     * message the server took as it is: the next run only retries the
     * refused one, which the server refuses again. */
    r = mp_run("copy", src, f->imap, "--state", f->state, "--report", f->report,
               NULL);
    assert_int_equal(r.exit_code, 1);
    assert_refusal(r.err, line, line_end);
    mp_run_free(&r);
    rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 0, 2, 0, 1);
    free(rep);

    free(alt_entry);
    free(entry);
    free(entry_end);
    free(altered);
    free(line);
    free(line_end);
    free(server);
    free(findings);
    free(src);
    free(big);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            refused_and_altered_messages_name_their_findings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
