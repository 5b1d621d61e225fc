/* Archive temporary files and interrupted runs (issue 8.3), through the
 * mailport binary, checked with the real tar:
 *   - kill -9 mid-write leaves ".NAME.tmp-PID-XXXXXXXX"; the next run to
 *     the same target removes it (and only it), and writes a whole archive;
 *   - SIGTERM stops the run cleanly and the writer deletes its temporary;
 *     a second SIGTERM kills it, and the next run cleans up;
 *   - a running (here: stopped) writer's temporary is never removed by
 *     another run; when that writer finds its name taken at the end, it
 *     fails cleanly and deletes its temporary. */
#include "testutil.h"

#include "mdlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static char *dir; /* scratch */
static char *src; /* the source Maildir */
static char *src_url;

#define N_MSGS 240

/* Messages of about 120 KB of pseudo-random text (gzip gains little), so
 * that writing the archive takes a while. */
static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("targz-interrupt");
    src = mp_strf("%s/src", dir);
    assert_int_equal(
        mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", src, src, src), 0);
    uint64_t x = 88172645463325252ull;
    size_t cap = 130000;
    char *m = malloc(cap);
    for (int i = 0; i < N_MSGS; i++) {
        size_t len = (size_t)snprintf(m, cap,
                                      "Message-ID: <int.%d@example.org>\n"
                                      "Subject: interrupt %d\n\n",
                                      i, i);
        while (len < 120000) {
            for (int k = 0; k < 72; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                m[len++] = (char)('!' + x % 90);
            }
            m[len++] = '\n';
        }
        char *path = mp_strf("%s/cur/1700000000.M%dP1.test:2,S", src, i);
        mp_write_file(path, m, len);
        free(path);
    }
    free(m);
    src_url = mp_strf("maildir:%s", src);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    free(src);
    free(src_url);
    return 0;
}

/* Names in DIR that start with PREFIX; the first one into *FIRST (when
 * given, malloc'd). */
static int count_prefixed(const char *d, const char *prefix, char **first)
{
    DIR *dh = opendir(d);
    assert_non_null(dh);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (first && n == 0)
            *first = strdup(e->d_name);
        n++;
    }
    closedir(dh);
    return n;
}

/* Set NAME to VALUE; returns the old value (malloc'd, or NULL) for
 * put_env. */
static char *swap_env(const char *name, const char *value)
{
    char *old = getenv(name) ? strdup(getenv(name)) : NULL;
    setenv(name, value, 1);
    return old;
}

static void put_env(const char *name, char *old)
{
    if (old)
        setenv(name, old, 1);
    else
        unsetenv(name);
    free(old);
}

/* Start `mailport copy SOURCE URL` with $XDG_STATE_HOME set to XDG (its
 * own destination lock, as for a run with another state directory), its
 * output into LOG. */
static pid_t start_copy(const char *url, const char *xdg, const char *log)
{
    const char *bin = getenv("MAILPORT_BIN");
    char *const argv[] = {(char *)(bin ? bin : MP_TEST_BINARY_DIR "/mailport"),
                          "copy", src_url, (char *)url, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    char *saved_xdg = swap_env("XDG_STATE_HOME", xdg);
    const char *child_asan = getenv("MP_CHILD_ASAN_OPTIONS"); /* as mp_run */
    char *saved_asan = child_asan ? swap_env("ASAN_OPTIONS", child_asan) : NULL;
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    put_env("XDG_STATE_HOME", saved_xdg);
    if (child_asan)
        put_env("ASAN_OPTIONS", saved_asan);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(rc));
    return pid;
}

