/* The catalogue of an archive series (series_catalogue.h). */
#include "series_catalogue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct series_catalogue {
    sqlite3 *db;
    int in_txn;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS head("
    " one INTEGER PRIMARY KEY CHECK (one = 1),"
    " generation INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " file TEXT NOT NULL, sha256 TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS msgs("
    " key TEXT PRIMARY KEY, folder TEXT NOT NULL,"
    " size INTEGER NOT NULL, vsize INTEGER NOT NULL,"
    " flags INTEGER NOT NULL, keywords TEXT NOT NULL,"
    " date INTEGER NOT NULL, identity TEXT);"
    "CREATE INDEX IF NOT EXISTS msgs_folder ON msgs(folder, key);"
    "CREATE TABLE IF NOT EXISTS subs(name TEXT PRIMARY KEY);";

static int mkdirs(char *path, mode_t mode)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, mode);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, mode) == 0 || errno == EEXIST ? 0 : -1;
}

char *series_catalogue_default_path(const char *dir, char *err, size_t size)
{
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        snprintf(err, size, "cannot resolve %s: %s", dir, strerror(errno));
        return NULL;
    }
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_Digest(real, strlen(real), md, &n, EVP_sha256(), NULL) != 1) {
        snprintf(err, size, "SHA-256 failed");
        return NULL;
    }
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char *path = NULL;
    int rc = xdg && *xdg
                 ? asprintf(&path, "%s/mailport/series/%s.sqlite", xdg, hex)
             : home && *home
                 ? asprintf(&path, "%s/.local/state/mailport/series/%s.sqlite",
                            home, hex)
                 : -1;
    if (rc < 0) {
        snprintf(err, size,
                 "no place for the series catalogue: neither XDG_STATE_HOME "
                 "nor HOME is set (give catalogue=PATH)");
        return NULL;
    }
    return path;
}

const char *series_catalogue_error(series_catalogue *c)
{
    return c && c->db ? sqlite3_errmsg(c->db) : "out of memory";
}

