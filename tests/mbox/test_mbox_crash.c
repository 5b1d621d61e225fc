/* The mbox sink survives being killed mid-append (issue 8.2).
 *
 * Ops level: a writer process that dies (no close, as kill -9) in the
 * middle of a message leaves its commit record; the next open cuts the
 * file back to the last flushed length, and only then. A record that no
 * longer describes the file (something else appended, the file was
 * edited or replaced) cuts nothing. A second writer is refused while one
 * holds the file.
 *
 * Through the binary: Maildir -> mbox runs killed with SIGKILL at random
 * moments (seeded; the seed is printed, MP_TEST_SEED repeats it), then one
 * run to the end: the mbox must split into exactly the source messages,
 * byte for byte, each once, and `mailport verify` must agree. */
#include "mbox_reference.h"
#include "mbox_testkit.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("mbox-crash");
    /* The destination lock of each run goes here, not under $HOME. */
    char *xdg = mp_strf("%s/xdg", dir);
    mkdir(xdg, 0700);
    setenv("XDG_STATE_HOME", xdg, 1);
    free(xdg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

static char *record_of(const char *mbox_dir, const char *name)
{
    return mp_strf("%s/.%s.mailport-committed", mbox_dir, name);
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

/* The committed length a record file holds. */
static uint64_t recorded_length(const char *record)
{
    char *text = mp_read_file(record, NULL);
    const char *p = strstr(text, "length=");
    assert_non_null(p);
    uint64_t v = strtoull(p + 7, NULL, 10);
    free(text);
    return v;
}

/* ---- ops level ------------------------------------------------------- */

static char *numbered(int i)
{
    return mp_strf("Subject: message %d\n\nFrom the body of %d\n>From quoted\n",
                   i, i);
}

/* Append message I (numbered(I)) to FOLDER. */
static mp_status put_numbered(void *folder, int i)
{
    char *m = numbered(i);
    char key[32];
    mp_status st = mbt_put(folder, m, 4096, 1700000000, 0, key, sizeof key);
    free(m);
    return st;
}

/* In a child process: append FLUSHED messages to URL's INBOX and flush,
 * then UNFLUSHED complete ones, then begin one more and write only part
 * of it; then die without closing anything, as kill -9 would leave it. */
static void killed_writer(const char *url, int flushed, int unflushed)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mbt_endpoint e;
        void *folder;
        mp_folder_info info;
        if (mbt_open(&e, url, 1) != MP_OK ||
            mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info) !=
                MP_OK)
            _exit(10);
        int i = 0;
        for (; i < flushed; i++)
            if (put_numbered(folder, i) != MP_OK)
                _exit(11);
        if (mbox_sink_ops.flush(folder) != MP_OK)
            _exit(12);
        for (; i < flushed + unflushed; i++)
            if (put_numbered(folder, i) != MP_OK)
                _exit(13);
        mp_msg_info mi = {.struct_size = sizeof mi,
                          .key = "src",
                          .internal_date = 1700000000};
        void *p;
        if (mbox_sink_ops.put_begin(folder, &mi, &p) != MP_OK)
            _exit(14);
        /* More than the sink's 64 KiB buffer, so part of it is written. */
        size_t big = 200 * 1024;
        char *body = malloc(big);
        memset(body, 'x', big);
        memcpy(body, "Subject: cut\n\n", 14);
        for (size_t k = 100; k < big; k += 100)
            body[k] = '\n';
        if (mbox_sink_ops.put_write(p, body, big) != MP_OK)
            _exit(15);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Open URL's INBOX for writing and close it again; the log it made. */
static char *open_and_close(const char *url, mp_status want)
{
    mbt_endpoint e;
    assert_int_equal(mbt_open(&e, url, 1), MP_OK);
    void *folder;
    mp_folder_info info;
    mp_status st = mbox_sink_ops.open_folder(e.store, "INBOX", &folder, &info);
    assert_int_equal(st, want);
    if (st == MP_OK)
        assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
    mbt_close(&e, 1);
    return mbt_take_log();
}

static void assert_messages(const char *url, int n)
{
    mbt_folder f = mbt_read(url, "INBOX");
    assert_int_equal(f.status, MP_OK);
    if (f.n != (size_t)n)
        fail_msg("%s holds %zu messages, expected %d", url, f.n, n);
    for (int i = 0; i < n; i++) {
        char *m = numbered(i);
        assert_string_equal(f.msgs[i].data, m);
        free(m);
    }
    mbt_folder_free(&f);
}

static void killed_append_is_cut_back(void **state)
{
    (void)state;
    char *path = mp_strf("%s/cut.mbox", dir);
    char *url = mp_strf("mbox:%s", path);
    char *record = record_of(dir, "cut.mbox");
    killed_writer(url, 3, 2);
    /* The record says where the last flush left the file. */
    assert_true(mp_file_exists(record));
    uint64_t committed = recorded_length(record);
    assert_true(committed > 0);
    assert_true(file_size(path) > committed + 64 * 1024);

    char *log = open_and_close(url, MP_OK);
    assert_contains(log, "removed the");
    assert_contains(log, "interrupted run");
    free(log);
    assert_int_equal(file_size(path), committed);
    /* The two complete but unflushed messages go too: no state recorded
     * them, so the next run copies them again. */
    assert_messages(url, 3);
    /* A clean close leaves no record behind. */
    assert_false(mp_file_exists(record));
    char *tmp = mp_strf("%s.tmp", record);
    assert_false(mp_file_exists(tmp));
    free(tmp);

    /* An mbox that never saw a record is left as it is. */
    log = open_and_close(url, MP_OK);
    assert_string_equal(log, "");
    free(log);
    assert_int_equal(file_size(path), committed);
    free(record);
    free(url);
    free(path);
}

/* The first append of a run is covered too: the record is written before
 * the first byte, with the length the file had. */
static void first_append_of_a_run_is_covered(void **state)
{
    (void)state;
    char *path = mp_strf("%s/first.mbox", dir);
    char *url = mp_strf("mbox:%s", path);
    /* An mbox some earlier, clean run wrote. */
    mbt_endpoint e;
    void *folder = mbt_open_inbox(&e, url);
    for (int i = 0; i < 2; i++)
        assert_int_equal(put_numbered(folder, i), MP_OK);
    assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
    mbt_close(&e, 1);
    uint64_t before = file_size(path);

    killed_writer(url, 0, 0); /* dies inside its very first append */
    assert_true(file_size(path) > before);
    char *log = open_and_close(url, MP_OK);
    assert_contains(log, "removed the");
    free(log);
    assert_int_equal(file_size(path), before);
    assert_messages(url, 2);
    free(url);
    free(path);
}

/* A record that does not describe the file any more cuts nothing. */
static void stale_record_cuts_nothing(void **state)
{
    (void)state;
    const char *foreign = "\nFrom alice@example.org Mon Jan  1 00:00:00 2024\n"
                          "Subject: delivered by someone else\n\nhello\n\n";
    for (int variant = 0; variant < 3; variant++) {
        char *name = mp_strf("stale-%d.mbox", variant);
        char *path = mp_strf("%s/%s", dir, name);
        char *url = mp_strf("mbox:%s", path);
        char *record = record_of(dir, name);
        killed_writer(url, 2, 0);
        uint64_t committed = recorded_length(record);
        const char *why;
        if (variant == 0) {
            /* Another program appended a message after the dead run. */
            FILE *f = fopen(path, "ab");
            assert_non_null(f);
            fputs(foreign, f);
            fclose(f);
            why = "not written by mailport";
        } else if (variant == 1) {
            /* The part before the committed length was edited. */
            int fd = open(path, O_WRONLY);
            assert_true(fd >= 0);
            assert_int_equal(pwrite(fd, "X", 1, (off_t)committed - 10), 1);
            close(fd);
            why = "changed before the recorded length";
        } else {
            /* The file was replaced by a copy (another inode). */
            char *copy = mp_strf("%s.copy", path);
            assert_int_equal(
                mp_sh("cp '%s' '%s' && mv '%s' '%s'", path, copy, copy, path),
                0);
            free(copy);
            why = "replaced";
        }
        uint64_t size = file_size(path);
        char *log = open_and_close(url, MP_OK);
        assert_contains(log, "ignoring the commit record");
        assert_contains(log, why);
        free(log);
        assert_int_equal(file_size(path), size);
        assert_false(mp_file_exists(record));
        free(record);
        free(url);
        free(path);
        free(name);
    }
}

/* In a directory store the records are hidden: never listed as folders. */
static void records_are_not_folders(void **state)
{
    (void)state;
    char *tree = mp_strf("%s/tree", dir);
    char *inbox_url = mp_strf("mbox:%s/INBOX", tree);
    mkdir(tree, 0700);
    killed_writer(inbox_url, 1, 0);
    char *record = record_of(tree, "INBOX");
    assert_true(mp_file_exists(record));
    char *url = mp_strf("mbox:%s/", tree);
    char *names = mbt_list(url, 1);
    assert_string_equal(names, "INBOX");
    free(names);
    free(url);
    free(record);
    free(inbox_url);
    free(tree);
}

/* While one store appends to a file, another is refused it (it could
 * otherwise cut back what the first is writing). */
static void second_writer_is_refused(void **state)
{
    (void)state;
    char *path = mp_strf("%s/locked.mbox", dir);
    char *url = mp_strf("mbox:%s", path);
    mbt_endpoint e;
    void *folder = mbt_open_inbox(&e, url);
    mp_folder_info info;
    mbt_endpoint e2;
    assert_int_equal(mbt_open(&e2, url, 1), MP_OK);
    void *folder2;
    assert_int_equal(
        mbox_sink_ops.open_folder(e2.store, "INBOX", &folder2, &info),
        MP_FOLDER_BAD);
    assert_contains(e2.host.err, "locked by another process");
    mbt_close(&e2, 1);
    assert_int_equal(mbox_sink_ops.close_folder(folder), MP_OK);
    mbt_close(&e, 1);
    char *log = open_and_close(url, MP_OK);
    free(log);
    free(url);
    free(path);
}

/* ---- through the binary, killed at random moments ---------------------- */

/* xorshift64*, seeded by the test. */
static uint64_t rng;
static uint64_t next_random(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}
static uint64_t random_below(uint64_t n)
{
    return n ? next_random() % n : 0;
}

typedef struct source_msg {
    char *data;
    size_t len;
} source_msg;

#define N_MSGS 48

/* A Maildir of N_MSGS messages: most small, every fourth one 0.5-3 MB, so
 * that a kill is likely to land inside an append. Lines "From ..." in the
 * bodies get quoted in the mbox; every message ends in a newline. */
static char *make_source(source_msg *msgs)
{
    char *src = mp_strf("%s/src", dir);
    const char *sub[] = {"", "/cur", "/new", "/tmp"};
    for (int i = 0; i < 4; i++) {
        char *d = mp_strf("%s%s", src, sub[i]);
        mkdir(d, 0700);
        free(d);
    }
    for (int i = 0; i < N_MSGS; i++) {
        size_t size = i % 4 == 3 ? (512u << 10) + random_below(5u << 19)
                                 : 200 + random_below(20000);
        char *head = mp_strf("Message-ID: <crash.%d@example.org>\n"
                             "Subject: crash %d\n"
                             "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n",
                             i, i);
        size_t hl = strlen(head);
        char *m = malloc(hl + size + 2); /* + final newline and NUL */
        memcpy(m, head, hl);
        size_t len = hl;
        while (len < hl + size) {
            static const char *const lines[] = {
                "From the depths of a body line\n", ">From already quoted\n",
                "plain text of some length, with words\n", "\n"};
            const char *l = lines[random_below(4)];
            size_t n = strlen(l);
            if (len + n > hl + size)
                break;
            memcpy(m + len, l, n);
            len += n;
        }
        m[len++] = '\n';
        m[len] = '\0';
        free(head);
        msgs[i].data = m;
        msgs[i].len = len;
        char *path = mp_strf("%s/cur/1700000000.M%dP1.test:2,", src, i);
        mp_write_file(path, m, len);
        free(path);
    }
    return src;
}

static int by_content(const void *a, const void *b)
{
    const ref_msg *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Split the mbox at PATH and compare with the source: exactly the source
 * messages, each once, byte for byte. */
static void assert_mbox_is_source(const char *path, source_msg *msgs)
{
    size_t len;
    char *buf = mp_read_file(path, &len);
    ref_split r = mbox_ref_split(buf, len, 1);
    free(buf);
    ref_msg want[N_MSGS];
    for (int i = 0; i < N_MSGS; i++)
        want[i] = (ref_msg){.data = msgs[i].data, .len = msgs[i].len};
    qsort(want, N_MSGS, sizeof want[0], by_content);
    qsort(r.msgs, r.n, sizeof r.msgs[0], by_content);
    size_t matched = 0, extra = 0;
    size_t i = 0, k = 0;
    while (i < N_MSGS && k < r.n) {
        int c = by_content(&want[i], &r.msgs[k]);
        if (c == 0) {
            matched++;
            i++;
            k++;
        } else if (c < 0) {
            i++;
        } else {
            extra++;
            k++;
        }
    }
    extra += r.n - k;
    if (r.n != N_MSGS || matched != N_MSGS)
        fail_msg("%s splits into %zu messages: %zu of the %d source messages "
                 "byte for byte, %zu others (truncated or doubled)",
                 path, r.n, matched, N_MSGS, extra);
    mbox_ref_free(&r);
}

/* Start mailport with ARGV (NULL-terminated, without the program), its
 * output into LOG. */
static pid_t start_mailport(const char *const *args, const char *log)
{
    const char *bin = getenv("MAILPORT_BIN");
    const char *argv[16];
    size_t n = 0;
    argv[n++] = bin ? bin : MP_TEST_BINARY_DIR "/mailport";
    for (; args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* As mp_run: the sanitizer build gives mailport its own options. */
    const char *child_asan = getenv("MP_CHILD_ASAN_OPTIONS");
    char *saved =
        getenv("ASAN_OPTIONS") ? strdup(getenv("ASAN_OPTIONS")) : NULL;
    if (child_asan)
        setenv("ASAN_OPTIONS", child_asan, 1);
    pid_t pid;
    int rc =
        posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    if (child_asan) {
        if (saved)
            setenv("ASAN_OPTIONS", saved, 1);
        else
            unsetenv("ASAN_OPTIONS");
    }
    free(saved);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(rc));
    return pid;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for PID; its exit status, 128+N for signal N. */
static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Has PID ended? (Looks without reaping it.) */
static int exited(pid_t pid)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == pid;
}

/* Did the last message in the mbox at PATH stop short of its source?
 * Only the file's tail is split (the biggest message is under 3 MB): the
 * last line that starts with "From " begins the last message. */
static int ends_mid_message(const char *path, source_msg *msgs)
{
    uint64_t size = file_size(path);
    size_t n = size < (4u << 20) ? (size_t)size : (4u << 20);
    char *buf = malloc(n + 1);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, (off_t)(size - n)), (ssize_t)n);
    close(fd);
    buf[n] = '\0';
    size_t start = n;
    while (start > 0 && !((start == 1 || buf[start - 2] == '\n') &&
                          strncmp(buf + start - 1, "From ",
                                  n - start + 1 < 5 ? n - start + 1 : 5) == 0))
        start--;
    int cut = 1;
    if (start > 0) {
        ref_split r = mbox_ref_split(buf + start - 1, n - start + 1, 1);
        if (r.n == 1) {
            ref_msg *m = &r.msgs[0];
            const char *s = strstr(m->data, "Subject: crash ");
            int i = s ? atoi(s + 15) : -1;
            cut = i < 0 || i >= N_MSGS || m->len != msgs[i].len ||
                  memcmp(m->data, msgs[i].data, m->len) != 0;
        }
        mbox_ref_free(&r);
    }
    free(buf);
    return cut;
}

