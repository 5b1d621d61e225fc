#include "storefields.h"

#include <string.h>
#include <strings.h>

static const char *const store_fields[] = {
    "Status",         "X-Status",   "X-Mozilla-Status", "X-Mozilla-Status2",
    "X-Mozilla-Keys", "X-Keywords", "X-UID",            "X-IMAP",
    "X-IMAPbase",     "Content-Length", "Lines",        NULL,
};

int mp_store_field_name(const char *name, size_t n)
{
    while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
        n--;
    for (const char *const *f = store_fields; *f; f++)
        if (strlen(*f) == n && strncasecmp(*f, name, n) == 0)
            return 1;
    return 0;
}

int mp_store_field_line(const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    return colon && mp_store_field_name(line, (size_t)(colon - line));
}

enum { AT_LINE_START, IN_LINE, IN_BODY };

void mp_field_filter_init(mp_field_filter *f, mp_field_out out, void *ctx)
{
    memset(f, 0, sizeof *f);
    f->out = out;
    f->ctx = ctx;
    f->phase = AT_LINE_START;
}

static void pass(mp_field_filter *f, const char *p, size_t n)
{
    if (n)
        f->out(f->ctx, p, n);
}

/* Decide what the line begun in F->line_start is: called with its colon,
 * a full buffer, or its end as the last byte held. */
static void decide_line(mp_field_filter *f, int colon)
{
    f->skipping = colon && mp_store_field_name(f->line_start, f->held - 1);
    if (!f->skipping)
        pass(f, f->line_start, f->held);
    f->held = 0;
}

void mp_field_filter_feed(mp_field_filter *f, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (f->phase == IN_BODY) {
            pass(f, p + i, n - i);
            return;
        }
        if (f->phase == IN_LINE) {
            const char *nl = memchr(p + i, '\n', n - i);
            size_t upto = nl ? (size_t)(nl - p) + 1 : n;
            if (!f->skipping)
                pass(f, p + i, upto - i);
            i = upto;
            if (nl)
                f->phase = AT_LINE_START;
            continue;
        }
        char b = p[i];
        if (f->held == 0 && (b == ' ' || b == '\t')) {
            f->phase = IN_LINE; /* a continuation: as its field */
            continue;
        }
        if (b == '\n' &&
            (f->held == 0 || (f->held == 1 && f->line_start[0] == '\r'))) {
            pass(f, f->line_start, f->held); /* the empty line */
            pass(f, "\n", 1);
            f->held = 0;
            f->phase = IN_BODY;
            i++;
            continue;
        }
        f->line_start[f->held++] = b;
        i++;
        if (b == ':') {
            decide_line(f, 1);
            f->phase = IN_LINE;
        } else if (b == '\n') {
            decide_line(f, 0); /* a line without a colon: kept */
        } else if (f->held == sizeof f->line_start) {
            decide_line(f, 0); /* longer than any field dropped */
            f->phase = IN_LINE;
        }
    }
}

void mp_field_filter_finish(mp_field_filter *f)
{
    pass(f, f->line_start, f->held);
    f->held = 0;
}
