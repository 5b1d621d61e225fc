/* Validation of messages on their way to the sink (core/engine/validate.c):
 * crafted messages with each finding, fed whole, byte by byte and in
 * random chunks (seeded: the seed is printed, MP_TEST_SEED=N replays it),
 * asserting every finding with its count, offset, line and length; and
 * the corpora's messages against a plain reference scanner written here
 * from validate.h's rules, in their own line endings and in LF, CRLF and
 * CR-only form. */
#include "testutil.h"
#include "validate.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static unsigned seed;

/* V after feeding IN (LEN bytes) in chunks: MODE 0 whole, 1 byte by byte,
 * 2 random sizes (1 to 64 bytes, or up to LEN). */
static void run(mp_validator *v, const char *in, size_t len, int mode)
{
    mp_validate_init(v);
    size_t at = 0;
    while (at < len) {
        size_t n = mode == 0 ? len : mode == 1 ? 1 : 0;
        if (mode == 2)
            n = rand() % 4 == 0 ? 1 + (size_t)rand() % len
                                : 1 + (size_t)rand() % 64;
        if (n > len - at)
            n = len - at;
        mp_validate_update(v, in + at, n);
        at += n;
    }
    mp_validate_finish(v);
}

/* Every way of feeding IN gives the findings of the whole. */
static void feed(mp_validator *v, const char *in, size_t len)
{
    run(v, in, len, 0);
    for (int mode = 1; mode <= 2; mode++)
        for (int round = 0; round < (mode == 2 ? 20 : 1); round++) {
            mp_validator w;
            run(&w, in, len, mode);
            for (int k = 0; k < MP_FINDING__N; k++)
                if (memcmp(&w.found[k], &v->found[k], sizeof w.found[k]))
                    fail_msg("finding %d differs fed in chunks (mode %d, "
                             "seed %u): count %llu offset %llu line %llu, "
                             "whole: count %llu offset %llu line %llu",
                             k, mode, seed,
                             (unsigned long long)w.found[k].count,
                             (unsigned long long)w.found[k].offset,
                             (unsigned long long)w.found[k].line,
                             (unsigned long long)v->found[k].count,
                             (unsigned long long)v->found[k].offset,
                             (unsigned long long)v->found[k].line);
        }
}

static void feeds(mp_validator *v, const char *in)
{
    feed(v, in, strlen(in));
}

#define EXPECT(v, kind, cnt, off, ln, len)                                     \
    do {                                                                       \
        const mp_finding *f_ = &(v)->found[kind];                              \
        assert_int_equal(f_->count, cnt);                                      \
        assert_int_equal(f_->offset, off);                                     \
        assert_int_equal(f_->line, ln);                                        \
        assert_int_equal(f_->length, len);                                     \
    } while (0)

static const char good_head[] = "Date: Mon, 4 Mar 2024 09:00:00 +0000\n"
                                "Message-ID: <a@example.org>\n";

static char *described(const mp_validator *v)
{
    static char text[2000];
    mp_validate_describe(v, ~0u, text, sizeof text);
    return text;
}

static void clean_messages_have_no_findings(void **state)
{
    (void)state;
    mp_validator v;
    static const char *const clean[] = {
        "Date: Mon, 4 Mar 2024 09:00:00 +0000\nMessage-ID: <a@example.org>\n"
        "Subject: folded\n  on two lines\nX-Colon: in the value : fine\n"
        "\nbody : with a blank before a colon\n",
        "Date: Mon, 4 Mar 2024 09:00:00 +0000\r\nMessage-ID: <a@x>\r\n\r\n"
        "body\r\n",
        "Date: Mon, 4 Mar 2024 09:00:00 +0000\rMessage-ID: <a@x>\r\rbody\r",
        /* 8-bit and lines without a colon in the body are fine */
        "Date: Mon, 4 Mar 2024 09:00:00 +0000\nMessage-ID: <a@x>\n\n"
        "caf\xc3\xa9 no colon here\n",
    };
    for (size_t i = 0; i < sizeof clean / sizeof *clean; i++) {
        feeds(&v, clean[i]);
        assert_int_equal(mp_validate_kinds(&v), 0);
        assert_string_equal(described(&v), "");
    }
}

