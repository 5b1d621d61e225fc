/* Archive series (plugins/targz/series.h) through the mailport binary,
 * checked with the real tar and age:
 *  - a seeded random model: rounds of new messages, flag changes and
 *    removals in a Maildir, each followed by `copy --delete` into an
 *    encrypted series; after each round a restore of the whole series
 *    equals the source (an independent listing: folder, bytes, flags,
 *    date), and the round's archive holds only that round's new messages;
 *  - a round with nothing new writes no archive;
 *  - a missing or replaced archive in the middle is refused by name;
 *  - a lost or stale catalogue starts a new generation (a full archive),
 *    and the restore still equals the source;
 *  - what a killed run left is removed; usage errors are named.
 * Set MP_SEED to replay a model run; the seed is printed. */
#include "testutil.h"

#include "mdlist.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static char *dir; /* per-run scratch */
static char *key; /* age identity file */
static char recipient[128];

static void mkdirs(const char *path)
{
    assert_int_equal(mp_sh("mkdir -p '%s'", path), 0);
}

static void make_folder(const char *src, const char *d)
{
    const char *sub[] = {"cur", "new", "tmp"};
    for (int i = 0; i < 3; i++) {
        char *p = mp_strf("%s/%s%s%s", src, d, *d ? "/" : "", sub[i]);
        mkdirs(p);
        free(p);
    }
    if (*d) {
        char *q = mp_strf("%s/%s/maildirfolder", src, d);
        mp_write_file(q, "", 0);
        free(q);
    }
}

/* A message of the model: its file in the source Maildir. */
typedef struct model_msg {
    char *folder; /* "" (INBOX) or ".Work" ... */
    char *uniq;
    char flags[8];
    int live;
} model_msg;

typedef struct model {
    char *src;
    model_msg *m;
    size_t n, cap;
    unsigned seed;
    int serial;
} model;

static const char *const folders[] = {"", ".Work", ".Lists.Dev"};

static void model_folders(model *md)
{
    for (size_t i = 0; i < 3; i++)
        make_folder(md->src, folders[i]);
}

static char *msg_path(const model *md, const model_msg *m)
{
    return mp_strf("%s/%s%scur/%s:2,%s", md->src, m->folder,
                   *m->folder ? "/" : "", m->uniq, m->flags);
}

static void random_flags(model *md, char out[8])
{
    static const char letters[] = "FRST"; /* Maildir order */
    size_t w = 0;
    for (int i = 0; i < 4; i++)
        if (rand_r(&md->seed) % 3 == 0)
            out[w++] = letters[i];
    out[w] = '\0';
}

static void add_message(model *md)
{
    if (md->n == md->cap) {
        md->cap = md->cap ? md->cap * 2 : 32;
        md->m = realloc(md->m, md->cap * sizeof *md->m);
        assert_non_null(md->m);
    }
    model_msg *m = &md->m[md->n++];
    int id = ++md->serial;
    m->folder = strdup(folders[rand_r(&md->seed) % 3]);
    m->uniq = mp_strf("%d.M%dP1.model", 1700000000 + id, id);
    random_flags(md, m->flags);
    m->live = 1;
    /* Bodies of varied length, some lines long, LF endings. */
    size_t lines = 1 + rand_r(&md->seed) % 40;
    char *body = calloc(1, lines * 120 + 1);
    for (size_t i = 0; i < lines; i++)
        sprintf(body + strlen(body), "line %zu of message %d: %.*s\n", i, id,
                (int)(rand_r(&md->seed) % 90),
                "lorem ipsum dolor sit amet consectetur adipiscing elit sed "
                "do eiusmod tempor incididunt ut labore");
    char *text = mp_strf("From: model@example.org\nTo: you@example.net\n"
                         "Subject: message %d\nMessage-ID: <%d.%u@model>\n"
                         "Date: Tue, 14 Nov 2023 22:13:20 +0000\n\n%s",
                         id, id, md->seed, body);
    char *path = msg_path(md, m);
    mp_write_file(path, text, strlen(text));
    long when = 1600000000L + id * 3600L;
    struct utimbuf t = {when, when};
    assert_int_equal(utime(path, &t), 0);
    free(path);
    free(text);
    free(body);
}

/* A live message chosen at random, or NULL. */
static model_msg *pick(model *md)
{
    size_t live = 0;
    for (size_t i = 0; i < md->n; i++)
        live += md->m[i].live;
    if (!live)
        return NULL;
    size_t k = rand_r(&md->seed) % live;
    for (size_t i = 0; i < md->n; i++)
        if (md->m[i].live && k-- == 0)
            return &md->m[i];
    return NULL;
}

