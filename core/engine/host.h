/* The core's implementation of mp_host: one per open store, carrying that
 * store's parameters and its last error. */
#ifndef MP_HOST_H
#define MP_HOST_H

#include "endpoint.h"
#include "oauth2.h"

#include <mailport/plugin.h>

typedef struct mp_core_host {
    mp_host pub;
    mp_url *url; /* borrowed: the endpoint whose params we serve */
    mp_error_kind err_kind;
    char err[2048];
    /* The last failure was a throttling reply (mp_host.throttled), with
     * the pause the server suggested (0: none); see mp_host_take_throttle. */
    int throttled;
    uint64_t throttle_ms;
    /* The last secret("token") came from the OAuth2 refresh flow
     * (oauth2_* parameters): which token, for mp_host_oauth2_refused. */
    int oauth2_served;
    mp_oauth2_ticket oauth2;
} mp_core_host;

/* A host serving URL's parameters. URL must outlive the host. */
void mp_host_init(mp_core_host *h, mp_url *url);

/* Clear the last error. */
void mp_host_clear_error(mp_core_host *h);

/* Did the store's last failure come from a server asking to slow down?
 * Returns 1 with *SUGGESTED_MS (0: no pause named) and forgets it, else 0. */
int mp_host_take_throttle(mp_core_host *h, uint64_t *suggested_ms);

/* The store's open failed: was it a login refused with an OAuth2 access
 * token from the cache? Then the token is dropped and 1 returned: opening
 * again logs in with a new one. 0 otherwise (and after a token new from
 * the endpoint was refused). */
int mp_host_oauth2_refused(mp_core_host *h);

#endif
