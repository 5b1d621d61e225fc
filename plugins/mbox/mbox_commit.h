/* The mbox sink's commit record: how long the mbox file was when its last
 * batch was made durable, so that an append a killed run left unfinished
 * can be undone by the next run (as the Maildir sink gets for free from
 * tmp/ and rename).
 *
 * The record is a one-line file ".NAME.mailport-committed" beside the mbox
 * NAME (hidden, so directory stores never list it as a folder):
 *
 *   mailport-mbox-committed 1 length=L inode=I tail=H
 *
 * L is the committed length, I the mbox's inode, H a hash of the (up to)
 * 4096 bytes before L. It is replaced atomically (written to a temporary
 * name, synced, renamed, directory synced) only after the mbox itself was
 * synced, so L is always durable in the mbox. A run that ends cleanly
 * removes it; one that is killed leaves it, and the next open truncates
 * the mbox back to L, but only when the record still describes this file
 * (same inode, length at most the file's, same bytes before L) and
 * everything after L is what the sink writes (its own "From MAILER-DAEMON"
 * lines only). Otherwise the record is stale (the file was edited or
 * replaced meanwhile): it is ignored with a warning and nothing is cut. */
#ifndef MBOX_COMMIT_H
#define MBOX_COMMIT_H

#include <mailport/plugin.h>

#include <stdint.h>

#define MBOX_COMMIT_NONE UINT64_MAX

typedef struct mbox_commit {
    char *path;      /* the record's path */
    int exists;      /* a record file is there (valid or stale) */
    int disabled;    /* records cannot be written here (warned once) */
    uint64_t length; /* what the record on disk says, or MBOX_COMMIT_NONE */
} mbox_commit;

/* At open_folder, before anything is appended: look for the record of the
 * mbox MBOX_PATH (open read-write as FD) and, when a valid one says the
 * file should be shorter, truncate it back and sync it. *SIZE is the file's
 * size on entry and on return. Logs what it cut or why it ignored a
 * record. Returns 0, or -1 with errno set when the file could not be cut
 * back (the caller must not append then). */
int mbox_commit_open(mbox_commit *c, mp_host *host, const char *mbox_path,
                     int fd, uint64_t *size);

/* Record LENGTH (already durable in FD) as committed: replaces the record
 * atomically and durably. When records cannot be kept beside this mbox
 * (read-only directory), warns once, removes any older record and returns
 * 0; returns -1 with errno set only when an older record could neither be
 * replaced nor removed (it would cut recorded messages). */
int mbox_commit_record(mbox_commit *c, mp_host *host, int fd, uint64_t length);

/* The run is done with this mbox and everything is durable: remove the
 * record. Returns 0 or -1 with errno set. */
int mbox_commit_remove(mbox_commit *c);

void mbox_commit_free(mbox_commit *c);

#endif
