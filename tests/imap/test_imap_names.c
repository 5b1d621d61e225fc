/* Folder name mapping (imap_names.h): prefix, delimiter, modified UTF-7,
 * the inbox-as-prefix namespace of Courier/Cyrus hosts, and the substitute
 * for a delimiter inside a name. */
#include "testutil.h"

#include "imap_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mailport NAME -> server WANT (NULL: refused), then WANT back -> BACK
 * (NULL: NAME itself), with the substitution flags each way. */
static void check_to(const char *name, char delim, const char *prefix,
                     const char *sub, const char *want, const char *back,
                     int want_subst)
{
    imap_names nm = {delim, prefix, sub};
    char err[256] = "";
    int subst = -1;
    char *got = imap_name_to_server(name, &nm, &subst, err, sizeof err);
    if (!want) {
        if (got)
            fail_msg("\"%s\" mapped to \"%s\", expected a refusal", name, got);
        assert_true(err[0] != '\0');
        return;
    }
    if (!got)
        fail_msg("\"%s\" refused: %s", name, err);
    if (strcmp(got, want) != 0)
        fail_msg("\"%s\" (delim '%c', prefix \"%s\") -> \"%s\", expected "
                 "\"%s\"",
                 name, delim ? delim : '0', prefix, got, want);
    assert_int_equal(subst, want_subst);
    int back_subst = -1;
    char *b = imap_name_from_server(got, &nm, &back_subst);
    if (!b)
        fail_msg("\"%s\" does not come back", got);
    if (strcmp(b, back ? back : name) != 0)
        fail_msg("\"%s\" came back as \"%s\", expected \"%s\"", got, b,
                 back ? back : name);
    assert_int_equal(back_subst, 0);
    free(b);
    free(got);
}

/* Server name SERVER -> mailport WANT (NULL: refused). */
static void check_from(const char *server, char delim, const char *prefix,
                       const char *sub, const char *want, int want_subst)
{
    imap_names nm = {delim, prefix, sub};
    int subst = -1;
    char *got = imap_name_from_server(server, &nm, &subst);
    if (!want) {
        if (got)
            fail_msg("\"%s\" mapped to \"%s\", expected a refusal", server,
                     got);
        return;
    }
    if (!got)
        fail_msg("\"%s\" (delim '%c', prefix \"%s\") refused", server,
                 delim ? delim : '0', prefix);
    if (strcmp(got, want) != 0)
        fail_msg("\"%s\" (delim '%c', prefix \"%s\") -> \"%s\", expected "
                 "\"%s\"",
                 server, delim ? delim : '0', prefix, got, want);
    assert_int_equal(subst, want_subst);
    free(got);
}

static void test_plain_names(void **state)
{
    (void)state;
    check_to("INBOX", '/', "", NULL, "INBOX", NULL, 0);
    check_to("inbox", '.', "INBOX.", NULL, "INBOX", "INBOX", 0);
    check_to("Archiv/Übersicht 2024", '/', "", NULL,
             "Archiv/&ANw-bersicht 2024", NULL, 0);
    check_to("Archiv/Übersicht 2024", '.', "", NULL,
             "Archiv.&ANw-bersicht 2024", NULL, 0);
    check_to("Projects/Ω", '/', "", NULL, "Projects/&A6k-", NULL, 0);
    check_to("Quote\"d & Co", '/', "", NULL, "Quote\"d &- Co", NULL, 0);
    check_to("日本語", '/', "", NULL, "&ZeVnLIqe-", NULL, 0);
    /* A prefix that is not the inbox is added and stripped. */
    check_to("Sent", '.', "Mail.", NULL, "Mail.Sent", NULL, 0);
    check_to("a/b", '/', "Mail/", NULL, "Mail/a/b", NULL, 0);
    /* Refused: empty parts, nesting on a flat server, invalid UTF-8. */
    check_to("", '/', "", NULL, NULL, NULL, 0);
    check_to("/abs", '/', "", NULL, NULL, NULL, 0);
    check_to("trail/", '/', "", NULL, NULL, NULL, 0);
    check_to("a//b", '/', "", NULL, NULL, NULL, 0);
    check_to("a/b", 0, "", NULL, NULL, NULL, 0);
    check_to("bad\xff", '/', "", NULL, NULL, NULL, 0);
    /* Server names that cannot come back: invalid modified UTF-7, empty
     * parts. */
    check_from("&Jjo!", '/', "", NULL, NULL, 0);
    check_from("a..b", '.', "", NULL, NULL, 0);
    check_from(".a", '.', "", NULL, NULL, 0);
    check_from("\xc3\xa4", '/', "", NULL, NULL, 0);
    /* Outside the personal prefix (another namespace): kept whole. */
    check_from("Shared.x", '.', "INBOX.", NULL, "Shared/x", 0);
}

/* Issue 9.1: a personal namespace "INBOX." (Courier, Cyrus, cPanel): an
 * inbox child stays an inbox child both ways, never "INBOX.INBOX.X". */
