#include "progress.h"

#include "escape.h"
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
    mp_report *report;
    char *label; /* NULL for none */
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

/* One part of the line: its text and how much it is needed (0 most). */
typedef struct part {
    char text[160];
    int need;
} part;

/* The line for a terminal COLS wide: parts in their order, each kept or
 * left out whole, the most needed first while they fit, so a narrow
 * terminal gets a shorter line, not a cut one. */
static void fit_parts(const part *parts, size_t n, int cols, char *out,
                      size_t size)
{
    static const char lead[] = "mailport: ";
    int keep[16] = {0};
    int width = (int)strlen(lead);
    for (int need = 0; need < 8; need++)
        for (size_t i = 0; i < n && i < 16; i++) {
            int len = (int)strlen(parts[i].text);
            if (parts[i].need != need || !len)
                continue;
            int sep = width > (int)strlen(lead) ? 2 : 0; /* ", " */
            if (width + sep + len <= cols || need == 0) {
                keep[i] = 1;
                width += sep + len;
            }
        }
    size_t w = (size_t)snprintf(out, size, "%s", lead);
    int first = 1;
    for (size_t i = 0; i < n && i < 16 && w < size; i++) {
        if (!keep[i])
            continue;
        w += (size_t)snprintf(out + w, size - w, "%s%s", first ? "" : ", ",
                              parts[i].text);
        first = 0;
    }
    if ((int)strlen(out) > cols) /* not even the counts fit: cut */
        out[cols > 0 ? cols : 0] = '\0';
}

/* Messages handed to the destination so far against those planned (it
 * moves with every message; "copied" counts only what the destination
 * made durable, batch by batch), the rate, and an estimate of the time
 * left once there is a rate to go by. */
static void draw(const mp_progress *p)
{
    mp_report *r = p->report;
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
    char folder[128];
    int at_work = mp_report_current(r, folder, sizeof folder);

    part parts[10];
    size_t n = 0;
    if (p->label) {
        snprintf(parts[n].text, sizeof parts[n].text, "%.120s",
                 mp_show_name(p->label).s);
        parts[n++].need = 4;
    }
    snprintf(parts[n].text, sizeof parts[n].text, "%llu/%llu sent",
             (unsigned long long)sent, planned);
    parts[n++].need = 0;
    /* A server that asked to slow down: say so, or the line looks stuck. */
    uint64_t pause = mp_throttle_remaining_ms();
    parts[n].text[0] = '\0';
    if (pause)
        snprintf(parts[n].text, sizeof parts[n].text,
                 "throttled by the server: retrying in %.0f s",
                 (double)pause / 1000.0 + 0.5);
    parts[n++].need = 1;
    parts[n].text[0] = '\0';
    if (at_work > 1)
        snprintf(parts[n].text, sizeof parts[n].text, "%.120s and %d more",
                 mp_show_name(folder).s, at_work - 1);
    else if (at_work == 1)
        snprintf(parts[n].text, sizeof parts[n].text, "%.120s",
                 mp_show_name(folder).s);
    parts[n++].need = 3;
    snprintf(parts[n].text, sizeof parts[n].text, "%.1f MB",
             (double)bytes / 1e6);
    parts[n++].need = 5;
    parts[n].text[0] = '\0';
    if (rate > 0)
        snprintf(parts[n].text, sizeof parts[n].text, "%.0f msg/s", rate);
    parts[n++].need = 2;
    parts[n].text[0] = '\0';
    if (rate > 0)
        snprintf(parts[n].text, sizeof parts[n].text, "%.1f MB/s",
                 (double)bytes / 1e6 / secs);
    parts[n++].need = 6;
    parts[n].text[0] = '\0';
    if (rate > 0 && planned > sent + failed) {
        char eta[32];
        format_duration((double)(planned - sent - failed) / rate, eta,
                        sizeof eta);
        snprintf(parts[n].text, sizeof parts[n].text, "%s left", eta);
    }
    parts[n++].need = 2;
    snprintf(parts[n].text, sizeof parts[n].text, "%llu copied, %llu present",
             copied, present);
    parts[n++].need = 7;
    snprintf(parts[n].text, sizeof parts[n].text, "%llu failed", failed);
    parts[n++].need = failed ? 1 : 7;
    char line[1024];
    fit_parts(parts, n, columns() - 1, line, sizeof line);
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

mp_progress *mp_progress_start(mp_report *report, int force, const char *label)
{
    if (!force && !isatty(STDERR_FILENO))
        return NULL;
    mp_progress *p = calloc(1, sizeof *p);
    p->report = report;
    p->label = label ? strdup(label) : NULL;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    mp_transfer_streamed(&p->base_messages, &p->base_bytes);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        free(p->label);
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
    free(p->label);
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
