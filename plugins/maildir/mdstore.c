/* Maildir stores: open a root, list its folders, open one folder. */
#include "maildir.h"
#include "marker.h"
#include "mdsubs.h"
#include "mutf7.h"
#include "namesub.h"
#include "probe.h"
#include "special_use.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Small directory helpers.                                                  */

static int open_dir(int at, const char *path, int nofollow)
{
    return openat(at, path,
                  O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                      (nofollow ? O_NOFOLLOW : 0));
}

static int is_dir_at(int at, const char *path)
{
    struct stat st;
    return fstatat(at, path, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* A folder directory holds messages when it has cur/ or new/ (tmp/ is
 * optional for reading: notmuch and mu trees often lack it). */
static int is_maildir_at(int at, const char *rel)
{
    char p[PATH_MAX];
    const char *sep = *rel ? "/" : "";
    snprintf(p, sizeof p, "%s%scur", *rel ? rel : "", sep);
    if (is_dir_at(at, p))
        return 1;
    snprintf(p, sizeof p, "%s%snew", *rel ? rel : "", sep);
    return is_dir_at(at, p);
}

static DIR *opendir_at(int at, const char *rel)
{
    int fd = open_dir(at, *rel ? rel : ".", 0);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d)
        close(fd);
    return d;
}

/* Messages in cur/ and new/, counted by name only (no stat). */
static int64_t count_messages(int at, const char *rel)
{
    int64_t n = 0;
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s%s%s", rel, *rel ? "/" : "",
                 i ? "new" : "cur");
        DIR *d = opendir_at(at, p);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.' && e->d_type != DT_DIR)
                n++;
        closedir(d);
    }
    return n;
}

/* mkdir that accepts an existing directory: 1 made, 0 there already, -1
 * with errno. PROBE: only tell what it would do (mp_probe_create). */
static int mkdir_ok(int at, const char *path, int probe)
{
    if (probe)
        return mp_probe_create(at, path, 1);
    if (mkdirat(at, path, 0700) == 0)
        return 1;
    if (errno == EEXIST && is_dir_at(at, path))
        return 0;
    if (errno == EEXIST)
        errno = ENOTDIR;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Store.                                                                    */

/* mkdir -p for the root, every new level 0700 (PROBE: only check it
 * could be). */
static int make_root(const char *root, int probe)
{
    char *p = strdup(root);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (probe ? mp_probe_create(AT_FDCWD, p, 0) < 0
                  : mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = probe ? (mp_probe_create(AT_FDCWD, p, 0) < 0 ? -1 : 0)
             : mkdir(p, 0700) == 0 || errno == EEXIST ? 0
                                                      : -1;
    free(p);
    return rc;
}

static const char *const subdirs[] = {"cur", "new", "tmp"};

static int list_collect_count(md_store *s); /* below */

/* For the "not a Maildir" error: is there an MH .mh_sequences file in the
 * root or a directory right under it, or a Maildir right under it? */
static void look_around(int root_fd, int *mh, int *nested)
{
    struct stat st;
    *mh = fstatat(root_fd, ".mh_sequences", &st, 0) == 0;
    *nested = 0;
    DIR *d = opendir_at(root_fd, "");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !is_dir_at(root_fd, e->d_name))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/.mh_sequences", e->d_name);
        *mh |= fstatat(root_fd, p, &st, 0) == 0;
        *nested |= is_maildir_at(root_fd, e->d_name);
    }
    closedir(d);
}