static void test_inbox_prefix(void **state)
{
    (void)state;
    check_to("INBOX/COMPTA", '.', "INBOX.", NULL, "INBOX.COMPTA", NULL, 0);
    check_to("inbox/COMPTA", '.', "INBOX.", NULL, "INBOX.COMPTA",
             "INBOX/COMPTA", 0);
    check_to("INBOX/COMPTA/2024", '.', "INBOX.", NULL, "INBOX.COMPTA.2024",
             NULL, 0);
    /* Top-level folders live under the inbox there, and come back as its
     * children: the server has no other place for them. */
    check_to("Sent", '.', "INBOX.", NULL, "INBOX.Sent", "INBOX/Sent", 0);
    check_to("a/b", '.', "INBOX.", NULL, "INBOX.a.b", "INBOX/a/b", 0);
    check_to("Übersicht", '.', "INBOX.", NULL, "INBOX.&ANw-bersicht",
             "INBOX/Übersicht", 0);
    /* The same with '/' as the delimiter ("INBOX/" prefix). */
    check_to("INBOX/COMPTA", '/', "INBOX/", NULL, "INBOX/COMPTA", NULL, 0);
    check_to("COMPTA", '/', "INBOX/", NULL, "INBOX/COMPTA", "INBOX/COMPTA", 0);
    /* Server side: every name of the namespace is an inbox child. */
    check_from("INBOX.COMPTA", '.', "INBOX.", NULL, "INBOX/COMPTA", 0);
    check_from("INBOX.a.b", '.', "INBOX.", NULL, "INBOX/a/b", 0);
    check_from("Inbox.x", '.', "INBOX.", NULL, "INBOX/x", 0);
    check_from("INBOX", '.', "INBOX.", NULL, "INBOX", 0);
    /* Without a prefix "INBOX/X" is an inbox child as it stands. */
    check_to("INBOX/COMPTA", '/', "", NULL, "INBOX/COMPTA", NULL, 0);
    check_to("INBOX/COMPTA", '.', "", NULL, "INBOX.COMPTA", NULL, 0);
    /* "INBOX" followed by something else is no inbox prefix. */
    check_to("X", '.', "INBOXES.", NULL, "INBOXES.X", NULL, 0);
}

/* Issue 13.3: the delimiter inside a name part becomes the substitute. */
static void test_substitute(void **state)
{
    (void)state;
    /* A '/' inside a part on a '.' server would read as nesting. */
    check_from("GPR/GPA", '.', "", NULL, "GPR_GPA", 1);
    check_from("Jim / John", '.', "", NULL, "Jim _ John", 1);
    check_from("A.B/C", '.', "", NULL, "A/B_C", 1);
    check_from("A.B/C", '.', "", "-", "A/B-C", 1);
    check_from("GPR/GPA", '.', "", "∕", "GPR∕GPA", 1); /* U+2215 */
    check_from("INBOX.GPR/GPA", '.', "INBOX.", NULL, "INBOX/GPR_GPA", 1);
    check_from("a/b", 0, "", NULL, "a_b", 1); /* flat server */
    check_from("a/b", '/', "", NULL, "a/b", 0);
    check_from("GPR_GPA", '.', "", NULL, "GPR_GPA", 0);
    /* A mailport part holding the server's delimiter. */
    check_to("Mr. X", '.', "", NULL, "Mr_ X", "Mr_ X", 1);
    check_to("v1.2/notes", '.', "", NULL, "v1_2.notes", "v1_2/notes", 1);
    check_to("v1.2", '.', "INBOX.", NULL, "INBOX.v1_2", "INBOX/v1_2", 1);
    check_to("INBOX/v1.2", '.', "INBOX.", "+", "INBOX.v1+2", "INBOX/v1+2", 1);
    check_to("v1.2", '/', "", NULL, "v1.2", NULL, 0);
    /* A substitute that needs modified UTF-7 is encoded like any text. */
    check_to("GPR∕GPA", '/', "", NULL, "GPR&IhU-GPA", NULL, 0);
    check_to("a.b", '.', "", "∕", "a&IhU-b", "a∕b", 1);
    check_to("a.b", '.', "", "&", "a&-b", "a&b", 1);
}

static void test_substitute_check(void **state)
{
    (void)state;
    char err[256];
    const char *good[] = {"_", "-", "+", "~", " ", "é", "∕", "😀", "&"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (imap_substitute_check(good[i], '.', err, sizeof err) != 0)
            fail_msg("\"%s\" refused: %s", good[i], err);
    assert_int_equal(imap_substitute_check(".", '/', err, sizeof err), 0);
    assert_int_equal(imap_substitute_check(".", 0, err, sizeof err), 0);
    const char *bad[] = {"",         "ab",           "/",       "*",    "%",
                         "\t",       "\x7f",         "\xff",    "\xc3", "é_",
                         "\xc0\xaf", "\xed\xa0\x80", "\xc2\x85"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (imap_substitute_check(bad[i], '.', err, sizeof err) == 0)
            fail_msg("substitute #%zu accepted", i);
        assert_contains(err, "delimiter_substitute=");
    }
    assert_int_equal(imap_substitute_check(".", '.', err, sizeof err), -1);
    assert_contains(err, "delimiter");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_names),
        cmocka_unit_test(test_inbox_prefix),
        cmocka_unit_test(test_substitute),
        cmocka_unit_test(test_substitute_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
