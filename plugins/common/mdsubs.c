/* The Dovecot Maildir "subscriptions" file: read, merge, replace. */
#include "mdsubs.h"

#include "mutf7.h"
#include "namesub.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bigger than any real subscription list; a file past it is not read. */
#define SUBS_MAX (4u << 20)
#define LOCK_FILE MD_SUBS_FILE ".lock"
/* Dovecot's dotlocks go stale after minutes; a lock this old was left by a
 * process that died. */
#define LOCK_STALE_SECONDS 120
#define LOCK_WAIT_TRIES 100 /* of 100 ms each */

void md_subs_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Undo Dovecot's tab-escaping (\001 followed by 1, t, r or n) in place.
 * Each of those stands for a control character inside a level, which no
 * mailport folder name holds: it becomes \001, never the TAB that separates
 * levels, so the line is then left out as naming no folder. */
static void untabescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '\001' && p[1]) {
            char c = p[1];
            *o++ = strchr("1trn", c) ? '\001' : c;
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* One level of a stored name: modified UTF-7 as Dovecot writes it, else
 * UTF-8 as some tools do. NULL when neither. */
static char *decode_level(const char *level)
{
    char *dec = mp_mutf7_decode(level);
    if (dec)
        return dec;
    char *probe = mp_mutf7_encode(level);
    if (!probe)
        return NULL;
    free(probe);
    return strdup(level);
}

/* TEXT's levels (separated by FROM) each mapped by FN, joined by TO,
 * malloc'd; NULL when FN refuses one or out of memory. */
static char *map_levels(const char *text, char from, char to,
                        char *(*fn)(const char *))
{
    char *out = NULL;
    size_t used = 0;
    for (const char *c = text;;) {
        const char *end = strchr(c, from);
        size_t len = end ? (size_t)(end - c) : strlen(c);
        char *level = strndup(c, len);
        char *mapped = level ? fn(level) : NULL;
        free(level);
        char *grown = mapped ? realloc(out, used + strlen(mapped) + 2) : NULL;
        if (!grown) {
            free(mapped);
            free(out);
            return NULL;
        }
        out = grown;
        if (used)
            out[used++] = to;
        strcpy(out + used, mapped);
        used += strlen(mapped);
        free(mapped);
        if (!end)
            return out;
        c = end + 1;
    }
}

/* The folder name of stored name LINE whose levels are separated by SEP
 * ('\t' in version 2), or NULL. */
static char *name_of_line(md_layout layout, char *line, char sep)
{
    if (!*line)
        return NULL;
    if (md_is_inbox(line))
        return strdup("INBOX");
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != sep)
            return NULL;
    char err[256];
    char *name = NULL;
    if (layout == MD_LAYOUT_MAILDIRPP) {
        /* The Maildir++ directory of the folder is "." and the levels
         * joined by '.'. */
        size_t len = strlen(line);
        char *entry = malloc(len + 2);
        if (!entry)
            return NULL;
        entry[0] = '.';
        for (size_t i = 0; i <= len; i++)
            entry[i + 1] = line[i] == sep ? '.' : line[i];
        name = md_pp_name_of_entry(entry, MP_DEFAULT_SUBSTITUTE, NULL);
        free(entry);
        return name;
    }
    name = map_levels(line, sep, '/', decode_level);
    if (!name)
        return NULL;
    char *rel = md_folder_rel(layout, name, err, sizeof err);
    if (!rel) { /* a name the layout refuses names no folder */
        free(name);
        return NULL;
    }
    free(rel);
    return name;
}

/* The file's version (1 when it has no "V" header) and where its folder
 * lines start. */
static int version_of(const char *text, size_t len, size_t *body)
{
    *body = 0;
    if (len < 2 || text[0] != 'V' || text[1] != '\t')
        return 1;
    int v = atoi(text + 2);
    /* The header runs to the first empty line. */
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        int empty = end == i;
        i = nl ? end + 1 : len;
        if (empty)
            break;
    }
    *body = i;
    return v > 0 ? v : 2;
}

int md_subs_parse(md_layout layout, const char *text, size_t len, char ***names,
                  size_t *n)
{
    *names = NULL;
    *n = 0;
    size_t i;
    int version = version_of(text, len, &i);
    char sep = version >= 2 ? '\t' : layout == MD_LAYOUT_FS ? '/' : '.';
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        char *line = strndup(text + i, end - i);
        i = end + 1;
        if (!line)
            goto oom;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[ll - 1] = '\0';
        if (version >= 2)
            untabescape(line);
        char *name = name_of_line(layout, line, sep);
        free(line);
        if (!name)
            continue;
        char **v = realloc(*names, (*n + 1) * sizeof *v);
        if (!v) {
            free(name);
            goto oom;
        }
        *names = v;
        v[(*n)++] = name;
    }
    return 0;
oom:
    md_subs_free(*names, *n);
    *names = NULL;
    *n = 0;
    return -1;
}

/* The stored name of folder NAME in a file of VERSION, malloc'd; NULL when
 * the layout cannot represent it. */
