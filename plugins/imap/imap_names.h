/*
 * Folder names: mailport's '/'-separated UTF-8 paths <-> the server's
 * names (personal namespace prefix, hierarchy delimiter, modified UTF-7).
 */
#ifndef MP_IMAP_NAMES_H
#define MP_IMAP_NAMES_H

#include <stddef.h>

/* The server name for mailport folder NAME, malloc'd; NULL with a reason in
 * ERR when it cannot be represented (empty components, a component holding
 * the delimiter, invalid UTF-8). DELIM 0 means a flat server. "INBOX" in
 * any case is the inbox and never gets the prefix. */
char *imap_name_to_server(const char *name, char delim, const char *prefix,
                          char *err, size_t err_size);

/* The mailport name for server name SERVER, malloc'd; NULL when it is not
 * valid modified UTF-7 or would not map back losslessly (a component with
 * '/' on a server whose delimiter is not '/'). */
char *imap_name_from_server(const char *server, char delim,
                            const char *prefix);

#endif
