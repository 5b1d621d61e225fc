/* What the mbox plugin reads besides the split: From_ line dates, Status
 * and X-Status flags, Content-Length (mboxcl, mboxcl2). */
#include "mbox_date.h"
#include "mbox_headers.h"
#include "mbox_split.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static int64_t date_of(const char *from_line)
{
    assert_true(strncmp(from_line, "From ", 5) == 0);
    return mbox_from_line_date(from_line + 5, strlen(from_line) - 5);
}

static void from_line_dates(void **state)
{
    (void)state;
    assert_int_equal(date_of("From sender Tue Sep 17 11:28:35 2002"),
                     1032262115);
    assert_int_equal(date_of("From sender Tue Sep 17 11:28:35 2002\n"),
                     1032262115);
    assert_int_equal(date_of("From sender Tue Sep 17 11:28:35 2002\r\n"),
                     1032262115);
    /* Zone before the year, no seconds (old sendmail). */
    assert_int_equal(date_of("From x Tue Sep 17 11:28 MET 2002"), 1032258480);
    /* Zone after the year. */
    assert_int_equal(date_of("From x Tue Sep 17 11:28:35 2002 +0200"),
                     1032254915);
    /* Pipermail's obfuscated sender holds spaces; one-digit day. */
    assert_int_equal(
        date_of("From nwagner at mecha.uni-stuttgart.de  Thu Nov  1 "
                "02:36:55 2001"),
        1004582215);
    /* RFC 2822 style. */
    assert_int_equal(date_of("From daemon@x Sun, 11 Nov 2007 06:58:35 +0200"),
                     1194757115);
    /* Two-digit year, lower-case names. */
    assert_int_equal(date_of("From x sat jan  2 03:04:05 99"), 915246245);
    /* After 2038 and before 1970. */
    assert_int_equal(date_of("From x Tue Jan 19 03:14:08 2038"), 2147483648);
    assert_int_equal(date_of("From x Wed Dec 31 23:59:59 1969"), -1);
    /* No date at all, or broken ones. */
    assert_true(date_of("From - ") == MP_DATE_UNKNOWN);
    assert_true(date_of("From x") == MP_DATE_UNKNOWN);
    assert_true(date_of("From x Foo Bar 1 00:00:00 2001") == MP_DATE_UNKNOWN);
    assert_true(date_of("From x Mon Feb 30 00:00:00 2001") == MP_DATE_UNKNOWN);
    assert_true(date_of("From x Mon Jan  1 25:00:00 2001") == MP_DATE_UNKNOWN);
    assert_true(date_of("From x Mon Jan  1 10:00:00") == MP_DATE_UNKNOWN);
    assert_true(date_of("From x Mon Jan  1 1:2:3:4 2001") == MP_DATE_UNKNOWN);
}

static void asctime_round_trips(void **state)
{
    (void)state;
    char buf[48];
    mbox_format_asctime(0, buf, sizeof buf);
    assert_string_equal(buf, "Thu Jan  1 00:00:00 1970");
    mbox_format_asctime(1032262115, buf, sizeof buf);
    assert_string_equal(buf, "Tue Sep 17 11:28:35 2002");
    mbox_format_asctime(-1, buf, sizeof buf);
    assert_string_equal(buf, "Wed Dec 31 23:59:59 1969");
    for (int64_t t = -2000000000; t < 4000000000; t += 7777777) {
        mbox_format_asctime(t, buf, sizeof buf);
        char *line = mp_strf("From MAILER-DAEMON %s", buf);
        assert_int_equal(date_of(line), t);
        free(line);
    }
}

static void status_headers_become_flags(void **state)
{
    (void)state;
    static const char all[] = "Subject: x\nStatus: RO\nX-Status: AFTD\n";
    assert_int_equal(mbox_status_flags(all, sizeof all - 1),
                     MP_FLAG_SEEN | MP_FLAG_ANSWERED | MP_FLAG_FLAGGED |
                         MP_FLAG_DRAFT | MP_FLAG_DELETED);
    static const char old[] = "status: O\r\nx-status: \r\n";
    assert_int_equal(mbox_status_flags(old, sizeof old - 1), 0);
    static const char some[] = "X-Status: F\nStatus: R\n";
    assert_int_equal(mbox_status_flags(some, sizeof some - 1),
                     MP_FLAG_SEEN | MP_FLAG_FLAGGED);
    /* A similarly named field does not count. */
    static const char other[] = "X-Status-Foo: A\nStatusx: R\n";
    assert_int_equal(mbox_status_flags(other, sizeof other - 1), 0);
}

