/* A one-line progress display on stderr while a copy runs. */
#ifndef MP_PROGRESS_H
#define MP_PROGRESS_H

#include "report.h"

typedef struct mp_progress mp_progress;

/* Start redrawing the line from REPORT's counters (and the messages handed
 * to sinks so far, mp_transfer_streamed) every quarter second: messages
 * handed over of those planned, the job's LABEL (batch: "job 3: DEST";
 * NULL for none), the folder at work, bytes, rate, time left once there
 * is a rate, and a throttling server's wait. Made to fit the terminal's
 * width by leaving out the least needed parts whole (never cut inside
 * one, never wrapped). Returns NULL (and shows nothing) when stderr is not
 * a terminal, unless FORCE is set. */
mp_progress *mp_progress_start(mp_report *report, int force,
                               const char *label);

/* Stop and erase the line. NULL is ignored. */
void mp_progress_stop(mp_progress *p);

/* Print TEXT and a newline on stderr; on a terminal narrower than TEXT,
 * broken after a ", " rather than inside a word. */
void mp_progress_print_line(const char *text);

#endif
