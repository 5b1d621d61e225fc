#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct mp_progress {
    const mp_report *report;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
};

static void draw(const mp_progress *p)
{
    const mp_report *r = p->report;
    unsigned long long copied = mp_report_total(r, MP_COUNT_COPIED),
                       failed = mp_report_total(r, MP_COUNT_FAILED),
                       planned = mp_report_total(r, MP_COUNT_PLANNED),
                       present = mp_report_total(r, MP_COUNT_SKIPPED),
                       bytes = mp_report_total(r, MP_COUNT_BYTES);
    /* Planned counts grow as folders are planned; copied may briefly pass
     * a folder's plan while the next folder is being scanned. */
    if (planned < copied + failed)
        planned = copied + failed;
    fprintf(stderr,
            "\r\033[Kmailport: %llu/%llu copied (%.1f MB), %llu present, "
            "%llu failed",
            copied, planned, bytes / 1e6, present, failed);
    fflush(stderr);
}

static void *run(void *arg)
{
    mp_progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
        if (!p->stopping)
            draw(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

mp_progress *mp_progress_start(const mp_report *report, int force)
{
    if (!force && !isatty(STDERR_FILENO))
        return NULL;
    mp_progress *p = calloc(1, sizeof *p);
    p->report = report;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void mp_progress_stop(mp_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    fputs("\r\033[K", stderr);
    fflush(stderr);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
