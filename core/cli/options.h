/* Command-line options shared by copy, verify, list and batch (CLI.md). */
#ifndef MP_OPTIONS_H
#define MP_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp_folder_map {
    char *from, *to;
} mp_folder_map;

/* Source messages of one folder that the run leaves out because another
 * folder of the run holds the same message (a Gmail label: preset.h):
 * KEYS sorted by strcmp, N of them. */
typedef struct mp_folder_keys {
    char *folder;
    char **keys;
    size_t n;
} mp_folder_keys;

typedef struct mp_options {
    char **include, **exclude; /* globs over '/'-separated folder paths */
    size_t n_include, n_exclude;
    mp_folder_map *map;
    size_t n_map;
    int64_t since, before; /* MP_DATE_UNKNOWN when not given */
    uint64_t max_size;     /* 0: no limit */
    /* --max-messages-per-second, --max-bytes-per-second: the most the run
     * sends one destination account (core/engine/rate.h); 0: no limit. */
    double max_msgs_per_second;
    uint64_t max_bytes_per_second;
    int dry_run;
    int jobs;
    int automap;
    int delete_missing; /* --delete */
    int no_state;       /* --no-state: plan from content identity only */
    /* --repair: send a message a destination refuses or alters repaired
     * (core/engine/repair.h); verify recognises such copies. */
    int repair;
    char *state_path;
    char *report_path;
    int progress;  /* 1 on, 0 off, -1 automatic (a terminal) */
    /* batch: what the progress line names the job by ("job 3: alice@..."),
     * or NULL. Not an option; set for each job. */
    char *progress_label;
    int verbosity; /* 0 quiet, 1 normal, 2 -v, 3 -vv */
    char *shard;   /* batch: "K/N" */
    long job;      /* batch: --job N, the one job to run; -1 for all */
    int force;     /* batch: accept a job file readable by others */
    /* batch on imap-backup's config.json: the destination template of each
     * account's server (backup_to) or of its backup (upload_to). */
    char *backup_to, *upload_to;
    /* --preset KIND[:SIDE] (core/cli/preset.h): the host kind named for
     * the source, for the destination, and for whichever side it fits
     * ("gmail", "office365"; "none": no preset, none detected either),
     * or NULL. */
    char *preset_source, *preset_dest, *preset_any;
    /* Not options: what mp_preset_resolve made of them and of the hosts'
     * own words, per side: the kind whose preset applies, or NULL. */
    const char *src_host, *dst_host;
    /* Not options: what mp_preset_first_copies found (Gmail as a source),
     * per folder; freed by mp_options_free. */
    mp_folder_keys *left_out;
    size_t n_left_out;
    /* Positional arguments, in order. */
    char **args;
    size_t n_args;
} mp_options;

/* Parse ARGV (ARGV[0] is the command name). Returns 0; 2 after printing a
 * usage error to stderr; 1 when --help was printed (caller exits 0). */
int mp_options_parse(mp_options *o, const char *command, int argc, char **argv);
void mp_options_free(mp_options *o);

/* Does FOLDER pass --include/--exclude? */
int mp_options_folder_selected(const mp_options *o, const char *folder);

/* The warning for --include patterns that select none of the N FOLDERS
 * (malloc'd: the patterns and the folders there are), or NULL when each
 * selects at least one. */
char *mp_options_unmatched_includes(const mp_options *o, char *const *folders,
                                    size_t n);

/* FOLDER after --map (malloc'd). */
char *mp_options_map_folder(const mp_options *o, const char *folder);

/* Does a message of this date and size pass --since/--before/--max-size?
 * Returns 1, or 0 when filtered out. */
int mp_options_message_selected(const mp_options *o, int64_t date,
                                uint64_t size);

/* Is the message KEY of source folder FOLDER one the run leaves out
 * because another of its folders holds it (LEFT_OUT)? 1 or 0. */
int mp_options_left_out(const mp_options *o, const char *folder,
                        const char *key);

/* The help text of COMMAND ("" for the overview) on stdout. */
void mp_print_help(const char *command);

#endif
