/* What Cyrus IMAP 3.6 refuses or alters (issue 10), with and without
 * --repair. Cyrus refuses a message with a NUL byte ("Message contains
 * NUL characters") and one with a header line without a colon ("Message
 * contains invalid header"), as it does blanks before a colon (RFC 5322
 * 4.5.8's obsolete "Subject : x", a finding of its own), stores 8-bit header
 * bytes as 'X' (munge8bit, its default), and takes a message without Date or
 * Message-ID; CR-only mail (the corpus's sisimai/mac-cr), which Cyrus refuses
 * as it is, goes out with its line breaks as CRLF (normalisation, always on).
 *
 * Without --repair: exit 1, each refusal names Cyrus's reason and what
 * validation found, and suggests --repair; the altered message is listed
 * as altered; the others arrive exact. copy --repair then stores the
 * refused ones repaired. Into a fresh account, copy --repair stores every
 * message, the repaired ones byte for byte as the repair makes them and
 * listed in the report with the original's hash; verify --repair calls
 * them repaired (exit 0), plain verify points at --repair (exit 4). */
#include "cyrus.h"
#include "cyrus_msgs.h"
#include "maildir_walk.h"
#include "sync_check.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mp_cyrus *cy;
static char *work, *root, *src;
static char *cr_text; /* the CR-only corpus message */
static size_t cr_len;

#define HEAD(id)                                                               \
    "From: a@example.org\n"                                                    \
    "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"                                   \
    "Message-ID: <" id "@example.org>\n"

static const char nul_in[] = HEAD("nul") "Subject: nul\n\nbefore\0after\n";
static const char nul_out[] = HEAD("nul") "Subject: nul\n\nbeforeafter\n";
static const char latin_in[] = HEAD("latin") "Subject: caf\xe9 cr\xe8me\n\n"
                                             "body\n";
static const char latin_out[] = HEAD("latin") "Subject: "
                                              "=?iso-8859-1?b?"
                                              "Y2Fm6SBjcuhtZQ==?=\n\nbody\n";
static const char latin_munged[] = HEAD("latin") "Subject: cafX crXme\n\n"
                                                 "body\n";
static const char colon_in[] = HEAD("colon") "Subject: no colon\n"
                                             "this line is no field\n\nbody\n";
static const char colon_out[] = HEAD("colon") "Subject: no colon\n"
                                              " this line is no field\n\n"
                                              "body\n";
/* RFC 5322 4.5.8's obsolete blanks before a colon, which Cyrus refuses
 * ("Message contains invalid header"); no Message-ID, so it is repaired. */
static const char obs_in[] = "From: a@example.org\n"
                             "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                             "Subject\t : obsolete form\n\nbody\n";
/* %.16s: the original's hash. */
static const char obs_out_fmt[] =
    "From: a@example.org\nDate: Mon, 4 Mar 2024 09:00:00 +0000\n"
    "Subject: obsolete form\n"
    "Message-ID: <mailport.%.16s@repaired.invalid>\n\nbody\n";
/* The same with nothing else to mend: refused, named, repaired alone. */
static const char obs2_in[] = HEAD("obs2") "Subject : only this\n\nbody\n";
static const char obs2_out[] = HEAD("obs2") "Subject: only this\n\nbody\n";
static const char bare_in[] = "From: a@example.org\nSubject: bare\n\nbody\n";
/* %.16s: the original's hash; the internal date is 1709542805. */
static const char bare_out_fmt[] =
    "From: a@example.org\nSubject: bare\n"
    "Date: Mon, 04 Mar 2024 09:00:05 +0000\n"
    "Message-ID: <mailport.%.16s@repaired.invalid>\n\nbody\n";

static int setup(void **state)
{
    (void)state;
    cy = mp_cyrus_start();
    mp_cyrus_add_user(cy, "una", "una-secret");
    mp_cyrus_add_user(cy, "rae", "rae-secret");
    work = mp_tmpdir("cyrus-repair");
    setenv("XDG_STATE_HOME", work, 1);
    root = mp_strf("%s/src", work);
    src = mp_strf("maildir:%s", root);
    put_maildir_msg(root, "1709542801.nul.host", "S", nul_in, sizeof nul_in - 1,
                    1709542801);
    put_maildir_msg(root, "1709542802.latin.host", "S", latin_in,
                    sizeof latin_in - 1, 1709542802);
    put_maildir_msg(root, "1709542803.colon.host", "S", colon_in,
                    sizeof colon_in - 1, 1709542803);
    char *mac = mp_strf("%s/eml/sisimai/mac-cr/arf-01.eml", mp_corpora());
    cr_text = mp_read_file(mac, &cr_len);
    free(mac);
    assert_non_null(memchr(cr_text, '\r', cr_len));
    assert_null(memchr(cr_text, '\n', cr_len));
    put_maildir_msg(root, "1709542804.cr.host", "S", cr_text, cr_len,
                    1709542804);
    put_maildir_msg(root, "1709542805.bare.host", "S", bare_in,
                    sizeof bare_in - 1, 1709542805);
    put_maildir_msg(root, "1709542806.obs.host", "S", obs_in, sizeof obs_in - 1,
                    1709542806);
    put_maildir_msg(root, "1709542807.obs2.host", "S", obs2_in,
                    sizeof obs2_in - 1, 1709542807);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_cyrus_stop(cy);
    mp_rm_rf(work);
    free(work);
    free(root);
    free(src);
    free(cr_text);
    return 0;
}

