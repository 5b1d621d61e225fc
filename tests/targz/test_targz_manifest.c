/* The archive manifest through jansson (targz_manifest.h): the exact line
 * the writer makes, round trips, the lines earlier versions wrote (raw
 * bytes that are not UTF-8 among them), and hostile lines. */
#include "testutil.h"

#include "targz_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parses(const char *line)
{
    targz_manifest_line l;
    int rc = targz_manifest_parse(line, strlen(line), &l);
    if (rc == 0)
        targz_manifest_line_free(&l);
    return rc == 0;
}

static void parse_ok(const char *line, targz_manifest_line *l)
{
    if (targz_manifest_parse(line, strlen(line), l) != 0)
        fail_msg("refused: %s", line);
}

static void test_exact_line_and_key_order(void **state)
{
    (void)state;
    char *line = targz_manifest_format("A/B", ".A.B/cur/1.Q1.mailport:2,S", 1234,
                                       SHA, "S", "$Junk", 1700000000, "42");
    assert_non_null(line);
    assert_string_equal(line,
                        "{\"folder\":\"A/B\",\"file\":\".A.B/cur/1.Q1.mailport:2,S"
                        "\",\"size\":1234,\"sha256\":\"" SHA "\",\"flags\":\"S\","
                        "\"keywords\":[\"$Junk\"],\"internal_date\":1700000000,"
                        "\"source_key\":\"42\"}");
    free(line);
    /* NULL strings as "", no keywords as [] */
    line = targz_manifest_format(NULL, "cur/x", 0, SHA, NULL, NULL, 0, NULL);
    assert_string_equal(line, "{\"folder\":\"\",\"file\":\"cur/x\",\"size\":0,"
                              "\"sha256\":\"" SHA "\",\"flags\":\"\",\"keywords\":"
                              "[],\"internal_date\":0,\"source_key\":\"\"}");
    free(line);
    /* sizes past int64 cannot be written (nor read) */
    assert_null(targz_manifest_format("", "f", UINT64_MAX, SHA, "", "", 0, ""));
}

static void round_trip(const char *folder, const char *file, uint64_t size,
                       const char *flags, const char *kw, int64_t date,
                       const char *key)
{
    char *line = targz_manifest_format(folder, file, size, SHA, flags, kw, date, key);
    assert_non_null(line);
    assert_null(strchr(line, '\n'));
    targz_manifest_line l;
    parse_ok(line, &l);
    assert_string_equal(l.folder, folder);
    assert_string_equal(l.file, file);
    assert_string_equal(l.sha256, SHA);
    assert_string_equal(l.flags, flags);
    assert_string_equal(l.keywords, kw);
    assert_string_equal(l.source_key, key);
    assert_true(l.has_size && l.size == size);
    assert_true(l.has_date && l.internal_date == date);
    targz_manifest_line_free(&l);
    free(line);
}

static void test_round_trips(void **state)
{
    (void)state;
    round_trip("Entwürfe/\"q\"\\", "cur/é😀", 42, "FS", "$Junk NonJunk", -5,
               "key\\with\n\001\x7f\t/ctl");
    round_trip("INBOX", "cur/1", (uint64_t)INT64_MAX, "", "", INT64_MIN, "");
    round_trip("x", "cur/2", 1, "S", "a", INT64_MAX, "\xf4\x8f\xbf\xbf");
    /* bytes that are not UTF-8: kept exactly through "<key>_hex" */
    round_trip("bad\xff", "cur/\xc0\xaf", 7, "S\x80", "ok k\xe9y \xed\xa0\x80",
               3, "m\xff\xfe-1");
}

static void test_bytes_not_utf8_are_written_loadable(void **state)
{
    (void)state;
    char *line = targz_manifest_format("INBOX", "cur/1", 1, SHA, "S",
                                       "good b\xe9" "d", 0, "k\xff");
    assert_non_null(line);
    /* The line is UTF-8 (jansson loads it); the text carries U+FFFD for
     * readers that know no "_hex", the exact bytes follow in hex. */
    assert_contains(line, "\"keywords\":[\"good\",\"b\xef\xbf\xbd" "d\"]");
    assert_contains(line, "\"source_key\":\"k\xef\xbf\xbd\"");
    const char *tail = strstr(line, "\"source_key\":");
    assert_non_null(tail);
    assert_string_equal(tail, "\"source_key\":\"k\xef\xbf\xbd\","
                              "\"source_key_hex\":\"6bff\","
                              "\"keywords_hex\":[\"676f6f64\",\"62e964\"]}");
    free(line);
    /* valid UTF-8 everywhere: no _hex key */
    line = targz_manifest_format("INBOX", "cur/1", 1, SHA, "S", "a", 0, "k");
    assert_null(strstr(line, "_hex"));
    free(line);
}

