/* Trust across passes (issue 13): copy, --delete, --dry-run and verify
 * agree on one sync model (docs/sync-model.md). Each test replays one kind
 * of fault found from outside, through the mailport binary as a user
 * would, checked with an independent Maildir reader (maildir_walk.c). */
#include "maildir_walk.h"
#include "sync_check.h"

#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SAMPLE MP_TEST_SOURCE_DIR "/examples/sample.mbox"
#define MARKER_SETTLE                                                          \
    2 /* MP_MARKER_SETTLE_SECONDS in plugins/common/marker.h */

typedef sync_fixture fixture;

static int setup(void **state)
{
    return sync_fixture_setup(state, "passes");
}

#define teardown sync_fixture_teardown
#define path_of sync_path_of
#define copy_with sync_fixture_copy

/* The report's first line: the totals, up to and including "removed". */
static char *totals_of(const char *report)
{
    const char *end = strstr(report, "\"removed\": ");
    assert_non_null(end);
    end += strcspn(end, ",\n");
    return mp_strf("%.*s", (int)(end - report), report);
}

/* Remove the source message whose file holds NEEDLE; returns the content
 * hash it had. */
static void unlink_source_message(fixture *f, const char *needle, char hash[65])
{
    walked_dir s = walk_maildir(path_of(f->src));
    for (size_t i = 0; i < s.n; i++) {
        char *text = mp_read_file(s.v[i].path, NULL);
        int hit = strstr(text, needle) != NULL;
        free(text);
        if (hit) {
            memcpy(hash, s.v[i].hash, 65);
            assert_int_equal(unlink(s.v[i].path), 0);
            walked_free(&s);
            return;
        }
    }
    fail_msg("no source message holds %s", needle);
}

/* 13.1: a message deleted on the source before a pass that found the folder
 * otherwise in sync is still removed by the final --delete pass, although
 * the change markers say the folder is unchanged since that pass. */
static void delete_after_an_in_sync_pass_still_removes(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    char gone[65];
    unlink_source_message(f, "club-2@example.org", gone);
    sleep(MARKER_SETTLE + 1); /* markers are trusted only once settled */
    char *rep = copy_with(f, 0, NULL, NULL); /* in sync but for a removal */
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    mp_run_result r =
        mp_run("copy", f->src, f->dst, "--state", f->state, "--dry-run", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "1 destination message whose source is gone would "
                           "be removed with --delete");
    mp_run_free(&r);

    rep = copy_with(f, 0, "--delete", "-vv");
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    assert_contains(rep, "{\"name\": \"INBOX\", \"copied\": 0, \"skipped\": 4");
    free(rep);
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 4);
    assert_true(walked_find_hash(&d, gone) < 0);
    walked_free(&d);

    /* The next --delete pass has nothing left to remove, and says so. */
    rep = copy_with(f, 0, "--delete", NULL);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    r = mp_run("verify", f->src, f->dst, "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "0 missing, 0 different, 0 with other flags, 0 "
                           "unreadable, 0 duplicated, 0 extra");
    mp_run_free(&r);
}

/* Write the sample's messages but the one holding SKIP (NULL: all) as a
 * fresh mbox file at PATH (a new inode: to mailport, a reset folder). */
static void write_sample_mbox(const char *path, const char *skip)
{
    char *sample = mp_read_file(SAMPLE, NULL);
    char *out = calloc(1, strlen(sample) + 1);
    size_t n = 0;
    for (char *m = sample; *m;) {
        char *next = strstr(m + 1, "\n\nFrom ");
        size_t len = next ? (size_t)(next - m) + 2 : strlen(m);
        char *msg = mp_strf("%.*s", (int)len, m);
        if (!skip || !strstr(msg, skip)) {
            memcpy(out + n, msg, len);
            n += len;
        }
        free(msg);
        m += len;
    }
    char *tmp = mp_strf("%s.new", path);
    mp_write_file(tmp, out, n);
    assert_int_equal(rename(tmp, path), 0);
    free(tmp);
    free(out);
    free(sample);
}

/* 13.1: after the source folder was reset (UIDVALIDITY change; for an mbox,
 * a new file), --delete still removes the copy of the message that vanished
 * with the reset, and keeps the others (found again by content). */
