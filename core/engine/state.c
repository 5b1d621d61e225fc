#include "state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct mp_state {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
    int readonly;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    /* What `mailport state list` shows: the two endpoints (as
     * mp_state_record_run got them, never a parameter or password) and
     * when the last run started. */
    "CREATE TABLE IF NOT EXISTS about(key TEXT PRIMARY KEY, value TEXT NOT "
    "  NULL);"
    "CREATE TABLE IF NOT EXISTS folders("
    "  id INTEGER PRIMARY KEY,"
    "  src_name TEXT NOT NULL, dst_name TEXT NOT NULL,"
    "  src_validity INTEGER NOT NULL, dst_validity INTEGER NOT NULL,"
    "  src_marker INTEGER NOT NULL DEFAULT 0,"
    "  dst_marker INTEGER NOT NULL DEFAULT 0,"
    "  select_sig TEXT NOT NULL DEFAULT '',"
    "  present INTEGER NOT NULL DEFAULT 0,"
    "  pending INTEGER NOT NULL DEFAULT 0,"
    "  src_store TEXT NOT NULL DEFAULT '',"
    "  UNIQUE(src_name, dst_name));"
    "CREATE TABLE IF NOT EXISTS runs(pid INTEGER PRIMARY KEY, started "
    "  INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS messages("
    "  folder INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,"
    "  src_key TEXT NOT NULL, dst_key TEXT NOT NULL,"
    "  flags INTEGER NOT NULL, keywords TEXT NOT NULL, hash TEXT NOT NULL,"
    "  orphan INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(folder, src_key)) WITHOUT ROWID;";

int mp_state_make_parents(const char *path)
{
    char *copy = strdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}

/* State files written before the change markers existed lack their
 * columns: add them (an error for a column already there is expected). */
static int migrate(mp_state *s)
{
    static const char *const added[] = {
        "ALTER TABLE folders ADD COLUMN src_marker INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE folders ADD COLUMN dst_marker INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE folders ADD COLUMN select_sig TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE folders ADD COLUMN present INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE folders ADD COLUMN pending INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE messages ADD COLUMN orphan INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE folders ADD COLUMN src_store TEXT NOT NULL DEFAULT ''",
    };
    for (size_t i = 0; i < sizeof added / sizeof added[0]; i++)
        sqlite3_exec(s->db, added[i], NULL, NULL, NULL);
    return 0;
}

mp_state *mp_state_open(const char *path, char *err, size_t err_size)
{
    if (mp_state_make_parents(path) != 0) {
        snprintf(err, err_size, "cannot create the folder of state file %s: %s",
                 path, strerror(errno));
        return NULL;
    }
    /* Create the file ourselves so it is private from the first byte. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open state file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    close(fd);
    mp_state *s = calloc(1, sizeof *s);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 30000) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        migrate(s) != 0 ||
        sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(
            s->db, "INSERT OR REPLACE INTO messages VALUES(?,?,?,?,?,?,?)", -1,
            &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "DELETE FROM messages WHERE folder=? AND src_key=?",
                           -1, &s->del, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "state file %s is not usable: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "cannot open");
        mp_state_close(s);
        return NULL;
    }
    return s;
}

mp_state *mp_state_open_readonly(const char *path, char *err, size_t err_size)
{
    if (access(path, R_OK) != 0) {
        snprintf(err, err_size, "cannot read state file %s: %s", path,
                 strerror(errno));
        return NULL;
    }
    mp_state *s = calloc(1, sizeof *s);
    s->readonly = 1;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 30000) != SQLITE_OK ||
        sqlite3_exec(s->db,
                     "SELECT orphan FROM messages LIMIT 0; "
                     "SELECT pending FROM folders LIMIT 0",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "state file %s is not usable: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "cannot open");
        mp_state_close(s);
        return NULL;
    }
    return s;
}

void mp_state_close(mp_state *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_close(s->db);
    free(s);
}

const char *mp_state_error(mp_state *s)
{
    return sqlite3_errmsg(s->db);
}

static int exec_bound(mp_state *s, const char *sql, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A recorded pair into DST_FOLDER: the id, validities and store name of
 * the row WHERE says (bound to A), or id -1. */
typedef struct pair_row {
    int64_t id;
    uint64_t src_validity, dst_validity;
    char src_name[1024], src_store[1024];
} pair_row;

static int find_pair(mp_state *s, const char *where, const char *a,
                     const char *dst_folder, pair_row *row)
{
    row->id = -1;
    char *sql = NULL;
    if (asprintf(&sql,
                 "SELECT id, src_validity, dst_validity, src_name, src_store "
                 "FROM folders WHERE %s=? AND dst_name=? ORDER BY id DESC",
                 where) < 0)
        return -1;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dst_folder, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        row->id = sqlite3_column_int64(st, 0);
        row->src_validity = (uint64_t)sqlite3_column_int64(st, 1);
        row->dst_validity = (uint64_t)sqlite3_column_int64(st, 2);
        snprintf(row->src_name, sizeof row->src_name, "%s",
                 (const char *)sqlite3_column_text(st, 3));
        snprintf(row->src_store, sizeof row->src_store, "%s",
                 (const char *)sqlite3_column_text(st, 4));
    }
    sqlite3_finalize(st);
    return 0;
}

