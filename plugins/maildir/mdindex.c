/* Directory listing of a Maildir folder with a key -> file hash. */
#include "mdindex.h"

#include "mdname.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int rehash(md_index *idx, size_t nslots)
{
    size_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < idx->n; i++) {
        size_t s = hash_key(idx->v[i].key) & (nslots - 1);
        while (slots[s])
            s = (s + 1) & (nslots - 1);
        slots[s] = i + 1;
    }
    free(idx->slots);
    idx->slots = slots;
    idx->nslots = nslots;
    return 0;
}

md_entry *md_index_find(const md_index *idx, const char *key)
{
    if (!idx->nslots)
        return NULL;
    size_t s = hash_key(key) & (idx->nslots - 1);
    for (; idx->slots[s]; s = (s + 1) & (idx->nslots - 1)) {
        md_entry *e = &idx->v[idx->slots[s] - 1];
        if (strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

/* Append without hashing (the caller rehashes). */
static md_entry *push(md_index *idx, char *key, char *name, int sub)
{
    if (idx->n == idx->cap) {
        size_t cap = idx->cap ? idx->cap * 2 : 64;
        md_entry *v = realloc(idx->v, cap * sizeof *v);
        if (!v)
            return NULL;
        idx->v = v;
        idx->cap = cap;
    }
    md_entry *e = &idx->v[idx->n++];
    e->key = key;
    e->name = name;
    e->sub = sub;
    return e;
}

md_entry *md_index_add(md_index *idx, const char *key, const char *name,
                       int sub)
{
    char *k = strdup(key), *n = strdup(name);
    if (!k || !n || (idx->n + 1) * 2 > idx->nslots) {
        size_t want = idx->nslots ? idx->nslots : 128;
        while ((idx->n + 1) * 2 > want)
            want *= 2;
        if (!k || !n || (want != idx->nslots && rehash(idx, want) != 0)) {
            free(k);
            free(n);
            return NULL;
        }
    }
    md_entry *e = push(idx, k, n, sub);
    if (!e) {
        free(k);
        free(n);
        return NULL;
    }
    size_t s = hash_key(k) & (idx->nslots - 1);
    while (idx->slots[s])
        s = (s + 1) & (idx->nslots - 1);
    idx->slots[s] = idx->n;
    return e;
}

int md_index_rename(md_entry *e, const char *new_name, int sub)
{
    char *n = strdup(new_name);
    if (!n)
        return -1;
    free(e->name);
    e->name = n;
    e->sub = sub;
    return 0;
}

static int is_message_file(int dfd, const struct dirent *d)
{
    if (d->d_name[0] == '.')
        return 0; /* ".", "..", and hidden control files (.noindex, ...) */
    if (d->d_type == DT_REG)
        return 1;
    if (d->d_type != DT_UNKNOWN && d->d_type != DT_LNK)
        return 0;
    /* Follow symlinks: mairix and friends link to messages elsewhere. */
    struct stat st;
    return fstatat(dfd, d->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

static int read_dir(md_index *idx, int fd, int sub)
{
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0)
        return -1;
    DIR *dir = fdopendir(dup_fd);
    if (!dir) {
        close(dup_fd);
        return -1;
    }
    struct dirent *d;
    errno = 0;
    while ((d = readdir(dir))) {
        if (!is_message_file(fd, d)) {
            errno = 0;
            continue;
        }
        md_name_info ni;
        md_name_parse(d->d_name, &ni);
        char *key = strndup(d->d_name, ni.key_len);
        char *name = strdup(d->d_name);
        if (!key || !name || !push(idx, key, name, sub)) {
            free(key);
            free(name);
            closedir(dir);
            errno = ENOMEM;
            return -1;
        }
        errno = 0;
    }
    int err = errno;
    closedir(dir);
    errno = err;
    return err ? -1 : 0;
}

static int by_key(const void *a, const void *b)
{
    const md_entry *x = a, *y = b;
    int c = strverscmp(x->key, y->key);
    if (c)
        return c;
    return x->sub - y->sub; /* cur/ before new/ for a duplicated key */
}

/* Re-key every entry whose key repeats the one before it (sorted input). */
static int disambiguate(md_index *idx)
{
    for (size_t i = 1; i < idx->n; i++) {
        if (strcmp(idx->v[i].key, idx->v[i - 1].key) != 0)
            continue;
        size_t len = strlen(idx->v[i].name) + 5;
        char *k = malloc(len);
        if (!k)
            return -1;
        memcpy(k, idx->v[i].sub == MD_SUB_NEW ? "new/" : "cur/", 4);
        memcpy(k + 4, idx->v[i].name, len - 4);
        free(idx->v[i].key);
        idx->v[i].key = k;
    }
    return 0;
}

int md_index_load(md_index *idx, int fd_cur, int fd_new)
{
    md_index_free(idx);
    if ((fd_cur >= 0 && read_dir(idx, fd_cur, MD_SUB_CUR) != 0) ||
        (fd_new >= 0 && read_dir(idx, fd_new, MD_SUB_NEW) != 0)) {
        int e = errno;
        md_index_free(idx);
        errno = e;
        return -1;
    }
    if (idx->n)
        qsort(idx->v, idx->n, sizeof *idx->v, by_key);
    size_t nslots = 128;
    while (nslots < idx->n * 2)
        nslots *= 2;
    if (disambiguate(idx) != 0 || rehash(idx, nslots) != 0) {
        md_index_free(idx);
        errno = ENOMEM;
        return -1;
    }
    idx->loaded = 1;
    return 0;
}

void md_index_free(md_index *idx)
{
    for (size_t i = 0; i < idx->n; i++) {
        free(idx->v[i].key);
        free(idx->v[i].name);
    }
    free(idx->v);
    free(idx->slots);
    memset(idx, 0, sizeof *idx);
}
