/* Line-ending conversion and the content digest, at every chunk split. */
#include "digest.h"
#include "eol.h"
#include "hashes.h"
#include "header.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Convert IN (LEN bytes) in chunks cut at the positions CUTS (ascending,
 * N of them) into OUT; returns the length written. */
static size_t convert_cut(mp_eol_mode mode, const char *in, size_t len,
                          const size_t *cuts, size_t n, char *out)
{
    mp_eol_conv c;
    mp_eol_init(&c, mode);
    size_t w = 0, from = 0;
    for (size_t k = 0; k <= n; k++) {
        size_t to = k < n ? cuts[k] : len;
        w += mp_eol_convert(&c, in + from, to - from, out + w);
        from = to;
    }
    w += mp_eol_finish(&c, out + w);
    return w;
}

static void check_out(const char *out, size_t w, const char *want,
                      const char *how)
{
    if (w != strlen(want) || memcmp(out, want, w) != 0)
        fail_msg("%s: got \"%.*s\" (%zu bytes), want \"%s\"", how, (int)w, out,
                 w, want);
}

/* Convert IN whole, in two chunks split at every position, in three
 * chunks split at every pair of positions, and byte by byte: all must give
 * WANT. */
static void check_all_splits(mp_eol_mode mode, const char *in, const char *want)
{
    size_t len = strlen(in);
    char *out = malloc(MP_EOL_OUT_MAX(len) + MP_EOL_FINISH_MAX);
    char how[64];
    check_out(out, convert_cut(mode, in, len, NULL, 0, out), want, "whole");
    for (size_t a = 0; a <= len; a++) {
        snprintf(how, sizeof how, "split at %zu", a);
        check_out(out, convert_cut(mode, in, len, &a, 1, out), want, how);
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            snprintf(how, sizeof how, "split at %zu and %zu", a, b);
            check_out(out, convert_cut(mode, in, len, cuts, 2, out), want, how);
        }
    }
    size_t *every = malloc((len + 1) * sizeof *every);
    for (size_t i = 0; i < len; i++)
        every[i] = i + 1;
    check_out(out, convert_cut(mode, in, len, every, len ? len - 1 : 0, out),
              want, "byte by byte");
    free(every);
    free(out);
}

/* Every style becomes CRLF: LF, CRLF, CR-only, mixed, CR CR LF. */
static void to_crlf_normalises_every_style(void **state)
{
    (void)state;
    check_all_splits(MP_EOLCONV_TO_CRLF, "a\nb\r\nc\n\nd",
                     "a\r\nb\r\nc\r\n\r\nd");
    check_all_splits(MP_EOLCONV_TO_CRLF, "\n\n", "\r\n\r\n");
    check_all_splits(MP_EOLCONV_TO_CRLF, "a\r\nb\r\n", "a\r\nb\r\n");
    /* CR-only (old Mac mail): every CR is a line break, CR CR an empty
     * line. */
    check_all_splits(MP_EOLCONV_TO_CRLF, "Subject: s\rTo: t\r\rbody\r",
                     "Subject: s\r\nTo: t\r\n\r\nbody\r\n");
    check_all_splits(MP_EOLCONV_TO_CRLF, "lone\rcr\n", "lone\r\ncr\r\n");
    /* CR CR LF is one line break; CR CR CR LF a lone CR and CR CR LF. */
    check_all_splits(MP_EOLCONV_TO_CRLF, "a\r\r\nb", "a\r\nb");
    check_all_splits(MP_EOLCONV_TO_CRLF, "a\r\r\r\nb", "a\r\n\r\nb");
    check_all_splits(MP_EOLCONV_TO_CRLF, "a\r\r\r\rb", "a\r\n\r\n\r\n\r\nb");
    check_all_splits(MP_EOLCONV_TO_CRLF, "mixed\n\r\r\n\r\r\n\n\rend",
                     "mixed\r\n\r\n\r\n\r\n\r\nend");
    /* Held CRs at the end of the message are line breaks. */
    check_all_splits(MP_EOLCONV_TO_CRLF, "end\r", "end\r\n");
    check_all_splits(MP_EOLCONV_TO_CRLF, "end\r\r", "end\r\n\r\n");
    /* Nothing else changes: no final line break added, other bytes kept. */
    check_all_splits(MP_EOLCONV_TO_CRLF, "no break", "no break");
    check_all_splits(MP_EOLCONV_TO_CRLF, "", "");
    check_all_splits(MP_EOLCONV_TO_CRLF, "\t \x7f\xff", "\t \x7f\xff");
}

