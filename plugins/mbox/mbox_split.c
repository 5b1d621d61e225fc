#include "mbox_split.h"

#include "mbox_date.h"
#include "mbox_headers.h"

#include <mailport/plugin.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {
    [MBOX_FORMAT_MBOXRD] = "mboxrd",
    [MBOX_FORMAT_MBOXO] = "mboxo",
    [MBOX_FORMAT_MBOXCL] = "mboxcl",
    [MBOX_FORMAT_MBOXCL2] = "mboxcl2",
};

int mbox_format_parse(const char *name, mbox_format *out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof *format_names; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (mbox_format)i;
            return 0;
        }
    }
    return -1;
}

const char *mbox_format_name(mbox_format f)
{
    return format_names[f];
}

int mbox_format_unquotes(mbox_format f)
{
    return f == MBOX_FORMAT_MBOXRD;
}

static int starts_with(const char *buf, size_t len, size_t at, const char *lit)
{
    size_t n = strlen(lit);
    return at <= len && len - at >= n && memcmp(buf + at, lit, n) == 0;
}

mbox_start mbox_find_start(const char *buf, size_t len, size_t *start)
{
    size_t p = 0;
    if (starts_with(buf, len, 0, "\xEF\xBB\xBF"))
        p = 3;
    /* Skip lines of blanks only. A line is judged by its first byte that is
     * not a blank: a newline ends a blank line, anything else is text. */
    for (;;) {
        size_t q = p;
        while (q < len && (buf[q] == ' ' || buf[q] == '\t' || buf[q] == '\r'))
            q++;
        if (q >= len) {
            /* Blanks alone, or a bare-CR file made only of blank lines. */
            *start = len;
            return MBOX_START_EMPTY;
        }
        if (buf[q] != '\n')
            break;
        p = q + 1;
    }
    if (starts_with(buf, len, p, "\001\001\001\001"))
        return MBOX_START_MMDF;
    if (!starts_with(buf, len, p, "From "))
        return MBOX_START_NOT_MBOX;
    /* Old Mac files end lines in a bare CR and hold no LF at all; the first
     * line tells. */
    const char *lf = memchr(buf + p, '\n', len - p);
    size_t line_end = lf ? (size_t)(lf - buf) : len;
    const char *cr = memchr(buf + p, '\r', line_end - p);
    if (cr && ((size_t)(cr - buf) + 1 == len || cr[1] != '\n'))
        return MBOX_START_CR_ONLY;
    *start = p;
    return MBOX_START_OK;
}

/* Does the "From " line at P, which follows an empty line, start a
 * message? Hand-made mbox files (and mboxo ones written by tools that do
 * not quote) hold body lines such as "From the desk of the treasurer:"
 * after an empty line, and bodies quoting a whole From_ line. So the line
 * must be a From_ line (mbox_from_line_kind) and be followed by what starts
 * a message: a header field line; for a dated From_ line also the end of
 * the data, an empty line (a message with no header fields, which the
 * sink writes as it got it) or a quoted From_ line (quoted_from_line). */
/* Is the line at Q a dated From_ line quoted with one or more '>' (">From
 * MAILER-DAEMON Mon Mar  4 ...")? A writer puts one right after its own
 * From_ line when the message itself begins with an envelope line (a saved
 * mbox message, a bounce): that is a message start, not body text. */
static int quoted_from_line(const char *buf, size_t len, size_t q)
{
    size_t p = q;
    while (p < len && buf[p] == '>')
        p++;
    if (p == q || !starts_with(buf, len, p, "From "))
        return 0;
    const char *nl = memchr(buf + p, '\n', len - p);
    size_t eol = nl ? (size_t)(nl - buf) : len;
    return mbox_from_line_kind(buf + p + 5, eol - p - 5) == MBOX_FROM_DATED;
}

