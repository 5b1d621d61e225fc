/* Planning: state first, then content identity, then copy the rest. */
#include "plan.h"
#include "testutil.h"

#include <string.h>

static void add(mp_msglist *l, const char *key, unsigned flags, const char *kw,
                int64_t date, uint64_t vsize, const char *identity)
{
    mp_msg_info i = {.struct_size = sizeof i,
                     .key = key,
                     .flags = flags,
                     .keywords = kw,
                     .internal_date = date,
                     .size = vsize,
                     .vsize = vsize,
                     .identity = identity};
    assert_int_equal(mp_msglist_collect(l, &i), MP_OK);
}

static void state_pairs_and_detects_flag_changes(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    add(&src, "1", MP_FLAG_SEEN, "", 100, 10, NULL);
    add(&src, "2", MP_FLAG_SEEN | MP_FLAG_FLAGGED, "$Junk", 100, 10, NULL);
    add(&src, "3", 0, "", 100, 10, NULL);
    add(&src, "4", 0, "", 100, 10, NULL); /* in state, but gone from dst */
    add(&dst, "a", MP_FLAG_SEEN, "", 100, 10, NULL);
    add(&dst, "b", MP_FLAG_SEEN, "", 100, 10, NULL);
    mp_state_row rows[] = {
        {"1", "a", MP_FLAG_SEEN, "", "", 0},
        {"2", "b", MP_FLAG_SEEN, "", "", 0},
        {"4", "zz", 0, "", "", 0},
    };
    for (size_t i = 0; i < 3; i++) {
        mp_msg_info info = {.struct_size = sizeof info, .key = rows[i].src_key};
        mp_msglist_collect(&idx, &info);
    }
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, rows, 3, &idx);
    assert_false(mp_plan_needs_identity(&p)); /* every dst claimed */
    mp_plan_finish(&p);
    assert_int_equal(p.entries[0].action, MP_PLAN_SKIP);
    assert_int_equal(p.entries[1].action, MP_PLAN_FLAGS);
    assert_int_equal(p.entries[1].dst, 1);
    assert_int_equal(p.entries[2].action, MP_PLAN_COPY);
    assert_int_equal(p.entries[3].action, MP_PLAN_COPY);
    assert_int_equal(p.n_copy, 2);
    assert_int_equal(p.n_skip, 1);
    assert_int_equal(p.n_flags, 1);
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
    mp_msglist_free(&idx);
}

static void identity_matches_without_merging_resends(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    /* Two distinct messages sharing a Message-ID (a resend): different dates.
     */
    add(&src, "1", 0, "", 100, 50, "M:x@y");
    add(&src, "2", 0, "", 200, 50, "M:x@y");
    add(&src, "3", MP_FLAG_SEEN, "", 300, 70, "H:abc");
    add(&src, "4", 0, "", 400, 70, "M:only-in-src");
    /* The destination holds the second resend and message 3 with other flags.
     */
    add(&dst, "d1", 0, "", 200, 50, "M:x@y");
    add(&dst, "d2", 0, "", 300, 70, "H:abc");
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, NULL, 0, &idx);
    assert_true(mp_plan_needs_identity(&p));
    mp_plan_by_identity(&p, &src, &dst, 1, NULL, NULL);
    mp_plan_finish(&p);
    assert_int_equal(p.entries[0].action, MP_PLAN_COPY);
    assert_int_equal(p.entries[1].action, MP_PLAN_SKIP);
    assert_int_equal(p.entries[1].dst, 0);
    assert_true(p.entries[1].record);
    assert_int_equal(p.entries[2].action, MP_PLAN_FLAGS);
    assert_int_equal(p.entries[3].action, MP_PLAN_COPY);
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
}

static void sizes_separate_same_id_same_date(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    add(&src, "1", 0, "", 100, 50, "M:x@y");
    add(&src, "2", 0, "", 100, 60, "M:x@y");
    add(&dst, "d", 0, "", 100, 60, "M:x@y");
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, NULL, 0, &idx);
    mp_plan_by_identity(&p, &src, &dst, 1, NULL, NULL);
    mp_plan_finish(&p);
    assert_int_equal(p.entries[0].action, MP_PLAN_COPY);
    assert_int_equal(p.entries[1].action, MP_PLAN_SKIP);
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
}

/* Two different messages with one identity (equal headers, no
 * Message-ID, same date and size: "quota 80%" / "quota 90%"), the state
 * lost, the destination holding only the first. The source lists the new
 * one first. Pairing by order would skip the new one and copy the old one
 * again; content hashes pair the right ones. */
static void shared_identity_pairs_by_content(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    add(&src, "new", 0, "", 100, 50, "H:quota");
    add(&src, "old", MP_FLAG_SEEN, "", 100, 50, "H:quota");
    add(&dst, "d-old", MP_FLAG_SEEN, "", 100, 50, "H:quota");
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, NULL, 0, &idx);
    char ws[2] = {0}, wd[1] = {0};
    assert_int_equal(mp_plan_ambiguous(&p, &src, &dst, 1, ws, wd), 3);
    assert_true(ws[0] && ws[1] && wd[0]);
    char sh[2][65] = {"aaaa", "bbbb"}, sl[2][65] = {"AAAA", "BBBB"};
    char dh[1][65] = {"bbbb"}, dl[1][65] = {"BBBB"};
    mp_plan_hashes hs = {sh, sl, NULL}, hd = {dh, dl, NULL};
    mp_plan_by_identity(&p, &src, &dst, 1, &hs, &hd);
    mp_plan_finish(&p);
    assert_int_equal(p.entries[0].action, MP_PLAN_COPY);
    assert_int_equal(p.entries[1].action, MP_PLAN_SKIP);
    assert_int_equal(p.entries[1].dst, 0);
    assert_int_equal(p.n_copy, 1);
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
}

