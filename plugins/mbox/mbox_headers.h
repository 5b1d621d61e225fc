/* The few header fields the mbox plugin reads itself. HDR is a header block
 * (no From_ line, no blank line); names match case-insensitively. */
#ifndef MBOX_HEADERS_H
#define MBOX_HEADERS_H

#include <stddef.h>
#include <stdint.h>

/* MP_FLAG_* of a message: from Status: (R = seen; O = old, not a flag) and
 * X-Status: (A answered, F flagged, T draft, D deleted), as mutt writes
 * them; and from Thunderbird's X-Mozilla-Status (hex nsMsgMessageFlags:
 * 0x0001 read, 0x0002 replied, 0x0004 marked = flagged, 0x0008 expunged =
 * deleted, 0x1000 forwarded) and X-Mozilla-Status2 (0x00200000, deleted on
 * the IMAP server). Thunderbird rewrites its two fields in place whenever
 * a flag changes and never touches Status:, which it keeps from delivery,
 * so where a well-formed X-Mozilla-Status is present it decides seen,
 * answered, flagged, deleted and forwarded; Status:/X-Status: then add
 * only draft (T), which Mozilla keeps as a folder, not a flag. */
unsigned mbox_status_flags(const char *hdr, size_t len);

/* The value of X-Mozilla-Keys (Thunderbird's tags: "$label1".."$label5"
 * and user keywords, blank-separated, padded with blanks so it can be
 * rewritten in place), or NULL; *VLEN gets its length. */
const char *mbox_mozilla_keys(const char *hdr, size_t len, size_t *vlen);

/* Keywords from a blank-separated list V[0..N) as mp_msg_info wants them:
 * one space between, no duplicates, only IMAP atoms (RFC 3501: printable
 * ASCII but "(){ %*\\]" and '"'; a leading '\\' is a system flag, not a
 * keyword). Written to OUT (OUT_SIZE >= N + 1 holds every keyword); returns
 * the length. */
size_t mbox_keywords_from(const char *v, size_t n, char *out, size_t out_size);

/* Content-Length: as a decimal number; returns 1 and sets *OUT when a
 * well-formed one is present, else 0. */
int mbox_content_length(const char *hdr, size_t len, uint64_t *out);

/* Does BUF[0..LEN) start with a header field line: an RFC 5322 field-name
 * (printable ASCII but ':', at least one byte), blanks allowed before the
 * colon as RFC 5322's obs-optional does, then ':'? */
int mbox_is_field_line(const char *buf, size_t len);

#endif
