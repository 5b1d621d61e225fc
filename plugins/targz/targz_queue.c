#include "targz_queue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

targz_entry *targz_entry_new(const char *path, int dir, int64_t mtime,
                             const char *tmp_dir)
{
    targz_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->path = strdup(path);
    if (!e->path) {
        free(e);
        return NULL;
    }
    e->dir = dir;
    e->mtime = mtime;
    targz_spool_init(&e->data, tmp_dir);
    return e;
}

void targz_entry_free(targz_entry *e)
{
    if (!e)
        return;
    targz_spool_free(&e->data);
    free(e->path);
    free(e);
}

/* What E holds while queued: its memory, or for a spilled entry its file
 * (bounding the disk and descriptors that queued big messages take). */
static size_t entry_weight(const targz_entry *e)
{
    size_t held = e->data.spilled ? (size_t)e->data.total : e->data.mem_cap;
    return sizeof *e + strlen(e->path) + held;
}

static void *writer_main(void *arg)
{
    targz_queue *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stopping) {
            q->writer_idle = 1;
            pthread_cond_wait(&q->work, &q->lock);
            q->writer_idle = 0;
        }
        targz_entry *e = q->head;
        if (!e)
            break; /* stopping, and everything is written */
        q->head = e->next;
        if (!q->head)
            q->tail = NULL;
        q->queued--;
        int skip = q->failed || q->discard;
        pthread_mutex_unlock(&q->lock);

        targz_fault fault;
        int rc = skip ? 0 : q->write(q->ctx, e, &fault);
        size_t weight = e->weight;
        targz_entry_free(e);

        pthread_mutex_lock(&q->lock);
        if (rc != 0 && !q->failed) {
            q->failed = 1;
            q->fault = fault;
        }
        q->in_flight -= weight;
        if (q->producer_waiting &&
            (q->in_flight <= q->max_bytes / 2 || q->failed))
            pthread_cond_broadcast(&q->room);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int targz_queue_start(targz_queue *q, size_t max_bytes,
                      targz_entry_writer write, void *ctx)
{
    q->max_bytes = max_bytes;
    q->write = write;
    q->ctx = ctx;
    int rc = pthread_mutex_init(&q->lock, NULL);
    if (rc)
        return rc;
    if ((rc = pthread_cond_init(&q->work, NULL)) != 0) {
        pthread_mutex_destroy(&q->lock);
        return rc;
    }
    if ((rc = pthread_cond_init(&q->room, NULL)) != 0) {
        pthread_cond_destroy(&q->work);
        pthread_mutex_destroy(&q->lock);
        return rc;
    }
    if ((rc = pthread_create(&q->thread, NULL, writer_main, q)) != 0) {
        pthread_cond_destroy(&q->room);
        pthread_cond_destroy(&q->work);
        pthread_mutex_destroy(&q->lock);
        return rc;
    }
    q->running = 1;
    return 0;
}

/* Called with the lock held (or after the thread ended). */
static int report(targz_queue *q, targz_fault *fault)
{
    if (!q->failed)
        return 0;
    if (fault)
        *fault = q->fault;
    return -1;
}

int targz_queue_push(targz_queue *q, targz_entry *e, targz_fault *fault)
{
    if (!q->running) {
        targz_entry_free(e);
        if (report(q, fault) == 0 && fault) {
            fault->kind = MP_ERR_INTERNAL;
            strcpy(fault->text, "the archive writer has stopped");
        }
        return -1;
    }
    e->next = NULL;
    e->weight = entry_weight(e);
    pthread_mutex_lock(&q->lock);
    /* An empty queue takes any entry, so one bigger than max_bytes
     * cannot wait for ever. */
    while (!q->failed && q->in_flight > 0 &&
           q->in_flight + e->weight > q->max_bytes) {
        if (q->writer_idle) /* it must run for room to appear */
            pthread_cond_signal(&q->work);
        q->producer_waiting = 1;
        pthread_cond_wait(&q->room, &q->lock);
        q->producer_waiting = 0;
    }
    if (report(q, fault) != 0) {
        pthread_mutex_unlock(&q->lock);
        targz_entry_free(e);
        return -1;
    }
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->in_flight += e->weight;
    q->queued++;
    if (q->writer_idle && (q->in_flight >= TARGZ_QUEUE_WAKE_BYTES ||
                           q->queued >= TARGZ_QUEUE_WAKE_COUNT))
        pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int targz_queue_check(targz_queue *q, targz_fault *fault)
{
    if (!q->running)
        return report(q, fault);
    pthread_mutex_lock(&q->lock);
    int rc = report(q, fault);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

size_t targz_queue_in_flight(targz_queue *q)
{
    if (!q->running)
        return 0;
    pthread_mutex_lock(&q->lock);
    size_t n = q->in_flight;
    pthread_mutex_unlock(&q->lock);
    return n;
}

static void stop(targz_queue *q, int discard)
{
    if (!q->running)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    if (discard)
        q->discard = 1;
    pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->lock);
    pthread_join(q->thread, NULL);
    q->running = 0;
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->lock);
}

int targz_queue_drain(targz_queue *q, targz_fault *fault)
{
    return targz_queue_drain_unless(q, fault, NULL, NULL);
}

int targz_queue_drain_unless(targz_queue *q, targz_fault *fault,
                             int (*give_up)(void *ctx), void *ctx)
{
    if (q->running && give_up) {
        /* Wake the writer for everything queued, and look at GIVE_UP
         * whenever it finishes an entry (it signals room while a producer
         * waits) or every 100 ms. */
        pthread_mutex_lock(&q->lock);
        pthread_cond_signal(&q->work);
        while (q->in_flight > 0 && !q->failed) {
            if (give_up(ctx)) {
                pthread_mutex_unlock(&q->lock);
                stop(q, 1);
                return 1;
            }
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_nsec += 100 * 1000 * 1000;
            if (t.tv_nsec >= 1000000000) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000;
            }
            q->producer_waiting = 1;
            pthread_cond_timedwait(&q->room, &q->lock, &t);
            q->producer_waiting = 0;
        }
        pthread_mutex_unlock(&q->lock);
    }
    stop(q, 0);
    return report(q, fault);
}

void targz_queue_cancel(targz_queue *q)
{
    stop(q, 1);
}
