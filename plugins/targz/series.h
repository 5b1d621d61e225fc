/*
 * Archive series: "targz-series:DIR", a directory of mailport archives of
 * which each holds only what changed since the one before.
 *
 * Files. DIR holds the series' archives, named by the writer:
 *
 *   NNNNNN-YYYYMMDDTHHMMSSZ.tar.gz[.age]      (or .tar.zst, .tar)
 *
 * NNNNNN is the archive's sequence number (1, 2, ...; six digits or more)
 * and the time is the UTC moment of the run. Each is an ordinary mailport
 * archive (README.md in this folder: `targz:` reads any one of them, `tar`
 * and `age` open it) with two more root files:
 *
 *   .mailport-series.json    {"series":1,"generation":G,"seq":N,
 *                             "prev_sha256":"<64 hex>"|null,"created":T}
 *   .mailport-changes.jsonl  one line per change since archive N-1:
 *                             {"key":K,"flags":"FS","keywords":["$Junk"]}
 *                             {"key":K,"removed":true}
 *
 * A *generation* is a run of archives that builds on one full archive, its
 * *base* (prev_sha256 null, seq = G): archive N of generation G holds the
 * messages new since N-1 and the change lines of messages N-1 and before
 * held; prev_sha256 is the SHA-256 of the file of archive N-1, so a reader
 * can tell that nothing is missing or swapped. A message of the series is
 * named by the key "N/PATH": the archive that holds its body and the entry
 * path in it (the targz key).
 *
 * What the series holds (its latest state) is, for generation G of the
 * newest archive: every message of archives G..latest, less the removed
 * ones, each with the flags of its last change line (else its own). That
 * is what the source (restore, verify) shows, and what the sink's scan
 * shows the sync engine, so an incremental pass is an ordinary pass: new
 * messages go into the next archive, flag changes and removals (--delete)
 * become its change lines.
 *
 * The catalogue. The sink cannot read the archives it wrote (age
 * recipients encrypt to a key the writer need not hold), so it keeps what
 * the series holds in a catalogue of its own: an SQLite file, mode 0600,
 * under $XDG_STATE_HOME/mailport/series/ (~/.local/state when unset)
 * beside mailport's sync states, named after DIR's real path
 * (`catalogue=PATH` chooses another). It holds the folder, flags,
 * keywords, size, internal date and content identity of each message and
 * the newest archive's number, name and SHA-256: never a body, never a
 * secret. It is updated only after an archive has been renamed into place;
 * when it is missing, or names another newest archive than DIR holds (a
 * run killed between the rename and the update, a catalogue restored from
 * elsewhere), the next archive starts a new generation (a full archive),
 * with a warning, so nothing relies on a catalogue that may be wrong.
 * `full=1` starts one on purpose (to let older generations be deleted).
 *
 * A folder's validity (mp_folder_info.validity) is the generation: a new
 * generation makes the sync state's rows void, as a new UIDVALIDITY does.
 */
#ifndef MP_TARGZ_SERIES_H
#define MP_TARGZ_SERIES_H

#include <mailport/plugin.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

extern const mp_sink_ops series_sink_ops;
extern const mp_source_ops series_source_ops;

/* The sink's checks of EP without making anything (plugin.h probe_sink). */
mp_status series_probe_sink(mp_host *host, const mp_endpoint *ep,
                            const char *folder);

/* ---- file names (series_names.c) ---------------------------------------- */

/* "NNNNNN-YYYYMMDDTHHMMSSZ" + EXT (".tar.gz", ".tar.zst.age", ...) for
 * archive SEQ written at WHEN; malloc'd, NULL when out of memory. */
char *series_file_name(uint64_t seq, time_t when, const char *ext);

/* The sequence number of a series file NAME (a base name), or 0 when NAME
 * is not one (another file, a temporary, a hidden file). */
uint64_t series_file_seq(const char *name);

/* One archive file of DIR. */
typedef struct series_file {
    uint64_t seq;
    char *name; /* base name */
} series_file;

/* The series files of DIR in sequence order into *OUT (*N of them; free
 * with series_files_free). Returns 0, or -1 with errno set (DIR cannot be
 * read). Two files with one sequence number make it -1 with errno
 * EEXIST and *CLASH the later name (malloc'd). */
int series_list(const char *dir, series_file **out, size_t *n, char **clash);
void series_files_free(series_file *f, size_t n);

/* SHA-256 of the bytes of file PATH, as 64 hex digits. 0, or -1 with
 * errno set. */
int series_file_sha256(const char *path, char hex[65]);

/* ---- the header and change lines (series_format.c) --------------------- */

typedef struct series_header {
    uint64_t generation, seq;
    char prev_sha256[65]; /* "" for a base */
    int64_t created;
} series_header;

/* The header's JSON text, malloc'd (NULL when out of memory). */
char *series_header_format(const series_header *h);
/* Parse TEXT (LEN bytes). Returns 0, or -1 when it is not a series header
 * of format 1 (missing or mistyped keys, a seq below the generation). */
int series_header_parse(const char *text, size_t len, series_header *out);

typedef struct series_change {
    char *key;
    int removed;
    unsigned flags; /* MP_FLAG_*, unless removed */
    char *keywords; /* space-separated, "" when none */
} series_change;

/* One change line (without '\n'), malloc'd. */
char *series_change_format(const series_change *c);
/* Parse the change lines of TEXT (LEN bytes) into *OUT, appended to *N
 * (the caller frees with series_changes_free). Returns 0, or the line
 * number (from 1) of the first malformed line. */
size_t series_changes_parse(const char *text, size_t len, series_change **out,
                            size_t *n);
void series_changes_free(series_change *c, size_t n);

#endif