/* Fault 1 of tests/model/FAULTS.md without a state: the source holds only
 * the new quota warning, the destination only the old one's copy, with
 * one header (no Message-ID), date and size. A header-hash identity is
 * confirmed by content even 1:1, so the new one is copied; a Message-ID
 * match with equal date and size is trusted as it is. */
static void header_identity_is_confirmed_by_content(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    add(&src, "new", 0, "", 100, 50, "H:quota");
    add(&src, "id", 0, "", 100, 50, "M:a@b");
    add(&dst, "d-old", MP_FLAG_SEEN, "", 100, 50, "H:quota");
    add(&dst, "d-id", 0, "", 100, 50, "M:a@b");
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, NULL, 0, &idx);
    char ws[2] = {0}, wd[2] = {0};
    assert_int_equal(mp_plan_ambiguous(&p, &src, &dst, 1, ws, wd), 2);
    assert_true(ws[0] && wd[0] && !ws[1] && !wd[1]);
    char sh[2][65] = {"new", ""}, sl[2][65] = {"NEW", ""};
    char dh[2][65] = {"old", ""}, dl[2][65] = {"OLD", ""};
    mp_plan_hashes hs = {sh, sl, NULL}, hd = {dh, dl, NULL};
    mp_plan_by_identity(&p, &src, &dst, 1, &hs, &hd);
    mp_plan_finish(&p);
    assert_int_equal(p.entries[0].action, MP_PLAN_COPY);
    assert_int_equal(p.entries[1].action, MP_PLAN_SKIP);
    assert_int_equal(p.entries[1].dst, 1);
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
}

/* A copy the server altered (other size, other strict hash, same loose
 * hash) is the same message: paired, never copied again. A different
 * message of that identity and date is not. */
static void altered_copy_pairs_by_loose_hash(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    add(&src, "1", 0, "", 100, 50, "H:nul");
    add(&src, "2", 0, "", 200, 50, "H:other");
    add(&dst, "d1", 0, "", 100, 49, "H:nul");
    add(&dst, "d2", 0, "", 200, 48, "H:other");
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, NULL, 0, &idx);
    char ws[2] = {0}, wd[2] = {0};
    assert_int_equal(mp_plan_ambiguous(&p, &src, &dst, 1, ws, wd), 4);
    char sh[2][65] = {"s1", "s2"}, sl[2][65] = {"L1", "L2"};
    char dh[2][65] = {"x1", "x2"}, dl[2][65] = {"L1", "L9"};
    mp_plan_hashes hs = {sh, sl, NULL}, hd = {dh, dl, NULL};
    mp_plan_by_identity(&p, &src, &dst, 1, &hs, &hd);
    mp_plan_finish(&p);
    assert_int_equal(p.entries[0].action, MP_PLAN_SKIP);
    assert_int_equal(p.entries[1].action, MP_PLAN_COPY);
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
}

/* --delete removes destination messages whose source is gone: rows whose
 * source key vanished, and orphan rows (the source's validity changed)
 * that no source message claimed again by content. A filtered source
 * message still protects its copy; a destination message no row names
 * (the user's own) is never removed. */
static void removals_follow_the_state(void **state)
{
    (void)state;
    mp_msglist src = {0}, dst = {0}, idx = {0};
    add(&src, "1", 0, "", 100, 10, NULL);
    add(&src, "2", 0, "", 100, 10, NULL); /* filtered */
    add(&dst, "a", 0, "", 100, 10, NULL);
    add(&dst, "b", 0, "", 100, 10, NULL);
    add(&dst, "c", 0, "", 100, 10, NULL); /* source 3 deleted */
    add(&dst, "d", 0, "", 100, 10, NULL); /* orphan, unclaimed */
    add(&dst, "mine", 0, "", 100, 10, NULL);
    mp_state_row rows[] = {
        {"1", "a", 0, "", "", 0},
        {"2", "b", 0, "", "", 0},
        {"3", "c", 0, "", "", 0},
        {"~orphan~d", "d", 0, "", "", 1},
    };
    for (size_t i = 0; i < 3; i++) {
        mp_msg_info info = {.struct_size = sizeof info, .key = rows[i].src_key};
        mp_msglist_collect(&idx, &info);
    }
    mp_plan p;
    mp_plan_init(&p, &src, &dst);
    mp_plan_by_state(&p, &src, &dst, rows, 4, &idx);
    mp_plan_filter_out(&p, 1);
    mp_plan_finish(&p);
    mp_plan_removals(&p, &src, &dst, rows, 4);
    assert_int_equal(p.n_filtered, 1);
    assert_int_equal(p.n_removals, 2);
    assert_string_equal(rows[p.removals[0]].dst_key, "c");
    assert_string_equal(rows[p.removals[1]].dst_key, "d");
    mp_plan_free(&p);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
    mp_msglist_free(&idx);
}

static void keywords_compare_as_sets(void **state)
{
    (void)state;
    assert_true(mp_flags_equal(1, "a b", 1, "b a"));
    assert_false(mp_flags_equal(1, "a b", 1, "a"));
    assert_false(mp_flags_equal(1, "", 3, ""));
    assert_true(mp_flags_equal(0, NULL, 0, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(state_pairs_and_detects_flag_changes),
        cmocka_unit_test(identity_matches_without_merging_resends),
        cmocka_unit_test(sizes_separate_same_id_same_date),
        cmocka_unit_test(keywords_compare_as_sets),
        cmocka_unit_test(shared_identity_pairs_by_content),
        cmocka_unit_test(header_identity_is_confirmed_by_content),
        cmocka_unit_test(altered_copy_pairs_by_loose_hash),
        cmocka_unit_test(removals_follow_the_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