/* F holds the LF-form TEXT once, as CRLF. */
static void assert_holds(const server_folder *f, const char *text, size_t len)
{
    size_t wl;
    char *wire = mp_crlf_form(text, len, &wl);
    if (count_bytes(f, wire, wl) != 1)
        fail_msg("the server does not hold once:\n%s", text);
    free(wire);
}

/* The CR-only message as Cyrus must hold it: each CR a CRLF. */
static void assert_holds_cr(const server_folder *f)
{
    size_t lf_len;
    char *lf = mp_lf_form(cr_text, cr_len, &lf_len);
    assert_holds(f, lf, lf_len);
    free(lf);
}

static char *source_hash(const char *name)
{
    walked_dir w = walk_maildir(root);
    char *hash = NULL;
    for (size_t i = 0; i < w.n; i++)
        if (strstr(w.v[i].path, name))
            hash = strdup(w.v[i].hash);
    walked_free(&w);
    assert_non_null(hash);
    return hash;
}

static void refused_and_altered_without_repair_then_repaired(void **state)
{
    (void)state;
    char *dst = mp_cyrus_url(cy, "imap", "una");
    char *st = mp_strf("%s/una.sqlite", work);
    char *rep = mp_strf("%s/una.json", work);
    mp_run_result r =
        mp_run("copy", src, dst, "--state", st, "--report", rep, NULL);
    mp_expect_exit(&r, 1);
    char *where = mp_strf("%s: folder \"INBOX\" on 127.0.0.1:%d: server "
                          "refused the message: ",
                          dst, mp_cyrus_port(cy));
    char *nul = mp_strf(
        "mailport: warning: cannot store message <nul@example.org> in folder "
        "INBOX: %sMessage contains NUL characters; the message has a NUL "
        "byte at offset %zu (line 6), which servers may refuse: run copy "
        "again with --repair to send it repaired, or correct the message at "
        "the source and run copy again, which sends only what is missing\n",
        where, strlen(HEAD("nul") "Subject: nul\n\nbefore"));
    assert_contains(r.err, nul);
    char *colon =
        mp_strf("mailport: warning: cannot store message <colon@example.org> "
                "in folder INBOX: %sMessage contains invalid header; the "
                "message has a header line without a field name and colon "
                "(line 5), which servers may refuse: run copy again with "
                "--repair to send it repaired",
                where);
    assert_contains(r.err, colon);
    assert_contains(r.err, "folder INBOX: the destination stored message "
                           "<latin@example.org> altered (bytes a server "
                           "replaces (NUL, 8-bit, X); the message has 2 8-bit "
                           "bytes in its header (the first at offset");
    assert_contains(r.err, "cannot store message key 1709542806.obs.host in "
                           "folder INBOX: ");
    assert_contains(r.err, "Message contains invalid header; the message has "
                           "a field name followed by white space before its "
                           "colon (line 3) and no Message-ID, which servers "
                           "may refuse: run copy again with --repair");
    char *obs2 =
        mp_strf("mailport: warning: cannot store message <obs2@example.org> "
                "in folder INBOX: %sMessage contains invalid header; the "
                "message has a field name followed by white space before its "
                "colon (line 4), which servers may refuse: run copy again "
                "with --repair to send it repaired, or correct the message at "
                "the source and run copy again, which sends only what is "
                "missing\n",
                where);
    assert_contains(r.err, obs2);
    mp_run_free(&r);
    char *text = mp_read_file(rep, NULL);
    sync_assert_counts(text, 3, 0, 0, 4);
    assert_int_equal((int)mp_json_number(text, "altered"), 1);
    assert_contains(text, "{\"folder\": \"INBOX\", \"message\": "
                          "\"<latin@example.org>\", \"difference\": \"bytes "
                          "a server replaces (NUL, 8-bit, X); the message has "
                          "2 8-bit bytes in its header");
    free(text);
    server_folder f = fetch_folder(cy, "una", "INBOX");
    assert_int_equal(f.n, 3);
    assert_holds(&f, latin_munged, sizeof latin_munged - 1);
    assert_holds(&f, bare_in, sizeof bare_in - 1);
    assert_holds_cr(&f);
    server_folder_free(&f);

    /* --repair sends the four refused ones, repaired; nothing else. */
    r = mp_run("copy", src, dst, "--repair", "--state", st, "--report", rep,
               NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    text = mp_read_file(rep, NULL);
    sync_assert_counts(text, 4, 3, 0, 0);
    assert_int_equal((int)mp_json_number(text, "repaired"), 4);
    assert_contains(text, "\"message\": \"<obs2@example.org>\", "
                          "\"changes\": \"white space before a colon "
                          "removed (1 field)\"");
    free(text);
    f = fetch_folder(cy, "una", "INBOX");
    assert_int_equal(f.n, 7);
    assert_holds(&f, nul_out, sizeof nul_out - 1);
    assert_holds(&f, colon_out, sizeof colon_out - 1);
    assert_holds(&f, obs2_out, sizeof obs2_out - 1);
    server_folder_free(&f);
    /* Nothing silent: the copy Cyrus altered is different to verify. */
    r = mp_run("verify", src, dst, "--repair", NULL);
    mp_expect_exit(&r, 4);
    assert_contains(r.out, "different    INBOX  <latin@example.org>  ");
    assert_contains(r.out, "repaired     INBOX  <nul@example.org>  NUL "
                           "removed (1)\n");
    mp_run_free(&r);

    free(nul);
    free(colon);
    free(obs2);
    free(where);
    free(dst);
    free(st);
    free(rep);
}

static void copy_repair_into_a_fresh_account(void **state)
{
    (void)state;
    char *dst = mp_cyrus_url(cy, "imap", "rae");
    char *st = mp_strf("%s/rae.sqlite", work);
    char *rep = mp_strf("%s/rae.json", work);
    mp_run_result r = mp_run("copy", src, dst, "--repair", "--state", st,
                             "--report", rep, NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.err, ", repaired 6 (of those copied; see the report)");
    assert_null(strstr(r.err, "altered"));
    mp_run_free(&r);

    char *bare_hash = source_hash("bare"), *nul_hash = source_hash("nul");
    char *bare_out = mp_strf(bare_out_fmt, bare_hash);
    char *obs_hash = source_hash(".obs.host");
    char *obs_out = mp_strf(obs_out_fmt, obs_hash);
    server_folder f = fetch_folder(cy, "rae", "INBOX");
    assert_int_equal(f.n, 7);
    assert_holds(&f, obs_out, strlen(obs_out));
    assert_holds(&f, obs2_out, sizeof obs2_out - 1);
    assert_holds(&f, nul_out, sizeof nul_out - 1);
    assert_holds(&f, latin_out, sizeof latin_out - 1);
    assert_holds(&f, colon_out, sizeof colon_out - 1);
    assert_holds(&f, bare_out, strlen(bare_out));
    assert_holds_cr(&f);
    server_folder_free(&f);

    char *text = mp_read_file(rep, NULL);
    sync_assert_counts(text, 7, 0, 0, 0);
    assert_int_equal((int)mp_json_number(text, "repaired"), 6);
    assert_contains(text, "\"message\": \"key 1709542806.obs.host\", "
                          "\"changes\": \"white space before a colon "
                          "removed (1 field), Message-ID added\"");
    char *entry = mp_strf("{\"folder\": \"INBOX\", \"message\": "
                          "\"<nul@example.org>\", \"changes\": \"NUL removed "
                          "(1)\", \"original_sha256\": \"%s\"}",
                          nul_hash);
    assert_contains(text, entry);
    char *bare = mp_strf("{\"folder\": \"INBOX\", \"message\": \"key "
                         "1709542805.bare.host\", \"changes\": \"Date added, "
                         "Message-ID added\", \"original_sha256\": \"%s\"}",
                         bare_hash);
    assert_contains(text, bare);
    assert_contains(text, "\"message\": \"<colon@example.org>\", \"changes\": "
                          "\"header line without a colon folded into the "
                          "field before (1)\"");
    assert_contains(text, "\"message\": \"<latin@example.org>\", \"changes\": "
                          "\"8-bit header text encoded as RFC 2047 words");
    assert_contains(text, "\"altered_messages\": []");
    free(text);

    /* A second run copies nothing. */
    char *again = sync_copy(src, dst, st, rep, 0, "--repair", NULL);
    sync_assert_counts(again, 0, 7, 0, 0);
    free(again);

    r = mp_run("verify", src, dst, "--repair", NULL);
    mp_expect_exit(&r, 0);
    assert_contains(r.out, "repaired     INBOX  <nul@example.org>  NUL "
                           "removed (1)\n");
    assert_contains(r.out, "repaired     INBOX  key 1709542805.bare.host  "
                           "Date added, Message-ID added\n");
    assert_contains(r.out, "repaired     INBOX  <obs2@example.org>  white "
                           "space before a colon removed (1 field)\n");
    assert_contains(r.err, "mailport: 6 messages copied repaired");
    mp_run_free(&r);
    r = mp_run("verify", src, dst, NULL);
    mp_expect_exit(&r, 4);
    assert_contains(r.err, "verify --repair reports them as repaired\n");
    mp_run_free(&r);

    free(entry);
    free(bare);
    free(bare_out);
    free(bare_hash);
    free(obs_out);
    free(obs_hash);
    free(nul_hash);
    free(dst);
    free(st);
    free(rep);
}

int main(void)
{
    MP_CYRUS_SKIP_UNLESS_AVAILABLE();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_and_altered_without_repair_then_repaired),
        cmocka_unit_test(copy_repair_into_a_fresh_account),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
