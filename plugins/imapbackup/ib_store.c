#include "ib_store.h"

#include "ib_name.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int ends_with(const char *s, size_t len, const char *tail)
{
    size_t t = strlen(tail);
    return len > t && memcmp(s + len - t, tail, t) == 0;
}

static int add_ref(ib_store *s, const char *name, const char *base)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        ib_folder_ref *g = realloc(s->v, cap * sizeof *g);
        if (!g)
            return -1;
        s->v = g;
        s->cap = cap;
    }
    ib_folder_ref r = {strdup(name), base ? strdup(base) : NULL};
    if (!r.name || (base && !r.base)) {
        free(r.name);
        free(r.base);
        return -1;
    }
    s->v[s->n++] = r;
    return 0;
}

static int is_regular(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* DIR/ENTRY is a file ending in ".mbox"; is its ".imap" beside it? */
static void check_orphan(ib_store *s, const char *dir, const char *entry,
                         size_t len)
{
    char *imap = NULL;
    if (asprintf(&imap, "%s/%.*s.imap", dir, (int)(len - 5), entry) < 0)
        return;
    if (!is_regular(imap))
        s->host->log(s->host, MP_LOG_WARN,
                     "%s/%s has no .imap index beside it, so it is not an "
                     "imap-backup folder; skipped (mbox:%s/%s reads it)",
                     dir, entry, dir, entry);
    free(imap);
}

/* The folder-name part for file-name part ENTRY (LEN bytes): escapes
 * undone, then the delimiter= character turned into '/' where that leaves
 * no part empty. NULL when out of memory. */
static char *leaf_name(const ib_store *s, const char *entry, size_t len)
{
    char *leaf = ib_name_decode(entry, len);
    char d = s->delimiter;
    if (!leaf || !d)
        return leaf;
    size_t n = strlen(leaf);
    for (size_t i = 0; i < n; i++)
        if (leaf[i] == d && i > 0 && i + 1 < n && leaf[i - 1] != '/' &&
            leaf[i + 1] != d)
            leaf[i] = '/';
    return leaf;
}

/* PREFIX/LEAF (just LEAF when PREFIX is ""), malloc'd; NULL when out of
 * memory. */
static char *child_name(const char *prefix, const char *leaf)
{
    size_t p = strlen(prefix), l = strlen(leaf);
    char *out = malloc(p + l + 2);
    if (!out)
        return NULL;
    memcpy(out, prefix, p);
    if (p)
        out[p++] = '/';
    memcpy(out + p, leaf, l + 1);
    return out;
}

static mp_status walk(ib_store *s, const char *dir, const char *prefix,
                      int depth)
{
    if (depth > 64) {
        s->host->set_error(s->host, MP_ERR_FORMAT,
                           "%s: folders nested too deeply", dir);
        return MP_FATAL;
    }
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) {
        s->host->set_error(s->host, MP_ERR_IO, "cannot read directory %s: %s",
                           dir, strerror(errno));
        return MP_FATAL;
    }
    mp_status st = MP_OK;
    for (int i = 0; i < n && st == MP_OK; i++) {
        const char *entry = list[i]->d_name;
        size_t len = strlen(entry);
        if (strcmp(entry, ".") == 0 || strcmp(entry, "..") == 0)
            continue;
        char *path = NULL, *name = NULL, *leaf = NULL;
        int oom = 0;
        struct stat lst;
        if (!(path = child_name(dir, entry))) {
            oom = 1;
        } else if (lstat(path, &lst) != 0) {
            /* gone meanwhile */
        } else if (S_ISDIR(lst.st_mode)) {
            /* Symlinked directories are not followed: they could loop. */
            oom = !(leaf = leaf_name(s, entry, len)) ||
                  !(name = child_name(prefix, leaf));
            if (!oom)
                st = walk(s, path, name, depth + 1);
        } else if (ends_with(entry, len, ".imap") && is_regular(path)) {
            path[strlen(path) - 5] = '\0';
            oom = !(leaf = leaf_name(s, entry, len - 5)) ||
                  !(name = child_name(prefix, leaf)) ||
                  add_ref(s, name, path) != 0;
        } else if (ends_with(entry, len, ".mbox") && is_regular(path)) {
            check_orphan(s, dir, entry, len);
        }
        if (oom) {
            s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
            st = MP_FATAL;
        }
        free(path);
        free(name);
        free(leaf);
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return st;
}

/* Folder names in tree order: '/' sorts before every other byte, so a
 * parent comes right before its children. */
static int tree_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned x = (unsigned char)*a, y = (unsigned char)*b;
        if (x == '/')
            x = 1;
        if (y == '/')
            y = 1;
        if (x != y)
            return x < y ? -1 : 1;
        if (!x)
            return 0;
    }
}

