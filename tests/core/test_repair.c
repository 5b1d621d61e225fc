/* --repair (core/engine/repair.c): crafted messages with each finding
 * repaired to the exact bytes repair.h's rules give, the repaired form
 * left with no finding the validator names (but an open multipart), the
 * same input giving the same output in any line-ending style, and a
 * message with nothing to repair left alone. */
#include "digest.h"
#include "repair.h"
#include "testutil.h"
#include "validate.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD                                                                   \
    "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"                                   \
    "Message-ID: <a@example.org>\n"

/* 2024-03-04 09:00:00 UTC */
#define WHEN 1709542800

static mp_repair repaired(const char *in, size_t len, int64_t date)
{
    mp_repair r;
    assert_int_equal(mp_repair_message(in, len, date, &r), 1);
    assert_non_null(r.data);
    /* Determinism: again, and from CRLF and CR-only forms of the input. */
    mp_repair again;
    assert_int_equal(mp_repair_message(in, len, date, &again), 1);
    assert_int_equal(again.len, r.len);
    assert_memory_equal(again.data, r.data, r.len);
    assert_string_equal(again.changes, r.changes);
    mp_repair_free(&again);
    char *crlf = malloc(2 * len + 1);
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\n')
            crlf[w++] = '\r';
        crlf[w++] = in[i];
    }
    assert_int_equal(mp_repair_message(crlf, w, date, &again), 1);
    assert_int_equal(again.len, r.len);
    assert_memory_equal(again.data, r.data, r.len);
    mp_repair_free(&again);
    free(crlf);
    /* What the validator finds in the repaired form: nothing it repairs. */
    mp_validator v;
    mp_validate_init(&v);
    mp_validate_update(&v, r.data, r.len);
    mp_validate_finish(&v);
    unsigned left = mp_validate_kinds(&v) & ~(1u << MP_FINDING_MIME_TRUNCATED);
    if (left) {
        char text[1200];
        mp_validate_describe(&v, left, text, sizeof text);
        fail_msg("repaired message still has %s:\n%s", text, r.data);
    }
    return r;
}

static void expect(const char *in, size_t len, int64_t date, const char *want,
                   const char *changes)
{
    mp_repair r = repaired(in, len, date);
    if (r.len != strlen(want) || memcmp(r.data, want, r.len) != 0)
        fail_msg("repaired:\n[%.*s]\nwanted:\n[%s]", (int)r.len, r.data, want);
    assert_string_equal(r.changes, changes);
    mp_repair_free(&r);
}

static void nothing_to_repair_is_left_alone(void **state)
{
    (void)state;
    static const char *const good[] = {
        HEAD "Subject: fine\n folded\n\nbody with 8-bit: \xc3\xa9\n",
        HEAD "\n",
        HEAD "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        mp_repair r;
        assert_int_equal(mp_repair_message(good[i], strlen(good[i]), WHEN, &r),
                         0);
        assert_null(r.data);
    }
}

static void nul_bytes_are_removed(void **state)
{
    (void)state;
    static const char in[] = HEAD "Subject: a\0b\n\nbo\0dy\0\n";
    expect(in, sizeof in - 1, WHEN, HEAD "Subject: ab\n\nbody\n",
           "NUL removed (3)");
}

static void utf8_header_text_becomes_encoded_words(void **state)
{
    (void)state;
    const char *in = HEAD "From: J\xc3\xb6rg M\xc3\xbcller <j@example.org>\n"
                          "Subject: caf\xc3\xa9 au lait\n\nbody\n";
    expect(in, strlen(in), WHEN,
           HEAD "From: =?UTF-8?b?SsO2cmcgTcO8bGxlcg==?= <j@example.org>\n"
                "Subject: =?UTF-8?b?Y2Fmw6k=?= au lait\n\nbody\n",
           "8-bit header text encoded as RFC 2047 words (2 fields, UTF-8)");
}

