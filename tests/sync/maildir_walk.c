#include "maildir_walk.h"

#include "digest.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void walk_sub(walked_dir *w, const char *dir, const char *sub)
{
    char *path = mp_strf("%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) {
        free(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        walked_msg m = {0};
        m.path = mp_strf("%s/%s", path, e->d_name);
        const char *info = strstr(e->d_name, ":2,");
        snprintf(m.flags, sizeof m.flags, "%s", info ? info + 3 : "");
        size_t len;
        char *data = mp_read_file(m.path, &len);
        mp_digest_buffer(data, len, m.hash);
        free(data);
        struct stat st;
        stat(m.path, &st);
        m.size = len;
        m.mtime = st.st_mtime;
        w->v = realloc(w->v, (w->n + 1) * sizeof *w->v);
        w->v[w->n++] = m;
    }
    closedir(d);
    free(path);
}

walked_dir walk_maildir(const char *dir)
{
    walked_dir w = {0};
    walk_sub(&w, dir, "cur");
    walk_sub(&w, dir, "new");
    return w;
}

void walked_free(walked_dir *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].path);
    free(w->v);
    w->v = NULL;
    w->n = 0;
}

long walked_find_hash(const walked_dir *w, const char *hash)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->v[i].hash, hash) == 0)
            return (long)i;
    return -1;
}

static int cmp_hash(const void *a, const void *b)
{
    return strcmp(((const walked_msg *)a)->hash, ((const walked_msg *)b)->hash);
}

int walked_same_contents(const walked_dir *a, const walked_dir *b)
{
    if (a->n != b->n)
        return 0;
    qsort(a->v, a->n, sizeof *a->v, cmp_hash);
    qsort(b->v, b->n, sizeof *b->v, cmp_hash);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].hash, b->v[i].hash) != 0)
            return 0;
    return 1;
}

void walked_set_flags(walked_msg *m, const char *flags)
{
    char *colon = strstr(m->path, ":2,");
    char *base =
        colon ? strndup(m->path, (size_t)(colon - m->path)) : strdup(m->path);
    char *to = mp_strf("%s:2,%s", base, flags);
    /* A message in new/ moves to cur/ when it gets flags. */
    char *in_new = strstr(to, "/new/");
    if (in_new)
        memcpy(in_new, "/cur/", 5);
    assert_int_equal(rename(m->path, to), 0);
    free(m->path);
    m->path = to;
    snprintf(m->flags, sizeof m->flags, "%s", flags);
    free(base);
}
