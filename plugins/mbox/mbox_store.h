/* What source and sink share: the store (a file or a directory of files),
 * the format= parameter, folder names <-> paths, and folder listing. */
#ifndef MBOX_STORE_H
#define MBOX_STORE_H

#include "mbox_split.h"

#include <mailport/plugin.h>

typedef struct mbox_store {
    mp_host *host;
    char *root;    /* the endpoint path */
    char *display; /* the endpoint as the user wrote it */
    int is_dir;    /* a directory of mbox files, else one file (INBOX) */
    mbox_format format;
} mbox_store;

/* Read every parameter the plugin knows (format=) and check its value.
 * WRITING refuses formats the sink cannot write. On failure sets the error
 * (MP_ERR_USAGE) and returns MP_FATAL. */
mp_status mbox_read_params(mp_host *host, const mp_endpoint *ep, int writing,
                           mbox_format *fmt);

/* mkdir -p for the directories of PATH (all of it when WHOLE, else all but
 * the last component), mode 0700. Returns 0 or -1 with errno set. */
int mbox_make_dirs(const char *path, int whole);

/* What the sink's open does with EP's path before it makes the store: an
 * existing path must be a regular file or a directory (*IS_DIR tells); a
 * missing one is made, a directory when it ends in '/', else an empty file
 * (with its parent directories). PROBE (the probe_sink slot): check that
 * this would work, making nothing. On failure sets the error on HOST and
 * returns MP_FATAL. */
mp_status mbox_store_prepare(mp_host *host, const mp_endpoint *ep, int probe,
                             int *is_dir);

/* Make the store handle both ops tables hand out (*out), after the source
 * or sink checked the path. MP_FATAL with the error set when out of
 * memory. */
mp_status mbox_store_open(mp_host *host, const mp_endpoint *ep, mbox_format fmt,
                          int is_dir, void **out);
/* The close slot of both ops tables. */
void mbox_store_close(void *store);

/* Check a '/'-separated folder name for a directory store: no empty, ".",
 * ".." or hidden (leading '.') component, none ending in ".sbd", no
 * leading or trailing '/'. Returns NULL when fine, else a reason. */
const char *mbox_folder_name_problem(const char *name);

/* The file of folder NAME (malloc'd), or NULL with the error set
 * (MP_FOLDER_BAD returned through *ST: NOTFOUND for a file store's
 * non-INBOX name, USAGE for an unsafe name). Sub-folders of "a" live in
 * the directory "a" when it exists, else in "a.sbd" (as Thunderbird keeps
 * them), so "a" can be a file of messages and a parent at once. */
char *mbox_folder_path(mbox_store *s, const char *name, mp_status *st);

/* Folder validity: the file's inode, so a file replaced by another one
 * invalidates its offsets as keys. */
uint64_t mbox_validity_of(const char *path);

/* The list_folders slot of both ops tables. Call CB for every folder: INBOX for
 * a file store; for a directory every regular file (hidden ones skipped, and
 * Thunderbird's NAME.msf indexes, msgFilterRules.dat, popstate.dat,
 * filterlog.html and junklog.html) and every sub-directory (no_select;
 * "X.sbd" stands for folder X), sorted by name, parents first. */
mp_status mbox_list_folders(void *store, mp_folder_cb cb, void *ctx);

#endif
