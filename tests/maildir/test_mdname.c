/* Maildir file names and dovecot-keywords: parsing and building info
 * strings, size fields, unique names, host name escaping, keyword files. */
#include "mdkeywords.h"
#include "mdname.h"
#include "testutil.h"

#include <mailport/plugin.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void parses_colon_info(void **state)
{
    (void)state;
    md_name_info ni;
    md_name_parse("1234.M5P6Q7.host,S=1000,W=1020:2,DFPRST", &ni);
    assert_int_equal(ni.key_len, strlen("1234.M5P6Q7.host,S=1000,W=1020"));
    assert_int_equal(ni.sep, ':');
    assert_int_equal(ni.flags, MP_FLAG_DRAFT | MP_FLAG_FLAGGED |
                                   MP_FLAG_FORWARDED | MP_FLAG_ANSWERED |
                                   MP_FLAG_SEEN | MP_FLAG_DELETED);
    assert_int_equal(ni.kw_letters, 0);
    assert_int_equal(ni.size, 1000);
    assert_int_equal(ni.vsize, 1020);
}

static void parses_bang_info_and_keywords(void **state)
{
    (void)state;
    md_name_info ni;
    /* mu's form, with keyword letters a, b, c. */
    md_name_parse("special!2,Sabc", &ni);
    assert_int_equal(ni.key_len, 7);
    assert_int_equal(ni.sep, '!');
    assert_int_equal(ni.flags, MP_FLAG_SEEN);
    assert_int_equal(ni.kw_letters, 0x7);
    /* The last "!2," is the separator. */
    md_name_parse("a!2,b!2,RS", &ni);
    assert_int_equal(ni.key_len, 5);
    assert_int_equal(ni.flags, MP_FLAG_ANSWERED | MP_FLAG_SEEN);
    /* Keyword z is bit 25; unknown capitals are ignored. */
    md_name_parse("x:2,zXS", &ni);
    assert_int_equal(ni.kw_letters, 1u << 25);
    assert_int_equal(ni.flags, MP_FLAG_SEEN);
}

static void parses_names_without_info(void **state)
{
    (void)state;
    md_name_info ni;
    md_name_parse("1050314226.9981_1.penfold", &ni);
    assert_int_equal(ni.key_len, strlen("1050314226.9981_1.penfold"));
    assert_int_equal(ni.sep, 0);
    assert_int_equal(ni.flags, 0);
    assert_int_equal(ni.size, 0);
    /* An empty info: a colon, no flags. */
    md_name_parse("8:2,", &ni);
    assert_int_equal(ni.key_len, 1);
    assert_int_equal(ni.sep, ':');
    assert_int_equal(ni.flags, 0);
    /* Experimental "1," info: the key still ends at ':', no flags. */
    md_name_parse("abc:1,S", &ni);
    assert_int_equal(ni.key_len, 3);
    assert_int_equal(ni.sep, 0);
    assert_int_equal(ni.flags, 0);
    /* A size field must be all digits up to ',' or the key's end. */
    md_name_parse("a,S=12x:2,S", &ni);
    assert_int_equal(ni.size, 0);
    md_name_parse("a,S=12,W=13,Z=1:2,", &ni);
    assert_int_equal(ni.size, 12);
    assert_int_equal(ni.vsize, 13);
    /* ",S=" after the info separator is not a size. */
    md_name_parse("a:2,S,S=5", &ni);
    assert_int_equal(ni.size, 0);
}

static void builds_info_in_ascii_order(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(md_name_build("k", 1, ':',
                                   MP_FLAG_SEEN | MP_FLAG_DRAFT |
                                       MP_FLAG_DELETED | MP_FLAG_FORWARDED,
                                   (1u << 2) | 1u, out, sizeof out),
                     0);
    assert_string_equal(out, "k:2,DPSTac");
    assert_int_equal(md_name_build("key:2,old", 3, '!', 0, 0, out, sizeof out),
                     0);
    assert_string_equal(out, "key!2,");
    assert_int_equal(md_name_build("k", 1, 0, MP_FLAG_ANSWERED |
                                   MP_FLAG_FLAGGED, 0, out, sizeof out),
                     0);
    assert_string_equal(out, "k:2,FR");
    assert_int_equal(md_name_build("long-key", 8, ':', 0, 0, out, 8), -1);
    /* Whatever is built parses back to the same flags. */
    for (unsigned f = 0; f < 64; f++) {
        md_name_info ni;
        assert_int_equal(md_name_build("u", 1, ':', f, f * 977u, out,
                                       sizeof out), 0);
        md_name_parse(out, &ni);
        assert_int_equal(ni.flags, f);
        assert_int_equal(ni.kw_letters, (f * 977u) & ((1u << 26) - 1));
    }
}

