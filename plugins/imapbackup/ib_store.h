/* An imap-backup account directory (the "local_path" of one account in
 * its config.json): every NAME.imap with its NAME.mbox is a folder, named
 * by its path relative to the directory with the file-name escapes undone
 * (ib_name.h); sub-directories nest. Directories holding folders are
 * listed as parents that hold no messages (no_select) unless a folder of
 * that name exists too ("A.imap" beside "A/"). */
#ifndef IB_STORE_H
#define IB_STORE_H

#include <mailport/plugin.h>

#include <stddef.h>

typedef struct ib_folder_ref {
    char *name; /* the folder name, '/'-separated */
    char *base; /* BASE.imap and BASE.mbox; NULL for a bare parent */
} ib_folder_ref;

typedef struct ib_store {
    mp_host *host;
    char *root;
    ib_folder_ref *v; /* sorted: parents before children */
    size_t n, cap;
} ib_store;

/* Read the directory EP->path. MP_FATAL with the error set when it is no
 * directory or holds no folder. */
mp_status ib_store_open(mp_host *host, const mp_endpoint *ep, ib_store **out);
void ib_store_close(ib_store *s);

/* The folder called NAME, or NULL. */
const ib_folder_ref *ib_store_find(const ib_store *s, const char *name);

#endif
