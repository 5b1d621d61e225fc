#include "options.h"

#include <mailport/plugin.h>

#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    OPT_INCLUDE = 256,
    OPT_EXCLUDE,
    OPT_MAP,
    OPT_SINCE,
    OPT_BEFORE,
    OPT_MAX_SIZE,
    OPT_MAX_MSGS_PER_SECOND,
    OPT_MAX_BYTES_PER_SECOND,
    OPT_DRY_RUN,
    OPT_JOBS,
    OPT_STATE,
    OPT_NO_STATE,
    OPT_REPORT,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_AUTOMAP,
    OPT_DELETE,
    OPT_SHARD,
    OPT_FORCE,
    OPT_BACKUP_TO,
    OPT_UPLOAD_TO,
    OPT_JOB,
    OPT_REPAIR,
    OPT_PRESET,
};

static const struct option long_options[] = {
    {"include", required_argument, NULL, OPT_INCLUDE},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"map", required_argument, NULL, OPT_MAP},
    {"since", required_argument, NULL, OPT_SINCE},
    {"before", required_argument, NULL, OPT_BEFORE},
    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
    {"max-messages-per-second", required_argument, NULL,
     OPT_MAX_MSGS_PER_SECOND},
    {"max-bytes-per-second", required_argument, NULL, OPT_MAX_BYTES_PER_SECOND},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"state", required_argument, NULL, OPT_STATE},
    {"no-state", no_argument, NULL, OPT_NO_STATE},
    {"repair", no_argument, NULL, OPT_REPAIR},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"report", required_argument, NULL, OPT_REPORT},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"automap", no_argument, NULL, OPT_AUTOMAP},
    {"delete", no_argument, NULL, OPT_DELETE},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"force", no_argument, NULL, OPT_FORCE},
    {"job", required_argument, NULL, OPT_JOB},
    {"backup-to", required_argument, NULL, OPT_BACKUP_TO},
    {"upload-to", required_argument, NULL, OPT_UPLOAD_TO},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Which commands take which option: a command given another command's
 * option says so at once instead of ignoring it (`list --jobs 3`). batch
 * takes every option of copy, for its jobs. */
enum {
    CMD_COPY = 1 << 0,
    CMD_VERIFY = 1 << 1,
    CMD_LIST = 1 << 2,
    CMD_BATCH = 1 << 3,
    CMD_PLUGINS = 1 << 4,
    CMD_ANY = 0xff,
};

static const struct {
    int option;
    unsigned commands;
} option_commands[] = {
    {OPT_INCLUDE, CMD_COPY | CMD_VERIFY | CMD_LIST | CMD_BATCH},
    {OPT_EXCLUDE, CMD_COPY | CMD_VERIFY | CMD_LIST | CMD_BATCH},
    {OPT_MAP, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_AUTOMAP, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_SINCE, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_BEFORE, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_MAX_SIZE, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_STATE, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_NO_STATE, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_REPORT, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_REPAIR, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_PRESET, CMD_COPY | CMD_VERIFY | CMD_BATCH},
    {OPT_MAX_MSGS_PER_SECOND, CMD_COPY | CMD_BATCH},
    {OPT_MAX_BYTES_PER_SECOND, CMD_COPY | CMD_BATCH},
    {OPT_DRY_RUN, CMD_COPY | CMD_BATCH},
    {OPT_DELETE, CMD_COPY | CMD_BATCH},
    {OPT_JOBS, CMD_COPY | CMD_BATCH},
    {OPT_PROGRESS, CMD_COPY | CMD_BATCH},
    {OPT_NO_PROGRESS, CMD_COPY | CMD_BATCH},
    {OPT_SHARD, CMD_BATCH},
    {OPT_FORCE, CMD_BATCH},
    {OPT_JOB, CMD_BATCH},
    {OPT_BACKUP_TO, CMD_BATCH},
    {OPT_UPLOAD_TO, CMD_BATCH},
};

static const char *const command_names[] = {"copy", "verify", "list", "batch",
                                            "plugins"};

static unsigned command_bit(const char *command)
{
    for (size_t i = 0; i < sizeof command_names / sizeof *command_names; i++)
        if (strcmp(command, command_names[i]) == 0)
            return 1u << i;
    return CMD_ANY; /* a caller of its own: no check */
}

