/* A full disk under every local sink (issue 8, "a full disk"; 8.6 and
 * 13.7: exact counts on failure paths).
 *
 * The destination lives on a private tmpfs of TMPFS_KB kilobytes mounted
 * by the test (root only; skipped with a message where mount(2) is
 * refused). The source holds more incompressible mail than fits. Each
 * case demands:
 *   - exit 1 and an error naming the cause ("No space left on device");
 *   - exact counts: copied is what the destination durably holds (an
 *     archive, written whole or not at all, holds nothing: copied 0,
 *     bytes 0), copied + failed + skipped = the source's messages;
 *   - no stray files (archive temporaries, truncated mbox records);
 *   - once there is room again, the same command completes with every
 *     message exactly once, and verify exits 0. */
#include "maildir_walk.h"
#include "sync_check.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSGS 60
#define BODY 24000 /* bytes of random base64 per message: 1.4 MB in all */
#define TMPFS_KB 640

typedef struct fixture {
    char *dir;  /* the test's private tree */
    char *disk; /* the tmpfs mount point inside it */
    char *src, *src_url;
    char *state, *report;
} fixture;

static void make_source(const char *root)
{
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root);
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned seed = 20261207;
    for (int i = 0; i < MSGS; i++) {
        char *head = mp_strf("From: sender%d@example.org\n"
                             "Subject: full disk %d\n"
                             "Message-ID: <full.%d@example.org>\n"
                             "Date: Mon, 4 Mar 2024 09:%02d:00 +0000\n\n",
                             i, i, i, i % 60);
        size_t hl = strlen(head), n = hl + BODY + BODY / 76 + 1;
        char *text = malloc(n + 1), *w = text + hl;
        memcpy(text, head, hl);
        for (int k = 0; k < BODY; k++) {
            seed = seed * 1103515245u + 12345u;
            *w++ = b64[(seed >> 16) % 64];
            if (k % 76 == 75)
                *w++ = '\n';
        }
        *w++ = '\n';
        char *path = mp_strf("%s/cur/17095428%02d.M%dP1.host:2,", root, i, i);
        mp_write_file(path, text, (size_t)(w - text));
        free(path);
        free(text);
        free(head);
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = mp_tmpdir("fulldisk");
    f->disk = mp_strf("%s/disk", f->dir);
    mkdir(f->disk, 0700);
    char *opts = mp_strf("size=%dk,mode=0700", TMPFS_KB);
    int rc = mount("tmpfs", f->disk, "tmpfs", 0, opts);
    int err = errno;
    free(opts);
    if (rc != 0) {
        print_message("skipped: cannot mount a small tmpfs for a full disk "
                      "(%s); run as root to include these cases\n",
                      strerror(err));
        mp_rm_rf(f->dir);
        free(f->disk);
        free(f->dir);
        free(f);
        skip();
    }
    f->src = mp_strf("%s/src", f->dir);
    f->src_url = mp_strf("maildir:%s", f->src);
    make_source(f->src);
    f->state = mp_strf("%s/state.sqlite", f->dir);
    f->report = mp_strf("%s/report.json", f->dir);
    setenv("XDG_STATE_HOME", f->dir, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    umount2(f->disk, MNT_DETACH);
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->disk);
    free(f->src);
    free(f->src_url);
    free(f->state);
    free(f->report);
    free(f);
    return 0;
}

/* Room again: the tmpfs grows to hold everything. */
static void make_room(fixture *f)
{
    assert_int_equal(
        mount("tmpfs", f->disk, "tmpfs", MS_REMOUNT, "size=16m,mode=0700"), 0);
}

/* The report's count NAME. */
static long report_count(const char *report, const char *name)
{
    char *key = mp_strf("\"%s\": ", name);
    const char *at = strstr(report, key);
    free(key);
    if (!at)
        fail_msg("no \"%s\" in the report:\n%s", name, report);
    return atol(strchr(at, ':') + 1);
}

/* A run on the full disk: exit 1, the cause named, copied + failed +
 * skipped = MSGS, at least one failed; returns the copied count (with no
 * bytes counted when nothing was copied). */
