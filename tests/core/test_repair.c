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

/* S cut into lines of WIDTH octets, each ended by LF (g_free). */
static char *lines_of(const char *s, size_t width)
{
    GString *out = g_string_new(NULL);
    for (size_t n = strlen(s), at = 0; at < n; at += width) {
        g_string_append_len(out, s + at,
                            (gssize)(n - at < width ? n - at : width));
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

/* LEN bytes of every value, from SEED (g_free). */
static guchar *binary(size_t len, unsigned seed)
{
    guchar *b = g_malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (guchar)((i * 37 + seed) * 2654435761u >> 13);
    return b;
}

/* The message S (LEN bytes) parsed by GMime (unref). */
static GMimeMessage *parsed(const char *s, size_t len)
{
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(s, len);
    GMimeParser *p = g_mime_parser_new_with_stream(st);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    g_object_unref(p);
    g_object_unref(st);
    assert_non_null(m);
    return m;
}

/* The decoded content of PART (a leaf) as bytes (g_byte_array_unref). */
static GByteArray *decoded_bytes(GMimeObject *part)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(part));
    GMimeStream *dec = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(dw, dec);
    GByteArray *held = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(dec));
    GByteArray *bytes = g_byte_array_sized_new(held->len);
    g_byte_array_append(bytes, held->data, held->len);
    g_object_unref(dec); /* frees HELD */
    return bytes;
}

static void long_base64_lines_are_re_wrapped(void **state)
{
    (void)state;
    /* 1,500 bytes as one base64 line of 2,000 characters, after a short
     * line: the same characters come out 76 to a line. */
    guchar *data = binary(1500, 7);
    char *b64 = g_base64_encode(data, 1500);
    static const char head[] = HEAD "MIME-Version: 1.0\n"
                                    "Content-Type: application/octet-stream\n"
                                    "Content-Transfer-Encoding: base64\n\n";
    char *in = g_strdup_printf("%sQUJD\n%s\n", head, b64);
    char *all = g_strdup_printf("QUJD%s", b64);
    char *wrapped = lines_of(all, 76);
    char *want = g_strdup_printf("%s%s", head, wrapped);
    expect(in, strlen(in), WHEN, want,
           "base64 body re-wrapped to 76-character lines (lines over 998 "
           "octets)");
    /* Decoded, by glib and by GMime: "ABC" and the bytes. */
    mp_repair r = repaired(in, strlen(in), WHEN);
    gsize got = 0;
    guchar *back = g_base64_decode(strstr(r.data, "\n\n") + 2, &got);
    assert_int_equal(got, 1503);
    assert_memory_equal(back, "ABC", 3);
    assert_memory_equal(back + 3, data, 1500);
    GMimeMessage *m = parsed(r.data, r.len);
    GByteArray *bytes = decoded_bytes(g_mime_message_get_mime_part(m));
    assert_int_equal(bytes->len, 1503);
    assert_memory_equal(bytes->data + 3, data, 1500);
    g_byte_array_unref(bytes);
    g_object_unref(m);
    mp_repair_free(&r);
    g_free(back);
    g_free(want);
    g_free(wrapped);
    g_free(all);
    g_free(in);
    g_free(b64);
    g_free(data);
}