static void a_nul_byte_is_found_with_its_offset(void **state)
{
    (void)state;
    mp_validator v;
    char msg[200];
    size_t h = strlen(good_head);
    memcpy(msg, good_head, h);
    memcpy(msg + h, "\nbefore\0after\n\0\n", 16);
    feed(&v, msg, h + 16);
    EXPECT(&v, MP_FINDING_NUL, 2, h + 7, 4, 0);
    assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_NUL);
    char want[100];
    snprintf(want, sizeof want, "2 NUL bytes (the first at offset %zu, line 4)",
             h + 7);
    assert_string_equal(described(&v), want);
    /* One, in the header: still a NUL, not an 8-bit byte. */
    static const char one[] = "Subject: a\0b\n";
    feed(&v, one, sizeof one - 1);
    EXPECT(&v, MP_FINDING_NUL, 1, 10, 1, 0);
    assert_int_equal(v.found[MP_FINDING_HEADER_8BIT].count, 0);
    assert_string_equal(described(&v), "a NUL byte at offset 10 (line 1), no "
                                       "Date field and no Message-ID");
}

static void eight_bit_header_bytes_are_found(void **state)
{
    (void)state;
    mp_validator v;
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\r\n"
              "Message-ID: <a@x>\r\nSubject: caf\xc3\xa9\r\n\r\n\xff body\r\n");
    /* 38 + 19 bytes before "Subject: caf" */
    EXPECT(&v, MP_FINDING_HEADER_8BIT, 2, 38 + 19 + 12, 3, 0);
    assert_string_equal(described(&v), "2 8-bit bytes in its header (the "
                                       "first at offset 69, line 3)");
    feeds(&v, "From: J\xf6rg <j@x>\n");
    EXPECT(&v, MP_FINDING_HEADER_8BIT, 1, 7, 1, 0);
    assert_string_equal(described(&v), "an 8-bit byte in its header at offset "
                                       "7 (line 1), no Date field and no "
                                       "Message-ID");
}

static void header_lines_that_are_no_fields_are_found(void **state)
{
    (void)state;
    mp_validator v;
    /* Line 3 has no colon; line 4 is an mbox From_ line (its colons come
     * after a blank); line 5 starts with a colon; line 6 continues line 5
     * (a continuation is never one); the body's lines do not count. */
    char msg[400];
    snprintf(msg, sizeof msg,
             "%sno colon here\nFrom a@b Mon Mar  4 09:00:00 2024\n"
             ": empty name\n\tcontinued\n\nbody without colon\n",
             good_head);
    feeds(&v, msg);
    EXPECT(&v, MP_FINDING_NO_COLON, 3, strlen(good_head), 3, 0);
    assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_NO_COLON);
    assert_string_equal(described(&v), "3 header lines without a field name "
                                       "and colon (the first on line 3)");
    /* In CR-only mail the lines are found the same. */
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\rMessage-ID: <a@x>\r"
              "broken\r\rbody\r");
    EXPECT(&v, MP_FINDING_NO_COLON, 1, 37 + 18, 3, 0);
    assert_string_equal(described(&v), "a header line without a field name "
                                       "and colon (line 3)");
}

static void blanks_before_a_colon_are_found(void **state)
{
    (void)state;
    mp_validator v;
    /* Lines 3 and 4 have blanks before the colon (RFC 5322 4.5.8); line 5
     * is no field at all; line 6 is a continuation, the body a body. */
    char msg[400];
    snprintf(msg, sizeof msg,
             "%sSubject : x\nX-Two \t: y\nno colon\n\tcont : z\n\n"
             "Body : no\n",
             good_head);
    feeds(&v, msg);
    EXPECT(&v, MP_FINDING_COLON_BLANK, 2, strlen(good_head), 3, 0);
    EXPECT(&v, MP_FINDING_NO_COLON, 1, strlen(good_head) + 23, 5, 0);
    assert_int_equal(mp_validate_kinds(&v), (1u << MP_FINDING_NO_COLON) |
                                                (1u << MP_FINDING_COLON_BLANK));
    assert_string_equal(described(&v),
                        "a header line without a field name and colon (line "
                        "5) and 2 field names followed by white space before "
                        "their colons (the first on line 3)");
    /* One, in CRLF, with no Date: named before it. */
    feeds(&v, "Message-ID: <a@x>\r\nSubject\t:x\r\n\r\nbody\r\n");
    EXPECT(&v, MP_FINDING_COLON_BLANK, 1, 19, 2, 0);
    assert_string_equal(described(&v),
                        "a field name followed by white space before its "
                        "colon (line 2) and no Date field");
    /* The header of an attached message is not the message's. */
    snprintf(msg, sizeof msg,
             "%sContent-Type: message/rfc822\n\nSubject : inner\n\nbody\n",
             good_head);
    feeds(&v, msg);
    assert_int_equal(mp_validate_kinds(&v), 0);
}

