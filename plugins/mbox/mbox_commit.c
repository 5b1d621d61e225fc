#include "mbox_commit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes before the committed length whose hash the record keeps. */
#define TAIL_BYTES 4096
#define RECORD_MAGIC "mailport-mbox-committed 1 "
/* The From_ line the sink writes (mbox_sink.c); body lines that start with
 * "From " are quoted, so in what the sink appended no other line does. */
#define OUR_FROM "From MAILER-DAEMON "

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t got = pread(fd, p, len, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            if (got == 0)
                errno = EIO; /* shorter than it should be */
            return -1;
        }
        p += got;
        len -= (size_t)got;
        off += (uint64_t)got;
    }
    return 0;
}

/* FNV-1a over the (up to) TAIL_BYTES bytes of FD before LENGTH. */
static int tail_hash(int fd, uint64_t length, uint64_t *hash)
{
    char buf[TAIL_BYTES];
    size_t n = length < TAIL_BYTES ? (size_t)length : TAIL_BYTES;
    if (read_at(fd, buf, n, length - n) != 0)
        return -1;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
    *hash = h;
    return 0;
}

/* Were the bytes [FROM, TO) of FD written by the sink? They must start
 * with at most two newlines (owed to the message before) and the sink's
 * From_ line, and every line in them that starts with "From " must be one
 * of the sink's From_ lines. (A line cut short by the end of the file is
 * compared as far as it goes.) */
static int written_by_sink(int fd, uint64_t from, uint64_t to)
{
    const size_t olen = sizeof OUR_FROM - 1;
    char buf[65536];
    size_t n = to - from < 2 + olen ? (size_t)(to - from) : 2 + olen;
    if (read_at(fd, buf, n, from) != 0)
        return 0;
    size_t i = 0;
    while (i < 2 && i < n && buf[i] == '\n')
        i++;
    size_t k = n - i < olen ? n - i : olen;
    if (memcmp(buf + i, OUR_FROM, k) != 0)
        return 0;

    uint64_t pos = from;
    int line_start = 1;
    while (pos < to) {
        n = to - pos < sizeof buf ? (size_t)(to - pos) : sizeof buf;
        if (read_at(fd, buf, n, pos) != 0)
            return 0;
        int at_end = pos + n == to;
        for (i = 0; i < n; i++) {
            if (line_start) {
                size_t avail = n - i;
                if (avail < olen && !at_end)
                    break; /* read the line again at the next buffer */
                if (avail >= 5 && memcmp(buf + i, "From ", 5) == 0 &&
                    memcmp(buf + i, OUR_FROM, avail < olen ? avail : olen) != 0)
                    return 0;
                line_start = 0;
            }
            if (buf[i] == '\n')
                line_start = 1;
        }
        if (i == 0)
            return 0; /* cannot happen with a full buffer; never loop */
        pos += i;
    }
    return 1;
}

/* DIR/.NAME.mailport-committed for the mbox DIR/NAME. */
static char *record_path(const char *mbox_path)
{
    const char *slash = strrchr(mbox_path, '/');
    int dir_len = slash ? (int)(slash - mbox_path + 1) : 0;
    const char *base = slash ? slash + 1 : mbox_path;
    char *p = NULL;
    if (asprintf(&p, "%.*s.%s.mailport-committed", dir_len, mbox_path, base) <
        0)
        return NULL;
    return p;
}

static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup(".");
    if (!dir)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int mbox_commit_open(mbox_commit *c, mp_host *host, const char *mbox_path,
                     int fd, uint64_t *size)
{
    memset(c, 0, sizeof *c);
    c->length = MBOX_COMMIT_NONE;
    c->path = record_path(mbox_path);
    if (!c->path) {
        errno = ENOMEM;
        return -1;
    }
    int rfd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (rfd < 0)
        return 0; /* no record: the last run ended cleanly, or none ran */
    c->exists = 1;
    char text[256];
    ssize_t got = read(rfd, text, sizeof text - 1);
    close(rfd);
    text[got > 0 ? got : 0] = '\0';

    uint64_t length, inode, tail, h;
    struct stat sb;
    const char *why = NULL;
    if (sscanf(text,
               RECORD_MAGIC "length=%" SCNu64 " inode=%" SCNu64
                            " tail=%" SCNx64,
               &length, &inode, &tail) != 3)
        why = "it cannot be read";
    else if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_ino != inode)
        why = "the mbox was replaced since";
    else if (length > *size)
        why = "the mbox is shorter than recorded";
    else if (tail_hash(fd, length, &h) != 0 || h != tail)
        why = "the mbox was changed before the recorded length";
    else if (length < *size && !written_by_sink(fd, length, *size))
        why = "what follows the recorded length was not written by mailport";
    if (why) {
        host->log(host, MP_LOG_WARN,
                  "%s: ignoring the commit record %s (%s); nothing is cut "
                  "back",
                  mbox_path, c->path, why);
        return 0; /* the first append replaces it */
    }
    if (length < *size) {
        if (ftruncate(fd, (off_t)length) != 0 || fsync(fd) != 0)
            return -1;
        host->log(host, MP_LOG_WARN,
                  "%s: removed the %" PRIu64 " bytes after byte %" PRIu64
                  " that an interrupted run had begun to append",
                  mbox_path, *size - length, length);
        *size = length;
    }
    c->length = length;
    return 0;
}

int mbox_commit_record(mbox_commit *c, mp_host *host, int fd, uint64_t length)
{
    if (c->disabled || (c->exists && c->length == length))
        return 0;
    struct stat sb;
    uint64_t h;
    char *tmp = NULL;
    int rfd = -1, ok = 0;
    if (fstat(fd, &sb) == 0 && tail_hash(fd, length, &h) == 0 &&
        asprintf(&tmp, "%s.tmp", c->path) >= 0) {
        char text[200];
        int n = snprintf(text, sizeof text,
                         RECORD_MAGIC "length=%" PRIu64 " inode=%" PRIu64
                                      " tail=%016" PRIx64 "\n",
                         length, (uint64_t)sb.st_ino, h);
        rfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0600);
        ok = rfd >= 0 && write(rfd, text, (size_t)n) == n && fsync(rfd) == 0;
        if (rfd >= 0 && close(rfd) != 0)
            ok = 0;
        ok = ok && rename(tmp, c->path) == 0 && sync_parent(c->path) == 0;
    } else {
        tmp = NULL;
    }
    if (ok) {
        free(tmp);
        c->exists = 1;
        c->length = length;
        return 0;
    }
    int e = errno;
    if (tmp)
        unlink(tmp);
    free(tmp);
    host->log(host, MP_LOG_WARN,
              "cannot keep the commit record %s (%s): a run killed while "
              "appending to this mbox would leave an unfinished message in it",
              c->path, strerror(e));
    c->disabled = 1;
    /* An older record would cut messages recorded since: it must go. */
    if (c->exists && unlink(c->path) != 0 && errno != ENOENT)
        return -1;
    c->exists = 0;
    c->length = MBOX_COMMIT_NONE;
    return 0;
}

int mbox_commit_remove(mbox_commit *c)
{
    if (!c->exists)
        return 0;
    if (unlink(c->path) != 0 && errno != ENOENT)
        return -1;
    c->exists = 0;
    c->length = MBOX_COMMIT_NONE;
    return 0;
}

void mbox_commit_free(mbox_commit *c)
{
    free(c->path);
    c->path = NULL;
}
