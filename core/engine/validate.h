/* Validation of a message on its way to the sink (issue 10): what a
 * destination is known to refuse or to store altered, found in one pass
 * over the bytes as the source hands them over, in chunks cut anywhere.
 *
 * Memory is bounded whatever the message: the scanner keeps the start of
 * the current line (MP_VALIDATE_LINE_KEEP bytes), the values of a header
 * block's Content-Type, Date and Message-ID fields (cut at
 * MP_VALIDATE_FIELD_KEEP bytes), and one boundary per open multipart
 * (MP_VALIDATE_DEPTH of them). Nothing else of the message is held.
 * GMime reads the Content-Type values (g_mime_content_type_parse: type,
 * boundary parameter) and the Message-ID (g_mime_utils_decode_message_id,
 * as the content identity does, header.c); a byte scanner does the rest.
 *
 * Units. An offset is the octet position from the start of the message
 * as the source delivered it, from 0 (so `tail -c +OFFSET+1` of the
 * source's file shows it). A line number counts from 1, with line breaks
 * as eol.h defines them (LF, CR LF, CR CR LF, a lone CR): the lines the
 * destination gets. A line's length is in octets, its line break not
 * counted. The header section is everything before the first empty line
 * (the whole message when there is none), as the digest takes it.
 *
 * The findings (each with how often it occurs and where the first is):
 *   MP_FINDING_NUL        a NUL byte anywhere in the message. RFC 5322
 *                         2.1 and 3.5 allow none (nor RFC 2045 2.7-2.8 in
 *                         a body). Dovecot 2.3 stores it as 0x80; Cyrus
 *                         refuses the message. Offset of the first.
 *   MP_FINDING_HEADER_8BIT  a byte 0x80-0xFF in the header section: RFC
 *                         5322 2.2 allows only US-ASCII there (RFC 2047
 *                         encoded words carry other text). Cyrus stores it
 *                         as 'X' or refuses it (reject8bit). Counts bytes;
 *                         offset and line of the first.
 *   MP_FINDING_NO_COLON   a header line that is not a field: RFC 5322 2.2
 *                         wants a field name (printable US-ASCII but ':',
 *                         optionally followed by blanks, RFC 5322 4.5.8)
 *                         then a colon, or a continuation line (starting
 *                         with a space or a tab). Cyrus refuses such a
 *                         message. Counts lines; line (and offset of its
 *                         start) of the first.
 *   MP_FINDING_COLON_BLANK  a field whose name is followed by blanks
 *                         before its colon ("Subject : x"): RFC 5322
 *                         4.5.8's obsolete syntax (obs-optional), which
 *                         readers must accept but writers must not
 *                         produce (RFC 5322 4). Cyrus refuses such a
 *                         message ("Message contains invalid header").
 *                         Counts fields; line (and offset of its start)
 *                         of the first.
 *   MP_FINDING_LONG_LINE  a line of more than 998 octets anywhere (RFC
 *                         5322 2.1.1). Counts lines; line, offset of its
 *                         start and length of the first.
 *   MP_FINDING_NO_DATE    no Date field in the header section, or an empty
 *                         one (RFC 5322 3.6: required). Some hosts refuse
 *                         it. No position (line and offset 0).
 *   MP_FINDING_NO_MESSAGE_ID  no Message-ID field GMime can read (absent,
 *                         empty, or no msg-id in it; RFC 5322 3.6: SHOULD
 *                         be there). Some hosts refuse it, and the content
 *                         identity falls back to a header hash.
 *   MP_FINDING_MIME_TRUNCATED  a multipart (RFC 2046 5.1.1) whose closing
 *                         delimiter "--BOUNDARY--" never comes before the
 *                         message ends. A multipart ended by a delimiter
 *                         of one that encloses it counts as closed (as
 *                         GMime and servers read it). Counts multiparts
 *                         left open; line of the Content-Type field of the
 *                         outermost of them. Multiparts are followed into
 *                         nested parts and message/rfc822 parts, down to
 *                         MP_VALIDATE_DEPTH; one whose boundary is longer
 *                         than MP_VALIDATE_BOUNDARY_MAX (RFC 2046 allows
 *                         70), or deeper, is not followed (never found).
 * Only the message's own header is looked at for 8-bit bytes, lines that
 * are no fields, blanks before a colon, Date and Message-ID: not the headers of
 * its MIME parts or of messages inside it. */
