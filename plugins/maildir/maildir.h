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
#include "mdpipe.h"

#include <mailport/plugin.h>

#include <stdint.h>

#define MD_IO_BUF (64 * 1024)
/* A message up to this size is held in memory until put_commit and written
 * by the pipe's threads; a larger one is written to tmp/ as it arrives. */
#define MD_MEM_MESSAGE (4 * 1024 * 1024)
/* How much of a message scan reads looking for the end of its header. */
#define MD_MAX_HEADER (256 * 1024)

typedef struct md_store {
    mp_host *host;
    char *display; /* the endpoint as the user wrote it, for errors */
    char *root;
    int root_fd;
    md_layout layout;
    /* Stands for a '/' escaped inside a Maildir++ directory name
     * (delimiter_substitute, namesub.h). */
    char *substitute;
    /* The listing's warnings about folder names are given once a run,
     * though every folder open lists again. */
    int warned_renames, warned_fallback;
    int writable;
    char hostname[256]; /* escaped for unique names */
    long pid;
} md_store;

typedef struct md_put {
    struct md_folder *folder;
    int open;
    /* The message so far; once it outgrew MD_MEM_MESSAGE (SPILLED), a
     * write buffer in front of FD, its file in tmp/. */
    unsigned char *buf;
    size_t len, cap;
    int spilled;
    int fd;
    char tmp_name[256];
    unsigned flags;
    uint32_t kw_letters;
    int64_t date;
    uint64_t size, vsize; /* vsize: size plus one per bare LF */
    uint64_t size_hint;   /* from put_begin's info: the first allocation */
    char last;            /* last byte written, for the bare-LF count */
} md_put;

typedef struct md_folder {
    md_store *store;
    char *name; /* UTF-8 folder name as mailport knows it */
    char *rel;  /* its directory relative to the root; "" for INBOX */
    int dir_fd, cur_fd, new_fd, tmp_fd; /* -1 when missing (read side) */
    md_keywords kw;
    int kw_unsynced; /* keywords file rewritten since the last sync */
    md_index idx;
    unsigned char *buf; /* MD_IO_BUF bytes for fetch to read into */

    /* Sink side. The index and keywords are only ever touched by the
     * caller's thread; the pipe's threads see only tmp_fd and cur_fd. */
    md_put put;
    md_pipe pipe;
    int submitted;  /* messages handed over since the index was loaded */
    int dirs_dirty; /* renames or unlinks in cur/new since the last sync */
    int created;    /* directories made since the last sync */
} md_folder;

/* md_store.writable, besides 0 (read) and 1 (write): a probe of the sink
 * (mp_source_ops.probe_sink): every check the sink's open and open_folder
 * make, nothing made. */
#define MD_PROBE 2

/* mdstore.c */
/* WRITABLE: 0, 1 or MD_PROBE (then *OUT is NULL when the root would be
 * made: nothing in it can be in the way). */
mp_status md_store_open(mp_host *host, const mp_endpoint *ep, int writable,
                        md_store **out);
void md_store_close(md_store *s);
/* The probe_sink slot (plugin.h). */
mp_status md_probe_sink(mp_host *host, const mp_endpoint *ep,
                        const char *folder);
mp_status md_list_folders(md_store *s, mp_folder_cb cb, void *ctx);
/* Add NAME to the root's "subscriptions" file (mdsubs.h). */
mp_status md_subscribe(md_store *s, const char *name);
/* Open (CREATE: and make) folder NAME. */
mp_status md_folder_open(md_store *s, const char *name, int create,
                         md_folder **out, mp_folder_info *info);
void md_folder_free(md_folder *f);
/* Make sure F's index is loaded (or, with FORCE, reloaded). */
mp_status md_folder_index(md_folder *f, int force);

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
mp_status md_flush_start(void *folder);
mp_status md_flush_wait(void *folder);
mp_status md_set_flags(void *folder, const char *key, unsigned flags,
                       const char *keywords);
mp_status md_remove(void *folder, const char *const *keys, size_t n);

#endif
