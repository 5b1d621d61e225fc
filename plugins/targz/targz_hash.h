/* The content hash mailport compares messages by: SHA-256 over the bytes
 * with every CRLF turned into LF, fed in pieces of any size. Also counts
 * what the message would weigh with CRLF line endings (mp_msg_info.vsize). */
#ifndef MP_TARGZ_HASH_H
#define MP_TARGZ_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct targz_hash {
    void *md;        /* EVP_MD_CTX */
    int pending_cr;  /* the last piece ended in '\r' */
    uint64_t lf_len; /* bytes in LF form */
    uint64_t lines;  /* '\n' count in LF form */
} targz_hash;

int targz_hash_init(targz_hash *h);
int targz_hash_update(targz_hash *h, const void *buf, size_t len);
/* Writes 64 hex digits and a NUL to HEX; releases the context. */
int targz_hash_final(targz_hash *h, char hex[65]);
/* Release without a result (safe on a zeroed or finished hash). */
void targz_hash_discard(targz_hash *h);

#endif
