#ifndef MP_TARGZ_SINK_H
#define MP_TARGZ_SINK_H

#include <mailport/plugin.h>

extern const mp_sink_ops targz_sink_ops;

/* The probe_sink slot of the source ops (plugin.h): the checks of the
 * sink's open and open_folder, making nothing (no temporary, no stale
 * temporaries removed, no passphrase asked for). */
mp_status targz_probe_sink(mp_host *host, const mp_endpoint *ep,
                           const char *folder);

/* For the archive series (series.h), which writes through this sink. */

/* Add a file NAME (a path inside the archive, e.g. at the root) holding
 * the LEN bytes at DATA (copied) to the open archive STORE. Returns MP_OK,
 * or the failure the next message would meet (the error set). */
mp_status targz_sink_add_file(void *store, const char *name, const void *data,
                              size_t len);

/* After finish() succeeded: the SHA-256 (64 lower-case hex digits) of the
 * archive file's bytes as written. NULL before. */
const char *targz_sink_file_sha256(const void *store);

/* Whether BASE (a file name) is a target whose temporaries are to go. */
typedef int (*targz_target_fn)(const char *base, void *ctx);

/* Remove from DIR every ".<BASE>.tmp-<pid>-<hex>" a killed writer left
 * (its pid is no live process and nobody holds its lock) for each BASE
 * that IS_TARGET accepts; an older mailport's ".<BASE>.tmp-<hex>" is only
 * reported (HOST's log, naming DISPLAY). */
void targz_remove_stale_temps(mp_host *host, const char *display,
                              const char *dir, targz_target_fn is_target,
                              void *ctx);

#endif
