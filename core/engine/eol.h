/* Streaming line-ending conversion between source and sink (DESIGN §3: the
 * only transformation the core makes to message bytes). Chunk boundaries may
 * fall anywhere, including between a CR and its LF. */
#ifndef MP_EOL_H
#define MP_EOL_H

#include <mailport/plugin.h>
#include <stddef.h>

typedef enum mp_eol_mode {
    MP_EOLCONV_NONE,    /* pass bytes through */
    MP_EOLCONV_TO_CRLF, /* bare LF -> CRLF */
    MP_EOLCONV_TO_LF,   /* CRLF -> LF (a lone CR stays) */
} mp_eol_mode;

typedef struct mp_eol_conv {
    mp_eol_mode mode;
    int pending_cr; /* TO_LF: a CR ended the last chunk; TO_CRLF: last byte was
                       CR */
} mp_eol_conv;

/* What conversion a source->sink pair needs. */
mp_eol_mode mp_eol_mode_for(mp_eol source_eol, mp_eol sink_eol);

void mp_eol_init(mp_eol_conv *c, mp_eol_mode mode);

/* Convert IN (LEN bytes) into OUT, which must hold 2*LEN+1 bytes; returns
 * the number written. */
size_t mp_eol_convert(mp_eol_conv *c, const char *in, size_t len, char *out);

/* Bytes held back at the end of a message (a trailing CR); returns the
 * number written into OUT (at most 1). */
size_t mp_eol_finish(mp_eol_conv *c, char *out);

#endif