static void lines_over_998_octets_are_found(void **state)
{
    (void)state;
    mp_validator v;
    static const char *const eol[] = {"\n", "\r\n", "\r", "\r\r\n"};
    for (int e = 0; e < 4; e++) {
        size_t h = strlen(good_head);
        char *msg = malloc(h + 4000);
        size_t w = 0;
        /* The header, in this message's line endings. */
        for (const char *p = good_head; *p; p++) {
            if (*p == '\n')
                w += (size_t)sprintf(msg + w, "%s", eol[e]);
            else
                msg[w++] = *p;
        }
        w += (size_t)sprintf(msg + w, "%s", eol[e]); /* line 3: empty */
        size_t at4 = w;
        memset(msg + w, 'a', 998); /* line 4: 998, allowed */
        w += 998;
        w += (size_t)sprintf(msg + w, "%s", eol[e]);
        size_t at5 = w;
        memset(msg + w, 'b', 999); /* line 5: 999 */
        w += 999;
        w += (size_t)sprintf(msg + w, "%s", eol[e]);
        memset(msg + w, 'c', 1500); /* line 6: 1500, no final break */
        w += 1500;
        feed(&v, msg, w);
        (void)at4;
        EXPECT(&v, MP_FINDING_LONG_LINE, 2, at5, 5, 999);
        assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_LONG_LINE);
        assert_string_equal(described(&v), "2 lines longer than 998 octets "
                                           "(the first on line 5: 999 "
                                           "octets)");
        free(msg);
    }
    /* A long header line counts too. */
    char *msg = malloc(3000);
    int n = sprintf(msg, "Subject: ");
    memset(msg + n, 's', 1200);
    sprintf(msg + n + 1200, "\n%s\nbody\n", good_head);
    feeds(&v, msg);
    EXPECT(&v, MP_FINDING_LONG_LINE, 1, 0, 1, 1209);
    assert_string_equal(described(&v),
                        "a line longer than 998 octets (line 1: 1209 octets)");
    free(msg);
}

static void a_missing_date_or_message_id_is_found(void **state)
{
    (void)state;
    mp_validator v;
    feeds(&v, "From: a@x\nMessage-ID: <a@x>\n\nbody\n");
    assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_NO_DATE);
    EXPECT(&v, MP_FINDING_NO_DATE, 1, 0, 0, 0);
    assert_string_equal(described(&v), "no Date field");
    feeds(&v, "Date:  \t\nMessage-ID: <a@x>\n\nbody\n"); /* empty: missing */
    assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_NO_DATE);
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\nMessage-ID:\n\nbody\n");
    assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_NO_MESSAGE_ID);
    assert_string_equal(described(&v), "no Message-ID");
    /* Folded onto the next line, in lower case: present. */
    feeds(&v, "date: Mon, 4 Mar 2024 09:00:00 +0000\nmessage-id:\n <a@x>\n\n");
    assert_int_equal(mp_validate_kinds(&v), 0);
    /* A Date inside an attached message is not the message's. */
    feeds(&v, "Message-ID: <a@x>\nContent-Type: message/rfc822\n\n"
              "Date: Mon, 4 Mar 2024 09:00:00 +0000\n\nbody\n");
    assert_int_equal(mp_validate_kinds(&v), 1u << MP_FINDING_NO_DATE);
    /* A message that is all header (no empty line). */
    feeds(&v, "Subject: only a header");
    assert_string_equal(described(&v), "no Date field and no Message-ID");
    /* Empty. */
    feed(&v, "", 0);
    assert_string_equal(described(&v), "no Date field and no Message-ID");
}

