/* Incremental, resumable, verifiable sync between local stores, driven
 * through the mailport binary as a user would, checked with an independent
 * Maildir reader (maildir_walk.c). */
#include "maildir_walk.h"
#include "sync_check.h"

extern char **environ;
#include "testutil.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"
#define MARKER_SETTLE                                                          \
    2 /* MP_MARKER_SETTLE_SECONDS in plugins/common/marker.h */

typedef sync_fixture fixture;

static int setup(void **state)
{
    return sync_fixture_setup(state, "sync");
}

#define teardown sync_fixture_teardown
#define path_of sync_path_of
#define copy_with sync_fixture_copy

#define assert_counts sync_assert_counts

static void incremental_runs_pick_up_new_messages_and_flags(void **state)
{
    fixture *f = *state;
    char *rep = copy_with(f, 0, NULL, NULL);
    assert_counts(rep, 5, 0, 0, 0);
    assert_contains(rep,
                    "\"folders\": [\n  {\"name\": \"INBOX\", \"copied\": 5");
    assert_contains(rep, "\"errors\": []");
    free(rep);
    walked_dir s = walk_maildir(path_of(f->src));
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 5);
    assert_true(walked_same_contents(&s, &d));
    walked_free(&d);

    /* A no-op re-run copies nothing. */
    rep = copy_with(f, 0, NULL, NULL);
    assert_counts(rep, 0, 5, 0, 0);
    free(rep);

    /* A new message and a flag change on the source. */
    char *newmsg = mp_strf("%s/cur/1700000000.new1.host:2,S", path_of(f->src));
    const char *text = "From: x@example.org\nMessage-ID: <new1@example.org>\n"
                       "Subject: new\n\nhello\n";
    mp_write_file(newmsg, text, strlen(text));
    walked_msg *changed = NULL;
    for (size_t i = 0; i < s.n; i++)
        if (strcmp(s.v[i].flags, "S") == 0)
            changed = &s.v[i];
    assert_non_null(changed);
    walked_set_flags(changed, "FS");
    rep = copy_with(f, 0, NULL, NULL);
    assert_counts(rep, 1, 4, 1, 0);
    free(rep);
    d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 6);
    long k = walked_find_hash(&d, changed->hash);
    assert_true(k >= 0);
    assert_string_equal(d.v[k].flags, "FS");
    walked_free(&d);

    /* Losing the state database makes no duplicates: content identity. */
    assert_int_equal(unlink(f->state), 0);
    rep = copy_with(f, 0, NULL, NULL);
    assert_counts(rep, 0, 6, 0, 0);
    free(rep);
    d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 6);
    walked_free(&d);
    walked_free(&s);
    free(newmsg);
}

static void prepopulated_destination_gets_only_the_rest(void **state)
{
    fixture *f = *state;
    /* Part of the mail is there already, copied by an earlier tool run. */
    char *rep = copy_with(f, 0, "--since", "2024-03-06");
    assert_counts(rep, 2, 0, 0, 0);
    assert_contains(rep, "\"filtered\": 3");
    free(rep);
    assert_int_equal(unlink(f->state), 0);
    rep = copy_with(f, 0, NULL, NULL);
    assert_counts(rep, 3, 2, 0, 0);
    free(rep);
    walked_dir s = walk_maildir(path_of(f->src));
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_true(walked_same_contents(&s, &d));
    walked_free(&s);
    walked_free(&d);
}

static void dry_run_changes_nothing(void **state)
{
    fixture *f = *state;
    mp_run_result r =
        mp_run("copy", f->src, f->dst, "--dry-run", "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(
        r.out,
        "INBOX -> INBOX: 5 to copy, 0 flag updates, 0 to remove, 0 present");
    mp_run_free(&r);
    assert_false(mp_file_exists(path_of(f->dst)));
    assert_false(mp_file_exists(f->state));

    char *rep = copy_with(f, 0, "--before", "2024-03-05");
    assert_counts(rep, 2, 0, 0, 0);
    free(rep);
    r = mp_run("copy", f->src, f->dst, "--dry-run", "-v", "-v", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(
        r.out,
        "INBOX -> INBOX: 3 to copy, 0 flag updates, 0 to remove, 2 present");
    assert_contains(r.out, "  copy  ");
    mp_run_free(&r);
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 2);
    walked_free(&d);
}

