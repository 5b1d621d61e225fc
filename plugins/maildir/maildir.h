/*
 * The Maildir plugin's shared state: a store (one root directory) and its
 * open folder, used by both the source (mdread.c) and the sink (mdwrite.c).
 * Every path is opened relative to directory descriptors, so a folder name
 * is resolved once, at open_folder, and nothing later re-walks it.
 */
#ifndef MD_MAILDIR_H
#define MD_MAILDIR_H

#include "mdfolder.h"
#include "mdindex.h"
#include "mdkeywords.h"
#include "mdname.h"
#include "mdsyncer.h"

#include <mailport/plugin.h>

#include <stdint.h>

#define MD_IO_BUF (64 * 1024)
/* How much of a message scan reads looking for the end of its header. */
#define MD_MAX_HEADER (256 * 1024)

typedef struct md_store {
    mp_host *host;
    char *display; /* the endpoint as the user wrote it, for errors */
    char *root;
    int root_fd;
    md_layout layout;
    int writable;
    char hostname[256]; /* escaped for unique names */
    long pid;
} md_store;

typedef struct md_put {
    struct md_folder *folder;
    int open;
    int fd;
    char tmp_name[256];
    unsigned flags;
    uint32_t kw_letters;
    int64_t date;
    uint64_t size, vsize; /* vsize: size plus one per bare LF */
    char last;            /* last byte written, for the bare-LF count */
    size_t buffered;      /* bytes waiting in the folder's buffer */
} md_put;

typedef struct md_folder {
    md_store *store;
    char *name; /* UTF-8 folder name as mailport knows it */
    char *rel;  /* its directory relative to the root; "" for INBOX */
    int dir_fd, cur_fd, new_fd, tmp_fd; /* -1 when missing (read side) */
    md_keywords kw;
    int kw_unsynced; /* keywords file rewritten since the last sync */
    md_index idx;
    unsigned char *buf; /* MD_IO_BUF bytes: fetch reads, put writes */

    /* Sink side. */
    md_put put;
    md_pending *pending; /* committed, not yet handed to the syncer */
    size_t n_pending, cap_pending;
    md_syncer syncer;
    int submitted; /* batches handed over since the index was loaded */
    int dirs_dirty; /* renames or unlinks in cur/new since the last sync */
    int created;    /* directories made since the last sync */
} md_folder;

/* mdstore.c */
mp_status md_store_open(mp_host *host, const mp_endpoint *ep, int writable,
                        md_store **out);
void md_store_close(md_store *s);
mp_status md_list_folders(md_store *s, mp_folder_cb cb, void *ctx);
/* Open (CREATE: and make) folder NAME. */
mp_status md_folder_open(md_store *s, const char *name, int create,
                         md_folder **out, mp_folder_info *info);
void md_folder_free(md_folder *f);
/* Make sure F's index is loaded (or, with FORCE, reloaded). */
mp_status md_folder_index(md_folder *f, int force);
unsigned md_special_use(const char *name);

/* mdread.c */
mp_status md_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx);
mp_status md_fetch(void *folder, const char *const *keys, size_t n,
                   const mp_fetch_cb *cb, void *ctx);

/* mdwrite.c */
mp_status md_put_begin(void *folder, const mp_msg_info *info, void **put);
mp_status md_put_write(void *put, const void *buf, size_t len);
mp_status md_put_commit(void *put, char *key_out, size_t key_size);
void md_put_abort(void *put);
mp_status md_flush(void *folder);
mp_status md_set_flags(void *folder, const char *key, unsigned flags,
                       const char *keywords);
mp_status md_remove(void *folder, const char *const *keys, size_t n);
/* Unlink the tmp/ files of messages never flushed. */
void md_drop_pending(md_folder *f);

#endif
