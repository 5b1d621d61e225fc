/* The oracle's eyes: reads a Maildir++ tree (as the Maildir plugin and
 * Dovecot write it) straight from the disk, independent of mailport. Each
 * message comes with its bytes (CRLF read as LF), its system flags and
 * keywords (letters a..z named through the folder's dovecot-keywords) and
 * its file time, which is the internal date in both writers. */
#ifndef MP_MODEL_MDSCAN_H
#define MP_MODEL_MDSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* System flags as the oracle knows them. */
#define OF_DRAFT 1u
#define OF_FLAGGED 2u
#define OF_ANSWERED 4u
#define OF_SEEN 8u
#define OF_OTHER 16u /* any other info letter (T, P, ...): never expected */

typedef struct md_msg {
    char *path; /* full path */
    char *data; /* bytes, CRLF turned into LF */
    size_t len;
    uint64_t hash;  /* FNV-1a of DATA */
    unsigned flags; /* OF_* */
    char *keywords; /* sorted, space-separated names; "" when none */
    time_t mtime;
    int in_new;
} md_msg;

typedef struct md_folder {
    char *name; /* "INBOX", "Lists/dev", ... (UTF-8) */
    md_msg *v;
    size_t n;
} md_folder;

typedef struct md_tree {
    md_folder *f;
    size_t n;
} md_tree;

/* Read every folder of the Maildir++ root ROOT. A missing root reads as
 * an empty tree. */
md_tree md_tree_read(const char *root);
void md_tree_free(md_tree *t);
/* The folder NAME of T, or NULL. */
const md_folder *md_tree_folder(const md_tree *t, const char *name);

/* FNV-1a over N bytes of P with CR before LF dropped (so a CRLF and an
 * LF copy of one message hash alike). */
uint64_t md_hash_lf(const char *p, size_t n);

/* Modified UTF-7 folder names (RFC 3501 5.1.3), as IMAP and Maildir++
 * directories spell them, to and from UTF-8 (malloc'd; decode: NULL when
 * not valid). */
char *md_mutf7_encode(const char *utf8);
char *md_mutf7_decode(const char *mutf7);

/* The on-disk directory of folder NAME (UTF-8) below ROOT (malloc'd). */
char *md_folder_dir(const char *root, const char *name);

/* "DFRS"-style letters for FLAGS, in Maildir (ASCII) order, into OUT. */
void md_flag_letters(unsigned flags, char *out);

#endif
