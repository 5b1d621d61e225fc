#include "mbox_store.h"

#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

mp_status mbox_read_params(mp_host *host, const mp_endpoint *ep, int writing,
                           mbox_format *fmt)
{
    (void)ep; /* the core puts the endpoint before every error text */
    *fmt = MBOX_FORMAT_MBOXRD;
    const char *value = host->param(host, "format", 0);
    if (!value)
        return MP_OK;
    if (host->param(host, "format", 1)) {
        host->set_error(host, MP_ERR_USAGE,
                        "parameter format= given more than once");
        return MP_FATAL;
    }
    if (mbox_format_parse(value, fmt) != 0) {
        host->set_error(host, MP_ERR_USAGE,
                        "unknown mbox format \"%s\" in format= (use mboxrd, "
                        "mboxo, mboxcl or mboxcl2)",
                        value);
        return MP_FATAL;
    }
    if (writing && *fmt != MBOX_FORMAT_MBOXRD && *fmt != MBOX_FORMAT_MBOXO) {
        /* Writing Content-Length would mean holding each message whole
         * before its header can be written; not supported. */
        host->set_error(host, MP_ERR_USAGE,
                        "cannot write format %s (writable: mboxrd, mboxo)",
                        value);
        return MP_FATAL;
    }
    return MP_OK;
}

static void store_free(mbox_store *s)
{
    if (!s)
        return;
    free(s->root);
    free(s->display);
    free(s);
}

int mbox_make_dirs(const char *path, int whole)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    size_t n = strlen(p);
    if (!whole) {
        char *slash = strrchr(p, '/');
        if (!slash) {
            free(p);
            return 0;
        }
        *slash = '\0';
        n = strlen(p);
    }
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            errno = e;
            return -1;
        }
        p[i] = saved;
    }
    free(p);
    return 0;
}

mp_status mbox_store_prepare(mp_host *host, const mp_endpoint *ep, int probe,
                             int *is_dir_out)
{
    if (!ep->path || !*ep->path) {
        host->set_error(host, MP_ERR_USAGE, "no mbox path given");
        return MP_FATAL;
    }
    struct stat sb;
    int is_dir;
    if (stat(ep->path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) {
            host->set_error(host, MP_ERR_USAGE,
                            "%s is neither an mbox file nor a directory",
                            ep->path);
            return MP_FATAL;
        }
        is_dir = S_ISDIR(sb.st_mode);
    } else if (errno == ENOENT) {
        /* A new store: a trailing '/' asks for a directory of mbox files,
         * anything else is one file. */
        is_dir = ep->path[strlen(ep->path) - 1] == '/';
        int fd = -1, failed;
        if (probe)
            failed = mp_probe_mkdirs(AT_FDCWD, ep->path, is_dir) < 0 ||
                     (!is_dir && mp_probe_open(AT_FDCWD, ep->path, W_OK, 0));
        else
            failed = mbox_make_dirs(ep->path, is_dir) != 0 ||
                     (!is_dir && (fd = open(ep->path,
                                            O_WRONLY | O_CREAT | O_CLOEXEC,
                                            0600)) < 0);
        if (failed) {
            host->set_error(host, MP_ERR_IO, "cannot create mbox %s: %s",
                            ep->path, strerror(errno));
            return MP_FATAL;
        }
        if (fd >= 0)
            close(fd);
    } else {
        host->set_error(host, MP_ERR_IO, "cannot open mbox %s: %s", ep->path,
                        strerror(errno));
        return MP_FATAL;
    }
    *is_dir_out = is_dir;
    return MP_OK;
}

mp_status mbox_store_open(mp_host *host, const mp_endpoint *ep, mbox_format fmt,
                          int is_dir, void **out)
{
    mbox_store *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->host = host;
    s->root = strdup(ep->path);
    s->display = strdup(ep->display ? ep->display : ep->path);
    s->is_dir = is_dir;
    s->format = fmt;
    if (!s->root || !s->display) {
        store_free(s);
        goto oom;
    }
    /* "dir/" and "dir" are the same store; keep "/" itself intact. */
    size_t n = strlen(s->root);
    while (n > 1 && s->root[n - 1] == '/')
        s->root[--n] = '\0';
    *out = s;
    return MP_OK;
oom:
    host->set_error(host, MP_ERR_INTERNAL, "out of memory");
    return MP_FATAL;
}

void mbox_store_close(void *store)
{
    store_free(store);
}

const char *mbox_folder_name_problem(const char *name)
{
    if (!*name)
        return "empty folder name";
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0)
            return "empty path component";
        if (p[0] == '.')
            return "a component starts with '.' (hidden or a parent link)";
        if (n >= 4 && memcmp(p + n - 4, ".sbd", 4) == 0)
            return "a component ends in \".sbd\" (the suffix of sub-folder "
                   "directories)";
        if (!slash)
            return NULL;
        p = slash + 1;
    }
}

