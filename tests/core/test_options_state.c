/* Folder selection, renaming, message filters; the sync-state database. */
#include "options.h"
#include "state.h"
#include "testutil.h"

#include <mailport/plugin.h>
#include <string.h>
#include <sys/stat.h>

static mp_options parse(int argc, char **argv)
{
    mp_options o;
    assert_int_equal(mp_options_parse(&o, "copy", argc, argv), 0);
    return o;
}

static void include_exclude_and_map(void **state)
{
    (void)state;
    char *argv[] = {
        "copy",          "--include",  "Lists*", "--include",           "INBOX",
        "--exclude",     "Lists/spam", "--map",  "Lists=Archive/Lists", "--map",
        "Lists/dev=Dev", "SRC",        "DST"};
    mp_options o = parse(13, argv);
    assert_int_equal(o.n_args, 2);
    assert_string_equal(o.args[0], "SRC");
    assert_true(mp_options_folder_selected(&o, "INBOX"));
    assert_true(mp_options_folder_selected(&o, "Lists/dev"));
    assert_false(mp_options_folder_selected(&o, "Lists/spam"));
    assert_false(
        mp_options_folder_selected(&o, "Lists/spam/old")); /* children follow */
    assert_false(mp_options_folder_selected(&o, "Sent"));
    char *m = mp_options_map_folder(&o, "Lists/users/2024");
    assert_string_equal(m, "Archive/Lists/users/2024");
    free(m);
    m = mp_options_map_folder(&o, "Lists/dev/x"); /* the longer rule wins */
    assert_string_equal(m, "Dev/x");
    free(m);
    m = mp_options_map_folder(&o, "Listserv"); /* prefix only at '/' */
    assert_string_equal(m, "Listserv");
    free(m);
    mp_options_free(&o);
}

static void date_and_size_filters(void **state)
{
    (void)state;
    char *argv[] = {"copy",     "--since",    "2024-03-01",
                    "--before", "2024-04-01", "--max-size",
                    "1000",     "A",          "B"};
    mp_options o = parse(9, argv);
    assert_true(
        mp_options_message_selected(&o, 1709251200, 10)); /* 03-01 00:00 */
    assert_false(
        mp_options_message_selected(&o, 1709251199, 10)); /* a second before */
    assert_false(mp_options_message_selected(&o, 1711929600, 10)); /* 04-01 */
    assert_false(mp_options_message_selected(&o, 1709251200, 1001));
    assert_false(mp_options_message_selected(&o, MP_DATE_UNKNOWN, 10));
    mp_options_free(&o);
}

static void bad_options_are_usage_errors(void **state)
{
    (void)state;
    mp_options o;
    char *a1[] = {"copy", "--since", "yesterday"};
    assert_int_equal(mp_options_parse(&o, "copy", 3, a1), 2);
    mp_options_free(&o);
    char *a2[] = {"copy", "--jobs", "0"};
    assert_int_equal(mp_options_parse(&o, "copy", 3, a2), 2);
    mp_options_free(&o);
    char *a3[] = {"copy", "--map", "noequals"};
    assert_int_equal(mp_options_parse(&o, "copy", 3, a3), 2);
    mp_options_free(&o);
}

static void state_round_trip_and_validity_reset(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("state");
    char *path = mp_strf("%s/sub/state.sqlite", dir);
    char err[512];
    mp_state *s = mp_state_open(path, err, sizeof err);
    assert_non_null(s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    mp_state_reset reset = MP_STATE_VALID;
    int64_t f = mp_state_folder(s, "INBOX", 7, "INBOX", 1, &reset);
    assert_true(f >= 0);
    assert_false(reset);
    mp_state_row r = {"10", "abc", MP_FLAG_SEEN, "$Junk", "00ff", 0};
    assert_int_equal(mp_state_begin(s), 0);
    assert_int_equal(mp_state_put(s, f, &r), 0);
    assert_int_equal(mp_state_commit(s), 0);
    mp_state_close(s);

    s = mp_state_open(path, err, sizeof err);
    assert_int_equal(mp_state_folder(s, "INBOX", 7, "INBOX", 1, &reset), f);
    mp_state_row *rows;
    size_t n;
    assert_int_equal(mp_state_load(s, f, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].dst_key, "abc");
    assert_string_equal(rows[0].keywords, "$Junk");
    assert_int_equal(rows[0].flags, MP_FLAG_SEEN);
    mp_state_rows_free(rows, n);
    /* A new source UIDVALIDITY keeps the rows as orphans: the destination
     * message is still known to be synced (for --delete), its source key
     * no longer names it. */
    assert_int_equal(mp_state_folder(s, "INBOX", 8, "INBOX", 1, &reset), f);
    assert_int_equal(reset, MP_STATE_SRC_RESET);
    assert_int_equal(mp_state_load(s, f, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_true(rows[0].orphan);
    assert_string_equal(rows[0].dst_key, "abc");
    assert_string_equal(rows[0].src_key, "~orphan~abc");
    mp_state_rows_free(rows, n);
    /* A new destination validity drops them: its keys are void. */
    assert_int_equal(mp_state_folder(s, "INBOX", 8, "INBOX", 2, &reset), f);
    assert_int_equal(reset, MP_STATE_DST_RESET);
    assert_int_equal(mp_state_load(s, f, &rows, &n), 0);
    assert_int_equal(n, 0);
    mp_state_rows_free(rows, n);
    mp_state_close(s);
    mp_rm_rf(dir);
    free(path);
    free(dir);
}

static void default_state_path_is_per_pair(void **state)
{
    (void)state;
    setenv("XDG_STATE_HOME", "/x/state", 1);
    char *a = mp_state_default_path("imaps://u@h:0", "maildir://@:0/m");
    char *b = mp_state_default_path("imaps://u@h:0", "maildir://@:0/n");
    assert_true(strncmp(a, "/x/state/mailport/", 18) == 0);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(include_exclude_and_map),
        cmocka_unit_test(date_and_size_filters),
        cmocka_unit_test(bad_options_are_usage_errors),
        cmocka_unit_test(state_round_trip_and_validity_reset),
        cmocka_unit_test(default_state_path_is_per_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