static int by_tree(const void *a, const void *b)
{
    const ib_folder_ref *x = a, *y = b;
    int c = tree_cmp(x->name, y->name);
    if (c)
        return c;
    /* A folder with files before a bare parent of the same name. */
    return (x->base == NULL) - (y->base == NULL);
}

/* Every parent of a folder, then sort, then drop repeats. */
static mp_status arrange(ib_store *s)
{
    size_t folders = s->n;
    for (size_t i = 0; i < folders; i++) {
        char *name = strdup(s->v[i].name);
        if (!name)
            return MP_FATAL;
        for (char *slash = strchr(name, '/'); slash;
             slash = strchr(slash + 1, '/')) {
            *slash = '\0';
            int rc = add_ref(s, name, NULL);
            *slash = '/';
            if (rc) {
                free(name);
                return MP_FATAL;
            }
        }
        free(name);
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, by_tree);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (w > 0 && strcmp(s->v[w - 1].name, s->v[i].name) == 0) {
            if (s->v[i].base)
                s->host->log(s->host, MP_LOG_WARN,
                             "%s.imap and %s.imap are both folder \"%s\"; "
                             "the second is skipped",
                             s->v[w - 1].base, s->v[i].base, s->v[i].name);
            free(s->v[i].name);
            free(s->v[i].base);
            continue;
        }
        s->v[w++] = s->v[i];
    }
    s->n = w;
    return MP_OK;
}

void ib_store_close(ib_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].base);
    }
    free(s->v);
    free(s->root);
    free(s);
}

mp_status ib_store_open(mp_host *host, const mp_endpoint *ep, ib_store **out)
{
    if (!ep->path || !*ep->path) {
        host->set_error(host, MP_ERR_USAGE,
                        "no directory given (imap-backup:PATH, PATH being an "
                        "account's backup directory)");
        return MP_FATAL;
    }
    struct stat sb;
    if (stat(ep->path, &sb) != 0) {
        host->set_error(host, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                        "cannot open %s: %s", ep->path, strerror(errno));
        return MP_FATAL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s is not a directory (imap-backup:PATH takes an "
                        "account's backup directory, the one holding "
                        "INBOX.imap and INBOX.mbox)",
                        ep->path);
        return MP_FATAL;
    }
    const char *delim = host->param(host, "delimiter", 0);
    if (delim && (strlen(delim) != 1 || *delim == '/' || *delim <= ' ' ||
                  *delim == 0x7f || host->param(host, "delimiter", 1))) {
        host->set_error(host, MP_ERR_USAGE,
                        "delimiter= takes one character other than '/' (the "
                        "backed-up server's hierarchy delimiter, such as "
                        "'.'), given once");
        return MP_FATAL;
    }
    ib_store *s = calloc(1, sizeof *s);
    if (!s || !(s->root = strdup(ep->path))) {
        free(s);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->host = host;
    s->delimiter = delim ? *delim : '\0';
    mp_status st = walk(s, s->root, "", 0);
    if (st == MP_OK && arrange(s) != MP_OK) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        st = MP_FATAL;
    }
    if (st == MP_OK && s->n == 0) {
        host->set_error(host, MP_ERR_NOTFOUND,
                        "%s holds no imap-backup folder (no NAME.imap file); "
                        "give an account's backup directory, the one holding "
                        "INBOX.imap and INBOX.mbox",
                        s->root);
        st = MP_FATAL;
    }
    if (st != MP_OK) {
        ib_store_close(s);
        return st;
    }
    *out = s;
    return MP_OK;
}

const ib_folder_ref *ib_store_find(const ib_store *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}