mp_status md_store_open(mp_host *host, const mp_endpoint *ep, int writable,
                        md_store **out)
{
    const char *layout = host->param(host, "layout", 0);
    md_layout lay;
    if (!layout || strcmp(layout, "maildir++") == 0) {
        lay = MD_LAYOUT_MAILDIRPP;
    } else if (strcmp(layout, "fs") == 0) {
        lay = MD_LAYOUT_FS;
    } else {
        host->set_error(host, MP_ERR_USAGE,
                        "unknown layout \"%s\" (use maildir++ or fs)", layout);
        return MP_FATAL;
    }
    const char *sub = host->param(host, "delimiter_substitute", 0);
    char sub_err[256];
    if (sub && mp_substitute_check(sub, 0, sub_err, sizeof sub_err) != 0) {
        host->set_error(host, MP_ERR_USAGE, "%s: %s", ep->display, sub_err);
        return MP_FATAL;
    }
    if (!ep->path || !*ep->path) {
        host->set_error(host, MP_ERR_USAGE, "no Maildir path given");
        return MP_FATAL;
    }
    if (writable && make_root(ep->path, writable == MD_PROBE) != 0) {
        host->set_error(host, MP_ERR_IO, "cannot create %s: %s", ep->path,
                        strerror(errno));
        return MP_FATAL;
    }
    struct stat root_st;
    if (writable == MD_PROBE && stat(ep->path, &root_st) != 0 &&
        errno == ENOENT) {
        *out = NULL; /* the root would be made, and all in it */
        return MP_OK;
    }
    int fd = open_dir(AT_FDCWD, ep->path, 0);
    if (fd < 0) {
        int e = errno;
        host->set_error(host, e == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                        "cannot open directory %s: %s", ep->path, strerror(e));
        return MP_FATAL;
    }
    md_store *s = calloc(1, sizeof *s);
    if (!s || !(s->display = strdup(ep->display)) ||
        !(s->root = strdup(ep->path)) ||
        !(s->substitute = strdup(sub ? sub : MP_DEFAULT_SUBSTITUTE))) {
        if (s) {
            free(s->display);
            free(s->root);
        }
        free(s);
        close(fd);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->host = host;
    s->root_fd = fd;
    s->layout = lay;
    s->writable = writable;
    s->pid = (long)getpid();

    if (writable) {
        for (size_t i = 0; i < 3; i++) {
            if (mkdir_ok(fd, subdirs[i], writable == MD_PROBE) < 0) {
                host->set_error(host, MP_ERR_IO, "cannot create %s/%s: %s",
                                ep->path, subdirs[i], strerror(errno));
                md_store_close(s);
                return MP_FATAL;
            }
        }
        char hn[256] = "localhost";
        if (gethostname(hn, sizeof hn - 1) != 0 || !hn[0])
            strcpy(hn, "localhost");
        hn[sizeof hn - 1] = '\0';
        if (md_escape_hostname(hn, s->hostname, sizeof s->hostname) != 0)
            strcpy(s->hostname, "localhost");
    } else if (list_collect_count(s) == 0) {
        int mh = 0, nested = 0;
        look_around(fd, &mh, &nested);
        const char *hint = mh ? " (it looks like an MH folder)"
                           : nested && lay == MD_LAYOUT_MAILDIRPP
                               ? " (it holds nested Maildirs: try ?layout=fs)"
                               : "";
        host->set_error(host, MP_ERR_FORMAT,
                        "%s is not a Maildir: no cur/ or new/ in it or in "
                        "any %s folder under it%s",
                        ep->path,
                        lay == MD_LAYOUT_FS ? "fs-layout" : "Maildir++", hint);
        md_store_close(s);
        return MP_FATAL;
    }
    *out = s;
    return MP_OK;
}

void md_store_close(md_store *s)
{
    if (!s)
        return;
    if (s->root_fd >= 0)
        close(s->root_fd);
    free(s->display);
    free(s->root);
    free(s->substitute);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Listing.                                                                  */

typedef struct fent {
    char *name;
    char *rel; /* NULL for a parent that exists only by name */
    int no_select;
} fent;

typedef struct flist {
    fent *v;
    size_t n, cap;
    int oom;
} flist;

static void flist_add(flist *l, const char *name, const char *rel,
                      int no_select)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        fent *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    fent *e = &l->v[l->n];
    e->name = strdup(name);
    e->rel = rel ? strdup(rel) : NULL;
    e->no_select = no_select;
    if (!e->name || (rel && !e->rel)) {
        free(e->name);
        free(e->rel);
        l->oom = 1;
        return;
    }
    l->n++;
}

static void flist_free(flist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].rel);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* INBOX first, then by components, so that a parent comes right before its
 * children ('/' sorts below every other byte). */
static int name_order(const char *a, const char *b)
{
    int ia = strcmp(a, "INBOX") == 0, ib = strcmp(b, "INBOX") == 0;
    if (ia || ib)
        return ib - ia;
    for (;; a++, b++) {
        unsigned ca = *a == '/' ? 1 : (unsigned char)*a;
        unsigned cb = *b == '/' ? 1 : (unsigned char)*b;
        if (ca != cb)
            return (int)ca - (int)cb;
        if (!ca)
            return 0;
    }
}

