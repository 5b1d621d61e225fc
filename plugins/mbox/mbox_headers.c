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
    return flags;
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
