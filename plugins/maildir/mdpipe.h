/*
 * The Maildir sink's file work, done on background threads.
 *
 * put_commit hands over a finished message (its bytes in memory, its tmp/
 * name and its final name already chosen, so the key is known at once) and
 * returns. Writer threads create the file (0600), write it and set its
 * mtime to the internal date: as an unnamed file in tmp/ (O_TMPFILE) where
 * the filesystem allows, else under its tmp/ name. The syncer thread makes
 * every written file durable with one syncfs() (data, inodes, the keywords
 * file and directories made before); the mover thread then gives each its
 * final name in cur/ (linkat of the unnamed file, or rename) and fsyncs
 * cur/. A message is thus visible only once its bytes are on disk, and
 * md_pipe_wait() (flush) returns once everything handed over before it is
 * in cur/ and synced, or has failed. Syncing one batch overlaps placing the
 * one before.
 *
 * Groups (flush_start/flush_wait): md_pipe_group_start marks every job
 * handed over so far as the group; md_pipe_group_wait waits for exactly
 * those, not for jobs handed over later. Jobs settle out of order (two
 * writers), so counts of handed and settled jobs cannot tell when a group
 * is done. Each job is numbered at submit (seq); every job is settled
 * through one function that sees its number, so the pipe keeps the exact
 * count of the group's jobs not yet settled (group_left), and whether any
 * of them was dropped or not made durable (group_failed).
 *
 * Why threads: a copy into a Maildir is mostly kernel work per file (tens
 * of microseconds to create, write, date, sync and place each one) that the
 * caller need not wait for.
 *
 * Bounds: message bytes waiting to be written are capped per pipe
 * (MD_PIPE_MAX_BYTES) and, softly, per process (MD_PIPE_ALL_BYTES);
 * md_pipe_submit blocks while over them. A message too large to hold in
 * memory is written by the caller itself and handed over already written.
 * Unnamed files held open are capped per process (see mdpipe.c).
 *
 * The threads share only this struct, under its mutex, plus the folder's
 * tmp/ and cur/ descriptors (read-only). They never call the host and never
 * touch the folder's index or keywords. Their first failure is recorded
 * here (sticky, with the file it concerns) and reported by the next
 * put_commit or flush. After it, the messages handed over from the one it
 * concerns on are removed, as never committed (all that remain when it
 * concerns every message: a sync, or cur/); those handed over before it
 * still complete, so a group (below) without the failing message does.
 */
#ifndef MD_PIPE_H
#define MD_PIPE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define MD_WRITERS 2
#define MD_THREADS (MD_WRITERS + 2) /* and the syncer and the mover */
#define MD_PIPE_MAX_BYTES (32u * 1024 * 1024) /* per pipe */
#define MD_PIPE_ALL_BYTES (64u * 1024 * 1024) /* all pipes of the process */

/* One committed message. Allocated by md_job_new; owned by the pipe once
 * submitted. */
typedef struct md_job {
    struct md_job *next;
    unsigned char *data; /* malloc'd message bytes (when !written) */
    size_t len;
    size_t cost;  /* bytes counted against MD_PIPE_MAX_BYTES */
    int written;  /* already in tmp/ (closed): only sync and rename left */
    int64_t date; /* mtime to set; MP_DATE_UNKNOWN leaves it */
    int fd;       /* >= 0: written as an unnamed file, linked once synced */
    unsigned long seq; /* 1, 2, ... in the order handed over */
    char *final_name; /* in cur/: KEY ":2," FLAGS */
    char tmp_name[];  /* in tmp/, with room for a retry suffix */
} md_job;

/* A job for TMP_NAME / FINAL_NAME (copied) with no data yet. NULL when out
 * of memory. */
md_job *md_job_new(const char *tmp_name, const char *final_name);
void md_job_free(md_job *j);

typedef struct md_pipe {
    int tmp_fd, cur_fd; /* borrowed from the folder */
    int threads; /* 0: not started; > 0: running; -1: could not start */
    pthread_t tid[MD_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t to_write, to_sync, to_move, progress;
    md_job *write_head, **write_tail; /* handed over, not yet written */
    md_job *sync_head, **sync_tail;   /* written, not yet synced */
    md_job *move_head, **move_tail;   /* synced, not yet in cur/ */
    size_t n_write, n_sync;           /* jobs in those lists */
    size_t bytes;                     /* cost of jobs not yet written */
    int writing;                      /* writers busy with a job */
    int waiting;                      /* threads in md_pipe_wait */
    unsigned long handed, settled;    /* settled: durable or dropped */
    /* In cur/, waiting for the syncer's next syncfs to make their names
     * durable (and settle them). */
    md_job *placed_head, **placed_tail;
    /* The group (md_pipe_group_start): the jobs numbered up to group_end.
     * While group_left > 0 the syncer treats its jobs as urgent. */
    unsigned long group_end;
    unsigned long group_left; /* its jobs not yet settled */
    int group_writing;        /* its jobs with a writer now */
    size_t group_syncing;     /* its jobs in the sync list */
    int group_failed;         /* one of them was dropped or not synced */
    int stop;
    /* Unnamed files (O_TMPFILE) the process may hold open; 0 when they
     * cannot be used here. NAMED_ONLY (set before first use) turns them
     * off: for tests of the named path. */
    long anon_cap;
    int named_only;
    int failed;       /* sticky */
    unsigned long fail_from; /* jobs numbered from this on are dropped */
    int err;          /* errno of the first failure */
    const char *what; /* "cannot write", ... */
    char file[320];   /* what it concerns: "tmp/NAME", "cur", ... */
} md_pipe;

void md_pipe_init(md_pipe *p, int tmp_fd, int cur_fd);

/* Hand JOB over (the pipe owns it from now on, also on failure). Starts the
 * threads on first use; if they cannot be started, the work is done on the
 * caller's thread (here and in md_pipe_wait). Blocks while too many bytes
 * wait to be written. Returns 0, or -1 when the pipe has failed (see
 * md_pipe_error; JOB is dropped). */
int md_pipe_submit(md_pipe *p, md_job *job);

/* Bytes waiting to be written in all pipes of the process. */
size_t md_pipe_all_bytes(void);

/* Has anything failed so far? */
int md_pipe_failed(md_pipe *p);

/* The same, copying the failure out when so. */
int md_pipe_error(md_pipe *p, int *err, const char **what, char *file,
                  size_t file_size);

/* Wait until everything submitted is durable and visible, or dropped after
 * a failure. Returns 0, or -1 after a failure (see md_pipe_error). */
int md_pipe_wait(md_pipe *p);

/* Make a group of every job handed over so far and start making it
 * durable and visible; returns at once (without threads, does the work
 * here). At most one group at a time: call md_pipe_group_wait first. */
void md_pipe_group_start(md_pipe *p);

/* Wait until every job of the group is durable and in cur/, or dropped;
 * jobs handed over after md_pipe_group_start are not waited for. Returns
 * 0 when all of them are durable and visible, else -1 (see md_pipe_error;
 * also when the pipe had failed before the group started). */
int md_pipe_group_wait(md_pipe *p);

/* Wait for everything, stop the threads, release everything. */
void md_pipe_stop(md_pipe *p);

/* renameat2 with RENAME_NOREPLACE, falling back to renameat where the
 * filesystem lacks it (the names are unique anyway). */
int md_rename_noreplace(int from_fd, const char *from, int to_fd,
                        const char *to);

#endif
