/* The few header fields the mbox plugin reads itself. HDR is a header block
 * (no From_ line, no blank line); names match case-insensitively. */
#ifndef MBOX_HEADERS_H
#define MBOX_HEADERS_H

#include <stddef.h>
#include <stdint.h>

/* MP_FLAG_* from Status: (R = seen; O = old, not a flag) and X-Status:
 * (A answered, F flagged, T draft, D deleted), as mutt writes them. */
unsigned mbox_status_flags(const char *hdr, size_t len);

/* Content-Length: as a decimal number; returns 1 and sets *OUT when a
 * well-formed one is present, else 0. */
int mbox_content_length(const char *hdr, size_t len, uint64_t *out);

#endif