/* Run SQL with text A bound first and id ID second. */
static int exec_text_id(mp_state *s, const char *sql, const char *a, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The recorded pair of source folder SRC_FOLDER (store name SRC_STORE, or
 * NULL/"" when its store gives none) into DST_FOLDER: the row recorded
 * with that store name, whatever name the folder was listed under then
 * (it is renamed to the current one when that name is free); else the row
 * of that name, unless it was recorded with another store name: that row
 * is another folder's, which a writable state moves out of this name's
 * way (its name gets "\001" and its id appended). A row found without a
 * store name takes SRC_STORE. */
static int64_t bind_pair(mp_state *s, const char *src_folder,
                         const char *src_store, const char *dst_folder,
                         pair_row *row)
{
    int has_store = src_store && src_store[0];
    row->id = -1;
    if (has_store && find_pair(s, "src_store", src_store, dst_folder, row))
        return -1;
    if (row->id >= 0) {
        if (!s->readonly && strcmp(row->src_name, src_folder) != 0)
            (void)exec_text_id(s,
                               "UPDATE OR IGNORE folders SET src_name=? "
                               "WHERE id=?",
                               src_folder, row->id);
        return row->id;
    }
    if (find_pair(s, "src_name", src_folder, dst_folder, row))
        return -1;
    if (row->id < 0)
        return -1;
    if (!has_store || !row->src_store[0]) {
        if (has_store && !s->readonly &&
            exec_text_id(s, "UPDATE folders SET src_store=? WHERE id=?",
                         src_store, row->id) != 0)
            return -2;
        return row->id;
    }
    /* Another folder's row. */
    if (!s->readonly) {
        char moved[1100];
        snprintf(moved, sizeof moved, "%s\001%lld", row->src_name,
                 (long long)row->id);
        if (exec_text_id(s, "UPDATE folders SET src_name=? WHERE id=?", moved,
                         row->id) != 0)
            return -2;
    }
    row->id = -1;
    return -1;
}

int64_t mp_state_folder(mp_state *s, const char *src_folder,
                        uint64_t src_validity, const char *dst_folder,
                        uint64_t dst_validity, mp_state_reset *reset)
{
    return mp_state_folder_of(s, src_folder, NULL, src_validity, dst_folder,
                              dst_validity, reset);
}

int64_t mp_state_folder_of(mp_state *s, const char *src_folder,
                           const char *src_store, uint64_t src_validity,
                           const char *dst_folder, uint64_t dst_validity,
                           mp_state_reset *reset)
{
    *reset = MP_STATE_VALID;
    sqlite3_stmt *st;
    pair_row row;
    int64_t id = bind_pair(s, src_folder, src_store, dst_folder, &row);
    if (id == -2)
        return -1;
    if (id >= 0) {
        if (row.dst_validity != dst_validity)
            *reset = MP_STATE_DST_RESET;
        else if (row.src_validity != src_validity)
            *reset = MP_STATE_SRC_RESET;
    }
    if (s->readonly)
        return id >= 0 ? id : 0;
    if (id >= 0 && *reset == MP_STATE_VALID)
        return id;
    if (id >= 0) {
        /* Source keys may now name other messages: rows no longer pair by
         * key but still say which destination messages were synced.
         * Destination keys void: nothing of the rows is usable. */
        const char *rows_sql =
            *reset == MP_STATE_SRC_RESET
                ? "UPDATE OR REPLACE messages SET src_key='~orphan~'||dst_key, "
                  "orphan=1 WHERE folder=? AND orphan=0"
                : "DELETE FROM messages WHERE folder=?";
        if (mp_state_begin(s) != 0)
            return -1;
        if (exec_bound(s, rows_sql, id) ||
            sqlite3_prepare_v2(s->db,
                               "UPDATE folders SET src_validity=?, "
                               "dst_validity=?, src_marker=0, dst_marker=0 "
                               "WHERE id=?",
                               -1, &st, NULL) != SQLITE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        sqlite3_bind_int64(st, 1, (int64_t)src_validity);
        sqlite3_bind_int64(st, 2, (int64_t)dst_validity);
        sqlite3_bind_int64(st, 3, id);
    } else {
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO folders(src_name, dst_name, "
                               "src_validity, dst_validity, src_store) "
                               "VALUES(?,?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(st, 1, src_folder, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, dst_folder, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)src_validity);
        sqlite3_bind_int64(st, 4, (int64_t)dst_validity);
        sqlite3_bind_text(st, 5, src_store ? src_store : "", -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (id >= 0) {
        if (rc != SQLITE_DONE || mp_state_commit(s) != 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        return id;
    }
    if (rc != SQLITE_DONE)
        return -1;
    return sqlite3_last_insert_rowid(s->db);
}

int mp_state_pairs(mp_state *s, mp_state_pair **pairs, size_t *n)
{
    *pairs = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, src_name, dst_name, src_store FROM "
                           "folders ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *pairs = realloc(*pairs, cap * sizeof **pairs);
        }
        (*pairs)[(*n)++] =
            (mp_state_pair){sqlite3_column_int64(st, 0),
                            strdup((const char *)sqlite3_column_text(st, 1)),
                            strdup((const char *)sqlite3_column_text(st, 2)),
                            strdup((const char *)sqlite3_column_text(st, 3))};
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void mp_state_pairs_free(mp_state_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].src_name);
        free(pairs[i].dst_name);
        free(pairs[i].src_store);
    }
    free(pairs);
}

int mp_state_get_markers(mp_state *s, int64_t folder, mp_state_markers *m)
{
    memset(m, 0, sizeof *m);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT src_marker, dst_marker, select_sig, present, "
            "pending FROM folders WHERE id=?",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, folder);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        m->src = (uint64_t)sqlite3_column_int64(st, 0);
        m->dst = (uint64_t)sqlite3_column_int64(st, 1);
        snprintf(m->sig, sizeof m->sig, "%s",
                 (const char *)sqlite3_column_text(st, 2));
        m->present = (uint64_t)sqlite3_column_int64(st, 3);
        m->pending_removals = (uint64_t)sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int mp_state_set_markers(mp_state *s, int64_t folder, const mp_state_markers *m)
{
    static const mp_state_markers none = {0};
    if (!m)
        m = &none;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE folders SET src_marker=?, dst_marker=?, "
                           "select_sig=?, present=?, pending=? WHERE id=?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)m->src);
    sqlite3_bind_int64(st, 2, (int64_t)m->dst);
    sqlite3_bind_text(st, 3, m->sig, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)m->present);
    sqlite3_bind_int64(st, 5, (int64_t)m->pending_removals);
    sqlite3_bind_int64(st, 6, folder);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int mp_state_load(mp_state *s, int64_t folder, mp_state_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT src_key, dst_key, flags, keywords, hash, "
                           "orphan FROM messages WHERE folder=?",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, folder);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            *rows = realloc(*rows, cap * sizeof **rows);
        }
        mp_state_row *r = &(*rows)[(*n)++];
        r->src_key = strdup((const char *)sqlite3_column_text(st, 0));
        r->dst_key = strdup((const char *)sqlite3_column_text(st, 1));
        r->flags = (unsigned)sqlite3_column_int(st, 2);
        r->keywords = strdup((const char *)sqlite3_column_text(st, 3));
        snprintf(r->hash, sizeof r->hash, "%s",
                 (const char *)sqlite3_column_text(st, 4));
        r->orphan = sqlite3_column_int(st, 5);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void mp_state_rows_free(mp_state_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].src_key);
        free(rows[i].dst_key);
        free(rows[i].keywords);
    }
    free(rows);
}

