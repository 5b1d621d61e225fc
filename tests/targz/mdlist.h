/* A canonical listing of a Maildir++ tree, for comparing two of them:
 * one line per message, sorted:
 *   <folder dir> TAB <sha256 of the bytes> TAB <flag letters> TAB
 *   <keywords, sorted, ','-joined> TAB <mtime>
 * Messages in cur/ and new/ count alike; keyword letters are resolved
 * through the folder's dovecot-keywords. *COUNT gets the message count. */
#ifndef MP_TEST_MDLIST_H
#define MP_TEST_MDLIST_H

#include <stddef.h>

char *maildir_listing(const char *root, size_t *count);
/* The same with each message hashed in the form an LF store (Maildir, an
 * archive) keeps it: every line break as LF. */
char *maildir_listing_lf(const char *root, size_t *count);

/* SHA-256 of a file's bytes as hex (65 bytes). */
void file_sha256(const char *path, char hex[65]);

#endif
