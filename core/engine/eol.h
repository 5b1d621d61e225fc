/* Streaming line-ending normalisation between source and sink (DESIGN §3:
 * the only transformation the core makes to message bytes).
 *
 * The rule. Reading the message left to right, a line break is any of
 *   LF, CR LF, CR CR LF, or a CR not followed by LF (a lone CR),
 * taking the longest that matches, so CR CR LF is one line break (what a
 * CRLF text becomes after one more LF -> CRLF conversion) while CR CR
 * followed by anything else is two (an empty line in CR-only mail), and
 * CR CR CR LF is a lone CR and then CR CR LF. Every line break is written
 * as the sink stores it (LF, or CRLF); every other byte is copied as it
 * is, in order: nothing else is added, dropped or changed (no final line
 * break is added to a message that has none). The output of either mode
 * holds no CR but those of its CRLF pairs, so normalising it again changes
 * nothing, and the LF form of the CRLF output is the LF output.
 *
 * Chunk boundaries may fall anywhere, including inside a CR CR LF: up to
 * two CRs are held back until the bytes after them (or the end of the
 * message, mp_eol_finish) decide what they are. */
#ifndef MP_EOL_H
#define MP_EOL_H

#include <mailport/plugin.h>
#include <stddef.h>

typedef enum mp_eol_mode {
    MP_EOLCONV_NONE,    /* pass bytes through */
    MP_EOLCONV_TO_CRLF, /* every line break -> CR LF */
    MP_EOLCONV_TO_LF,   /* every line break -> LF */
} mp_eol_mode;

typedef struct mp_eol_conv {
    mp_eol_mode mode;
    int pending_cr; /* CRs held back (0, 1 or 2), not yet written */
} mp_eol_conv;

/* Room OUT needs for mp_eol_convert of LEN bytes (every byte a lone CR
 * written as CR LF, plus the two CRs held from the chunk before), and for
 * mp_eol_finish. */
#define MP_EOL_OUT_MAX(len) (2 * (size_t)(len) + 4)
#define MP_EOL_FINISH_MAX 4

/* What conversion a source->sink pair needs: the sink's form (CRLF or LF)
 * whatever the source delivers; none only for a sink that keeps bytes as
 * they come (MP_EOL_NATIVE). */
mp_eol_mode mp_eol_mode_for(mp_eol source_eol, mp_eol sink_eol);

void mp_eol_init(mp_eol_conv *c, mp_eol_mode mode);

/* Convert IN (LEN bytes) into OUT, which must hold MP_EOL_OUT_MAX(LEN)
 * bytes; returns the number written. */
size_t mp_eol_convert(mp_eol_conv *c, const char *in, size_t len, char *out);

/* Would converting IN (LEN bytes) now give IN unchanged, leaving nothing
 * held back? Then a caller may pass IN on without copying it. */
int mp_eol_unchanged(const mp_eol_conv *c, const char *in, size_t len);

/* The line breaks of CRs held back at the end of a message; returns the
 * number of bytes written into OUT (at most MP_EOL_FINISH_MAX). */
size_t mp_eol_finish(mp_eol_conv *c, char *out);

#endif
