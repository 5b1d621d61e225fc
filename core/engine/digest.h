/* What the core learns from a message's bytes as they stream past: the
 * content hash ("strict": SHA-256 of the message normalised to LF line
 * breaks by the rule of eol.h, so a message compares equal across stores
 * whatever its line endings: LF, CRLF, CR-only or mixed), its size, and
 * its header block (in that LF form).
 *
 * The hashed form always ends in a line break: a message without a final
 * one is hashed as if it had it, because the mbox format must add one
 * (the next From_ line needs a line of its own) and a copy must still be
 * found there, and compare equal in verify. */
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
    mp_eol_conv lf; /* normalises what the hash and the header get */
    uint64_t bytes; /* bytes seen, as given */
    /* The header block so far, normalised to LF (without the blank line),
     * so that its fields read the same whatever the line endings. */
    char *header;
    size_t header_len, header_cap;
    int header_done; /* blank line seen (or MP_HEADER_MAX reached) */
    int tail;        /* the LF text so far ends at a line start */
    int last;        /* the last LF-text byte hashed; -1 before any */
} mp_digest;

void mp_digest_init(mp_digest *d);
void mp_digest_update(mp_digest *d, const char *buf, size_t len);
/* Finish the hash into HEX (65 bytes); the header stays readable until
 * mp_digest_free. */
void mp_digest_final(mp_digest *d, char hex[65]);
void mp_digest_free(mp_digest *d);

/* One-shot strict hash of BUF, for tests and small inputs. */
void mp_digest_buffer(const char *buf, size_t len, char hex[65]);

#endif