static int starts_message(const char *buf, size_t len, size_t p)
{
    const char *nl = memchr(buf + p, '\n', len - p);
    size_t eol = nl ? (size_t)(nl - buf) : len;
    mbox_from_kind kind = mbox_from_line_kind(buf + p + 5, eol - p - 5);
    if (kind == MBOX_FROM_NONE)
        return 0;
    size_t q = nl ? eol + 1 : len;
    if (mbox_is_field_line(buf + q, len - q))
        return 1;
    if (kind != MBOX_FROM_DATED)
        return 0;
    return q == len || buf[q] == '\n' || quoted_from_line(buf, len, q) ||
           (buf[q] == '\r' && q + 1 < len && buf[q + 1] == '\n');
}

/* Find the next From_ line after the message body starting at S: the
 * separator (empty line) begins at *SEP and the From_ line at *NEXT.
 * Returns 0 when the data ends first. */
static int find_separator(const char *buf, size_t len, size_t s, size_t *sep,
                          size_t *next)
{
    size_t h = s;
    while (h < len) {
        const char *hit = memmem(buf + h, len - h, "\nFrom ", 6);
        if (!hit)
            return 0;
        h = (size_t)(hit - buf);
        /* buf[h] ends the empty line. The byte before the From_ line's
         * predecessor: s-1 is the From_ line's own newline, so h == s is an
         * empty line right after it. */
        size_t at; /* where the empty line before "From " starts */
        if (h >= s && (h == s || buf[h - 1] == '\n'))
            at = h;
        else if (h >= s + 1 && buf[h - 1] == '\r' &&
                 (h - 1 == s || buf[h - 2] == '\n'))
            at = h - 1;
        else
            at = SIZE_MAX;
        if (at != SIZE_MAX && starts_message(buf, len, h + 1)) {
            *sep = at;
            *next = h + 1;
            return 1;
        }
        h++;
    }
    return 0;
}

/* End of the last message: one trailing empty line is the separator. */
static size_t trim_final_separator(const char *buf, size_t s, size_t len)
{
    if (len > s && buf[len - 1] == '\n') {
        if (len - 1 == s || buf[len - 2] == '\n')
            return len - 1;
        if (len - 2 >= s && buf[len - 2] == '\r' &&
            (len - 2 == s || buf[len - 3] == '\n'))
            return len - 2;
    }
    return len;
}

/* Does a Content-Length claim ending at CLAIMED hold? *NEXT gets the next
 * From_ line (or LEN). */
static int content_length_holds(const char *buf, size_t len, uint64_t claimed,
                                size_t *next)
{
    if (claimed > len)
        return 0;
    size_t c = (size_t)claimed;
    if (c == len || (c + 1 == len && buf[c] == '\n') ||
        (c + 2 == len && buf[c] == '\r' && buf[c + 1] == '\n')) {
        *next = len;
        return 1;
    }
    if (buf[c] == '\n' && starts_with(buf, len, c + 1, "From ")) {
        *next = c + 1;
        return 1;
    }
    if (buf[c] == '\r' && c + 1 < len && buf[c + 1] == '\n' &&
        starts_with(buf, len, c + 2, "From ")) {
        *next = c + 2;
        return 1;
    }
    return 0;
}

static int push(mbox_index *idx, const mbox_msg *m)
{
    if (idx->n == idx->cap) {
        size_t cap = idx->cap ? idx->cap * 2 : 256;
        mbox_msg *grown = realloc(idx->msgs, cap * sizeof *grown);
        if (!grown)
            return -1;
        idx->msgs = grown;
        idx->cap = cap;
    }
    idx->msgs[idx->n++] = *m;
    return 0;
}

static uint64_t delivered_size(const char *buf, size_t s, size_t e,
                               mbox_format fmt)
{
    uint64_t size = e - s;
    if (!mbox_format_unquotes(fmt))
        return size;
    for (size_t q = mbox_next_quote(buf, s, s, e); q < e;
         q = mbox_next_quote(buf, s, q + 1, e))
        size--;
    return size;
}

