#include "targz_hash.h"

#include <openssl/evp.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int targz_hash_init(targz_hash *h)
{
    memset(h, 0, sizeof *h);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    h->md = md;
    return 0;
}

static int feed(targz_hash *h, const void *p, size_t n)
{
    h->lf_len += n;
    return EVP_DigestUpdate(h->md, p, n) == 1 ? 0 : -1;
}

/* '\n' bytes in [P, END): eight at a time (a memchr per line cost more
 * than the SHA-256 on short-lined mail). */
static uint64_t count_newlines(const char *p, const char *end)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full, nl = 0x0a0a0a0a0a0a0a0aull;
    uint64_t n = 0;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= nl; /* a '\n' byte is now 0 */
        /* High bit of each byte set iff the byte is non-zero; no carry
         * crosses bytes since (b & 0x7f) + 0x7f <= 0xfe. */
        uint64_t y = ((x & low7) + low7) | x;
        n += (uint64_t)__builtin_popcountll(~y & ~low7);
        p += 8;
    }
    for (; p < end; p++)
        n += *p == '\n';
    return n;
}

int targz_hash_update(targz_hash *h, const void *buf, size_t len)
{
    const char *p = buf, *end = p + len;
    if (len == 0)
        return 0;
    if (h->pending_cr) {
        h->pending_cr = 0;
        /* A '\r' held back from the previous piece is kept unless this
         * piece starts with the '\n' that makes it a CRLF. */
        if (*p != '\n' && feed(h, "\r", 1) != 0)
            return -1;
    }
    const char *run = p;
    while (p < end) {
        const char *cr = memchr(p, '\r', (size_t)(end - p));
        const char *stop = cr ? cr : end;
        h->lines += count_newlines(p, stop);
        if (!cr)
            break;
        if (cr + 1 == end) {
            if (feed(h, run, (size_t)(cr - run)) != 0)
                return -1;
            h->pending_cr = 1;
            return 0;
        }
        if (cr[1] == '\n') {
            if (feed(h, run, (size_t)(cr - run)) != 0)
                return -1;
            run = cr + 1; /* drop the '\r' */
        }
        p = cr + 1;
    }
    return feed(h, run, (size_t)(end - run));
}

int targz_hash_final(targz_hash *h, char hex[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    int rc = 0;
    if (h->pending_cr) {
        h->pending_cr = 0;
        rc = feed(h, "\r", 1);
    }
    if (rc == 0 && EVP_DigestFinal_ex(h->md, md, &n) != 1)
        rc = -1;
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    if (rc != 0)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
    return 0;
}

void targz_hash_discard(targz_hash *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
}
