/* The header fields mail readers keep their own flags and indexes in, and
 * rewrite in place when a flag changes: mutt's Status and X-Status,
 * Thunderbird's X-Mozilla-Status, X-Mozilla-Status2 and X-Mozilla-Keys,
 * UW IMAP's X-UID, X-Keywords, X-IMAP and X-IMAPbase, and the
 * Content-Length and Lines that mutt adds when it rewrites an mbox.
 *
 * They are the store's bookkeeping, not the message: a message marked read
 * in mutt keeps its mbox key (plugins/mbox/mbox_key.h), its identity
 * (core/engine/header.c) and, for verify, its content (core/engine/
 * hashes.c), while its flags are read from these fields and compared as
 * flags. One list for all three, compiled into the core and the plugins. */
#ifndef MP_STOREFIELDS_H
#define MP_STOREFIELDS_H

#include <stddef.h>

/* Is NAME[0..N) (a field name, blanks before the colon allowed as RFC
 * 5322's obs-optional has them) one of those fields? Case-insensitive. */
int mp_store_field_name(const char *name, size_t n);

/* Is the header line LINE[0..N) such a field's first line? */
int mp_store_field_line(const char *line, size_t n);

/* A streaming filter that drops those fields (each with its continuation
 * lines) from a message's header block and passes every other byte on to
 * OUT, whatever pieces the message comes in. The header block ends at the
 * first empty line ("\n" or "\r\n"), which is passed on, as is everything
 * after it. */
typedef void (*mp_field_out)(void *ctx, const char *p, size_t n);

typedef struct mp_field_filter {
    mp_field_out out;
    void *ctx;
    int phase;           /* at a line start, in a line, in the body */
    int skipping;        /* the current field is one dropped */
    size_t held;         /* bytes of the current line's start kept back */
    char line_start[24]; /* until the field name is known */
} mp_field_filter;

void mp_field_filter_init(mp_field_filter *f, mp_field_out out, void *ctx);
void mp_field_filter_feed(mp_field_filter *f, const char *p, size_t n);
/* Pass on what is still held (a message that ends inside a line start). */
void mp_field_filter_finish(mp_field_filter *f);

#endif
