#include "progress.h"

#include "throttle.h"
#include "transfer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct mp_progress {
    const mp_report *report;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    struct timespec start;
    uint64_t base_messages, base_bytes; /* streamed before this run */
};

/* Columns of the terminal on stderr: the line is cut to fit, since a line
 * that wraps can no longer be redrawn in place. */
static int columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* "1:02:03" or "2:03". */
static void format_duration(double secs, char *out, size_t size)
{
    unsigned long s = secs > 0 ? (unsigned long)(secs + 0.5) : 0;
    if (s >= 3600)
        snprintf(out, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%lu:%02lu", s / 60, s % 60);
}

/* The line: messages handed to the destination so far against those
 * planned (it moves with every message; "copied" counts only what the
 * destination made durable, batch by batch), the rate, and an estimate of
 * the time left once there is a rate to go by. */
static void draw(const mp_progress *p)
{
    const mp_report *r = p->report;
    unsigned long long copied = mp_report_total(r, MP_COUNT_COPIED),
                       failed = mp_report_total(r, MP_COUNT_FAILED),
                       planned = mp_report_total(r, MP_COUNT_PLANNED),
                       present = mp_report_total(r, MP_COUNT_SKIPPED);
    uint64_t sent, bytes;
    mp_transfer_streamed(&sent, &bytes);
    sent -= p->base_messages;
    bytes -= p->base_bytes;
    if (sent < copied)
        sent = copied;
    /* Planned counts grow as folders are planned; what was handed over
     * may briefly pass a folder's plan while the next one is scanned. */
    if (planned < sent + failed)
        planned = sent + failed;
    double secs = seconds_since(&p->start);
    double rate = secs > 1 ? (double)sent / secs : 0;
    char line[512];
    int n = snprintf(line, sizeof line, "mailport: %llu/%llu sent (%.1f MB",
                     (unsigned long long)sent, planned, (double)bytes / 1e6);
    if (rate > 0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n,
                      ", %.0f msg/s, %.1f MB/s", rate,
                      (double)bytes / 1e6 / secs);
    if (n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n,
                      "), %llu copied, %llu present, %llu failed", copied,
                      present, failed);
    if (rate > 0 && planned > sent + failed && n > 0 &&
        (size_t)n < sizeof line) {
        char eta[32];
        format_duration((double)(planned - sent - failed) / rate, eta,
                        sizeof eta);
        n += snprintf(line + n, sizeof line - (size_t)n, ", %s left", eta);
    }
    /* A server that asked to slow down: say so, or the line looks stuck. */
    uint64_t pause = mp_throttle_remaining_ms();
    if (pause && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n,
                      ", throttled by the server: retrying in %.0f s",
                      (double)pause / 1000.0 + 0.5);
    int width = columns() - 1;
    if (width < (int)sizeof line)
        line[width] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
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
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    mp_transfer_streamed(&p->base_messages, &p->base_bytes);
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

void mp_progress_print_line(const char *text)
{
    if (!isatty(STDERR_FILENO)) {
        fprintf(stderr, "%s\n", text);
        return;
    }
    /* Broken after ", " where the terminal would cut a word in two. */
    size_t width = (size_t)columns(), col = 0;
    while (*text) {
        const char *comma = strstr(text, ", ");
        size_t piece = comma ? (size_t)(comma - text) + 1 : strlen(text);
        if (col > 0 && col + 1 + piece > width) {
            fputs("\n ", stderr);
            col = 1;
        } else if (col > 0) {
            fputc(' ', stderr);
            col++;
        }
        fwrite(text, 1, piece, stderr);
        col += piece;
        text += piece;
        if (*text == ' ')
            text++;
    }
    fputc('\n', stderr);
}
