#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *mailport_bin(void)
{
    const char *bin = getenv("MAILPORT_BIN");
    return bin ? bin : MP_TEST_BINARY_DIR "/mailport";
}

char *mp_strf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        fail_msg("out of memory");
    va_end(ap);
    return s;
}

/* Drain both pipes together so neither child stream can fill and block. */
static void collect(int out_fd, int err_fd, char **out, char **err)
{
    struct {
        int fd;
        char *buf;
        size_t len, cap;
    } s[2] = {{out_fd, NULL, 0, 0}, {err_fd, NULL, 0, 0}};
    int open_count = 2;
    while (open_count > 0) {
        struct pollfd p[2];
        int n = 0, map[2];
        for (int i = 0; i < 2; i++)
            if (s[i].fd >= 0) {
                p[n].fd = s[i].fd;
                p[n].events = POLLIN;
                map[n++] = i;
            }
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail_msg("poll: %s", strerror(errno));
        }
        for (int k = 0; k < n; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int i = map[k];
            if (s[i].cap - s[i].len < 4096) {
                s[i].cap = s[i].cap * 2 + 8192;
                s[i].buf = realloc(s[i].buf, s[i].cap);
                assert_non_null(s[i].buf);
            }
            ssize_t got =
                read(s[i].fd, s[i].buf + s[i].len, s[i].cap - s[i].len - 1);
            if (got <= 0) {
                close(s[i].fd);
                s[i].fd = -1;
                open_count--;
            } else {
                s[i].len += (size_t)got;
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (!s[i].buf)
            s[i].buf = calloc(1, 1);
        s[i].buf[s[i].len] = '\0';
    }
    *out = s[0].buf;
    *err = s[1].buf;
}

mp_run_result mp_runv(const char *const *args)
{
    size_t n = 0;
    while (args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = (char *)mailport_bin();
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];

    int out_pipe[2], err_pipe[2];
    assert_int_equal(pipe(out_pipe), 0);
    assert_int_equal(pipe(err_pipe), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
    posix_spawn_file_actions_addclose(&fa, err_pipe[0]);
    /* Under the sanitizer build the mailport processes we start get leak
     * detection (MP_CHILD_ASAN_OPTIONS), whatever the test program has. */
    const char *child_asan = getenv("MP_CHILD_ASAN_OPTIONS");
    char *saved_asan =
        getenv("ASAN_OPTIONS") ? strdup(getenv("ASAN_OPTIONS")) : NULL;
    if (child_asan)
        setenv("ASAN_OPTIONS", child_asan, 1);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (child_asan) {
        if (saved_asan)
            setenv("ASAN_OPTIONS", saved_asan, 1);
        else
            unsetenv("ASAN_OPTIONS");
    }
    free(saved_asan);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(rc));
    close(out_pipe[1]);
    close(err_pipe[1]);

    mp_run_result r = {0};
    collect(out_pipe[0], err_pipe[0], &r.out, &r.err);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    r.exit_code =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    free(argv);
    if (getenv("MP_TEST_VERBOSE"))
        fprintf(stderr, "[mailport exit %d]\n%s%s", r.exit_code, r.out, r.err);
    return r;
}

mp_run_result mp_run(const char *arg, ...)
{
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a; a = va_arg(ap, const char *)) {
        assert_true(n < 63);
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    return mp_runv(args);
}

void mp_run_free(mp_run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

int mp_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd = NULL;
    va_start(ap, fmt);
    assert_true(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    int status = system(cmd);
    free(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *mp_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = mp_strf("%s/mailport-test-%s-XXXXXX", base ? base : "/tmp",
                         tag ? tag : "t");
    if (!mkdtemp(tmpl))
        fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
    return tmpl;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void mp_rm_rf(const char *path)
{
    if (path)
        nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

char *mp_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void mp_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

int mp_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

const char *mp_corpora(void)
{
    const char *c = getenv("MP_CORPORA");
    return c ? c : MP_TEST_CORPORA;
}

char *mp_lf_form(const char *bytes, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    assert_non_null(out);
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        if (bytes[i] != '\r' && bytes[i] != '\n') {
            out[w++] = bytes[i++];
            continue;
        }
        if (bytes[i] == '\r' && i + 2 < len && bytes[i + 1] == '\r' &&
            bytes[i + 2] == '\n')
            i += 3;
        else if (bytes[i] == '\r' && i + 1 < len && bytes[i + 1] == '\n')
            i += 2;
        else
            i += 1;
        out[w++] = '\n';
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

double mp_json_number(const char *json, const char *name)
{
    char *key = mp_strf("\"%s\": ", name);
    const char *p = strstr(json, key);
    if (!p)
        fail_msg("no %s in:\n%s", key, json);
    double v = strtod(p + strlen(key), NULL);
    free(key);
    return v;
}

double mp_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void mp_short_inflight_wait(void)
{
    setenv("MAILPORT_INFLIGHT_WAIT", "1", 1);
}

size_t mp_walk_files(const char *dir, long long max_size,
                     void (*fn)(const char *path, void *ctx), void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = mp_strf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                n += mp_walk_files(path, max_size, fn, ctx);
            } else if (S_ISREG(st.st_mode) && st.st_size < max_size) {
                fn(path, ctx);
                n++;
            }
        }
        free(path);
    }
    closedir(d);
    return n;
}

void mp_expect_exit(const mp_run_result *r, int code)
{
    if (r->exit_code != code) {
        printf("---- mailport's stdout ----\n%s----\n", r->out);
        mp_fail_showing(r->err, "exit %d, expected %d", r->exit_code, code);
    }
}

char *mp_crlf_form(const char *text, size_t len, size_t *out_len)
{
    char *out = malloc(2 * len + 1);
    assert_non_null(out);
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            out[w++] = '\r';
        out[w++] = text[i];
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

void mp_test_certificate(const char *dir, const char *cn)
{
    if (mp_sh("cd '%s' && openssl req -x509 -newkey ec "
              "-pkeyopt ec_paramgen_curve:prime256v1 -nodes "
              "-keyout key.pem -out cert.pem -days 2 -subj '/CN=%s' "
              "-addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' "
              ">/dev/null 2>&1 && chmod 600 key.pem",
              dir, cn) != 0)
        fail_msg("openssl could not make a test certificate in %s", dir);
}
