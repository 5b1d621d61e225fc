/* Names from a store on a terminal or in a log line. A folder name comes
 * from the store (a Maildir directory, an IMAP LIST reply) and may hold
 * any byte: printed raw, an ESC or a CR in it could rewrite the terminal
 * or forge a log line. Every folder name the core prints goes through
 * mp_show_name; every log line through mp_escape (log.c), so that a name
 * inside a plugin's error text cannot do it either. Reports (JSON) keep
 * the real names, JSON-escaped (json.c). */
#ifndef MP_ESCAPE_H
#define MP_ESCAPE_H

#include <stddef.h>

/* Room for a name of 255 bytes each shown as \xHH, and its NUL. */
typedef struct mp_shown {
    char s[1024];
} mp_shown;

/* NAME as shown: each C0 control (0x00-0x1f), DEL, C1 control (U+0080 to
 * U+009F, which terminals may obey too) and byte that is not part of valid
 * UTF-8 as \xHH (one per byte), a backslash doubled, every other valid
 * UTF-8 character kept. A longer result is cut at a character and ends in
 * "...". Use it within the expression that prints it:
 *   mp_warn("folder %s: ...", mp_show_name(name).s); */
mp_shown mp_show_name(const char *name);

/* Write IN escaped as mp_show_name does into OUT (SIZE bytes, always
 * NUL-terminated, cut with "..." when it does not fit), except that
 * backslashes stay single unless BACKSLASH. Returns OUT. */
char *mp_escape(const char *in, int backslash, char *out, size_t size);

#endif