static void quoted_strings_become_encoded_words_whole(void **state)
{
    (void)state;
    /* RFC 2047 5 allows no encoded word inside quotes: a quoted string
     * with 8-bit bytes is encoded as a phrase, whole (GMime quotes what it
     * leaves as text); an ASCII one stays. The names read back. */
    const char *in = HEAD "From: \"M\xc3\xbcller, J\\\"o\\\"\" <m@x>, "
                          "\"Plain, Name\" <p@x>\n\nbody\n";
    mp_repair r = repaired(in, strlen(in), WHEN);
    assert_string_equal(r.changes, "8-bit header text encoded as RFC 2047 "
                                   "words (1 field, UTF-8)");
    const char *from = strstr(r.data, "\nFrom: ");
    assert_non_null(from);
    char *value = g_strndup(from + 7, strcspn(from + 7, "\n"));
    assert_string_equal(value, "=?UTF-8?b?TcO8bGxlciwgSiJvIg==?= <m@x>, "
                               "\"Plain, Name\" <p@x>");
    InternetAddressList *l = internet_address_list_parse(NULL, value);
    assert_non_null(l);
    assert_int_equal(internet_address_list_length(l), 2);
    InternetAddress *a = internet_address_list_get_address(l, 0);
    assert_string_equal(internet_address_get_name(a), "M\xc3\xbcller, J\"o\"");
    assert_string_equal(
        internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)), "m@x");
    g_object_unref(l);
    g_free(value);
    mp_repair_free(&r);
    /* A long one: several words of whole characters, at most 75 each. */
    GString *name = g_string_new("\"");
    for (int i = 0; i < 40; i++)
        g_string_append(name, "\xc3\xa9t\xc3\xa9 ");
    g_string_append(name, "\"");
    char *in2 = g_strdup_printf(HEAD "To: %s <t@x>\n\nbody\n", name->str);
    r = repaired(in2, strlen(in2), WHEN);
    const char *to = strstr(r.data, "\nTo: ");
    value = g_strndup(to + 5, strcspn(to + 5, "\n"));
    char **words = g_strsplit(value, " ", -1);
    int n_words = 0;
    for (char **w = words; *w; w++, n_words++)
        if (strcmp(*w, "<t@x>") != 0) {
            assert_true(strlen(*w) <= 75);
            assert_true(g_str_has_prefix(*w, "=?UTF-8?b?"));
        }
    assert_true(n_words > 3);
    g_strfreev(words);
    l = internet_address_list_parse(NULL, value);
    a = internet_address_list_get_address(l, 0);
    char *want = g_strndup(name->str + 1, name->len - 2);
    assert_string_equal(internet_address_get_name(a), g_strstrip(want));
    g_free(want);
    g_object_unref(l);
    g_free(value);
    mp_repair_free(&r);
    g_free(in2);
    g_string_free(name, TRUE);
}

static void latin1_header_text_is_read_as_windows_1252(void **state)
{
    (void)state;
    /* 0xE9 is not UTF-8: read as Windows-1252 (0x80 is its euro sign). */
    const char *in = HEAD "Subject: caf\xe9 \x80"
                          "5\n\nbody\n";
    expect(in, strlen(in), WHEN,
           HEAD "Subject: =?windows-1252?b?Y2Fm6SCANQ==?=\n\nbody\n",
           "8-bit header text encoded as RFC 2047 words (1 field, "
           "windows-1252)");
    /* The declared charset first, when the bytes decode in it: the same
     * UTF-8 bytes read as ISO-8859-2. */
    in = HEAD "Content-Type: text/plain; charset=iso-8859-2\n"
              "Subject: \xb1\xe6\n\nbody\n";
    expect(in, strlen(in), WHEN,
           HEAD "Content-Type: text/plain; charset=iso-8859-2\n"
                "Subject: =?iso-8859-2?b?seY=?=\n\nbody\n",
           "8-bit header text encoded as RFC 2047 words (1 field, "
           "iso-8859-2)");
}

static void lines_that_are_no_fields_are_folded_or_dropped(void **state)
{
    (void)state;
    const char *in = "From alice@example.org Mon Mar  4 09:00:00 2024\n" HEAD
                     "Subject: a subject cut\nin two\n\nbody\n";
    expect(in, strlen(in), WHEN,
           HEAD "Subject: a subject cut\n in two\n\nbody\n",
           "header line without a colon folded into the field before (1), "
           "header line without a colon dropped (1)");
}