static long failed_run(fixture *f, const char *dst_url)
{
    mp_run_result r = mp_run("copy", f->src_url, dst_url, "--state", f->state,
                             "--report", f->report, (char *)NULL);
    if (r.exit_code != 1)
        fail_msg("exit %d, expected 1\n%s", r.exit_code, r.err);
    assert_contains(r.err, "No space left on device");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    long copied = report_count(rep, "copied"),
         failed = report_count(rep, "failed"),
         skipped = report_count(rep, "skipped");
    if (copied + failed + skipped != MSGS || failed == 0)
        fail_msg("copied %ld, failed %ld, skipped %ld for %d messages\n%s",
                 copied, failed, skipped, MSGS, rep);
    if (copied == 0)
        assert_int_equal(report_count(rep, "bytes"), 0);
    free(rep);
    return copied;
}

static void rerun_completes(fixture *f, const char *dst_url)
{
    make_room(f);
    char *rep = sync_copy(f->src_url, dst_url, f->state, f->report, 0, NULL);
    free(rep);
    mp_run_result r = mp_run("verify", f->src_url, dst_url, (char *)NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d\n%s%s", r.exit_code, r.out, r.err);
    mp_run_free(&r);
}

/* Entries of DIR other than those named KEEP (NULL-terminated). */
static int strays(const char *dir, const char *const *keep)
{
    int n = 0;
    DIR *dh = opendir(dir);
    struct dirent *e;
    while (dh && (e = readdir(dh))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        int kept = 0;
        for (size_t i = 0; keep[i]; i++)
            kept |= strcmp(e->d_name, keep[i]) == 0;
        if (!kept) {
            print_message("stray file %s/%s\n", dir, e->d_name);
            n++;
        }
    }
    if (dh)
        closedir(dh);
    return n;
}

static void maildir_sink(void **state)
{
    fixture *f = *state;
    char *md = mp_strf("%s/md", f->disk);
    char *url = mp_strf("maildir:%s", md);
    /* copied is what cur/ and new/ hold, not what was attempted. */
    long copied = failed_run(f, url);
    size_t durable = sync_count_messages(md);
    if (copied != (long)durable)
        fail_msg("copied %ld, but %s holds %zu", copied, md, durable);
    /* A second try on the full disk copies nothing more and says so. */
    assert_int_equal(failed_run(f, url), 0);
    assert_int_equal(sync_count_messages(md), durable);
    rerun_completes(f, url);
    walked_dir s = walk_maildir(f->src), d = walk_maildir(md);
    assert_int_equal(d.n, MSGS);
    assert_true(walked_same_contents(&s, &d));
    walked_free(&s);
    walked_free(&d);
    free(url);
    free(md);
}

static void mbox_sink(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/all.mbox", f->disk);
    char *url = mp_strf("mbox:%s", file);
    long copied = failed_run(f, url);
    /* The mbox holds exactly the messages counted copied, each whole. */
    mp_run_result r = mp_run("verify", url, (char *)NULL);
    if (r.exit_code != 0)
        fail_msg("verify %s: exit %d\n%s%s", url, r.exit_code, r.out, r.err);
    mp_run_free(&r);
    r = mp_run("list", url, (char *)NULL);
    const char *row = strstr(r.out, "\nINBOX ");
    long listed = -1;
    if (!row || sscanf(row, " INBOX %ld", &listed) != 1 || listed != copied)
        fail_msg("copied %ld, but mailport list says:\n%s", copied, r.out);
    mp_run_free(&r);
    rerun_completes(f, url);
    free(url);
    free(file);
}

static void archive_sink(void **state)
{
    fixture *f = *state;
    char *file = mp_strf("%s/backup.tar.gz", f->disk);
    char *url = mp_strf("targz:%s", file);
    /* gzip does not shrink random base64 below a disk of TMPFS_KB. */
    mp_run_result r =
        mp_run("copy", f->src_url, url, "--report", f->report, (char *)NULL);
    if (r.exit_code != 1)
        fail_msg("exit %d, expected 1\n%s", r.exit_code, r.err);
    assert_contains(r.err, "No space left on device");
    mp_run_free(&r);
    char *rep = mp_read_file(f->report, NULL);
    long copied = report_count(rep, "copied"),
         failed = report_count(rep, "failed");
    if (copied != 0 || failed != MSGS || report_count(rep, "bytes") != 0)
        fail_msg("no archive was written, yet the report says:\n%s", rep);
    free(rep);
    const char *none[] = {NULL};
    assert_int_equal(strays(f->disk, none), 0);
    make_room(f);
    r = mp_run("copy", f->src_url, url, "-q", (char *)NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    r = mp_run("verify", f->src_url, url, (char *)NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    const char *archive[] = {"backup.tar.gz", NULL};
    assert_int_equal(strays(f->disk, archive), 0);
    free(url);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(maildir_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(mbox_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(archive_sink, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
