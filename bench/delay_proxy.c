/* delay_proxy: a TCP relay on 127.0.0.1 that holds every chunk it relays for
 * a fixed delay, each way, to show what a link with that latency does to a
 * protocol (a 10 ms delay each way is a 20 ms round trip). Bandwidth is not
 * limited: only latency is added, so a client that pipelines keeps its
 * throughput and one that waits for each reply does not.
 *
 *   delay_proxy LISTEN_PORT TARGET_PORT DELAY_MS
 *
 * Benchmark tool only: it serves loopback, relays until killed, and is
 * built by the bench scripts with `cc -O2 -pthread`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct chunk {
    struct chunk *next;
    struct timespec due;
    size_t len;
    char data[];
} chunk;

typedef struct direction {
    int from, to;
    long delay_ns;
    pthread_mutex_t lock;
    pthread_cond_t ready;
    chunk *head, *tail;
    int closed;
} direction;

static void add_ns(struct timespec *t, long ns)
{
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Reads and timestamps; the chunk leaves DELAY after it arrived. */
static void *reader(void *arg)
{
    direction *d = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(d->from, buf, sizeof buf);
        pthread_mutex_lock(&d->lock);
        if (n <= 0) {
            d->closed = 1;
            pthread_cond_signal(&d->ready);
            pthread_mutex_unlock(&d->lock);
            return NULL;
        }
        chunk *c = malloc(sizeof *c + (size_t)n);
        c->next = NULL;
        c->len = (size_t)n;
        memcpy(c->data, buf, (size_t)n);
        clock_gettime(CLOCK_MONOTONIC, &c->due);
        add_ns(&c->due, d->delay_ns);
        if (d->tail)
            d->tail->next = c;
        else
            d->head = c;
        d->tail = c;
        pthread_cond_signal(&d->ready);
        pthread_mutex_unlock(&d->lock);
    }
}

static void *writer(void *arg)
{
    direction *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        while (!d->head && !d->closed)
            pthread_cond_wait(&d->ready, &d->lock);
        chunk *c = d->head;
        if (!c) {
            pthread_mutex_unlock(&d->lock);
            shutdown(d->to, SHUT_WR);
            return NULL;
        }
        d->head = c->next;
        if (!d->head)
            d->tail = NULL;
        pthread_mutex_unlock(&d->lock);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &c->due, NULL);
        for (size_t off = 0; off < c->len;) {
            ssize_t n = write(d->to, c->data + off, c->len - off);
            if (n <= 0) {
                free(c);
                return NULL;
            }
            off += (size_t)n;
        }
        free(c);
    }
}

static void start_direction(int from, int to, long delay_ns)
{
    direction *d = calloc(1, sizeof *d);
    d->from = from;
    d->to = to;
    d->delay_ns = delay_ns;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->ready, NULL);
    pthread_t t;
    pthread_create(&t, NULL, reader, d);
    pthread_detach(t);
    pthread_create(&t, NULL, writer, d);
    pthread_detach(t);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr,
                "usage: delay_proxy LISTEN_PORT TARGET_PORT DELAY_MS\n");
        return 2;
    }
    int listen_port = atoi(argv[1]), target_port = atoi(argv[2]);
    long delay_ns = atol(argv[3]) * 1000000L;
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)listen_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64)) {
        perror("delay_proxy: listen");
        return 1;
    }
    for (;;) {
        int client = accept(ls, NULL, NULL);
        if (client < 0)
            continue;
        int server = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in t = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)target_port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (connect(server, (struct sockaddr *)&t, sizeof t) != 0) {
            close(client);
            close(server);
            continue;
        }
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        start_direction(client, server, delay_ns);
        start_direction(server, client, delay_ns);
    }
}