static char *line_of_name(md_layout layout, const char *name, int version)
{
    if (md_is_inbox(name))
        return strdup("INBOX");
    char sep = version >= 2 ? '\t' : layout == MD_LAYOUT_FS ? '/' : '.';
    char err[256];
    char *rel = md_folder_rel(layout, name, err, sizeof err);
    if (!rel)
        return NULL;
    if (layout == MD_LAYOUT_MAILDIRPP) {
        /* ".A.B": the levels as the directory spells them. */
        char *line = strdup(rel + 1);
        free(rel);
        for (char *p = line; p && *p; p++)
            if (*p == '.')
                *p = sep;
        return line;
    }
    free(rel);
    /* fs: the levels in modified UTF-7, as Dovecot's storage names are. */
    return map_levels(name, '/', sep, mp_mutf7_encode);
}

static int holds(char **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], name) == 0)
            return 1;
    return 0;
}

char *md_subs_merge(md_layout layout, const char *old, size_t old_len,
                    const char *const *names, size_t n, size_t *out_len,
                    size_t *added)
{
    *added = 0;
    if (!old)
        old_len = 0;
    size_t body;
    int version = old_len ? version_of(old, old_len, &body) : 2;
    char **have = NULL;
    size_t n_have = 0;
    if (old_len && md_subs_parse(layout, old, old_len, &have, &n_have) != 0)
        return NULL;
    const char *header = old_len ? "" : "V\t2\n\n";
    size_t cap = old_len + strlen(header) + 2, used = 0;
    char *out = malloc(cap);
    if (!out)
        goto oom;
    memcpy(out, header, strlen(header));
    used = strlen(header);
    if (old_len) {
        memcpy(out + used, old, old_len);
        used += old_len;
        if (old[old_len - 1] != '\n')
            out[used++] = '\n';
    }
    for (size_t i = 0; i < n; i++) {
        char *canon =
            md_is_inbox(names[i]) ? strdup("INBOX") : strdup(names[i]);
        if (!canon)
            goto oom;
        char *line = holds(have, n_have, canon)
                         ? NULL
                         : line_of_name(layout, canon, version);
        if (!line) {
            free(canon);
            continue;
        }
        size_t ll = strlen(line);
        char **v = realloc(have, (n_have + 1) * sizeof *v);
        char *grown = realloc(out, used + ll + 2);
        if (v)
            have = v;
        if (grown)
            out = grown;
        if (!v || !grown) {
            free(line);
            free(canon);
            goto oom;
        }
        have[n_have++] = canon;
        memcpy(out + used, line, ll);
        used += ll;
        out[used++] = '\n';
        free(line);
        (*added)++;
    }
    out[used] = '\0';
    md_subs_free(have, n_have);
    *out_len = used;
    return out;
oom:
    md_subs_free(have, n_have);
    free(out);
    return NULL;
}

char *md_subs_read(int root_fd, size_t *len)
{
    int fd = openat(root_fd, MD_SUBS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, used = 0;
    char *text = malloc(cap + 1);
    for (;;) {
        if (!text)
            break;
        if (used == cap) {
            char *grown = cap < SUBS_MAX ? realloc(text, cap * 2 + 1) : NULL;
            if (!grown) {
                free(text);
                text = NULL;
                errno = cap < SUBS_MAX ? ENOMEM : EFBIG;
                break;
            }
            text = grown;
            cap *= 2;
        }
        ssize_t r = read(fd, text + used, cap - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(text);
            text = NULL;
            errno = e;
            break;
        }
        if (r == 0) {
            text[used] = '\0';
            *len = used;
            break;
        }
        used += (size_t)r;
    }
    int e = errno;
    close(fd);
    errno = e;
    return text;
}

/* Create the lock exclusively, waiting for another holder, taking over a
 * stale one. */
static int take_lock(int root_fd)
{
    for (int tries = 0;; tries++) {
        int fd =
            openat(root_fd, LOCK_FILE,
                   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
        struct stat st;
        if (fstatat(root_fd, LOCK_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            time(NULL) - st.st_mtime > LOCK_STALE_SECONDS) {
            unlinkat(root_fd, LOCK_FILE, 0);
            continue;
        }
        if (tries == LOCK_WAIT_TRIES) {
            errno = EWOULDBLOCK;
            return -1;
        }
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
}

int md_subs_add(int root_fd, md_layout layout, const char *const *names,
                size_t n)
{
    int fd = take_lock(root_fd);
    if (fd < 0)
        return -1;
    size_t old_len = 0;
    char *old = md_subs_read(root_fd, &old_len);
    int rc = -1, e = 0;
    if (!old && errno != ENOENT) {
        e = errno;
        goto out;
    }
    size_t len, added;
    char *text = md_subs_merge(layout, old, old_len, names, n, &len, &added);
    if (!text) {
        e = ENOMEM;
        goto out;
    }
    if (added == 0) {
        free(text);
        rc = 0;
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            free(text);
            goto out;
        }
        off += (size_t)w;
    }
    free(text);
    if (fsync(fd) != 0 || close(fd) != 0) {
        e = errno;
        fd = -1;
        goto out;
    }
    fd = -1;
    if (renameat(root_fd, LOCK_FILE, root_fd, MD_SUBS_FILE) != 0) {
        e = errno;
        goto out;
    }
    fsync(root_fd);
    free(old);
    return 0;
out:
    free(old);
    if (fd >= 0)
        close(fd);
    unlinkat(root_fd, LOCK_FILE, 0);
    errno = e;
    return rc;
}
