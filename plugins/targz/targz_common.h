/* Pieces the targz sink and source share. */
#ifndef MP_TARGZ_COMMON_H
#define MP_TARGZ_COMMON_H

#include "age.h"

#include <mailport/plugin.h>

#include <stddef.h>

typedef enum targz_compression {
    TARGZ_GZIP,
    TARGZ_ZSTD,
    TARGZ_PLAIN, /* ".tar": no compression */
} targz_compression;

/* From the archive's file name: the compression (.tar.gz/.tgz, .tar.zst/
 * .tzst, .tar) and whether it is age-encrypted (a final .age). Returns 0,
 * or -1 for a name with none of these endings. */
int targz_name_kind(const char *path, targz_compression *comp, int *age);

/* Map an age error onto the ABI's kinds. */
mp_error_kind targz_age_kind(age_err kind);

/* Load recipient= (repeatable) and recipients_file= (repeatable) into KR.
 * Returns MP_OK or MP_FATAL with the error set. */
mp_status targz_load_recipients(mp_host *host, const char *display,
                                age_keyring *kr);

/* Load identity= (repeatable, each an identity file) into KR. */
mp_status targz_load_identities(mp_host *host, const char *display,
                                age_keyring *kr);

/* Whether any of passphrase_file / passphrase_env / passphrase_cmd was
 * given (asking for all three, so none is reported as unknown). */
int targz_passphrase_given(mp_host *host);

/* An encrypted archive opened with no identity in IDS and no passphrase
 * parameter cannot be read, whatever it holds: sets a usage error naming
 * the parameters that open it and returns MP_FATAL; else MP_OK. Called
 * before any of the archive is read. */
mp_status targz_require_key(mp_host *host, const age_keyring *ids);

/* The directory part of PATH ("." when none); malloc'd. */
char *targz_dirname(const char *path);

#endif
