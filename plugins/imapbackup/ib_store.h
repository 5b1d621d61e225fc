/* An imap-backup account directory (the "local_path" of one account in
 * its config.json): every NAME.imap with its NAME.mbox is a folder, named
 * by its path relative to the directory with the file-name escapes undone
 * (ib_name.h); sub-directories nest. Directories holding folders are
 * listed as parents that hold no messages (no_select) unless a folder of
 * that name exists too ("A.imap" beside "A/").
 *
 * imap-backup names the files after the server's folder names as they
 * are, so a backup of a server whose hierarchy delimiter is not '/'
 * (Courier, Cyrus: "INBOX.Sent") holds flat files with that delimiter in
 * their names. delimiter=C (one character) takes C in the names as a
 * hierarchy separator too: "INBOX.Sent.imap" is then folder "INBOX/Sent".
 * A name part that would come out empty ("a..b", ".x") keeps its C. */
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
    char delimiter;   /* delimiter=, or '\0' */
    ib_folder_ref *v; /* sorted: parents before children */
    size_t n, cap;
} ib_store;

/* Read the directory EP->path. MP_FATAL with the error set when it is no
 * directory or holds no folder, or delimiter= is not one character other
 * than '/' (MP_ERR_USAGE). */
mp_status ib_store_open(mp_host *host, const mp_endpoint *ep, ib_store **out);
void ib_store_close(ib_store *s);

/* The folder called NAME, or NULL. */
const ib_folder_ref *ib_store_find(const ib_store *s, const char *name);

#endif
