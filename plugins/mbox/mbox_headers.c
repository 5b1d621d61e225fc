#include "mbox_headers.h"

#include <mailport/plugin.h>

#include <string.h>
#include <strings.h>

/* The value of the first field NAME (first line only: these fields are
 * never folded in practice), or NULL; *VLEN gets its length without the
 * line ending. */
static const char *field(const char *hdr, size_t len, const char *name,
                         size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = hdr, *end = hdr + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if ((size_t)(line_end - p) > nlen && p[nlen] == ':' &&
            strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *ve = line_end;
            if (ve > v && ve[-1] == '\r')
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return NULL;
}

/* A field value holding one hex number (blanks around allowed), as
 * Thunderbird writes X-Mozilla-Status ("0001") and X-Mozilla-Status2
 * ("00000000"). Returns 1 and sets *OUT when well-formed. */
static int hex_value(const char *v, size_t n, unsigned long *out)
{
    size_t i = 0, digits = 0;
    unsigned long value = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    for (; i < n && digits < 8; i++, digits++) {
        char c = v[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            break;
        value = value * 16 + (unsigned long)d;
    }
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (digits == 0 || i != n)
        return 0;
    *out = value;
    return 1;
}

/* nsMsgMessageFlags (mailnews/base/public/nsMsgMessageFlags.idl). */
enum {
    MOZ_READ = 0x0001,
    MOZ_REPLIED = 0x0002,
    MOZ_MARKED = 0x0004,
    MOZ_EXPUNGED = 0x0008,
    MOZ_FORWARDED = 0x1000,
    MOZ_IMAP_DELETED = 0x00200000,
};

unsigned mbox_status_flags(const char *hdr, size_t len)
{
    unsigned flags = 0;
    size_t n;
    const char *v = field(hdr, len, "Status", &n);
    for (size_t i = 0; v && i < n; i++)
        if (v[i] == 'R')
            flags |= MP_FLAG_SEEN;
    v = field(hdr, len, "X-Status", &n);
    for (size_t i = 0; v && i < n; i++) {
        switch (v[i]) {
        case 'A':
            flags |= MP_FLAG_ANSWERED;
            break;
        case 'F':
            flags |= MP_FLAG_FLAGGED;
            break;
        case 'T':
            flags |= MP_FLAG_DRAFT;
            break;
        case 'D':
            flags |= MP_FLAG_DELETED;
            break;
        default:
            break;
        }
    }
    unsigned long moz, moz2;
    v = field(hdr, len, "X-Mozilla-Status", &n);
    if (!v || !hex_value(v, n, &moz))
        return flags;
    flags &= MP_FLAG_DRAFT;
    if (moz & MOZ_READ)
        flags |= MP_FLAG_SEEN;
    if (moz & MOZ_REPLIED)
        flags |= MP_FLAG_ANSWERED;
    if (moz & MOZ_MARKED)
        flags |= MP_FLAG_FLAGGED;
    if (moz & MOZ_EXPUNGED)
        flags |= MP_FLAG_DELETED;
    if (moz & MOZ_FORWARDED)
        flags |= MP_FLAG_FORWARDED;
    v = field(hdr, len, "X-Mozilla-Status2", &n);
    if (v && hex_value(v, n, &moz2) && (moz2 & MOZ_IMAP_DELETED))
        flags |= MP_FLAG_DELETED;
    return flags;
}

const char *mbox_mozilla_keys(const char *hdr, size_t len, size_t *vlen)
{
    return field(hdr, len, "X-Mozilla-Keys", vlen);
}

static int is_atom(const char *w, size_t n)
{
    if (n == 0 || w[0] == '\\')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c))
            return 0;
    }
    return 1;
}

size_t mbox_keywords_from(const char *v, size_t n, char *out, size_t out_size)
{
    size_t w = 0, i = 0;
    if (out_size == 0)
        return 0;
    out[0] = '\0';
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r'))
            i++;
        size_t s = i;
        while (i < n && v[i] != ' ' && v[i] != '\t' && v[i] != '\r')
            i++;
        size_t k = i - s;
        if (!is_atom(v + s, k) || w + (w > 0) + k + 1 > out_size)
            continue;
        /* Already there? Keywords are case-insensitive (RFC 3501). */
        int dup = 0;
        for (size_t p = 0; p < w && !dup;) {
            size_t e = p;
            while (e < w && out[e] != ' ')
                e++;
            dup = e - p == k && strncasecmp(out + p, v + s, k) == 0;
            p = e + 1;
        }
        if (dup)
            continue;
        if (w > 0)
            out[w++] = ' ';
        memcpy(out + w, v + s, k);
        w += k;
        out[w] = '\0';
    }
    return w;
}

int mbox_content_length(const char *hdr, size_t len, uint64_t *out)
{
    size_t n;
    const char *v = field(hdr, len, "Content-Length", &n);
    if (!v)
        return 0;
    size_t i = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    uint64_t value = 0;
    size_t digits = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++) {
        if (value > (UINT64_MAX - 9) / 10)
            return 0;
        value = value * 10 + (uint64_t)(v[i] - '0');
    }
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (digits == 0 || i != n)
        return 0;
    *out = value;
    return 1;
}

int mbox_is_field_line(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && buf[i] >= 33 && buf[i] <= 126 && buf[i] != ':')
        i++;
    if (i == 0)
        return 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    return i < len && buf[i] == ':';
}