static void test_lines_of_earlier_versions(void **state)
{
    (void)state;
    targz_manifest_line l;
    /* what the writer before jansson made: controls as lowercase \u00xx,
     * DEL escaped, everything else raw */
    parse_ok("{\"folder\":\"Entw\xc3\xbcrfe/\\\"q\\\"\",\"file\":\".Entw&APw-rfe/"
             "cur/1.Q1.mailport:2,S\",\"size\":42,\"sha256\":\"" SHA "\","
             "\"flags\":\"S\",\"keywords\":[\"$Junk\",\"NonJunk\"],"
             "\"internal_date\":-5,\"source_key\":\"key\\\\with\\u000a"
             "\\u0001\\u007fctl\"}",
             &l);
    assert_string_equal(l.folder, "Entwürfe/\"q\"");
    assert_string_equal(l.keywords, "$Junk NonJunk");
    assert_string_equal(l.source_key, "key\\with\n\001\x7f" "ctl");
    assert_int_equal(l.size, 42);
    assert_int_equal(l.internal_date, -5);
    targz_manifest_line_free(&l);

    /* raw bytes that are not UTF-8 (a Maildir source key, a keyword, a
     * file name): the documented fallback keeps each byte */
    parse_ok("{\"folder\":\"INBOX\",\"file\":\"cur/\xc0\xaf\",\"size\":1,"
             "\"sha256\":\"" SHA "\",\"flags\":\"S\",\"keywords\":[\"k\xe9y\","
             "\"\xc3\xa9t\xe9\"],\"internal_date\":0,\"source_key\":"
             "\"1700.M1P2.host\xff\xfe:2,S\xed\xa0\x80\"}",
             &l);
    assert_string_equal(l.file, "cur/\xc0\xaf");
    assert_string_equal(l.keywords, "k\xe9y \xc3\xa9t\xe9");
    assert_string_equal(l.source_key, "1700.M1P2.host\xff\xfe:2,S\xed\xa0\x80");
    /* written again, it reads back the same */
    char *again = targz_manifest_format(l.folder, l.file, l.size, l.sha256,
                                        l.flags, l.keywords, l.internal_date,
                                        l.source_key);
    targz_manifest_line m;
    parse_ok(again, &m);
    assert_string_equal(m.file, l.file);
    assert_string_equal(m.keywords, l.keywords);
    assert_string_equal(m.source_key, l.source_key);
    targz_manifest_line_free(&m);
    targz_manifest_line_free(&l);
    free(again);

    /* \u escapes with a surrogate pair; unknown keys skipped; spaces */
    parse_ok(" { \"file\" : \"cur/\\u00e9\\ud83d\\ude00\" , \"x\":[1,{\"y\":"
             "null}],\"sha256\":\"" SHA "\"}\r",
             &l);
    assert_string_equal(l.file, "cur/\xc3\xa9\xf0\x9f\x98\x80");
    assert_null(l.folder);
    assert_false(l.has_size);
    assert_false(l.has_date);
    targz_manifest_line_free(&l);
}