static void to_lf_normalises_every_style(void **state)
{
    (void)state;
    check_all_splits(MP_EOLCONV_TO_LF, "a\r\nb\r\n\r\nc", "a\nb\n\nc");
    check_all_splits(MP_EOLCONV_TO_LF, "a\nb\n", "a\nb\n");
    check_all_splits(MP_EOLCONV_TO_LF, "Subject: s\rTo: t\r\rbody\r",
                     "Subject: s\nTo: t\n\nbody\n");
    check_all_splits(MP_EOLCONV_TO_LF, "lone\rcr\r\n", "lone\ncr\n");
    check_all_splits(MP_EOLCONV_TO_LF, "ends in cr\r", "ends in cr\n");
    check_all_splits(MP_EOLCONV_TO_LF, "\r\r\n", "\n");
    check_all_splits(MP_EOLCONV_TO_LF, "\r\r\r\n", "\n\n");
    check_all_splits(MP_EOLCONV_TO_LF, "\r\r\rx", "\n\n\nx");
    check_all_splits(MP_EOLCONV_TO_LF, "mixed\n\r\r\n\r\r\n\n\rend",
                     "mixed\n\n\n\n\nend");
    check_all_splits(MP_EOLCONV_TO_LF, "no break", "no break");
    check_all_splits(MP_EOLCONV_TO_LF, "", "");
}

static void none_is_identity(void **state)
{
    (void)state;
    check_all_splits(MP_EOLCONV_NONE, "a\r\nb\nc\r", "a\r\nb\nc\r");
}

static void mode_follows_sink(void **state)
{
    (void)state;
    assert_int_equal(mp_eol_mode_for(MP_EOL_NATIVE, MP_EOL_CRLF),
                     MP_EOLCONV_TO_CRLF);
    assert_int_equal(mp_eol_mode_for(MP_EOL_CRLF, MP_EOL_CRLF),
                     MP_EOLCONV_TO_CRLF);
    assert_int_equal(mp_eol_mode_for(MP_EOL_CRLF, MP_EOL_LF), MP_EOLCONV_TO_LF);
    /* Local bytes go into LF stores as LF too (a CRLF or CR-only mbox
     * into Maildir, mbox or an archive): issue 8.7. */
    assert_int_equal(mp_eol_mode_for(MP_EOL_NATIVE, MP_EOL_LF),
                     MP_EOLCONV_TO_LF);
    assert_int_equal(mp_eol_mode_for(MP_EOL_CRLF, MP_EOL_NATIVE),
                     MP_EOLCONV_NONE);
}

/* A reference for the rule, written as plainly as possible: the whole
 * input at once, longest match first. */
static size_t reference(const char *in, size_t len, int crlf, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t brk = 0;
        if (in[i] == '\n')
            brk = 1;
        else if (in[i] == '\r' && i + 2 < len && in[i + 1] == '\r' &&
                 in[i + 2] == '\n')
            brk = 3;
        else if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
            brk = 2;
        else if (in[i] == '\r')
            brk = 1;
        if (!brk) {
            out[w++] = in[i++];
            continue;
        }
        if (crlf)
            out[w++] = '\r';
        out[w++] = '\n';
        i += brk;
    }
    return w;
}

/* Random inputs over an alphabet rich in CR and LF, cut into random
 * chunks: the streamed output equals the reference, only line breaks
 * change (the other bytes, in order, are the same), LF output holds no
 * CR, CRLF output pairs every CR with an LF, and normalising the output
 * again changes nothing. MP_EOL_SEED replays a run. */
