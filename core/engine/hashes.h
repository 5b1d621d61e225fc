/* Content hashes of stored messages, read through a source's fetch: what
 * verify compares and what pairs messages whose identity is shared. */
#ifndef MP_HASHES_H
#define MP_HASHES_H

#include "eol.h"
#include "msglist.h"
#include "plan.h"
#include "store.h"

#include <stddef.h>

/* The loose digest: SHA-256 over the message normalised to LF line breaks
 * (eol.h) with NUL, 8-bit bytes and 'X' folded into one byte. It stays the
 * same through what servers are seen doing to a message on APPEND (Dovecot
 * stores NUL as 0x80, a lone CR as CR LF and CR CR LF as CR LF, Cyrus
 * turns 8-bit header bytes into 'X'), so a copy a server altered is still
 * recognised as that message. */
typedef struct mp_loose_digest {
    void *sha; /* EVP_MD_CTX */
    mp_eol_conv lf;
    int last; /* the last LF-text byte; -1 before any (see digest.h) */
} mp_loose_digest;

void mp_loose_init(mp_loose_digest *d);
void mp_loose_update(mp_loose_digest *d, const void *buf, size_t len);
void mp_loose_final(mp_loose_digest *d, char hex[65]); /* also frees */

/* What differs between two messages, named from their digests. Their
 * strict hashes are over the normalised form, so a mere change of
 * line-ending style (LF, CRLF, CR-only) is no difference at all. Else:
 * "line endings only" (the text is the same once every line break is
 * dropped: line breaks were added, lost or moved, e.g. a lone CR that a
 * store dropped, or a final line break added), "bytes a server replaces
 * (NUL, 8-bit, X)" (equal loose digests), else "content". NULL (no
 * difference) also when they differ only in the fields mail readers keep
 * flags in (Status, X-Mozilla-Status, ...: storefields.h). */
typedef struct mp_content_hashes {
    char strict[65];  /* mp_digest; "" when unreadable */
    char nobreak[65]; /* the normalised text without its line breaks */
    char loose[65];
    /* The normalised form without the header fields mail readers keep
     * flags in (plugins/common/storefields.h): equal, the two differ only
     * in how a store wrote their flags, which verify compares as flags,
     * so they are the same content. */
    char nostore[65];
} mp_content_hashes;

const char *mp_content_difference(const mp_content_hashes *a,
                                  const mp_content_hashes *b);

/* All three hashes of the message BUF (LEN bytes), as mp_hash_messages
 * takes them from a fetch. */
void mp_content_hashes_buffer(const void *buf, size_t len,
                              mp_content_hashes *out);

/* Fetch the messages of LIST whose WANTED flag is set (all when WANTED is
 * NULL) from FOLDER of STORE, opened as a source, and fill OUT (one per
 * message of LIST; untouched where not wanted, strict "" where the source
 * could not read it). Returns the fetch's status: MP_OK, or a store-level
 * failure with the store's error set. */
mp_status mp_hash_messages(mp_store *store, void *folder, mp_msglist *list,
                           const char *wanted, mp_content_hashes *out);

/* The hashes of H (N messages) that WANT marks and that were read, as the
 * planner takes them (mp_plan_hashes, arrays of N + 1, "" where not
 * hashed). Free with mp_plan_hashes_free. */
void mp_plan_hashes_take(mp_plan_hashes *out, const mp_content_hashes *h,
                         const char *want, size_t n);
void mp_plan_hashes_free(mp_plan_hashes *h);

#endif