int mbox_split(const char *buf, size_t len, size_t start, mbox_format fmt,
               mbox_index *idx, const mbox_split_hooks *hooks)
{
    static const mbox_split_hooks none = {0};
    if (!hooks)
        hooks = &none;
    int use_length = fmt == MBOX_FORMAT_MBOXCL || fmt == MBOX_FORMAT_MBOXCL2;
    size_t pos = start;
    while (pos < len) {
        mbox_msg m = {.from_off = pos};
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t s = nl ? (size_t)(nl - buf) + 1 : len;
        m.start = s;
        m.date = mbox_from_line_date(buf + pos + 5, s - pos - 5);
        size_t body;
        size_t hend = mbox_header_end(buf, s, len, &body);
        m.flags = mbox_status_flags(buf + s, hend - s);
        size_t klen;
        const char *keys = mbox_mozilla_keys(buf + s, hend - s, &klen);
        if (keys && (size_t)(keys - (buf + s)) <= UINT32_MAX &&
            klen <= UINT32_MAX) {
            m.keys_off = (uint32_t)(keys - (buf + s));
            m.keys_len = (uint32_t)klen;
        }

        size_t next = len;
        int found = 0;
        uint64_t claimed;
        if (use_length && hend < len &&
            mbox_content_length(buf + s, hend - s, &claimed)) {
            if (claimed <= len - body &&
                content_length_holds(buf, len, body + claimed, &next)) {
                m.end = body + claimed;
                found = 1;
            } else if (hooks->bad_length) {
                hooks->bad_length(hooks->ctx, m.from_off, claimed);
            }
        }
        if (!found) {
            size_t sep;
            if (find_separator(buf, len, s, &sep, &next)) {
                m.end = sep;
            } else {
                m.end = trim_final_separator(buf, s, len);
                next = len;
            }
        }
        m.size = delivered_size(buf, m.start, m.end, fmt);
        if (mbox_tag_of(buf, (size_t)m.from_off, (size_t)m.end, &m.tag) != 0 ||
            (m.ordinal = mbox_tag_counts_add(&idx->tags, m.tag)) == 0 ||
            push(idx, &m) != 0)
            return -1;
        if (hooks->passed)
            hooks->passed(hooks->ctx, (size_t)m.end);
        pos = next;
    }
    return 0;
}

void mbox_index_free(mbox_index *idx)
{
    free(idx->msgs);
    idx->msgs = NULL;
    idx->n = idx->cap = 0;
    mbox_tag_counts_free(&idx->tags);
}

void mbox_msg_key(const mbox_msg *m, char out[MBOX_KEY_SIZE])
{
    mbox_key_format(out, m->tag, m->ordinal);
}

const mbox_msg *mbox_index_find(const mbox_index *idx, uint64_t from_off)
{
    size_t lo = 0, hi = idx->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx->msgs[mid].from_off < from_off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < idx->n && idx->msgs[lo].from_off == from_off)
        return &idx->msgs[lo];
    return NULL;
}

size_t mbox_next_quote(const char *buf, size_t lo, size_t from, size_t end)
{
    size_t h = from;
    while (h < end) {
        const char *hit = memmem(buf + h, end - h, ">From ", 6);
        if (!hit)
            return end;
        size_t g = (size_t)(hit - buf);
        size_t k = g;
        while (k > lo && buf[k - 1] == '>')
            k--;
        /* Only a run of '>' from the start of a line counts, and a run that
         * began before FROM was handled (or skipped) by an earlier call. */
        if ((k == lo || buf[k - 1] == '\n') && k >= from)
            return k;
        h = g + 1;
    }
    return end;
}

size_t mbox_header_end(const char *buf, size_t start, size_t end, size_t *body)
{
    size_t p = start;
    while (p < end) {
        if (buf[p] == '\n') {
            *body = p + 1;
            return p;
        }
        if (buf[p] == '\r' && p + 1 < end && buf[p + 1] == '\n') {
            *body = p + 2;
            return p;
        }
        const char *nl = memchr(buf + p, '\n', end - p);
        if (!nl)
            break;
        p = (size_t)(nl - buf) + 1;
    }
    *body = end;
    return end;
}
