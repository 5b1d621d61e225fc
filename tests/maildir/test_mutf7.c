/* Modified UTF-7 (plugins/common/mutf7.c): known vectors both ways,
 * round trips, and every kind of invalid input either way. */
#include "mutf7.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void check_pair(const char *utf8, const char *mutf7)
{
    char *e = mp_mutf7_encode(utf8);
    assert_non_null(e);
    assert_string_equal(e, mutf7);
    char *d = mp_mutf7_decode(mutf7);
    assert_non_null(d);
    assert_string_equal(d, utf8);
    free(e);
    free(d);
}

static void known_vectors(void **state)
{
    (void)state;
    check_pair("", "");
    check_pair("INBOX", "INBOX");
    check_pair("Archiv/\xc3\x9c" "bersicht 2024", "Archiv/&ANw-bersicht 2024");
    check_pair("Projects/\xce\xa9", "Projects/&A6k-");
    check_pair("Quote\"d & Co", "Quote\"d &- Co");
    check_pair("&&", "&-&-");
    /* RFC 3501 section 5.1.3's own example. */
    check_pair("~peter/mail/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/"
               "\xe5\x8f\xb0\xe5\x8c\x97",
               "~peter/mail/&ZeVnLIqe-/&U,BTFw-");
    /* U+1F600 travels as the surrogate pair D83D DE00. */
    check_pair("\xf0\x9f\x98\x80 mail", "&2D3eAA- mail");
    /* Control characters are not printable: encoded. */
    check_pair("a\tb", "a&AAk-b");
    check_pair("\x01", "&AAE-");
    check_pair("Entw\xc3\xbc" "rfe", "Entw&APw-rfe");
    /* A run of several non-ASCII characters is one section. */
    check_pair("\xc3\xa4\xc3\xa4", "&AOQA5A-");
}

static void round_trips_every_plane(void **state)
{
    (void)state;
    /* One character from each UTF-8 length, mixed with ASCII and '&'. */
    const char *s = "a\xc2\x80&\xe0\xa0\x80-\xef\xbf\xbd.\xf4\x8f\xbf\xbf"
                    "\xf0\x90\x80\x80 ~";
    char *e = mp_mutf7_encode(s);
    assert_non_null(e);
    for (const char *p = e; *p; p++)
        assert_true(*p >= 0x20 && *p <= 0x7e);
    char *d = mp_mutf7_decode(e);
    assert_non_null(d);
    assert_string_equal(d, s);
    free(e);
    free(d);
}

static void encode_rejects_invalid_utf8(void **state)
{
    (void)state;
    const char *bad[] = {
        "\xff",             /* never valid */
        "a\x80",            /* stray continuation byte */
        "\xc0\x80",         /* overlong NUL */
        "\xe0\x80\xaf",     /* overlong '/' */
        "\xed\xa0\x80",     /* UTF-8 encoded surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xe2\x82",         /* truncated at the end */
        "\xe2\x82z",        /* truncated mid-string */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *e = mp_mutf7_encode(bad[i]);
        if (e)
            fail_msg("accepted invalid UTF-8 #%zu as \"%s\"", i, e);
    }
}

static void decode_rejects_invalid(void **state)
{
    (void)state;
    const char *bad[] = {
        "&ANw",        /* section never closed */
        "&",           /* lone '&' at the end */
        "&AN!-",       /* '!' is no base64 digit */
        "&AN/-",       /* '/' belongs to plain base64, not the modified one */
        "&AGE-",       /* 'a' encoded: not minimal */
        "&ACY-",       /* '&' encoded instead of "&-": not minimal */
        "&AOQ-&AOQ-",  /* two sections back to back: not minimal */
        "&A-",         /* 6 bits: not a whole unit */
        "&AOR-",       /* leftover bits not zero */
        "&AOQA-",      /* 24 bits: a half unit left */
        "&2D0-",       /* high surrogate alone */
        "&3gA-",       /* low surrogate alone */
        "&2D3YPQ-",    /* high surrogate followed by another high one */
        "&AAA-",       /* U+0000 */
        "\xc3\x9c",    /* raw 8-bit byte */
        "a\tb",        /* raw control character */
        "\x7f",        /* DEL is not printable */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *d = mp_mutf7_decode(bad[i]);
        if (d)
            fail_msg("accepted invalid \"%s\" as \"%s\"", bad[i], d);
    }
}

static void decode_accepts_amp_after_section(void **state)
{
    (void)state;
    /* "&-" right after a section is a literal '&', not a second section. */
    char *d = mp_mutf7_decode("&AOQ-&-x");
    assert_non_null(d);
    assert_string_equal(d, "\xc3\xa4&x");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_vectors),
        cmocka_unit_test(round_trips_every_plane),
        cmocka_unit_test(encode_rejects_invalid_utf8),
        cmocka_unit_test(decode_rejects_invalid),
        cmocka_unit_test(decode_accepts_amp_after_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
