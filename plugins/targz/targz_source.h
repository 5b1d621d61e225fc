#ifndef MP_TARGZ_SOURCE_H
#define MP_TARGZ_SOURCE_H

#include <mailport/plugin.h>

#include <stddef.h>

extern const mp_source_ops targz_source_ops;

/* The root files an archive of a series holds beside its Maildir
 * (series.h): the header, and the change lines (flags set, messages
 * removed) since the archive before. A plain archive reader skips them. */
#define TARGZ_SERIES_HEADER_NAME ".mailport-series.json"
#define TARGZ_SERIES_CHANGES_NAME ".mailport-changes.jsonl"

/* Of an archive open for reading (STORE from targz_source_ops.open): the
 * series header (CHANGES 0) or the change lines (CHANGES 1) as the archive
 * holds them, NUL-terminated, with their length in *LEN; NULL when the
 * archive has none. Borrowed until close. */
const char *targz_source_series_file(const void *store, int changes,
                                     size_t *len);

#endif
