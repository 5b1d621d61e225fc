/* imap-backup's file names for folders. It writes a server folder name as
 * a relative path, '/' nesting as directories, with each of ':', '%' and
 * ';' (characters some file systems refuse) replaced by '%', the
 * character's code in lower-case hex and ';' ("a:b" is "a%3a;b"; see
 * Imap::Backup::Naming in its lib/imap/backup/naming.rb). */
#ifndef IB_NAME_H
#define IB_NAME_H

#include <stddef.h>

/* The folder-name component for the file-name component COMPONENT (LEN
 * bytes, no '/'), malloc'd and NUL-terminated: every "%HEX;" (1 to 6 hex
 * digits, either case) becomes that code point in UTF-8. An escape that
 * imap-backup cannot have written (no ';', no digits, a code point that
 * is NUL, '/', a surrogate or beyond U+10FFFF) is kept as it is, so no
 * name is lost or made to escape its directory. NULL when out of
 * memory. */
char *ib_name_decode(const char *component, size_t len);

#endif