static void escapes_hostname(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(md_escape_hostname("a/b:c.d", out, sizeof out), 0);
    assert_string_equal(out, "a\\057b\\072c.d");
    assert_int_equal(md_escape_hostname("::", out, 9), 0);
    assert_string_equal(out, "\\072\\072");
    assert_int_equal(md_escape_hostname("::", out, 8), -1);
}

static void unique_names_are_unique_and_well_formed(void **state)
{
    (void)state;
    char a[128], b[128];
    assert_int_equal(md_unique_name("h\\057x", (long)getpid(), a, sizeof a), 0);
    assert_int_equal(md_unique_name("h\\057x", (long)getpid(), b, sizeof b), 0);
    assert_string_not_equal(a, b);
    long long sec;
    long usec, pid;
    unsigned long q;
    char host[64];
    assert_int_equal(sscanf(a, "%lld.M%ldP%ldQ%lu.%63s", &sec, &usec, &pid,
                            &q, host),
                     5);
    assert_int_equal(pid, (long)getpid());
    assert_true(usec >= 0 && usec < 1000000);
    assert_string_equal(host, "h\\057x");
    assert_null(strchr(a, '/'));
    assert_null(strchr(a, ':'));
    assert_int_equal(md_unique_name("host", 1, a, 10), -1);
}

static void keywords_file_round_trip(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("mdkw");
    char *path = mp_strf("%s/dovecot-keywords", dir);
    const char *text = "0 $Junk\n1 NonJunk\r\n3 $Forwarded\n"
                       "bogus line\n27 TooHigh\n2 \n1 Duplicate\n";
    mp_write_file(path, text, strlen(text));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);

    md_keywords kw;
    assert_int_equal(md_keywords_load(dfd, &kw), 0);
    assert_string_equal(kw.names[0], "$Junk");
    assert_string_equal(kw.names[1], "NonJunk");
    assert_null(kw.names[2]);
    assert_string_equal(kw.names[3], "$Forwarded");
    assert_int_equal(kw.dirty, 0);

    char buf[256];
    assert_string_equal(md_keywords_string(&kw, 0xf, buf, sizeof buf),
                        "$Junk NonJunk $Forwarded");
    char dropped[64];
    /* Known ones without ADD; unknown ones reported as dropped. */
    assert_int_equal(md_keywords_bits(&kw, "NonJunk Other  $Junk", 0, dropped,
                                      sizeof dropped),
                     0x3);
    assert_string_equal(dropped, "Other");
    assert_int_equal(kw.dirty, 0);
    /* With ADD the first free letter (c = 2) is taken. */
    assert_int_equal(md_keywords_bits(&kw, "Other", 1, dropped,
                                      sizeof dropped),
                     1u << 2);
    assert_string_equal(dropped, "");
    assert_int_equal(kw.dirty, 1);
    assert_int_equal(md_keywords_save(dfd, &kw), 0);
    assert_int_equal(kw.dirty, 0);
    size_t len;
    char *saved = mp_read_file(path, &len);
    assert_string_equal(saved, "0 $Junk\n1 NonJunk\n2 Other\n3 $Forwarded\n");
    free(saved);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    md_keywords_free(&kw);

    /* Fill all 26 letters; the 27th keyword is dropped, not stored. */
    md_keywords full;
    assert_int_equal(md_keywords_load(dfd, &full), 0);
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf(name, sizeof name, "kw%d", i);
        int idx = md_keywords_index(&full, name, 1);
        if (i < 22)
            assert_true(idx >= 0 && idx < 26);
        else
            assert_int_equal(idx, -1);
    }
    assert_int_equal(md_keywords_bits(&full, "$Junk kw99", 1, dropped,
                                      sizeof dropped),
                     1u);
    assert_string_equal(dropped, "kw99");
    md_keywords_free(&full);

    /* No file at all: empty, not an error. */
    unlink(path);
    md_keywords none;
    assert_int_equal(md_keywords_load(dfd, &none), 0);
    for (int i = 0; i < MD_MAX_KEYWORDS; i++)
        assert_null(none.names[i]);
    close(dfd);
    mp_rm_rf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_colon_info),
        cmocka_unit_test(parses_bang_info_and_keywords),
        cmocka_unit_test(parses_names_without_info),
        cmocka_unit_test(builds_info_in_ascii_order),
        cmocka_unit_test(escapes_hostname),
        cmocka_unit_test(unique_names_are_unique_and_well_formed),
        cmocka_unit_test(keywords_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