static void delete_after_the_source_was_reset(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/in.mbox", f->dir);
    write_sample_mbox(file, NULL);
    char *src = mp_strf("mbox:%s", file);
    char *rep = sync_copy(src, f->dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 5, 0, 0, 0);
    free(rep);
    write_sample_mbox(file, "club-2@example.org");
    rep = sync_copy(src, f->dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 4);
    for (size_t i = 0; i < d.n; i++) {
        char *text = mp_read_file(d.v[i].path, NULL);
        assert_null(strstr(text, "club-2@example.org>\n"));
        free(text);
    }
    walked_free(&d);
    mp_run_result r = mp_run("verify", src, f->dst, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 4 messages");
    assert_contains(r.err, "0 duplicated, 0 extra");
    mp_run_free(&r);
    free(src);
    free(file);
}

/* 13.1: a folder deleted on the source. --delete removes what earlier runs
 * copied from it (a dry run counts it first), and only that: a message
 * the user put in that destination folder stays, as does the folder;
 * without --delete nothing is removed; a folder the run's --exclude
 * leaves out is not touched. */
static void delete_empties_folders_gone_from_the_source(void **state)
{
    fixture *f = *state;
    char *root = mp_strf("%s/gone", f->dir);
    char *src = mp_strf("maildir:%s", root);
    char *dpath = mp_strf("%s/gone-dst", f->dir);
    char *dst = mp_strf("maildir:%s", dpath);
    const char *folders[] = {"", "/.Old", "/.Kept"};
    for (int k = 0; k < 3; k++)
        mp_sh("mkdir -p '%s%s/cur' '%s%s/new' '%s%s/tmp'", root, folders[k],
              root, folders[k], root, folders[k]);
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++) {
            char *p = mp_strf("%s%s/cur/17095428%d%d.m.host:2,S", root,
                              folders[k], k, i);
            char *m = mp_strf("Message-ID: <gone.%d.%d@example.org>\n"
                              "Subject: %d %d\n\nbody\n",
                              k, i, k, i);
            mp_write_file(p, m, strlen(m));
            free(m);
            free(p);
        }
    char *rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 6, 0, 0, 0);
    free(rep);
    /* The user's own message in the destination's Old folder. */
    char *mine = mp_strf("%s/.Old/cur/1709999999.mine.host:2,S", dpath);
    mp_write_file(mine, "Subject: mine\n\nkeep me\n", 24);
    mp_sh("rm -rf '%s/.Old' '%s/.Kept'", root, root);
    char *old = mp_strf("%s/.Old", dpath), *kept = mp_strf("%s/.Kept", dpath);
    rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    free(rep);
    assert_int_equal(sync_count_messages(old), 3);
    /* A dry run without --delete says what --delete would remove there
     * (the fresh tester's case 3), and counts none of it. */
    mp_run_result r = mp_run("copy", src, dst, "--state", f->state, "--dry-run",
                             "--report", f->report, (char *)NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "Old -> Old: gone from the source: 2 destination "
                           "messages copied from it would be removed with "
                           "--delete");
    assert_contains(r.out, "Kept -> Kept: gone from the source: 2");
    mp_run_free(&r);
    rep = mp_read_file(f->report, NULL);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    r = mp_run("copy", src, dst, "--state", f->state, "--delete", "--dry-run",
               "--exclude", "Kept", (char *)NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out,
                    "Old -> Old: 0 to copy, 0 flag updates, 2 to remove");
    assert_null(strstr(r.out, "Kept ->"));
    mp_run_free(&r);
    assert_int_equal(sync_count_messages(old), 3);
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", "--exclude",
                    "Kept", NULL);
    assert_contains(rep, "\"removed\": 2");
    free(rep);
    assert_int_equal(sync_count_messages(old), 1);
    assert_true(mp_file_exists(mine));
    assert_int_equal(sync_count_messages(kept), 2);
    assert_int_equal(sync_count_messages(dpath), 2);
    /* Once emptied, a later --delete finds nothing more to remove. */
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", NULL);
    assert_contains(rep, "\"removed\": 2"); /* Kept's, now selected */
    free(rep);
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", NULL);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    assert_int_equal(sync_count_messages(kept), 0);
    assert_int_equal(sync_count_messages(old), 1);
    free(old);
    free(kept);
    free(mine);
    free(dst);
    free(dpath);
    free(src);
    free(root);
}

/* 13.1 (found while fixing 13.4): a folder renamed on the source and
 * mapped back to its old destination folder (--map NEW=OLD). The pair of
 * the old name is gone from the source, but its copies are the new
 * folder's messages: a --delete pass removes only the copy of the message
 * deleted meanwhile, not the copies of the renamed folder (it removed all
 * of them, counting them "already present" at the same time). A dry run
 * plans the same. */
static void a_renamed_folder_mapped_back_keeps_its_copies(void **state)
{
    fixture *f = *state;
    char *root = mp_strf("%s/ren", f->dir);
    char *src = mp_strf("maildir:%s", root);
    char *dpath = mp_strf("%s/ren-dst", f->dir);
    char *dst = mp_strf("maildir:%s", dpath);
    mp_sh("mkdir -p '%1$s/cur' '%1$s/new' '%1$s/tmp' '%1$s/.A/cur' "
          "'%1$s/.A/new' '%1$s/.A/tmp'",
          root);
    for (int i = 0; i < 4; i++) {
        char *p = mp_strf("%s/.A/cur/170954280%d.m.host:2,S", root, i);
        char *m = mp_strf("Message-ID: <ren.%d@example.org>\nSubject: %d\n\n"
                          "body %d\n",
                          i, i, i);
        mp_write_file(p, m, strlen(m));
        free(m);
        free(p);
    }
    char *rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 4, 0, 0, 0);
    free(rep);
    mp_sh("mv '%1$s/.A' '%1$s/.B' && rm '%1$s/.B/cur/1709542800.m.host:2,S'",
          root);
    char *a = mp_strf("%s/.A", dpath);
    mp_run_result r = mp_run("copy", src, dst, "--state", f->state, "--delete",
                             "--map", "B=A", "--dry-run", (char *)NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "B -> A: 0 to copy, 0 flag updates, 1 to remove, "
                           "3 present");
    assert_contains(r.err, "would copy 0 (0 bytes), update flags of 0, "
                           "remove 1; already present 3");
    mp_run_free(&r);
    assert_int_equal(sync_count_messages(a), 4);
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", "--map",
                    "B=A", NULL);
    sync_assert_counts(rep, 0, 3, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    assert_int_equal(sync_count_messages(a), 3);
    r = mp_run("verify", src, dst, "--map", "B=A", "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 3 messages");
    mp_run_free(&r);
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", "--map",
                    "B=A", NULL);
    sync_assert_counts(rep, 0, 3, 0, 0);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    assert_int_equal(sync_count_messages(a), 3);
    free(a);
    free(dst);
    free(dpath);
    free(src);
    free(root);
}

/* A source message file with FLAGS (Maildir info letters) renamed in. */
static void set_first_flags(fixture *f, const char *flags)
{
    walked_dir s = walk_maildir(path_of(f->src));
    walked_set_flags(&s.v[0], flags);
    walked_free(&s);
}

/* 13: a dry run plans exactly as the real run that follows it: the same
 * copies, flag updates and removals, in the same report keys. */
