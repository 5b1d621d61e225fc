/* What the imap-backup tests share: a Maildir folder read back with its own
 * small reader (file bytes, flags from the ":2," info, keywords through
 * dovecot-keywords, the file time as internal date), written apart from
 * the product's Maildir code so that a bug there cannot hide one here. */
#ifndef IBT_H
#define IBT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct ibt_mail {
    char *data;
    size_t len;
    char flags[64]; /* IMAP names, sorted, space-separated: "$Forwarded
                       Work \\Seen" */
    time_t mtime;
    int used; /* for matching against an expected list */
} ibt_mail;

typedef struct ibt_folder {
    ibt_mail *v;
    size_t n;
    int exists; /* the directory has cur/ */
} ibt_folder;

/* Read the Maildir folder in directory DIR (cur/ and new/). */
ibt_folder ibt_read_folder(const char *dir);
void ibt_folder_free(ibt_folder *f);

/* The message whose bytes are DATA (LEN) in F, not yet used; NULL when
 * none. Marks it used. */
ibt_mail *ibt_take(ibt_folder *f, const char *data, size_t len);

/* Hex SHA-256 of DATA into OUT (65 bytes). */
void ibt_sha256(const void *data, size_t len, char out[65]);

#endif
