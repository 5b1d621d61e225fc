#include "imap_spool.h"

#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void imap_spool_init(imap_spool *s, size_t mem_limit)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->mem_limit = mem_limit;
}


static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int imap_spool_write(imap_spool *s, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (s->fd < 0 && s->mem_len + len > s->mem_limit) {
        s->fd = mp_private_tmpfile(NULL);
        if (s->fd < 0)
            return -1;
        if (write_all(s->fd, s->mem, s->mem_len) < 0)
            return -1;
        free(s->mem);
        s->mem = NULL;
        s->mem_len = s->mem_cap = 0;
    }
    if (s->fd >= 0) {
        if (write_all(s->fd, buf, len) < 0)
            return -1;
    } else {
        if (s->mem_len + len > s->mem_cap) {
            size_t cap = s->mem_cap ? s->mem_cap : 65536;
            while (cap < s->mem_len + len)
                cap *= 2;
            char *m = realloc(s->mem, cap);
            if (!m) {
                errno = ENOMEM;
                return -1;
            }
            s->mem = m;
            s->mem_cap = cap;
        }
        memcpy(s->mem + s->mem_len, buf, len);
        s->mem_len += len;
    }
    s->size += len;
    return 0;
}

int imap_spool_range(imap_spool *s, uint64_t off, uint64_t len,
                     int (*fn)(void *ctx, const char *buf, size_t len),
                     void *ctx)
{
    if (off > s->size || len > s->size - off) {
        errno = EINVAL;
        return -1;
    }
    if (s->fd < 0)
        return len ? fn(ctx, s->mem + off, (size_t)len) : 0;
    char buf[65536];
    while (len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        ssize_t n = pread(s->fd, buf, want, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO; /* the file is shorter than what was written */
            return -1;
        }
        off += (uint64_t)n;
        len -= (uint64_t)n;
        int r = fn(ctx, buf, (size_t)n);
        if (r)
            return r;
    }
    return 0;
}

int imap_spool_each(imap_spool *s,
                    int (*fn)(void *ctx, const char *buf, size_t len),
                    void *ctx)
{
    return imap_spool_range(s, 0, s->size, fn, ctx);
}

int imap_spool_truncate(imap_spool *s, uint64_t size)
{
    if (size > s->size) {
        errno = EINVAL;
        return -1;
    }
    if (s->fd >= 0 && (ftruncate(s->fd, (off_t)size) < 0 ||
                       lseek(s->fd, (off_t)size, SEEK_SET) < 0))
        return -1;
    if (s->fd < 0)
        s->mem_len = (size_t)size;
    s->size = size;
    return 0;
}

void imap_spool_reset(imap_spool *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->mem_len = 0;
    s->size = 0;
    if (s->mem_cap > 4 * 65536) { /* do not keep a big buffer around */
        free(s->mem);
        s->mem = NULL;
        s->mem_cap = 0;
    }
}

void imap_spool_free(imap_spool *s)
{
    imap_spool_reset(s);
    free(s->mem);
    s->mem = NULL;
    s->mem_cap = 0;
}