static void test_hostile_lines(void **state)
{
    (void)state;
    const char *good = "{\"folder\":\"INBOX\",\"file\":\"cur/1\",\"size\":5,"
                       "\"sha256\":\"" SHA "\",\"flags\":\"S\",\"keywords\":"
                       "[\"a\"],\"internal_date\":1,\"source_key\":\"k\"}";
    assert_true(parses(good));
    /* truncated: every proper prefix is refused */
    for (size_t n = 0; n < strlen(good); n++) {
        targz_manifest_line l;
        if (targz_manifest_parse(good, n, &l) == 0)
            fail_msg("prefix of %zu bytes taken", n);
    }

    static const char *const bad[] = {
        "",
        "[]",
        "\"just a string\"",
        "{\"file\":\"a\"}",                            /* no sha256 */
        "{\"file\":\"a\",\"sha256\":\"short\"}",       /* bad sha256 */
        "{\"file\":\"a\",\"sha256\":\"" SHA "\"} x",   /* trailing */
        "{\"file\":\"a\",\"sha256\":\"" SHA "\"}{}",   /* two objects */
        "{\"file\":\"a\" \"sha256\":\"" SHA "\"}",     /* missing comma */
        "{\"sha256\":\"" SHA "\"}",                    /* no file */
        "{\"file\":\"a\",\"sha256\":\"0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdeX\"}", /* not hex */
        /* NUL, raw and escaped */
        "{\"file\":\"a\\u0000\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"file_hex\":\"6100\",\"sha256\":\"" SHA "\"}",
        /* lone surrogates */
        "{\"file\":\"\\ud800\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"\\udc00x\",\"sha256\":\"" SHA "\"}",
        /* huge and odd numbers */
        "{\"file\":\"a\",\"size\":-1,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"size\":9223372036854775808,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"size\":18446744073709551616,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"size\":1e400,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"size\":1.0,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"size\":\"5\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"internal_date\":-9223372036854775809,\"sha256\":\"" SHA
        "\"}",
        "{\"file\":\"a\",\"internal_date\":99999999999999999999999,\"sha256\":\"" SHA
        "\"}",
        /* duplicate keys */
        "{\"file\":\"a\",\"file\":\"b\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"sha256\":\"" SHA "\",\"source_key\":\"1\","
        "\"source_key\":\"2\"}",
        "{\"file\":\"a\",\"sha256\":\"" SHA "\",\"x\":1,\"x\":2}",
        /* wrong types */
        "{\"file\":5,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"folder\":null,\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"keywords\":\"a\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"keywords\":[1],\"sha256\":\"" SHA "\"}",
        /* keywords: empty, with a space, bad hex */
        "{\"file\":\"a\",\"keywords\":[\"a b\"],\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"keywords\":[\"\"],\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"keywords_hex\":[\"612062\"],\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"keywords_hex\":[\"6\"],\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"source_key_hex\":\"zz\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"a\",\"source_key_hex\":5,\"sha256\":\"" SHA "\"}",
        /* raw control byte in a string */
        "{\"file\":\"a\x01\",\"sha256\":\"" SHA "\"}",
        /* not UTF-8 and holding a code point of the fallback's range: the
         * two could not be told apart */
        "{\"file\":\"\xff\xf4\x8f\xbe\x80\",\"sha256\":\"" SHA "\"}",
        "{\"file\":\"\xff\\udbff\\udf80\",\"sha256\":\"" SHA "\"}",
        /* a byte that is not UTF-8 outside a string */
        "{\"file\":\"a\",\"sha256\":\"" SHA "\"\xff}",
        "{\"file\":\"unterminated",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (parses(bad[i]))
            fail_msg("taken: %s", bad[i]);

    /* nesting: 32 levels in all (the object and 31 arrays) are read, 33
     * refused; and a deep unterminated one */
    char deep[400];
    for (int levels = 31; levels <= 32; levels++) {
        strcpy(deep, "{\"file\":\"a\",\"sha256\":\"" SHA "\",\"x\":");
        for (int i = 0; i < levels; i++)
            strcat(deep, "[");
        for (int i = 0; i < levels; i++)
            strcat(deep, "]");
        strcat(deep, "}");
        assert_int_equal(parses(deep), levels == 31);
    }
    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    assert_false(parses(deep));

    /* many values: 65536 taken, more refused (bounded memory) */
    for (int extra = 0; extra <= 1; extra++) {
        /* '{', two commas, '[' and N more commas */
        size_t n = 65536 - 4 + (size_t)extra;
        size_t cap = 2 * n + 200;
        char *wide = malloc(cap);
        strcpy(wide, "{\"file\":\"a\",\"sha256\":\"" SHA "\",\"x\":[0");
        size_t len = strlen(wide);
        for (size_t i = 0; i < n; i++) {
            wide[len++] = ',';
            wide[len++] = '0';
        }
        strcpy(wide + len, "]}");
        assert_int_equal(parses(wide), !extra);
        free(wide);
    }

    /* a line longer than TARGZ_MANIFEST_LINE_MAX */
    size_t big = TARGZ_MANIFEST_LINE_MAX + 1;
    char *huge = malloc(big + 1);
    int head = snprintf(huge, big, "{\"file\":\"a\",\"sha256\":\"" SHA "\",\"x\":\"");
    memset(huge + head, 'x', big - (size_t)head - 2);
    memcpy(huge + big - 2, "\"}", 3);
    assert_int_equal(strlen(huge), big);
    assert_false(parses(huge));
    huge[big - 3] = '"';
    huge[big - 2] = '}';
    huge[big - 1] = '\0';
    assert_true(parses(huge)); /* one byte shorter: taken */
    free(huge);

    /* a valid line holding U+10FFxx is not the fallback: kept as is */
    targz_manifest_line l;
    const char *pua = "{\"file\":\"\xf4\x8f\xbe\x80\",\"sha256\":\"" SHA "\"}";
    assert_int_equal(targz_manifest_parse(pua, strlen(pua), &l), 0);
    assert_string_equal(l.file, "\xf4\x8f\xbe\x80");
    targz_manifest_line_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_line_and_key_order),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_bytes_not_utf8_are_written_loadable),
        cmocka_unit_test(test_lines_of_earlier_versions),
        cmocka_unit_test(test_hostile_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
