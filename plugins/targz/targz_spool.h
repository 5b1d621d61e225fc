/* Holds one archive entry's bytes until its size is known: a tar header
 * carries the size, so an entry cannot be written before its data has all
 * arrived. Up to TARGZ_SPOOL_MEM_MAX bytes stay in memory; beyond that the
 * spool moves to an unlinked temporary file, encrypted with AES-256-CTR
 * under a fresh random key, so no plaintext message ever reaches the disk
 * (the archive itself may be age-encrypted) and the file vanishes with the
 * process. */
#ifndef MP_TARGZ_SPOOL_H
#define MP_TARGZ_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* 8 MiB: most mail is far smaller, so the common case never touches the
 * disk, while memory stays bounded whatever size a message has. */
#define TARGZ_SPOOL_MEM_MAX (8u << 20)

typedef struct targz_spool {
    const char *tmp_dir; /* where a spill file goes (borrowed) */
    uint8_t *mem;
    size_t mem_len, mem_cap;
    int fd;              /* -1 while in memory */
    void *cipher;        /* EVP_CIPHER_CTX encrypting the spill file */
    uint8_t key[32], iv[16];
    int spilled;         /* the content lives in the file */
    uint64_t total;
} targz_spool;

void targz_spool_init(targz_spool *s, const char *tmp_dir);
/* Returns 0, or -1 with errno set. */
int targz_spool_write(targz_spool *s, const void *buf, size_t len);
/* Make room in memory for LEN bytes at once (a size hint: small messages
 * then hold what they need rather than a default 64 KiB). Nothing happens
 * for LEN over TARGZ_SPOOL_MEM_MAX. Returns 0, or -1 when out of memory. */
int targz_spool_reserve(targz_spool *s, size_t len);
/* Hand the whole content to FN in pieces; FN returns 0 to go on. Returns
 * 0, -1 on a read or decryption error, or FN's non-zero result. */
int targz_spool_replay(targz_spool *s,
                       int (*fn)(void *ctx, const void *buf, size_t len),
                       void *ctx);
/* Empty the spool for the next entry (keeps a memory buffer it has). */
void targz_spool_reset(targz_spool *s);
void targz_spool_free(targz_spool *s);

#endif
