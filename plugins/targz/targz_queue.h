/* The archive writer thread and the bounded queue that feeds it.
 *
 * Compressing (gzip runs at ~68 MB/s on one core) costs more than reading,
 * hashing and holding the mail, so the sink hands each finished entry to a
 * second thread that writes tar, compression and age while the core reads
 * the next messages. The queue holds at most max_bytes of entries (their
 * held memory, or their spill-file size), so memory stays bounded however
 * far the reader runs ahead; one entry larger than that still passes once
 * the queue is empty.
 *
 * Wake-ups are batched both ways, since a futex wake and a context switch
 * per message cost as much as the message: an idle writer is woken once
 * TARGZ_QUEUE_WAKE_BYTES or TARGZ_QUEUE_WAKE_COUNT have gathered (or the
 * producer has to wait, or the queue is stopped), and a waiting producer
 * once the queue has drained to half of max_bytes (or is empty).
 *
 * The writer cannot report through the host (the host belongs to the
 * store's thread), so a failure is kept as a targz_fault: the first one
 * wins, every later entry is dropped unwritten, and the producer learns of
 * it at its next push / check / drain. */
#ifndef MP_TARGZ_QUEUE_H
#define MP_TARGZ_QUEUE_H

#include "targz_spool.h"

#include <mailport/plugin.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* 32 MiB in flight: about 8,000 ordinary messages, far more than the
 * writer needs to stay busy, and small beside the spill threshold. */
#define TARGZ_QUEUE_MAX_BYTES (32u << 20)
#define TARGZ_QUEUE_WAKE_BYTES (1u << 20)
#define TARGZ_QUEUE_WAKE_COUNT 256

typedef struct targz_entry {
    struct targz_entry *next;
    char *path;
    int dir;
    int64_t mtime;
    targz_spool data; /* a file's content (empty for a directory) */
    size_t weight;    /* what it counts against max_bytes */
} targz_entry;

typedef struct targz_fault {
    mp_error_kind kind;
    char text[1536];
} targz_fault;

/* Writes one entry into the archive, on the writer thread. Returns 0, or
 * -1 with FAULT filled (naming the archive and the entry). */
typedef int (*targz_entry_writer)(void *ctx, targz_entry *e,
                                  targz_fault *fault);

typedef struct targz_queue {
    pthread_mutex_t lock;
    pthread_cond_t work; /* an entry arrived, or stop */
    pthread_cond_t room; /* an entry was written */
    targz_entry *head, *tail;
    size_t in_flight, max_bytes;
    size_t queued;        /* entries not yet taken by the writer */
    int writer_idle;      /* the writer waits on work */
    int producer_waiting; /* the producer waits on room */
    int running;          /* the thread exists (start .. drain/cancel) */
    int stopping, discard;
    int failed;
    targz_fault fault;
    targz_entry_writer write;
    void *ctx;
    pthread_t thread;
} targz_queue;

/* A new entry for PATH (a spool in TMP_DIR, which must outlive it), or
 * NULL when out of memory. */
targz_entry *targz_entry_new(const char *path, int dir, int64_t mtime,
                             const char *tmp_dir);
void targz_entry_free(targz_entry *e);

/* Start the writer thread on a zeroed Q. Returns 0 or an errno value. */
int targz_queue_start(targz_queue *q, size_t max_bytes,
                      targz_entry_writer write, void *ctx);

/* Hand E to the writer (the queue owns it from here, whatever the result),
 * waiting while the bytes in flight would pass max_bytes. Returns 0, or -1
 * with *FAULT filled when the writer has failed. */
int targz_queue_push(targz_queue *q, targz_entry *e, targz_fault *fault);

/* 0, or -1 with *FAULT filled when the writer has failed. Never waits. */
int targz_queue_check(targz_queue *q, targz_fault *fault);

/* Bytes queued or being written now (what max_bytes bounds). */
size_t targz_queue_in_flight(targz_queue *q);

/* Wait until every pushed entry is written, then end the thread. Returns
 * as targz_queue_check. Afterwards the caller owns what the writer used. */
int targz_queue_drain(targz_queue *q, targz_fault *fault);

/* As targz_queue_drain, but GIVE_UP(CTX) is asked after each entry written
 * and every 100 ms; once it returns nonzero the thread is ended at once
 * as by targz_queue_cancel (the entry being written completes, the rest is
 * dropped) and 1 is returned. */
int targz_queue_drain_unless(targz_queue *q, targz_fault *fault,
                             int (*give_up)(void *ctx), void *ctx);

/* End the thread at once, dropping entries not yet written. Safe on a
 * queue never started or already ended. */
void targz_queue_cancel(targz_queue *q);

#endif
