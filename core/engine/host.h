/* The core's implementation of mp_host: one per open store, carrying that
 * store's parameters and its last error. */
#ifndef MP_HOST_H
#define MP_HOST_H

#include "endpoint.h"

#include <mailport/plugin.h>

typedef struct mp_core_host {
    mp_host pub;
    mp_url *url; /* borrowed: the endpoint whose params we serve */
    mp_error_kind err_kind;
    char err[2048];
} mp_core_host;

/* A host serving URL's parameters. URL must outlive the host. */
void mp_host_init(mp_core_host *h, mp_url *url);

/* Clear the last error. */
void mp_host_clear_error(mp_core_host *h);

#endif
