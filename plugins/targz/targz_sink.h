#ifndef MP_TARGZ_SINK_H
#define MP_TARGZ_SINK_H

#include <mailport/plugin.h>

extern const mp_sink_ops targz_sink_ops;

/* The probe_sink slot of the source ops (plugin.h): the checks of the
 * sink's open and open_folder, making nothing (no temporary, no stale
 * temporaries removed, no passphrase asked for). */
mp_status targz_probe_sink(mp_host *host, const mp_endpoint *ep,
                           const char *folder);

#endif