static unsigned flags_of(const char *hdr)
{
    return mbox_status_flags(hdr, strlen(hdr));
}

static void mozilla_status_becomes_flags(void **state)
{
    (void)state;
    /* nsMsgMessageFlags: Read 0x1, Replied 0x2, Marked 0x4, Expunged 0x8,
     * Forwarded 0x1000; other bits (0x0010 HasRe, 0x0040 Expired, ...) are
     * no flags. */
    assert_int_equal(flags_of("X-Mozilla-Status: 0001\n"), MP_FLAG_SEEN);
    assert_int_equal(flags_of("X-Mozilla-Status: 0002\n"), MP_FLAG_ANSWERED);
    assert_int_equal(flags_of("X-Mozilla-Status: 0004\n"), MP_FLAG_FLAGGED);
    assert_int_equal(flags_of("X-Mozilla-Status: 0008\n"), MP_FLAG_DELETED);
    assert_int_equal(flags_of("X-Mozilla-Status: 1000\n"), MP_FLAG_FORWARDED);
    assert_int_equal(flags_of("x-mozilla-status: 101f\r\n"),
                     MP_FLAG_SEEN | MP_FLAG_ANSWERED | MP_FLAG_FLAGGED |
                         MP_FLAG_DELETED | MP_FLAG_FORWARDED);
    assert_int_equal(flags_of("X-Mozilla-Status: 0050\n"), 0);
    /* X-Mozilla-Status2 0x00200000: deleted on the IMAP server. */
    assert_int_equal(
        flags_of("X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00200000\n"),
        MP_FLAG_SEEN | MP_FLAG_DELETED);
    assert_int_equal(
        flags_of("X-Mozilla-Status: 0000\nX-Mozilla-Status2: 10010000\n"), 0);
    /* With both, X-Mozilla-Status decides (Thunderbird keeps it current
     * and leaves Status: as delivered); X-Status T (draft) still counts. */
    assert_int_equal(flags_of("Status: RO\nX-Status: AF\n"
                              "X-Mozilla-Status: 0000\n"),
                     0);
    assert_int_equal(flags_of("X-Mozilla-Status: 0004\nStatus: RO\n"
                              "X-Status: T\n"),
                     MP_FLAG_FLAGGED | MP_FLAG_DRAFT);
    /* A malformed X-Mozilla-Status is ignored: Status: as before. */
    assert_int_equal(flags_of("X-Mozilla-Status: 00x1\nStatus: RO\n"),
                     MP_FLAG_SEEN);
    assert_int_equal(flags_of("X-Mozilla-Status:\nStatus: R\n"), MP_FLAG_SEEN);
    assert_int_equal(flags_of("X-Mozilla-Status: 123456789\nStatus: R\n"),
                     MP_FLAG_SEEN);
}

