/* mailport state list | forget: housekeeping of the sync state files that
 * copy keeps in the default state folder (mp_state_dir). A state file
 * given with --state lives where the user put it and is not listed. */
#include "state_cmd.h"
#include "commands.h"
#include "endpoint.h"
#include "log.h"
#include "pair.h"
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *mp_state_endpoint_shown(const char *url)
{
    char err[256];
    mp_url *u = mp_url_parse(url, err, sizeof err);
    char *out = NULL;
    if (!u) {
        /* Not a URL: at least no parameters. */
        out = strndup(url, strcspn(url, "?"));
    } else if (u->host) {
        char port[16] = "";
        if (u->ep.port)
            snprintf(port, sizeof port, ":%d", u->ep.port);
        if (asprintf(&out, "%s://%s%s%s%s%s", u->scheme, u->user ? u->user : "",
                     u->user ? "@" : "", u->host, port,
                     u->path ? u->path : "") < 0)
            out = NULL;
    } else {
        const char *path = u->path ? u->path : "";
        char cwd[PATH_MAX] = "";
        int relative = path[0] != '/';
        if (relative && !getcwd(cwd, sizeof cwd))
            relative = 0;
        while (relative && strncmp(path, "./", 2) == 0)
            path += 2;
        if (asprintf(&out, "%s:%s%s%s", u->scheme, relative ? cwd : "",
                     relative && *path ? "/" : "", path) < 0)
            out = NULL;
    }
    mp_url_free(u);
    return out;
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "mailport state: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'mailport state --help'.\n");
    return MP_EXIT_USAGE;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The state files in DIR (their full paths, sorted), *N of them. A folder
 * that does not exist holds none. Returns 0, or -1 with errno set. */
static int state_files(const char *dir, char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 7 || strcmp(e->d_name + len - 7, ".sqlite") != 0)
            continue;
        char **v = realloc(*paths, (*n + 1) * sizeof *v);
        if (!v)
            break;
        *paths = v;
        if (asprintf(&v[*n], "%s/%s", dir, e->d_name) >= 0)
            (*n)++;
    }
    closedir(d);
    if (*n) /* qsort's array may not be NULL, even for no elements */
        qsort(*paths, *n, sizeof **paths, by_name);
    return 0;
}

/* The default state folder (*DIR, free it) and its state files, as
 * state_files gives them. Returns 0, or -1 after saying why. */
static int state_folder(char **dir, char ***paths, size_t *n)
{
    *dir = mp_state_dir();
    if (*dir && state_files(*dir, paths, n) == 0)
        return 0;
    mp_error("cannot read the state folder %s: %s", *dir ? *dir : "?",
             strerror(errno));
    free(*dir);
    return -1;
}

/* The bytes the state takes: the database and its write-ahead log. */
static long long state_size(const char *path, time_t *mtime)
{
    struct stat st;
    long long size = 0;
    *mtime = 0;
    if (stat(path, &st) == 0) {
        size += st.st_size;
        *mtime = st.st_mtime;
    }
    char *wal = NULL;
    if (asprintf(&wal, "%s-wal", path) >= 0 && stat(wal, &st) == 0) {
        size += st.st_size;
        if (st.st_mtime > *mtime)
            *mtime = st.st_mtime;
    }
    free(wal);
    return size;
}

static void print_time(const char *label, time_t t)
{
    char when[64];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("  %-9s %s\n", label, when);
}

static int list_states(void)
{
    char *dir, **paths;
    size_t n;
    if (state_folder(&dir, &paths, &n) != 0)
        return MP_EXIT_FAILED;
    if (n == 0)
        printf("no sync state in %s\n", dir);
    for (size_t i = 0; i < n; i++) {
        char err[1024];
        mp_state_about a = {0};
        mp_state *s = mp_state_open_readonly(paths[i], err, sizeof err);
        if (s)
            mp_state_about_read(s, &a);
        mp_state_close(s);
        if (!s)
            printf("(not a usable state file: %s)\n", err);
        else if (a.source && a.dest)
            printf("%s -> %s\n", a.source, a.dest);
        else
            printf("(endpoints not recorded: written by an earlier mailport; "
                   "its next copy records them)\n");
        time_t mtime;
        long long size = state_size(paths[i], &mtime);
        printf("  %-9s %s\n", "file", paths[i]);
        printf("  %-9s %lld bytes\n", "size", size);
        if (a.last_run)
            print_time("last run", (time_t)a.last_run);
        else
            print_time("written", mtime);
        mp_state_about_free(&a);
        free(paths[i]);
    }
    free(paths);
    free(dir);
    return MP_EXIT_OK;
}