static void dry_run_counts_equal_the_real_run(void **state)
{
    fixture *f = *state;
    char *first = copy_with(f, 0, "--before", "2024-03-05"); /* 2 of 5 */
    /* Each folder's counts add up to its messages: filtered ones too. */
    assert_contains(first, "{\"name\": \"INBOX\", \"copied\": 2, "
                           "\"skipped\": 0, \"failed\": 0, "
                           "\"flags_updated\": 0, \"filtered\": 3, "
                           "\"removed\": 0, ");
    free(first);
    free(copy_with(f, 0, NULL, NULL)); /* the rest */
    char gone[65];
    unlink_source_message(f, "club-1@example.org", gone);
    set_first_flags(f, "FRS");
    const char *text = "From: new@example.org\nMessage-ID: <new@example.org>\n"
                       "Subject: new\n\nnew mail\n";
    char *path = mp_strf("%s/src/new/1710000000.new.host", f->dir);
    mp_write_file(path, text, strlen(text));
    free(path);

    char *planned = mp_strf("%s/planned.json", f->dir);
    mp_run_result r =
        mp_run("copy", f->src, f->dst, "--state", f->state, "--delete",
               "--dry-run", "--report", planned, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "INBOX -> INBOX: 1 to copy, 1 flag updates, 1 to "
                           "remove, 3 present");
    assert_contains(r.err, "dry run, nothing changed: would copy 1");
    mp_run_free(&r);
    walked_dir d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 5); /* nothing changed */
    walked_free(&d);

    char *done = copy_with(f, 0, "--delete", NULL);
    char *plan_text = mp_read_file(planned, NULL);
    char *want = totals_of(plan_text), *got = totals_of(done);
    assert_string_equal(want, got);
    assert_contains(got, "{\"copied\": 1, \"skipped\": 3, \"flags_updated\": "
                         "1, \"failed\": 0,");
    assert_contains(got, "\"removed\": 1");
    free(want);
    free(got);
    free(plan_text);
    free(done);
    free(planned);
    d = walk_maildir(path_of(f->dst));
    assert_int_equal(d.n, 5);
    assert_true(walked_find_hash(&d, gone) < 0);
    walked_free(&d);
}

/* 13.4: two runs into one destination at once, even with different --state
 * files, would store messages twice; the second is refused, and its error
 * does not advise anything that makes duplicates. */
static void a_second_run_into_the_same_destination_is_refused(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    char *argv[] = {(char *)bin, "copy",   src,  f->dst,
                    "--state",   f->state, "-q", NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
    while (sync_count_messages(path_of(f->dst)) == 0)
        usleep(2000);
    char *other = mp_strf("%s/other.sqlite", f->dir);
    /* The same directory spelled another way is the same destination. */
    char *respelled = mp_strf("maildir:%s/./dst/", f->dir);
    mp_run_result r = mp_run("copy", src, respelled, "--state", other, NULL);
    free(respelled);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "is copying into");
    assert_contains(r.err, "wait for it to finish");
    assert_null(strstr(r.err, "--state"));
    mp_run_free(&r);
    /* The first run's copy is whole and single. */
    r = mp_run("verify", src, f->dst, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "0 duplicated");
    mp_run_free(&r);
    /* Once it is done, a run with the other state finds everything. */
    char *rep = sync_copy(src, f->dst, other, f->report, 0, NULL);
    assert_contains(rep, "{\"copied\": 0,");
    free(rep);
    free(other);
    free(src);
}

/* 13.4: the default state of a pair is named after what its endpoints are,
 * not how they are typed: "maildir:dst" typed in two directories names two
 * destinations, whose states must not mix (a pass in one would take the
 * other's copies for its own, and --delete would miss a removal). */
static void relative_paths_from_two_directories_keep_two_states(void **state)
{
    fixture *f = *state;
    char *cwd = getcwd(NULL, 0);
    char *dirs[2] = {mp_strf("%s/one", f->dir), mp_strf("%s/two", f->dir)};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(mkdir(dirs[i], 0700), 0);
        assert_int_equal(chdir(dirs[i]), 0);
        mp_run_result r = mp_run("copy", f->src, "maildir:dst", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
    }
    /* A message leaves the source; the pass in "one" removes its copy
     * there, the one in "two" there. */
    char gone[65];
    unlink_source_message(f, "club-1@example.org", gone);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(chdir(dirs[i]), 0);
        mp_run_result r =
            mp_run("copy", f->src, "maildir:dst", "--delete", NULL);
        assert_int_equal(r.exit_code, 0);
        assert_contains(r.err, "removed 1");
        mp_run_free(&r);
        char *dst = mp_strf("%s/dst", dirs[i]);
        walked_dir d = walk_maildir(dst);
        assert_int_equal(d.n, 4);
        assert_true(walked_find_hash(&d, gone) < 0);
        walked_free(&d);
        free(dst);
    }
    /* Typed as an absolute path, "one/dst" finds the state of its pair. */
    char *abs_dst = mp_strf("maildir:%s/dst/", dirs[0]);
    mp_run_result r = mp_run("copy", f->src, abs_dst, "--dry-run", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "INBOX -> INBOX: 0 to copy, 0 flag updates, 0 to "
                           "remove, 4 present");
    mp_run_free(&r);
    free(abs_dst);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
    free(dirs[0]);
    free(dirs[1]);
}

/* A headerless-identity message: no Message-ID, one Date, BODY decides. */
static void write_quota_warning(const char *path, const char *percent)
{
    char *text = mp_strf("From: postmaster@example.org\nTo: bob@example.org\n"
                         "Subject: Your mailbox is almost full\n"
                         "Date: Mon, 4 Mar 2024 09:00:00 +0000\n\n"
                         "Your mailbox is %s%% full.\n",
                         percent);
    mp_write_file(path, text, strlen(text));
    struct timespec times[2] = {{1709542800, 0}, {1709542800, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    free(text);
}

/* 13.4: with the state lost, two different messages with one identity
 * (same headers, no Message-ID, same size and date) are told apart by
 * content: the new one is copied, the old one not again. */
static void equal_identities_pair_by_content(void **state)
{
    fixture *f = *state;
    char *root = mp_strf("%s/quota", f->dir);
    char *src = mp_strf("maildir:%s", root);
    char *dst = mp_strf("maildir:%s/quota-dst", f->dir);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root);
    char *p80 = mp_strf("%s/cur/1709542800.a.host:2,S", root);
    write_quota_warning(p80, "80");
    char *rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 1, 0, 0, 0);
    free(rep);
    char *p90 = mp_strf("%s/cur/1709542800.b.host:2,S", root);
    write_quota_warning(p90, "90");
    assert_int_equal(unlink(f->state), 0); /* the state is lost */
    rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 1, 1, 0, 0);
    free(rep);
    walked_dir s = walk_maildir(root);
    char *dpath = mp_strf("%s/quota-dst", f->dir);
    walked_dir d = walk_maildir(dpath);
    assert_int_equal(d.n, 2);
    assert_true(walked_same_contents(&s, &d));
    walked_free(&s);
    walked_free(&d);
    /* Lost again: both found present, nothing copied. */
    assert_int_equal(unlink(f->state), 0);
    rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 0, 2, 0, 0);
    free(rep);
    mp_run_result r = mp_run("verify", src, dst, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(dpath);
    free(p80);
    free(p90);
    free(src);
    free(dst);
    free(root);
}