static void random_inputs_match_the_reference(void **state)
{
    (void)state;
    const char *env = getenv("MP_EOL_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10)
                        : (unsigned)time(NULL) ^ (unsigned)getpid();
    printf("eol random seed %u (MP_EOL_SEED=%u replays it)\n", seed, seed);
    srand(seed);
    static const char alphabet[] = "\r\r\r\n\n\nab \0\xff";
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand() % 40);
        char in[64], want[2 * 64], out[2 * 64 + 16], again[2 * 64 + 16];
        for (size_t i = 0; i < len; i++)
            in[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
        size_t cuts[8], n = (size_t)(rand() % 8);
        for (size_t k = 0; k < n; k++)
            cuts[k] = len ? (size_t)(rand() % (int)(len + 1)) : 0;
        for (size_t a = 0; a < n; a++) /* ascending */
            for (size_t b = a + 1; b < n; b++)
                if (cuts[b] < cuts[a]) {
                    size_t t = cuts[a];
                    cuts[a] = cuts[b];
                    cuts[b] = t;
                }
        for (int crlf = 0; crlf < 2; crlf++) {
            mp_eol_mode mode = crlf ? MP_EOLCONV_TO_CRLF : MP_EOLCONV_TO_LF;
            size_t wl = reference(in, len, crlf, want);
            size_t w = convert_cut(mode, in, len, cuts, n, out);
            if (w != wl || memcmp(out, want, w) != 0)
                fail_msg("seed %u round %d mode %d: output differs from the "
                         "reference",
                         seed, round, crlf);
            /* Only line breaks change. */
            char a[64], b[2 * 64 + 16];
            size_t na = 0, nb = 0;
            for (size_t i = 0; i < len; i++)
                if (in[i] != '\r' && in[i] != '\n')
                    a[na++] = in[i];
            for (size_t i = 0; i < w; i++)
                if (out[i] != '\r' && out[i] != '\n')
                    b[nb++] = out[i];
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, na);
            for (size_t i = 0; i < w; i++) {
                if (out[i] == '\r')
                    assert_true(crlf && i + 1 < w && out[i + 1] == '\n');
                if (out[i] == '\n' && crlf)
                    assert_true(i > 0 && out[i - 1] == '\r');
            }
            /* Idempotent, and the LF form of the CRLF output is the LF
             * output. */
            size_t w2 = convert_cut(mode, out, w, NULL, 0, again);
            assert_int_equal(w2, w);
            assert_memory_equal(again, out, w);
            if (crlf) {
                size_t w3 =
                    convert_cut(MP_EOLCONV_TO_LF, out, w, NULL, 0, again);
                size_t wlf = reference(in, len, 0, want);
                assert_int_equal(w3, wlf);
                assert_memory_equal(again, want, wlf);
            }
            /* unchanged() says yes only when converting is a no-op that
             * holds nothing back. */
            mp_eol_conv c;
            mp_eol_init(&c, mode);
            if (mp_eol_unchanged(&c, in, len)) {
                assert_int_equal(convert_cut(mode, in, len, NULL, 0, again),
                                 len);
                assert_memory_equal(again, in, len);
            }
        }
    }
}

