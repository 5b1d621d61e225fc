/* Names inside a mailport archive, which is a Maildir++ tree: folder paths
 * to and from Maildir++ directories, flags to and from info letters. */
#ifndef MP_TARGZ_NAMES_H
#define MP_TARGZ_NAMES_H

#include <stddef.h>

/* "INBOX" -> "" (the root); "A/B" -> ".A.B" with '.' and '\' inside a
 * component escaped as "\2e" and "\5c", then modified UTF-7 (as the
 * maildir plugin writes). Returns a malloc'd string, or NULL when NAME
 * cannot be represented safely: an empty, "." or ".." component, a control
 * character, invalid UTF-8. */
char *targz_folder_to_dir(const char *name);

/* The reverse: "" -> "INBOX", ".A.B" -> "A/B". NULL when DIR is not a
 * valid Maildir++ folder directory. */
char *targz_dir_to_folder(const char *dir);

/* MP_FLAG_* as Maildir info letters in ASCII order (D F P R S T), written
 * to OUT (at least 7 bytes). */
void targz_flags_to_letters(unsigned flags, char *out);
/* Maildir info letters to MP_FLAG_*; lower-case letters (keywords) and
 * unknown letters are ignored. */
unsigned targz_letters_to_flags(const char *letters);

/* The info part of a Maildir file name ("1234.x:2,FS" -> "FS", also with
 * '!' as separator), or NULL when there is none. */
const char *targz_name_info(const char *name);

#endif