/* Fault 1 of tests/model/FAULTS.md, set up: the 80% quota warning copied
 * to a Maildir (into the fixture's state), then deleted from the source,
 * and the 90% one (same header without Message-ID, same date and size)
 * arrived. */
typedef struct quota_case {
    char *root, *src, *dpath, *dst;
} quota_case;

static quota_case quota_80_gone_90_new(fixture *f, const char *name)
{
    quota_case q;
    q.root = mp_strf("%s/%s", f->dir, name);
    q.src = mp_strf("maildir:%s", q.root);
    q.dpath = mp_strf("%s/%s-dst", f->dir, name);
    q.dst = mp_strf("maildir:%s", q.dpath);
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", q.root, q.root, q.root);
    char *p80 = mp_strf("%s/cur/1709542800.a.host:2,S", q.root);
    write_quota_warning(p80, "80");
    char *rep = sync_copy(q.src, q.dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 1, 0, 0, 0);
    free(rep);
    assert_int_equal(unlink(p80), 0);
    free(p80);
    char *p90 = mp_strf("%s/cur/1709542800.b.host:2,", q.root);
    write_quota_warning(p90, "90");
    free(p90);
    return q;
}

static void quota_case_free(quota_case *q)
{
    free(q->root);
    free(q->src);
    free(q->dpath);
    free(q->dst);
}

/* Found by the model test: the new message is copied, not taken for the
 * old one's copy; --delete then removes the old copy. */
