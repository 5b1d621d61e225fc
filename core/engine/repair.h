/* --repair (issue 10): a message a destination refuses or would store
 * altered, made acceptable on its way into the destination. The source is
 * never changed; only the bytes sent are.
 *
 * The repair is a pure function of the message's bytes and its internal
 * date: the same input always gives the same output, so verify can
 * recompute it from the source and recognise the copy. It works on the
 * message normalised to LF line breaks (eol.h; the sink's conversion
 * follows) and makes, in this order:
 *   1. NUL bytes removed, everywhere;
 *   2. in the message's own header (everything before the first empty
 *      line): a line that is not a field (validate.h, MP_FINDING_NO_COLON)
 *      folded into the field before it (a space put in front: it becomes a
 *      continuation line), or dropped when no field comes before it (a
 *      stray mbox "From " line at the top); a continuation line with no
 *      field before it dropped; blanks between a field's name and its
 *      colon (MP_FINDING_COLON_BLANK: RFC 5322 4.5.8's obsolete
 *      "Subject : x", which Cyrus refuses) removed;
 *   3. raw 8-bit bytes in a field body encoded as RFC 2047 words by GMime
 *      (g_mime_utils_header_encode_text): each run of words holding 8-bit
 *      bytes (words end at blanks and at the specials ()<>[]:;@\," of RFC
 *      5322) becomes encoded words; a quoted string holding 8-bit bytes is
 *      replaced whole, quotes and backslashes dropped, by B-encoded words
 *      of whole characters (at most 75 octets each), since RFC 2047 5
 *      allows none inside quotes. The bytes are read in the charset the
 *      message's Content-Type declares if iconv knows it and they decode in
 *      it, else UTF-8 if they are valid UTF-8, else Windows-1252, else
 *      ISO-8859-1 (which decodes anything); GMime labels the words with
 *      the smallest charset that holds the text (Latin-1 text read as
 *      Windows-1252 comes out as iso-8859-1); "changes" names the charset
 *      read;
 *   4. a header line still longer than 998 octets folded before its last
 *      blank within the limit (where it has none, a line break and a space
 *      are put at octet 997);
 *   5. a body with a line longer than 998 octets, by its entity's first
 *      Content-Type and Content-Transfer-Encoding: the message's own body,
 *      or each such part of a multipart, followed into nested multiparts
 *      and attached messages (MP_VALIDATE_DEPTH deep; preamble, delimiter
 *      lines, epilogue and the other parts stay byte for byte):
 *      - a text body (no Content-Type, or text/...; in a multipart/digest
 *        no Content-Type is message/rfc822) whose encoding is absent,
 *        7bit, 8bit or binary is re-encoded as quoted-printable (RFC 2045
 *        6.7, lines of at most 76 octets) and its Content-Transfer-Encoding
 *        set to quoted-printable (the message's own body: MIME-Version: 1.0
 *        added if missing);
 *      - a base64 body is re-wrapped: its characters but blanks and line
 *        breaks (which decoders skip, RFC 2045 6.8), in order, 76 to a
 *        line, a line break at the end if it had one; the decoded bytes
 *        are the same;
 *      - a quoted-printable body has each line over 998 octets cut by soft
 *        line breaks ("=" at the end, RFC 2045 6.7 (5)) into lines of at
 *        most 76 octets, greedily, never between an "=" and the two octets
 *        after it; its other lines stay, the decoded bytes are the same;
 *      - an attached message (message/rfc822 or message/global with an
 *        encoding as for text; a multipart/digest's part without a
 *        Content-Type) has its header lines over 998 octets folded as by
 *        rule 4 (its other header lines as they are) and its body repaired
 *        by this rule;
 *      other bodies (an application/... part in 8bit or binary, another
 *      encoding) and delimiter lines are left;
 *   6. a Date field added at the end of the header when there is none (or
 *      an empty one, which is dropped): the internal date, in RFC 5322
 *      form, UTC ("Mon, 07 Dec 2026 12:30:56 +0000"), by
 *      g_mime_utils_header_format_date. Not added when the internal date
 *      is unknown;
 *   7. a Message-ID added when GMime reads none from the header:
 *      <mailport.HASH16@repaired.invalid>, HASH16 the first 16 hex digits
 *      of the original message's content hash (digest.h). An empty
 *      Message-ID field is dropped; a non-empty one GMime cannot read is
 *      kept, renamed X-Original-Message-ID.
 * A multipart left open (MP_FINDING_MIME_TRUNCATED) is not repaired. */
