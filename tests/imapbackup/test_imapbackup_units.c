/* The rules the plugin takes from imap-backup's source, one at a time:
 * its file-name escapes, its record layout (From_ line, '>' quoting,
 * padding), how version 1 and 2 files are split, and its flag names. */
#include "ib_flags.h"
#include "ib_name.h"
#include "ib_record.h"
#include "testutil.h"

#include <mailport/plugin.h>

#include <stdlib.h>
#include <string.h>

static void check_name(const char *file, const char *folder)
{
    char *got = ib_name_decode(file, strlen(file));
    assert_non_null(got);
    assert_string_equal(got, folder);
    free(got);
}

static void names(void **state)
{
    (void)state;
    /* What Naming.to_local_path writes for ':', '%' and ';'. */
    check_name("Work%3a;2024", "Work:2024");
    check_name("100%25;", "100%");
    check_name("a%3b;b%3a;%25;", "a;b:%");
    check_name("%3A;", ":");                      /* either case */
    check_name("%e9;t%c3;", "\xc3\xa9t\xc3\x83"); /* any code point */
    check_name("%1f600;", "\xf0\x9f\x98\x80");
    /* What it cannot have written stays as it is. */
    check_name("50%", "50%");
    check_name("%zz;", "%zz;");
    check_name("%;", "%;");
    check_name("%2f;", "%2f;"); /* '/' would move the folder */
    check_name("%0;", "%0;");
    check_name("%d800;", "%d800;");
    check_name("%110000;", "%110000;");
    check_name("%3a", "%3a");
    check_name("Übersicht", "Übersicht");
}

/* The message record TEXT gives back. */
static char *unrecord(const char *text, size_t *len)
{
    size_t body, end, from_len;
    size_t n = strlen(text);
    const char *problem = ib_record_parse(text, 0, n, &body, &end, &from_len);
    if (problem)
        fail_msg("%s: %s", text, problem);
    char *out = malloc(end - body + 1);
    *len = ib_record_unquote(text, body, end, out);
    out[*len] = '\0';
    assert_int_equal(*len, ib_record_size(text, body, end));
    return out;
}

static void check_record(const char *record, const char *message)
{
    size_t len;
    char *got = unrecord(record, &len);
    assert_int_equal(len, strlen(message));
    assert_string_equal(got, message);
    free(got);
}

static void records(void **state)
{
    (void)state;
    /* Every line but the first matching ^>*From got one '>' more. */
    check_record("From a@b Mon Jan  1 00:00:00 2024\n"
                 "Subject: x\n>From: a@b\n\n>From here\n>>From there\n"
                 ">>>From: deep\n>Fromage\nFrom\n>x From\n\n",
                 "Subject: x\nFrom: a@b\n\nFrom here\n>From there\n"
                 ">>From: deep\nFromage\nFrom\n>x From\n");
    /* The message's first line was not quoted, so it is not unquoted. */
    check_record("From a\n>From: a@b\nX: y\n\nbody\n\n",
                 ">From: a@b\nX: y\n\nbody\n");
    check_record("From a\nFrom x Tue Jan  2 00:00:00 2024\nX: y\n\nb\n\n",
                 "From x Tue Jan  2 00:00:00 2024\nX: y\n\nb\n");
    /* Padding: two line breaks at the end were one; more were all the
     * message's own. */
    check_record("From a\nX: y\n\nb\n\n\n", "X: y\n\nb\n\n\n");
    check_record("From a\nX: y\n\nb\n\n\n\n", "X: y\n\nb\n\n\n\n");
    check_record("From \n\n\n", "\n");
    /* A headerless message starting with an empty line. */
    check_record("From \n\n>From x\n\n", "\nFrom x\n");
    /* Bytes are bytes. */
    check_record("From a\nX: \xff\r\n\nb\r\n\n", "X: \xff\r\n\nb\r\n");

    size_t body, end, from_len;
    assert_non_null(
        ib_record_parse("Subject: x\n\n", 0, 12, &body, &end, &from_len));
    assert_non_null(ib_record_parse("From x", 0, 6, &body, &end, &from_len));
    assert_null(
        ib_record_parse("xxFrom a b\nX: y\n\n", 2, 17, &body, &end, &from_len));
    assert_int_equal(from_len, 8);
    assert_int_equal(body, 11);

    /* The header block ends before the first empty line. */
    const char *m = "X: y\nZ: w\n\nbody\n";
    assert_int_equal(ib_record_header_end(m, 0, strlen(m)), 10);
    assert_int_equal(ib_record_header_end("\nbody\n", 0, 6), 0);
    assert_int_equal(ib_record_header_end("X: y\n", 0, 5), 5);
}

