/* Waiting out a server that asked the run to slow down (throttling
 * replies, see mp_host.throttled in plugin.h): how long to wait before a
 * retry, when to give up, and what the progress display shows meanwhile. */
#ifndef MP_THROTTLE_H
#define MP_THROTTLE_H

#include <stdint.h>

/* Back-off when the server names no pause: from the first wait, doubling
 * up to the cap. A suggested pause is taken as it is, but never longer
 * than the cap. After MP_THROTTLE_GIVE_UP_MS of waiting for one folder
 * the folder is given up; $MAILPORT_THROTTLE_GIVE_UP (whole seconds, 1 to
 * 86400) sets another bound: longer for a host known to throttle for
 * hours, shorter where a folder had better fail soon and be retried by
 * the next run. */
#define MP_THROTTLE_FIRST_MS 1000
#define MP_THROTTLE_CAP_MS (5 * 60 * 1000)
#define MP_THROTTLE_GIVE_UP_MS (30 * 60 * 1000)

/* One folder's throttling so far (zero-initialise). */
typedef struct mp_throttle {
    uint64_t waited_ms;  /* in all, for this folder */
    uint64_t backoff_ms; /* the next unsuggested wait; 0: the first */
    unsigned times;      /* throttling replies seen */
    uint64_t next_ms;    /* the wait mp_throttle_next chose last */
} mp_throttle;

/* The wait before the next retry after a throttling reply that suggested
 * SUGGESTED_MS (0: none). Returns 0 and sets *WAIT_MS, or -1 when the
 * folder has been throttled for longer than MP_THROTTLE_GIVE_UP_MS. */
int mp_throttle_next(mp_throttle *t, uint64_t suggested_ms, uint64_t *wait_ms);

/* The bound on one folder's waiting, in ms: $MAILPORT_THROTTLE_GIVE_UP or
 * MP_THROTTLE_GIVE_UP_MS (with a warning, once, for a value out of range). */
uint64_t mp_throttle_give_up_ms(void);

/* Sleep WAIT_MS (ending early on a stop asked for, mp_interrupted),
 * meanwhile visible through mp_throttle_remaining_ms. Returns the
 * milliseconds slept, also added to T->waited_ms. Safe from any thread. */
uint64_t mp_throttle_sleep(mp_throttle *t, uint64_t wait_ms);

/* Milliseconds left of the longest throttling wait under way in this
 * process, 0 when none: for the progress display. */
uint64_t mp_throttle_remaining_ms(void);

#endif