#ifndef MP_REPAIR_H
#define MP_REPAIR_H

#include "hashes.h"
#include "msglist.h"
#include "store.h"
#include "validate.h"

#include <stddef.h>
#include <stdint.h>

/* The findings (validate.h) a repair mends: all but an open multipart. A
 * message with none of them is sent as it is, --repair or not. */
#define MP_FINDINGS_REPAIRED                                                   \
    (((1u << MP_FINDING__N) - 1) & ~(1u << MP_FINDING_MIME_TRUNCATED))

/* The largest message repaired (held in memory whole): a bigger one is
 * sent as it is, with a warning. */
#define MP_REPAIR_MAX (64u * 1024 * 1024)

typedef struct mp_repair {
    char *data; /* the repaired message, LF line breaks (malloc'd) */
    size_t len;
    /* What was changed, e.g. "NUL removed (2), Date added". */
    char changes[1024];
} mp_repair;

/* Repair MSG (LEN bytes, as the source holds it), whose internal date is
 * INTERNAL_DATE (seconds since the epoch, or MP_DATE_UNKNOWN). Returns 1
 * and fills OUT when something was changed, 0 when there was nothing to
 * repair (OUT empty), -1 when it cannot be done (no memory; LEN over
 * MP_REPAIR_MAX). Free OUT with mp_repair_free. */
int mp_repair_message(const char *msg, size_t len, int64_t internal_date,
                      mp_repair *out);
void mp_repair_free(mp_repair *r);

/* The repair copy --repair makes: only for a message with a finding of
 * MP_FINDINGS_REPAIRED (validate.h), else 0 as for nothing to repair. */
int mp_repair_needed(const char *msg, size_t len, int64_t internal_date,
                     mp_repair *out);

/* For verify: the messages of LIST whose WANTED flag is set, fetched from
 * FOLDER of STORE (opened as a source) and repaired as copy --repair
 * would (mp_repair_needed, with the date planning saw, else the fetch's):
 * the content hashes of each repaired form into OUT, what was changed
 * into CHANGES and the repaired form's content identity (header.h: what a
 * store's scan gives its copy) into IDENTITY (both malloc'd), all indexed
 * as LIST; OUT's strict stays "", CHANGES and IDENTITY NULL, where nothing
 * was repaired (or the message could not be read). Returns the fetch's
 * status. */
mp_status mp_repair_hashes(mp_store *store, void *folder, mp_msglist *list,
                           const char *wanted, mp_content_hashes *out,
                           char **changes, char **identity);

/* Which destination messages (DST, with identities) may hold a repaired
 * copy: those not CLAIMED whose identity is one of IDENTITY (N_SRC of
 * them, from mp_repair_hashes). Sets WANT per destination message and
 * returns how many; only those need reading. */
size_t mp_repair_dst_wanted(const mp_msglist *dst, const char *claimed,
                            char *const *identity, size_t n_src, char *want);

/* The destination message, not CLAIMED, of identity IDENTITY whose content
 * hashes DH are those of REPAIRED (mp_content_difference finds none), or
 * -1. */
long mp_repair_match(const mp_content_hashes *repaired, const char *identity,
                     const mp_msglist *dst, const char *claimed,
                     const mp_content_hashes *dh);

#endif