static void long_quoted_printable_lines_get_soft_breaks(void **state)
{
    (void)state;
    /* A line of 134 x "ab=C3=A9 " (1,206 octets) between two short ones:
     * cut into lines of at most 76 octets, soft break included, never
     * inside an escape; the short lines and a soft break of its own
     * stay. */
    GString *line = g_string_new(NULL);
    for (int i = 0; i < 134; i++)
        g_string_append(line, "ab=C3=A9 ");
    g_string_append(line, "end");
    static const char head[] = HEAD "MIME-Version: 1.0\n"
                                    "Content-Type: text/plain; charset=utf-8\n"
                                    "Content-Transfer-Encoding: "
                                    "quoted-printable\n\n";
    char *in =
        g_strdup_printf("%sshort=20line=\nx\n%s\nlast\n", head, line->str);
    mp_repair r = repaired(in, strlen(in), WHEN);
    assert_string_equal(r.changes, "quoted-printable body given soft line "
                                   "breaks (lines over 998 octets)");
    /* The first three lines cut from the long one, exactly: 8 x 9 octets
     * and "ab" (=C3 would make 77); then what fits in 75. */
    GString *p8 = g_string_new(NULL);
    for (int i = 0; i < 8; i++)
        g_string_append(p8, "ab=C3=A9 ");
    char *p7 = g_strndup(p8->str, 7 * 9);
    char *first = g_strdup_printf("%sshort=20line=\nx\n%sab=\n"
                                  "=C3=A9 %sab=C3=\n=A9 %sab=C3=A9=\n",
                                  head, p8->str, p7, p7);
    assert_memory_equal(r.data, first, strlen(first));
    /* Only the long line changed: cut into lines of at most 76 octets,
     * each but the last ending in a soft break; those taken out, the
     * line exactly. */
    const char *body = strstr(r.data, "\n\n") + 2;
    static const char before[] = "short=20line=\nx\n", after[] = "\nlast\n";
    assert_memory_equal(body, before, sizeof before - 1);
    assert_string_equal(r.data + r.len - (sizeof after - 1), after);
    char *middle = g_strndup(body + sizeof before - 1,
                             (size_t)(r.data + r.len - (sizeof after - 1) -
                                      (body + sizeof before - 1)));
    char **pieces = g_strsplit(middle, "\n", -1);
    GString *joined = g_string_new(NULL);
    int n_pieces = 0;
    for (char **piece = pieces; *piece; piece++, n_pieces++) {
        size_t len = strlen(*piece);
        assert_true(len <= 76);
        if (piece[1]) {
            assert_true(len >= 73); /* greedy: an escape is 3 octets */
            assert_int_equal((*piece)[len - 1], '=');
            len--;
        }
        g_string_append_len(joined, *piece, (gssize)len);
    }
    assert_int_equal(n_pieces, 17);
    assert_string_equal(joined->str, line->str);
    /* GMime decodes it as it decodes the input. */
    GMimeMessage *m = parsed(r.data, r.len), *o = parsed(in, strlen(in));
    GByteArray *got = decoded_bytes(g_mime_message_get_mime_part(m));
    GByteArray *was = decoded_bytes(g_mime_message_get_mime_part(o));
    assert_int_equal(got->len, was->len);
    assert_memory_equal(got->data, was->data, was->len);
    assert_memory_equal(was->data, "short linex\n", 12);
    g_byte_array_unref(got);
    g_byte_array_unref(was);
    g_object_unref(m);
    g_object_unref(o);
    mp_repair_free(&r);
    g_strfreev(pieces);
    g_free(middle);
    g_string_free(joined, TRUE);
    g_free(first);
    g_free(p7);
    g_string_free(p8, TRUE);
    g_free(in);
    g_string_free(line, TRUE);
}

