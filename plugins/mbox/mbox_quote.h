/* From-quoting on write, fed in arbitrary chunks (a line may be split
 * anywhere between two put_write calls).
 *   mboxrd: a line matching ^>*From  gets one more '>' (reversible).
 *   mboxo:  only a line matching ^From  becomes >From . */
#ifndef MBOX_QUOTE_H
#define MBOX_QUOTE_H

#include <stddef.h>
#include <stdint.h>

typedef int (*mbox_out_fn)(void *ctx, const char *buf, size_t len);

typedef struct mbox_quoter {
    int rd;         /* mboxrd rules, else mboxo */
    int mid_line;   /* past the part of the line that can match */
    size_t gts;     /* '>' seen at the start of this line */
    size_t matched; /* bytes of "From " matched after them */
} mbox_quoter;

void mbox_quoter_init(mbox_quoter *q, int rd);

/* Feed LEN bytes; output goes to OUT. Returns 0, or the first non-zero
 * value OUT returned. */
int mbox_quoter_feed(mbox_quoter *q, const char *buf, size_t len,
                     mbox_out_fn out, void *ctx);

/* Emit whatever is held back at the end of the message. */
int mbox_quoter_finish(mbox_quoter *q, mbox_out_fn out, void *ctx);

#define MBOX_FROM_LINE_MAX 96

/* The From_ line the sink starts a message with, "From MAILER-DAEMON
 * <asctime>\n", into OUT (MBOX_FROM_LINE_MAX bytes); returns its length.
 * Dated NOW when DATE is MP_DATE_UNKNOWN, and also when its year is not
 * one of 1000..9999: mbox_from_line_date reads four-digit years only, and
 * the splitter takes a From_ line after an empty line for a message only
 * when it is dated, so such a message would be read back as part of the one
 * before it (found by fuzz/fuzz_mbox.c). */
size_t mbox_from_line(int64_t date, int64_t now, char *out, size_t out_size);

#endif