static void blanks_before_a_colon_alone_are_repaired(void **state)
{
    (void)state;
    /* A finding of its own (MP_FINDING_COLON_BLANK): --repair mends it
     * when nothing else is wrong; blanks in a continuation line or in the
     * body stay. */
    static const char in[] = HEAD "Subject \t: x\n y : z\nX-B : 2\n\n"
                                  "Body : kept\n";
    mp_repair r;
    assert_int_equal(mp_repair_needed(in, sizeof in - 1, WHEN, &r), 1);
    assert_string_equal(r.data, HEAD "Subject: x\n y : z\nX-B: 2\n\n"
                                     "Body : kept\n");
    assert_string_equal(r.changes,
                        "white space before a colon removed (2 fields)");
    mp_repair_free(&r);
    expect(in, sizeof in - 1, WHEN,
           HEAD "Subject: x\n y : z\nX-B: 2\n\nBody : kept\n",
           "white space before a colon removed (2 fields)");
}

static void a_missing_date_and_message_id_are_added(void **state)
{
    (void)state;
    const char *in = "Subject: bare\n\nbody\n";
    char hex[65], want[300];
    mp_digest_buffer(in, strlen(in), hex);
    snprintf(want, sizeof want,
             "Subject: bare\nDate: Mon, 04 Mar 2024 09:00:00 +0000\n"
             "Message-ID: <mailport.%.16s@repaired.invalid>\n\nbody\n",
             hex);
    expect(in, strlen(in), WHEN, want, "Date added, Message-ID added");
    /* The hash is the original's: the same whatever its line endings. */
    expect("Subject: bare\r\n\r\nbody\r\n", 23, WHEN, want,
           "Date added, Message-ID added");
    /* No internal date: no Date is made up. */
    snprintf(want, sizeof want,
             "Subject: bare\nMessage-ID: <mailport.%.16s@repaired.invalid>"
             "\n\nbody\n",
             hex);
    mp_repair r;
    assert_int_equal(mp_repair_message(in, strlen(in), INT64_MIN, &r), 1);
    assert_string_equal(r.data, want);
    mp_repair_free(&r);
    /* An empty Date is dropped and replaced. */
    in = "Date: \nMessage-ID: <b@x>\n\nbody\n";
    expect(in, strlen(in), WHEN,
           "Message-ID: <b@x>\nDate: Mon, 04 Mar 2024 09:00:00 +0000\n\n"
           "body\n",
           "Date added");
}

static void long_lines_are_re_encoded_or_folded(void **state)
{
    (void)state;
    char *line = malloc(1201);
    for (int i = 0; i < 1200; i++)
        line[i] = "abc="[i % 4];
    line[1200] = '\0';
    size_t cap = 4000;
    char *in = malloc(cap), *want = malloc(cap * 2);
    snprintf(in, cap, HEAD "Subject: x\n\n%s\nshort\n", line);
    mp_repair r = repaired(in, strlen(in), WHEN);
    assert_string_equal(r.changes, "body re-encoded as quoted-printable (lines "
                                   "over 998 octets)");
    const char *body = strstr(r.data, "\n\n");
    assert_non_null(body);
    assert_memory_equal(r.data,
                        HEAD "Subject: x\nMIME-Version: 1.0\n"
                             "Content-Transfer-Encoding: quoted-printable\n\n",
                        (size_t)(body + 2 - r.data));
    /* Decoded, the body is the original. */
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(r.data, r.len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    assert_non_null(m);
    GMimeDataWrapper *dw =
        g_mime_part_get_content(GMIME_PART(g_mime_message_get_mime_part(m)));
    GMimeStream *dec = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(dw, dec);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(dec));
    snprintf(want, cap * 2, "%s\nshort\n", line);
    assert_int_equal(bytes->len, strlen(want));
    assert_memory_equal(bytes->data, want, bytes->len);
    g_object_unref(dec);
    g_object_unref(m);
    g_object_unref(p);
    g_object_unref(s);
    mp_repair_free(&r);
    /* An existing 8bit encoding is replaced. */
    snprintf(in, cap,
             HEAD "MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit"
                  "\n\n%s\n",
             line);
    r = repaired(in, strlen(in), WHEN);
    assert_non_null(strstr(r.data, "\nContent-Transfer-Encoding: "
                                   "quoted-printable\n\n"));
    assert_null(strstr(r.data, "8bit"));
    mp_repair_free(&r);
    /* A long header line is folded at its last blank within 998 octets. */
    snprintf(in, cap, HEAD "Subject: %.500s %.500s\n\nbody\n", line, line);
    snprintf(want, cap * 2, HEAD "Subject: %.500s\n %.500s\n\nbody\n", line,
             line);
    expect(in, strlen(in), WHEN, want,
           "header line over 998 octets folded (1)");
    free(line);
    free(in);
    free(want);
}

