#include "eol.h"

#include <string.h>

mp_eol_mode mp_eol_mode_for(mp_eol source_eol, mp_eol sink_eol)
{
    if (sink_eol == MP_EOL_CRLF)
        return MP_EOLCONV_TO_CRLF;
    if (sink_eol == MP_EOL_LF && source_eol == MP_EOL_CRLF)
        return MP_EOLCONV_TO_LF;
    return MP_EOLCONV_NONE;
}

void mp_eol_init(mp_eol_conv *c, mp_eol_mode mode)
{
    c->mode = mode;
    c->pending_cr = 0;
}

/* Both converters copy the runs between line ends with memcpy and only
 * look at the bytes around each line end. */
static size_t to_crlf(mp_eol_conv *c, const char *in, size_t len, char *out)
{
    size_t w = 0, i = 0;
    while (i < len) {
        const char *nl = memchr(in + i, '\n', len - i);
        size_t run = nl ? (size_t)(nl - in) - i : len - i;
        if (run) {
            memcpy(out + w, in + i, run);
            w += run;
            c->pending_cr = in[i + run - 1] == '\r';
            i += run;
        }
        if (!nl)
            break;
        if (!c->pending_cr)
            out[w++] = '\r';
        out[w++] = '\n';
        c->pending_cr = 0;
        i++;
    }
    return w;
}

static size_t to_lf(mp_eol_conv *c, const char *in, size_t len, char *out)
{
    size_t w = 0, i = 0;
    if (len == 0)
        return 0; /* a pending CR waits for real bytes or the finish */
    if (c->pending_cr) {
        c->pending_cr = 0;
        if (in[0] != '\n')
            out[w++] = '\r'; /* a lone CR: keep it */
    }
    while (i < len) {
        const char *cr = memchr(in + i, '\r', len - i);
        size_t run = cr ? (size_t)(cr - in) - i : len - i;
        memcpy(out + w, in + i, run);
        w += run;
        i += run;
        if (!cr)
            break;
        if (i + 1 == len) {
            c->pending_cr = 1; /* decide with the next chunk */
            break;
        }
        if (in[i + 1] != '\n')
            out[w++] = '\r';
        i++;
    }
    return w;
}

size_t mp_eol_convert(mp_eol_conv *c, const char *in, size_t len, char *out)
{
    switch (c->mode) {
    case MP_EOLCONV_TO_CRLF:
        return to_crlf(c, in, len, out);
    case MP_EOLCONV_TO_LF:
        return to_lf(c, in, len, out);
    default:
        memcpy(out, in, len);
        return len;
    }
}

size_t mp_eol_finish(mp_eol_conv *c, char *out)
{
    if (c->mode == MP_EOLCONV_TO_LF && c->pending_cr) {
        c->pending_cr = 0;
        out[0] = '\r';
        return 1;
    }
    return 0;
}
