#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mp_probe_create(int at, const char *path, int dir)
{
    struct stat st;
    if (fstatat(at, path, &st, 0) == 0) {
        if (dir && !S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT)
        return -1;
    /* The parent: everything before the last '/' (a trailing one is no
     * component), or AT itself. */
    char parent[PATH_MAX];
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n >= sizeof parent) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (n == 0)
        snprintf(parent, sizeof parent, "%s", path[0] == '/' ? "/" : ".");
    else
        snprintf(parent, sizeof parent, "%.*s", (int)n, path);
    if (fstatat(at, parent, &st, 0) != 0)
        return errno == ENOENT ? 1 : -1; /* made by an upper level first */
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return faccessat(at, parent, W_OK | X_OK, AT_EACCESS) == 0 ? 1 : -1;
}

int mp_probe_mkdirs(int at, const char *path, int whole)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    size_t n = strlen(p);
    if (!whole) {
        char *slash = strrchr(p, '/');
        if (!slash)
            return 0;
        *slash = '\0';
        n = strlen(p);
    }
    int r = 0;
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        r = mp_probe_create(at, p, 1);
        p[i] = saved;
        if (r < 0)
            return -1;
    }
    return r;
}

int mp_probe_open(int at, const char *path, int amode, int nofollow)
{
    struct stat st;
    if (fstatat(at, path, &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) != 0)
        return errno == ENOENT && mp_probe_create(at, path, 0) >= 0 ? 0 : -1;
    if (S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return -1;
    }
    return faccessat(at, path, amode, AT_EACCESS);
}
