/* Sync state in SQLite (DESIGN §4): per source folder and its validity, the
 * map source key -> destination key, the flags last synced and the content
 * hash. Never holds a secret. A message's row is written only after the sink
 * has made it durable (mp_sink_ops.flush). */
#ifndef MP_STATE_H
#define MP_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp_state mp_state;

typedef struct mp_state_row {
    char *src_key;
    char *dst_key;
    unsigned flags;
    char *keywords; /* "" when none */
    char hash[65];
    /* The source message this row was paired with can no longer be named:
     * its folder's validity changed (IMAP UIDVALIDITY), so its key may now
     * name another message. The destination message is still known to
     * have been synced, which is what --delete needs; it pairs by content
     * only. src_key is then "~orphan~" + dst_key. */
    int orphan;
} mp_state_row;

/* Open or create PATH (0600; its folder 0700). NULL with ERR on failure. */
mp_state *mp_state_open(const char *path, char *err, size_t err_size);
/* Open an existing PATH read-only, for a dry run or verify: nothing is
 * written, not even a validity reset. NULL (ERR set) when it does not
 * exist or cannot be read. */
mp_state *mp_state_open_readonly(const char *path, char *err, size_t err_size);
void mp_state_close(mp_state *s);

/* How a folder pair's recorded validities compare with the current ones. */
typedef enum mp_state_reset {
    MP_STATE_VALID = 0, /* same (or a new pair): rows pair by key */
    MP_STATE_SRC_RESET, /* source keys void: rows became orphans */
    MP_STATE_DST_RESET, /* destination keys void (or both): rows dropped */
} mp_state_reset;

/* The id of the (SRC_FOLDER -> DST_FOLDER) pair, created when new (not by a
 * read-only state: then 0 is returned for a pair not recorded). When the
 * source's validity changed, the rows are kept as orphans (see
 * mp_state_row.orphan); when the destination's did, they are dropped.
 * *reset says which. Returns -1 on error. */
int64_t mp_state_folder(mp_state *s, const char *src_folder,
                        uint64_t src_validity, const char *dst_folder,
                        uint64_t dst_validity, mp_state_reset *reset);
/* The same for a source folder whose store names it SRC_STORE
 * (mp_folder_info.store_name; NULL or "": none). The pair is the one
 * recorded with that store name, under whatever name the folder was listed
 * then; a pair recorded under SRC_FOLDER with another store name is
 * another folder's (a name that moved to another folder, "A~2" listed as
 * "A"), not this one's. */
int64_t mp_state_folder_of(mp_state *s, const char *src_folder,
                           const char *src_store, uint64_t src_validity,
                           const char *dst_folder, uint64_t dst_validity,
                           mp_state_reset *reset);

/* The folder pairs recorded, in the order they were first synced. */
typedef struct mp_state_pair {
    int64_t id;
    char *src_name, *dst_name;
    /* The source store's own name of the folder when it gave one
     * (mp_folder_info.store_name), else "". */
    char *src_store;
} mp_state_pair;
int mp_state_pairs(mp_state *s, mp_state_pair **pairs, size_t *n);
void mp_state_pairs_free(mp_state_pair *pairs, size_t n);

/* What a folder pair looked like after the last sync that found nothing to
 * do: both sides' change markers (mp_folder_info.change_marker), the
 * signature of the options that select messages, and how many messages
 * were present. */
typedef struct mp_state_markers {
    uint64_t src, dst;
    char sig[128];
    uint64_t present;
    /* Destination messages synced earlier whose source message was gone:
     * what --delete would remove. A run with --delete may take the
     * shortcut only when this is 0. */
    uint64_t pending_removals;
} mp_state_markers;

/* Read the folder's markers (all zero when none). Returns 0 or -1. */
int mp_state_get_markers(mp_state *s, int64_t folder, mp_state_markers *m);
/* Record them; M NULL clears them (the folder changed). Returns 0 or -1. */
int mp_state_set_markers(mp_state *s, int64_t folder,
                         const mp_state_markers *m);

/* All rows of a folder; free with mp_state_rows_free. Returns 0 or -1. */
int mp_state_load(mp_state *s, int64_t folder, mp_state_row **rows, size_t *n);
void mp_state_rows_free(mp_state_row *rows, size_t n);

/* Writes, grouped in transactions by the caller. */
int mp_state_begin(mp_state *s);
int mp_state_commit(mp_state *s);
int mp_state_put(mp_state *s, int64_t folder, const mp_state_row *row);
int mp_state_delete(mp_state *s, int64_t folder, const char *src_key);

/* Runs using the state: a run registers itself at its start and removes
 * itself at its end. mp_state_claim returns 0 when no other run was
 * registered, 1 when a run that died without ending was (its last
 * commands may still be landing in a destination: wait before scanning),
 * and -1 when another live process holds the state (OTHER_PID set). */
int mp_state_claim(mp_state *s, long *other_pid);
void mp_state_release(mp_state *s);

/* Note in the state what it is the state of, for `mailport state list`:
 * the two endpoints as given (the caller leaves out parameters and
 * passwords: the state never holds a secret) and now as the last run's
 * start. Returns 0 or -1. */
int mp_state_record_run(mp_state *s, const char *source, const char *dest);

/* What mp_state_record_run noted; NULL strings and a last_run of 0 when it
 * was never called (a file an earlier version wrote). Returns 0 or -1;
 * free with mp_state_about_free. */
typedef struct mp_state_about {
    char *source, *dest;
    int64_t last_run; /* seconds since the epoch */
} mp_state_about;
int mp_state_about_read(mp_state *s, mp_state_about *a);
void mp_state_about_free(mp_state_about *a);

/* The folder of the default state files (and destination locks):
 * $XDG_STATE_HOME/mailport, else ~/.local/state/mailport. Free it. */
char *mp_state_dir(void);

/* The last SQLite error text. */
const char *mp_state_error(mp_state *s);

/* The default state path for a SOURCE/DEST pair of endpoint displays:
 * $XDG_STATE_HOME/mailport/<readable>-<hash>.sqlite (or ~/.local/state). */
/* Create the missing parent folders of PATH, private (0700), as for a
 * state file. 0, or -1 with errno set. */
int mp_state_make_parents(const char *path);

char *mp_state_default_path(const char *source, const char *dest);

#endif
