/* Dates on mbox From_ lines: "From sender Tue Sep 17 11:28:35 2002"
 * (asctime), with the variants found in real files: a zone before or after
 * the year ("MET 1996", "2002 +0200"), no seconds, two-digit years, a sender
 * holding spaces, and the RFC 2822 form some tools write
 * ("Sun, 11 Nov 2007 06:58:35 +0200"). */
#ifndef MBOX_DATE_H
#define MBOX_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Parse the rest of a From_ line after "From " (LEN bytes; a trailing line
 * ending is ignored). Seconds since the epoch; UTC is assumed when the line
 * names no zone or one we do not know. MP_DATE_UNKNOWN when no date is
 * found. */
int64_t mbox_from_line_date(const char *line, size_t len);

/* What the rest of a line after "From " (LEN bytes) is, for the splitter:
 * - MBOX_FROM_DATED: a sender (one or more tokens) then a date that
 *   mbox_from_line_date parses: what mail delivery agents, mutt, Dovecot,
 *   Thunderbird ("From - Www Mmm ..."), Gmail Takeout and Pipermail write.
 * - MBOX_FROM_SENDER_ONLY: a single token and nothing else ("From -",
 *   "From 1844347839636459560@xxx"): a From_ line whose date was left out,
 *   as in MimeKit's Thunderbird and Takeout samples in the corpora. It is
 *   weaker evidence, so the splitter wants a header field after it.
 * - MBOX_FROM_NONE: anything else ("From the desk of the treasurer: ...",
 *   "From Russia with love"): body text. */
typedef enum mbox_from_kind {
    MBOX_FROM_NONE = 0,
    MBOX_FROM_DATED,
    MBOX_FROM_SENDER_ONLY,
} mbox_from_kind;

mbox_from_kind mbox_from_line_kind(const char *line, size_t len);

/* asctime form of T in UTC, "Thu Jan  1 00:00:00 1970", into OUT (at least
 * 32 bytes). Locale-independent. */
void mbox_format_asctime(int64_t t, char *out, size_t out_size);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t mbox_days_from_civil(int64_t y, unsigned m, unsigned d);
void mbox_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