static void digest_ignores_line_endings_and_captures_header(void **state)
{
    (void)state;
    const char *lf = "Subject: x\nMessage-ID: <a@b>\n\nbody\nline\n";
    /* The same message in every style: CRLF, CR-only, CR CR LF, mixed. */
    const char *styles[] = {
        "Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\nline\r\n",
        "Subject: x\rMessage-ID: <a@b>\r\rbody\rline\r",
        "Subject: x\r\r\nMessage-ID: <a@b>\r\r\n\r\r\nbody\r\r\nline\r\r\n",
        "Subject: x\rMessage-ID: <a@b>\n\r\nbody\r\r\nline\r",
    };
    char h1[65], h2[65];
    mp_digest_buffer(lf, strlen(lf), h1);
    for (size_t k = 0; k < sizeof styles / sizeof styles[0]; k++) {
        const char *m = styles[k];
        size_t len = strlen(m);
        /* Split at every point, and byte by byte. */
        for (size_t cut = 0; cut <= len + 1; cut++) {
            mp_digest d;
            mp_digest_init(&d);
            if (cut <= len) {
                mp_digest_update(&d, m, cut);
                mp_digest_update(&d, m + cut, len - cut);
            } else {
                for (size_t i = 0; i < len; i++)
                    mp_digest_update(&d, m + i, 1);
            }
            mp_digest_final(&d, h2);
            if (strcmp(h1, h2) != 0)
                fail_msg("style %zu, cut %zu: hash differs from LF", k, cut);
            /* The header is kept in its LF form, whatever the input. */
            assert_true(d.header_done);
            assert_int_equal(d.header_len,
                             strlen("Subject: x\nMessage-ID: <a@b>\n"));
            assert_memory_equal(d.header, "Subject: x\nMessage-ID: <a@b>\n",
                                d.header_len);
            assert_int_equal(d.bytes, len);
            mp_digest_free(&d);
        }
    }
    /* One changed byte changes the hash. */
    mp_digest_buffer("Subject: x\n\nbodY\n", 17, h2);
    mp_digest_buffer("Subject: x\n\nbody\n", 17, h1);
    assert_string_not_equal(h1, h2);
    /* A line break more or less is a difference (a lone CR is one). */
    mp_digest_buffer("Subject: x\n\nab\n", 15, h1);
    mp_digest_buffer("Subject: x\n\na\rb\n", 16, h2);
    assert_string_not_equal(h1, h2);
    mp_digest_buffer("Subject: x\n\na\nb\n", 16, h1);
    assert_string_equal(h1, h2);
    /* A header ended by CRs held at the end of the message. */
    mp_digest d;
    mp_digest_init(&d);
    mp_digest_update(&d, "Subject: y\r\r", 12);
    assert_false(d.header_done); /* CR CR might still be one break */
    mp_digest_final(&d, h1);
    assert_true(d.header_done);
    assert_int_equal(d.header_len, strlen("Subject: y\n"));
    assert_memory_equal(d.header, "Subject: y\n", d.header_len);
    mp_digest_free(&d);
}

/* verify's kinds of difference: a change of line-ending style is none at
 * all; line breaks added, lost or moved are "line endings only"; NUL or
 * 8-bit bytes replaced are the server kind; anything else is content. */
static void differences_are_named(void **state)
{
    (void)state;
    mp_content_hashes a, b;
#define HASH(m, h) mp_content_hashes_buffer(m, sizeof(m) - 1, &h)
    HASH("Subject: s\n\nline one\nline two\n", a);
    HASH("Subject: s\r\rline one\rline two\r", b);
    assert_null(mp_content_difference(&a, &b));
    HASH("Subject: s\r\n\r\nline one\r\r\nline two\r\n", b);
    assert_null(mp_content_difference(&a, &b));
    /* A lone CR that a store dropped: the line break is lost. */
    HASH("Subject: s\n\nline oneline two\n", b);
    assert_string_equal(mp_content_difference(&a, &b), "line endings only");
    /* A final line break added (as the mbox sink must) is none: the
     * hashed form always ends in one. */
    HASH("Subject: s\n\nline one\nline two", b);
    assert_null(mp_content_difference(&a, &b));
    HASH("Subject: s\r\rline one\rline two", b);
    assert_null(mp_content_difference(&a, &b));
    /* ... but an empty line more or less at the end is a difference. */
    HASH("Subject: s\n\nline one\nline two\n\n", b);
    assert_string_equal(mp_content_difference(&a, &b), "line endings only");
    HASH("Subject: s\n\nline one\nline tw\x80\n", a);
    HASH("Subject: s\r\n\r\nline one\r\nline tw\0\r\n", b);
    assert_string_equal(mp_content_difference(&a, &b),
                        "bytes a server replaces (NUL, 8-bit, X)");
    HASH("Subject: s\n\nline one\nline 2\n", b);
    assert_string_equal(mp_content_difference(&a, &b), "content");
#undef HASH
}

