/* Archive series: the names of its files (series.h). */
#include "series.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *series_file_name(uint64_t seq, time_t when, const char *ext)
{
    struct tm tm;
    char stamp[32];
    if (!gmtime_r(&when, &tm) ||
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
        return NULL;
    char *name = NULL;
    if (asprintf(&name, "%06llu-%s%s", (unsigned long long)seq, stamp, ext) < 0)
        return NULL;
    return name;
}

/* The endings a series file may have, as the sink writes them. */
static const char *const endings[] = {".tar.gz",     ".tar.zst",     ".tar",
                                      ".tar.gz.age", ".tar.zst.age", ".tar.age",
                                      NULL};

uint64_t series_file_seq(const char *name)
{
    size_t digits = strspn(name, "0123456789");
    if (digits < 6 || digits > 18 || name[digits] != '-')
        return 0;
    const char *stamp = name + digits + 1;
    /* YYYYMMDDTHHMMSSZ */
    if (strspn(stamp, "0123456789") != 8 || stamp[8] != 'T' ||
        strspn(stamp + 9, "0123456789") != 6 || stamp[15] != 'Z')
        return 0;
    const char *ext = stamp + 16;
    for (size_t i = 0; endings[i]; i++)
        if (strcmp(ext, endings[i]) == 0)
            return strtoull(name, NULL, 10);
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const series_file *)a)->seq;
    uint64_t y = ((const series_file *)b)->seq;
    return x < y ? -1 : x > y;
}

int series_list(const char *dir, series_file **out, size_t *n, char **clash)
{
    *out = NULL;
    *n = 0;
    *clash = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    series_file *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq = series_file_seq(e->d_name);
        if (seq == 0)
            continue;
        if (len == cap) {
            series_file *g = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *g);
            if (!g) {
                rc = -1;
                errno = ENOMEM;
                break;
            }
            v = g;
        }
        if (!(v[len].name = strdup(e->d_name))) {
            rc = -1;
            errno = ENOMEM;
            break;
        }
        v[len++].seq = seq;
    }
    closedir(d);
    if (rc == 0 && len > 1) {
        qsort(v, len, sizeof *v, by_seq);
        for (size_t i = 1; i < len; i++)
            if (v[i].seq == v[i - 1].seq) {
                *clash = strdup(v[i].name);
                errno = EEXIST;
                rc = -1;
                break;
            }
    }
    if (rc != 0) {
        series_files_free(v, len);
        return -1;
    }
    *out = v;
    *n = len;
    return 0;
}

void series_files_free(series_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].name);
    free(f);
}

int series_file_sha256(const char *path, char hex[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -1;
    /* Not static: the stores of several workers may hash at once. */
    unsigned char buf[1 << 16];
    ssize_t n;
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || EVP_DigestUpdate(md, buf, (size_t)n) != 1)
            rc = -1;
    }
    unsigned char d[32];
    unsigned int len = 0;
    if (rc == 0 && (EVP_DigestFinal_ex(md, d, &len) != 1 || len != 32))
        rc = -1;
    EVP_MD_CTX_free(md);
    close(fd);
    for (unsigned i = 0; rc == 0 && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return rc;
}