char *mbox_folder_path(mbox_store *s, const char *name, mp_status *st)
{
    *st = MP_FOLDER_BAD;
    if (!s->is_dir) {
        if (strcasecmp(name, "INBOX") != 0) {
            s->host->set_error(s->host, MP_ERR_NOTFOUND,
                               "%s: an mbox file holds only the folder INBOX, "
                               "not \"%s\" (use a directory for several)",
                               s->root, name);
            return NULL;
        }
        char *p = strdup(s->root);
        if (!p)
            s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        else
            *st = MP_OK;
        return p;
    }
    const char *problem = mbox_folder_name_problem(name);
    if (problem) {
        s->host->set_error(s->host, MP_ERR_USAGE,
                           "%s: refusing folder name \"%s\": %s", s->root, name,
                           problem);
        return NULL;
    }
    /* Parents: a plain directory of that name when there is one (mutt
     * style trees), else NAME.sbd (Thunderbird style), so that a folder can
     * hold messages and sub-folders at once. */
    size_t cap = strlen(s->root) + strlen(name) * 2 + 16;
    char *p = malloc(cap);
    if (!p) {
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    size_t len = (size_t)snprintf(p, cap, "%s", s->root);
    const char *c = name;
    for (;;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        len += (size_t)snprintf(p + len, cap - len, "/%.*s", (int)n, c);
        if (!slash)
            break;
        struct stat sb;
        if (!(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)))
            len += (size_t)snprintf(p + len, cap - len, ".sbd");
        c = slash + 1;
    }
    *st = MP_OK;
    return p;
}

uint64_t mbox_validity_of(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    return (uint64_t)st.st_ino;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Files Thunderbird keeps beside its mbox files, which are not folders:
 * each folder's summary index NAME.msf (rebuilt from the mbox when
 * missing), and the account's filter rules, POP state and logs. */
static int thunderbird_file(const char *name)
{
    static const char *const files[] = {"msgFilterRules.dat", "popstate.dat",
                                        "filterlog.html", "junklog.html"};
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".msf") == 0)
        return 1;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (strcmp(name, files[i]) == 0)
            return 1;
    return 0;
}

static int not_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Is DIR/ENTRY[0..LEN) a file (the folder owning a ".sbd" directory)? */
static int sibling_file(const char *dir, const char *entry, size_t len)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%.*s", dir, (int)len, entry) < 0)
        return 0;
    struct stat sb;
    int is_file = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    free(path);
    return is_file;
}

/* Walk directory DIR whose folder path is PREFIX ("" at the root). */
static mp_status walk(mbox_store *s, const char *dir, const char *prefix,
                      int depth, mp_folder_cb cb, void *ctx)
{
    if (depth > 64) {
        s->host->set_error(s->host, MP_ERR_FORMAT,
                           "%s: folders nested too deeply", dir);
        return MP_FATAL;
    }
    struct dirent **list = NULL;
    int n = scandir(dir, &list, not_hidden, by_name);
    if (n < 0) {
        s->host->set_error(s->host, MP_ERR_IO, "cannot read directory %s: %s",
                           dir, strerror(errno));
        return MP_FATAL;
    }
    mp_status st = MP_OK;
    for (int i = 0; i < n && st == MP_OK; i++) {
        const char *entry = list[i]->d_name;
        char *path = NULL, *name = NULL;
        if (asprintf(&path, "%s/%s", dir, entry) < 0 ||
            asprintf(&name, "%s%s%s", prefix, *prefix ? "/" : "", entry) < 0) {
            s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
            free(path);
            st = MP_FATAL;
            break;
        }
        /* "X.sbd" holds the sub-folders of folder X; X itself is listed
         * by its file, or here (no_select) when there is none. */
        size_t elen = strlen(entry);
        int sbd = elen > 4 && strcmp(entry + elen - 4, ".sbd") == 0;
        if (sbd)
            name[strlen(name) - 4] = '\0';
        struct stat lst, tst;
        if (lstat(path, &lst) == 0) {
            mp_folder_info info = {.struct_size = sizeof info,
                                   .name = name,
                                   .validity = (uint64_t)lst.st_ino,
                                   .count = -1};
            if (S_ISDIR(lst.st_mode)) {
                info.no_select = 1;
                if (!(sbd && sibling_file(dir, entry, elen - 4)))
                    st = cb(ctx, &info);
                if (st == MP_OK)
                    st = walk(s, path, name, depth + 1, cb, ctx);
            } else if (thunderbird_file(entry)) {
                /* Skipped quietly: a Thunderbird tree lists as its
                 * folders, with no error per index file. */
            } else if (S_ISREG(lst.st_mode) ||
                       (S_ISLNK(lst.st_mode) && stat(path, &tst) == 0 &&
                        S_ISREG(tst.st_mode))) {
                /* A symlink to a file counts; one to a directory does not
                 * (it could loop). */
                if (S_ISLNK(lst.st_mode))
                    info.validity = (uint64_t)tst.st_ino;
                if (!sbd)
                    st = cb(ctx, &info);
            }
        }
        free(path);
        free(name);
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return st;
}

mp_status mbox_list_folders(void *store, mp_folder_cb cb, void *ctx)
{
    mbox_store *s = store;
    if (!s->is_dir) {
        mp_folder_info info = {.struct_size = sizeof info,
                               .name = "INBOX",
                               .validity = mbox_validity_of(s->root),
                               .count = -1};
        return cb(ctx, &info);
    }
    return walk(s, s->root, "", 0, cb, ctx);
}