static int fent_order(const void *a, const void *b)
{
    const fent *x = a, *y = b;
    int c = name_order(x->name, y->name);
    if (c)
        return c;
    /* Equal names: the selectable one first; it is the one kept. */
    return x->no_select - y->no_select;
}

static int flist_has(const flist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return 1;
    return 0;
}

static int fent_by_rel(const void *a, const void *b)
{
    return strcmp(((const fent *)a)->rel, ((const fent *)b)->rel);
}

/* A name for Maildir++ directory ENTRY, whose name decodes to no folder
 * name (an empty level: ".a..b", "..."; a control character; bytes that
 * are neither modified UTF-7 nor UTF-8): the directory name after its
 * leading dot as one flat name, each '.' and control character replaced by
 * the substitute and each byte of invalid UTF-8 by '?'. Malloc'd, or NULL
 * when out of memory. The folder is then copied under that name rather than
 * left out. */
static char *fallback_name(md_store *s, const char *entry)
{
    const char *in = entry + 1;
    size_t sub_len = strlen(s->substitute), cap = strlen(in) * sub_len + 8;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (*p == '.' || *p < 0x20 || *p == 0x7f) {
            memcpy(o, s->substitute, sub_len);
            o += sub_len;
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    char *probe = mp_mutf7_encode(out); /* NULL: not valid UTF-8 */
    if (probe)
        free(probe);
    else
        for (unsigned char *p = (unsigned char *)out; *p; p++)
            if (*p >= 0x80)
                *p = '?';
    if (!*out || md_is_inbox(out)) {
        char *named = NULL;
        if (asprintf(&named, "%s~2", *out ? out : s->substitute) < 0)
            named = NULL;
        free(out);
        out = named;
    }
    return out;
}

typedef struct renaming {
    const char *rel, *from; /* the directory and the name it read as */
    char *to;               /* the name it is listed as */
} renaming;

/* NAME with the name of its nearest renamed ancestor (a directory whose
 * name begins REL's and the ancestor's rel and a '.') replaced by the
 * ancestor's new name: children stay with their parent. Malloc'd. */
static char *follow_parent(const renaming *done, size_t n, const char *rel,
                           const char *name)
{
    const renaming *best = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t rl = strlen(done[i].rel), nl = strlen(done[i].from);
        if (strncmp(rel, done[i].rel, rl) == 0 && rel[rl] == '.' &&
            strncmp(name, done[i].from, nl) == 0 && name[nl] == '/' &&
            (!best || rl > strlen(best->rel)))
            best = &done[i];
    }
    char *out = NULL;
    if (!best)
        return strdup(name);
    if (asprintf(&out, "%s%s", best->to, name + strlen(best->from)) < 0)
        out = NULL;
    return out;
}

/* Add the folders of RENAMED (names with an escaped '/' substituted, or a
 * fallback name) to L, in the order of their directory names: a name
 * another folder already has ("GPR/GPA" beside a real "GPR_GPA") gets "~2",
 * "~3", ... so that no folder hides another, and the children of a folder
 * so renamed follow it. Warns once per store. Empties RENAMED. */
static void add_renamed(md_store *s, flist *l, flist *renamed)
{
    if (renamed->n)
        qsort(renamed->v, renamed->n, sizeof *renamed->v, fent_by_rel);
    renaming *done = calloc(renamed->n ? renamed->n : 1, sizeof *done);
    size_t n_done = 0;
    if (!done)
        l->oom = 1;
    for (size_t i = 0; i < renamed->n && !l->oom; i++) {
        const fent *e = &renamed->v[i];
        char *base = follow_parent(done, n_done, e->rel, e->name);
        char *name = base ? strdup(base) : NULL;
        for (int k = 2; name && flist_has(l, name); k++) {
            free(name);
            if (asprintf(&name, "%s~%d", base, k) < 0)
                name = NULL;
        }
        free(base);
        if (!name) {
            l->oom = 1;
            break;
        }
        if (strcmp(name, e->name) != 0) {
            if (!s->warned_renames)
                s->host->log(s->host, MP_LOG_WARN,
                             "%s: folder directory %s reads as \"%s\"; "
                             "it is listed as \"%s\" (another folder has "
                             "that name, or its parent's was changed)",
                             s->display, e->rel, e->name, name);
            done[n_done].rel = e->rel;
            done[n_done].from = e->name;
            done[n_done++].to = strdup(name);
        }
        flist_add(l, name, e->rel, 0);
        free(name);
    }
    if (n_done)
        s->warned_renames = 1;
    for (size_t i = 0; i < n_done; i++)
        free(done[i].to);
    free(done);
    flist_free(renamed);
}