int mp_state_begin(mp_state *s)
{
    return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

int mp_state_commit(mp_state *s)
{
    return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                        : -1;
}

int mp_state_put(mp_state *s, int64_t folder, const mp_state_row *r)
{
    sqlite3_reset(s->put);
    sqlite3_bind_int64(s->put, 1, folder);
    sqlite3_bind_text(s->put, 2, r->src_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 3, r->dst_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->put, 4, (int)r->flags);
    sqlite3_bind_text(s->put, 5, r->keywords ? r->keywords : "", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(s->put, 6, r->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s->put, 7, r->orphan);
    return sqlite3_step(s->put) == SQLITE_DONE ? 0 : -1;
}

int mp_state_delete(mp_state *s, int64_t folder, const char *src_key)
{
    sqlite3_reset(s->del);
    sqlite3_bind_int64(s->del, 1, folder);
    sqlite3_bind_text(s->del, 2, src_key, -1, SQLITE_STATIC);
    return sqlite3_step(s->del) == SQLITE_DONE ? 0 : -1;
}

/* Is PID a live mailport process? (A pid reused by another program does
 * not count.) */
static int mailport_alive(long pid)
{
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(comm, sizeof comm, f) != NULL;
    fclose(f);
    return ok && strncmp(comm, "mailport", 8) == 0;
}

int mp_state_claim(mp_state *s, long *other_pid)
{
    int crashed = 0;
    if (mp_state_begin(s) != 0)
        return 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT pid FROM runs", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            long pid = (long)sqlite3_column_int64(st, 0);
            if (pid == (long)getpid())
                continue;
            if (mailport_alive(pid)) {
                *other_pid = pid;
                sqlite3_finalize(st);
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
                return -1;
            }
            crashed = 1;
        }
        sqlite3_finalize(st);
    }
    char sql[128];
    snprintf(sql, sizeof sql,
             "DELETE FROM runs; INSERT INTO runs VALUES(%ld, %lld)",
             (long)getpid(), (long long)time(NULL));
    sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    mp_state_commit(s);
    return crashed;
}

