/* mp_show_name and mp_escape (core/engine/escape.h): how a folder name
 * from a store reaches a terminal or a log line. */
#include "escape.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static void controls_and_backslashes(void **state)
{
    (void)state;
    assert_string_equal(mp_show_name("a\x1b[2Jb").s, "a\\x1b[2Jb");
    assert_string_equal(mp_show_name("l1\nl2\r\t\x7f").s,
                        "l1\\x0al2\\x0d\\x09\\x7f");
    assert_string_equal(mp_show_name("a\\x1b").s, "a\\\\x1b");
    assert_string_equal(mp_show_name("").s, "");
    assert_string_equal(mp_show_name(NULL).s, "");
    /* Without BACKSLASH (log lines), a backslash stays single. */
    char out[64];
    assert_string_equal(mp_escape("\\Seen \x1b", 0, out, sizeof out),
                        "\\Seen \\x1b");
}

static void utf8_kept_invalid_bytes_escaped(void **state)
{
    (void)state;
    /* Valid UTF-8 is kept: 2, 3 and 4 bytes. */
    assert_string_equal(mp_show_name("Gr\xc3\xbc\xc3\x9f"
                                     "e \xe2\x82\xac \xf0\x9f\x93\xa7")
                            .s,
                        "Gr\xc3\xbc\xc3\x9f"
                        "e \xe2\x82\xac \xf0\x9f\x93\xa7");
    /* A lone byte, a cut sequence, an overlong form, a surrogate. */
    assert_string_equal(mp_show_name("Bad\xff").s, "Bad\\xff");
    assert_string_equal(mp_show_name("x\xe2\x82").s, "x\\xe2\\x82");
    assert_string_equal(mp_show_name("\xc0\xaf").s, "\\xc0\\xaf");
    assert_string_equal(mp_show_name("\xed\xa0\x80").s, "\\xed\\xa0\\x80");
    /* C1 controls (U+009B is a CSI to some terminals), as their bytes. */
    assert_string_equal(mp_show_name("a\xc2\x9b"
                                     "b\xc2\xa0")
                            .s,
                        "a\\xc2\\x9bb\xc2\xa0");
}

static void long_names_are_cut_at_a_character(void **state)
{
    (void)state;
    char name[2000];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    mp_shown s = mp_show_name(name);
    size_t n = strlen(s.s);
    assert_true(n < sizeof s.s);
    assert_string_equal(s.s + n - 3, "...");
    /* A cut never splits an escape or a character. */
    char out[10];
    mp_escape("ab\x1b\x1b\x1b", 1, out, sizeof out);
    assert_string_equal(out, "ab\\x1b...");
    mp_escape("\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", 1, out, sizeof out);
    assert_string_equal(out, "\xc3\xbc\xc3\xbc\xc3\xbc...");
    mp_escape("abc\x1b", 1, out, sizeof out); /* fits exactly: no cut */
    assert_string_equal(out, "abc\\x1b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(controls_and_backslashes),
        cmocka_unit_test(utf8_kept_invalid_bytes_escaped),
        cmocka_unit_test(long_names_are_cut_at_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
