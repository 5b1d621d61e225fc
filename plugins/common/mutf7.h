/*
 * Modified UTF-7 (RFC 3501 section 5.1.3), the encoding IMAP servers and
 * Maildir++ stores (Dovecot, Courier) use for non-ASCII mailbox names.
 *
 * Printable US-ASCII (0x20..0x7e) stands for itself, except '&' which is
 * written "&-". Every other run of characters is written as '&', the
 * modified base64 (alphabet A-Z a-z 0-9 + ,, no padding) of its UTF-16BE
 * form, and '-'.
 */
#ifndef MP_MUTF7_H
#define MP_MUTF7_H

/* UTF-8 to modified UTF-7. Returns a malloc'd string, or NULL when UTF8 is
 * not valid UTF-8 (overlong forms, surrogates, code points past U+10FFFF,
 * truncated sequences) or memory runs out. */
char *mp_mutf7_encode(const char *utf8);

/* Modified UTF-7 to UTF-8. Returns a malloc'd string, or NULL when MUTF7 is
 * not valid modified UTF-7: a byte outside printable ASCII, a bad base64
 * character, a '&' section not closed by '-', leftover bits that are not
 * zero or form a partial UTF-16 unit, an unpaired surrogate, a non-minimal
 * form (a printable ASCII character or '&' encoded in base64, two base64
 * sections back to back), or an encoded U+0000. */
char *mp_mutf7_decode(const char *mutf7);

#endif
