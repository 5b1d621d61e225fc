#include "mbox_quote.h"

#include "mbox_date.h"

#include <mailport/plugin.h>

#include <stdio.h>
#include <string.h>

static const char from_word[] = "From ";

void mbox_quoter_init(mbox_quoter *q, int rd)
{
    memset(q, 0, sizeof *q);
    q->rd = rd;
}

static int emit_gts(size_t n, mbox_out_fn out, void *ctx)
{
    static const char gts[64] =
        ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
    while (n > 0) {
        size_t k = n < sizeof gts ? n : sizeof gts;
        int rc = out(ctx, gts, k);
        if (rc)
            return rc;
        n -= k;
    }
    return 0;
}

/* The held-back start of a line turned out not to need quoting. */
static int release(mbox_quoter *q, mbox_out_fn out, void *ctx)
{
    int rc = emit_gts(q->gts, out, ctx);
    if (!rc && q->matched)
        rc = out(ctx, from_word, q->matched);
    q->gts = q->matched = 0;
    q->mid_line = 1;
    return rc;
}

int mbox_quoter_feed(mbox_quoter *q, const char *buf, size_t len,
                     mbox_out_fn out, void *ctx)
{
    size_t i = 0;
    int rc;
    while (i < len) {
        if (q->mid_line) {
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t stop = nl ? (size_t)(nl - buf) + 1 : len;
            if ((rc = out(ctx, buf + i, stop - i)) != 0)
                return rc;
            i = stop;
            if (nl)
                q->mid_line = 0;
            continue;
        }
        char c = buf[i];
        if (c == '>' && q->rd && q->matched == 0) {
            q->gts++;
            i++;
        } else if (c == from_word[q->matched]) {
            i++;
            if (++q->matched == sizeof from_word - 1) {
                if ((rc = emit_gts(q->gts + 1, out, ctx)) != 0 ||
                    (rc = out(ctx, from_word, q->matched)) != 0)
                    return rc;
                q->gts = q->matched = 0;
                q->mid_line = 1;
            }
        } else if ((rc = release(q, out, ctx)) != 0) {
            return rc; /* c itself is handled as mid-line next round */
        }
    }
    return 0;
}

int mbox_quoter_finish(mbox_quoter *q, mbox_out_fn out, void *ctx)
{
    int rc = release(q, out, ctx);
    q->mid_line = 0;
    return rc;
}

size_t mbox_from_line(int64_t date, int64_t now, char *out, size_t out_size)
{
    if (date != MP_DATE_UNKNOWN &&
        (date < mbox_days_from_civil(1000, 1, 1) * 86400 ||
         date >= mbox_days_from_civil(10000, 1, 1) * 86400))
        date = MP_DATE_UNKNOWN;
    char when[48];
    mbox_format_asctime(date == MP_DATE_UNKNOWN ? now : date, when,
                        sizeof when);
    int n = snprintf(out, out_size, "From MAILER-DAEMON %s\n", when);
    return n < 0 ? 0 : (size_t)n < out_size ? (size_t)n : out_size - 1;
}
