/*
 * The messages of one Maildir folder: every regular file in cur/ and new/
 * whose name does not start with '.', with a hash from key to file so fetch,
 * set_flags and remove find a message by the key scan reported.
 *
 * A key is the file name up to its info separator (the unique part, with
 * any ",S=" / ",W=" fields). Two files with the same key (the same message
 * in cur/ and new/, or under ":2," and "!2,") would make keys ambiguous; the
 * second one found is keyed "new/NAME" or "cur/NAME" instead, which cannot
 * clash with a unique part since those never contain '/'.
 */
#ifndef MD_INDEX_H
#define MD_INDEX_H

#include <stddef.h>

enum { MD_SUB_CUR = 0, MD_SUB_NEW = 1 };

typedef struct md_entry {
    char *key;
    char *name; /* file name in cur/ or new/; NULL once removed */
    int sub;    /* MD_SUB_CUR or MD_SUB_NEW */
} md_entry;

typedef struct md_index {
    md_entry *v;
    size_t n, cap;
    size_t *slots; /* open addressing: entry index + 1, 0 = free */
    size_t nslots;
    int loaded;
} md_index;

/* Read cur/ (FD_CUR) and new/ (FD_NEW); either may be -1 when missing.
 * Entries come out in natural order of their keys (strverscmp), which is
 * delivery order for the usual time-first unique names. Returns 0, or -1
 * with errno set. Replaces what IDX held. */
int md_index_load(md_index *idx, int fd_cur, int fd_new);

/* Add a file (after a rename into cur/). KEY and NAME are copied. Returns
 * the entry or NULL on allocation failure. */
md_entry *md_index_add(md_index *idx, const char *key, const char *name,
                       int sub);

md_entry *md_index_find(const md_index *idx, const char *key);

/* Point entry E at NEW_NAME in SUB. Returns 0, or -1 when out of memory. */
int md_index_rename(md_entry *e, const char *new_name, int sub);

void md_index_free(md_index *idx);

#endif
