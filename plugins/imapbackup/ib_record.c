#include "ib_record.h"

#include <string.h>

static const char from_[] = "From ";

const char *ib_record_parse(const char *buf, size_t start, size_t end,
                            size_t *body, size_t *body_end, size_t *from_len)
{
    if (end - start < 5 || memcmp(buf + start, from_, 5) != 0)
        return "does not start with a \"From \" line";
    const char *nl = memchr(buf + start, '\n', end - start);
    if (!nl)
        return "has no line break after its \"From \" line";
    *from_len = (size_t)(nl - (buf + start));
    *body = (size_t)(nl - buf) + 1;
    *body_end = end;
    /* The padding made the message end in "\n\n". Three or more line
     * breaks at the end were all the message's own; with exactly two, it
     * ended in one (the usual case, taken), none or two. */
    size_t k = 0;
    while (k < end - *body && k < 3 && buf[end - 1 - k] == '\n')
        k++;
    if (k == 2)
        *body_end = end - 1;
    return NULL;
}

const char *ib_record_check_bounds(const char *buf, size_t len, size_t start,
                                   size_t end)
{
    if (end - start < 2 || buf[end - 1] != '\n' || buf[end - 2] != '\n')
        return "does not end in the blank line imap-backup ends every "
               "message with (its length in the index is wrong)";
    /* A line after an empty line is never a message's first line, so
     * imap-backup quoted any "From " there: this is the next record. */
    if (memmem(buf + start, end - start, "\n\nFrom ", 7))
        return "runs into the next message (its length in the index is "
               "wrong)";
    if (end < len && (len - end < 5 || memcmp(buf + end, from_, 5) != 0))
        return "is not followed by the next message or the end of the file "
               "(its length in the index is wrong)";
    return NULL;
}

/* Bytes of the valid UTF-8 sequence at P (at most N bytes), 0 if none. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        len = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        len = 3;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        len = 4;
    else
        return 0;
    /* No overlong forms, no surrogates, nothing past U+10FFFF. */
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

size_t ib_record_ruby_length(const char *buf, size_t start, size_t end)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t n = 0;
    for (size_t i = start; i < end; n++) {
        size_t k = utf8_sequence(p + i, end - i);
        i += k ? k : 1;
    }
    return n;
}

size_t ib_record_next_quote(const char *buf, size_t body, size_t from,
                            size_t end)
{
    /* A quoted line starts after a '\n' that lies inside the message, so
     * the message's first line is never taken. */
    size_t p = from > body ? from - 1 : body;
    while (p + 1 < end) {
        const char *nl = memchr(buf + p, '\n', end - p - 1);
        if (!nl)
            break;
        size_t q = (size_t)(nl - buf) + 1, r = q;
        while (r < end && buf[r] == '>')
            r++;
        if (r > q && end - r >= 4 && memcmp(buf + r, "From", 4) == 0)
            return q;
        p = q;
    }
    return end;
}

size_t ib_record_size(const char *buf, size_t body, size_t end)
{
    size_t n = end - body;
    for (size_t q = ib_record_next_quote(buf, body, body, end); q < end;
         q = ib_record_next_quote(buf, body, q + 1, end))
        n--;
    return n;
}

size_t ib_record_header_end(const char *buf, size_t body, size_t end)
{
    if (body < end && buf[body] == '\n')
        return body;
    if (end - body >= 2 && buf[body] == '\r' && buf[body + 1] == '\n')
        return body;
    for (size_t p = body; p + 1 < end;) {
        const char *nl = memchr(buf + p, '\n', end - p - 1);
        if (!nl)
            break;
        size_t i = (size_t)(nl - buf);
        if (buf[i + 1] == '\n' ||
            (buf[i + 1] == '\r' && i + 2 < end && buf[i + 2] == '\n'))
            return i + 1;
        p = i + 1;
    }
    return end;
}

size_t ib_record_unquote(const char *buf, size_t body, size_t end, char *out)
{
    size_t w = 0, from = body;
    for (size_t q = ib_record_next_quote(buf, body, body, end); q < end;
         q = ib_record_next_quote(buf, body, q + 1, end)) {
        memcpy(out + w, buf + from, q - from);
        w += q - from;
        from = q + 1;
    }
    memcpy(out + w, buf + from, end - from);
    return w + (end - from);
}

int ib_record_split(const char *buf, size_t len, ib_record_cb cb, void *ctx)
{
    if (len == 0)
        return 0;
    if (len < 5 || memcmp(buf, from_, 5) != 0)
        return -1;
    size_t start = 0;
    for (;;) {
        const char *hit = memmem(buf + start, len - start, "\n\nFrom ", 7);
        if (!hit)
            return cb(ctx, start, len) ? -2 : 0;
        size_t next = (size_t)(hit - buf) + 2;
        if (cb(ctx, start, next))
            return -2;
        start = next;
    }
}
