/* Splitting an mbox held in memory into messages, and undoing mboxrd
 * quoting. Pure functions over a byte buffer: no I/O, no host, so the
 * tests can drive every edge case directly.
 *
 * The rules (the project's mbox contract):
 * - A message starts at the "From " line at the start of the data, and at
 *   a From_ line right after an empty line ("\n" or "\r\n") when what
 *   follows it is a message: a valid From_ line (a sender and a date, or a
 *   lone sender token, mbox_from_line_kind) followed by a header field line
 *   (or, after a dated one, by an empty line or the end of the data). Any
 *   other "From " line is body text, kept as it is: hand-made files do not
 *   quote "From the desk of ..." in bodies (RFC 4155 notes that such
 *   unquoted lines exist; mutt and Dovecot also want a date).
 * - The From_ line itself is not part of the message, nor is the one empty
 *   separator line before the next From_ line (or at the end of the data).
 * - Before the first From_ line a UTF-8 BOM and lines holding only blanks
 *   (space, tab, CR) are skipped: some tools (git format-patch output
 *   pasted into files) leave them.
 * - mboxcl/mboxcl2: a Content-Length header delimits the body when the
 *   bytes at the claimed end are "\n" or "\r\n" followed by a "From " line,
 *   or the end of the data (optionally after one newline). Otherwise the
 *   message falls back to the From_-line split and the caller is told.
 */
#ifndef MBOX_SPLIT_H
#define MBOX_SPLIT_H

#include "mbox_key.h"

#include <stddef.h>
#include <stdint.h>

typedef enum mbox_format {
    MBOX_FORMAT_MBOXRD = 0,
    MBOX_FORMAT_MBOXO,
    MBOX_FORMAT_MBOXCL,
    MBOX_FORMAT_MBOXCL2,
} mbox_format;

/* Parse a format= value; returns 0 on success, -1 for an unknown name. */
int mbox_format_parse(const char *name, mbox_format *out);
const char *mbox_format_name(mbox_format f);

/* Reading undoes quoting only for mboxrd: in mboxo and mboxcl a ">From "
 * line is ambiguous (quoted or meant), and mboxcl2 never quotes. */
int mbox_format_unquotes(mbox_format f);

typedef enum mbox_start {
    MBOX_START_OK = 0,   /* *start is the offset of the first From_ line */
    MBOX_START_EMPTY,    /* nothing but a BOM and blank lines */
    MBOX_START_NOT_MBOX, /* first text is not a From_ line */
    MBOX_START_MMDF,     /* starts with ^A^A^A^A: an MMDF file */
    MBOX_START_CR_ONLY,  /* the first line ends in a bare CR (old Mac) */
} mbox_start;

mbox_start mbox_find_start(const char *buf, size_t len, size_t *start);

typedef struct mbox_msg {
    uint64_t from_off; /* offset of the From_ line */
    uint64_t start;    /* first byte after the From_ line */
    uint64_t end;      /* one past the last byte (separator excluded) */
    uint64_t size;     /* bytes as delivered (after unquoting) */
    int64_t date;      /* from the From_ line, or MP_DATE_UNKNOWN */
    unsigned flags;    /* MP_FLAG_* (mbox_status_flags) */
    /* The X-Mozilla-Keys value at start + keys_off, keys_len bytes (0: no
     * such field): kept as a place, not a copy, to keep the index small. */
    uint32_t keys_off, keys_len;
    /* Its key (mbox_key.h): the tag of [from_off, end) and its ordinal
     * among the messages of the index with that tag. */
    uint32_t ordinal;
    uint64_t tag;
} mbox_msg;

typedef struct mbox_index {
    mbox_msg *msgs;
    size_t n, cap;
    mbox_tag_counts tags; /* for the ordinals of later messages */
} mbox_index;

/* What the splitter tells its caller; any member may be NULL. */
typedef struct mbox_split_hooks {
    void *ctx;
    /* A message whose Content-Length does not hold: its From_ line offset
     * and the claimed length. */
    void (*bad_length)(void *ctx, uint64_t from_off, uint64_t claimed);
    /* Everything before OFFSET has been read for the last time. */
    void (*passed)(void *ctx, size_t offset);
} mbox_split_hooks;

/* Split BUF[START..LEN) (START from mbox_find_start) into IDX, appending.
 * Fills every field of each mbox_msg (the tag reads the whole message).
 * Returns 0, or -1 when out of memory. */
int mbox_split(const char *buf, size_t len, size_t start, mbox_format fmt,
               mbox_index *idx, const mbox_split_hooks *hooks);
void mbox_index_free(mbox_index *idx);

/* The message whose From_ line is at FROM_OFF, or NULL. */
const mbox_msg *mbox_index_find(const mbox_index *idx, uint64_t from_off);

/* Write M's key (mbox_key.h) to OUT. */
void mbox_msg_key(const mbox_msg *m, char out[MBOX_KEY_SIZE]);

/* Offset of the next '>' to drop (the first '>' of a line matching
 * "^>+From ") in BUF[FROM..END), where line starts are judged with LO as
 * the start of the message; END when there is none. */
size_t mbox_next_quote(const char *buf, size_t lo, size_t from, size_t end);

/* Offset of the first empty line in BUF[START..END) (the header block is
 * BUF[START..result)), or END when there is none. *BODY gets the offset of
 * the first byte after that empty line (END when none). */
size_t mbox_header_end(const char *buf, size_t start, size_t end, size_t *body);

#endif