static void mozilla_keys_become_keywords(void **state)
{
    (void)state;
    char out[128];
    static const struct {
        const char *in, *want;
    } cases[] = {
        {" $label1 work      ", "$label1 work"},
        {"$label1\t$label2 $LABEL1 $label2", "$label1 $label2"},
        {"", ""},
        {"     ", ""},
        /* Not IMAP atoms: system flags, specials, 8-bit. */
        {"\\Seen (x) a\"b c] % * {3} ok \xc3\xa9t\xc3\xa9", "ok"},
        {"Junk NonJunk\r", "Junk NonJunk"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = mbox_keywords_from(cases[i].in, strlen(cases[i].in), out,
                                      sizeof out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    static const char hdr[] = "Subject: x\nX-Mozilla-Keys: a b\n";
    size_t vlen;
    const char *v = mbox_mozilla_keys(hdr, sizeof hdr - 1, &vlen);
    assert_non_null(v);
    assert_int_equal(vlen, 4);
    assert_memory_equal(v, " a b", 4);
    assert_null(mbox_mozilla_keys(hdr, 10, &vlen));
}

/* TEXT (LEN bytes) as an mbox file, read whole. */
static mbt_folder read_text(const char *text, size_t len)
{
    char *dir = mp_tmpdir("mbox-fields");
    char *path = mp_strf("%s/f.mbox", dir);
    mp_write_file(path, text, len);
    char *url = mp_strf("mbox:%s", path);
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    free(path);
    mp_rm_rf(dir);
    free(dir);
    return f;
}

static void mozilla_fields_through_scan_keep_bytes(void **state)
{
    (void)state;
    static const char text[] =
        "From - Mon Jan  1 00:00:00 2001\nX-Mozilla-Status: 0003\n"
        "X-Mozilla-Status2: 00000000\nX-Mozilla-Keys: $label1 todo     \n"
        "\nx\n\n"
        "From - Mon Jan  1 00:00:01 2001\nStatus: RO\n\ny\n\n"
        "From - Mon Jan  1 00:00:02 2001\nX-Mozilla-Keys: \n\nz\n";
    mbt_folder f = read_text(text, sizeof text - 1);
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.msgs[0].flags, MP_FLAG_SEEN | MP_FLAG_ANSWERED);
    assert_string_equal(f.msgs[0].keywords, "$label1 todo");
    assert_string_equal(f.msgs[0].data,
                        "X-Mozilla-Status: 0003\nX-Mozilla-Status2: 00000000\n"
                        "X-Mozilla-Keys: $label1 todo     \n\nx\n");
    assert_int_equal(f.msgs[1].flags, MP_FLAG_SEEN);
    assert_string_equal(f.msgs[1].keywords, "");
    assert_int_equal(f.msgs[2].flags, 0);
    assert_string_equal(f.msgs[2].keywords, "");
    mbt_folder_free(&f);
}

static void status_flags_through_scan_keep_bytes(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-fields");
    char *path = mp_strf("%s/f.mbox", dir);
    static const char text[] =
        "From a Mon Jan  1 00:00:00 2001\nStatus: RO\nX-Status: A\n\nx\n\n"
        "From b Mon Jan  1 00:00:01 2001\nStatus: O\n\ny\n";
    mp_write_file(path, text, sizeof text - 1);
    char *url = mp_strf("mbox:%s", path);
    mbt_folder f = mbt_read(url, "INBOX");
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.msgs[0].flags, MP_FLAG_SEEN | MP_FLAG_ANSWERED);
    assert_int_equal(f.msgs[1].flags, 0);
    assert_string_equal(f.msgs[0].data, "Status: RO\nX-Status: A\n\nx\n");
    assert_int_equal(f.msgs[0].date, 978307200);
    assert_int_equal(f.msgs[1].date, 978307201);
    mbt_folder_free(&f);
    free(url);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

static void content_length_values(void **state)
{
    (void)state;
    uint64_t v = 0;
    static const char ok[] = "A: b\nContent-Length:  682 \r\n";
    assert_int_equal(mbox_content_length(ok, sizeof ok - 1, &v), 1);
    assert_int_equal(v, 682);
    static const char bad[] = "Content-Length: 12x\n";
    assert_int_equal(mbox_content_length(bad, sizeof bad - 1, &v), 0);
    static const char empty[] = "Content-Length:\n";
    assert_int_equal(mbox_content_length(empty, sizeof empty - 1, &v), 0);
    static const char huge[] = "Content-Length: 99999999999999999999999\n";
    assert_int_equal(mbox_content_length(huge, sizeof huge - 1, &v), 0);
    static const char none[] = "Subject: Content-Length: 5\n";
    assert_int_equal(mbox_content_length(none, sizeof none - 1, &v), 0);
}

static mbt_folder read_corpus(const char *rel, const char *query)
{
    char *url = mp_strf("mbox:%s/mbox/%s%s", mp_corpora(), rel, query);
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    return f;
}

static void assert_same_messages(const mbt_folder *a, const mbt_folder *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->msgs[i].key, b->msgs[i].key);
        assert_int_equal(a->msgs[i].len, b->msgs[i].len);
        assert_memory_equal(a->msgs[i].data, b->msgs[i].data, a->msgs[i].len);
    }
}

static void mboxcl2_honest_content_length_delimits(void **state)
{
    (void)state;
    /* The first body holds "From perl5-porters:" after an empty line.
     * Content-Length says where that message ends; the From_ split agrees
     * (it once cut there), since that line has no date and no header field
     * follows it. */
    mbt_folder by_from = read_corpus("email-folder/mboxcl2", "");
    mbt_folder by_length =
        read_corpus("email-folder/mboxcl2", "?format=mboxcl2");
    assert_int_equal(by_from.status, MP_OK);
    assert_int_equal(by_length.status, MP_OK);
    assert_int_equal(by_length.n, 3);
    assert_string_equal(by_length.log, "");
    const char *body = strstr(by_length.msgs[0].data, "\n\n");
    assert_non_null(body);
    assert_int_equal(by_length.msgs[0].len -
                         (size_t)(body + 2 - by_length.msgs[0].data),
                     682);
    assert_non_null(strstr(by_length.msgs[0].data, "\n\nFrom perl5-porters:"));
    assert_same_messages(&by_from, &by_length);
    mbt_folder_free(&by_from);
    mbt_folder_free(&by_length);
}

