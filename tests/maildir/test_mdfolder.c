/* Folder name <-> path mapping for both layouts, including hostile names
 * and modified UTF-7 / escaped names on disk. */
#include "mdfolder.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void check_rel(md_layout lay, const char *name, const char *want)
{
    char err[256] = "";
    char *rel = md_folder_rel(lay, name, err, sizeof err);
    if (!rel)
        fail_msg("\"%s\" refused: %s", name, err);
    assert_string_equal(rel, want);
    free(rel);
}

static void check_refused(md_layout lay, const char *name, const char *why)
{
    char err[256] = "";
    char *rel = md_folder_rel(lay, name, err, sizeof err);
    if (rel)
        fail_msg("\"%s\" accepted as \"%s\"", name, rel);
    assert_contains(err, why);
}

static void check_entry(const char *entry, const char *want)
{
    char *name = md_pp_name_of_entry(entry, NULL, NULL);
    if (!want) {
        if (name)
            fail_msg("entry \"%s\" read as \"%s\"", entry, name);
        return;
    }
    if (!name)
        fail_msg("entry \"%s\" not read", entry);
    assert_string_equal(name, want);
    free(name);
}

static void maildirpp_names(void **state)
{
    (void)state;
    check_rel(MD_LAYOUT_MAILDIRPP, "INBOX", "");
    check_rel(MD_LAYOUT_MAILDIRPP, "inbox", "");
    check_rel(MD_LAYOUT_MAILDIRPP, "Sent", ".Sent");
    check_rel(MD_LAYOUT_MAILDIRPP, "A/B/C", ".A.B.C");
    check_rel(MD_LAYOUT_MAILDIRPP, "INBOX/sub", ".INBOX.sub");
    check_rel(MD_LAYOUT_MAILDIRPP, "Archiv/\xc3\x9c"
                                             "bersicht 2024", /* the \x ends */
              ".Archiv.&ANw-bersicht 2024");
    check_rel(MD_LAYOUT_MAILDIRPP, "Projects/\xce\xa9", ".Projects.&A6k-");
    check_rel(MD_LAYOUT_MAILDIRPP, "Quote\"d & Co", ".Quote\"d &- Co");
    /* '.' inside a component and the escape character itself. */
    check_rel(MD_LAYOUT_MAILDIRPP, "lists.debian.org/a\\b",
              ".lists\\2edebian\\2eorg.a\\5cb");
    check_rel(MD_LAYOUT_MAILDIRPP, ".hidden", ".\\2ehidden");
    /* Names that are cur/new/tmp are harmless as ".cur". */
    check_rel(MD_LAYOUT_MAILDIRPP, "cur/new", ".cur.new");
}

static void maildirpp_entries_read_back(void **state)
{
    (void)state;
    check_entry(".Archiv.&ANw-bersicht 2024", "Archiv/\xc3\x9c" "bersicht 2024");
    check_entry(".lists\\2edebian\\2eorg.a\\5cb", "lists.debian.org/a\\b");
    check_entry(".x\\2Ey", "x.y");     /* upper-case hex too */
    check_entry(".a\\zz", "a\\zz");    /* no escape: kept as is */
    check_entry(".a\\00b", "a\\00b");  /* never decodes to NUL */
    check_entry(".\xc3\x9c" "ber", "\xc3\x9c" "ber"); /* raw UTF-8 */
    check_entry(".Sent", "Sent");
    /* Not folders, or not usable names. */
    check_entry("Sent", NULL);
    check_entry(".", NULL);
    check_entry(".A..B", NULL);
    check_entry(".A.", NULL);
    check_entry(".\xff", NULL);           /* neither mUTF-7 nor UTF-8 */
    check_entry(".a\\2e\\2e", "a..");     /* fine inside a component */
    check_entry(".\\2e\\2e", NULL);       /* decodes to ".." */
    check_entry(".x.\\2e", NULL);         /* decodes to "x/." */
    check_entry(".a\\2fb", NULL);         /* '/' would read as hierarchy */
    /* With a substitute, such a '/' is written as it: the folder is read,
     * not skipped (issue 13.3). */
    int substituted = 0;
    char *name = md_pp_name_of_entry(".GPR\\2fGPA.Jim \\2f John", "_",
                                     &substituted);
    assert_non_null(name);
    assert_string_equal(name, "GPR_GPA/Jim _ John");
    assert_true(substituted);
    free(name);
    name = md_pp_name_of_entry(".a\\2fb", "\xe2\x88\x95", &substituted);
    assert_non_null(name);
    assert_string_equal(name, "a\xe2\x88\x95" "b");
    free(name);
    name = md_pp_name_of_entry(".plain", "_", &substituted);
    assert_string_equal(name, "plain");
    assert_false(substituted);
    free(name);
    check_entry(".&AAk-", NULL);          /* a TAB */
    check_entry(".INBOX", NULL);          /* the root is INBOX */
    check_entry(".&AGE-", "&AGE-");       /* not minimal mUTF-7, as is */

    /* Every mapped name reads back to itself. */
    /* Split so that the \x escape ends before "bersicht". */
    static const char ubersicht[] = "Archiv/\xc3\x9c"
                                    "bersicht 2024";
    const char *names[] = {"A/B", ubersicht,
                           "lists.debian.org", "a\\2eb", "x & y/\xf0\x9f\x98\x80",
                           "Quote\"d & Co", "trailing./.lead"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char err[128];
        char *rel = md_folder_rel(MD_LAYOUT_MAILDIRPP, names[i], err,
                                  sizeof err);
        assert_non_null(rel);
        check_entry(rel, names[i]);
        free(rel);
    }
}