static void collect_pp(md_store *s, flist *l)
{
    DIR *d = opendir_at(s->root_fd, "");
    if (!d)
        return;
    flist renamed = {0};
    int hinted = 0, fallbacks = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        if (n[0] != '.') {
            /* A nested Maildir here means the user wants layout=fs. */
            if (!hinted && strcmp(n, "cur") && strcmp(n, "new") &&
                strcmp(n, "tmp") && is_maildir_at(s->root_fd, n)) {
                s->host->log(s->host, MP_LOG_WARN,
                             "%s: directory %s is a Maildir but not a "
                             "Maildir++ folder (no leading '.'); it is "
                             "ignored (layout=fs reads nested folders)",
                             s->display, n);
                hinted = 1;
            }
            continue;
        }
        if (!is_dir_at(s->root_fd, n) || !is_maildir_at(s->root_fd, n))
            continue;
        int substituted = 0;
        char *name = md_pp_name_of_entry(n, s->substitute, &substituted);
        if (!name) {
            name = fallback_name(s, n);
            if (!name)
                continue;
            if (!s->warned_fallback)
                s->host->log(s->host, MP_LOG_WARN,
                             "%s: folder directory %s does not decode to a "
                             "folder name; it is read as \"%s\"",
                             s->display, n, name);
            fallbacks = 1;
            substituted = 1;
        }
        flist_add(substituted ? &renamed : l, name, n, 0);
        free(name);
    }
    closedir(d);
    s->warned_fallback |= fallbacks;
    add_renamed(s, l, &renamed);
}

/* Walk the fs layout below REL; returns whether any folder was added. */
static int collect_fs(md_store *s, flist *l, const char *rel, int depth)
{
    if (depth > 64) {
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: %s nests deeper than 64 levels; not descending",
                     s->display, rel);
        return 0;
    }
    DIR *d = opendir_at(s->root_fd, rel);
    if (!d)
        return 0;
    int added = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "cur") ||
            !strcmp(n, "new") || !strcmp(n, "tmp"))
            continue;
        /* Never follow a symlinked directory: no loops, no leaving the
         * tree. */
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
            continue;
        char child[PATH_MAX];
        if (snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", n) >=
            (int)sizeof child)
            continue;
        struct stat st;
        if (fstatat(s->root_fd, child, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode))
            continue;
        if (!md_fs_component_ok(n)) {
            s->host->log(s->host, MP_LOG_WARN,
                         "%s: skipping directory %s: not a usable folder "
                         "name (invalid UTF-8 or control characters)",
                         s->display, child);
            continue;
        }
        int selectable = is_maildir_at(s->root_fd, child);
        int kids = collect_fs(s, l, child, depth + 1);
        if (!*rel && md_is_inbox(n)) {
            /* The root is INBOX; a top-level "INBOX" directory would
             * be a second one. Its children are still listed. */
            if (selectable)
                s->host->log(s->host, MP_LOG_WARN,
                             "%s: directory %s clashes with INBOX (the root) "
                             "and is skipped",
                             s->display, child);
            added |= kids;
            continue;
        }
        if (selectable || kids) {
            flist_add(l, child, child, !selectable);
            added = 1;
        }
    }
    closedir(d);
    return added;
}

/* Every folder, sorted parents first, with missing Maildir++ parents as
 * no_select entries. */
static int collect(md_store *s, flist *l)
{
    memset(l, 0, sizeof *l);
    if (is_maildir_at(s->root_fd, ""))
        flist_add(l, "INBOX", "", 0);
    if (s->layout == MD_LAYOUT_FS)
        collect_fs(s, l, "", 0);
    else
        collect_pp(s, l);
    size_t real = l->n;
    for (size_t i = 0; i < real && !l->oom; i++) {
        char *name = strdup(l->v[i].name);
        if (!name) {
            l->oom = 1;
            break;
        }
        for (char *p = strchr(name, '/'); p; p = strchr(p + 1, '/')) {
            *p = '\0';
            flist_add(l, name, NULL, 1);
            *p = '/';
        }
        free(name);
    }
    if (l->oom) {
        flist_free(l);
        return -1;
    }
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, fent_order);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (w && strcmp(l->v[w - 1].name, l->v[i].name) == 0) {
            free(l->v[i].name);
            free(l->v[i].rel);
            continue;
        }
        l->v[w++] = l->v[i];
    }
    l->n = w;
    return 0;
}

