#include "targz_spool.h"

#include "privfile.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE 65536

void targz_spool_init(targz_spool *s, const char *tmp_dir)
{
    memset(s, 0, sizeof *s);
    s->tmp_dir = tmp_dir;
    s->fd = -1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}


static int encrypt_to_file(targz_spool *s, const uint8_t *p, size_t n)
{
    uint8_t buf[PIECE];
    while (n > 0) {
        size_t k = n < PIECE ? n : PIECE;
        int outl = 0;
        if (EVP_EncryptUpdate(s->cipher, buf, &outl, p, (int)k) != 1 ||
            (size_t)outl != k || write_all(s->fd, buf, k) != 0) {
            if (!errno)
                errno = EIO;
            return -1;
        }
        p += k;
        n -= k;
    }
    return 0;
}

/* Move the in-memory bytes to a fresh encrypted file. */
static int spill(targz_spool *s)
{
    if (s->fd < 0) {
        s->fd = mp_private_tmpfile(s->tmp_dir);
        if (s->fd < 0)
            return -1;
    }
    if (RAND_bytes(s->key, sizeof s->key) != 1 ||
        RAND_bytes(s->iv, sizeof s->iv) != 1) {
        errno = EIO;
        return -1;
    }
    if (!s->cipher)
        s->cipher = EVP_CIPHER_CTX_new();
    if (!s->cipher || EVP_EncryptInit_ex(s->cipher, EVP_aes_256_ctr(), NULL,
                                         s->key, s->iv) != 1) {
        errno = EIO;
        return -1;
    }
    if (encrypt_to_file(s, s->mem, s->mem_len) != 0)
        return -1;
    /* The buffer is of no more use to this entry, which may now wait in
     * the writer's queue for a while. */
    OPENSSL_cleanse(s->mem, s->mem_len);
    free(s->mem);
    s->mem = NULL;
    s->mem_len = s->mem_cap = 0;
    return 0;
}

int targz_spool_reserve(targz_spool *s, size_t len)
{
    if (s->spilled || len <= s->mem_cap || len > TARGZ_SPOOL_MEM_MAX)
        return 0;
    uint8_t *m = realloc(s->mem, len);
    if (!m)
        return -1;
    s->mem = m;
    s->mem_cap = len;
    return 0;
}

int targz_spool_write(targz_spool *s, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (!s->spilled && s->mem_len + len > TARGZ_SPOOL_MEM_MAX) {
        if (spill(s) != 0)
            return -1;
        s->spilled = 1;
    }
    if (s->spilled) {
        if (encrypt_to_file(s, buf, len) != 0)
            return -1;
    } else {
        if (s->mem_len + len > s->mem_cap) {
            size_t cap = s->mem_cap ? s->mem_cap : 65536;
            while (cap < s->mem_len + len)
                cap *= 2;
            uint8_t *m = realloc(s->mem, cap);
            if (!m)
                return -1;
            s->mem = m;
            s->mem_cap = cap;
        }
        memcpy(s->mem + s->mem_len, buf, len);
        s->mem_len += len;
    }
    s->total += len;
    return 0;
}

int targz_spool_replay(targz_spool *s,
                       int (*fn)(void *ctx, const void *buf, size_t len),
                       void *ctx)
{
    if (!s->spilled) {
        for (size_t off = 0; off < s->mem_len; off += PIECE) {
            size_t n = s->mem_len - off < PIECE ? s->mem_len - off : PIECE;
            int rc = fn(ctx, s->mem + off, n);
            if (rc)
                return rc;
        }
        return 0;
    }
    EVP_CIPHER_CTX *dec = EVP_CIPHER_CTX_new();
    if (!dec || EVP_DecryptInit_ex(dec, EVP_aes_256_ctr(), NULL, s->key,
                                   s->iv) != 1 ||
        lseek(s->fd, 0, SEEK_SET) != 0) {
        EVP_CIPHER_CTX_free(dec);
        return -1;
    }
    uint8_t in[PIECE], out[PIECE];
    uint64_t left = s->total;
    int rc = 0;
    while (left > 0 && rc == 0) {
        size_t want = left < PIECE ? (size_t)left : PIECE;
        ssize_t got = read(s->fd, in, want);
        if (got < 0 && errno == EINTR)
            continue;
        int outl = 0;
        if (got <= 0 ||
            EVP_DecryptUpdate(dec, out, &outl, in, (int)got) != 1 ||
            outl != got) {
            rc = -1;
            break;
        }
        left -= (uint64_t)got;
        rc = fn(ctx, out, (size_t)got);
    }
    OPENSSL_cleanse(out, sizeof out);
    EVP_CIPHER_CTX_free(dec);
    return rc;
}

void targz_spool_reset(targz_spool *s)
{
    if (s->mem)
        OPENSSL_cleanse(s->mem, s->mem_len);
    s->mem_len = 0;
    if (s->spilled) {
        /* Keep the file for the next spill; its next key is fresh. */
        if (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0) {
            close(s->fd);
            s->fd = -1;
        }
        OPENSSL_cleanse(s->key, sizeof s->key);
    }
    s->spilled = 0;
    s->total = 0;
}

void targz_spool_free(targz_spool *s)
{
    targz_spool_reset(s);
    free(s->mem);
    s->mem = NULL;
    s->mem_cap = 0;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    EVP_CIPHER_CTX_free(s->cipher);
    s->cipher = NULL;
}
