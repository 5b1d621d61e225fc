/*
 * The durability step of the Maildir sink, run on a background thread.
 *
 * Committed messages sit in tmp/. A batch of them is made durable with one
 * syncfs() (file data, inodes, directories), then each file is renamed into
 * cur/ under its final name, then cur/ is fsynced so the renames are
 * durable too. Doing this on its own thread lets the disk work while the
 * caller goes on writing the next messages (copies run at about CPU speed
 * instead of CPU plus disk time); flush() waits for it, so nothing is
 * reported durable early.
 *
 * The thread shares only this struct, under its mutex. It never calls the
 * host: its first failure is recorded here and reported by the folder's
 * next flush. After a failure it no longer renames anything: the remaining
 * files are removed from tmp/, as never committed.
 */
#ifndef MD_SYNCER_H
#define MD_SYNCER_H

#include <pthread.h>
#include <stddef.h>

/* A message committed but not yet durable: in tmp/, renamed into cur/
 * once its batch has been synced. */
typedef struct md_pending {
    char *tmp_name;
    char *final_name; /* KEY ":2," FLAGS */
    size_t key_len;
} md_pending;

typedef struct md_syncer {
    int tmp_fd, cur_fd; /* borrowed from the folder */
    int started;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    md_pending *queue;
    size_t n, cap;
    int busy, stop;
    int failed;       /* sticky */
    int err;          /* errno of the first failure */
    const char *what; /* what failed: "cannot sync", ... */
    const char *where; /* "tmp" or "cur" */
    unsigned long batches; /* batches finished, for index invalidation */
} md_syncer;

/* renameat2 with RENAME_NOREPLACE, falling back to renameat where the
 * filesystem lacks it (the names are unique anyway). */
int md_rename_noreplace(int from_fd, const char *from, int to_fd,
                        const char *to);

void md_syncer_init(md_syncer *s, int tmp_fd, int cur_fd);

/* Hand N entries over (the syncer owns their strings from now on). Starts
 * the thread on first use; if it cannot be started, the batch is processed
 * right here. Returns 0, or -1 when out of memory (entries still owned by
 * the caller). */
int md_syncer_submit(md_syncer *s, const md_pending *v, size_t n);

/* Wait until everything submitted is durable and visible (or failed).
 * Returns 0, or -1 after a failure (see err, what, where). */
int md_syncer_wait(md_syncer *s);

/* Finish queued work, stop the thread, release everything. */
void md_syncer_stop(md_syncer *s);

/* Process one batch synchronously (also what the thread runs). Frees the
 * entries' strings. Returns 0 or -1 with *ERR, *WHAT, *WHERE set. */
int md_sync_batch(int tmp_fd, int cur_fd, md_pending *v, size_t n, int *err,
                  const char **what, const char **where);

#endif
