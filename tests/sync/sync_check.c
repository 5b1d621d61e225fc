#include "sync_check.h"

#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *sync_copy(const char *src, const char *dst, const char *state,
                const char *report, int want_exit, ...)
{
    const char *args[32] = {"copy", src,        dst,   "--state",
                            state,  "--report", report};
    size_t n = 7;
    va_list ap;
    va_start(ap, want_exit);
    for (const char *a; n < 31 && (a = va_arg(ap, const char *));)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    mp_run_result r = mp_runv(args);
    if (r.exit_code != want_exit)
        fail_msg("copy %s %s: exit %d, want %d\n%s%s", src, dst, r.exit_code,
                 want_exit, r.out, r.err);
    mp_run_free(&r);
    return mp_read_file(report, NULL);
}

void sync_assert_counts(const char *report, int copied, int skipped,
                        int flags_updated, int failed)
{
    char *want = mp_strf("{\"copied\": %d, \"skipped\": %d, \"flags_updated\": "
                         "%d, \"failed\": %d,",
                         copied, skipped, flags_updated, failed);
    assert_contains(report, want);
    free(want);
}

size_t sync_count_messages(const char *folder)
{
    size_t n = 0;
    const char *subs[] = {"cur", "new"};
    for (int i = 0; i < 2; i++) {
        char *p = mp_strf("%s/%s", folder, subs[i]);
        DIR *d = opendir(p);
        for (struct dirent *e; d && (e = readdir(d));)
            n += e->d_name[0] != '.';
        if (d)
            closedir(d);
        free(p);
    }
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int sync_copy_killed_at(const char *src, const char *dst, const char *state,
                        const char *watch, size_t target)
{
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    char *argv[] = {(char *)bin, "copy",        (char *)src, (char *)dst,
                    "--state",   (char *)state, "-q",        NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, NULL, NULL, argv, environ), 0);
    int status = 0;
    double t0 = now();
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (sync_count_messages(watch) >= target || now() - t0 > 120) {
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &status, 0), pid);
            break;
        }
        usleep(2000);
    }
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

int sync_fixture_setup(void **state, const char *tag)
{
    sync_fixture *f = calloc(1, sizeof *f);
    f->dir = mp_tmpdir(tag);
    f->src = mp_strf("maildir:%s/src", f->dir);
    f->dst = mp_strf("maildir:%s/dst", f->dir);
    f->state = mp_strf("%s/state.sqlite", f->dir);
    f->report = mp_strf("%s/report.json", f->dir);
    setenv("XDG_STATE_HOME", f->dir, 1);
    mp_run_result r =
        mp_run("copy", "mbox:" MP_TEST_SOURCE_DIR "/examples/sample.mbox",
               f->src, "--no-state", "-q", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    *state = f;
    return 0;
}

int sync_fixture_teardown(void **state)
{
    sync_fixture *f = *state;
    mp_rm_rf(f->dir);
    free(f->dir);
    free(f->src);
    free(f->dst);
    free(f->state);
    free(f->report);
    free(f);
    return 0;
}

char *sync_fixture_copy(sync_fixture *f, int want_exit, const char *extra1,
                        const char *extra2)
{
    return sync_copy(f->src, f->dst, f->state, f->report, want_exit, extra1,
                     extra2, NULL);
}

char *sync_path_of(const char *url)
{
    return strchr(url, ':') + 1;
}