static void fs_names(void **state)
{
    (void)state;
    check_rel(MD_LAYOUT_FS, "INBOX", "");
    check_rel(MD_LAYOUT_FS, "Archiv/\xc3\x9c"
                                             "bersicht 2024", /* the \x ends */
              "Archiv/\xc3\x9c" "bersicht 2024");
    check_rel(MD_LAYOUT_FS, "a.b/c", "a.b/c");
    check_rel(MD_LAYOUT_FS, ".hidden", ".hidden");
    check_rel(MD_LAYOUT_FS, "curious/newt", "curious/newt");
    check_refused(MD_LAYOUT_FS, "cur", "clash");
    check_refused(MD_LAYOUT_FS, "A/new", "clash");
    check_refused(MD_LAYOUT_FS, "tmp/x", "clash");
    char longname[300];
    memset(longname, 'x', 256);
    longname[256] = '\0';
    check_refused(MD_LAYOUT_FS, longname, "longer than");
    assert_true(md_fs_component_ok("Foo"));
    assert_true(md_fs_component_ok("wom_bat"));
    assert_false(md_fs_component_ok("cur"));
    assert_false(md_fs_component_ok(".."));
    assert_false(md_fs_component_ok("a\tb"));
    assert_false(md_fs_component_ok("\xc3"));
}

static void hostile_names_refused_in_both_layouts(void **state)
{
    (void)state;
    for (int lay = 0; lay < 2; lay++) {
        check_refused(lay, "../x", "\"..\"");
        check_refused(lay, "..", "\"..\"");
        check_refused(lay, "a/../b", "\"..\"");
        check_refused(lay, "a/./b", "\".\"");
        check_refused(lay, ".", "\".\"");
        check_refused(lay, "/abs", "absolute");
        check_refused(lay, "/etc/passwd", "absolute");
        check_refused(lay, "", "empty folder name");
        check_refused(lay, "a//b", "empty component");
        check_refused(lay, "a/", "empty component");
        check_refused(lay, "a\nb", "control character 0x0a");
        check_refused(lay, "a\x7f", "control character 0x7f");
        check_refused(lay, "\x1b[2J", "control character 0x1b");
        check_refused(lay, "bad\xc3(", "not valid UTF-8");
        check_refused(lay, "\xc0\xaf", "not valid UTF-8"); /* overlong '/' */
    }
    /* A NUL cannot be passed at all: the name simply ends there. */
    check_rel(MD_LAYOUT_FS, "a\0/../../etc", "a");
    /* A Maildir++ name longer than one directory entry may be. */
    char longname[300];
    memset(longname, 'x', 255);
    longname[255] = '\0';
    check_refused(MD_LAYOUT_MAILDIRPP, longname, "too long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maildirpp_names),
        cmocka_unit_test(maildirpp_entries_read_back),
        cmocka_unit_test(fs_names),
        cmocka_unit_test(hostile_names_refused_in_both_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
