/* dovecot-keywords: read, look up, extend and write. */
#include "mdkeywords.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define KW_FILE "dovecot-keywords"
#define KW_TMP "dovecot-keywords.mailport-tmp"

void md_keywords_parse_line(md_keywords *kw, char *line)
{
    char *end;
    errno = 0;
    long n = strtol(line, &end, 10);
    if (end == line || errno || n < 0 || n >= MD_MAX_KEYWORDS || *end != ' ')
        return;
    char *name = end + 1;
    size_t len = strlen(name);
    while (len > 0 && (name[len - 1] == '\r' || name[len - 1] == ' '))
        name[--len] = '\0';
    if (len == 0 || strchr(name, ' ') || kw->names[n])
        return;
    kw->names[n] = strdup(name);
}

int md_keywords_load(int dirfd, md_keywords *kw)
{
    memset(kw, 0, sizeof *kw);
    int fd = openat(dirfd, KW_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        md_keywords_parse_line(kw, line);
    }
    int err = ferror(f) ? EIO : 0;
    free(line);
    fclose(f);
    if (err) {
        md_keywords_free(kw);
        errno = err;
        return -1;
    }
    return 0;
}

void md_keywords_free(md_keywords *kw)
{
    for (int i = 0; i < MD_MAX_KEYWORDS; i++) {
        free(kw->names[i]);
        kw->names[i] = NULL;
    }
}

static int index_of(const md_keywords *kw, const char *name, size_t len)
{
    for (int i = 0; i < MD_MAX_KEYWORDS; i++)
        if (kw->names[i] && strlen(kw->names[i]) == len &&
            memcmp(kw->names[i], name, len) == 0)
            return i;
    return -1;
}

static int add_name(md_keywords *kw, const char *name, size_t len)
{
    for (int i = 0; i < MD_MAX_KEYWORDS; i++) {
        if (kw->names[i])
            continue;
        kw->names[i] = strndup(name, len);
        if (!kw->names[i])
            return -1;
        kw->dirty = 1;
        return i;
    }
    return -1;
}

int md_keywords_index(md_keywords *kw, const char *name, int add)
{
    int i = index_of(kw, name, strlen(name));
    if (i < 0 && add)
        i = add_name(kw, name, strlen(name));
    return i;
}

int md_keywords_find(const md_keywords *kw, const char *name)
{
    for (int i = 0; i < MD_MAX_KEYWORDS; i++)
        if (kw->names[i] && strcasecmp(kw->names[i], name) == 0)
            return i;
    return -1;
}

uint32_t md_keywords_bits(md_keywords *kw, const char *words, int add,
                          char *dropped, size_t dropped_size)
{
    uint32_t bits = 0;
    if (dropped_size)
        dropped[0] = '\0';
    for (const char *p = words; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == 0)
            break;
        int i = index_of(kw, p, len);
        if (i < 0 && add)
            i = add_name(kw, p, len);
        if (i >= 0) {
            bits |= 1u << i;
        } else if (dropped_size) {
            size_t used = strlen(dropped);
            snprintf(dropped + used, dropped_size - used, "%s%.*s",
                     used ? " " : "", (int)len, p);
        }
        p += len;
    }
    return bits;
}

char *md_keywords_string(const md_keywords *kw, uint32_t letters, char *out,
                         size_t out_size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < MD_MAX_KEYWORDS; i++) {
        if (!(letters & (1u << i)) || !kw->names[i])
            continue;
        int n = snprintf(out + used, out_size - used, "%s%s", used ? " " : "",
                         kw->names[i]);
        if (n < 0 || (size_t)n >= out_size - used) {
            out[used] = '\0';
            break;
        }
        used += (size_t)n;
    }
    return out;
}

int md_keywords_save(int dirfd, md_keywords *kw)
{
    int fd = openat(dirfd, KW_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0600);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        unlinkat(dirfd, KW_TMP, 0);
        errno = e;
        return -1;
    }
    for (int i = 0; i < MD_MAX_KEYWORDS; i++)
        if (kw->names[i])
            fprintf(f, "%d %s\n", i, kw->names[i]);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        int e = errno ? errno : EIO;
        unlinkat(dirfd, KW_TMP, 0);
        errno = e;
        return -1;
    }
    if (renameat(dirfd, KW_TMP, dirfd, KW_FILE) != 0) {
        int e = errno;
        unlinkat(dirfd, KW_TMP, 0);
        errno = e;
        return -1;
    }
    kw->dirty = 0;
    return 0;
}