int series_catalogue_open(const char *path, int for_write,
                          series_catalogue **out, char *err, size_t size)
{
    *out = NULL;
    char *parent = strdup(path);
    char *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash && slash != parent) {
        *slash = '\0';
        if (for_write && mkdirs(parent, 0700) != 0) {
            snprintf(err, size, "cannot create %s: %s", parent,
                     strerror(errno));
            free(parent);
            return -1;
        }
    }
    free(parent);
    if (for_write) {
        /* Created private before SQLite opens it. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
            snprintf(err, size, "cannot open %s: %s", path, strerror(errno));
            return -1;
        }
        close(fd);
    }
    series_catalogue *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, size, "out of memory");
        return -1;
    }
    int flags = for_write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(c->db, 10000) != SQLITE_OK ||
        (for_write &&
         sqlite3_exec(c->db, schema, NULL, NULL, NULL) != SQLITE_OK) ||
        (for_write && sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL,
                                   NULL) != SQLITE_OK)) {
        snprintf(err, size, "series catalogue %s: %s", path,
                 series_catalogue_error(c));
        series_catalogue_close(c);
        return -1;
    }
    c->in_txn = for_write;
    *out = c;
    return 0;
}

void series_catalogue_close(series_catalogue *c)
{
    if (!c)
        return;
    if (c->in_txn)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(c->db);
    free(c);
}

static sqlite3_stmt *prepare(series_catalogue *c, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    return st;
}

/* Step ST once to its end; finalise it. 0 or -1. */
static int run(sqlite3_stmt *st)
{
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int series_catalogue_head(series_catalogue *c, series_head *h)
{
    memset(h, 0, sizeof *h);
    sqlite3_stmt *st =
        prepare(c, "SELECT generation, seq, file, sha256 FROM head");
    if (!st) /* a read-only catalogue made by nothing yet */
        return sqlite3_errcode(c->db) == SQLITE_ERROR ? 0 : -1;
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        const char *file = (const char *)sqlite3_column_text(st, 2);
        const char *sha = (const char *)sqlite3_column_text(st, 3);
        h->generation = (uint64_t)sqlite3_column_int64(st, 0);
        h->seq = (uint64_t)sqlite3_column_int64(st, 1);
        h->file = strdup(file ? file : "");
        snprintf(h->sha256, sizeof h->sha256, "%s", sha ? sha : "");
        found = h->file ? 1 : -1;
    } else if (rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_finalize(st);
    return found;
}

int series_catalogue_clear(series_catalogue *c)
{
    if (run(prepare(c, "DELETE FROM msgs")) != 0)
        return -1;
    return run(prepare(c, "DELETE FROM subs"));
}

/* FN for each text of the one column SQL selects. */
static int each_name(series_catalogue *c, const char *sql, series_folder_fn fn,
                     void *ctx)
{
    sqlite3_stmt *st = prepare(c, sql);
    if (!st)
        return -1;
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
        stop = fn(ctx, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int series_catalogue_subscribe(series_catalogue *c, const char *name)
{
    sqlite3_stmt *st =
        prepare(c, "INSERT OR IGNORE INTO subs(name) VALUES (?1)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    return run(st);
}

int series_catalogue_subscriptions(series_catalogue *c, series_folder_fn fn,
                                   void *ctx)
{
    return each_name(c, "SELECT name FROM subs ORDER BY name", fn, ctx);
}

static int each(sqlite3_stmt *st, series_msg_fn fn, void *ctx)
{
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        series_msg m = {
            .key = (const char *)sqlite3_column_text(st, 0),
            .folder = (const char *)sqlite3_column_text(st, 1),
            .size = (uint64_t)sqlite3_column_int64(st, 2),
            .vsize = (uint64_t)sqlite3_column_int64(st, 3),
            .flags = (unsigned)sqlite3_column_int64(st, 4),
            .keywords = (const char *)sqlite3_column_text(st, 5),
            .date = sqlite3_column_int64(st, 6),
            .identity = (const char *)sqlite3_column_text(st, 7),
        };
        stop = fn(ctx, &m);
    }
    sqlite3_finalize(st);
    return stop ? stop : rc == SQLITE_DONE ? 0 : -1;
}

int series_catalogue_each(series_catalogue *c, const char *folder,
                          series_msg_fn fn, void *ctx)
{
    sqlite3_stmt *st = prepare(
        c, folder ? "SELECT key, folder, size, vsize, flags, keywords, date, "
                    "identity FROM msgs WHERE folder = ?1 ORDER BY key"
                  : "SELECT key, folder, size, vsize, flags, keywords, date, "
                    "identity FROM msgs ORDER BY folder, key");
    if (!st)
        return -1;
    if (folder)
        sqlite3_bind_text(st, 1, folder, -1, SQLITE_TRANSIENT);
    return each(st, fn, ctx);
}

int series_catalogue_folders(series_catalogue *c, series_folder_fn fn,
                             void *ctx)
{
    return each_name(c, "SELECT DISTINCT folder FROM msgs ORDER BY folder", fn,
                     ctx);
}

int series_catalogue_add(series_catalogue *c, const series_msg *m)
{
    sqlite3_stmt *st =
        prepare(c, "INSERT OR REPLACE INTO msgs(key, folder, size, vsize, "
                   "flags, keywords, date, identity) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, m->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, m->folder, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)m->size);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m->vsize);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)m->flags);
    sqlite3_bind_text(st, 6, m->keywords ? m->keywords : "", -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)m->date);
    if (m->identity)
        sqlite3_bind_text(st, 8, m->identity, -1, SQLITE_TRANSIENT);
    return run(st);
}

int series_catalogue_set_flags(series_catalogue *c, const char *key,
                               unsigned flags, const char *keywords)
{
    sqlite3_stmt *st =
        prepare(c, "UPDATE msgs SET flags = ?2, keywords = ?3 WHERE key = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)flags);
    sqlite3_bind_text(st, 3, keywords ? keywords : "", -1, SQLITE_TRANSIENT);
    if (run(st) != 0)
        return -1;
    return sqlite3_changes(c->db) > 0;
}

int series_catalogue_remove(series_catalogue *c, const char *key)
{
    sqlite3_stmt *st = prepare(c, "DELETE FROM msgs WHERE key = ?1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    if (run(st) != 0)
        return -1;
    return sqlite3_changes(c->db) > 0;
}

int series_catalogue_commit(series_catalogue *c, const series_head *h)
{
    sqlite3_stmt *st =
        prepare(c, "INSERT OR REPLACE INTO head(one, generation, seq, file, "
                   "sha256) VALUES (1, ?1, ?2, ?3, ?4)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)h->generation);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)h->seq);
    sqlite3_bind_text(st, 3, h->file, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, h->sha256, -1, SQLITE_TRANSIENT);
    if (run(st) != 0 ||
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    c->in_txn = 0;
    return 0;
}
