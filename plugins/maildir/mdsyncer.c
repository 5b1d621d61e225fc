/* Background durability for the Maildir sink (see mdsyncer.h). */
#include "mdsyncer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void drop(int tmp_fd, md_pending *v, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        unlinkat(tmp_fd, v[i].tmp_name, 0);
        free(v[i].tmp_name);
        free(v[i].final_name);
    }
}

int md_sync_batch(int tmp_fd, int cur_fd, md_pending *v, size_t n, int *err,
                  const char **what, const char **where)
{
    /* One sync for the batch: file data, inodes, new directories and the
     * keywords file written before the batch was handed over. */
    if (syncfs(tmp_fd) != 0) {
        *err = errno;
        *what = "cannot sync";
        *where = "tmp";
        drop(tmp_fd, v, 0, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (md_rename_noreplace(tmp_fd, v[i].tmp_name, cur_fd,
                             v[i].final_name) != 0) {
            *err = errno;
            *what = "cannot move a message into";
            *where = "cur";
            drop(tmp_fd, v, i, n);
            /* What was renamed must still be made durable. */
            fsync(cur_fd);
            return -1;
        }
        free(v[i].tmp_name);
        free(v[i].final_name);
    }
    if (fsync(cur_fd) != 0) {
        *err = errno;
        *what = "cannot sync";
        *where = "cur";
        return -1;
    }
    return 0;
}

void md_syncer_init(md_syncer *s, int tmp_fd, int cur_fd)
{
    memset(s, 0, sizeof *s);
    s->tmp_fd = tmp_fd;
    s->cur_fd = cur_fd;
}

static void *run(void *arg)
{
    md_syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->n && !s->stop)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->n)
            break;
        /* Take everything queued: batches grow when the disk is slow. */
        md_pending *batch = s->queue;
        size_t n = s->n;
        int failed = s->failed;
        s->queue = NULL;
        s->n = s->cap = 0;
        s->busy = 1;
        pthread_mutex_unlock(&s->mu);

        int err = 0;
        const char *what = NULL, *where = NULL;
        int rc = 0;
        if (failed)
            drop(s->tmp_fd, batch, 0, n);
        else
            rc = md_sync_batch(s->tmp_fd, s->cur_fd, batch, n, &err, &what,
                               &where);
        free(batch);

        pthread_mutex_lock(&s->mu);
        if (rc != 0 && !s->failed) {
            s->failed = 1;
            s->err = err;
            s->what = what;
            s->where = where;
        }
        s->busy = 0;
        s->batches++;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int start(md_syncer *s)
{
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        return -1;
    if (pthread_cond_init(&s->work, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    if (pthread_cond_init(&s->done, NULL) != 0) {
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        pthread_cond_destroy(&s->done);
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    s->started = 1;
    return 0;
}

int md_syncer_submit(md_syncer *s, const md_pending *v, size_t n)
{
    if (!n)
        return 0;
    if (!s->started && start(s) != 0) {
        /* No thread: do the work now, as the synchronous path would. */
        md_pending *copy = malloc(n * sizeof *copy);
        if (!copy)
            return -1;
        memcpy(copy, v, n * sizeof *copy);
        if (!s->failed) {
            if (md_sync_batch(s->tmp_fd, s->cur_fd, copy, n, &s->err,
                              &s->what, &s->where) != 0)
                s->failed = 1;
        } else {
            drop(s->tmp_fd, copy, 0, n);
        }
        free(copy);
        s->batches++;
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->n + n)
            cap *= 2;
        md_pending *q = realloc(s->queue, cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
        s->queue = q;
        s->cap = cap;
    }
    memcpy(s->queue + s->n, v, n * sizeof *v);
    s->n += n;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int md_syncer_wait(md_syncer *s)
{
    if (!s->started)
        return s->failed ? -1 : 0;
    pthread_mutex_lock(&s->mu);
    while (s->n || s->busy)
        pthread_cond_wait(&s->done, &s->mu);
    int failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    return failed ? -1 : 0;
}

void md_syncer_stop(md_syncer *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    free(s->queue);
    s->queue = NULL;
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    s->started = 0;
}
