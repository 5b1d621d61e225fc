/* An independent Maildir reader for tests: walks cur/ and new/ of one
 * folder directory and returns every message with its info flags and
 * content hash, without going through mailport. */
#ifndef MP_TEST_MAILDIR_WALK_H
#define MP_TEST_MAILDIR_WALK_H

#include <stddef.h>
#include <time.h>

typedef struct walked_msg {
    char *path;     /* full path */
    char flags[32]; /* the letters after ":2," (or "" in new/) */
    char hash[65];  /* SHA-256 of the bytes with CRLF as LF */
    size_t size;
    time_t mtime;
} walked_msg;

typedef struct walked_dir {
    walked_msg *v;
    size_t n;
} walked_dir;

/* Read DIR/cur and DIR/new (tmp/ is ignored, as readers must). */
walked_dir walk_maildir(const char *dir);
void walked_free(walked_dir *w);

/* Index of the message whose hash is HASH, or -1. */
long walked_find_hash(const walked_dir *w, const char *hash);

/* Are the two sets of content hashes equal as multisets? */
int walked_same_contents(const walked_dir *a, const walked_dir *b);

/* Rename a message file so that its info carries FLAGS. */
void walked_set_flags(walked_msg *m, const char *flags);

#endif
