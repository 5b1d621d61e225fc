/* Transfer rate limits: a virtual clock per destination account. Each
 * message reserves its slot (the later of now and the end of the previous
 * message's slot, plus its own length in time) under a lock, then sleeps
 * outside it until its slot starts, so worker threads share the rate
 * without holding each other up longer than the rate asks. */
#include "rate.h"

#include "interrupt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct mp_rate {
    struct mp_rate *next;
    char *account;
    double msgs_per_s;
    uint64_t bytes_per_s;
    pthread_mutex_t lock;
    int64_t next_ns; /* when the next message may start; 0: at once */
};

/* Every limiter of the process, found by account; never freed (reachable
 * until exit, like the plugin registry). */
static pthread_mutex_t limiters_lock = PTHREAD_MUTEX_INITIALIZER;
static mp_rate *limiters;

mp_rate *mp_rate_for(const char *account, double msgs_per_s,
                     uint64_t bytes_per_s)
{
    if (msgs_per_s <= 0 && bytes_per_s == 0)
        return NULL;
    if (!account)
        account = "";
    pthread_mutex_lock(&limiters_lock);
    mp_rate *r = limiters;
    while (r && strcmp(r->account, account) != 0)
        r = r->next;
    if (!r && (r = calloc(1, sizeof *r))) {
        r->account = strdup(account);
        if (!r->account) {
            free(r);
            r = NULL;
        } else {
            r->msgs_per_s = msgs_per_s;
            r->bytes_per_s = bytes_per_s;
            pthread_mutex_init(&r->lock, NULL);
            r->next = limiters;
            limiters = r;
        }
    }
    pthread_mutex_unlock(&limiters_lock);
    return r;
}

uint64_t mp_rate_take(mp_rate *r, uint64_t bytes)
{
    if (!r)
        return 0;
    double slot_s = 0;
    if (r->msgs_per_s > 0)
        slot_s = 1.0 / r->msgs_per_s;
    if (r->bytes_per_s && (double)bytes / (double)r->bytes_per_s > slot_s)
        slot_s = (double)bytes / (double)r->bytes_per_s;
    int64_t start = mp_monotonic_ns(), begin = start;
    pthread_mutex_lock(&r->lock);
    if (r->next_ns > begin)
        begin = r->next_ns;
    r->next_ns = begin + (int64_t)(slot_s * 1e9);
    pthread_mutex_unlock(&r->lock);
    mp_sleep_until_ns(begin);
    int64_t waited = mp_monotonic_ns() - start;
    return waited > 0 ? (uint64_t)(waited / 1000000) : 0;
}