static void identity_prefers_message_id(void **state)
{
    (void)state;
    char a[128], b[128], c[128];
    const char *h1 = "From: x\nMessage-Id:\n  <Folded.ID@Example.org> "
                     "(comment)\nSubject: s\n";
    mp_identity_of_header(h1, strlen(h1), a, sizeof a);
    assert_string_equal(a, "M:Folded.ID@Example.org");
    /* Without Message-ID: a header hash, equal across line endings. */
    const char *h2 = "From: x\nSubject: s\n";
    const char *h3 = "From: x\r\nSubject: s\r\n";
    mp_identity_of_header(h2, strlen(h2), b, sizeof b);
    mp_identity_of_header(h3, strlen(h3), c, sizeof c);
    assert_true(strncmp(b, "H:", 2) == 0);
    assert_string_equal(b, c);
    /* ... and across what servers do to a header on APPEND (8.5): NUL
     * stored as 0x80, CR CR LF as CR LF, 8-bit bytes as 'X'. */
    char d[128], e[128], g[128], h[128];
    static const char nul[] = "From: x\nSubject: a\0b\r\r\n";
    static const char dovecot[] = "From: x\r\nSubject: a\x80"
                                  "b\r\n";
    static const char cyrus[] = "From: x\r\nSubject: aXb\r\n";
    static const char other[] = "From: x\r\nSubject: ayb\r\n";
    mp_identity_of_header(nul, sizeof nul - 1, d, sizeof d);
    mp_identity_of_header(dovecot, sizeof dovecot - 1, e, sizeof e);
    mp_identity_of_header(cyrus, sizeof cyrus - 1, g, sizeof g);
    mp_identity_of_header(other, sizeof other - 1, h, sizeof h);
    assert_string_equal(d, e);
    assert_string_equal(d, g);
    assert_string_not_equal(d, h);
    /* CR-only mail: a plugin finds no LF and hands over the whole
     * message as its header block; the identity still reads the
     * Message-ID, or hashes only the header, as its LF copy's does. */
    char m1[128], m2[128], n1[128], n2[128];
    const char *mac = "From: x\rMessage-ID: <mac@example.org>\r\rbody\r";
    const char *lfh = "From: x\nMessage-ID: <mac@example.org>\n";
    mp_identity_of_header(mac, strlen(mac), m1, sizeof m1);
    mp_identity_of_header(lfh, strlen(lfh), m2, sizeof m2);
    assert_string_equal(m1, "M:mac@example.org");
    assert_string_equal(m2, m1);
    const char *mac2 = "From: x\rSubject: s\r\rbody\r";
    const char *lf2 = "From: x\nSubject: s\n";
    mp_identity_of_header(mac2, strlen(mac2), n1, sizeof n1);
    mp_identity_of_header(lf2, strlen(lf2), n2, sizeof n2);
    assert_true(strncmp(n1, "H:", 2) == 0);
    assert_string_equal(n1, n2);
    assert_string_equal(n1, b); /* = "From: x\nSubject: s\n" above */
    assert_int_equal(
        mp_header_date("Date: Mon, 4 Mar 2024 09:15:00 +0100\n", 38),
        1709540100);
    assert_int_equal(mp_header_date("Date: garbage\n", 14), INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(to_crlf_normalises_every_style),
        cmocka_unit_test(to_lf_normalises_every_style),
        cmocka_unit_test(none_is_identity),
        cmocka_unit_test(mode_follows_sink),
        cmocka_unit_test(random_inputs_match_the_reference),
        cmocka_unit_test(digest_ignores_line_endings_and_captures_header),
        cmocka_unit_test(differences_are_named),
        cmocka_unit_test(identity_prefers_message_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
