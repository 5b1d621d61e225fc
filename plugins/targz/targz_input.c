#include "targz_input.h"

#include "targz_common.h"

#include <archive.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGE_MAGIC "age-encryption.org/v1\n"

int targz_is_age(int fd)
{
    char head[sizeof AGE_MAGIC - 1];
    ssize_t n = pread(fd, head, sizeof head, 0);
    return n == (ssize_t)sizeof head &&
           memcmp(head, AGE_MAGIC, sizeof head) == 0;
}

static long fd_read(void *ctx, void *buf, size_t len)
{
    targz_input *in = ctx;
    for (;;) {
        ssize_t n = read(in->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            in->read_errno = errno;
        return (long)n;
    }
}

static la_ssize_t archive_in(struct archive *a, void *ctx, const void **buf)
{
    targz_input *in = ctx;
    long n;
    if (in->age)
        n = age_reader_read(in->age, in->buf, sizeof in->buf, &in->age_err);
    else
        n = fd_read(in, in->buf, sizeof in->buf);
    if (n < 0 && in->age && in->age_err.kind != AGE_ERR_IO) {
        /* A chunk that fails authentication (or a truncated payload):
         * reported as the end of the input, so that the decompressor hands
         * out everything before it, every byte of it authenticated; the
         * reader then sees the stream end early, and age_err says why
         * (targz_input_damaged). */
        return 0;
    }
    if (n < 0) {
        archive_set_error(a, EIO, "%s",
                          in->age ? in->age_err.text
                                  : strerror(in->read_errno));
        return -1;
    }
    *buf = in->buf;
    return (la_ssize_t)n;
}

int targz_input_open(targz_input *in, const char *path, int encrypted,
                     const age_keyring *ids, const age_passphrase_source *pass,
                     mp_error_kind *kind, char *err, size_t err_size)
{
    memset(in, 0, sizeof *in);
    in->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0) {
        *kind = errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO;
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (encrypted) {
        in->age = age_reader_new(ids, pass, fd_read, in, &in->age_err);
        if (!in->age) {
            *kind = targz_age_kind(in->age_err.kind);
            if (in->age_err.kind == AGE_ERR_AUTH &&
                strstr(in->age_err.text, "no identity"))
                snprintf(err, err_size,
                         "no identity matches any recipient of %s", path);
            else if (in->age_err.kind == AGE_ERR_IO)
                snprintf(err, err_size, "cannot read %s: %s", path,
                         strerror(in->read_errno));
            else
                snprintf(err, err_size, "%s: %s", path, in->age_err.text);
            targz_input_close(in);
            return -1;
        }
    }
    in->ar = archive_read_new();
    int rc = in->ar ? ARCHIVE_OK : ARCHIVE_FATAL;
    if (rc == ARCHIVE_OK)
        rc = archive_read_support_filter_all(in->ar);
    if (rc == ARCHIVE_OK)
        rc = archive_read_support_format_tar(in->ar);
    if (rc == ARCHIVE_OK)
        rc = archive_read_open2(in->ar, in, NULL, archive_in, NULL, NULL);
    if (rc != ARCHIVE_OK) {
        *kind = targz_input_error(in, err, err_size);
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s", err);
        snprintf(err, err_size, "%s: not a tar archive: %s", path, tmp);
        targz_input_close(in);
        return -1;
    }
    return 0;
}

int targz_input_damaged(const targz_input *in)
{
    return in->age && in->age_err.kind != AGE_OK;
}

mp_error_kind targz_input_error(targz_input *in, char *err, size_t err_size)
{
    if (in->age && in->age_err.kind != AGE_OK) {
        snprintf(err, err_size, "%s", in->age_err.text);
        return targz_age_kind(in->age_err.kind);
    }
    if (in->read_errno) {
        snprintf(err, err_size, "%s", strerror(in->read_errno));
        return MP_ERR_IO;
    }
    const char *msg = in->ar ? archive_error_string(in->ar) : NULL;
    snprintf(err, err_size, "%s", msg ? msg : "corrupt archive");
    return MP_ERR_FORMAT;
}

void targz_input_close(targz_input *in)
{
    if (in->ar)
        archive_read_free(in->ar);
    in->ar = NULL;
    age_reader_free(in->age);
    in->age = NULL;
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
}
