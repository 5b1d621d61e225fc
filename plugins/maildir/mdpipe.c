/* Background writing and durability for the Maildir sink (see mdpipe.h). */
#include "mdpipe.h"

#include <mailport/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Room after the tmp name for a retry suffix ("-NN"). */
#define TMP_SPARE 8

/* Written messages worth a syncfs of their own while nobody waits: fewer
 * would spend more on journal commits, more would leave more to do when
 * flush() comes. */
#define MIN_BATCH 64

/* Messages queued before a sleeping writer is woken: a wake-up for every
 * message costs about as much as writing it. */
#define WAKE_BATCH 8

int md_rename_noreplace(int from_fd, const char *from, int to_fd,
                        const char *to)
{
    if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* Filesystems without RENAME_NOREPLACE: the names are unique anyway. */
    return renameat(from_fd, from, to_fd, to);
}

/* ------------------------------------------------------------------------ */
/* Unnamed files.                                                            */

/* An unnamed file is held open from writing until it is linked. Across
 * every pipe of the process they are kept to a quarter of the descriptor
 * limit (at most 1024), so the rest of the program never runs short;
 * beyond that, named tmp/ files are used. */
static atomic_long anon_open;

static long anon_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 64;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur / 4 > 1024)
        return 1024;
    return (long)(rl.rlim_cur / 4);
}

static int anon_reserve(long cap)
{
    if (atomic_fetch_add(&anon_open, 1) < cap)
        return 1;
    atomic_fetch_sub(&anon_open, 1);
    return 0;
}

static void anon_close(md_job *j)
{
    close(j->fd);
    j->fd = -1;
    atomic_fetch_sub(&anon_open, 1);
}

static int link_anon(int fd, int dir_fd, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, path, dir_fd, name, AT_SYMLINK_FOLLOW);
}

/* Can this filesystem and system give unnamed files and link them later
 * (O_TMPFILE, and /proc to link through)? Tried once per pipe with a file
 * linked as PROBE in tmp/ and removed again. */
