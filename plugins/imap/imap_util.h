/*
 * Small pure helpers of the IMAP plugin, kept apart so they can be unit
 * tested without a server: a growing string, IMAP quoting, internal dates,
 * flag lists and UID sets.
 */
#ifndef MP_IMAP_UTIL_H
#define MP_IMAP_UTIL_H

#include <stddef.h>
#include <stdint.h>

typedef struct imap_str {
    char *s; /* NUL-terminated; NULL until something is appended */
    size_t len, cap;
    int oom; /* set when an append ran out of memory */
} imap_str;

void imap_str_add(imap_str *b, const char *s, size_t len);
void imap_str_adds(imap_str *b, const char *s);
void imap_str_addf(imap_str *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void imap_str_free(imap_str *b);

/* Append S as an IMAP quoted string, escaping '"' and '\'. Returns -1 (and
 * appends nothing) when S holds a byte that cannot travel quoted (CR, LF,
 * NUL, other controls, 8-bit): the caller must refuse or use a literal. */
int imap_str_quote(imap_str *b, const char *s);

/* "dd-Mon-yyyy hh:mm:ss +0000" (UTC) for T, into OUT (at least 32 bytes). */
void imap_format_date(int64_t t, char *out, size_t size);
/* Parse an IMAP date-time ("17-Jul-1996 02:44:25 -0700", day may have a
 * leading space). Returns 0 and seconds since the epoch, or -1. */
int imap_parse_date(const char *s, int64_t *out);

/* Fold one flag atom from a FLAGS list into MP_FLAG_* bits and a keyword
 * string (space separated). \Recent and unknown system flags (\Foo) are
 * dropped. */
void imap_flag_add(const char *atom, unsigned *flags, imap_str *keywords);

/* Is S usable as a keyword atom (non-empty, no specials, not starting with
 * '\')? */
int imap_is_keyword_atom(const char *s);

/* Compress sorted UIDS[0..n) into a UID set ("1:5,7,9:12"). */
void imap_uid_set(imap_str *b, const uint32_t *uids, size_t n);

/* Expand the uid-set S ("3955:3962", "3955,3957:3960"; RFC 4315's form
 * for APPENDUID and COPYUID, in the order the messages were given; a
 * range runs from its first number to its second) into UIDS, which holds
 * N. Parsing stops at the end of S or at a space. Returns how many UIDs S
 * names when that is exactly N, else -1 (malformed, zero, or another
 * count). */
int imap_parse_uid_set(const char *s, uint32_t *uids, size_t n);

/* Parse a decimal UID key ("1".."4294967295"): 0 or -1. */
int imap_parse_uid(const char *key, uint32_t *out);

#endif
