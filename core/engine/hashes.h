/* Content hashes of stored messages, read through a source's fetch: what
 * verify compares and what pairs messages whose identity is shared. */
#ifndef MP_HASHES_H
#define MP_HASHES_H

#include "msglist.h"
#include "store.h"

#include <stddef.h>

/* The loose digest: SHA-256 over the message with every CR dropped and
 * NUL, 8-bit bytes and 'X' folded into one byte. It stays the same through
 * what servers are seen doing to a message on APPEND (Dovecot stores NUL
 * as 0x80 and CR CR LF as CR LF, Cyrus turns 8-bit header bytes into 'X'),
 * so a copy a server altered is still recognised as that message. */
typedef struct mp_loose_digest {
    void *sha; /* EVP_MD_CTX */
} mp_loose_digest;

void mp_loose_init(mp_loose_digest *d);
void mp_loose_update(mp_loose_digest *d, const void *buf, size_t len);
void mp_loose_final(mp_loose_digest *d, char hex[65]); /* also frees */

/* What differs between two messages, named from their digests: "line
 * endings only" (equal once every CR is dropped), "bytes a server replaces
 * (NUL, 8-bit, X)" (equal loose digests), else "content". */
typedef struct mp_content_hashes {
    char strict[65]; /* mp_digest: LF line endings; "" when unreadable */
    char nocr[65];   /* no CR at all */
    char loose[65];
} mp_content_hashes;

const char *mp_content_difference(const mp_content_hashes *a,
                                  const mp_content_hashes *b);

/* Fetch the messages of LIST whose WANTED flag is set (all when WANTED is
 * NULL) from FOLDER of STORE, opened as a source, and fill OUT (one per
 * message of LIST; untouched where not wanted, strict "" where the source
 * could not read it). Returns the fetch's status: MP_OK, or a store-level
 * failure with the store's error set. */
mp_status mp_hash_messages(mp_store *store, void *folder, mp_msglist *list,
                           const char *wanted, mp_content_hashes *out);

#endif
