#include "secret.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define SECRET_MAX 65536

void mp_secret_free(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = 0;
    free(s);
}

/* Read at most SECRET_MAX bytes from FD; drop one trailing newline. */
static char *read_secret_fd(int fd)
{
    char *buf = malloc(SECRET_MAX + 1);
    size_t n = 0;
    if (!buf)
        return NULL;
    for (;;) {
        ssize_t got = read(fd, buf + n, SECRET_MAX - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
        if (n == SECRET_MAX)
            break;
    }
    buf[n] = '\0';
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return buf;
}

static mp_status fail(char *err, size_t size, mp_error_kind *kind_out,
                      mp_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static mp_status fail(char *err, size_t size, mp_error_kind *kind_out,
                      mp_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    *kind_out = kind;
    return MP_FATAL;
}

static char *from_cmd(const char *cmd)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    char *s = read_secret_fd(pipefd[0]);
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        mp_secret_free(s);
        return NULL;
    }
    return s;
}

static char *from_prompt(const char *prompt)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct termios old, quiet;
    int have_tty = tcgetattr(fd, &old) == 0;
    if (have_tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* nothing to do: the read below still works */
    }
    char *buf = malloc(SECRET_MAX + 1);
    size_t n = 0;
    char c;
    while (buf && n < SECRET_MAX && read(fd, &c, 1) == 1 && c != '\n')
        buf[n++] = c;
    if (buf)
        buf[n] = '\0';
    if (have_tty)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* ignore */
    }
    close(fd);
    return buf;
}

/* Set by mp_secret_inline_warned: URLs this process made from a job file
 * that was already warned about. */
static _Atomic int inline_warned;

void mp_secret_inline_warned(int on)
{
    inline_warned = on;
}

mp_status mp_secret_obtain(const char *kind, const char *file, const char *env,
                           const char *cmd, const char *inline_value,
                           const char *prompt, char **out, char *err,
                           size_t err_size, mp_error_kind *kind_out)
{
    *out = NULL;
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            char hint[96] = "";
            if (e == ENOENT)
                snprintf(hint, sizeof hint, " (check the path in %s_file=)",
                         kind);
            else if (e == EACCES)
                snprintf(hint, sizeof hint,
                         " (make it readable by this user, e.g. chmod 600)");
            return fail(err, err_size, kind_out, MP_ERR_USAGE,
                        "cannot read %s file %s: %s%s", kind, file, strerror(e),
                        hint);
        }
        struct stat st;
        int have_st = fstat(fd, &st) == 0;
        if (have_st && S_ISDIR(st.st_mode)) {
            close(fd);
            return fail(err, err_size, kind_out, MP_ERR_USAGE,
                        "cannot read %s file %s: it is a directory (give the "
                        "file that holds the %s)",
                        kind, file, kind);
        }
        if (have_st && (st.st_mode & 077))
            mp_warn("%s file %s is readable by others; chmod 600 it", kind,
                    file);
        *out = read_secret_fd(fd);
        close(fd);
    } else if (env) {
        const char *v = getenv(env);
        if (!v)
            return fail(err, err_size, kind_out, MP_ERR_USAGE,
                        "%s variable %s is not set", kind, env);
        *out = strdup(v);
    } else if (cmd) {
        *out = from_cmd(cmd);
        if (!*out)
            return fail(err, err_size, kind_out, MP_ERR_USAGE,
                        "the %s command failed (%s_cmd)", kind, kind);
    } else if (inline_value) {
        if (!inline_warned)
            mp_warn("a %s typed in the URL can be seen by other users (ps, "
                    "shell history); prefer %s_file= or %s_env=",
                    kind, kind, kind);
        *out = strdup(inline_value);
    } else {
        *out = prompt ? from_prompt(prompt) : NULL;
        if (!*out)
            return fail(err, err_size, kind_out, MP_ERR_USAGE,
                        "no %s given: use %s_file=, %s_env= or %s_cmd=, or "
                        "run on a terminal to be asked",
                        kind, kind, kind, kind);
    }
    if (!*out)
        return fail(err, err_size, kind_out, MP_ERR_INTERNAL,
                    "out of memory reading the %s", kind);
    return MP_OK;
}
