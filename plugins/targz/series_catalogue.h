/* The catalogue of an archive series (series.h): what the series holds,
 * kept by the writer, which cannot read its own encrypted archives.
 *
 * One SQLite file. A run of the sink holds one write transaction from
 * open to the end: messages put, flags set and messages removed go into
 * it as they happen, and it commits only with the new head once the new
 * archive is renamed into place (series_catalogue_commit). A run that
 * fails, is stopped or killed leaves the catalogue as it was (SQLite
 * rolls the transaction back, also on the next open after a kill -9). */
#ifndef MP_TARGZ_SERIES_CATALOGUE_H
#define MP_TARGZ_SERIES_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct series_catalogue series_catalogue;

/* The newest archive the catalogue knows. */
typedef struct series_head {
    uint64_t generation, seq;
    char *file; /* base name; malloc'd */
    char sha256[65];
} series_head;

/* One message of the series. Strings borrowed. */
typedef struct series_msg {
    const char *key, *folder, *keywords, *identity;
    uint64_t size, vsize;
    unsigned flags;
    int64_t date;
} series_msg;

/* The default catalogue path for series directory DIR (its real path must
 * resolve): $XDG_STATE_HOME/mailport/series/<sha256 of the real path>.sqlite,
 * $HOME/.local/state when XDG_STATE_HOME is unset. malloc'd; NULL with
 * ERR set. */
char *series_catalogue_default_path(const char *dir, char *err, size_t size);

/* Open (creating it, mode 0600, and its directory, mode 0700) the
 * catalogue at PATH. FOR_WRITE starts the run's transaction. Returns 0,
 * or -1 with ERR set. */
int series_catalogue_open(const char *path, int for_write,
                          series_catalogue **out, char *err, size_t size);
void series_catalogue_close(series_catalogue *c); /* rolls back */

/* The head: 1 with *H filled (free H->file), 0 when the catalogue knows no
 * archive yet, -1 on failure. */
int series_catalogue_head(series_catalogue *c, series_head *h);

/* Forget every message and subscription (a new generation starts). */
int series_catalogue_clear(series_catalogue *c);

/* Messages of FOLDER (every folder when NULL), in key order; FN returns
 * nonzero to stop (returned). -1 on failure. */
typedef int (*series_msg_fn)(void *ctx, const series_msg *m);
int series_catalogue_each(series_catalogue *c, const char *folder,
                          series_msg_fn fn, void *ctx);

/* The folders that hold messages, each once, in name order. */
typedef int (*series_folder_fn)(void *ctx, const char *folder);
int series_catalogue_folders(series_catalogue *c, series_folder_fn fn,
                             void *ctx);

/* The subscribed folders: kept so that every archive holds the whole set
 * (its "subscriptions" file) and the sink can tell the core which are
 * subscribed already. */
int series_catalogue_subscribe(series_catalogue *c, const char *name);
int series_catalogue_subscriptions(series_catalogue *c, series_folder_fn fn,
                                   void *ctx);

int series_catalogue_add(series_catalogue *c, const series_msg *m);
/* 1 when KEY was there and is changed or removed, 0 when it is unknown. */
int series_catalogue_set_flags(series_catalogue *c, const char *key,
                               unsigned flags, const char *keywords);
int series_catalogue_remove(series_catalogue *c, const char *key);

/* Record H as the head and commit the run's transaction. */
int series_catalogue_commit(series_catalogue *c, const series_head *h);

/* The last SQLite error text. */
const char *series_catalogue_error(series_catalogue *c);

#endif