static void multipart_without_its_closing_boundary_is_found(void **state)
{
    (void)state;
    mp_validator v;
    char msg[2000];
    /* Closed: nothing found. The boundary is quoted, the Content-Type
     * folded; "--outer-1" is not a delimiter of "outer". */
    snprintf(msg, sizeof msg,
             "%sContent-Type: multipart/mixed;\n boundary=\"outer\"\n\n"
             "preamble\n--outer\nContent-Type: text/plain\n\none\n"
             "--outer-1\n--outer  \n\ntwo\n--outer--\nepilogue\n",
             good_head);
    feeds(&v, msg);
    assert_int_equal(mp_validate_kinds(&v), 0);
    /* Cut after a part: found, with the line of its Content-Type. */
    snprintf(msg, sizeof msg,
             "%sContent-Type: multipart/mixed; boundary=b1\n\n--b1\n\none\n"
             "--b1\n\ntwo\n",
             good_head);
    feeds(&v, msg);
    EXPECT(&v, MP_FINDING_MIME_TRUNCATED, 1, 0, 3, 0);
    assert_string_equal(described(&v),
                        "a multipart whose closing boundary never comes (its "
                        "Content-Type on line 3)");
    /* Nested: the inner one ended by the outer's closing delimiter counts
     * as closed; both left open are two, named by the outer one. */
    snprintf(msg, sizeof msg,
             "%sContent-Type: multipart/mixed; boundary=out\n\n--out\n"
             "X-Part: 1\nContent-Type: multipart/alternative; boundary=in\n\n"
             "--in\n\nplain\n--in\nContent-Type: text/html\n\nhtml\n"
             "--out--\n",
             good_head);
    feeds(&v, msg);
    assert_int_equal(mp_validate_kinds(&v), 0);
    msg[strlen(msg) - strlen("--out--\n")] = '\0';
    feeds(&v, msg);
    EXPECT(&v, MP_FINDING_MIME_TRUNCATED, 2, 0, 3, 0);
    assert_string_equal(described(&v),
                        "2 multiparts whose closing boundaries never come (the "
                        "outermost's Content-Type on line 3)");
    /* Inside an attached message (message/rfc822), in CRLF. */
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\r\nMessage-ID: <a@x>\r\n"
              "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
              "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
              "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\n"
              "text\r\n--o--\r\n");
    assert_int_equal(mp_validate_kinds(&v), 0);
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\r\nMessage-ID: <a@x>\r\n"
              "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
              "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\n"
              "text\r\n");
    EXPECT(&v, MP_FINDING_MIME_TRUNCATED, 1, 0, 6, 0);
    /* A multipart/digest's parts are messages by default. */
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\nMessage-ID: <a@x>\n"
              "Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
              "Subject: m1\nContent-Type: multipart/mixed; boundary=m\n\n"
              "--m\n\nbody\n--d--\n");
    assert_int_equal(mp_validate_kinds(&v), 0);
    /* A multipart without a boundary parameter is not followed. */
    feeds(&v, "Date: Mon, 4 Mar 2024 09:00:00 +0000\nMessage-ID: <a@x>\n"
              "Content-Type: multipart/mixed\n\nanything\n");
    assert_int_equal(mp_validate_kinds(&v), 0);
}

static void several_findings_are_named_together(void **state)
{
    (void)state;
    mp_validator v;
    static const char msg[] = "Subject: a\nnot a field\n\nx\0y\n";
    feed(&v, msg, sizeof msg - 1);
    assert_string_equal(described(&v),
                        "a NUL byte at offset 25 (line 4), a header line "
                        "without a field name and colon (line 2), no Date "
                        "field and no Message-ID");
    char small[40];
    size_t n = mp_validate_describe(&v, ~0u, small, sizeof small);
    assert_int_equal(n, sizeof small - 1);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_string_equal(
        mp_validate_describe(&v, MP_FINDINGS_ALTERED, small, sizeof small)
            ? small
            : "",
        "a NUL byte at offset 25 (line 4)");
}

/* ------------------------------------------------------------------------ */
/* The corpora against a reference written from validate.h's rules over the
 * LF form of a message (its lines are the message's lines). It does not
 * follow MIME: the kinds it checks are NUL, 8-bit header bytes, lines that
 * are no fields, blanks before a colon, long lines, Date and Message-ID. */

typedef struct ref {
    uint64_t nul, h8, nocolon, blank, longl;
    uint64_t nul_line, h8_line, nocolon_line, blank_line, long_line, long_len;
    int date, mid;
} ref;

static int field_is(const char *s, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(s, name, k) != 0)
        return 0;
    size_t i = k;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i < n && s[i] == ':';
}

