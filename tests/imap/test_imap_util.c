/* The IMAP plugin's pure helpers: dates, flags, quoting, UID sets and the
 * spool (folder names: test_imap_names.c). */
#include "testutil.h"

#include "imap_spool.h"
#include "imap_util.h"

#include <mailport/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_dates(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(imap_parse_date("17-Jul-1996 02:44:25 -0700", &t), 0);
    assert_int_equal(t, 837596665);
    assert_int_equal(imap_parse_date(" 1-Feb-2024 00:00:00 +0000", &t), 0);
    assert_int_equal(t, 1706745600);
    assert_int_equal(imap_parse_date("1-Feb-2024 00:00:00 +0100", &t), 0);
    assert_int_equal(t, 1706745600 - 3600);
    assert_int_equal(imap_parse_date("29-feb-2024 23:59:59 +0000", &t), 0);
    assert_int_equal(t, 1709251199);
    const char *bad[] = {"", "17-Jul-1996", "17-Jux-1996 02:44:25 -0700",
                         "17-Jul-1996 02:44:25", "17-Jul-1996 24:00:00 +0000",
                         "32-Jul-1996 02:44:25 -0700", "17-Jul-1996 02:44:25 -0700x",
                         "aa-Jul-1996 02:44:25 -0700"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(imap_parse_date(bad[i], &t), -1);

    char out[40];
    imap_format_date(837596665, out, sizeof out);
    assert_string_equal(out, "17-Jul-1996 09:44:25 +0000");
    imap_format_date(0, out, sizeof out);
    assert_string_equal(out, "01-Jan-1970 00:00:00 +0000");
    imap_format_date(-86400, out, sizeof out);
    assert_string_equal(out, "31-Dec-1969 00:00:00 +0000");
    /* Round trip over many dates, leap years included. */
    for (int64_t x = -2000000000; x < 4000000000; x += 7777777) {
        imap_format_date(x, out, sizeof out);
        assert_int_equal(imap_parse_date(out, &t), 0);
        assert_int_equal(t, x);
    }
}

static void test_flags(void **state)
{
    (void)state;
    const char *atoms[] = {"\\Seen", "\\ANSWERED", "\\Flagged", "\\Deleted",
                           "\\Draft", "\\Recent", "$Forwarded", "$Junk",
                           "NonJunk", "\\Unknown", "bad(atom"};
    unsigned flags = 0;
    imap_str kw = {0};
    for (size_t i = 0; i < sizeof atoms / sizeof atoms[0]; i++)
        imap_flag_add(atoms[i], &flags, &kw);
    assert_int_equal(flags, MP_FLAG_SEEN | MP_FLAG_ANSWERED | MP_FLAG_FLAGGED |
                                MP_FLAG_DELETED | MP_FLAG_DRAFT |
                                MP_FLAG_FORWARDED);
    assert_string_equal(kw.s, "$Junk NonJunk");
    imap_str_free(&kw);
    assert_true(imap_is_keyword_atom("$Label1"));
    assert_false(imap_is_keyword_atom(""));
    assert_false(imap_is_keyword_atom("\\Seen"));
    assert_false(imap_is_keyword_atom("a b"));
    assert_false(imap_is_keyword_atom("a]"));
    assert_false(imap_is_keyword_atom("\xc3\xa4"));
}

static void test_quote(void **state)
{
    (void)state;
    imap_str b = {0};
    assert_int_equal(imap_str_quote(&b, "Quote\"d \\ & Co"), 0);
    assert_string_equal(b.s, "\"Quote\\\"d \\\\ & Co\"");
    imap_str_free(&b);
    assert_int_equal(imap_str_quote(&b, "line\r\nbreak"), -1);
    assert_int_equal(imap_str_quote(&b, "8bit \xc3\xa4"), -1);
    assert_int_equal(imap_str_quote(&b, "tab\t"), -1);
    assert_null(b.s); /* nothing appended on refusal */
    assert_int_equal(imap_str_quote(&b, ""), 0);
    assert_string_equal(b.s, "\"\"");
    imap_str_free(&b);
}

static void test_uid_sets(void **state)
{
    (void)state;
    uint32_t a[] = {1, 2, 3, 5, 7, 8, 10, 4294967295u};
    imap_str b = {0};
    imap_str_adds(&b, "UID FETCH ");
    imap_uid_set(&b, a, 8);
    assert_string_equal(b.s, "UID FETCH 1:3,5,7:8,10,4294967295");
    imap_str_free(&b);
    uint32_t one[] = {42};
    imap_uid_set(&b, one, 1);
    assert_string_equal(b.s, "42");
    imap_str_free(&b);
    uint32_t uid;
    assert_int_equal(imap_parse_uid("4294967295", &uid), 0);
    assert_int_equal(uid, 4294967295u);
    assert_int_equal(imap_parse_uid("4294967296", &uid), -1);
    assert_int_equal(imap_parse_uid("0", &uid), -1);
    assert_int_equal(imap_parse_uid("012", &uid), -1);
    assert_int_equal(imap_parse_uid("12a", &uid), -1);
    assert_int_equal(imap_parse_uid("", &uid), -1);
    assert_int_equal(imap_parse_uid(NULL, &uid), -1);
}

static int collect(void *ctx, const char *buf, size_t len)
{
    imap_str *b = ctx;
    imap_str_add(b, buf, len);
    return 0;
}

static void test_spool(void **state)
{
    (void)state;
    imap_spool s;
    imap_spool_init(&s, 1000);
    assert_int_equal(imap_spool_write(&s, NULL, 0), 0); /* an empty message */
    assert_int_equal(s.size, 0);
    imap_str expect = {0};
    for (int i = 0; i < 500; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d\r\n", i);
        assert_int_equal(imap_spool_write(&s, line, (size_t)n), 0);
        imap_str_add(&expect, line, (size_t)n);
    }
    assert_true(s.fd >= 0); /* spilled to a file past the limit */
    assert_null(s.mem);
    assert_int_equal(s.size, expect.len);
    imap_str got = {0};
    assert_int_equal(imap_spool_each(&s, collect, &got), 0);
    assert_int_equal(got.len, expect.len);
    assert_memory_equal(got.s, expect.s, expect.len);
    imap_str_free(&got);
    imap_spool_reset(&s);
    assert_int_equal(s.fd, -1);
    assert_int_equal(s.size, 0);
    assert_int_equal(imap_spool_write(&s, "small", 5), 0);
    assert_int_equal(s.fd, -1);
    assert_int_equal(imap_spool_each(&s, collect, &got), 0);
    assert_string_equal(got.s, "small");
    imap_str_free(&got);
    imap_str_free(&expect);
    imap_spool_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates), cmocka_unit_test(test_flags),
        cmocka_unit_test(test_quote), cmocka_unit_test(test_uid_sets),
        cmocka_unit_test(test_spool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
