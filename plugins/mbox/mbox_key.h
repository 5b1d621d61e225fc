/* Message keys of the mbox plugin.
 *
 * An mbox names a message by nothing but its place. A mail reader that
 * deletes a message, or rewrites a Status: header, rewrites the file in
 * place and moves every message after it; a key made of the byte offset
 * would then name another message, the sync state would take that message
 * for the moved one's copy and --delete would remove the wrong copy. So a
 * key names the content:
 *
 *     "m" TAG ["-" N]
 *
 * TAG is 16 lower-case hex digits, the first 64 bits of the SHA-256 of the
 * message's bytes as they lie in the file: its From_ line included, the
 * separator line after it excluded, and without the header fields that
 * mail readers rewrite in place to keep flags and indexes (the list in
 * plugins/common/storefields.h: Status, X-Status, X-Mozilla-Status,
 * X-Mozilla-Status2, X-Mozilla-Keys, X-Keywords, X-UID, X-IMAP,
 * X-IMAPbase, Content-Length, Lines; names case-insensitive, continuation
 * lines with their field). "-N" (N >= 2)
 * marks the N-th message of the file, in file order, with an equal tag:
 * equal bytes, so which copy gets which key does not matter.
 *
 * So appending keeps every key, a flag change keeps the message's key, and
 * a rewrite keeps the key of every message it did not change (but for the
 * order among equal ones). Earlier versions used the decimal byte offset of
 * the From_ line as the key; fetch still accepts those. */
#ifndef MBOX_KEY_H
#define MBOX_KEY_H

#include "storefields.h"

#include <stddef.h>
#include <stdint.h>

/* Room for the longest key and its NUL: "m", 16 digits, "-", 10 digits. */
#define MBOX_KEY_SIZE 32

/* A running tag over a message's bytes, fed in any pieces (the sink feeds
 * what it writes, the reader a whole message at once). */
typedef struct mbox_tagger {
    void *md;              /* EVP_MD_CTX */
    int in_from_line;      /* still in the From_ line, hashed whole */
    mp_field_filter rest;  /* the message after it (storefields.h) */
} mbox_tagger;

/* Returns 0, or -1 when out of memory. */
int mbox_tagger_begin(mbox_tagger *t);
void mbox_tagger_feed(mbox_tagger *t, const char *p, size_t n);
/* The tag; releases T. */
uint64_t mbox_tagger_end(mbox_tagger *t);
/* Releases T without a result (an aborted message). */
void mbox_tagger_discard(mbox_tagger *t);

/* The tag of BUF[FROM..END): 0 and *TAG set, or -1 when out of memory. */
int mbox_tag_of(const char *buf, size_t from, size_t end, uint64_t *tag);

/* The key of the ORDINAL-th (1-based) message of a file with TAG. */
void mbox_key_format(char out[MBOX_KEY_SIZE], uint64_t tag, uint32_t ordinal);

typedef struct mbox_key {
    int legacy;       /* an earlier version's key: a byte offset */
    uint64_t offset;  /* when legacy */
    uint64_t tag;     /* otherwise */
    uint32_t ordinal; /* 1 for "m" TAG alone */
} mbox_key;

/* Parse KEY; returns 0, or -1 when it is neither form. */
int mbox_key_parse(const char *key, mbox_key *out);

/* How many messages with each tag a file holds: an open-addressing table
 * from tag to count, for the ordinals. */
typedef struct mbox_tag_counts {
    uint64_t *tags;
    uint32_t *counts;
    size_t cap, n;
} mbox_tag_counts;

/* Count one more message with TAG; returns its ordinal (1 for the first),
 * or 0 when out of memory. */
uint32_t mbox_tag_counts_add(mbox_tag_counts *c, uint64_t tag);
void mbox_tag_counts_free(mbox_tag_counts *c);

#endif