static unsigned commands_of(int option)
{
    for (size_t i = 0; i < sizeof option_commands / sizeof *option_commands;
         i++)
        if (option_commands[i].option == option)
            return option_commands[i].commands;
    return CMD_ANY; /* -q, -v, -h */
}

/* "--jobs is not an option of list (copy and batch take it)". */
static int foreign_option(const char *command, const char *spelled,
                          unsigned commands)
{
    char takers[64] = "";
    size_t n = 0, k = 0;
    for (size_t i = 0; i < sizeof command_names / sizeof *command_names; i++)
        n += (commands >> i) & 1;
    for (size_t i = 0; i < sizeof command_names / sizeof *command_names; i++) {
        if (!((commands >> i) & 1))
            continue;
        k++;
        size_t len = strlen(takers);
        snprintf(takers + len, sizeof takers - len, "%s%s",
                 k == 1 ? "" : k == n ? " and " : ", ", command_names[i]);
    }
    fprintf(stderr,
            "mailport %s: %s is not an option of %s (%s take%s it)\n"
            "Try 'mailport %s --help'.\n",
            command, spelled, command, takers, n == 1 ? "s" : "", command);
    return 2;
}

static void push(char ***v, size_t *n, const char *s)
{
    *v = realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = strdup(s);
}

/* "YYYY-MM-DD" as midnight UTC; -1 on a malformed date. */
static int parse_day(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end || *end)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int usage_error(const char *command, const char *fmt, const char *arg)
{
    fprintf(stderr, "mailport %s: ", command);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'mailport %s --help'.\n", command);
    return 2;
}

