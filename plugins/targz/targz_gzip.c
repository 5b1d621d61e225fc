#include "targz_gzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef TARGZ_HAVE_LIBDEFLATE
#include <libdeflate.h>

/* Input per member: large enough that the lost window does not matter,
 * small enough to stay in cache-friendly, bounded memory. */
#define MEMBER_INPUT (1u << 20)

struct targz_gzip {
    struct libdeflate_compressor *c;
    targz_gzip_out out;
    void *ctx;
    uint8_t *in, *buf;
    size_t in_len, buf_cap;
};

int targz_gzip_available(void)
{
    return 1;
}

targz_gzip *targz_gzip_new(int level, targz_gzip_out out, void *ctx)
{
    targz_gzip *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->c = libdeflate_alloc_compressor(level);
    g->out = out;
    g->ctx = ctx;
    if (g->c) {
        g->buf_cap = libdeflate_gzip_compress_bound(g->c, MEMBER_INPUT);
        g->in = malloc(MEMBER_INPUT);
        g->buf = malloc(g->buf_cap);
    }
    if (!g->c || !g->in || !g->buf) {
        targz_gzip_free(g);
        return NULL;
    }
    return g;
}

/* One member from the held input. */
static int flush_member(targz_gzip *g)
{
    if (g->in_len == 0)
        return 0;
    size_t n =
        libdeflate_gzip_compress(g->c, g->in, g->in_len, g->buf, g->buf_cap);
    if (n == 0) { /* cannot happen with the bound's room */
        errno = EIO;
        return -1;
    }
    g->in_len = 0;
    return g->out(g->ctx, g->buf, n);
}

int targz_gzip_write(targz_gzip *g, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        size_t k = MEMBER_INPUT - g->in_len;
        if (k > len)
            k = len;
        memcpy(g->in + g->in_len, p, k);
        g->in_len += k;
        p += k;
        len -= k;
        if (g->in_len == MEMBER_INPUT && flush_member(g) != 0)
            return -1;
    }
    return 0;
}

int targz_gzip_finish(targz_gzip *g)
{
    return flush_member(g);
}

void targz_gzip_free(targz_gzip *g)
{
    if (!g)
        return;
    if (g->c)
        libdeflate_free_compressor(g->c);
    free(g->in);
    free(g->buf);
    free(g);
}

#else /* no libdeflate: libarchive's zlib filter does gzip */

int targz_gzip_available(void)
{
    return 0;
}

targz_gzip *targz_gzip_new(int level, targz_gzip_out out, void *ctx)
{
    (void)level;
    (void)out;
    (void)ctx;
    errno = ENOSYS;
    return NULL;
}

int targz_gzip_write(targz_gzip *g, const void *buf, size_t len)
{
    (void)g;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}

int targz_gzip_finish(targz_gzip *g)
{
    (void)g;
    errno = ENOSYS;
    return -1;
}

void targz_gzip_free(targz_gzip *g)
{
    (void)g;
}

#endif