/* Returns 1 when the flags changed. */
static int change_flags(model *md)
{
    model_msg *m = pick(md);
    if (!m)
        return 0;
    char *from = msg_path(md, m);
    char old[8];
    strcpy(old, m->flags);
    random_flags(md, m->flags);
    char *to = msg_path(md, m);
    assert_int_equal(rename(from, to), 0);
    free(from);
    free(to);
    return strcmp(old, m->flags) != 0;
}

static int remove_message(model *md)
{
    model_msg *m = pick(md);
    if (!m)
        return 0;
    char *path = msg_path(md, m);
    assert_int_equal(unlink(path), 0);
    free(path);
    m->live = 0;
    return 1;
}

static void model_free(model *md)
{
    for (size_t i = 0; i < md->n; i++) {
        free(md->m[i].folder);
        free(md->m[i].uniq);
    }
    free(md->m);
    free(md->src);
}

/* Files of the series in DIR (series names only), sorted. */
static size_t series_files(const char *series_dir, char names[][64], size_t max)
{
    DIR *d = opendir(series_dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && n < max &&
            strlen(e->d_name) < 64)
            strcpy(names[n++], e->d_name);
    closedir(d);
    qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* Messages and change lines in one archive, counted by the real age and
 * tar. */
static int archive_messages(const char *path)
{
    char *out = mp_strf("%s/count", dir);
    assert_int_equal(mp_sh("age -d -i '%s' '%s' | tar -tz | "
                           "grep -Ec '(^|/)cur/[^/]+$' > '%s'; true",
                           key, path, out),
                     0);
    char *text = mp_read_file(out, NULL);
    int n = atoi(text);
    free(text);
    free(out);
    return n;
}

static void restore_equals_source(const char *url, const char *src,
                                  const char *tag)
{
    char *out = mp_strf("%s/restore-%s", dir, tag);
    mp_rm_rf(out);
    char *to = mp_strf("maildir:%s", out);
    char *from = mp_strf("%s?identity=%s", url, key);
    mp_run_result r = mp_run("copy", from, to, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    size_t n_src, n_out;
    char *a = maildir_listing_lf(src, &n_src);
    char *b = maildir_listing_lf(out, &n_out);
    if (strcmp(a, b) != 0) {
        printf("source:\n%s\nrestored (%s):\n%s\n", a, tag, b);
        fail_msg("restore of the series differs from the source (%s)", tag);
    }
    free(a);
    free(b);
    /* Every archive holds the whole subscribed set (Dovecot's format:
     * names with TAB as the hierarchy separator). */
    char *subs_path = mp_strf("%s/subscriptions", out);
    char *subs = mp_read_file(subs_path, NULL);
    if (!strstr(subs, "\nINBOX\n") || !strstr(subs, "\nWork\n") ||
        !strstr(subs, "\nLists\tDev\n"))
        fail_msg("restored subscriptions (%s):\n%s", tag, subs);
    free(subs);
    free(subs_path);
    free(to);
    free(from);
    mp_rm_rf(out);
    free(out);
}

static void test_model_rounds(void **state)
{
    (void)state;
    const char *env = getenv("MP_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10)
                        : (unsigned)time(NULL) ^ (unsigned)getpid();
    printf("targz_series model: MP_SEED=%u\n", seed);
    model md = {.src = mp_strf("%s/model-src", dir), .seed = seed};
    model_folders(&md);
    char *series = mp_strf("%s/model-series", dir);
    char *url = mp_strf("targz-series:%s", series);
    char *dest = mp_strf("%s?recipient=%s", url, recipient);
    char *from = mp_strf("maildir:%s", md.src);
    char names[64][64];
    size_t expected_files = 0;
    for (int round = 0; round < 10; round++) {
        int added = 0, changes = 0;
        size_t first_new = md.n;
        if (round == 0) {
            for (int i = 0; i < 12; i++)
                add_message(&md);
        } else if (round != 4) { /* round 4 changes nothing */
            int k = rand_r(&md.seed) % 4;
            for (int i = 0; i < k; i++)
                add_message(&md);
            k = rand_r(&md.seed) % 4;
            for (int i = 0; i < k; i++)
                changes += change_flags(&md);
            k = rand_r(&md.seed) % 3;
            for (int i = 0; i < k; i++)
                changes += remove_message(&md);
        }
        /* New this round and still there (one may be removed at once). */
        for (size_t i = first_new; i < md.n; i++)
            added += md.m[i].live;
        mp_run_result r = mp_run("copy", "--delete", from, dest, "-q", NULL);
        mp_expect_exit(&r, 0);
        mp_run_free(&r);
        if (round == 0 || added || changes)
            expected_files++;
        size_t n = series_files(series, names, 64);
        if (n != expected_files)
            fail_msg("round %d (seed %u): %zu archives, expected %zu", round,
                     seed, n, expected_files);
        if (round == 0 || added || changes) {
            char *newest = mp_strf("%s/%s", series, names[n - 1]);
            int held = archive_messages(newest);
            if (held != added)
                fail_msg("round %d (seed %u): the new archive holds %d "
                         "messages, %d were new",
                         round, seed, held, added);
            free(newest);
        }
        char tag[16];
        snprintf(tag, sizeof tag, "r%d", round);
        restore_equals_source(url, md.src, tag);
    }
    /* verify reads the series as a store. */
    char *as_src = mp_strf("%s?identity=%s", url, key);
    mp_run_result r = mp_run("verify", from, as_src, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    free(from);
    free(as_src);
    free(series);
    free(url);
    free(dest);
    model_free(&md);
}

/* A small series of three archives (plain .tar.gz) for the fault cases;
 * returns its directory. */
static char *three_archives(const char *tag, unsigned seed, char **src_out)
{
    model md = {.src = mp_strf("%s/%s-src", dir, tag), .seed = seed};
    model_folders(&md);
    char *series = mp_strf("%s/%s-series", dir, tag);
    char *dest = mp_strf("targz-series:%s", series);
    char *from = mp_strf("maildir:%s", md.src);
    for (int round = 0; round < 3; round++) {
        add_message(&md);
        add_message(&md);
        mp_run_result r = mp_run("copy", from, dest, "-q", NULL);
        mp_expect_exit(&r, 0);
        mp_run_free(&r);
    }
    free(dest);
    free(from);
    *src_out = strdup(md.src);
    model_free(&md);
    return series;
}

static void test_middle_archive_missing_or_replaced(void **state)
{
    (void)state;
    char *src, *other_src;
    char *series = three_archives("gap", 7, &src);
    char *other = three_archives("other", 8, &other_src);
    char names[8][64], other_names[8][64];
    assert_int_equal(series_files(series, names, 8), 3);
    assert_int_equal(series_files(other, other_names, 8), 3);
    char *url = mp_strf("targz-series:%s", series);
    char *out = mp_strf("maildir:%s/gap-out", dir);

    /* Archive 2 replaced by another series' archive 2. */
    char *mid = mp_strf("%s/%s", series, names[1]);
    char *saved = mp_strf("%s/saved", dir);
    assert_int_equal(rename(mid, saved), 0);
    assert_int_equal(mp_sh("cp '%s/%s' '%s'", other, other_names[1], mid), 0);
    mp_run_result r = mp_run("copy", url, out, NULL);
    assert_int_not_equal(r.exit_code, 0);
    char *want = mp_strf("%s does not follow %s", names[2], names[1]);
    if (!strstr(r.err, want))
        mp_fail_showing(r.err, "no \"%s\"", want);
    mp_run_free(&r);
    free(want);

    /* Archive 2 missing. */
    assert_int_equal(unlink(mid), 0);
    r = mp_run("copy", url, out, NULL);
    assert_int_not_equal(r.exit_code, 0);
    if (!strstr(r.err, "archive 2 of the series is missing"))
        mp_fail_showing(r.err, "the missing archive is not named");
    mp_run_free(&r);
    char *out_dir = mp_strf("%s/gap-out", dir);
    assert_false(mp_file_exists(out_dir));

    /* Put back, the restore is whole again. */
    assert_int_equal(rename(saved, mid), 0);
    char *rest = mp_strf("%s/gap-out2", dir);
    char *to = mp_strf("maildir:%s", rest);
    r = mp_run("copy", url, to, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    size_t a_n, b_n;
    char *a = maildir_listing_lf(src, &a_n);
    char *b = maildir_listing_lf(rest, &b_n);
    assert_int_equal(a_n, 6);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(rest);
    free(to);
    free(out_dir);
    free(mid);
    free(saved);
    free(url);
    free(out);
    free(series);
    free(other);
    free(src);
    free(other_src);
}

/* The catalogue of SERIES under this test's XDG_STATE_HOME. */
static char *catalogue_dir(void)
{
    return mp_strf("%s/state/mailport/series", dir);
}

static void test_stale_or_lost_catalogue_starts_a_generation(void **state)
{
    (void)state;
    model md = {.src = mp_strf("%s/gen-src", dir), .seed = 11};
    model_folders(&md);
    char *series = mp_strf("%s/gen-series", dir);
    char *url = mp_strf("targz-series:%s", series);
    char *dest = mp_strf("%s?recipient=%s", url, recipient);
    char *from = mp_strf("maildir:%s", md.src);
    char *cat = catalogue_dir();
    char *cat_copy = mp_strf("%s/catalogue-copy", dir);
    for (int i = 0; i < 5; i++)
        add_message(&md);
    mp_run_result r = mp_run("copy", from, dest, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    /* A catalogue one archive behind: as after a run killed between the
     * rename of its archive and the catalogue's commit. */
    assert_int_equal(
        mp_sh("rm -rf '%s' && cp -a '%s' '%s'", cat_copy, cat, cat_copy), 0);
    add_message(&md);
    r = mp_run("copy", from, dest, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    assert_int_equal(
        mp_sh("rm -rf '%s' && cp -a '%s' '%s'", cat, cat_copy, cat), 0);
    add_message(&md);
    change_flags(&md);
    r = mp_run("copy", from, dest, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "starts a new generation") ||
        !strstr(r.err, "not the one the catalogue recorded"))
        mp_fail_showing(r.err, "no warning of the new generation");
    mp_run_free(&r);
    char names[8][64];
    assert_int_equal(series_files(series, names, 8), 3);
    char *third = mp_strf("%s/%s", series, names[2]);
    assert_int_equal(archive_messages(third), 7); /* full: every message */
    free(third);
    restore_equals_source(url, md.src, "stale");

    /* No catalogue at all (a new machine): a full archive again. */
    mp_rm_rf(cat);
    add_message(&md);
    r = mp_run("copy", from, dest, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "catalogue is missing"))
        mp_fail_showing(r.err, "no warning of the missing catalogue");
    mp_run_free(&r);
    assert_int_equal(series_files(series, names, 8), 4);
    char *fourth = mp_strf("%s/%s", series, names[3]);
    assert_int_equal(archive_messages(fourth), 8);
    free(fourth);
    restore_equals_source(url, md.src, "lost");

    /* The next pass builds on it: one new message, one archive of one. */
    add_message(&md);
    r = mp_run("copy", from, dest, NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    assert_int_equal(series_files(series, names, 8), 5);
    char *fifth = mp_strf("%s/%s", series, names[4]);
    assert_int_equal(archive_messages(fifth), 1);
    free(fifth);
    restore_equals_source(url, md.src, "after");
    free(cat);
    free(cat_copy);
    free(series);
    free(url);
    free(dest);
    free(from);
    model_free(&md);
}

static void test_leftovers_and_usage_errors(void **state)
{
    (void)state;
    char *src;
    char *series = three_archives("left", 9, &src);
    /* What a run killed outright leaves: a temporary of its archive, its
     * pid gone. */
    char *tmp = mp_strf("%s/.000004-20261207T101010Z.tar.gz.tmp-%d-0badc0de",
                        series, 999999999);
    mp_write_file(tmp, "partial", 7);
    char *from = mp_strf("maildir:%s", src);
    char *url = mp_strf("targz-series:%s", series);
    mp_run_result r = mp_run("copy", from, url, "-v", NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "left by an interrupted run"))
        mp_fail_showing(r.err, "the leftover was not reported");
    mp_run_free(&r);
    assert_false(mp_file_exists(tmp));

    char *bad = mp_strf("%s?format=zip", url);
    r = mp_run("copy", from, bad, NULL);
    mp_expect_exit(&r, 2);
    assert_non_null(strstr(r.err, "format=zip: give tar.gz, tar.zst or tar"));
    mp_run_free(&r);

    char *file = mp_strf("targz-series:%s/%s", series, "not-a-dir");
    char *file_path = mp_strf("%s/not-a-dir", series);
    mp_write_file(file_path, "x", 1);
    r = mp_run("copy", from, file, NULL);
    mp_expect_exit(&r, 2);
    assert_non_null(strstr(r.err, "is not a directory"));
    mp_run_free(&r);

    /* An encrypted series opened without its key. */
    char *enc = mp_strf("targz-series:%s/enc?recipient=%s", dir, recipient);
    r = mp_run("copy", from, enc, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    char *enc_read = mp_strf("targz-series:%s/enc", dir);
    char *out = mp_strf("maildir:%s/enc-out", dir);
    r = mp_run("copy", enc_read, out, NULL);
    mp_expect_exit(&r, 2);
    if (!strstr(r.err, "identity="))
        mp_fail_showing(r.err, "the key parameters are not named");
    mp_run_free(&r);

    /* An empty directory is no series. */
    char *empty = mp_strf("%s/empty", dir);
    mkdirs(empty);
    char *empty_url = mp_strf("targz-series:%s", empty);
    r = mp_run("copy", empty_url, out, NULL);
    assert_int_not_equal(r.exit_code, 0);
    assert_non_null(strstr(r.err, "holds no archive of a series"));
    mp_run_free(&r);
    free(empty);
    free(empty_url);
    free(enc);
    free(enc_read);
    free(out);
    free(file);
    free(file_path);
    free(bad);
    free(tmp);
    free(from);
    free(url);
    free(series);
    free(src);
}

/* Without a sync state the pass pairs by content; a message without a
 * Message-ID needs the destination's bodies, which an encrypted series
 * shows only with its key. Without it the folder fails, counted and
 * named (exit 1), never silently; with it nothing is copied twice. */
static void test_no_state_pairing_needs_the_key(void **state)
{
    (void)state;
    char *src = mp_strf("%s/nostate-src", dir);
    make_folder(src, "");
    const char *msgs[] = {
        "From: a@example.org\nSubject: no id\n\nbody one\n",
        "From: a@example.org\nSubject: with id\nMessage-ID: <x@y>\n\nb\n",
    };
    for (int i = 0; i < 2; i++) {
        char *path = mp_strf("%s/cur/%d.nostate:2,S", src, 1000 + i);
        mp_write_file(path, msgs[i], strlen(msgs[i]));
        free(path);
    }
    char *from = mp_strf("maildir:%s", src);
    char *url = mp_strf("targz-series:%s/nostate?recipient=%s", dir, recipient);
    mp_run_result r = mp_run("copy", from, url, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    r = mp_run("copy", "--no-state", from, url, NULL);
    mp_expect_exit(&r, 1);
    if (!strstr(r.err, "folder INBOX: cannot read the destination") ||
        !strstr(r.err, "identity=") || !strstr(r.err, "failed 2"))
        mp_fail_showing(r.err, "the folder's failure is not told");
    mp_run_free(&r);
    char *keyed = mp_strf("%s&identity=%s", url, key);
    r = mp_run("copy", "--no-state", from, keyed, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "copied 0, already present 2"))
        mp_fail_showing(r.err, "the pass did not pair both messages");
    mp_run_free(&r);
    free(keyed);
    free(url);
    free(from);
    free(src);
}

/* The writer never extends a broken chain: an archive of the generation
 * gone, or the newest one changed since, makes the next archive a full
 * one (with a warning), so the series restores again. */
static void test_writer_starts_over_after_a_break(void **state)
{
    (void)state;
    char *src;
    char *series = three_archives("break", 10, &src);
    char names[8][64];
    assert_int_equal(series_files(series, names, 8), 3);
    char *url = mp_strf("targz-series:%s", series);
    char *from = mp_strf("maildir:%s", src);
    char *mid = mp_strf("%s/%s", series, names[1]);
    char *away = mp_strf("%s/break-away", dir);
    assert_int_equal(rename(mid, away), 0);
    char *extra = mp_strf("%s/cur/1999.break:2,S", src);
    const char *text = "From: b@example.org\nMessage-ID: <break@x>\n\nb\n";
    mp_write_file(extra, text, strlen(text));
    mp_run_result r = mp_run("copy", from, url, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "an archive of the current generation is missing") ||
        !strstr(r.err, "starts a new generation"))
        mp_fail_showing(r.err, "a gap in the chain was not told");
    mp_run_free(&r);
    assert_int_equal(series_files(series, names, 8), 3);
    char *full = mp_strf("%s/%s", series, names[2]);
    char *listing = mp_strf("%s/break-count", dir);
    assert_int_equal(mp_sh("tar -tzf '%s' | grep -Ec '(^|/)cur/[^/]+$' > '%s'",
                           full, listing),
                     0);
    char *count = mp_read_file(listing, NULL);
    assert_int_equal(atoi(count), 7); /* all six, and the new one */
    free(count);
    char *out = mp_strf("%s/break-out", dir);
    char *to = mp_strf("maildir:%s", out);
    r = mp_run("copy", url, to, "-q", NULL);
    mp_expect_exit(&r, 0);
    mp_run_free(&r);
    size_t na, nb;
    char *a = maildir_listing_lf(src, &na);
    char *b = maildir_listing_lf(out, &nb);
    assert_string_equal(a, b);
    free(a);
    free(b);

    /* The newest archive damaged: the next run starts over too. */
    assert_int_equal(mp_sh("printf X | dd of='%s' bs=1 seek=100 conv=notrunc "
                           "2>/dev/null",
                           full),
                     0);
    mp_write_file(extra, text, strlen(text) - 2); /* its bytes changed */
    r = mp_run("copy", from, url, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "the newest archive's bytes are not those"))
        mp_fail_showing(r.err, "a damaged newest archive was not told");
    mp_run_free(&r);
    free(out);
    free(to);
    free(listing);
    free(full);
    free(extra);
    free(mid);
    free(away);
    free(url);
    free(from);
    free(series);
    free(src);
}

/* Messages sharing a Message-ID in the source: the pass hashes them, and
 * reads no destination body when none in the series shares it, so an
 * encrypted series needs no key for it (its first run, and the next). */
static void test_shared_ids_need_no_key(void **state)
{
    (void)state;
    char *src = mp_strf("%s/dup-src", dir);
    for (size_t i = 0; i < 3; i++)
        make_folder(src, folders[i]);
    const char *body[] = {"one\n", "two\n", "three\n"};
    for (int i = 0; i < 1; i++) {
        char *path = mp_strf("%s/cur/%d.dup:2,S", src, 3000 + i);
        char *text =
            mp_strf("From: d@example.org\nMessage-ID: <same@x>\n\n%s", body[i]);
        mp_write_file(path, text, strlen(text));
        free(text);
        free(path);
    }
    char *from = mp_strf("maildir:%s", src);
    char *url = mp_strf("targz-series:%s/dup?recipient=%s", dir, recipient);
    mp_run_result r = mp_run("copy", from, url, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "copied 1,") || strstr(r.err, "warning"))
        mp_fail_showing(r.err, "the first run did not copy it quietly");
    mp_run_free(&r);
    /* Two more with that Message-ID: hashed on the source side; the
     * series' copy is the state's, so none of its bodies is read. */
    for (int i = 1; i < 3; i++) {
        char *p2 = mp_strf("%s/cur/%d.dup:2,S", src, 3000 + i);
        char *t2 =
            mp_strf("From: d@example.org\nMessage-ID: <same@x>\n\n%s", body[i]);
        mp_write_file(p2, t2, strlen(t2));
        free(t2);
        free(p2);
    }
    char *path = mp_strf("%s/cur/3003.dup:2,", src);
    const char *text = "From: d@example.org\nMessage-ID: <new@x>\n\nnew\n";
    mp_write_file(path, text, strlen(text));
    r = mp_run("copy", from, url, NULL);
    mp_expect_exit(&r, 0);
    if (!strstr(r.err, "copied 3, already present 1") ||
        strstr(r.err, "warning"))
        mp_fail_showing(r.err, "the second run did not copy three quietly");
    mp_run_free(&r);
    char *plain = mp_strf("targz-series:%s/dup", dir);
    restore_equals_source(plain, src, "dup");
    free(plain);
    free(path);
    free(from);
    free(url);
    free(src);
}

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("series");
    char *st = mp_strf("%s/state", dir);
    setenv("XDG_STATE_HOME", st, 1);
    free(st);
    key = mp_strf("%s/key.txt", dir);
    if (mp_sh("age-keygen -o '%s' 2>/dev/null", key) != 0)
        return -1;
    char *pub = mp_strf("%s/pub", dir);
    mp_sh("age-keygen -y '%s' > '%s'", key, pub);
    char *text = mp_read_file(pub, NULL);
    snprintf(recipient, sizeof recipient, "%.*s", (int)strcspn(text, "\n"),
             text);
    free(text);
    free(pub);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    free(key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_rounds),
        cmocka_unit_test(test_middle_archive_missing_or_replaced),
        cmocka_unit_test(test_stale_or_lost_catalogue_starts_a_generation),
        cmocka_unit_test(test_leftovers_and_usage_errors),
        cmocka_unit_test(test_no_state_pairing_needs_the_key),
        cmocka_unit_test(test_writer_starts_over_after_a_break),
        cmocka_unit_test(test_shared_ids_need_no_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
