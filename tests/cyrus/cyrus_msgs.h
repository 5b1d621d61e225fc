/* Shared by the Cyrus tests: real corpus messages that a strict server
 * takes as they are, Maildir sources made of them, and a folder's
 * messages as Cyrus gives them back (flags, internal date, bytes). */
#ifndef MP_TEST_CYRUS_MSGS_H
#define MP_TEST_CYRUS_MSGS_H

#include "cyrus.h"

#include <stddef.h>
#include <time.h>

typedef struct corpus_msg {
    char *path; /* the corpus file */
    char *text; /* its bytes (LF line ends) */
    size_t len;
} corpus_msg;

/* Up to N messages of the corpora (maildir/notmuch-default, in path
 * order) with nothing a server may refuse or alter: only 7-bit bytes
 * other than NUL and CR, Date and Message-ID fields, lines of at most 998
 * octets. Returns how many were found (*OUT malloc'd). */
size_t clean_corpus_msgs(size_t n, corpus_msg **out);
void corpus_msgs_free(corpus_msg *m, size_t n);

/* Write TEXT (LEN bytes) into Maildir folder DIR (cur/new/tmp made) as
 * cur/NAME:2,INFO, with mtime MTIME (the internal date). */
void put_maildir_msg(const char *dir, const char *name, const char *info,
                     const char *text, size_t len, time_t mtime);

typedef struct server_msg {
    unsigned uid;
    char *flags; /* the FLAGS list, without \Recent, as sent */
    time_t internaldate;
    char *body;
    size_t len;
} server_msg;

typedef struct server_folder {
    server_msg *v;
    size_t n;
} server_folder;

/* Every message of USER's FOLDER on C (UID FETCH 1:* FLAGS INTERNALDATE
 * BODY.PEEK[]). */
server_folder fetch_folder(mp_cyrus *c, const char *user, const char *folder);
void server_folder_free(server_folder *f);
/* How many messages of F have exactly these bytes. */
size_t count_bytes(const server_folder *f, const char *bytes, size_t len);

#endif