static int list_collect_count(md_store *s)
{
    flist l;
    if (collect(s, &l) != 0)
        return -1;
    int n = 0;
    for (size_t i = 0; i < l.n; i++)
        n += !l.v[i].no_select;
    flist_free(&l);
    return n;
}

mp_status md_list_folders(md_store *s, mp_folder_cb cb, void *ctx)
{
    flist l;
    if (collect(s, &l) != 0) {
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    /* Without a subscriptions file the store keeps no subscriptions (a
     * Maildir no IMAP server has served): every folder is "unknown". */
    size_t len = 0;
    char *text = md_subs_read(s->root_fd, &len);
    char **subs = NULL;
    size_t n_subs = 0;
    if (!text && errno != ENOENT)
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: cannot read %s/" MD_SUBS_FILE
                     ": %s; subscriptions are not known",
                     s->display, s->root, strerror(errno));
    if (text && md_subs_parse(s->layout, text, len, &subs, &n_subs) != 0) {
        free(text);
        flist_free(&l);
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    mp_status st = MP_OK;
    for (size_t i = 0; i < l.n && st == MP_OK; i++) {
        int subscribed = MP_SUBSCRIPTION_UNKNOWN;
        for (size_t k = 0; text && k < n_subs && !subscribed; k++)
            if (strcmp(subs[k], l.v[i].name) == 0)
                subscribed = MP_SUBSCRIBED;
        if (text && !subscribed)
            subscribed = MP_UNSUBSCRIBED;
        mp_folder_info fi = {
            .subscribed = subscribed,
            .struct_size = sizeof fi,
            .name = l.v[i].name,
            .special_use = mp_special_use_by_name(l.v[i].name),
            .no_select = l.v[i].no_select,
            .validity = 1,
            .count =
                l.v[i].no_select ? 0 : count_messages(s->root_fd, l.v[i].rel),
        };
        st = cb(ctx, &fi);
    }
    /* Lines naming no folder (Dovecot keeps them when a folder is
     * deleted): subscriptions of no folder, so that a dry run knows the
     * folder it would create is subscribed already (plugin.h). */
    for (size_t k = 0; k < n_subs && st == MP_OK; k++) {
        int listed = 0;
        for (size_t i = 0; i < l.n && !listed; i++)
            listed = strcmp(subs[k], l.v[i].name) == 0;
        if (listed)
            continue;
        mp_folder_info fi = {
            .struct_size = sizeof fi,
            .name = subs[k],
            .no_select = 1,
            .count = -1,
            .subscribed = MP_SUBSCRIBED,
            .nonexistent = 1,
        };
        st = cb(ctx, &fi);
    }
    md_subs_free(subs, n_subs);
    free(text);
    flist_free(&l);
    return st;
}

mp_status md_subscribe(md_store *s, const char *name)
{
    const char *one[] = {name};
    if (md_subs_add(s->root_fd, s->layout, one, 1) != 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "cannot subscribe folder \"%s\" in %s/" MD_SUBS_FILE
                           ": %s",
                           name, s->root, strerror(errno));
        return MP_FOLDER_BAD;
    }
    return MP_OK;
}

/* ------------------------------------------------------------------------ */
/* Folders.                                                                  */

/* The Maildir++ directory the listing gives folder NAME although it is not
 * the canonical encoding of NAME (raw UTF-8 written by another tool, an
 * escaped '/' read through the substitute, a "~2" told apart), or NULL. */
static char *find_pp_alias(md_store *s, const char *name)
{
    flist l;
    if (collect(s, &l) != 0)
        return NULL;
    char *found = NULL;
    for (size_t i = 0; i < l.n && !found; i++)
        if (l.v[i].rel && !l.v[i].no_select && strcmp(l.v[i].name, name) == 0)
            found = strdup(l.v[i].rel);
    flist_free(&l);
    return found;
}

