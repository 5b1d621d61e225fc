/* The targz source's record of an archive: one row per message and one per
 * manifest line, made by the first pass and read by scan and fetch.
 *
 * Why on disk: a compressed tar is read front to back and its manifest
 * comes last, so the source must remember every message of the whole
 * archive before it can report the first folder (issue 8.4: held in
 * memory this cost ~1.3 KB a message, 200+ MB for 150,000). The rows live
 * in a private temporary SQLite database opened with an empty file name:
 * SQLite creates that file mode 0600 under $SQLITE_TMPDIR, $TMPDIR or /tmp
 * and unlinks it as soon as it is open, so it is gone after close, a
 * signal, a crash or kill -9, and no other process can open it. Its page
 * cache is TARGZ_INDEX_CACHE_KIB, so memory does not grow with the number
 * of messages; disk use is about 300 bytes a message.
 *
 * Every function returns 0 on success and -1 on failure (out of memory, a
 * full disk under the temporary directory) with targz_index_error() set,
 * unless it says otherwise. One thread at a time. */
#ifndef MP_TARGZ_INDEX_H
#define MP_TARGZ_INDEX_H

#include "targz_manifest.h"

#include <stddef.h>
#include <stdint.h>

#define TARGZ_INDEX_CACHE_KIB 4096

/* Why a message cannot be trusted (the source words each one). */
enum {
    TARGZ_PROBLEM_NONE = 0,
    TARGZ_PROBLEM_DAMAGED,  /* damage cut its entry short */
    TARGZ_PROBLEM_LOST,     /* stands for what followed damage */
    TARGZ_PROBLEM_MISSING,  /* in the manifest, not in the archive */
    TARGZ_PROBLEM_SIZE,     /* size differs from the manifest */
    TARGZ_PROBLEM_SHA,      /* SHA-256 differs from the manifest */
};

#define TARGZ_NO_FOLDER (-1)
#define TARGZ_NO_ORDINAL (-1)

/* One message. Strings are owned by the struct when it comes from
 * targz_index_find (free with targz_imsg_free) and borrowed for the length
 * of the callback in the iterators. */
typedef struct targz_imsg {
    int64_t id;         /* set by targz_index_add: the order of adding */
    char *raw_path;     /* the entry's name as stored: the key */
    char *path;         /* without a leading "./" */
    char *keywords;     /* space-separated, or NULL */
    char *identity;
    int64_t ordinal;    /* position among all entries, or TARGZ_NO_ORDINAL */
    int64_t folder;     /* index of the source's folder, or TARGZ_NO_FOLDER */
    uint64_t size, vsize;
    int64_t mtime;      /* seconds, or MP_DATE_UNKNOWN */
    unsigned flags;     /* MP_FLAG_* */
    char sha[65];       /* hex, or "" */
    int in_manifest;
    int problem;        /* TARGZ_PROBLEM_* */
} targz_imsg;

typedef struct targz_index targz_index;

/* A new, empty index. On failure *OUT is NULL and ERR (ERR_SIZE bytes)
 * says why. */
int targz_index_open(targz_index **out, char *err, size_t err_size);
/* Drop the index and its file. NULL is fine. */
void targz_index_close(targz_index *ix);
/* The last failure, for messages. */
const char *targz_index_error(targz_index *ix);

/* Add M (its id is ignored and set). */
int targz_index_add(targz_index *ix, targz_imsg *m);
/* Rewrite the stored row M->id with M's folder, flags, keywords, mtime,
 * in_manifest and problem (the fields the first pass settles later). */
int targz_index_update(targz_index *ix, const targz_imsg *m);
/* The first-added message whose path is PATH: 1 and *OUT filled, 0 when
 * there is none, -1 on failure. */
int targz_index_find(targz_index *ix, const char *path, targz_imsg *out);
void targz_imsg_free(targz_imsg *m);

/* Call CB for every message in the order of adding; with FOLDER >= 0 only
 * for the messages of that folder. CB may call targz_index_update and
 * targz_index_add (rows added during the walk may or may not be seen). A
 * nonzero return from CB stops the walk and is returned. */
typedef int (*targz_imsg_cb)(void *ctx, const targz_imsg *m);
int targz_index_each(targz_index *ix, int64_t folder, targz_imsg_cb cb,
                     void *ctx);

/* The manifest lines, kept in the order read. */
int targz_index_add_line(targz_index *ix, const targz_manifest_line *l);
typedef int (*targz_line_cb)(void *ctx, const targz_manifest_line *l);
int targz_index_each_line(targz_index *ix, targz_line_cb cb, void *ctx);

/* Done adding: build the per-folder lookup scan uses. */
int targz_index_seal(targz_index *ix);

#endif