static void killed_at_random_moments(void **state)
{
    (void)state;
    const char *env_seed = getenv("MP_TEST_SEED");
    uint64_t seed = env_seed
                        ? strtoull(env_seed, NULL, 10)
                        : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
    print_message("seed %" PRIu64 " (MP_TEST_SEED=%" PRIu64 " repeats it)\n",
                  seed, seed);
    rng = seed * 2654435761u + 1;

    source_msg msgs[N_MSGS];
    char *src = make_source(msgs);
    uint64_t total = 0;
    for (int i = 0; i < N_MSGS; i++)
        total += msgs[i].len;
    char *src_url = mp_strf("maildir:%s", src);
    char *log = mp_strf("%s/run.log", dir);

    /* An uninterrupted run, for its duration (and as a baseline). */
    char *calib = mp_strf("%s/calibration.mbox", dir);
    char *calib_url = mp_strf("mbox:%s", calib);
    char *calib_state = mp_strf("%s/calibration.db", dir);
    long long t0 = now_ms();
    const char *cargs[] = {"copy",    src_url,     calib_url,
                           "--state", calib_state, NULL};
    assert_int_equal(reap(start_mailport(cargs, log)), 0);
    long long full_ms = now_ms() - t0;
    assert_mbox_is_source(calib, msgs);

    int kills = 0, mid_append = 0, mid_message = 0;
    /* Three rounds; then, if no kill has yet landed inside a message (a
     * seed can miss), up to seven more whose kills are all picked by
     * progress, so the run tests what it is for without flaking. */
    const int rounds = 3, extra_rounds = 7, kills_per_round = 4;
    for (int round = 0;
         round < rounds || (mid_message == 0 && round < rounds + extra_rounds);
         round++) {
        char *name = mp_strf("dest-%d.mbox", round);
        char *mbox = mp_strf("%s/%s", dir, name);
        char *mbox_url = mp_strf("mbox:%s", mbox);
        char *st = mp_strf("%s/dest-%d.db", dir, round);
        char *record = record_of(dir, name);
        const char *args[] = {"copy", src_url, mbox_url, "--state", st, NULL};
        /* A run after a killed one first waits 2 s for the destination
         * to settle (core/copy.c), then cuts the mbox back. */
        long long settle_ms = 0;
        for (int k = 0; k < kills_per_round; k++) {
            pid_t pid = start_mailport(args, log);
            uint64_t how = round < rounds ? random_below(4) : 2;
            if (how == 0) {
                /* A moment picked by time, early: start-up, the wait after
                 * a killed run, the cut-back. */
                usleep((useconds_t)random_below((uint64_t)(settle_ms + 100) *
                                                1000));
            } else if (how == 1) {
                /* A moment picked by time, while it copies. */
                usleep((useconds_t)(settle_ms + (long long)random_below(
                                                    (uint64_t)full_ms)) *
                       1000);
            } else {
                /* A moment picked by progress: once the mbox has grown to
                 * a random size short of the whole, plus up to 3 ms. */
                uint64_t at = mp_file_exists(mbox) ? file_size(mbox) : 0;
                uint64_t last = total - total / 8;
                uint64_t target =
                    at + 1 + random_below(at < last ? last - at : 1);
                long long give_up = now_ms() + 30000;
                while (now_ms() < give_up &&
                       (!mp_file_exists(mbox) || file_size(mbox) < target) &&
                       !exited(pid))
                    usleep(200);
                usleep((useconds_t)random_below(3000));
            }
            kill(pid, SIGKILL);
            int code = reap(pid);
            if (code == 0)
                break; /* it completed: nothing is left to interrupt */
            if (code != 128 + SIGKILL) {
                char *out = mp_read_file(log, NULL);
                fail_msg("an interrupted run's successor exited %d:\n%s", code,
                         out);
            }
            kills++;
            settle_ms = 2000;
            if (mp_file_exists(record) && mp_file_exists(mbox) &&
                file_size(mbox) > recorded_length(record)) {
                mid_append++;
                mid_message += ends_mid_message(mbox, msgs);
            }
        }
        assert_int_equal(reap(start_mailport(args, log)), 0);
        assert_mbox_is_source(mbox, msgs);
        assert_false(mp_file_exists(record));
        if (round == rounds - 1) {
            /* Once (it takes 20 s under ASan): verify agrees. */
            const char *vargs[] = {"verify", src_url, mbox_url, NULL};
            int v = reap(start_mailport(vargs, log));
            if (v != 0) {
                char *out = mp_read_file(log, NULL);
                fail_msg("verify exit %d:\n%s", v, out);
            }
        }
        free(record);
        free(st);
        free(mbox_url);
        free(mbox);
        free(name);
    }
    print_message("%d runs killed (a full run takes %lld ms): %d left bytes "
                  "after the committed length, %d of them inside a message\n",
                  kills, full_ms, mid_append, mid_message);
    /* The test must have tested something. */
    assert_true(mid_message > 0);

    for (int i = 0; i < N_MSGS; i++)
        free(msgs[i].data);
    free(calib_state);
    free(calib_url);
    free(calib);
    free(log);
    free(src_url);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_append_is_cut_back),
        cmocka_unit_test(first_append_of_a_run_is_covered),
        cmocka_unit_test(stale_record_cuts_nothing),
        cmocka_unit_test(records_are_not_folders),
        cmocka_unit_test(second_writer_is_refused),
        cmocka_unit_test(killed_at_random_moments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
