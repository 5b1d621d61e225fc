/* Restore memory does not grow with the archive's message count (issue
 * 8.4). The same folders (N_PER_FOLDER small messages each) are archived
 * twice, once FOLDERS_SMALL of them and once 4x as many; restoring
 * (targz -> Maildir) and verifying each, the peak RSS of the mailport
 * process (getrusage of the child through wait4, not wall time) may differ
 * by at most MAX_GROWTH_KIB. Before the on-disk index the targz source held
 * ~1.3 KB a message: ~9 MB more for the larger archive.
 *
 * Skipped under AddressSanitizer: its quarantine keeps freed memory
 * resident, so the peak grows with everything that passed through. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define N_PER_FOLDER 250
#define FOLDERS_SMALL 8
#define MAX_GROWTH_KIB 4096

static char *dir;

/* A Maildir++ at ROOT with FOLDERS folders (INBOX and .F01 ...) of
 * N_PER_FOLDER messages each. */
static void make_maildir(const char *root, int folders)
{
    for (int f = 0; f < folders; f++) {
        char *d = f ? mp_strf("%s/.F%02d", root, f) : mp_strf("%s", root);
        assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", d, d, d),
                         0);
        for (int i = 0; i < N_PER_FOLDER; i++) {
            char text[256];
            int len = snprintf(text, sizeof text,
                               "From: a@example.org\nSubject: %d.%d\n"
                               "Message-ID: <mem.%d.%d@example.org>\n\n"
                               "body %d of folder %d\n",
                               f, i, f, i, i, f);
            char *path = mp_strf("%s/cur/1700000000.M%dP%d.t:2,S", d, i, f);
            mp_write_file(path, text, (size_t)len);
            free(path);
        }
        free(d);
    }
}

/* Run mailport with ARGS (NULL-terminated, output discarded); its exit
 * code, and its peak RSS in KiB into *RSS_KIB. */
static int run_rss(long *rss_kib, const char *const *args)
{
    const char *bin = getenv("MAILPORT_BIN");
    assert_non_null(bin);
    const char *argv[16] = {bin};
    size_t n = 1;
    for (; args[n - 1]; n++) {
        assert_true(n < 15);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", bin, strerror(rc));
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        assert_int_equal(errno, EINTR);
    *rss_kib = ru.ru_maxrss; /* Linux: KiB */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Archive FOLDERS folders, then restore and verify it: peak RSS of each. */
static void measure(int folders, long *copy_kib, long *verify_kib)
{
    char *md = mp_strf("%s/md%d", dir, folders);
    char *arch = mp_strf("targz:%s/a%d.tar.gz", dir, folders);
    char *out = mp_strf("maildir:%s/out%d", dir, folders);
    char *md_url = mp_strf("maildir:%s", md);
    make_maildir(md, folders);
    long ignored;
    const char *archive[] = {"copy", md_url, arch, "--no-state", "-q", NULL};
    assert_int_equal(run_rss(&ignored, archive), 0);
    const char *copy[] = {"copy", arch, out, "--no-state", "-q", NULL};
    assert_int_equal(run_rss(copy_kib, copy), 0);
    const char *verify[] = {"verify", arch, out, "-q", NULL};
    assert_int_equal(run_rss(verify_kib, verify), 0);
    printf("%d messages in %d folders: restore %ld KiB, verify %ld KiB\n",
           folders * N_PER_FOLDER, folders, *copy_kib, *verify_kib);
    free(md);
    free(md_url);
    free(arch);
    free(out);
}

static void test_restore_memory_flat(void **state)
{
    (void)state;
#ifdef __SANITIZE_ADDRESS__
    skip();
#endif
    long copy_small, verify_small, copy_large, verify_large;
    measure(FOLDERS_SMALL, &copy_small, &verify_small);
    measure(4 * FOLDERS_SMALL, &copy_large, &verify_large);
    printf("growth for %d more messages: restore %ld KiB, verify %ld KiB "
           "(at most %d)\n",
           3 * FOLDERS_SMALL * N_PER_FOLDER, copy_large - copy_small,
           verify_large - verify_small, MAX_GROWTH_KIB);
    assert_true(copy_large - copy_small <= MAX_GROWTH_KIB);
    assert_true(verify_large - verify_small <= MAX_GROWTH_KIB);
}

static int setup(void **state)
{
    (void)state;
    /* In memory where there is a tmpfs: the Maildir sink's fsyncs would
     * take most of the test's time on a disk, and RSS does not count it. */
    const char *saved = getenv("TMPDIR");
    char *keep = saved ? strdup(saved) : NULL;
    if (access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    dir = mp_tmpdir("targz-memory");
    if (keep)
        setenv("TMPDIR", keep, 1);
    else
        unsetenv("TMPDIR");
    free(keep);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_memory_flat),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
