/* One message as imap-backup writes it into a folder's .mbox (see
 * Email::Mboxrd::Message#to_serialized in its lib/imap/backup/email/
 * mboxrd/message.rb): a From_ line it makes up ("From ADDRESS ASCTIME"),
 * then the message with CRLF turned into LF, one '>' added to every line
 * matching ^>*From except the message's first line (it quotes "\n>*From",
 * so headers such as a second "From:" are quoted too, and "Fromage" is),
 * and "\n" appended until the record ends in a blank line.
 *
 * Reading undoes that: the From_ line goes, one '>' goes from every line
 * but the first that matches ^>+From (exactly the lines the writer
 * quoted), and the padding goes where it can be told: a record ending in
 * three or more "\n" was not padded (the message already ended in a blank
 * line), while "x", "x\n" and "x\n\n" all become "x\n\n", of which the
 * common case, "x\n", is given back. So every message comes back byte for
 * byte except one without a final line break (it gains one) and one
 * ending in exactly one blank line (it loses it). */
#ifndef IB_RECORD_H
#define IB_RECORD_H

#include <stddef.h>

/* The message inside the record BUF[START..END): *BODY..*BODY_END (quoting
 * still in place), and the From_ line's length (without its "\n") in
 * *FROM_LEN. Returns NULL when fine, else why the slice is no record. */
const char *ib_record_parse(const char *buf, size_t start, size_t end,
                            size_t *body, size_t *body_end, size_t *from_len);

/* Does the slice BUF[START..END) of a file of LEN bytes end where a record
 * ends: in "\n\n", with no other record starting inside it, and followed
 * by the end of the file or the next record's "From "? NULL when so, else
 * why not. A slice the index measured wrongly fails here instead of giving
 * back a message cut short or run together with the next. */
const char *ib_record_check_bounds(const char *buf, size_t len, size_t start,
                                   size_t end);

/* The length of BUF[START..END) as Ruby counts a UTF-8 string: one per
 * character, and one per byte of an invalid sequence. imap-backup 11.1
 * wrote that as the length of a record (and summed it into the offsets);
 * 12.0.0 went back to bytes. */
size_t ib_record_ruby_length(const char *buf, size_t start, size_t end);

/* The next '>' to drop in BUF[FROM..END) for a message starting at BODY:
 * the first '>' of a line that is not the first one and matches ^>+From.
 * END when there is none. */
size_t ib_record_next_quote(const char *buf, size_t body, size_t from,
                            size_t end);

/* Bytes the message BUF[BODY..END) has once its quoting is undone. */
size_t ib_record_size(const char *buf, size_t body, size_t end);

/* Where the header block of BUF[BODY..END) ends: after the line break
 * before the first empty line ("\n\n" or "\n\r\n"), BODY when the
 * message starts with an empty line, END when there is no empty line
 * (the whole message is header, as the Maildir reader takes it). */
size_t ib_record_header_end(const char *buf, size_t body, size_t end);

/* Copy BUF[BODY..END) with its quoting undone into OUT (room for END -
 * BODY bytes); returns the bytes written. */
size_t ib_record_unquote(const char *buf, size_t body, size_t end, char *out);

/* Records of a version 1 or 2 folder, which has no offsets: a record
 * starts at 0 and after every "\n\n" followed by "From " (a line after an
 * empty line is never a message's first line, so imap-backup quoted any
 * "From " there). Calls CB with each record's bounds; returns -1 when BUF
 * does not start with "From " (LEN > 0), -2 when CB failed, else 0. */
typedef int (*ib_record_cb)(void *ctx, size_t start, size_t end);
int ib_record_split(const char *buf, size_t len, ib_record_cb cb, void *ctx);

#endif