static mp_status folder_err(md_store *s, mp_error_kind kind, const char *name,
                            const char *what, const char *path, int err)
{
    s->host->set_error(s->host, kind, "folder \"%s\": %s %s/%s: %s", name, what,
                       s->root, path, strerror(err));
    return MP_FOLDER_BAD;
}

/* Create REL (every fs-layout level, refusing symlinks on the way) and its
 * cur/, new/, tmp/, plus Maildir++'s maildirfolder marker. */
static mp_status make_folder(md_folder *f)
{
    md_store *s = f->store;
    int probe = s->writable == MD_PROBE;
    char path[PATH_MAX];
    if (*f->rel) {
        size_t len = strlen(f->rel);
        for (size_t i = 0; i <= len; i++) {
            if (f->rel[i] != '/' && f->rel[i] != '\0')
                continue;
            memcpy(path, f->rel, i);
            path[i] = '\0';
            int r = mkdir_ok(s->root_fd, path, probe);
            if (r < 0)
                return folder_err(s, MP_ERR_IO, f->name, "cannot create", path,
                                  errno);
            f->created |= r;
            struct stat st;
            if (!(probe && r)) /* not only to be made */
                if (fstatat(s->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                    !S_ISDIR(st.st_mode))
                    return folder_err(s, MP_ERR_REFUSED, f->name,
                                      "refusing a symlink at", path, ELOOP);
        }
    }
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s%s", f->rel, *f->rel ? "/" : "",
                 subdirs[i]);
        int r = mkdir_ok(s->root_fd, path, probe);
        if (r < 0)
            return folder_err(s, MP_ERR_IO, f->name, "cannot create", path,
                              errno);
        f->created |= r;
    }
    if (s->layout == MD_LAYOUT_MAILDIRPP && *f->rel) {
        snprintf(path, sizeof path, "%s/maildirfolder", f->rel);
        int fd =
            probe ? mp_probe_open(s->root_fd, path, W_OK, 1)
                  : openat(s->root_fd, path,
                           O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return folder_err(s, MP_ERR_IO, f->name, "cannot create", path,
                              errno);
        if (!probe)
            close(fd);
    }
    return MP_OK;
}

void md_folder_free(md_folder *f)
{
    if (!f)
        return;
    if (f->put.open)
        md_put_abort(&f->put);
    md_pipe_stop(&f->pipe);
    int *fds[] = {&f->dir_fd, &f->cur_fd, &f->new_fd, &f->tmp_fd};
    for (size_t i = 0; i < 4; i++)
        if (*fds[i] >= 0)
            close(*fds[i]);
    md_keywords_free(&f->kw);
    md_index_free(&f->idx);
    free(f->buf);
    free(f->name);
    free(f->rel);
    free(f);
}

/* Any delivery, removal or flag change (a rename) touches cur/ or new/:
 * their modification times together tell whether the folder changed. */
static uint64_t change_marker(const md_folder *f)
{
    struct stat cur, nw;
    if (f->cur_fd < 0 || fstat(f->cur_fd, &cur) != 0)
        return 0;
    uint64_t m = mp_marker_fold(0, 1, &cur);
    if (f->new_fd >= 0 && fstat(f->new_fd, &nw) == 0)
        m = mp_marker_fold(m, 0, &nw);
    return m;
}