/* Remove the state file PATH (with its write-ahead log and index) unless a
 * live run is using it. Prints what it removed. Returns the exit code. */
static int forget_file(const char *path)
{
    char err[1024];
    mp_state *s = mp_state_open(path, err, sizeof err);
    if (!s) {
        mp_error("%s", err);
        return MP_EXIT_FAILED;
    }
    long other = 0;
    if (mp_state_claim(s, &other) < 0) {
        mp_error("another mailport (pid %ld) is using the sync state %s; "
                 "wait for it to finish",
                 other, path);
        mp_state_close(s);
        return MP_EXIT_USAGE;
    }
    mp_state_about a;
    mp_state_about_read(s, &a);
    mp_state_release(s);
    mp_state_close(s);
    int code = MP_EXIT_OK;
    static const char *const tails[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = NULL;
        if (asprintf(&p, "%s%s", path, tails[i]) < 0)
            continue;
        if (unlink(p) != 0 && errno != ENOENT) {
            mp_error("cannot remove %s: %s", p, strerror(errno));
            code = MP_EXIT_FAILED;
        }
        free(p);
    }
    if (code == MP_EXIT_OK) {
        if (a.source && a.dest)
            printf("forgot %s -> %s (%s)\n", a.source, a.dest, path);
        else
            printf("forgot %s\n", path);
    }
    mp_state_about_free(&a);
    return code;
}

static int forget_all(void)
{
    char *dir, **paths;
    size_t n;
    if (state_folder(&dir, &paths, &n) != 0)
        return MP_EXIT_FAILED;
    int worst = MP_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        int code = forget_file(paths[i]);
        if (code > worst)
            worst = code;
        free(paths[i]);
    }
    if (n == 0)
        printf("no sync state in %s\n", dir);
    free(paths);
    free(dir);
    return worst;
}

static int forget_pair(const char *state_path, const char *source,
                       const char *dest)
{
    mp_options opt = {0};
    opt.state_path = (char *)state_path;
    char *path = mp_pair_state_path(&opt, source, dest);
    if (!path)
        return MP_EXIT_FAILED;
    int code;
    if (access(path, F_OK) != 0) {
        char *s = mp_state_endpoint_shown(source),
             *d = mp_state_endpoint_shown(dest);
        mp_error("no sync state for %s -> %s (no file %s); 'mailport state "
                 "list' shows those there are",
                 s ? s : source, d ? d : dest, path);
        free(s);
        free(d);
        code = MP_EXIT_USAGE;
    } else {
        code = forget_file(path);
    }
    free(path);
    return code;
}

int mp_cmd_state(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub)
        return usage("expected list or forget%s", "");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            mp_print_help("state");
            return MP_EXIT_OK;
        }
    if (strcmp(sub, "list") == 0) {
        if (argc > 2)
            return usage("list takes no arguments, not \"%s\"", argv[2]);
        return list_states();
    }
    if (strcmp(sub, "forget") != 0)
        return usage("unknown subcommand \"%s\" (expected list or forget)",
                     sub);
    int all = 0;
    const char *state_path = NULL, *ends[2];
    int n_ends = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state_path = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return usage("unknown or incomplete option \"%s\"", argv[i]);
        else if (n_ends < 2)
            ends[n_ends++] = argv[i];
        else
            return usage("forget takes SOURCE DEST, not also \"%s\"", argv[i]);
    }
    if (all && (n_ends || state_path))
        return usage("forget --all takes no SOURCE DEST%s", "");
    if (all)
        return forget_all();
    if (state_path && n_ends == 0)
        ends[0] = ends[1] = ""; /* the file is named: no pair needed */
    else if (n_ends != 2)
        return usage("forget wants SOURCE DEST (or --all)%s", "");
    return forget_pair(state_path, ends[0], ends[1]);
}
