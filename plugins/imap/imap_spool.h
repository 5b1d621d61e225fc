/*
 * A byte spool: in memory up to a limit, then in an unlinked private
 * temporary file. The sink needs it because an APPEND literal's size must
 * be known before its first byte goes out; the source needs it for a
 * BODY[] that arrives before the UID telling whose it is.
 */
#ifndef MP_IMAP_SPOOL_H
#define MP_IMAP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct imap_spool {
    char *mem;
    size_t mem_len, mem_cap, mem_limit;
    int fd;        /* -1 until the spool spills to disk */
    uint64_t size; /* bytes written in all */
} imap_spool;

/* MEM_LIMIT: bytes kept in memory before spilling. */
void imap_spool_init(imap_spool *s, size_t mem_limit);
/* Append; 0, or -1 with errno set (disk full, no memory). */
int imap_spool_write(imap_spool *s, const void *buf, size_t len);
/* Hand the content to FN chunk by chunk, in order. FN returns 0 to go on;
 * its non-zero result is returned. -1 with errno set on a read error. */
int imap_spool_each(imap_spool *s, int (*fn)(void *ctx, const char *buf,
                                             size_t len),
                    void *ctx);
/* Hand bytes [OFF, OFF+LEN) to FN chunk by chunk, as imap_spool_each does
 * for all of them. The range must lie within what was written. */
int imap_spool_range(imap_spool *s, uint64_t off, uint64_t len,
                     int (*fn)(void *ctx, const char *buf, size_t len),
                     void *ctx);
/* Drop everything from byte SIZE on (SIZE <= what was written); later
 * writes go after it. 0, or -1 with errno set. */
int imap_spool_truncate(imap_spool *s, uint64_t size);
/* Forget the content, keep the spool usable. */
void imap_spool_reset(imap_spool *s);
void imap_spool_free(imap_spool *s);

#endif