static void verify_finds_missing_altered_and_reflagged(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    mp_run_result r = mp_run("verify", f->src, f->dst, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err,
                    "verified 5 messages in 1 folders: 0 missing, 0 different");
    mp_run_free(&r);

    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 5);
    assert_int_equal(unlink(d.v[0].path), 0);
    /* One altered byte, same size, in the body of another: a letter's case
     * flipped (flipping 0x20 of just any byte could make a line break of
     * '-' or a NUL of a blank, which is another kind of difference). */
    size_t len;
    char *data = mp_read_file(d.v[1].path, &len);
    size_t at = len - 2;
    while (at > 0 && !((data[at] >= 'a' && data[at] <= 'z') ||
                       (data[at] >= 'A' && data[at] <= 'Z')))
        at--;
    data[at] ^= 0x20;
    mp_write_file(d.v[1].path, data, len);
    free(data);
    /* Keep the mtime (the internal date), as a corruption on disk would. */
    struct timespec times[2] = {{d.v[1].mtime, 0}, {d.v[1].mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, d.v[1].path, times, 0), 0);
    walked_set_flags(&d.v[2], strcmp(d.v[2].flags, "T") ? "T" : "S");

    char *rpath = mp_strf("%s/verify.json", f->dir);
    r = mp_run("verify", f->src, f->dst, "--report", rpath, NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "missing      INBOX");
    assert_contains(r.out, "different    INBOX");
    assert_contains(r.out, "flags_differ INBOX");
    /* Flag names as IMAP writes them, one backslash (it was shown doubled,
     * as an escaped folder name would be). */
    assert_true(strstr(r.out, "destination \\Deleted") ||
                strstr(r.out, "destination \\Seen"));
    assert_null(strstr(r.out, "\\\\"));
    assert_contains(r.err, "1 missing, 1 different, 1 with other flags");
    mp_run_free(&r);
    char *json = mp_read_file(rpath, NULL);
    assert_contains(json, "{\"checked\": 5");
    assert_contains(json, "\"missing\": [{\"folder\": \"INBOX\"");
    free(json);
    free(rpath);
    walked_free(&d);
}