static void bounds(void **state)
{
    (void)state;
    const char *mbox = "From a\nX: y\n\nb\n\nFrom c\nX: z\n\nd\n\n";
    size_t len = strlen(mbox), first = 16;
    assert_null(ib_record_check_bounds(mbox, len, 0, first));
    assert_null(ib_record_check_bounds(mbox, len, first, len));
    assert_non_null(ib_record_check_bounds(mbox, len, 0, first - 1));
    assert_non_null(ib_record_check_bounds(mbox, len, 0, len));
    assert_non_null(ib_record_check_bounds(mbox, len, 0, 13));

    /* Ruby's String#length on UTF-8: characters, and each byte of an
     * invalid or cut-off sequence. */
    assert_int_equal(ib_record_ruby_length("a\xc3\xbc\xe2\x82\xac", 0, 6), 3);
    assert_int_equal(ib_record_ruby_length("\xf0\x9f\x98\x80\xff", 0, 5), 2);
    assert_int_equal(ib_record_ruby_length("\xe2\x82", 0, 2), 2);
    assert_int_equal(ib_record_ruby_length("\xc0\xaf\xed\xa0\x80", 0, 5), 5);
}

typedef struct spans {
    size_t start[8], end[8], n;
} spans;

static int collect(void *ctx, size_t start, size_t end)
{
    spans *s = ctx;
    assert_true(s->n < 8);
    s->start[s->n] = start;
    s->end[s->n++] = end;
    return 0;
}

static void split(void **state)
{
    (void)state;
    /* A record starts at 0 and after every blank line followed by
     * "From "; a message's unquoted first line "From x" does not. */
    const char *mbox = "From a\nFrom x\n\nb\n\n"     /* 0..18 */
                       "From b\nX: y\n\n>From c\n\n" /* 18..40 */
                       "From c\n\n\n";               /* 40..49 */
    spans s = {0};
    assert_int_equal(ib_record_split(mbox, strlen(mbox), collect, &s), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.start[0], 0);
    assert_int_equal(s.end[0], 18);
    assert_int_equal(s.start[1], 18);
    assert_int_equal(s.end[1], 40);
    assert_int_equal(s.start[2], 40);
    assert_int_equal(s.end[2], 49);
    spans none = {0};
    assert_int_equal(ib_record_split("", 0, collect, &none), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(ib_record_split("X: y\n\n", 6, collect, &none), -1);
}

static void flags(void **state)
{
    (void)state;
    ib_flag_set set = {0};
    size_t dropped = 0;
    const char *in[] = {"Seen",   "Answered",   "Flagged", "Deleted", "Draft",
                        "Recent", "$Forwarded", "Work",    "work",    "\\Seen",
                        ":Draft", "bad flag",   "$Junk"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        assert_int_equal(ib_flag_add(&set, in[i], &dropped), 0);
    assert_int_equal(set.flags, MP_FLAG_SEEN | MP_FLAG_ANSWERED |
                                    MP_FLAG_FLAGGED | MP_FLAG_DELETED |
                                    MP_FLAG_DRAFT | MP_FLAG_FORWARDED);
    assert_string_equal(set.keywords, "Work $Junk");
    assert_int_equal(dropped, 1);
    ib_flag_set_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),  cmocka_unit_test(records),
        cmocka_unit_test(bounds), cmocka_unit_test(split),
        cmocka_unit_test(flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
