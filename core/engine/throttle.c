/* Throttling waits: the policy (the server's suggestion, else doubling
 * back-off, both capped, and a bound on the total) and a process-wide
 * "waiting until" for the progress line. */
#include "throttle.h"

#include "interrupt.h"
#include "log.h"

#include <mailport/plugin.h>

#include <stdatomic.h>
#include <stdlib.h>

/* The end of the latest wait under way (CLOCK_MONOTONIC, ns); 0: none. */
static _Atomic int64_t waiting_until;

#define GIVE_UP_MAX_SECONDS 86400

uint64_t mp_throttle_give_up_ms(void)
{
    static atomic_int warned;
    const char *v = getenv("MAILPORT_THROTTLE_GIVE_UP");
    if (!v || !*v)
        return MP_THROTTLE_GIVE_UP_MS;
    char *end;
    long s = strtol(v, &end, 10);
    if (*end || end == v || s < 1 || s > GIVE_UP_MAX_SECONDS) {
        if (!atomic_exchange(&warned, 1))
            mp_warn("MAILPORT_THROTTLE_GIVE_UP=%s is not a number of seconds "
                    "from 1 to %d; a throttled folder is given up after %d s",
                    v, GIVE_UP_MAX_SECONDS, MP_THROTTLE_GIVE_UP_MS / 1000);
        return MP_THROTTLE_GIVE_UP_MS;
    }
    return (uint64_t)s * 1000;
}

int mp_throttle_next(mp_throttle *t, uint64_t suggested_ms, uint64_t *wait_ms)
{
    t->times++;
    if (t->waited_ms >= mp_throttle_give_up_ms())
        return -1;
    uint64_t w;
    if (suggested_ms) {
        w = suggested_ms;
    } else {
        w = t->backoff_ms ? t->backoff_ms : MP_THROTTLE_FIRST_MS;
        t->backoff_ms = w * 2 > MP_THROTTLE_CAP_MS ? MP_THROTTLE_CAP_MS : w * 2;
    }
    if (w > MP_THROTTLE_CAP_MS)
        w = MP_THROTTLE_CAP_MS;
    *wait_ms = w;
    return 0;
}

uint64_t mp_throttle_sleep(mp_throttle *t, uint64_t wait_ms)
{
    int64_t start = mp_monotonic_ns(), end = start + (int64_t)wait_ms * 1000000;
    int64_t prev = atomic_load(&waiting_until);
    while (prev < end &&
           !atomic_compare_exchange_weak(&waiting_until, &prev, end))
        ;
    mp_sleep_until_ns(end);
    uint64_t slept = (uint64_t)((mp_monotonic_ns() - start) / 1000000);
    t->waited_ms += slept;
    return slept;
}

uint64_t mp_throttle_remaining_ms(void)
{
    int64_t left = atomic_load(&waiting_until) - mp_monotonic_ns();
    return left > 0 ? (uint64_t)(left / 1000000) : 0;
}