int mp_options_parse(mp_options *o, const char *command, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->since = o->before = MP_DATE_UNKNOWN;
    o->jobs = 1;
    o->progress = -1;
    o->verbosity = 1;
    o->job = -1;
    optind = 1;
    opterr = 0;
    int c;
    unsigned this_command = command_bit(command);
    while ((c = getopt_long(argc, argv, "qvh", long_options, NULL)) != -1) {
        if (c != '?' && c != ':' && !(commands_of(c) & this_command)) {
            /* The option as typed, without a "=VALUE" glued to it. */
            const char *typed = argv[optind - 1];
            if (optarg && typed == optarg && optind >= 2)
                typed = argv[optind - 2];
            char spelled[64];
            snprintf(spelled, sizeof spelled, "%.*s",
                     (int)strcspn(typed, "="), typed);
            return foreign_option(command, spelled, commands_of(c));
        }
        switch (c) {
        case OPT_INCLUDE:
            push(&o->include, &o->n_include, optarg);
            break;
        case OPT_EXCLUDE:
            push(&o->exclude, &o->n_exclude, optarg);
            break;
        case OPT_MAP: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1])
                return usage_error(command, "--map wants OLD=NEW, not \"%s\"",
                                   optarg);
            o->map = realloc(o->map, (o->n_map + 1) * sizeof *o->map);
            o->map[o->n_map].from = strndup(optarg, (size_t)(eq - optarg));
            o->map[o->n_map++].to = strdup(eq + 1);
            break;
        }
        case OPT_SINCE:
        case OPT_BEFORE:
            if (parse_day(optarg, c == OPT_SINCE ? &o->since : &o->before))
                return usage_error(
                    command, "bad date \"%s\": expected YYYY-MM-DD", optarg);
            break;
        case OPT_MAX_SIZE: {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (end == optarg || *end || v == 0)
                return usage_error(command,
                                   "--max-size wants a number of bytes, not "
                                   "\"%s\"",
                                   optarg);
            o->max_size = v;
            break;
        }
        case OPT_MAX_MSGS_PER_SECOND: {
            /* A fraction is allowed: 0.5 is one message every 2 s. */
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v > 0) || v > 1e6)
                return usage_error(command,
                                   "--max-messages-per-second wants a "
                                   "positive number, not \"%s\"",
                                   optarg);
            o->max_msgs_per_second = v;
            break;
        }
        case OPT_MAX_BYTES_PER_SECOND: {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (end == optarg || *end || v == 0 || optarg[0] == '-')
                return usage_error(command,
                                   "--max-bytes-per-second wants a number of "
                                   "bytes, not \"%s\"",
                                   optarg);
            o->max_bytes_per_second = v;
            break;
        }
        case OPT_DRY_RUN:
            o->dry_run = 1;
            break;
        case OPT_JOBS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64)
                return usage_error(command,
                                   "--jobs wants a number from 1 to 64, not "
                                   "\"%s\"",
                                   optarg);
            o->jobs = (int)v;
            break;
        }
        case OPT_STATE:
            free(o->state_path);
            o->state_path = strdup(optarg);
            break;
        case OPT_NO_STATE:
            o->no_state = 1;
            break;
        case OPT_REPAIR:
            o->repair = 1;
            break;
        case OPT_PRESET: {
            /* KIND, KIND:source or KIND:dest (preset.h); KIND "none"
             * turns the side's presets off, detection included. */
            const char *colon = strchr(optarg, ':');
            size_t klen = colon ? (size_t)(colon - optarg) : strlen(optarg);
            const char *side = colon ? colon + 1 : "";
            char **slot = !*side                        ? &o->preset_any
                          : strcmp(side, "source") == 0 ? &o->preset_source
                          : strcmp(side, "dest") == 0   ? &o->preset_dest
                                                        : NULL;
            int known = (klen == 5 && strncmp(optarg, "gmail", 5) == 0) ||
                        (klen == 9 && strncmp(optarg, "office365", 9) == 0) ||
                        (klen == 4 && strncmp(optarg, "none", 4) == 0);
            if (!slot || !known || (colon && !*side))
                return usage_error(command,
                                   "--preset wants gmail, office365 or none, "
                                   "optionally followed by :source or :dest, "
                                   "not \"%s\"",
                                   optarg);
            free(*slot);
            *slot = strndup(optarg, klen);
            break;
        }
        case OPT_REPORT:
            free(o->report_path);
            o->report_path = strdup(optarg);
            break;
        case OPT_PROGRESS:
            o->progress = 1;
            break;
        case OPT_NO_PROGRESS:
            o->progress = 0;
            break;
        case OPT_AUTOMAP:
            o->automap = 1;
            break;
        case OPT_DELETE:
            o->delete_missing = 1;
            break;
        case OPT_SHARD:
            free(o->shard);
            o->shard = strdup(optarg);
            break;
        case OPT_FORCE:
            o->force = 1;
            break;
        case OPT_JOB: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0)
                return usage_error(command,
                                   "--job wants a job index (0, 1, ...), not "
                                   "\"%s\"",
                                   optarg);
            o->job = v;
            break;
        }
        case OPT_BACKUP_TO:
        case OPT_UPLOAD_TO:
            /* Templates for the accounts of imap-backup's config.json. */
            free(c == OPT_BACKUP_TO ? o->backup_to : o->upload_to);
            *(c == OPT_BACKUP_TO ? &o->backup_to : &o->upload_to) =
                strdup(optarg);
            break;
        case 'q':
            o->verbosity = 0;
            o->progress = 0;
            break;
        case 'v':
            o->verbosity = o->verbosity < 1 ? 2 : o->verbosity + 1;
            break;
        case 'h':
            mp_print_help(command);
            return 1;
        default:
            return usage_error(command, "unknown or incomplete option \"%s\"",
                               argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++)
        push(&o->args, &o->n_args, argv[i]);
    return 0;
}

void mp_options_free(mp_options *o)
{
    for (size_t i = 0; i < o->n_include; i++)
        free(o->include[i]);
    for (size_t i = 0; i < o->n_exclude; i++)
        free(o->exclude[i]);
    for (size_t i = 0; i < o->n_map; i++) {
        free(o->map[i].from);
        free(o->map[i].to);
    }
    for (size_t i = 0; i < o->n_args; i++)
        free(o->args[i]);
    free(o->progress_label);
    free(o->include);
    free(o->exclude);
    free(o->map);
    free(o->args);
    free(o->state_path);
    free(o->report_path);
    free(o->shard);
    free(o->backup_to);
    free(o->upload_to);
    free(o->preset_source);
    free(o->preset_dest);
    free(o->preset_any);
    for (size_t i = 0; i < o->n_left_out; i++) {
        for (size_t k = 0; k < o->left_out[i].n; k++)
            free(o->left_out[i].keys[k]);
        free(o->left_out[i].keys);
        free(o->left_out[i].folder);
    }
    free(o->left_out);
    memset(o, 0, sizeof *o);
}

