/* Throttling waits: the policy (the server's suggestion, else doubling
 * back-off, both capped, and a bound on the total) and a process-wide
 * "waiting until" for the progress line. */
#include "throttle.h"

#include "interrupt.h"

#include <stdatomic.h>

/* The end of the latest wait under way (CLOCK_MONOTONIC, ns); 0: none. */
static _Atomic int64_t waiting_until;

int mp_throttle_next(mp_throttle *t, uint64_t suggested_ms, uint64_t *wait_ms)
{
    t->times++;
    if (t->waited_ms >= MP_THROTTLE_GIVE_UP_MS)
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
