#include "mbox_map.h"

#include "privfile.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int mbox_is_compressed(const unsigned char *h, size_t n)
{
    if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
        return 1; /* gzip */
    if (n >= 6 && memcmp(h,
                         "\xFD"
                         "7zXZ\0",
                         6) == 0)
        return 1; /* xz */
    if (n >= 4 && memcmp(h, "\x28\xB5\x2F\xFD", 4) == 0)
        return 1; /* zstd */
    /* bzip2: "BZh" + block size digit + the block magic; a plain text file
     * starting "BZh" would not be an mbox anyway. */
    if (n >= 10 && memcmp(h, "BZh", 3) == 0 && h[3] >= '1' && h[3] <= '9' &&
        memcmp(h + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0)
        return 1;
    return 0;
}

static int map_range(mbox_map *m, int fd, size_t len, const char *path,
                     char *err, size_t err_size)
{
    m->data = NULL;
    m->len = len;
    m->dropped = 0;
    if (len == 0)
        return 0;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_size, "cannot map %s: %s", path, strerror(errno));
        return -1;
    }
    madvise(p, len, MADV_SEQUENTIAL);
    m->data = p;
    return 0;
}

int mbox_map_fd(mbox_map *m, int fd, size_t len, const char *path, char *err,
                size_t err_size)
{
    m->compressed = 0;
    return map_range(m, fd, len, path, err, err_size);
}


static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Decompress the file FD into a temporary file; returns its descriptor and
 * size, or -1 with ERR set. */
static int decompress(int fd, const char *path, size_t *out_len, char *err,
                      size_t err_size)
{
    struct archive *a = archive_read_new();
    if (!a) {
        snprintf(err, err_size, "cannot decompress %s: out of memory", path);
        return -1;
    }
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    int tmp = -1;
    size_t total = 0;
    struct archive_entry *entry;
    if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
        snprintf(err, err_size, "cannot decompress %s: %s", path,
                 archive_error_string(a));
        goto fail;
    }
    tmp = mp_private_tmpfile(NULL);
    if (tmp < 0) {
        snprintf(err, err_size, "cannot decompress %s: no temporary file: %s",
                 path, strerror(errno));
        goto fail;
    }
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
        char buf[64 * 1024];
        for (;;) {
            la_ssize_t got = archive_read_data(a, buf, sizeof buf);
            if (got == 0)
                break;
            if (got < 0) {
                snprintf(err, err_size, "cannot decompress %s: %s", path,
                         archive_error_string(a));
                goto fail;
            }
            if (write_all(tmp, buf, (size_t)got) != 0) {
                snprintf(err, err_size,
                         "cannot decompress %s into a temporary file: %s", path,
                         strerror(errno));
                goto fail;
            }
            total += (size_t)got;
        }
    } else if (r != ARCHIVE_EOF) {
        snprintf(err, err_size, "cannot decompress %s: %s", path,
                 archive_error_string(a));
        goto fail;
    }
    archive_read_free(a);
    *out_len = total;
    return tmp;
fail:
    archive_read_free(a);
    if (tmp >= 0)
        close(tmp);
    return -1;
}

int mbox_map_open(mbox_map *m, const char *path, char *err, size_t err_size)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot stat %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    unsigned char head[16];
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int rc;
    if (mbox_is_compressed(head, (size_t)got)) {
        size_t len = 0;
        int tmp = decompress(fd, path, &len, err, err_size);
        close(fd);
        if (tmp < 0)
            return -1;
        rc = map_range(m, tmp, len, path, err, err_size);
        m->compressed = 1;
        close(tmp); /* the mapping keeps the unlinked file alive */
        return rc;
    }
    rc = map_range(m, fd, (size_t)st.st_size, path, err, err_size);
    close(fd);
    return rc;
}

void mbox_map_done_before(mbox_map *m, size_t offset)
{
    /* Hand pages back in large steps: madvise per message would cost more
     * than it saves. */
    const size_t step = 16u << 20;
    long page = sysconf(_SC_PAGESIZE);
    if (!m->data || page <= 0 || offset > m->len || offset < m->dropped + step)
        return;
    size_t upto = offset / (size_t)page * (size_t)page;
    if (upto > m->dropped)
        madvise((char *)m->data + m->dropped, upto - m->dropped, MADV_DONTNEED);
    m->dropped = upto;
}

void mbox_map_forget(mbox_map *m)
{
    if (m->data && m->dropped < m->len)
        madvise((char *)m->data + m->dropped, m->len - m->dropped,
                MADV_DONTNEED);
    m->dropped = 0;
}

void mbox_map_close(mbox_map *m)
{
    if (m->data)
        munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}
