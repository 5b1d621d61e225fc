/* Line-ending conversion and the content digest, at every chunk split. */
#include "digest.h"
#include "eol.h"
#include "header.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* Convert IN in two chunks split at every position; all must agree. */
static void check_all_splits(mp_eol_mode mode, const char *in, const char *want)
{
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        char *out = malloc(2 * len + 4);
        mp_eol_conv c;
        mp_eol_init(&c, mode);
        size_t w = mp_eol_convert(&c, in, cut, out);
        w += mp_eol_convert(&c, in + cut, len - cut, out + w);
        w += mp_eol_finish(&c, out + w);
        out[w] = '\0';
        if (strcmp(out, want) != 0)
            fail_msg("split at %zu: got \"%s\", want \"%s\"", cut, out, want);
        free(out);
    }
}

static void to_crlf_adds_cr_only_where_missing(void **state)
{
    (void)state;
    check_all_splits(MP_EOLCONV_TO_CRLF, "a\nb\r\nc\n\nd",
                     "a\r\nb\r\nc\r\n\r\nd");
    check_all_splits(MP_EOLCONV_TO_CRLF, "\n\n", "\r\n\r\n");
    check_all_splits(MP_EOLCONV_TO_CRLF, "lone\rcr\n", "lone\rcr\r\n");
}

static void to_lf_drops_cr_before_lf_only(void **state)
{
    (void)state;
    check_all_splits(MP_EOLCONV_TO_LF, "a\r\nb\r\n\r\nc", "a\nb\n\nc");
    check_all_splits(MP_EOLCONV_TO_LF, "lone\rcr\r\n", "lone\rcr\n");
    check_all_splits(MP_EOLCONV_TO_LF, "ends in cr\r", "ends in cr\r");
    check_all_splits(MP_EOLCONV_TO_LF, "\r\r\n", "\r\n");
}

static void none_is_identity(void **state)
{
    (void)state;
    check_all_splits(MP_EOLCONV_NONE, "a\r\nb\nc\r", "a\r\nb\nc\r");
}

static void mode_follows_source_and_sink(void **state)
{
    (void)state;
    assert_int_equal(mp_eol_mode_for(MP_EOL_NATIVE, MP_EOL_CRLF),
                     MP_EOLCONV_TO_CRLF);
    assert_int_equal(mp_eol_mode_for(MP_EOL_CRLF, MP_EOL_LF), MP_EOLCONV_TO_LF);
    /* Local bytes stay as they are in local stores (CRLF mbox files too). */
    assert_int_equal(mp_eol_mode_for(MP_EOL_NATIVE, MP_EOL_LF),
                     MP_EOLCONV_NONE);
    assert_int_equal(mp_eol_mode_for(MP_EOL_CRLF, MP_EOL_NATIVE),
                     MP_EOLCONV_NONE);
}

static void digest_ignores_line_endings_and_captures_header(void **state)
{
    (void)state;
    const char *lf = "Subject: x\nMessage-ID: <a@b>\n\nbody\nline\n";
    const char *crlf =
        "Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody\r\nline\r\n";
    char h1[65], h2[65];
    mp_digest_buffer(lf, strlen(lf), h1);
    /* Byte by byte, so every boundary is crossed. */
    mp_digest d;
    mp_digest_init(&d);
    for (size_t i = 0; i < strlen(crlf); i++)
        mp_digest_update(&d, crlf + i, 1);
    mp_digest_final(&d, h2);
    assert_string_equal(h1, h2);
    assert_true(d.header_done);
    assert_int_equal(d.header_len,
                     strlen("Subject: x\r\nMessage-ID: <a@b>\r\n"));
    assert_memory_equal(d.header, "Subject: x\r\nMessage-ID: <a@b>\r\n",
                        d.header_len);
    assert_int_equal(d.bytes, strlen(crlf));
    mp_digest_free(&d);
    /* One changed byte changes the hash. */
    mp_digest_buffer("Subject: x\n\nbodY\n", 17, h2);
    mp_digest_buffer("Subject: x\n\nbody\n", 17, h1);
    assert_string_not_equal(h1, h2);
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
    assert_int_equal(
        mp_header_date("Date: Mon, 4 Mar 2024 09:15:00 +0100\n", 38),
        1709540100);
    assert_int_equal(mp_header_date("Date: garbage\n", 14), INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(to_crlf_adds_cr_only_where_missing),
        cmocka_unit_test(to_lf_drops_cr_before_lf_only),
        cmocka_unit_test(none_is_identity),
        cmocka_unit_test(mode_follows_source_and_sink),
        cmocka_unit_test(digest_ignores_line_endings_and_captures_header),
        cmocka_unit_test(identity_prefers_message_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
