#include "targz_index.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct targz_index {
    sqlite3 *db;
    sqlite3_stmt *add, *update, *find, *add_line;
    char err[512];
};

static const char schema[] =
    /* Nothing here must survive the process: no journal, no syncs. */
    "PRAGMA journal_mode=OFF;"
    "PRAGMA synchronous=OFF;"
    "PRAGMA temp_store=FILE;"
    "CREATE TABLE msg(id INTEGER PRIMARY KEY, raw_path TEXT, path TEXT,"
    " keywords TEXT, identity TEXT, ordinal INTEGER, folder INTEGER,"
    " size INTEGER, vsize INTEGER, mtime INTEGER, flags INTEGER, sha TEXT,"
    " in_manifest INTEGER, problem INTEGER);"
    "CREATE INDEX msg_path ON msg(path);"
    "CREATE TABLE line(id INTEGER PRIMARY KEY, folder TEXT, file TEXT,"
    " sha256 TEXT, flags TEXT, keywords TEXT, source_key TEXT, size INTEGER,"
    " internal_date INTEGER, has_size INTEGER, has_date INTEGER);"
    /* One transaction for the whole life of the index: rows are written
     * to the file only when the page cache is full. */
    "BEGIN;";

#define MSG_COLS                                                            \
    "id, raw_path, path, keywords, identity, ordinal, folder, size, vsize," \
    " mtime, flags, sha, in_manifest, problem"

static int failed(targz_index *ix, const char *what)
{
    snprintf(ix->err, sizeof ix->err, "temporary index (%s): %s", what,
             sqlite3_errmsg(ix->db));
    return -1;
}

int targz_index_open(targz_index **out, char *err, size_t err_size)
{
    *out = NULL;
    targz_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    char cache[64];
    snprintf(cache, sizeof cache, "PRAGMA cache_size=-%d;",
             TARGZ_INDEX_CACHE_KIB);
    /* "" is a private temporary database (see the header). */
    if (sqlite3_open_v2("", &ix->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_exec(ix->db, cache, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(ix->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ix->db,
                           "INSERT INTO msg VALUES(NULL,?,?,?,?,?,?,?,?,?,?,?,"
                           "?,?)",
                           -1, &ix->add, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ix->db,
                           "UPDATE msg SET folder=?, flags=?, keywords=?,"
                           " mtime=?, in_manifest=?, problem=? WHERE id=?",
                           -1, &ix->update, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ix->db,
                           "SELECT " MSG_COLS " FROM msg WHERE path=?"
                           " ORDER BY id LIMIT 1",
                           -1, &ix->find, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ix->db,
                           "INSERT INTO line VALUES(NULL,?,?,?,?,?,?,?,?,?,?)",
                           -1, &ix->add_line, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "cannot make a temporary index: %s",
                 ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
        targz_index_close(ix);
        return -1;
    }
    *out = ix;
    return 0;
}

void targz_index_close(targz_index *ix)
{
    if (!ix)
        return;
    sqlite3_finalize(ix->add);
    sqlite3_finalize(ix->update);
    sqlite3_finalize(ix->find);
    sqlite3_finalize(ix->add_line);
    sqlite3_close(ix->db); /* SQLite deletes the file */
    free(ix);
}

const char *targz_index_error(targz_index *ix)
{
    return ix->err;
}

static void bind_text(sqlite3_stmt *st, int col, const char *s)
{
    if (s)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

/* Run ST (bound) to completion and reset it. */
static int step_done(targz_index *ix, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : failed(ix, what);
}

int targz_index_add(targz_index *ix, targz_imsg *m)
{
    sqlite3_stmt *st = ix->add;
    bind_text(st, 1, m->raw_path);
    bind_text(st, 2, m->path);
    bind_text(st, 3, m->keywords);
    bind_text(st, 4, m->identity);
    sqlite3_bind_int64(st, 5, m->ordinal);
    sqlite3_bind_int64(st, 6, m->folder);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)m->size);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)m->vsize);
    sqlite3_bind_int64(st, 9, m->mtime);
    sqlite3_bind_int64(st, 10, m->flags);
    bind_text(st, 11, m->sha);
    sqlite3_bind_int(st, 12, m->in_manifest);
    sqlite3_bind_int(st, 13, m->problem);
    if (step_done(ix, st, "add") != 0)
        return -1;
    m->id = sqlite3_last_insert_rowid(ix->db);
    return 0;
}

int targz_index_update(targz_index *ix, const targz_imsg *m)
{
    sqlite3_stmt *st = ix->update;
    sqlite3_bind_int64(st, 1, m->folder);
    sqlite3_bind_int64(st, 2, m->flags);
    bind_text(st, 3, m->keywords);
    sqlite3_bind_int64(st, 4, m->mtime);
    sqlite3_bind_int(st, 5, m->in_manifest);
    sqlite3_bind_int(st, 6, m->problem);
    sqlite3_bind_int64(st, 7, m->id);
    return step_done(ix, st, "update");
}

