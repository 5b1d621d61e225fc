/* What the core learns from a message's bytes as they stream past: the
 * content hash (SHA-256 with line endings as LF, so a message compares equal
 * across IMAP and local stores), sizes, and the header block. */
#ifndef MP_DIGEST_H
#define MP_DIGEST_H

#include "eol.h"

#include <stddef.h>
#include <stdint.h>

/* Header blocks longer than this are cut for identity and Date purposes:
 * the bound keeps per-message memory fixed whatever the input. */
#define MP_HEADER_MAX (256 * 1024)

typedef struct mp_digest {
    void *sha;      /* EVP_MD_CTX */
    mp_eol_conv lf; /* feeds the hash with LF line endings */
    uint64_t bytes; /* bytes seen */
    char *header;   /* the header block so far (without the blank line) */
    size_t header_len, header_cap;
    int header_done; /* blank line seen (or MP_HEADER_MAX reached) */
    int tail;        /* last bytes, to find "\n\n" / "\n\r\n" across chunks */
} mp_digest;

void mp_digest_init(mp_digest *d);
void mp_digest_update(mp_digest *d, const char *buf, size_t len);
/* Finish the hash into HEX (65 bytes); the header stays readable until
 * mp_digest_free. */
void mp_digest_final(mp_digest *d, char hex[65]);
void mp_digest_free(mp_digest *d);

/* One-shot hash of BUF (LF-normalised), for tests and small inputs. */
void mp_digest_buffer(const char *buf, size_t len, char hex[65]);

#endif
