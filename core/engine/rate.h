/* Keeping a destination account under a transfer rate
 * (--max-messages-per-second, --max-bytes-per-second), for hosts with a
 * daily upload quota. One limiter per destination account, shared by every
 * worker thread (and batch job) of the process that writes to it. */
#ifndef MP_RATE_H
#define MP_RATE_H

#include <stdint.h>

typedef struct mp_rate mp_rate;

/* The limiter of destination ACCOUNT (any string naming the account, e.g.
 * its URL; never shown), made on first use with at most MSGS_PER_S
 * messages and BYTES_PER_S bytes a second (0: no limit of that kind). NULL
 * when both are 0: nothing to keep under. Lives until the process ends. */
mp_rate *mp_rate_for(const char *account, double msgs_per_s,
                     uint64_t bytes_per_s);

/* Wait, if need be, until a message of BYTES may go to the destination
 * without exceeding either rate, and take its share. Messages are spaced
 * evenly (no burst): the nth message of a run at R a second goes no sooner
 * than (n-1)/R seconds after the first; a message of B bytes delays the
 * next one by B/BYTES_PER_S. Returns the milliseconds this call waited.
 * A stop asked for (mp_interrupted) ends the wait early. */
uint64_t mp_rate_take(mp_rate *r, uint64_t bytes);

#endif
