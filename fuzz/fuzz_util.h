/* Small pieces the fuzz targets share: failing a property, a growable
 * buffer, the input as a C string, and a host whose log and errors go
 * nowhere. Header-only (static inline): each target is one file plus the
 * code it fuzzes, whether linked with libFuzzer or with replay.c. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <mailport/plugin.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken property: say which and where, then abort() so libFuzzer saves
 * the input (and a replay test fails). */
static inline void fuzz_fail(const char *cond, const char *file, int line,
                             const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));
static inline void fuzz_fail(const char *cond, const char *file, int line,
                             const char *fmt, ...)
{
    /* FMT starts with a space the macro adds (an empty format would be
     * warned about). */
    fprintf(stderr, "%s:%d: property broken: %s", file, line, cond);
    if (fmt[0] && fmt[1]) {
        va_list ap;
        va_start(ap, fmt);
        fputc(':', stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    abort();
}

/* FUZZ_CHECK(cond) or FUZZ_CHECK(cond, "format", args...). */
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            fuzz_fail(#cond, __FILE__, __LINE__, " " __VA_ARGS__);             \
    } while (0)

typedef struct fuzz_buf {
    char *p;
    size_t len, cap;
} fuzz_buf;

/* Append; for the write callbacks (returns 0). Out of memory aborts. */
static inline int fuzz_buf_put(void *ctx, const void *p, size_t n)
{
    fuzz_buf *b = ctx;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 64;
        char *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int fuzz_buf_is(const fuzz_buf *b, const void *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->p, p, n) == 0);
}

/* DATA as a malloc'd C string (it ends at its first NUL, as a C parser
 * sees it). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The last error a plugin set through fuzz_host. */
static char fuzz_last_error[256];

static inline void fuzz_log(mp_host *h, int level, const char *fmt, ...)
{
    (void)h;
    (void)level;
    (void)fmt;
}

static inline void fuzz_set_error(mp_host *h, mp_error_kind kind,
                                  const char *fmt, ...)
{
    (void)h;
    (void)kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fuzz_last_error, sizeof fuzz_last_error, fmt, ap);
    va_end(ap);
}

#endif