static ref reference(const char *lf, size_t len)
{
    ref r = {0};
    int header = 1;
    uint64_t line = 1;
    char *date = NULL, *mid = NULL;
    int in_date = 0, in_mid = 0;
    for (size_t at = 0; at < len; line++) {
        const char *nl = memchr(lf + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (lf + at)) : len - at;
        const char *s = lf + at;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == 0 && !r.nul++)
                r.nul_line = line;
            if (header && (unsigned char)s[i] >= 0x80 && !r.h8++)
                r.h8_line = line;
        }
        if (n > 998 && !r.longl++) {
            r.long_line = line;
            r.long_len = n;
        }
        if (header && n == 0)
            header = 0;
        else if (header && (s[0] == ' ' || s[0] == '\t')) {
            char **v = in_date ? &date : in_mid ? &mid : NULL;
            if (v) {
                size_t old = strlen(*v);
                *v = realloc(*v, old + n + 1);
                memcpy(*v + old, s, n);
                (*v)[old + n] = 0;
            }
        } else if (header) {
            in_date = in_mid = 0;
            size_t i = 0;
            while (i < n && (unsigned char)s[i] > 32 &&
                   (unsigned char)s[i] < 127 && s[i] != ':')
                i++;
            size_t name = i;
            while (i < n && (s[i] == ' ' || s[i] == '\t'))
                i++;
            if (name && i > name && i < n && s[i] == ':' && !r.blank++)
                r.blank_line = line;
            if (!name || i >= n || s[i] != ':') {
                if (!r.nocolon++)
                    r.nocolon_line = line;
            } else if (!date && field_is(s, n, "Date")) {
                date = strndup(s + i + 1, n - i - 1);
                in_date = 1;
            } else if (!mid && field_is(s, n, "Message-ID")) {
                mid = strndup(s + i + 1, n - i - 1);
                in_mid = 1;
            }
        }
        at += n + (nl ? 1 : 0);
    }
    r.date = date && strspn(date, " \t") < strlen(date);
    char *id = mid ? g_mime_utils_decode_message_id(mid) : NULL;
    r.mid = id && *id;
    g_free(id);
    free(date);
    free(mid);
    return r;
}

static void check_against_reference(const mp_validator *v, const ref *r,
                                    const char *name)
{
    const mp_finding *f = v->found;
#define SAME(k, cnt, ln)                                                       \
    if (f[k].count != (cnt) || ((cnt) && f[k].line != (ln)))                   \
    fail_msg("%s: finding %d: count %llu line %llu, reference %llu line %llu", \
             name, k, (unsigned long long)f[k].count,                          \
             (unsigned long long)f[k].line, (unsigned long long)(cnt),         \
             (unsigned long long)(ln))
    SAME(MP_FINDING_NUL, r->nul, r->nul_line);
    SAME(MP_FINDING_HEADER_8BIT, r->h8, r->h8_line);
    SAME(MP_FINDING_NO_COLON, r->nocolon, r->nocolon_line);
    SAME(MP_FINDING_COLON_BLANK, r->blank, r->blank_line);
    SAME(MP_FINDING_LONG_LINE, r->longl, r->long_line);
    SAME(MP_FINDING_NO_DATE, (uint64_t)!r->date, 0);
    SAME(MP_FINDING_NO_MESSAGE_ID, (uint64_t)!r->mid, 0);
    if (r->longl && f[MP_FINDING_LONG_LINE].length != r->long_len)
        fail_msg("%s: long line length %llu, reference %llu", name,
                 (unsigned long long)f[MP_FINDING_LONG_LINE].length,
                 (unsigned long long)r->long_len);
#undef SAME
}

/* LF text IN in the line endings EOL ("\n", "\r\n", "\r"), malloc'd. */
static char *with_eol(const char *in, size_t len, const char *eol,
                      size_t *out_len)
{
    char *out = malloc(2 * len + 1);
    size_t w = 0, k = strlen(eol);
    for (size_t i = 0; i < len; i++)
        if (in[i] == '\n') {
            memcpy(out + w, eol, k);
            w += k;
        } else {
            out[w++] = in[i];
        }
    *out_len = w;
    return out;
}

typedef struct tally {
    size_t files;
    size_t kinds[MP_FINDING__N];
} tally;