/* '*' matches across '/' so that "Archive*" takes the whole subtree; a glob
 * also selects the children of a folder it matches ("Lists" takes
 * "Lists/dev"). */
static int glob_matches(const char *glob, const char *folder)
{
    if (fnmatch(glob, folder, 0) == 0)
        return 1;
    size_t n = strlen(folder);
    char *prefix = strdup(folder);
    int hit = 0;
    for (size_t i = n; i > 0 && !hit; i--) {
        if (folder[i - 1] != '/')
            continue;
        prefix[i - 1] = '\0';
        hit = fnmatch(glob, prefix, 0) == 0;
    }
    free(prefix);
    return hit;
}

char *mp_options_unmatched_includes(const mp_options *o, char *const *folders,
                                    size_t n)
{
    char *pats = NULL, *names = NULL;
    size_t plen = 0, nlen = 0, unmatched = 0;
    FILE *p = open_memstream(&pats, &plen);
    for (size_t i = 0; p && i < o->n_include; i++) {
        size_t k = 0;
        while (k < n && !glob_matches(o->include[i], folders[k]))
            k++;
        if (k == n)
            fprintf(p, "%s\"%s\"", unmatched++ ? ", " : "", o->include[i]);
    }
    if (p)
        fclose(p);
    if (!unmatched) {
        free(pats);
        return NULL;
    }
    /* The folders there are, so that the right spelling is at hand; a
     * store with thousands is cut short. */
    FILE *l = open_memstream(&names, &nlen);
    for (size_t k = 0; l && k < n && k < 40; k++)
        fprintf(l, "%s%s", k ? ", " : "", folders[k]);
    if (l && n > 40)
        fprintf(l, " and %zu more", n - 40);
    if (l && n == 0)
        fputs("none", l);
    if (l)
        fclose(l);
    char *out = NULL;
    if (asprintf(&out, "--include %s matched no folder; folders are: %s", pats,
                 names ? names : "?") < 0)
        out = NULL;
    free(pats);
    free(names);
    return out;
}

int mp_options_folder_selected(const mp_options *o, const char *folder)
{
    for (size_t i = 0; i < o->n_exclude; i++)
        if (glob_matches(o->exclude[i], folder))
            return 0;
    if (o->n_include == 0)
        return 1;
    for (size_t i = 0; i < o->n_include; i++)
        if (glob_matches(o->include[i], folder))
            return 1;
    return 0;
}

char *mp_options_map_folder(const mp_options *o, const char *folder)
{
    /* The longest matching prefix wins, so a specific rule beats a general. */
    const mp_folder_map *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < o->n_map; i++) {
        size_t len = strlen(o->map[i].from);
        if (strncmp(folder, o->map[i].from, len) == 0 &&
            (folder[len] == '\0' || folder[len] == '/') && len > best_len) {
            best = &o->map[i];
            best_len = len;
        }
    }
    if (!best)
        return strdup(folder);
    char *out = NULL;
    if (asprintf(&out, "%s%s", best->to, folder + best_len) < 0)
        return NULL;
    return out;
}

int mp_options_message_selected(const mp_options *o, int64_t date,
                                uint64_t size)
{
    if (o->max_size && size > o->max_size)
        return 0;
    if (date == MP_DATE_UNKNOWN)
        return o->since == MP_DATE_UNKNOWN && o->before == MP_DATE_UNKNOWN;
    if (o->since != MP_DATE_UNKNOWN && date < o->since)
        return 0;
    if (o->before != MP_DATE_UNKNOWN && date >= o->before)
        return 0;
    return 1;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mp_options_left_out(const mp_options *o, const char *folder,
                        const char *key)
{
    for (size_t i = 0; i < o->n_left_out; i++)
        if (strcmp(o->left_out[i].folder, folder) == 0)
            return bsearch(&key, o->left_out[i].keys, o->left_out[i].n,
                           sizeof *o->left_out[i].keys, cmp_key) != NULL;
    return 0;
}
