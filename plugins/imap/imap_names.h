/*
 * Folder names: mailport's '/'-separated UTF-8 paths <-> the server's
 * names (personal namespace prefix, hierarchy delimiter, modified UTF-7).
 *
 * The mapping, both ways through these two functions only:
 *
 * - "INBOX" (any case) is the inbox and never gets the prefix.
 * - The personal namespace prefix is added to every other name. When the
 *   prefix is the inbox itself ("INBOX." or "INBOX/", as Courier, Cyrus and
 *   cPanel hosts have it), every folder of the namespace is a child of the
 *   inbox: mailport "INBOX/X" is "INBOX.X" there (not "INBOX.INBOX.X"), a
 *   top-level mailport "X" is "INBOX.X" too, and "INBOX.X" comes back as
 *   "INBOX/X". With any other prefix it is added and stripped, so mailport
 *   names do not show it.
 * - The server's delimiter separates the parts. A character inside a part
 *   that is the other side's delimiter ('/' in a part on a '.' server,
 *   which mailport would read as nesting; '.' in a mailport part going to
 *   a '.' server) is replaced by the substitute (one UTF-8 character,
 *   URL parameter delimiter_substitute, default '_'): "GPR/GPA" on a '.'
 *   server is mailport "GPR_GPA", mailport "v1.2" is "v1_2" on a '.'
 *   server. What the substitution cannot tell apart ("GPR/GPA" next to
 *   "GPR_GPA") the listing disambiguates (imap_store.c).
 */
#ifndef MP_IMAP_NAMES_H
#define MP_IMAP_NAMES_H

#include "namesub.h"

#include <stddef.h>

#define IMAP_DEFAULT_SUBSTITUTE MP_DEFAULT_SUBSTITUTE

typedef struct imap_names {
    char delim;             /* hierarchy delimiter; 0 for a flat server */
    const char *prefix;     /* personal namespace prefix, server form */
    const char *substitute; /* one UTF-8 character; NULL: the default */
} imap_names;

/* Is SUB usable as the substitute on a server with delimiter DELIM (0:
 * not known yet)? mp_substitute_check (namesub.h). */
int imap_substitute_check(const char *sub, char delim, char *err,
                          size_t err_size);

/* The server name for mailport folder NAME, malloc'd; NULL with a reason in
 * ERR when it cannot be represented (empty components, nesting on a flat
 * server, invalid UTF-8). *SUBSTITUTED (when not NULL) is set to whether a
 * delimiter inside a part was replaced. */
char *imap_name_to_server(const char *name, const imap_names *nm,
                          int *substituted, char *err, size_t err_size);

/* The mailport name for server name SERVER, malloc'd; NULL when it is not
 * valid modified UTF-7 or has empty parts. *SUBSTITUTED as above. */
char *imap_name_from_server(const char *server, const imap_names *nm,
                            int *substituted);

#endif
