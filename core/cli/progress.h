/* A one-line progress display on stderr while a copy runs. */
#ifndef MP_PROGRESS_H
#define MP_PROGRESS_H

#include "report.h"

typedef struct mp_progress mp_progress;

/* Start redrawing the line from REPORT's counters every quarter second.
 * Returns NULL (and shows nothing) when stderr is not a terminal, unless
 * FORCE is set. */
mp_progress *mp_progress_start(const mp_report *report, int force);

/* Stop and erase the line. NULL is ignored. */
void mp_progress_stop(mp_progress *p);

#endif