static int anon_works(int tmp_fd, const char *probe)
{
    int fd = openat(tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return 0;
    int ok = link_anon(fd, tmp_fd, probe) == 0;
    if (ok)
        unlinkat(tmp_fd, probe, 0);
    close(fd);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Jobs.                                                                     */

md_job *md_job_new(const char *tmp_name, const char *final_name)
{
    size_t tl = strlen(tmp_name);
    md_job *j = calloc(1, sizeof *j + tl + 1 + TMP_SPARE);
    if (!j)
        return NULL;
    memcpy(j->tmp_name, tmp_name, tl + 1);
    j->final_name = strdup(final_name);
    if (!j->final_name) {
        free(j);
        return NULL;
    }
    j->date = MP_DATE_UNKNOWN;
    j->fd = -1;
    return j;
}

void md_job_free(md_job *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        anon_close(j);
    free(j->data);
    free(j->final_name);
    free(j);
}

/* ------------------------------------------------------------------------ */
/* The file work itself (no lock held).                                      */

typedef struct failure {
    int err;
    const char *what;
    char file[320];
} failure;

static void set_failure(failure *f, int err, const char *what,
                        const char *dir, const char *name)
{
    f->err = err;
    f->what = what;
    snprintf(f->file, sizeof f->file, "%s%s%s", dir, name ? "/" : "",
             name ? name : "");
}

static int write_all(int fd, const unsigned char *b, size_t len)
{
    while (len) {
        ssize_t w = write(fd, b, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Open J's file: an unnamed one when ANON (the most unnamed files the
 * process may hold; 0: none), linked into cur/ once synced, else a named
 * one in tmp/, renamed. An unnamed file costs no directory entry in tmp/
 * and leaves nothing behind after a crash. */
static int open_job(int tmp_fd, md_job *j, long anon, failure *fl)
{
    if (anon && anon_reserve(anon)) {
        int fd = openat(tmp_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0) {
            j->fd = fd;
            return fd;
        }
        atomic_fetch_sub(&anon_open, 1);
    }
    size_t base = strlen(j->tmp_name);
    for (int tries = 0;; tries++) {
        int fd = openat(tmp_fd, j->tmp_name,
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST || tries == 9) {
            set_failure(fl, errno, "cannot create", "tmp", j->tmp_name);
            return -1;
        }
        /* Another program's leftover under the same name: the tmp name is
         * only ours, the final name stays as promised. */
        snprintf(j->tmp_name + base, TMP_SPARE, "-%d", tries + 1);
    }
}

/* Forget J's file: close an unnamed one (which frees it), unlink a named
 * one. */
static void discard_file(int tmp_fd, md_job *j)
{
    if (j->fd >= 0)
        anon_close(j);
    else
        unlinkat(tmp_fd, j->tmp_name, 0);
}

/* Create, write and date J's file (see open_job); a named one is closed, an
 * unnamed one stays open until it is linked. On failure nothing of it
 * stays. The data is released either way. */
static int write_job(int tmp_fd, md_job *j, long anon, failure *fl)
{
    int fd = open_job(tmp_fd, j, anon, fl);
    if (fd < 0) {
        free(j->data);
        j->data = NULL;
        return -1;
    }
    const char *what = NULL;
    if (write_all(fd, j->data, j->len) != 0) {
        what = "cannot write";
    } else if (j->date != MP_DATE_UNKNOWN) {
        struct timespec ts[2] = {{.tv_sec = (time_t)j->date},
                                 {.tv_sec = (time_t)j->date}};
        if (futimens(fd, ts) != 0)
            what = "cannot set the date of";
    }
    int err = errno;
    if (j->fd < 0 && close(fd) != 0 && !what) {
        what = "cannot write";
        err = errno;
    }
    free(j->data);
    j->data = NULL;
    if (what) {
        discard_file(tmp_fd, j);
        set_failure(fl, err, what, "tmp", j->tmp_name);
        return -1;
    }
    j->written = 1;
    return 0;
}

/* Remove the files of the jobs in LIST (as never committed). The jobs
 * stay, to be settled. */
static void discard_files(int tmp_fd, md_job *list)
{
    for (; list; list = list->next)
        if (list->written)
            discard_file(tmp_fd, list);
}

/* One syncfs for the data and inodes of everything written so far (and the
 * keywords file and directories made before it). */
static int sync_all(int tmp_fd, failure *fl)
{
    if (syncfs(tmp_fd) == 0)
        return 0;
    set_failure(fl, errno, "cannot sync", "tmp", NULL);
    return -1;
}

/* Give J's synced file its final name in cur/. */
static int place(int tmp_fd, int cur_fd, md_job *j)
{
    if (j->fd < 0)
        return md_rename_noreplace(tmp_fd, j->tmp_name, cur_fd,
                                   j->final_name);
    if (link_anon(j->fd, cur_fd, j->final_name) != 0)
        return -1;
    anon_close(j);
    return 0;
}

/* Place the synced jobs in *LIST into cur/, in order. After a failure
 * *LIST keeps the jobs placed before it, and the rest (their files
 * removed) is returned; NULL when all were placed. */
static md_job *place_all(int tmp_fd, int cur_fd, md_job **list, failure *fl)
{
    for (md_job **at = list; *at; at = &(*at)->next) {
        if (place(tmp_fd, cur_fd, *at) != 0) {
            set_failure(fl, errno, "cannot move a message into", "cur",
                        (*at)->final_name);
            md_job *rest = *at;
            *at = NULL;
            discard_files(tmp_fd, rest);
            return rest;
        }
    }
    return NULL;
}

/* Make the names placed in cur/ durable. */
static int commit_names(int cur_fd, failure *fl)
{
    if (fsync(cur_fd) == 0)
        return 0;
    set_failure(fl, errno, "cannot sync", "cur", NULL);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* The threads (shared state under the lock).                                */

/* Bytes waiting to be written in every pipe of the process (several folders
 * are written at once with --jobs). A pipe waits only for its own writers,
 * and never while it has nothing waiting, so the bound is soft: it can be
 * passed by one message per pipe. */
static atomic_size_t all_bytes;

/* Record the pipe's first failure. FROM: the number of the message it
 * concerns (messages handed over from it on are dropped; the ones before
 * still complete), or 1 when it concerns every message (a sync, cur/). */
static void record(md_pipe *p, const failure *fl, unsigned long from)
{
    if (p->failed)
        return;
    p->failed = 1;
    p->fail_from = from;
    p->err = fl->err;
    p->what = fl->what;
    memcpy(p->file, fl->file, sizeof p->file);
}

static void push(md_job ***tail, md_job *j)
{
    j->next = NULL;
    **tail = j;
    *tail = &j->next;
}

/* Append LIST to the list ending at *TAIL. */
static void append(md_job ***tail, md_job *list)
{
    **tail = list;
    while (**tail)
        *tail = &(**tail)->next;
}

/* Jobs numbered from this on are dropped (after a failure). */
static unsigned long dropped_from(const md_pipe *p)
{
    return p->failed ? p->fail_from : ULONG_MAX;
}

/* Move the jobs of *LIST numbered FROM or later out of it; returns them. */
static md_job *split_from(md_job **list, unsigned long from)
{
    md_job *out = NULL, **out_tail = &out;
    for (md_job **at = list; *at;) {
        md_job *j = *at;
        if (j->seq >= from) {
            *at = j->next;
            push(&out_tail, j);
        } else {
            at = &j->next;
        }
    }
    return out;
}

static int in_group(const md_pipe *p, const md_job *j)
{
    return j->seq <= p->group_end;
}

/* Count the jobs in LIST as settled and free them: OK when each is durable
 * and in cur/, else they were dropped or are not known to be durable. The
 * one place where jobs settle, so the group's count stays exact. Under the
 * lock (or without threads). */
static void settle(md_pipe *p, md_job *list, int ok)
{
    while (list) {
        md_job *next = list->next;
        p->settled++;
        /* group_left > 0 always holds here for a group job; checked so a
         * bug cannot wrap the count and hang md_pipe_group_wait. */
        if (in_group(p, list) && p->group_left) {
            p->group_left--;
            if (!ok)
                p->group_failed = 1;
        }
        md_job_free(list);
        list = next;
    }
}

/* A written job enters the sync list. */
static void push_sync(md_pipe *p, md_job *j)
{
    push(&p->sync_tail, j);
    p->n_sync++;
    if (in_group(p, j))
        p->group_syncing++;
}

/* Has every job of the group left the writers? (The write list is in seq
 * order: one caller thread submits.) */
static int group_written(const md_pipe *p)
{
    return !p->group_writing &&
           !(p->write_head && in_group(p, p->write_head));
}

/* Is there a batch worth a sync: enough written, or all that someone waits
 * for (flush: everything; a started group: its jobs)? (The syncer is woken
 * only then.) */
static int sync_ready(const md_pipe *p)
{
    return p->sync_head &&
           (p->stop || p->n_sync >= MIN_BATCH ||
            (p->waiting && !p->write_head && !p->writing) ||
            (p->group_syncing && group_written(p)));
}

static void *writer(void *arg)
{
    md_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->write_head && !p->stop)
            pthread_cond_wait(&p->to_write, &p->mu);
        md_job *j = p->write_head;
        if (!j)
            break;
        p->write_head = j->next;
        if (!p->write_head)
            p->write_tail = &p->write_head;
        p->n_write--;
        int doomed = j->seq >= dropped_from(p);
        long anon = p->anon_cap;
        p->writing++;
        if (in_group(p, j))
            p->group_writing++;
        pthread_mutex_unlock(&p->mu);

        failure fl;
        int rc = doomed ? -1 : write_job(p->tmp_fd, j, anon, &fl);

        pthread_mutex_lock(&p->mu);
        p->writing--;
        if (in_group(p, j))
            p->group_writing--;
        p->bytes -= j->cost;
        atomic_fetch_sub(&all_bytes, j->cost);
        if (rc == 0) {
            push_sync(p, j);
        } else {
            if (!doomed)
                record(p, &fl, j->seq);
            j->next = NULL;
            settle(p, j, 0);
        }
        if (sync_ready(p))
            pthread_cond_signal(&p->to_sync);
        pthread_cond_broadcast(&p->progress);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Takes everything written, makes it durable and passes it on to the
 * mover; meanwhile the mover places the batch before, so one batch's
 * renames overlap the next one's sync. */
static void *syncer(void *arg)
{
    md_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && !sync_ready(p))
            pthread_cond_wait(&p->to_sync, &p->mu);
        md_job *list = p->sync_head;
        if (!list)
            break;
        p->sync_head = NULL;
        p->sync_tail = &p->sync_head;
        p->n_sync = 0;
        p->group_syncing = 0;
        /* Names placed so far (the mover left them to us) are made durable
         * by this sync too: it starts after they were placed. */
        md_job *covered = p->placed_head;
        p->placed_head = NULL;
        p->placed_tail = &p->placed_head;
        unsigned long from = dropped_from(p);
        pthread_mutex_unlock(&p->mu);

        md_job *doomed = split_from(&list, from);
        discard_files(p->tmp_fd, doomed);
        failure fl;
        int rc = 0, synced = 0;
        if (from <= 1) {
            rc = -1; /* a failure that concerns every message */
        } else if (list || covered) {
            rc = sync_all(p->tmp_fd, &fl);
            synced = 1;
        }
        if (rc != 0)
            discard_files(p->tmp_fd, list);

        pthread_mutex_lock(&p->mu);
        if (synced && rc != 0)
            record(p, &fl, 1);
        settle(p, doomed, 0);
        settle(p, covered, rc == 0);
        if (rc != 0) {
            settle(p, list, 0);
        } else if (list) {
            append(&p->move_tail, list);
            pthread_cond_signal(&p->to_move);
        }
        pthread_cond_broadcast(&p->progress);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int has_group_job(const md_pipe *p, const md_job *list)
{
    for (; list; list = list->next)
        if (in_group(p, list))
            return 1;
    return 0;
}

static void *mover(void *arg)
{
    md_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->move_head && !p->stop)
            pthread_cond_wait(&p->to_move, &p->mu);
        md_job *list = p->move_head;
        if (!list)
            break;
        p->move_head = NULL;
        p->move_tail = &p->move_head;
        unsigned long from = dropped_from(p);
        pthread_mutex_unlock(&p->mu);

        md_job *doomed = split_from(&list, from);
        discard_files(p->tmp_fd, doomed);
        failure fl;
        /* Not placed: dropped. A failure to place concerns every message
         * (cur/ itself). */
        md_job *lost = place_all(p->tmp_fd, p->cur_fd, &list, &fl);

        pthread_mutex_lock(&p->mu);
        if (lost)
            record(p, &fl, 1);
        if (doomed || lost) {
            settle(p, doomed, 0);
            settle(p, lost, 0);
            pthread_cond_broadcast(&p->progress);
        }
        if (list && !lost && p->sync_head && !has_group_job(p, list)) {
            /* The syncer has more to sync: its syncfs, which starts after
             * these names were placed, makes them durable, saving a
             * journal commit here. Not for the group's jobs: the syncer
             * may wait for more writes, and the group is wanted now. */
            append(&p->placed_tail, list);
            if (sync_ready(p))
                pthread_cond_signal(&p->to_sync);
            continue;
        }
        /* What was placed must be made durable, also after a failure. */
        append(&p->placed_tail, list);
        md_job *covered = p->placed_head;
        p->placed_head = NULL;
        p->placed_tail = &p->placed_head;
        if (!covered)
            continue;
        pthread_mutex_unlock(&p->mu);
        failure fl2;
        int rc2 = commit_names(p->cur_fd, &fl2);
        pthread_mutex_lock(&p->mu);
        if (rc2 != 0)
            record(p, &fl2, 1);
        settle(p, covered, rc2 == 0);
        pthread_cond_broadcast(&p->progress);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Starting and stopping.                                                    */

void md_pipe_init(md_pipe *p, int tmp_fd, int cur_fd)
{
    memset(p, 0, sizeof *p);
    p->tmp_fd = tmp_fd;
    p->cur_fd = cur_fd;
    p->write_tail = &p->write_head;
    p->sync_tail = &p->sync_head;
    p->move_tail = &p->move_head;
    p->placed_tail = &p->placed_head;
}

static void stop_threads(md_pipe *p, int n)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->to_write);
    pthread_cond_broadcast(&p->to_sync);
    pthread_cond_broadcast(&p->to_move);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++)
        pthread_join(p->tid[i], NULL);
}

static int start(md_pipe *p)
{
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return -1;
    pthread_cond_t *cv[] = {&p->to_write, &p->to_sync, &p->to_move,
                            &p->progress};
    size_t ncv = 0;
    for (; ncv < 4; ncv++)
        if (pthread_cond_init(cv[ncv], NULL) != 0)
            break;
    int n = 0;
    if (ncv == 4) {
        for (; n < MD_THREADS; n++)
            if (pthread_create(&p->tid[n], NULL,
                               n == 0   ? syncer
                               : n == 1 ? mover
                                        : writer,
                               p) != 0)
                break;
    }
    if (n == MD_THREADS) {
        p->threads = n;
        return 0;
    }
    if (ncv == 4)
        stop_threads(p, n);
    p->stop = 0;
    while (ncv)
        pthread_cond_destroy(cv[--ncv]);
    pthread_mutex_destroy(&p->mu);
    return -1;
}

/* No threads (they could not be started): the same work, here. */
static int submit_inline(md_pipe *p, md_job *j)
{
    j->seq = ++p->handed;
    j->next = NULL;
    failure fl;
    if (p->failed ||
        (!j->written && write_job(p->tmp_fd, j, p->anon_cap, &fl) != 0)) {
        if (!p->failed)
            record(p, &fl, 1);
        discard_files(p->tmp_fd, j);
        settle(p, j, 0);
        return -1;
    }
    push_sync(p, j);
    return 0;
}

static int wait_inline(md_pipe *p)
{
    md_job *list = p->sync_head;
    p->sync_head = NULL;
    p->sync_tail = &p->sync_head;
    p->n_sync = p->group_syncing = 0;
    failure fl;
    if (p->failed || (list && sync_all(p->tmp_fd, &fl) != 0)) {
        if (!p->failed)
            record(p, &fl, 1);
        discard_files(p->tmp_fd, list);
        settle(p, list, 0);
    } else if (list) {
        md_job *lost = place_all(p->tmp_fd, p->cur_fd, &list, &fl);
        if (lost) {
            record(p, &fl, 1);
            settle(p, lost, 0);
        }
        int rc2 = commit_names(p->cur_fd, &fl);
        if (rc2 != 0)
            record(p, &fl, 1);
        settle(p, list, rc2 == 0);
    }
    return p->failed ? -1 : 0;
}

int md_pipe_submit(md_pipe *p, md_job *j)
{
    if (p->threads == 0) {
        char probe[300];
        snprintf(probe, sizeof probe, "%s.probe", j->tmp_name);
        p->anon_cap = !p->named_only && anon_works(p->tmp_fd, probe)
                          ? anon_limit()
                          : 0;
        if (start(p) != 0)
            p->threads = -1;
    }
    if (p->threads < 0)
        return submit_inline(p, j);
    pthread_mutex_lock(&p->mu);
    j->seq = ++p->handed;
    while (!j->written && p->bytes && !p->failed &&
           (p->bytes + j->cost > MD_PIPE_MAX_BYTES ||
            atomic_load(&all_bytes) + j->cost > MD_PIPE_ALL_BYTES)) {
        pthread_cond_broadcast(&p->to_write);
        pthread_cond_wait(&p->progress, &p->mu);
    }
    if (p->failed) {
        j->next = NULL;
        discard_files(p->tmp_fd, j);
        settle(p, j, 0);
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    if (j->written) {
        push_sync(p, j);
        if (sync_ready(p))
            pthread_cond_signal(&p->to_sync);
    } else {
        p->bytes += j->cost;
        atomic_fetch_add(&all_bytes, j->cost);
        push(&p->write_tail, j);
        if (++p->n_write >= WAKE_BATCH)
            pthread_cond_signal(&p->to_write);
    }
    pthread_mutex_unlock(&p->mu);
    return 0;
}

size_t md_pipe_all_bytes(void)
{
    return atomic_load(&all_bytes);
}

int md_pipe_error(md_pipe *p, int *err, const char **what, char *file,
                  size_t file_size)
{
    if (p->threads > 0)
        pthread_mutex_lock(&p->mu);
    int failed = p->failed;
    if (failed) {
        *err = p->err;
        *what = p->what;
        snprintf(file, file_size, "%s", p->file);
    }
    if (p->threads > 0)
        pthread_mutex_unlock(&p->mu);
    return failed;
}

int md_pipe_failed(md_pipe *p)
{
    if (p->threads <= 0)
        return p->failed;
    pthread_mutex_lock(&p->mu);
    int failed = p->failed;
    pthread_mutex_unlock(&p->mu);
    return failed;
}

int md_pipe_wait(md_pipe *p)
{
    if (p->threads <= 0)
        return wait_inline(p);
    pthread_mutex_lock(&p->mu);
    p->waiting++;
    /* Everything queued is wanted now: wake the writers for it, and the
     * syncer when nothing is left to write. */
    if (p->write_head)
        pthread_cond_broadcast(&p->to_write);
    if (sync_ready(p))
        pthread_cond_signal(&p->to_sync);
    while (p->settled != p->handed)
        pthread_cond_wait(&p->progress, &p->mu);
    p->waiting--;
    int failed = p->failed;
    pthread_mutex_unlock(&p->mu);
    return failed ? -1 : 0;
}

void md_pipe_group_start(md_pipe *p)
{
    if (p->threads > 0)
        pthread_mutex_lock(&p->mu);
    /* Every job handed over so far belongs to the group, so those not yet
     * settled are exactly handed - settled, the writers' jobs are all
     * group jobs, and so is the whole sync list. A failure before now may
     * have dropped one of them already: the group then fails. */
    p->group_end = p->handed;
    p->group_left = p->handed - p->settled;
    p->group_failed = p->failed;
    p->group_writing = p->writing;
    p->group_syncing = p->n_sync;
    if (p->threads <= 0) {
        /* No threads: the same work, here (settles everything). */
        if (p->threads < 0)
            wait_inline(p);
        return;
    }
    /* Writers sleep until WAKE_BATCH jobs wait; the group is wanted now. */
    if (p->write_head)
        pthread_cond_broadcast(&p->to_write);
    if (sync_ready(p))
        pthread_cond_signal(&p->to_sync);
    pthread_mutex_unlock(&p->mu);
}

int md_pipe_group_wait(md_pipe *p)
{
    if (p->threads <= 0)
        return p->group_failed ? -1 : 0;
    pthread_mutex_lock(&p->mu);
    while (p->group_left)
        pthread_cond_wait(&p->progress, &p->mu);
    int failed = p->group_failed;
    pthread_mutex_unlock(&p->mu);
    return failed ? -1 : 0;
}

void md_pipe_stop(md_pipe *p)
{
    if (p->threads == 0)
        return;
    md_pipe_wait(p);
    if (p->threads > 0) {
        stop_threads(p, p->threads);
        pthread_cond_destroy(&p->progress);
        pthread_cond_destroy(&p->to_move);
        pthread_cond_destroy(&p->to_sync);
        pthread_cond_destroy(&p->to_write);
        pthread_mutex_destroy(&p->mu);
    }
    p->threads = 0;
}
