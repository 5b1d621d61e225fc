/*
 * The delimiter substitute: the one character that stands for a hierarchy
 * delimiter found inside a folder name's part, where mailport's '/' would
 * read it as nesting. The IMAP plugin uses it for the other side's
 * delimiter in a server name ("GPR/GPA" on a '.' server is "GPR_GPA"), the
 * Maildir plugin for a '/' escaped inside a Maildir++ directory name
 * (".GPR\2fGPA", as Dovecot's listescape writes it). Both read it from the
 * URL parameter delimiter_substitute; the default is '_'.
 */
#ifndef MP_NAMESUB_H
#define MP_NAMESUB_H

#include <stddef.h>

#define MP_DEFAULT_SUBSTITUTE "_"

/* Is SUB usable as the substitute where the store's own delimiter is DELIM
 * (0: none, or not known yet)? One UTF-8 character (shortest form, no
 * surrogate, at most U+10FFFF), printable, and none of '/', DELIM and the
 * IMAP LIST wildcards '*' and '%'. Returns 0, or -1 with the reason (naming
 * the parameter) in ERR. */
int mp_substitute_check(const char *sub, char delim, char *err,
                        size_t err_size);

#endif