/* One corpus file (mp_walk_files calls it, CTX the tally). */
static void check_file(const char *path, void *ctx)
{
    tally *t = ctx;
    size_t len;
    char *raw = mp_read_file(path, &len);
    size_t lf_len;
    char *lf = mp_lf_form(raw, len, &lf_len);
    ref r = reference(lf, lf_len);
    mp_validator v, w;
    feed(&v, raw, len);
    check_against_reference(&v, &r, path);
    for (int k = 0; k < MP_FINDING__N; k++)
        t->kinds[k] += v.found[k].count != 0;
    t->files++;
    if (getenv("MP_TEST_LIST")) /* what each message has, for a look */
        printf("# %s: %s\n", path, described(&v));
    /* The same message in other line endings: the same lines, the same
     * findings, MIME included (only offsets move). A lone CR breaks a line
     * in the LF form, so the CR-only form holds the same lines. */
    static const char *const eols[] = {"\n", "\r\n", "\r"};
    for (int e = 0; e < 3; e++) {
        size_t n;
        char *other = with_eol(lf, lf_len, eols[e], &n);
        run(&w, other, n, 2);
        for (int k = 0; k < MP_FINDING__N; k++)
            if (w.found[k].count != v.found[k].count ||
                w.found[k].line != v.found[k].line ||
                w.found[k].length != v.found[k].length)
                fail_msg("%s with line ends %d: finding %d: count %llu line "
                         "%llu, as is: %llu line %llu (seed %u)",
                         path, e, k, (unsigned long long)w.found[k].count,
                         (unsigned long long)w.found[k].line,
                         (unsigned long long)v.found[k].count,
                         (unsigned long long)v.found[k].line, seed);
        free(other);
    }
    free(lf);
    free(raw);
}

static void corpus_messages_agree_with_the_reference(void **state)
{
    (void)state;
    tally t = {0};
    char *eml = mp_strf("%s/eml", mp_corpora());
    mp_walk_files(eml, 4 * 1024 * 1024, check_file, &t);
    free(eml);
    assert_true(t.files > 500);
    printf("# %zu corpus messages: NUL %zu, 8-bit header %zu, no field %zu, "
           "blank before a colon %zu, long line %zu, no Date %zu, no "
           "Message-ID %zu, MIME cut %zu\n",
           t.files, t.kinds[MP_FINDING_NUL], t.kinds[MP_FINDING_HEADER_8BIT],
           t.kinds[MP_FINDING_NO_COLON], t.kinds[MP_FINDING_COLON_BLANK],
           t.kinds[MP_FINDING_LONG_LINE], t.kinds[MP_FINDING_NO_DATE],
           t.kinds[MP_FINDING_NO_MESSAGE_ID],
           t.kinds[MP_FINDING_MIME_TRUNCATED]);
    /* The corpora hold every kind. */
    for (int k = 0; k < MP_FINDING__N; k++)
        assert_true(t.kinds[k] > 0);
}

/* Named corpus messages, checked by hand. */
static void known_corpus_messages(void **state)
{
    (void)state;
    mp_validator v;
    size_t len;
    /* CR-only old Mac mail: lines found as in the LF form. */
    char *path = mp_strf("%s/eml/sisimai/mac-cr/arf-01.eml", mp_corpora());
    char *m = mp_read_file(path, &len);
    assert_null(memchr(m, '\n', len));
    feed(&v, m, len);
    size_t lf_len;
    char *lf = mp_lf_form(m, len, &lf_len);
    ref r = reference(lf, lf_len);
    check_against_reference(&v, &r, path);
    free(lf);
    free(m);
    free(path);
}

int main(void)
{
    const char *env = getenv("MP_TEST_SEED");
    seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("# seed %u (MP_TEST_SEED=%u replays it)\n", seed, seed);
    srand(seed);
    g_mime_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_messages_have_no_findings),
        cmocka_unit_test(a_nul_byte_is_found_with_its_offset),
        cmocka_unit_test(eight_bit_header_bytes_are_found),
        cmocka_unit_test(header_lines_that_are_no_fields_are_found),
        cmocka_unit_test(blanks_before_a_colon_are_found),
        cmocka_unit_test(lines_over_998_octets_are_found),
        cmocka_unit_test(a_missing_date_or_message_id_is_found),
        cmocka_unit_test(multipart_without_its_closing_boundary_is_found),
        cmocka_unit_test(several_findings_are_named_together),
        cmocka_unit_test(corpus_messages_agree_with_the_reference),
        cmocka_unit_test(known_corpus_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
