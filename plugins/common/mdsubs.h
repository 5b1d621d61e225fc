/*
 * The "subscriptions" file at the root of a Dovecot Maildir: which folders
 * the user subscribed to (RFC 3501 SUBSCRIBE), shared by the maildir plugin
 * and the targz plugin (whose archives are Maildir++ trees).
 *
 * Dovecot 2.x writes version 2: the line "V<TAB>2", an empty line, then one
 * folder a line, its storage name with each hierarchy level separated by a
 * TAB, each level as the Maildir++ directory spells it (modified UTF-7,
 * listescape's "\2e" for a '.'), "INBOX" for the inbox:
 *
 *     V	2
 *
 *     INBOX
 *     Foo	Bar        (the folder Foo/Bar, directory .Foo.Bar)
 *     Caf&AOk-        (the folder Café)
 *
 * Older Dovecot and Courier-converted Maildirs have version 1: no header,
 * one storage name a line with the layout's own separator ("Foo.Bar" in
 * Maildir++). Both are read; a new file is written as version 2, and an
 * existing file keeps its version: lines are only ever added, never dropped
 * or rewritten, so lines this code cannot read (another namespace, a folder
 * long gone) survive.
 */
#ifndef MD_SUBS_H
#define MD_SUBS_H

#include "mdfolder.h"

#include <stddef.h>

/* The file's name, in the Maildir root. */
#define MD_SUBS_FILE "subscriptions"

/* The mailport folder names in TEXT (LEN bytes), malloc'd into *NAMES
 * (*N of them; each malloc'd). Lines that name no usable folder are left
 * out. Returns 0, or -1 when out of memory. */
int md_subs_parse(md_layout layout, const char *text, size_t len, char ***names,
                  size_t *n);

void md_subs_free(char **names, size_t n);

/* TEXT (OLD_LEN bytes; NULL for no file yet) with a line for each of the N
 * NAMES it does not hold yet appended, malloc'd, its length in *OUT_LEN;
 * *ADDED is how many lines were added. A name the layout cannot represent
 * is skipped. NULL when out of memory. */
char *md_subs_merge(md_layout layout, const char *old, size_t old_len,
                    const char *const *names, size_t n, size_t *out_len,
                    size_t *added);

/* The file under the directory ROOT_FD (-1 and errno ENOENT when there is
 * none): its text, malloc'd and NUL-terminated, length in *LEN. */
char *md_subs_read(int root_fd, size_t *len);

/* Add the N NAMES to the file under ROOT_FD, as md_subs_merge does, and
 * replace it atomically: the new text goes into "subscriptions.lock",
 * created exclusively (which is also Dovecot's lock for the file, so a
 * Dovecot changing subscriptions at the same time is waited for), mode
 * 0600, synced, then renamed over the file. Nothing is written when every
 * name is there already. Returns 0, or -1 with errno set. */
int md_subs_add(int root_fd, md_layout layout, const char *const *names,
                size_t n);

#endif