static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Wait until the temporary file ".NAME.tmp-..." of PID, the only one in
 * D, holds more than 1 MB; its name (malloc'd). */
/* Wait until PID's temporary for NAME in D has passed 1 MB, then stop PID
 * (SIGSTOP) and return the temporary's name: the caller signals it and
 * resumes it with SIGCONT. */
static char *wait_for_temp(const char *d, const char *name, pid_t pid)
{
    char *prefix = mp_strf(".%s.tmp-", name);
    for (int i = 0; i < 30000; i++) {
        char *tmp = NULL;
        if (count_prefixed(d, prefix, &tmp) == 1) {
            char *path = mp_strf("%s/%s", d, tmp);
            struct stat sb;
            int big = stat(path, &sb) == 0 && sb.st_size > (1 << 20);
            free(path);
            if (big) {
                /* Frozen at once: on a loaded machine the rest of the
                 * archive (a second's work) could otherwise be written
                 * before the signal the caller sends next. */
                kill(pid, SIGSTOP);
                free(prefix);
                return tmp;
            }
        }
        free(tmp);
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("mailport ended before its archive grew past 1 MB");
        usleep(1000);
    }
    fail_msg("no temporary file %s* in %s", prefix, d);
    return NULL;
}

static char *xdg_dir(const char *tag)
{
    char *x = mp_strf("%s/xdg-%s", dir, tag);
    mkdir(x, 0700);
    return x;
}

/* One test's directory D with the target D/NAME, its URL, a state
 * directory of its own and a log file. */
typedef struct scene {
    char *d, *name, *arch, *url, *xdg, *log, *temp_prefix;
} scene;

static scene scene_new(const char *tag, const char *name)
{
    scene sc;
    sc.d = mp_strf("%s/%s", dir, tag);
    mkdir(sc.d, 0700);
    sc.name = strdup(name);
    sc.arch = mp_strf("%s/%s", sc.d, name);
    sc.url = mp_strf("targz:%s", sc.arch);
    sc.xdg = xdg_dir(tag);
    sc.log = mp_strf("%s/%s.log", dir, tag);
    sc.temp_prefix = mp_strf(".%s.tmp-", name);
    return sc;
}

static void scene_free(scene *sc)
{
    free(sc->d);
    free(sc->name);
    free(sc->arch);
    free(sc->url);
    free(sc->xdg);
    free(sc->log);
    free(sc->temp_prefix);
}

/* The archive at ARCH holds the source: extracted by tar, the same
 * Maildir; mailport verify agrees. */
static void assert_archive_is_source(const char *arch)
{
    char *out = mp_strf("%s.restored", arch);
    assert_int_equal(
        mp_sh("mkdir -p '%s' && tar -xzf '%s' -C '%s'", out, arch, out), 0);
    size_t n_src, n_out;
    char *want = maildir_listing(src, &n_src);
    char *got = maildir_listing(out, &n_out);
    assert_int_equal(n_src, N_MSGS);
    assert_int_equal(n_out, N_MSGS);
    assert_string_equal(got, want);
    free(want);
    free(got);
    char *url = mp_strf("targz:%s", arch);
    mp_run_result r = mp_run("verify", src_url, url, NULL);
    if (r.exit_code != 0)
        fail_msg("verify exit %d:\n%s", r.exit_code, r.err);
    mp_run_free(&r);
    free(url);
    mp_rm_rf(out);
    free(out);
}

/* A run into URL with its own state directory XDG (mp_run, stderr kept). */
static mp_run_result run_copy(const char *url, const char *xdg)
{
    char *saved = swap_env("XDG_STATE_HOME", xdg);
    mp_run_result r = mp_run("copy", src_url, url, "-v", NULL);
    put_env("XDG_STATE_HOME", saved);
    return r;
}

static void kill9_temp_is_removed_by_the_next_run(void **state)
{
    (void)state;
    scene sc = scene_new("k9", "k.tar.gz");
    char *d = sc.d, *arch = sc.arch, *url = sc.url, *xdg = sc.xdg;
    pid_t pid = start_copy(url, xdg, sc.log);
    char *tmp = wait_for_temp(d, sc.name, pid);
    kill(pid, SIGKILL);
    assert_int_equal(reap(pid), 128 + SIGKILL);
    char *tmp_path = mp_strf("%s/%s", d, tmp);
    assert_true(mp_file_exists(tmp_path)); /* what the issue saw */
    assert_false(mp_file_exists(arch));
    /* Other files the next run must leave alone: another target's
     * temporary (its writer dead too), one of an older mailport (no pid in
     * its name: it cannot tell whether its writer lives). */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    assert_int_equal(reap(dead), 0);
    char *other = mp_strf("%s/.other.tar.gz.tmp-%ld-0badf00d", d, (long)dead);
    char *older = mp_strf("%s/.k.tar.gz.tmp-0123456789ab", d);
    mp_write_file(other, "x", 1);
    mp_write_file(older, "x", 1);

    mp_run_result r = run_copy(url, xdg);
    if (r.exit_code != 0)
        fail_msg("exit %d:\n%s", r.exit_code, r.err);
    assert_contains(r.err, "removed");
    assert_contains(r.err, tmp);
    assert_contains(r.err, "left by an older mailport");
    mp_run_free(&r);
    /* The name carried the dead writer's pid. */
    char *pid_part = mp_strf(".k.tar.gz.tmp-%ld-", (long)pid);
    assert_true(strncmp(tmp, pid_part, strlen(pid_part)) == 0);
    free(pid_part);
    assert_false(mp_file_exists(tmp_path));
    assert_true(mp_file_exists(other));
    assert_true(mp_file_exists(older));
    /* Exactly the archive and the two foreign files are left. */
    assert_int_equal(count_prefixed(d, sc.temp_prefix, NULL), 1);
    assert_archive_is_source(arch);

    free(tmp_path);
    free(tmp);
    free(older);
    free(other);
    scene_free(&sc);
}

static void sigterm_removes_the_temp(void **state)
{
    (void)state;
    scene sc = scene_new("term", "t.tar.gz");
    char *d = sc.d, *arch = sc.arch, *url = sc.url, *xdg = sc.xdg;
    char *log = sc.log;

    /* One SIGTERM: a clean stop; the writer deletes its own file. */
    pid_t pid = start_copy(url, xdg, log);
    char *tmp = wait_for_temp(d, sc.name, pid);
    kill(pid, SIGTERM);
    kill(pid, SIGCONT);
    assert_int_equal(reap(pid), 128 + SIGTERM);
    char *err = mp_read_file(log, NULL);
    assert_contains(err, "interrupted");
    free(err);
    assert_int_equal(count_prefixed(d, sc.temp_prefix, NULL), 0);
    assert_false(mp_file_exists(arch));
    free(tmp);

    /* Two: the second stops it at once, nothing can delete the file; the
     * next run does. */
    pid = start_copy(url, xdg, log);
    tmp = wait_for_temp(d, sc.name, pid);
    kill(pid, SIGTERM);
    kill(pid, SIGCONT);
    usleep(1000); /* the first is taken before the second comes */
    kill(pid, SIGTERM);
    assert_int_equal(reap(pid), 128 + SIGTERM);
    mp_run_result r = run_copy(url, xdg);
    if (r.exit_code != 0)
        fail_msg("exit %d:\n%s", r.exit_code, r.err);
    mp_run_free(&r);
    assert_int_equal(count_prefixed(d, sc.temp_prefix, NULL), 0);
    assert_archive_is_source(arch);

    free(tmp);
    scene_free(&sc);
}

static void running_writers_temp_is_kept(void **state)
{
    (void)state;
    scene sc = scene_new("live", "l.tar.gz");
    char *d = sc.d, *arch = sc.arch, *url = sc.url, *log = sc.log;
    char *xdg_a = sc.xdg, *xdg_b = xdg_dir("live-b");

    /* Writer A, stopped mid-write; B (another state directory and lock
     * directory, so the core's destination locks do not keep it out: as a
     * run from another machine) writes the same target meanwhile. */
    pid_t a = start_copy(url, xdg_a, log);
    char *tmp = wait_for_temp(d, sc.name, a);
    char *tmp_path = mp_strf("%s/%s", d, tmp);
    struct stat before, after;
    assert_int_equal(stat(tmp_path, &before), 0);
    char *locks_b = mp_strf("%s/locks", xdg_b);
    setenv("MAILPORT_LOCK_DIR", locks_b, 1);
    mp_run_result r = run_copy(url, xdg_b);
    unsetenv("MAILPORT_LOCK_DIR");
    free(locks_b);
    if (r.exit_code != 0)
        fail_msg("exit %d:\n%s", r.exit_code, r.err);
    assert_true(strstr(r.err, tmp) == NULL);
    mp_run_free(&r);
    assert_int_equal(stat(tmp_path, &after), 0);
    assert_true(before.st_ino == after.st_ino);

    /* A goes on, finds the name taken at the end: a clean failure, and
     * its temporary file is gone. */
    kill(a, SIGCONT);
    int code = reap(a);
    char *err = mp_read_file(log, NULL);
    /* The core gives 1 for an archive that could not be completed. */
    if (code != 1 || !strstr(err, "cannot rename") ||
        !strstr(err, "File exists"))
        fail_msg("writer A: exit %d, expected 1 naming the rename:\n%s", code,
                 err);
    free(err);
    assert_false(mp_file_exists(tmp_path));
    assert_int_equal(count_prefixed(d, sc.temp_prefix, NULL), 0);
    assert_archive_is_source(arch);

    free(tmp_path);
    free(tmp);
    free(xdg_b);
    scene_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kill9_temp_is_removed_by_the_next_run),
        cmocka_unit_test(sigterm_removes_the_temp),
        cmocka_unit_test(running_writers_temp_is_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