static void mboxcl2_lying_content_length_falls_back(void **state)
{
    (void)state;
    /* mboxcl2.lies claims 782 bytes where the body has 682: the bytes at
     * the claimed end are no From_ line, so that message is split at From_
     * lines and a warning names the file and offset. */
    mbt_folder by_from = read_corpus("email-folder/mboxcl2.lies", "");
    mbt_folder lies =
        read_corpus("email-folder/mboxcl2.lies", "?format=mboxcl2");
    assert_int_equal(lies.status, MP_OK);
    assert_int_equal(lies.n, 3);
    assert_same_messages(&by_from, &lies);
    assert_non_null(strstr(lies.msgs[0].data, "\n\nFrom perl5-porters:"));
    assert_contains(lies.log, "mboxcl2.lies: message at offset 0: "
                              "Content-Length 782");
    /* Only the lying message warns. */
    assert_null(strstr(strchr(lies.log, '\n') + 1, "Content-Length"));
    mbt_folder_free(&by_from);
    mbt_folder_free(&lies);
}

static void content_length_at_end_of_file(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mbox-cl");
    char *path = mp_strf("%s/cl.mbox", dir);
    /* The second body holds an empty line and a From line; its length
     * runs to the end of the file (with and without the final newline). */
    static const char text[] = "From a\nContent-Length: 2\n\nx\n\n"
                               "From b\nContent-Length: 11\n\n\nFrom y\nzz\n\n";
    const size_t cut[] = {0, 1};
    for (size_t k = 0; k < 2; k++) {
        mp_write_file(path, text, sizeof text - 1 - cut[k]);
        char *url = mp_strf("mbox:%s?format=mboxcl", path);
        mbt_folder f = mbt_read(url, "INBOX");
        free(url);
        assert_int_equal(f.status, MP_OK);
        assert_int_equal(f.n, 2);
        assert_string_equal(f.msgs[0].data, "Content-Length: 2\n\nx\n");
        assert_string_equal(f.msgs[1].data,
                            "Content-Length: 11\n\n\nFrom y\nzz\n");
        assert_string_equal(f.log, "");
        mbt_folder_free(&f);
    }
    /* A length beyond the end of the file lies. */
    static const char past[] = "From a\nContent-Length: 999\n\nx\n";
    mp_write_file(path, past, sizeof past - 1);
    char *url = mp_strf("mbox:%s?format=mboxcl", path);
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.msgs[0].data, "Content-Length: 999\n\nx\n");
    assert_contains(f.log, "Content-Length 999");
    mbt_folder_free(&f);
    free(path);
    mp_rm_rf(dir);
    free(dir);
}

static void format_values(void **state)
{
    (void)state;
    mbox_format f;
    assert_int_equal(mbox_format_parse("mboxrd", &f), 0);
    assert_int_equal(f, MBOX_FORMAT_MBOXRD);
    assert_int_equal(mbox_format_parse("mboxcl2", &f), 0);
    assert_int_equal(f, MBOX_FORMAT_MBOXCL2);
    assert_int_equal(mbox_format_parse("MBOXRD", &f), -1);
    assert_int_equal(mbox_format_parse("", &f), -1);
    assert_int_equal(mbox_format_parse("mboxcl3", &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_line_dates),
        cmocka_unit_test(asctime_round_trips),
        cmocka_unit_test(status_headers_become_flags),
        cmocka_unit_test(status_flags_through_scan_keep_bytes),
        cmocka_unit_test(mozilla_status_becomes_flags),
        cmocka_unit_test(mozilla_keys_become_keywords),
        cmocka_unit_test(mozilla_fields_through_scan_keep_bytes),
        cmocka_unit_test(content_length_values),
        cmocka_unit_test(mboxcl2_honest_content_length_delimits),
        cmocka_unit_test(mboxcl2_lying_content_length_falls_back),
        cmocka_unit_test(content_length_at_end_of_file),
        cmocka_unit_test(format_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