/* The decoded content of PART (a leaf), as a string (g_free). */
static char *decoded(GMimeObject *part)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(part));
    GMimeStream *dec = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(dw, dec);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(dec));
    char *out = g_strndup((const char *)bytes->data, bytes->len);
    g_object_unref(dec);
    return out;
}

static void long_lines_in_parts_are_re_encoded(void **state)
{
    (void)state;
    char line[1201];
    for (int i = 0; i < 1200; i++)
        line[i] = "xyz ="[i % 5];
    line[1200] = '\0';
    char *in = g_strdup_printf(
        HEAD "MIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
             "preamble\n"
             "--b1\n"
             "Content-Type: text/plain; charset=utf-8\n\n"
             "%s\n"
             "--b1\n"
             "Content-Type: application/octet-stream\n"
             "Content-Transfer-Encoding: base64\n\n"
             "QUJD\n"
             "--b1\n"
             "Content-Type: multipart/alternative; boundary=b2\n\n"
             "--b2\n\n"
             "%s\n"
             "--b2--\n"
             "--b1--\n"
             "epilogue\n",
        line, line);
    mp_repair r = repaired(in, strlen(in), WHEN);
    assert_string_equal(r.changes, "2 parts re-encoded as quoted-printable "
                                   "(lines over 998 octets)");
    /* Everything around the two text bodies stays as it was. */
    assert_non_null(strstr(r.data, "\n\npreamble\n--b1\nContent-Type: "
                                   "text/plain; charset=utf-8\n"
                                   "Content-Transfer-Encoding: "
                                   "quoted-printable\n\n"));
    assert_non_null(strstr(r.data, "\n--b1\nContent-Type: "
                                   "application/octet-stream\n"
                                   "Content-Transfer-Encoding: base64\n\n"
                                   "QUJD\n--b1\nContent-Type: "
                                   "multipart/alternative; boundary=b2\n\n"
                                   "--b2\nContent-Transfer-Encoding: "
                                   "quoted-printable\n\n"));
    assert_non_null(strstr(r.data, "\n--b2--\n--b1--\nepilogue\n"));
    /* GMime decodes both back to the long line. */
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(r.data, r.len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    assert_non_null(m);
    GMimeMultipart *mixed = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
    assert_int_equal(g_mime_multipart_get_count(mixed), 3);
    char *text = decoded(g_mime_multipart_get_part(mixed, 0));
    assert_string_equal(text, line);
    g_free(text);
    GMimeMultipart *alt = GMIME_MULTIPART(g_mime_multipart_get_part(mixed, 2));
    text = decoded(g_mime_multipart_get_part(alt, 0));
    assert_string_equal(text, line);
    g_free(text);
    g_object_unref(m);
    g_object_unref(p);
    g_object_unref(st);
    mp_repair_free(&r);
    /* A multipart never closed: its last part is re-encoded all the same. */
    g_free(in);
    in = g_strdup_printf(HEAD "Content-Type: multipart/mixed; boundary=b\n\n"
                              "--b\n\n%s\n",
                         line);
    mp_repair t;
    assert_int_equal(mp_repair_message(in, strlen(in), WHEN, &t), 1);
    assert_string_equal(t.changes, "1 part re-encoded as quoted-printable "
                                   "(lines over 998 octets)");
    mp_repair_free(&t);
    g_free(in);
}

static void everything_at_once(void **state)
{
    (void)state;
    static const char in[] = "From x Mon Mar  4 09:00:00 2024\n"
                             "Subject: na\xc3\xafve\0\nbroken line\n\nb\0\n";
    mp_repair r = repaired(in, sizeof in - 1, WHEN);
    char hex[65], want[400];
    mp_digest_buffer(in, sizeof in - 1, hex);
    snprintf(want, sizeof want,
             "Subject: =?UTF-8?b?bmHDr3Zl?=\n broken line\n"
             "Date: Mon, 04 Mar 2024 09:00:00 +0000\n"
             "Message-ID: <mailport.%.16s@repaired.invalid>\n\nb\n",
             hex);
    assert_string_equal(r.data, want);
    assert_string_equal(
        r.changes,
        "NUL removed (2), header line without a colon folded into the field "
        "before (1), header line without a colon dropped (1), 8-bit header "
        "text encoded as RFC 2047 words (1 field, UTF-8), Date added, "
        "Message-ID added");
    mp_repair_free(&r);
}

/* The corpora's messages: each repaired twice (and from its CRLF form) to
 * the same bytes, and a repaired one left with none of the findings the
 * repair mends but those it leaves by rule (long lines in base64 bodies or
 * attached messages; open multiparts). */
typedef struct tally {
    size_t files, repaired, long_left;
} tally;

/* One corpus file (mp_walk_files calls it, CTX the tally). */
static void check_corpus_file(const char *path, void *ctx)
{
    tally *t = ctx;
    size_t len;
    char *in = mp_read_file(path, &len);
    if (!in)
        return;
    t->files++;
    mp_repair a, b;
    int ra = mp_repair_needed(in, len, WHEN, &a);
    int rb = mp_repair_needed(in, len, WHEN, &b);
    assert_int_equal(ra, rb);
    if (ra == 1) {
        t->repaired++;
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            fail_msg("%s: two repairs differ", path);
        char *crlf = malloc(2 * len + 1);
        size_t w = 0;
        for (size_t i = 0; i < len; i++) {
            if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
                crlf[w++] = '\r';
            crlf[w++] = in[i];
        }
        mp_repair c;
        assert_int_equal(mp_repair_needed(crlf, w, WHEN, &c), 1);
        if (c.len != a.len || memcmp(c.data, a.data, a.len) != 0)
            fail_msg("%s: its CRLF form repairs otherwise", path);
        mp_repair_free(&c);
        free(crlf);
        mp_validator v;
        mp_validate_init(&v);
        mp_validate_update(&v, a.data, a.len);
        mp_validate_finish(&v);
        unsigned left =
            mp_validate_kinds(&v) &
            ~((1u << MP_FINDING_MIME_TRUNCATED) | (1u << MP_FINDING_LONG_LINE));
        if (left) {
            char text[1200];
            mp_validate_describe(&v, left, text, sizeof text);
            fail_msg("%s: repaired, still has %s", path, text);
        }
        t->long_left += v.found[MP_FINDING_LONG_LINE].count > 0;
    }
    mp_repair_free(&a);
    mp_repair_free(&b);
    free(in);
}

static void corpus_messages_repair_deterministically(void **state)
{
    (void)state;
    tally t = {0};
    char *eml = mp_strf("%s/eml", mp_corpora());
    mp_walk_files(eml, 4 * 1024 * 1024, check_corpus_file, &t);
    free(eml);
    assert_true(t.files > 500);
    printf("# %zu corpus messages: %zu repaired, %zu of them with long lines "
           "left (base64, attached messages)\n",
           t.files, t.repaired, t.long_left);
    assert_true(t.repaired > 0);
}

int main(void)
{
    g_mime_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_to_repair_is_left_alone),
        cmocka_unit_test(nul_bytes_are_removed),
        cmocka_unit_test(utf8_header_text_becomes_encoded_words),
        cmocka_unit_test(latin1_header_text_is_read_as_windows_1252),
        cmocka_unit_test(quoted_strings_become_encoded_words_whole),
        cmocka_unit_test(lines_that_are_no_fields_are_folded_or_dropped),
        cmocka_unit_test(blanks_before_a_colon_alone_are_repaired),
        cmocka_unit_test(a_missing_date_and_message_id_are_added),
        cmocka_unit_test(long_lines_are_re_encoded_or_folded),
        cmocka_unit_test(long_lines_in_parts_are_re_encoded),
        cmocka_unit_test(everything_at_once),
        cmocka_unit_test(corpus_messages_repair_deterministically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