static void filters_select_exactly(void **state)
{
    fixture *f = *state;
    /* A source with folders INBOX, Lists/dev, Lists/spam and Sent. */
    const char *folders[] = {"Lists/dev", "Lists/spam", "Sent"};
    for (size_t i = 0; i < 3; i++) {
        char *map = mp_strf("INBOX=%s", folders[i]);
        mp_run_result r = mp_run("copy", "mbox:" SAMPLE, f->src, "--map", map,
                                 "--no-state", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        free(map);
    }
    mp_run_result r = mp_run("list", f->src, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "Lists/dev");
    assert_non_null(strstr(r.out, "(total)"));
    unsigned total = 0;
    assert_int_equal(sscanf(strstr(r.out, "(total)"), "(total) %u", &total), 1);
    assert_int_equal(total, 20);
    mp_run_free(&r);

    char *rep = copy_with(f, 0, "--include", "Lists*");
    free(rep);
    mp_run_free(&r);
    r = mp_run("copy", f->src, f->dst, "--state", f->state, "--include",
               "Lists*", "--exclude", "Lists/spam", "--map", "Lists/dev=Dev",
               "--max-size", "500", "--report", f->report, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    rep = mp_read_file(f->report, NULL);
    assert_counts(rep, 3, 0, 0, 0);
    assert_contains(rep, "\"filtered\": 2");
    free(rep);
    char *dev = mp_strf("%s/.Dev", path_of(f->dst));
    walked_dir d = walk_maildir(dev);
    assert_int_equal(d.n, 3);
    for (size_t i = 0; i < d.n; i++)
        assert_true(d.v[i].size <= 500);
    walked_free(&d);
    /* The first run (--include Lists*) made Lists/dev and Lists/spam. */
    char *spam = mp_strf("%s/.Lists.spam/cur", path_of(f->dst));
    char *sent = mp_strf("%s/.Sent", path_of(f->dst));
    assert_true(mp_file_exists(spam));
    assert_false(mp_file_exists(sent));
    d = walk_maildir(path_of(f->dst)); /* INBOX was never selected */
    assert_int_equal(d.n, 0);
    walked_free(&d);
    free(dev);
    free(spam);
    free(sent);
}

static void report_and_errors_name_what_failed(void **state)
{
    fixture *f = *state;
    char *bad = mp_strf("%s?bogus=1", f->dst);
    mp_run_result r = mp_run("copy", f->src, bad, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown parameter \"bogus\"");
    mp_run_free(&r);
    r = mp_run("copy", f->src, "nosuch:/x", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "no plugin serves \"nosuch:\" URLs");
    mp_run_free(&r);
    r = mp_run("copy", f->src, NULL);
    assert_int_equal(r.exit_code, 2);
    mp_run_free(&r);
    r = mp_run("frobnicate", NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown command \"frobnicate\"");
    mp_run_free(&r);
    r = mp_run("copy", "--help", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "--include GLOB");
    mp_run_free(&r);
    r = mp_run("--version", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "mailport ");
    mp_run_free(&r);
    free(bad);
}

static void batch_runs_jobs_and_shards(void **state)
{
    fixture *f = *state;
    char *jobs = mp_strf("%s/jobs", f->dir);
    char *text =
        mp_strf("# two backups of one source\n"
                "%s %s/a --no-state\n"
                "\n"
                "'%s' \"%s/b\" --no-state --before 2024-03-05  # two\n",
                f->src, f->dst, f->src, f->dst);
    mp_write_file(jobs, text, strlen(text));
    chmod(jobs, 0600);
    /* A directory is not a job file: a usage error, not "0 jobs". */
    mp_run_result r = mp_run("batch", f->dir, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "is a directory");
    mp_run_free(&r);
    r = mp_run("batch", jobs, "--shard", "1/2", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "batch ran 1 job");
    mp_run_free(&r);
    walked_dir a = walk_maildir(mp_strf("%s/a", path_of(f->dst)));
    walked_dir b = walk_maildir(mp_strf("%s/b", path_of(f->dst)));
    assert_int_equal(a.n, 0);
    assert_int_equal(b.n, 2);
    walked_free(&a);
    walked_free(&b);
    r = mp_run("batch", jobs, "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    a = walk_maildir(mp_strf("%s/a", path_of(f->dst)));
    assert_int_equal(a.n, 5);
    walked_free(&a);

    /* An imapsync-style line holds passwords: refused if others can read. */
    const char *legacy =
        "old.example.org;alice;pw1;new.example.org;alice;pw2\n";
    mp_write_file(jobs, legacy, strlen(legacy));
    chmod(jobs, 0644);
    r = mp_run("batch", jobs, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "holds passwords and is readable by other users");
    assert_null(strstr(r.err, "pw1"));
    mp_run_free(&r);
    r = mp_run("batch", jobs, "--shard", "3/2", NULL);
    assert_int_equal(r.exit_code, 2);
    mp_run_free(&r);
    free(jobs);
    free(text);
}

/* Deletions reach the destination only with --delete, and only for
 * messages an earlier run copied; the source is never touched. */
static void deletions_propagate_only_with_delete(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    /* Mail the user keeps only in the destination must survive --delete. */
    char *own = mp_strf("%s/cur/1700000001.own.host:2,S", path_of(f->dst));
    const char *text =
        "From: me@example.org\nMessage-ID: <own@example.org>\n\nmine\n";
    mp_write_file(own, text, strlen(text));
    walked_dir s = walk_maildir(path_of(f->src));
    char gone_hash[65];
    memcpy(gone_hash, s.v[0].hash, sizeof gone_hash);
    assert_int_equal(unlink(s.v[0].path), 0);
    walked_free(&s);

    char *rep = copy_with(f, 0, NULL, NULL); /* without --delete: kept */
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 6);
    walked_free(&d);

    rep = copy_with(f, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 5);
    assert_true(walked_find_hash(&d, gone_hash) < 0);
    assert_true(mp_file_exists(own));
    walked_free(&d);
    s = walk_maildir(path_of(f->src));
    assert_int_equal(s.n, 4);
    walked_free(&s);
    free(own);
}

/* Two runs on one sync state would plan against each other: the second is
 * refused while the first lives, even into another destination. */
static void a_second_run_on_the_same_state_is_refused(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    char *argv[] = {(char *)bin, "copy",   src,  f->dst,
                    "--state",   f->state, "-q", NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
    /* Wait until the first run has registered (its first message shows). */
    while (sync_count_messages(path_of(f->dst)) == 0)
        usleep(2000);
    /* Another destination (else the destination lock answers first). */
    char *dst2 = mp_strf("maildir:%s/dst2", f->dir);
    mp_run_result r = mp_run("copy", src, dst2, "--state", f->state, NULL);
    free(dst2);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "is using the sync state");
    assert_contains(r.err, "wait for it to finish");
    mp_run_free(&r);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(src);
}

/* Once a run finds a folder in sync, the next runs skip it without
 * scanning as long as neither side changes (change markers). */
static void unchanged_folders_are_skipped_until_something_changes(void **state)
{
    fixture *f = *state;
    char *src_file = mp_strf("%s/in.mbox", f->dir);
    size_t len;
    char *sample = mp_read_file(SAMPLE, &len);
    mp_write_file(src_file, sample, len);
    char *src = mp_strf("mbox:%s", src_file);
    char *dst = mp_strf("mbox:%s/out.mbox", f->dir);
    free(sync_copy(src, dst, f->state, f->report, 0, NULL));
    /* Markers are trusted only for files untouched for a while. */
    sleep(MARKER_SETTLE + 1);
    char *rep = sync_copy(src, dst, f->state, f->report, 0, "-vv", NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    mp_run_result r = mp_run("copy", src, dst, "--state", f->state, "--report",
                             f->report, "-vv", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(
        r.err, "folder INBOX: unchanged on both sides since the last sync");
    mp_run_free(&r);
    rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    /* Another selection is not the same plan: no skip. */
    r = mp_run("copy", src, dst, "--state", f->state, "--since", "2024-03-05",
               "-vv", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_null(strstr(r.err, "unchanged on both sides"));
    mp_run_free(&r);
    /* New mail in the source: the marker moves, the message is copied. */
    const char *more = "\nFrom x@example.org Sat Mar  9 10:00:00 2024\n"
                       "Message-ID: <more@example.org>\n\nmore\n";
    char *grown = mp_strf("%s%s", sample, more);
    mp_write_file(src_file, grown, strlen(grown));
    rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 1, 5, 0, 0);
    free(rep);
    free(grown);
    free(sample);
    free(src_file);
    free(src);
    free(dst);
}

/* The same for Maildirs, where a flag change is a rename inside cur/. */
static void unchanged_maildirs_are_skipped_until_a_flag_changes(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    sleep(MARKER_SETTLE + 1);
    free(copy_with(f, 0, NULL, NULL)); /* finds it in sync: records */
    mp_run_result r = mp_run("copy", f->src, f->dst, "--state", f->state,
                             "--report", f->report, "-vv", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "unchanged on both sides");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    walked_dir s = walk_maildir(path_of(f->src));
    walked_set_flags(&s.v[0], "FS");
    walked_free(&s);
    rep = copy_with(f, 0, NULL, NULL);
    sync_assert_counts(rep, 0, 4, 1, 0);
    free(rep);
}

/* ------------------------------------------------------------------------ */
/* kill -9 at random moments, then the same command again.                   */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void kill_nine_then_resume_gives_every_message_once(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    char *clean = mp_strf("maildir:%s/clean", f->dir);
    /* A clean run: the reference set, and how long a whole run takes. */
    double t0 = now();
    mp_run_result r = mp_run("copy", src, clean, "--no-state", "-q", NULL);
    double whole = now() - t0;
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);

    walked_dir want = walk_maildir(path_of(clean));
    assert_true(want.n > 3000);
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("kill -9 trials, seed %u, whole run %.2fs\n", seed, whole);
    /* Each trial is killed when a random share of what is left has become
     * visible, so every kill lands inside a run that has work to do. */
    int killed_mid_run = 0;
    for (int trial = 0; trial < 4; trial++) {
        size_t before = sync_count_messages(path_of(f->dst));
        size_t left = want.n - before;
        size_t target =
            before + 1 +
            (size_t)((left - 1) * (0.05 + 0.6 * rand() / (double)RAND_MAX));
        int killed =
            sync_copy_killed_at(src, f->dst, f->state, path_of(f->dst), target);
        killed_mid_run += killed;
        printf("  trial %d: %s at %zu of %zu messages visible (aimed at %zu)\n",
               trial, killed ? "killed" : "had finished",
               sync_count_messages(path_of(f->dst)), want.n, target);
    }
    assert_true(killed_mid_run >= 3);
    r = mp_run("copy", src, f->dst, "--state", f->state, "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    walked_dir got = walk_maildir(path_of(f->dst));
    assert_int_equal(got.n, want.n);
    assert_true(walked_same_contents(&want, &got));
    walked_free(&want);
    walked_free(&got);
    /* And the state agrees: nothing left to do. */
    r = mp_run("copy", src, f->dst, "--state", f->state, "--report", f->report,
               "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    assert_contains(rep, "{\"copied\": 0,");
    free(rep);
    free(src);
    free(clean);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            incremental_runs_pick_up_new_messages_and_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(
            prepopulated_destination_gets_only_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            verify_finds_missing_altered_and_reflagged, setup, teardown),
        cmocka_unit_test_setup_teardown(filters_select_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(report_and_errors_name_what_failed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(batch_runs_jobs_and_shards, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(deletions_propagate_only_with_delete,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_second_run_on_the_same_state_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            unchanged_folders_are_skipped_until_something_changes, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            unchanged_maildirs_are_skipped_until_a_flag_changes, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            kill_nine_then_resume_gives_every_message_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