static char *col_text(sqlite3_stmt *st, int col)
{
    return (char *)sqlite3_column_text(st, col);
}

/* The row at ST's cursor, strings borrowed from ST. */
static void row_of(sqlite3_stmt *st, targz_imsg *m)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    m->raw_path = col_text(st, 1);
    m->path = col_text(st, 2);
    m->keywords = col_text(st, 3);
    m->identity = col_text(st, 4);
    m->ordinal = sqlite3_column_int64(st, 5);
    m->folder = sqlite3_column_int64(st, 6);
    m->size = (uint64_t)sqlite3_column_int64(st, 7);
    m->vsize = (uint64_t)sqlite3_column_int64(st, 8);
    m->mtime = sqlite3_column_int64(st, 9);
    m->flags = (unsigned)sqlite3_column_int64(st, 10);
    const char *sha = col_text(st, 11);
    snprintf(m->sha, sizeof m->sha, "%s", sha ? sha : "");
    m->in_manifest = sqlite3_column_int(st, 12);
    m->problem = sqlite3_column_int(st, 13);
}

static int dup_or_null(char **s)
{
    if (*s && !(*s = strdup(*s)))
        return -1;
    return 0;
}

int targz_index_find(targz_index *ix, const char *path, targz_imsg *out)
{
    sqlite3_stmt *st = ix->find;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        row_of(st, out);
        /* Each one duplicated in turn: a failure leaves the rest NULL. */
        char **strs[] = {&out->raw_path, &out->path, &out->keywords,
                         &out->identity};
        found = 1;
        for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
            if (found == 1 && dup_or_null(strs[i]) != 0)
                found = -1;
            else if (found != 1)
                *strs[i] = NULL;
        }
        if (found < 0) {
            targz_imsg_free(out);
            snprintf(ix->err, sizeof ix->err, "out of memory");
        }
    } else if (rc != SQLITE_DONE) {
        found = failed(ix, "find");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return found;
}

void targz_imsg_free(targz_imsg *m)
{
    free(m->raw_path);
    free(m->path);
    free(m->keywords);
    free(m->identity);
    m->raw_path = m->path = m->keywords = m->identity = NULL;
}

int targz_index_each(targz_index *ix, int64_t folder, targz_imsg_cb cb,
                     void *ctx)
{
    sqlite3_stmt *st;
    const char *sql = folder >= 0 ? "SELECT " MSG_COLS
                                    " FROM msg WHERE folder=? ORDER BY id"
                                  : "SELECT " MSG_COLS " FROM msg ORDER BY id";
    if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK)
        return failed(ix, "walk");
    if (folder >= 0)
        sqlite3_bind_int64(st, 1, folder);
    int ret = 0, rc = SQLITE_DONE;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        targz_imsg m;
        row_of(st, &m);
        ret = cb(ctx, &m);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = failed(ix, "walk");
    sqlite3_finalize(st);
    return ret;
}

int targz_index_add_line(targz_index *ix, const targz_manifest_line *l)
{
    sqlite3_stmt *st = ix->add_line;
    bind_text(st, 1, l->folder);
    bind_text(st, 2, l->file);
    bind_text(st, 3, l->sha256);
    bind_text(st, 4, l->flags);
    bind_text(st, 5, l->keywords);
    bind_text(st, 6, l->source_key);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)l->size);
    sqlite3_bind_int64(st, 8, l->internal_date);
    sqlite3_bind_int(st, 9, l->has_size);
    sqlite3_bind_int(st, 10, l->has_date);
    return step_done(ix, st, "manifest");
}

int targz_index_each_line(targz_index *ix, targz_line_cb cb, void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ix->db,
                           "SELECT folder, file, sha256, flags, keywords,"
                           " source_key, size, internal_date, has_size,"
                           " has_date FROM line ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return failed(ix, "manifest walk");
    int ret = 0, rc = SQLITE_DONE;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        targz_manifest_line l = {
            .folder = col_text(st, 0),
            .file = col_text(st, 1),
            .sha256 = col_text(st, 2),
            .flags = col_text(st, 3),
            .keywords = col_text(st, 4),
            .source_key = col_text(st, 5),
            .size = (uint64_t)sqlite3_column_int64(st, 6),
            .internal_date = sqlite3_column_int64(st, 7),
            .has_size = sqlite3_column_int(st, 8),
            .has_date = sqlite3_column_int(st, 9),
        };
        ret = cb(ctx, &l);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = failed(ix, "manifest walk");
    sqlite3_finalize(st);
    return ret;
}

int targz_index_seal(targz_index *ix)
{
    if (sqlite3_exec(ix->db, "CREATE INDEX msg_folder ON msg(folder, id)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return failed(ix, "seal");
    return 0;
}