#ifndef MP_VALIDATE_H
#define MP_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#define MP_VALIDATE_LINE_MAX 998 /* RFC 5322 2.1.1 */
#define MP_VALIDATE_LINE_KEEP 1024
#define MP_VALIDATE_FIELD_KEEP 2048
#define MP_VALIDATE_BOUNDARY_MAX 256
#define MP_VALIDATE_DEPTH 16

typedef enum mp_finding_kind {
    MP_FINDING_NUL,
    MP_FINDING_HEADER_8BIT,
    MP_FINDING_NO_COLON,
    MP_FINDING_COLON_BLANK,
    MP_FINDING_LONG_LINE,
    MP_FINDING_NO_DATE,
    MP_FINDING_NO_MESSAGE_ID,
    MP_FINDING_MIME_TRUNCATED,
    MP_FINDING__N
} mp_finding_kind;

/* Findings servers are known to store altered (rather than refuse): NUL
 * (Dovecot: 0x80) and 8-bit header bytes (Cyrus: 'X'). */
#define MP_FINDINGS_ALTERED                                                    \
    ((1u << MP_FINDING_NUL) | (1u << MP_FINDING_HEADER_8BIT))

typedef struct mp_finding {
    uint64_t count;  /* 0: not found */
    uint64_t offset; /* of the first (see the units above) */
    uint64_t line;   /* of the first, from 1; 0 where none applies */
    uint64_t length; /* MP_FINDING_LONG_LINE: octets of the first */
} mp_finding;

typedef struct mp_mime_level {
    char boundary[MP_VALIDATE_BOUNDARY_MAX + 1];
    size_t len;
    uint64_t line; /* of the Content-Type field that opened it */
    int digest;    /* multipart/digest: parts default to message/rfc822 */
} mp_mime_level;

typedef struct mp_validator {
    mp_finding found[MP_FINDING__N];
    /* The scanner (private). */
    uint64_t offset; /* of the next byte */
    uint64_t line;   /* the current line's number */
    uint64_t line_start, line_len;
    int pending_cr; /* CRs not yet known to be line breaks (0-2) */
    int in_header;  /* in a header block (the message's or a part's) */
    int top;        /* that header block is the message's own */
    int keep;       /* the current line's start is kept in KEPT */
    char kept[MP_VALIDATE_LINE_KEEP];
    size_t n_kept;
    int field;  /* which kept field the current header field is, or -1 */
    int has[3]; /* Content-Type, Date, Message-ID seen */
    uint64_t type_line;
    /* Content-Type, Date, Message-ID of the header block being read. */
    char value[3][MP_VALIDATE_FIELD_KEEP + 1];
    size_t value_len[3];
    int part_digest; /* the part being read is in a multipart/digest */
    mp_mime_level level[MP_VALIDATE_DEPTH];
    int depth;
} mp_validator;

void mp_validate_init(mp_validator *v);
/* The next LEN bytes of the message. */
void mp_validate_update(mp_validator *v, const char *buf, size_t len);
/* The end of the message: settles what only the end can tell (the last
 * line, Date, Message-ID and open multiparts). Then V->found holds every
 * finding; V needs no freeing. */
void mp_validate_finish(mp_validator *v);

/* Bit (1u << kind) for each finding in V. */
unsigned mp_validate_kinds(const mp_validator *v);

/* The findings of V whose bit is in MASK as one phrase into OUT (SIZE
 * bytes, always terminated, cut if need be), e.g. "a NUL byte at offset
 * 1234 and a header line without a field name and colon (line 7)";
 * "" when there is none. Returns the length written. */
size_t mp_validate_describe(const mp_validator *v, unsigned mask, char *out,
                            size_t size);

#endif
