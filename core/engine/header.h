/* Reading a message's header block: raw values, the Date (through GMime's
 * RFC 5322 date parser), and the content identity used to find a message
 * in another store (DESIGN §4). */
#ifndef MP_HEADER_H
#define MP_HEADER_H

#include <stddef.h>
#include <stdint.h>

/* The unfolded raw value of header NAME (case-insensitive) in the header
 * block HDR, malloc'd; NULL when absent. */
char *mp_header_value(const char *hdr, size_t len, const char *name);

/* The Date: header as seconds since the epoch; INT64_MIN when absent or
 * unparsable. */
int64_t mp_header_date(const char *hdr, size_t len);

/* "M:<message-id>" (normalised by GMime; long ids hashed as "M#<sha256>"),
 * or "H:<sha256 of the header block>" when there is no Message-ID. Both
 * are read from HDR normalised to LF line breaks (eol.h) and cut at its
 * first empty line, so CR-only, CRLF and LF copies agree; the header hash
 * is taken with NUL, 8-bit bytes and 'X' folded into one byte (the loose
 * digest's form, hashes.h), so a copy a server altered keeps its
 * identity, and without the fields mail readers rewrite in place to keep
 * flags (Status, X-Status, X-Mozilla-Status and -Status2, X-Mozilla-Keys,
 * X-Keywords, X-UID, X-IMAP, X-IMAPbase, Content-Length, Lines), so a
 * message marked read in an mbox keeps it. OUT holds at least 80 bytes. */
void mp_identity_of_header(const char *hdr, size_t len, char *out,
                           size_t out_size);

#endif
