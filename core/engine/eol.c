#include "eol.h"

#include <string.h>

mp_eol_mode mp_eol_mode_for(mp_eol source_eol, mp_eol sink_eol)
{
    (void)source_eol; /* every source may hold any line-ending style */
    if (sink_eol == MP_EOL_CRLF)
        return MP_EOLCONV_TO_CRLF;
    if (sink_eol == MP_EOL_LF)
        return MP_EOLCONV_TO_LF;
    return MP_EOLCONV_NONE;
}

void mp_eol_init(mp_eol_conv *c, mp_eol_mode mode)
{
    c->mode = mode;
    c->pending_cr = 0;
}

static size_t put_break(mp_eol_mode mode, char *out)
{
    if (mode == MP_EOLCONV_TO_CRLF) {
        out[0] = '\r';
        out[1] = '\n';
        return 2;
    }
    out[0] = '\n';
    return 1;
}

/* The next CH at or after FROM, given CACHE, the last one found (NULL when
 * none is left): memchr runs once per occurrence, not once per byte. */
static const char *next_of(const char *cache, const char *from, const char *end,
                           int ch)
{
    if (!cache || cache >= from)
        return cache;
    return memchr(from, ch, (size_t)(end - from));
}

static size_t normalise(mp_eol_conv *c, const char *in, size_t len, char *out)
{
    const char *p = in, *end = in + len;
    const char *lf = memchr(in, '\n', len), *cr = memchr(in, '\r', len);
    size_t w = 0;
    while (p < end) {
        if (c->pending_cr == 0) {
            /* Copy the run up to the next CR or LF as it is. */
            lf = next_of(lf, p, end, '\n');
            cr = next_of(cr, p, end, '\r');
            const char *stop = end;
            if (lf && lf < stop)
                stop = lf;
            if (cr && cr < stop)
                stop = cr;
            memcpy(out + w, p, (size_t)(stop - p));
            w += (size_t)(stop - p);
            p = stop;
            if (p == end)
                break;
            if (*p == '\n')
                w += put_break(c->mode, out + w);
            else
                c->pending_cr = 1; /* LF, CR or the end decides */
            p++;
            continue;
        }
        if (*p == '\n') { /* CR LF, or CR CR LF: one line break */
            w += put_break(c->mode, out + w);
            c->pending_cr = 0;
            p++;
        } else if (*p == '\r') {
            if (c->pending_cr == 2) /* CR CR CR: the first is lone */
                w += put_break(c->mode, out + w);
            c->pending_cr = 2;
            p++;
        } else { /* each held CR was a lone one; copy *p next round */
            for (; c->pending_cr > 0; c->pending_cr--)
                w += put_break(c->mode, out + w);
        }
    }
    return w;
}

size_t mp_eol_convert(mp_eol_conv *c, const char *in, size_t len, char *out)
{
    if (c->mode == MP_EOLCONV_NONE) {
        memcpy(out, in, len);
        return len;
    }
    return normalise(c, in, len, out);
}

int mp_eol_unchanged(const mp_eol_conv *c, const char *in, size_t len)
{
    if (c->mode == MP_EOLCONV_NONE)
        return 1;
    if (c->pending_cr)
        return 0;
    if (c->mode == MP_EOLCONV_TO_LF)
        return memchr(in, '\r', len) == NULL;
    /* CRLF: every LF after a CR that is not itself after a CR, and every
     * CR before an LF (a CR ending the chunk would be held back). */
    for (const char *p = in, *end = in + len;
         (p = memchr(p, '\n', (size_t)(end - p))); p++)
        if (p == in || p[-1] != '\r' || (p - in >= 2 && p[-2] == '\r'))
            return 0;
    for (const char *p = in, *end = in + len;
         (p = memchr(p, '\r', (size_t)(end - p))); p++)
        if (p + 1 == end || p[1] != '\n')
            return 0;
    return 1;
}

size_t mp_eol_finish(mp_eol_conv *c, char *out)
{
    size_t w = 0;
    if (c->mode != MP_EOLCONV_NONE)
        for (; c->pending_cr > 0; c->pending_cr--)
            w += put_break(c->mode, out + w);
    c->pending_cr = 0;
    return w;
}