static void parts_and_attached_messages_are_repaired_in_turn(void **state)
{
    (void)state;
    /* A multipart/mixed with a base64 part, a quoted-printable part and an
     * attached message whose Subject and text body have lines over 998
     * octets: each repaired by its rule, the rest byte for byte. */
    guchar *data = binary(900, 3);
    char *b64 = g_base64_encode(data, 900);
    char *xs = g_strnfill(1000, 'x'), *letters = g_malloc(1101);
    for (int i = 0; i < 1100; i++)
        letters[i] = (char)('a' + i % 26);
    letters[1100] = '\0';
    GString *subject = g_string_new("Subject:");
    for (int i = 0; i < 220; i++)
        g_string_append(subject, " word");
    const char *part_head =
        "Content-Type: message/rfc822\n\nFrom: inner@example.org\n";
    char *in = g_strdup_printf(
        HEAD "MIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
             "--b1\nContent-Type: application/pdf\n"
             "Content-Transfer-Encoding: base64\n\n%s\n"
             "--b1\nContent-Type: text/html\n"
             "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
             "--b1\n%s%s\nContent-Type: text/plain\n\n%s\n"
             "--b1--\n",
        b64, xs, part_head, subject->str, letters);
    mp_repair r = repaired(in, strlen(in), WHEN);
    assert_string_equal(
        r.changes,
        "1 part re-encoded as quoted-printable (lines over 998 octets), 1 "
        "base64 part re-wrapped to 76-character lines (lines over 998 "
        "octets), 1 quoted-printable part given soft line breaks (lines over "
        "998 octets), header line over 998 octets folded in an attached "
        "message (1)");
    /* The bytes: base64 76 to a line; the x's 75 and "=" to a line; the
     * Subject folded at its last blank within 998 octets; the letters
     * quoted-printable, 75 and "=" to a line. */
    char *wrapped = lines_of(b64, 76);
    GString *qp = g_string_new(NULL);
    for (int i = 0; i < 13; i++)
        g_string_append(qp, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                            "xxxxxxxxxxxxxxxxxxxxxxxxx=\n");
    g_string_append_len(qp, xs, 1000 - 13 * 75);
    GString *text = g_string_new(NULL);
    for (int at = 0; at < 1100; at += 75) {
        g_string_append_len(text, letters + at,
                            at + 75 < 1100 ? 75 : 1100 - at);
        g_string_append(text, at + 75 < 1100 ? "=\n" : "");
    }
    char *want = g_strdup_printf(
        HEAD "MIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
             "--b1\nContent-Type: application/pdf\n"
             "Content-Transfer-Encoding: base64\n\n%s"
             "--b1\nContent-Type: text/html\n"
             "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
             "--b1\n%s%.998s\n%s\nContent-Type: text/plain\n"
             "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
             "--b1--\n",
        wrapped, qp->str, part_head, subject->str, subject->str + 998,
        text->str);
    if (strcmp(r.data, want) != 0)
        fail_msg("repaired:\n[%s]\nwanted:\n[%s]", r.data, want);
    /* Decoded by GMime: the repaired parts give what the original's give. */
    GMimeMessage *m = parsed(r.data, r.len), *o = parsed(in, strlen(in));
    GMimeMultipart *mm = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
    GMimeMultipart *om = GMIME_MULTIPART(g_mime_message_get_mime_part(o));
    assert_int_equal(g_mime_multipart_get_count(mm), 3);
    for (int i = 0; i < 2; i++) {
        GByteArray *got = decoded_bytes(g_mime_multipart_get_part(mm, i));
        GByteArray *was = decoded_bytes(g_mime_multipart_get_part(om, i));
        assert_int_equal(got->len, was->len);
        assert_memory_equal(got->data, was->data, was->len);
        if (i == 0) {
            assert_int_equal(got->len, 900);
            assert_memory_equal(got->data, data, 900);
        }
        g_byte_array_unref(got);
        g_byte_array_unref(was);
    }
    GMimeMessage *inner = g_mime_message_part_get_message(
        GMIME_MESSAGE_PART(g_mime_multipart_get_part(mm, 2)));
    assert_string_equal(g_mime_message_get_subject(inner), subject->str + 9);
    GByteArray *got = decoded_bytes(g_mime_message_get_mime_part(inner));
    assert_int_equal(got->len, 1100);
    assert_memory_equal(got->data, letters, 1100);
    g_byte_array_unref(got);
    g_object_unref(m);
    g_object_unref(o);
    mp_repair_free(&r);
    g_free(want);
    g_string_free(text, TRUE);
    g_string_free(qp, TRUE);
    g_free(wrapped);
    g_free(in);
    g_string_free(subject, TRUE);
    g_free(letters);
    g_free(xs);
    g_free(b64);
    g_free(data);
}

/* Attached messages are followed MP_VALIDATE_DEPTH deep, no deeper. */
static void attached_messages_are_followed_to_a_depth(void **state)
{
    (void)state;
    char *line = g_strnfill(1200, 'q');
    for (int levels = MP_VALIDATE_DEPTH - 1; levels <= MP_VALIDATE_DEPTH;
         levels++) {
        GString *in = g_string_new(HEAD);
        for (int i = 0; i < levels; i++)
            g_string_append(in, "Content-Type: message/rfc822\n\n");
        g_string_append_printf(in, "Subject: deep\n\n%s\n", line);
        mp_repair r;
        int got = mp_repair_message(in->str, in->len, WHEN, &r);
        if (levels < MP_VALIDATE_DEPTH) {
            assert_int_equal(got, 1);
            assert_string_equal(r.changes,
                                "1 part re-encoded as quoted-printable "
                                "(lines over 998 octets)");
            assert_non_null(strstr(r.data, "Subject: deep\n"
                                           "Content-Transfer-Encoding: "
                                           "quoted-printable\n\n"));
        } else {
            assert_int_equal(got, 0); /* too deep: left as it is */
        }
        mp_repair_free(&r);
        g_string_free(in, TRUE);
    }
    g_free(line);
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
 * repair mends but those it leaves by rule (long lines in binary bodies and
 * delimiter lines; open multiparts). */
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
           "left (delimiter lines, binary parts)\n",
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
        cmocka_unit_test(long_base64_lines_are_re_wrapped),
        cmocka_unit_test(long_quoted_printable_lines_get_soft_breaks),
        cmocka_unit_test(parts_and_attached_messages_are_repaired_in_turn),
        cmocka_unit_test(attached_messages_are_followed_to_a_depth),
        cmocka_unit_test(everything_at_once),
        cmocka_unit_test(corpus_messages_repair_deterministically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
