/* The pure parts of the host presets (issue 9): one copy per message over
 * a Gmail account's folders (mp_plan_first_copies), --preset parsing
 * (none included), and the run's left-out keys (mp_options_left_out). */
#include "options.h"
#include "plan.h"
#include "testutil.h"

#include <string.h>

static void add(mp_msglist *l, const char *key, int64_t date, uint64_t vsize,
                const char *identity)
{
    mp_msg_info i = {.struct_size = sizeof i,
                     .key = key,
                     .internal_date = date,
                     .size = vsize,
                     .vsize = vsize,
                     .identity = identity};
    assert_int_equal(mp_msglist_collect(l, &i), MP_OK);
}

/* INBOX, a label, All Mail: a message with labels goes to the first
 * folder holding it, All Mail keeps only what no label has; equal
 * Message-IDs of another date or size are other messages; a folder's own
 * duplicates and messages without identity are never left out. */
static void each_message_goes_to_its_first_folder(void **state)
{
    (void)state;
    mp_msglist inbox = {0}, work = {0}, all = {0};
    add(&inbox, "1", 100, 10, "<a@x>");
    add(&inbox, "2", 100, 20, "<b@x>");
    add(&work, "1", 100, 10, "<a@x>"); /* also in INBOX */
    add(&work, "2", 300, 30, "<c@x>"); /* only labelled Work */
    add(&work, "3", 300, 30, "<c@x>"); /* Work's own duplicate */
    add(&all, "10", 100, 10, "<a@x>"); /* INBOX and Work */
    add(&all, "11", 100, 20, "<b@x>"); /* INBOX */
    add(&all, "12", 300, 30, "<c@x>"); /* Work */
    add(&all, "13", 300, 30, "<c@x>"); /* Work's second */
    add(&all, "14", 500, 50, "<d@x>"); /* no label */
    add(&all, "15", 101, 10, "<a@x>"); /* same Message-ID, other date */
    add(&all, "16", 100, 11, "<a@x>"); /* same Message-ID, other size */
    add(&all, "17", 100, 10, NULL);    /* no identity */
    const mp_msglist *lists[] = {&inbox, &work, &all};
    char l0[2] = {0}, l1[3] = {0}, l2[8] = {0};
    char *left[] = {l0, l1, l2};
    assert_int_equal(mp_plan_first_copies(lists, 3, left), 5);
    assert_memory_equal(l0, "\0\0", 2);
    assert_memory_equal(l1, "\1\0\0", 3);
    assert_memory_equal(l2, "\1\1\1\1\0\0\0\0", 8);
    /* The order decides: All Mail first keeps everything there. */
    const mp_msglist *rev[] = {&all, &work, &inbox};
    char r0[8] = {0}, r1[3] = {0}, r2[2] = {0};
    char *rleft[] = {r0, r1, r2};
    assert_int_equal(mp_plan_first_copies(rev, 3, rleft), 5);
    assert_memory_equal(r0, "\0\0\0\0\0\0\0\0", 8);
    assert_memory_equal(r1, "\1\1\1", 3);
    assert_memory_equal(r2, "\1\1", 2);
    mp_msglist_free(&inbox);
    mp_msglist_free(&work);
    mp_msglist_free(&all);
}

static int parse(mp_options *o, const char *a, const char *b)
{
    char *argv[] = {"copy", (char *)a, (char *)b, "S", "D", NULL};
    return mp_options_parse(o, "copy", b ? 5 : 4, argv);
}

static void preset_names_a_kind_and_a_side(void **state)
{
    (void)state;
    mp_options o;
    assert_int_equal(parse(&o, "--preset", "gmail"), 0);
    assert_string_equal(o.preset_any, "gmail");
    assert_null(o.preset_source);
    mp_options_free(&o);
    assert_int_equal(
        parse(&o, "--preset=gmail:source", "--preset=office365:dest"), 0);
    assert_string_equal(o.preset_source, "gmail");
    assert_string_equal(o.preset_dest, "office365");
    assert_null(o.preset_any);
    mp_options_free(&o);
    /* none: no preset, for both sides or one. */
    assert_int_equal(parse(&o, "--preset", "none"), 0);
    assert_string_equal(o.preset_any, "none");
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset=none:source", "--preset=gmail:dest"),
                     0);
    assert_string_equal(o.preset_source, "none");
    assert_string_equal(o.preset_dest, "gmail");
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset", "none:dest"), 0);
    assert_string_equal(o.preset_dest, "none");
    assert_null(o.preset_source);
    mp_options_free(&o);
    /* Unknown kinds and sides are usage errors. */
    assert_int_equal(parse(&o, "--preset", "yahoo"), 2);
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset", "gmail:both"), 2);
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset", "gmail:"), 2);
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset", "gmailx"), 2);
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset", "nones"), 2);
    mp_options_free(&o);
    assert_int_equal(parse(&o, "--preset", "none:"), 2);
    mp_options_free(&o);
}

static void left_out_keys_are_per_folder(void **state)
{
    (void)state;
    mp_options o = {0};
    char *keys[] = {"12", "3", "7"}; /* sorted by strcmp */
    mp_folder_keys fk = {"[Gmail]/All Mail", keys, 3};
    o.left_out = &fk;
    o.n_left_out = 1;
    assert_true(mp_options_left_out(&o, "[Gmail]/All Mail", "3"));
    assert_true(mp_options_left_out(&o, "[Gmail]/All Mail", "12"));
    assert_false(mp_options_left_out(&o, "[Gmail]/All Mail", "1"));
    assert_false(mp_options_left_out(&o, "INBOX", "3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_message_goes_to_its_first_folder),
        cmocka_unit_test(preset_names_a_kind_and_a_side),
        cmocka_unit_test(left_out_keys_are_per_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