mp_status md_folder_open(md_store *s, const char *name, int create,
                         md_folder **out, mp_folder_info *info)
{
    char err[512];
    char *rel = md_folder_rel(s->layout, name, err, sizeof err);
    if (!rel) {
        s->host->set_error(s->host, MP_ERR_USAGE, "%s", err);
        return MP_FOLDER_BAD;
    }
    md_folder *f = calloc(1, sizeof *f);
    if (!f || !(f->buf = malloc(MD_IO_BUF)) ||
        !(f->name = strdup(md_is_inbox(name) ? "INBOX" : name))) {
        if (f)
            free(f->buf);
        free(f);
        free(rel);
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    f->store = s;
    f->rel = rel;
    f->dir_fd = f->cur_fd = f->new_fd = f->tmp_fd = -1;
    f->put.fd = -1;
    f->put.folder = f;

    mp_status st = MP_OK;
    if (!is_maildir_at(s->root_fd, rel) && s->layout == MD_LAYOUT_MAILDIRPP &&
        *rel) {
        /* A folder listed under NAME is that folder for writing too. */
        char *alias = find_pp_alias(s, f->name);
        if (alias) {
            free(f->rel);
            f->rel = alias;
        }
    }
    if (create)
        st = make_folder(f);
    if (s->writable == MD_PROBE) {
        md_folder_free(f); /* a probe stops where the sink made it */
        return st;
    }
    struct stat there;
    if (st == MP_OK && !is_maildir_at(s->root_fd, f->rel)) {
        /* Something not a directory where the folder would be: no folder
         * can be made there either (what a dry run must tell). */
        if (*f->rel &&
            fstatat(s->root_fd, f->rel, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISDIR(there.st_mode))
            st = folder_err(s, MP_ERR_IO, f->name, "cannot use", f->rel,
                            ENOTDIR);
        else
            st = folder_err(s, MP_ERR_NOTFOUND, f->name, "no such Maildir",
                            *f->rel ? f->rel : ".", ENOENT);
    }
    if (st == MP_OK) {
        /* The sink never follows a symlink it did not make. */
        f->dir_fd = open_dir(s->root_fd, *f->rel ? f->rel : ".", create);
        if (f->dir_fd < 0)
            st = folder_err(s, MP_ERR_IO, f->name, "cannot open",
                            *f->rel ? f->rel : ".", errno);
    }
    /* Errors name the path from the root ("src/.Foo/cur"), not just the
     * file's name inside the folder. */
    char path[PATH_MAX];
    const char *sep = *f->rel ? "/" : "";
    for (size_t i = 0; st == MP_OK && i < 3; i++) {
        int *fd = i == 0 ? &f->cur_fd : i == 1 ? &f->new_fd : &f->tmp_fd;
        *fd = open_dir(f->dir_fd, subdirs[i], create);
        if (*fd < 0 && (create || errno != ENOENT)) {
            int e = errno;
            snprintf(path, sizeof path, "%s%s%s", f->rel, sep, subdirs[i]);
            st = folder_err(s, MP_ERR_IO, f->name, "cannot open", path, e);
        }
    }
    md_pipe_init(&f->pipe, f->tmp_fd, f->cur_fd);
    if (st == MP_OK && md_keywords_load(f->dir_fd, &f->kw) != 0) {
        int e = errno;
        snprintf(path, sizeof path, "%s%sdovecot-keywords", f->rel, sep);
        st = folder_err(s, MP_ERR_IO, f->name, "cannot read", path, e);
    }
    if (st != MP_OK) {
        md_folder_free(f);
        return st;
    }
    if (info) {
        info->name = f->name;
        info->special_use = mp_special_use_by_name(f->name);
        info->no_select = 0;
        info->validity = 1;
        info->count = -1;
        info->change_marker = change_marker(f);
    }
    *out = f;
    return MP_OK;
}

mp_status md_folder_index(md_folder *f, int force)
{
    if (f->idx.loaded && !force)
        return MP_OK;
    if (md_index_load(&f->idx, f->cur_fd, f->new_fd) != 0) {
        md_store *s = f->store;
        s->host->set_error(s->host, MP_ERR_IO,
                           "folder \"%s\": cannot read %s/%s: %s", f->name,
                           s->root, *f->rel ? f->rel : ".", strerror(errno));
        return MP_FOLDER_BAD;
    }
    return MP_OK;
}

mp_status md_probe_sink(mp_host *host, const mp_endpoint *ep,
                        const char *folder)
{
    md_store *s = NULL;
    mp_status st = md_store_open(host, ep, MD_PROBE, &s);
    if (st == MP_OK && folder && s) {
        md_folder *f = NULL;
        st = md_folder_open(s, folder, 1, &f, NULL);
    } else if (st == MP_OK && folder) {
        /* A root still to be made holds nothing in the way: only the
         * name can be refused. */
        char err[512];
        md_layout lay = MD_LAYOUT_MAILDIRPP;
        const char *layout = host->param(host, "layout", 0);
        if (layout && strcmp(layout, "fs") == 0)
            lay = MD_LAYOUT_FS;
        char *rel = md_folder_rel(lay, folder, err, sizeof err);
        if (!rel) {
            host->set_error(host, MP_ERR_USAGE, "%s", err);
            st = MP_FOLDER_BAD;
        }
        free(rel);
    }
    md_store_close(s);
    return st;
}