void mp_state_release(mp_state *s)
{
    char sql[64];
    snprintf(sql, sizeof sql, "DELETE FROM runs WHERE pid=%ld", (long)getpid());
    sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static int put_about(mp_state *s, const char *key, const char *value)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO about VALUES(?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int mp_state_record_run(mp_state *s, const char *source, const char *dest)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    if (mp_state_begin(s) != 0)
        return -1;
    if (put_about(s, "source", source) != 0 ||
        put_about(s, "dest", dest) != 0 || put_about(s, "last_run", now) != 0 ||
        mp_state_commit(s) != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int mp_state_about_read(mp_state *s, mp_state_about *a)
{
    memset(a, 0, sizeof *a);
    sqlite3_stmt *st;
    /* A file an earlier version wrote has no such table: nothing known. */
    if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM about", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (!k || !v)
            continue;
        if (strcmp(k, "source") == 0 && !a->source)
            a->source = strdup(v);
        else if (strcmp(k, "dest") == 0 && !a->dest)
            a->dest = strdup(v);
        else if (strcmp(k, "last_run") == 0)
            a->last_run = strtoll(v, NULL, 10);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void mp_state_about_free(mp_state_about *a)
{
    free(a->source);
    free(a->dest);
    memset(a, 0, sizeof *a);
}

char *mp_state_dir(void)
{
    const char *base = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char *dir = NULL;
    if (base && *base) {
        if (asprintf(&dir, "%s/mailport", base) < 0)
            return NULL;
    } else if (asprintf(&dir, "%s/.local/state/mailport",
                        home ? home : "/tmp") < 0) {
        return NULL;
    }
    return dir;
}

/* A file name readable enough to recognise, plus a hash so that different
 * pairs never share a file. */
char *mp_state_default_path(const char *source, const char *dest)
{
    char *dir = mp_state_dir();
    if (!dir)
        return NULL;
    char pair[8192];
    snprintf(pair, sizeof pair, "%s\n%s", source, dest);
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(pair, strlen(pair), md, &mdlen, EVP_sha256(), NULL);
    char readable[48];
    size_t w = 0;
    for (const char *p = source; *p && w < 20; p++)
        readable[w++] = isalnum((unsigned char)*p) ? *p : '_';
    readable[w++] = '-';
    for (const char *p = dest; *p && w < 41; p++)
        readable[w++] = isalnum((unsigned char)*p) ? *p : '_';
    readable[w] = '\0';
    char *path = NULL;
    if (asprintf(&path, "%s/%s-%02x%02x%02x%02x%02x%02x.sqlite", dir, readable,
                 md[0], md[1], md[2], md[3], md[4], md[5]) < 0)
        path = NULL;
    free(dir);
    return path;
}