static void a_new_message_is_not_taken_for_a_gone_ones_copy(void **state)
{
    fixture *f = *state;
    quota_case q = quota_80_gone_90_new(f, "twins");
    char *rep = sync_copy(q.src, q.dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 1, 0, 0, 0);
    free(rep);
    rep = sync_copy(q.src, q.dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 1, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    walked_dir s = walk_maildir(q.root), d = walk_maildir(q.dpath);
    assert_int_equal(d.n, 1);
    assert_true(walked_same_contents(&s, &d));
    walked_free(&s);
    walked_free(&d);
    quota_case_free(&q);
}

/* The same with the state lost: nothing records whose copy the
 * destination message is, but a header-hash identity (no Message-ID) is
 * confirmed by content, so the 90% warning is copied beside the 80% one's
 * copy, and verify sees that copy as extra, not as the 90% one. */
static void
without_state_a_new_message_is_not_taken_for_an_old_copy(void **state)
{
    fixture *f = *state;
    quota_case q = quota_80_gone_90_new(f, "nostate");
    char *rep =
        sync_copy(q.src, q.dst, f->state, f->report, 0, "--no-state", NULL);
    sync_assert_counts(rep, 1, 0, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(q.dpath), 2);
    mp_run_result r =
        mp_run("verify", q.src, q.dst, "--no-state", (char *)NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "extra");
    mp_run_free(&r);
    quota_case_free(&q);
}

/* The same after a source reset (a new mbox file, as a recreated IMAP
 * folder has a new UIDVALIDITY): the orphan rows still name the old copy,
 * so the new message with its identity, date and size is copied. */
static void
a_new_message_after_a_reset_is_not_taken_for_an_old_copy(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/q.mbox", f->dir);
    char *src = mp_strf("mbox:%s", file);
    char *dpath = mp_strf("%s/q-dst", f->dir);
    char *dst = mp_strf("maildir:%s", dpath);
    const char *fmt = "From postmaster@example.org Fri Mar  8 10:00:00 2024\n"
                      "From: postmaster@example.org\nSubject: quota\n"
                      "Message-ID: <q@example.org>\n"
                      "Date: Fri, 08 Mar 2024 10:00:00 +0000\n\n"
                      "mailbox %s full\n";
    char *a = mp_strf(fmt, "80%");
    mp_write_file(file, a, strlen(a));
    char *rep = sync_copy(src, dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 1, 0, 0, 0);
    free(rep);
    char *b = mp_strf(fmt, "90%"), *tmp = mp_strf("%s.new", file);
    mp_write_file(tmp, b, strlen(b));
    assert_int_equal(rename(tmp, file), 0); /* a new inode: a reset */
    rep = sync_copy(src, dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 1, 0, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    walked_dir d = walk_maildir(dpath);
    assert_int_equal(d.n, 1);
    char *text = mp_read_file(d.v[0].path, NULL);
    assert_contains(text, "mailbox 90% full");
    free(text);
    walked_free(&d);
    free(a);
    free(b);
    free(tmp);
    free(src);
    free(dst);
    free(dpath);
    free(file);
}

/* 13.4: verify reports a message stored twice in the destination. */
static void verify_reports_duplicates(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    walked_dir d = walk_maildir(path_of(f->dst));
    size_t len;
    char *data = mp_read_file(d.v[0].path, &len);
    char *twin = mp_strf("%s/cur/1700000000.twin.host:2,%s", path_of(f->dst),
                         d.v[0].flags);
    mp_write_file(twin, data, len);
    struct timespec times[2] = {{d.v[0].mtime, 0}, {d.v[0].mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, twin, times, 0), 0);
    char *json_path = mp_strf("%s/verify.json", f->dir);
    mp_run_result r =
        mp_run("verify", f->src, f->dst, "--report", json_path, NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "duplicate    INBOX");
    assert_contains(r.err, "0 missing, 0 different, 0 with other flags, 0 "
                           "unreadable, 1 duplicated, 0 extra");
    mp_run_free(&r);
    char *json = mp_read_file(json_path, NULL);
    assert_contains(json, "\"duplicate\": [{\"folder\": \"INBOX\"");
    free(json);
    free(json_path);
    free(data);
    free(twin);
    walked_free(&d);
}

/* 13.2: verify pairs folders as copy did: the mapping recorded in the sync
 * state by default, or the same --map; a source folder with no destination
 * folder is a difference with its message count. */
static void verify_uses_the_mapping_copy_used(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, "--map", "INBOX=Archive/2024"));
    mp_run_result r =
        mp_run("verify", f->src, f->dst, "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 5 messages in 1 folders: 0 missing");
    mp_run_free(&r);
    r = mp_run("verify", f->src, f->dst, "--no-state", "--map",
               "INBOX=Archive/2024", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* Without the mapping, the (always present) INBOX lacks all five. */
    r = mp_run("verify", f->src, f->dst, "--no-state", NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.err, "verified 5 messages in 1 folders: 5 missing");
    mp_run_free(&r);
    /* A folder copy never created is named as such, with its count. */
    r = mp_run("verify", f->src, f->dst, "--no-state", "--map",
               "INBOX=Elsewhere", NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "no_folder    INBOX");
    assert_contains(r.out, "5 messages");
    mp_run_free(&r);
    /* A later pass without --map pairs as the first did: nothing new in
     * INBOX (found by a fresh tester: it copied all five there again). */
    char *rep = copy_with(f, 0, NULL, NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    walked_dir inbox = walk_maildir(path_of(f->dst));
    assert_int_equal(inbox.n, 0);
    walked_free(&inbox);
    /* A --map for another folder leaves INBOX where the state has it
     * (it used to drop the whole recorded mapping: 5 missing). */
    r = mp_run("verify", f->src, f->dst, "--state", f->state, "--map",
               "Drafts=Entwuerfe", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 5 messages in 1 folders: 0 missing");
    mp_run_free(&r);
    rep = copy_with(f, 0, "--map", "Drafts=Entwuerfe");
    sync_assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    /* A --map for the folder itself still wins over the state. */
    r = mp_run("verify", f->src, f->dst, "--state", f->state, "--map",
               "INBOX=Elsewhere", NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "no_folder    INBOX");
    mp_run_free(&r);
}

/* verify --include chooses folders; each is still compared whole, so a
 * message only the destination holds is listed as extra (a fresh tester
 * found --include hid them). */
static void verify_include_still_lists_extras(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    char *own = mp_strf("%s/cur/1700000001.own.host:2,S", path_of(f->dst));
    const char *text = "Message-ID: <own@example.org>\n\nmine\n";
    mp_write_file(own, text, strlen(text));
    mp_run_result r = mp_run("verify", f->src, f->dst, "--state", f->state,
                             "--include", "INBOX", NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "extra        INBOX  <own@example.org>");
    assert_contains(r.err, "1 extra in the destination");
    mp_run_free(&r);
    free(own);
}

/* 13.3: a source folder the destination refuses to create ends failed, with
 * its message count, in the summary, the report and the exit code. */
static void a_refused_folder_counts_its_messages_failed(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    mp_run_result r = mp_run("copy", "mbox:" SAMPLE, f->src, "--map",
                             "INBOX=Lists", "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    /* A plain file where the destination folder's directory would go. */
    char *blocker = mp_strf("%s/.Lists", path_of(f->dst));
    mp_write_file(blocker, "x", 1);
    /* 13.6: the dry run plans that failure, in the real run's counts. */
    char *planned = mp_strf("%s/planned.json", f->dir);
    r = mp_run("copy", f->src, f->dst, "--state", f->state, "--dry-run",
               "--report", planned, NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.out, "Lists -> Lists: would fail: ");
    assert_contains(r.out, "/.Lists: Not a directory");
    assert_null(strstr(r.out, "Lists -> Lists: 5 to copy"));
    assert_contains(r.err, "would fail 5");
    mp_run_free(&r);
    char *plan_text = mp_read_file(planned, NULL);
    sync_assert_counts(plan_text, 0, 5, 0, 5);
    free(plan_text);
    free(planned);
    r = mp_run("copy", f->src, f->dst, "--state", f->state, "--report",
               f->report, NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.err, "Lists");
    assert_contains(r.err, "failed 5");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 0, 5, 0, 5);
    assert_contains(rep, "{\"name\": \"Lists\", \"copied\": 0, \"skipped\": 0, "
                         "\"failed\": 5");
    free(rep);
    r = mp_run("verify", f->src, f->dst, "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 4);
    assert_contains(r.out, "no_folder    Lists");
    mp_run_free(&r);
    free(blocker);
}

/* 13.3: a Maildir++ folder whose name holds an escaped '/' (".GPR\2fGPA",
 * as Dovecot's listescape writes "GPR/GPA") is copied under the documented
 * substitute ("GPR_GPA"), told apart from a real "GPR_GPA" as "GPR_GPA~2",
 * renamed by --map under that name, and verified: never skipped. */
static void an_escaped_slash_in_a_maildir_name_is_copied(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("maildir:%s/escaped", f->dir);
    /* A real "GPR_GPA" first: once ".GPR\\2fGPA" is there, writing to
     * "GPR_GPA" would find that folder (the one the listing names so). */
    mp_run_result r =
        mp_run("copy", "mbox:" SAMPLE, src, "--map", "INBOX=GPR_GPA",
               "--before", "2024-03-05", "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("copy", "mbox:" SAMPLE, src, "--map", "INBOX=tmpname",
               "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    char *from = mp_strf("%s/escaped/.tmpname", f->dir);
    char *to = mp_strf("%s/escaped/.GPR\\2fGPA", f->dir);
    assert_int_equal(rename(from, to), 0);
    /* Its child, and a directory whose name decodes to no folder name (an
     * empty level): copied too, the child with its parent. */
    const char *more[] = {".GPR\\2fGPA.Sub", ".a..b"};
    for (int i = 0; i < 2; i++) {
        r = mp_run("copy", "mbox:" SAMPLE, src, "--map", "INBOX=tmpname",
                   "--no-state", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
        char *there = mp_strf("%s/escaped/%s", f->dir, more[i]);
        assert_int_equal(rename(from, there), 0);
        free(there);
    }

    r = mp_run("copy", src, f->dst, "--state", f->state, "--report", f->report,
               NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "listed as \"GPR_GPA~2\"");
    assert_contains(r.err, "read as \"a__b\"");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 17, 0, 0, 0);
    assert_contains(rep, "{\"name\": \"GPR_GPA\", \"copied\": 2,");
    assert_contains(rep, "{\"name\": \"GPR_GPA~2\", \"copied\": 5,");
    assert_contains(rep, "{\"name\": \"GPR_GPA~2/Sub\", \"copied\": 5,");
    assert_contains(rep, "{\"name\": \"a__b\", \"copied\": 5,");
    free(rep);
    char *d1 = mp_strf("%s/dst/.GPR_GPA", f->dir);
    char *d2 = mp_strf("%s/dst/.GPR_GPA~2", f->dir);
    assert_int_equal(sync_count_messages(d1), 2);
    assert_int_equal(sync_count_messages(d2), 5);
    r = mp_run("verify", src, f->dst, "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(sync_copy(src, f->dst, f->state, f->report, 0, NULL));
    rep = mp_read_file(f->report, NULL);
    sync_assert_counts(rep, 0, 17, 0, 0);
    free(rep);

    /* --map takes the listed name. */
    char *other = mp_strf("maildir:%s/mapped", f->dir);
    r = mp_run("copy", src, other, "--map", "GPR_GPA~2=Projects/GPR",
               "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    char *d3 = mp_strf("%s/mapped/.Projects.GPR", f->dir);
    assert_int_equal(sync_count_messages(d3), 5);
    free(d3);
    free(other);
    free(d1);
    free(d2);
    free(from);
    free(to);
    free(src);
}

/* 13 (a tester's case): --automap knows the names Outlook, Microsoft 365
 * and Yahoo give special folders where no SPECIAL-USE says it: "Junk
 * E-mail" lands in the destination's "Junk", "Bulk Mail" there too, and a
 * "Sent Items" in its "Sent"; verify --automap then agrees. */
static void automap_knows_the_usual_names(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("maildir:%s/outlook", f->dir);
    const char *from[] = {"INBOX=Junk E-mail", "INBOX=Sent Items", NULL};
    for (const char **m = from; *m; m++) {
        mp_run_result r = mp_run("copy", "mbox:" SAMPLE, src, "--map", *m,
                                 "--no-state", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
    }
    const char *to[] = {"INBOX=Junk", "INBOX=Sent", NULL};
    for (const char **m = to; *m; m++) {
        mp_run_result r =
            mp_run("copy", "mbox:" SAMPLE, f->dst, "--map", *m, "--before",
                   "2024-03-05", "--no-state", "-q", NULL);
        assert_int_equal(r.exit_code, 0);
        mp_run_free(&r);
    }
    char *rep =
        sync_copy(src, f->dst, f->state, f->report, 0, "--automap", NULL);
    sync_assert_counts(rep, 6, 4, 0, 0); /* 3 of 5 new in each */
    free(rep);
    char *junk = mp_strf("%s/dst/.Junk", f->dir);
    char *sent = mp_strf("%s/dst/.Sent", f->dir);
    char *junk_e = mp_strf("%s/dst/.Junk E-mail", f->dir);
    assert_int_equal(sync_count_messages(junk), 5);
    assert_int_equal(sync_count_messages(sent), 5);
    assert_false(mp_file_exists(junk_e));
    mp_run_result r = mp_run("verify", src, f->dst, "--automap", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free(junk);
    free(sent);
    free(junk_e);
    free(src);
}

/* 13.4 (a tester's case): a message that itself begins with an envelope
 * line ("From MAILER-DAEMON ..."; a bounce saved from an mbox) is written
 * to an mbox as ">From ..." after mailport's From_ line; reading it back
 * must find it as its own message, not as the end of the one before, or
 * every pass stores it again. */
static void a_message_starting_with_a_from_line_survives_an_mbox(void **state)
{
    fixture *f = *state;
    char *eml =
        mp_strf("%s/eml/sisimai/not-bounce/rb-issue-368-bug.eml", mp_corpora());
    size_t len = 0;
    char *text = mp_read_file(eml, &len);
    assert_non_null(text);
    assert_true(strncmp(text, "From MAILER-DAEMON", 18) == 0);
    char *path = mp_strf("%s/src/cur/1700000000.bounce.host:2,", f->dir);
    mp_write_file(path, text, len);
    char *mbox = mp_strf("mbox:%s/out.mbox", f->dir);
    char *rep = sync_copy(f->src, mbox, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 6, 0, 0, 0);
    free(rep);
    mp_run_result r = mp_run("list", mbox, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out,
                    "(total)                                           6");
    mp_run_free(&r);
    rep = sync_copy(f->src, mbox, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 0, 6, 0, 0);
    free(rep);
    r = mp_run("verify", f->src, mbox, "--state", f->state, NULL);
    assert_contains(r.err, "0 missing, 0 different");
    assert_contains(r.err, "0 duplicated, 0 extra");
    mp_run_free(&r);
    free(mbox);
    free(path);
    free(text);
    free(eml);
}

/* Give every message file of the Maildir at DIR the file time NOW + K
 * (for the K-th file), as cp -r or a restore from a backup does. */
static void touch_every_message(const char *dir)
{
    walked_dir w = walk_maildir(dir);
    assert_true(w.n > 0);
    time_t now = time(NULL);
    for (size_t i = 0; i < w.n; i++) {
        struct timespec ts[2] = {{now + (time_t)i, 0}, {now + (time_t)i, 0}};
        assert_int_equal(utimensat(AT_FDCWD, w.v[i].path, ts, 0), 0);
    }
    walked_free(&w);
}

/* 13.5 (a tester's case): a Maildir re-created with new file times (cp -r)
 * holds the same messages with other internal dates. Equal content
 * outweighs a date that moved: verify finds every message, and a copy
 * without the state (or with a new one) stores nothing again. */
static void a_maildir_with_new_file_times_is_still_in_sync(void **state)
{
    fixture *f = *state;
    free(copy_with(f, 0, NULL, NULL));
    touch_every_message(path_of(f->src));

    mp_run_result r = mp_run("verify", f->src, f->dst, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 5 messages in 1 folders: 0 missing, 0 "
                           "different, 0 with other flags, 0 unreadable, 0 "
                           "duplicated, 0 extra");
    mp_run_free(&r);

    char *rep =
        sync_copy(f->src, f->dst, f->state, f->report, 0, "--no-state", NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    free(rep);
    char *fresh = mp_strf("%s/fresh.sqlite", f->dir);
    rep = sync_copy(f->src, f->dst, fresh, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    assert_int_equal(sync_count_messages(path_of(f->dst)), 5);
    free(fresh);
}

/* The sample's messages, each with its From_ line, and no separator. */
typedef struct sample_msgs {
    char *v[16];
    size_t n;
} sample_msgs;

static sample_msgs read_sample_messages(void)
{
    sample_msgs m = {.n = 0};
    char *sample = mp_read_file(SAMPLE, NULL);
    for (char *p = sample; *p && m.n < 16;) {
        char *next = strstr(p, "\n\nFrom ");
        size_t len = next ? (size_t)(next - p) + 1 : strlen(p);
        m.v[m.n++] = mp_strf("%.*s", (int)len, p);
        p += next ? len + 1 : len;
    }
    free(sample);
    return m;
}

static void sample_msgs_free(sample_msgs *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i]);
}

/* Rewrite the mbox PATH in place, as mutt does (same inode, the bytes of
 * every message after a change move): the messages of M but the one whose
 * index is DROP (-1: none), each separated by an empty line. */
static void rewrite_mbox_in_place(const char *path, const sample_msgs *m,
                                  long drop)
{
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    size_t total = 0;
    for (size_t i = 0; i < m->n; i++) {
        if ((long)i == drop)
            continue;
        size_t n = strlen(m->v[i]);
        assert_int_equal(pwrite(fd, m->v[i], n, (off_t)total), (ssize_t)n);
        assert_int_equal(pwrite(fd, "\n", 1, (off_t)(total + n)), 1);
        total += n + 1;
    }
    assert_int_equal(ftruncate(fd, (off_t)total), 0);
    close(fd);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
}

/* Insert FIELDS (header lines) at the end of message I's header. */
static void add_header_fields(sample_msgs *m, size_t i, const char *fields)
{
    char *end = strstr(m->v[i], "\n\n");
    assert_non_null(end);
    char *grown =
        mp_strf("%.*s\n%s%s", (int)(end - m->v[i]), m->v[i], fields, end + 1);
    free(m->v[i]);
    m->v[i] = grown;
}

/* 13.1 (a tester's case): an mbox rewritten in place by a mail reader. A
 * message deleted in mutt moves every message after it; marking messages
 * read and flagged adds Status, X-Status, Content-Length and Lines fields.
 * The next --delete pass must remove the copy of the deleted message (not
 * of the one that moved into its place) and update the flags of the
 * others, storing nothing again; verify then finds every message. */
static void an_mbox_rewritten_in_place_keeps_its_pairs(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/in.mbox", f->dir);
    char *src = mp_strf("mbox:%s", file);
    sample_msgs m = read_sample_messages();
    assert_int_equal(m.n, 5);
    mp_write_file(file, "", 0);
    rewrite_mbox_in_place(file, &m, -1);
    char *rep = sync_copy(src, f->dst, f->state, f->report, 0, NULL);
    sync_assert_counts(rep, 5, 0, 0, 0);
    free(rep);
    walked_dir before = walk_maildir(path_of(f->dst));
    assert_int_equal(before.n, 5);
    int is_club2[5];
    for (size_t i = 0; i < before.n; i++) {
        char *text = mp_read_file(before.v[i].path, NULL);
        is_club2[i] = strstr(text, "club-2@example.org") != NULL;
        free(text);
    }

    assert_non_null(strstr(m.v[1], "club-2@example.org"));
    add_header_fields(&m, 3,
                      "Status: RO\nX-Status: F\nContent-Length: 1\n"
                      "Lines: 1\n");
    rewrite_mbox_in_place(file, &m, 1);
    sleep(MARKER_SETTLE + 1);
    rep = sync_copy(src, f->dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 3, 1, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    walked_dir after = walk_maildir(path_of(f->dst));
    assert_int_equal(after.n, 4);
    size_t gone = 0;
    for (size_t i = 0; i < before.n; i++) {
        /* Each copy but the deleted message's is still there, unchanged. */
        long at = walked_find_hash(&after, before.v[i].hash);
        if (is_club2[i]) {
            assert_true(at < 0);
            gone++;
        } else {
            assert_true(at >= 0);
        }
    }
    assert_int_equal(gone, 1);
    walked_free(&after);
    walked_free(&before);
    /* The flagged message's source now holds Status, X-Status,
     * Content-Length and Lines fields its copy lacks: they hold flags,
     * which verify compares as flags, so the content is the same. */
    mp_run_result r = mp_run("verify", src, f->dst, "--state", f->state, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 4 messages in 1 folders: 0 missing, 0 "
                           "different, 0 with other flags, 0 unreadable, 0 "
                           "duplicated, 0 extra");
    mp_run_free(&r);
    rep = sync_copy(src, f->dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    /* Without the state the marked message is still found, not stored
     * again. */
    rep = sync_copy(src, f->dst, f->state, f->report, 0, "--no-state", NULL);
    sync_assert_counts(rep, 0, 4, 0, 0);
    free(rep);
    assert_int_equal(sync_count_messages(path_of(f->dst)), 4);
    sample_msgs_free(&m);
    free(src);
    free(file);
}

/* Name every message row of the state at PATH by a byte offset, as sync
 * states made before mbox keys named content did. */
static void give_rows_offset_keys(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TEMP TABLE k AS SELECT folder, "
                                  "src_key FROM messages;"
                                  "UPDATE messages SET src_key = (SELECT "
                                  "CAST(1000 * t.rowid AS TEXT) FROM k t "
                                  "WHERE t.folder = messages.folder AND "
                                  "t.src_key = messages.src_key);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM messages WHERE "
                                        "src_key GLOB '[0-9]*'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 5);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* 13.1: a sync state whose mbox rows name byte offsets (made by an
 * earlier version) is taken over safely: the first pass, with --delete,
 * pairs every message again by content and neither copies nor removes
 * anything; a message deleted from the mbox after that is removed. */
static void an_mbox_state_with_offset_keys_is_taken_over(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/in.mbox", f->dir);
    char *src = mp_strf("mbox:%s", file);
    sample_msgs m = read_sample_messages();
    mp_write_file(file, "", 0);
    rewrite_mbox_in_place(file, &m, -1);
    free(sync_copy(src, f->dst, f->state, f->report, 0, NULL));
    give_rows_offset_keys(f->state);
    rewrite_mbox_in_place(file, &m, -1); /* new file times: a rescan */
    sleep(MARKER_SETTLE + 1);
    char *rep =
        sync_copy(src, f->dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 5, 0, 0);
    assert_contains(rep, "\"removed\": 0");
    free(rep);
    assert_int_equal(sync_count_messages(path_of(f->dst)), 5);
    rewrite_mbox_in_place(file, &m, 0);
    sleep(MARKER_SETTLE + 1);
    rep = sync_copy(src, f->dst, f->state, f->report, 0, "--delete", NULL);
    sync_assert_counts(rep, 0, 4, 0, 0);
    assert_contains(rep, "\"removed\": 1");
    free(rep);
    mp_run_result r = mp_run("verify", src, f->dst, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 4 messages");
    assert_contains(r.err, "0 duplicated, 0 extra");
    mp_run_free(&r);
    sample_msgs_free(&m);
    free(src);
    free(file);
}

/* Issue 8.3 / 12: SIGINT, SIGTERM and SIGHUP stop a run cleanly between
 * messages: what was stored is recorded, nothing is left in tmp/, the
 * exit status is 128 + the signal, the run says how to resume, and the
 * same command again completes with every message exactly once. */
static void interrupted_runs_stop_cleanly_and_resume(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    char *err_path = mp_strf("%s/stderr.txt", f->dir);
    for (int k = 0; k < 3; k++) {
        char *argv[] = {(char *)bin, "copy",     src,       f->dst, "--state",
                        f->state,    "--report", f->report, NULL};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, err_path,
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        pid_t pid;
        assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        size_t before = sync_count_messages(path_of(f->dst));
        int status, done = 0;
        while (!(done = waitpid(pid, &status, WNOHANG) == pid) &&
               sync_count_messages(path_of(f->dst)) <= before + 10)
            usleep(2000);
        if (!done) {
            assert_int_equal(kill(pid, signals[k]), 0);
            assert_int_equal(waitpid(pid, &status, 0), pid);
        }
        if (!WIFEXITED(status))
            fail_msg("signal %d: mailport died of signal %d", signals[k],
                     WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        char *err = mp_read_file(err_path, NULL);
        if (WEXITSTATUS(status) == 0) { /* finished before the signal */
            assert_true(k > 0); /* the first run is long: it must be cut */
            free(err);
            break;
        }
        assert_int_equal(WEXITSTATUS(status), 128 + signals[k]);
        assert_contains(err, "run the same command again to resume");
        free(err);
        char *rep = mp_read_file(f->report, NULL);
        assert_contains(rep, "run the same command again to resume");
        assert_null(strstr(rep, "\"name\": \"\""));
        free(rep);
        char *tmp = mp_strf("%s/tmp", path_of(f->dst));
        assert_int_equal(mp_sh("test -z \"$(ls -A '%s')\"", tmp), 0);
        free(tmp);
    }
    free(err_path);
    char *rep = sync_copy(src, f->dst, f->state, f->report, 0, NULL);
    assert_contains(rep, "\"failed\": 0,");
    free(rep);
    mp_run_result r = mp_run("verify", src, f->dst, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "verified 3900 messages");
    assert_contains(r.err, "0 duplicated, 0 extra");
    mp_run_free(&r);
    free(src);
}

/* 13.6 for a Maildir destination (a fresh tester's case): its
 * subscriptions file names a folder it does not have; the real run creates
 * the folder, which is then subscribed already, so the dry run must not
 * foresee subscribing it: both count 1 (INBOX). */
static void a_maildir_subscription_of_no_folder_is_foreseen(void **state)
{
    fixture *f = *state;
    char *src = mp_strf("%s/subs-src", f->dir);
    char *dst = mp_strf("%s/subs-dst", f->dir);
    assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp' '%s/.Old/cur' "
                           "'%s/.Old/new' '%s/.Old/tmp' '%s/cur' '%s/new' "
                           "'%s/tmp'",
                           src, src, src, src, src, src, dst, dst, dst),
                     0);
    char *msg = mp_strf("%s/.Old/cur/1700000000.old.host:2,S", src);
    const char *text = "Message-ID: <old@example.org>\nSubject: old\n\nold\n";
    mp_write_file(msg, text, strlen(text));
    char *subs = mp_strf("%s/subscriptions", src);
    mp_write_file(subs, "V\t2\n\nOld\n", 9);
    free(subs);
    subs = mp_strf("%s/subscriptions", dst);
    mp_write_file(subs, "V\t2\n\nOld\n", 9);
    char *from = mp_strf("maildir:%s", src), *to = mp_strf("maildir:%s", dst);
    char *planned = mp_strf("%s/subs-plan.json", f->dir);
    mp_run_result r =
        mp_run("copy", from, to, "--dry-run", "--report", planned, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_null(strstr(r.out, "subscribe Old\n"));
    mp_run_free(&r);
    char *plan = mp_read_file(planned, NULL);
    assert_contains(plan, "\"subscribed\": 1,");
    char *rep = sync_copy(from, to, f->state, f->report, 0, NULL);
    assert_contains(rep, "\"subscribed\": 1,");
    free(rep);
    char *now = mp_read_file(subs, NULL);
    assert_contains(now, "Old\n");
    assert_contains(now, "INBOX\n");
    free(now);
    free(plan);
    free(planned);
    free(from);
    free(to);
    free(subs);
    free(msg);
    free(dst);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_maildir_subscription_of_no_folder_is_foreseen, setup, teardown),
        cmocka_unit_test_setup_teardown(
            delete_after_an_in_sync_pass_still_removes, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_after_the_source_was_reset,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_counts_equal_the_real_run,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_second_run_into_the_same_destination_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            relative_paths_from_two_directories_keep_two_states, setup,
            teardown),
        cmocka_unit_test_setup_teardown(equal_identities_pair_by_content, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_new_message_is_not_taken_for_a_gone_ones_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_new_message_after_a_reset_is_not_taken_for_an_old_copy, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            without_state_a_new_message_is_not_taken_for_an_old_copy, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            delete_empties_folders_gone_from_the_source, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_renamed_folder_mapped_back_keeps_its_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(verify_reports_duplicates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(verify_uses_the_mapping_copy_used,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(verify_include_still_lists_extras,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_refused_folder_counts_its_messages_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_escaped_slash_in_a_maildir_name_is_copied, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_maildir_with_new_file_times_is_still_in_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_mbox_rewritten_in_place_keeps_its_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(
            an_mbox_state_with_offset_keys_is_taken_over, setup, teardown),
        cmocka_unit_test_setup_teardown(automap_knows_the_usual_names, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            a_message_starting_with_a_from_line_survives_an_mbox, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            interrupted_runs_stop_cleanly_and_resume, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
