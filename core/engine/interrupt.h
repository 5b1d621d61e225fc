/* A clean stop on SIGINT, SIGTERM and SIGHUP for the commands that change a
 * destination (copy, batch): the first signal asks the run to stop between
 * messages (what the destination made durable is recorded in the sync
 * state, temporaries are removed, the run says how to resume); a second
 * one ends the process at once, which the sinks survive as they survive
 * kill -9. */
#ifndef MP_INTERRUPT_H
#define MP_INTERRUPT_H

#include <stdint.h>

/* Install the handlers (idempotent). */
void mp_interrupt_install(void);

/* The signal that asked the run to stop, or 0. Safe from any thread. */
int mp_interrupted(void);

/* The exit status for a run stopped by SIGNO: 128 + SIGNO, as a shell
 * reports a process killed by it (130 for Ctrl-C, 143 for SIGTERM). */
int mp_interrupt_exit_code(int signo);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mp_monotonic_ns(void);
/* Sleep until mp_monotonic_ns() reaches UNTIL_NS, or less when a stop is
 * asked for meanwhile (waits for rate limits and throttling servers must
 * not keep a Ctrl-C waiting). */
void mp_sleep_until_ns(int64_t until_ns);

#endif
