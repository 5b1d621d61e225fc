/*
 * The targz sink: writes a pax tar whose tree is a Maildir++ store, gzip-
 * or zstd-compressed by libarchive, optionally age-encrypted, then a
 * manifest as the last entry.
 *
 * Write path: libarchive -> archive_write callback -> (libdeflate gzip,
 * targz_gzip.h) -> (age writer) -> the temporary file
 * ".<name>.tmp-<pid>-<random>" beside the final name, created with O_EXCL
 * and mode 0600 and held with an exclusive flock(2) while it is written.
 * finish() completes the stream and renames the file into place; close()
 * without finish() deletes it, so an interrupted run never leaves a
 * truncated archive under the final name. A run killed outright (kill -9,
 * a second Ctrl-C) cannot delete it: the next open() of the same target
 * removes every such temporary whose writer is gone (its pid is not a live
 * process and nobody holds its lock), never a running writer's.
 *
 * Threads: every entry (directory, message, marker, keyword file,
 * manifest) goes through a bounded queue to a writer thread
 * (targz_queue.h) that alone drives libarchive, the compressor and age,
 * so reading and hashing the next messages overlaps compression. The
 * store's thread touches the archive (ar, age, fd and their error fields)
 * only before the writer starts and after it has been joined. A write
 * failure on the writer surfaces at the next put_begin, put_commit,
 * open_folder, close_folder or finish, with the text the writer made.
 *
 * An existing archive is never replaced unless overwrite=1: each backup run
 * writes a new archive (incremental backups are the archive series,
 * series.h), and a name clash is far more likely a mistake than a wish.
 */
#include "targz_sink.h"

#include "age.h"
#include "targz_common.h"
#include "targz_gzip.h"
#include "targz_hash.h"
#include "targz_manifest.h"
#include "targz_names.h"
#include "targz_queue.h"
#include "targz_spool.h"

#include "mdsubs.h"

#include <archive.h>
#include <archive_entry.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEYWORD_LETTERS 26

typedef struct sink_folder {
    char *name, *dir;
    char *keywords[MAX_KEYWORD_LETTERS]; /* Dovecot letter a + index */
    int n_keywords;
    int64_t count;
} sink_folder;

typedef struct targz_sink {
    mp_host *host;
    char *display; /* a copy: EP is borrowed only for the call */
    char *final_path, *tmp_path, *dir_path;
    int fd;
    int overwrite;
    int failed;     /* a write failed: the archive is unusable */
    int discarding; /* close() without finish(): drop all output */
    int finished;
    int tmp_created; /* tmp_path is ours to delete */
    targz_gzip *gz;  /* gzip by libdeflate; NULL: libarchive compresses */
    age_writer *age;
    age_error age_err;
    int write_errno;
    struct archive *ar;
    int64_t run_time;
    uint64_t seq;
    sink_folder **folders;
    size_t n_folders, cap_folders;
    targz_spool manifest;
    targz_queue queue;
    char **subs; /* subscribed folders, written at finish (mdsubs.h) */
    size_t n_subs;
    /* SHA-256 of the file's bytes as written (an archive series names the
     * archive before it by it: series.h); "" until finish succeeded. */
    EVP_MD_CTX *file_md;
    char file_sha256[65];
} targz_sink;

typedef struct sink_folder_handle {
    targz_sink *sink;
    sink_folder *f;
} sink_folder_handle;

typedef struct sink_put {
    sink_folder_handle *fh;
    unsigned flags;
    char *keywords, *source_key;
    int64_t date;
    targz_spool spool;
    targz_hash hash;
} sink_put;

/* ---- output chain -------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The file's bytes, hashed on their way out. */
static int file_out(targz_sink *s, const void *buf, size_t len)
{
    if (s->file_md && EVP_DigestUpdate(s->file_md, buf, len) != 1) {
        s->write_errno = ENOMEM;
        return -1;
    }
    if (write_all(s->fd, buf, len) != 0) {
        s->write_errno = errno;
        return -1;
    }
    return 0;
}

static int age_out(void *ctx, const void *buf, size_t len)
{
    return file_out(ctx, buf, len);
}

/* Compressed bytes to age or to the file. */
static int compressed_out(void *ctx, const void *buf, size_t len)
{
    targz_sink *s = ctx;
    if (s->age)
        return age_writer_write(s->age, buf, len, &s->age_err);
    return file_out(s, buf, len);
}

/* Whether the latest failure already has a reason on record. */
static int failure_known(const targz_sink *s)
{
    return s->write_errno || s->age_err.kind != AGE_OK;
}

static la_ssize_t archive_out(struct archive *a, void *ctx, const void *buf,
                              size_t len)
{
    targz_sink *s = ctx;
    if (s->discarding)
        return (la_ssize_t)len;
    int rc;
    if (s->gz) {
        errno = 0;
        rc = targz_gzip_write(s->gz, buf, len);
        if (rc != 0 && !failure_known(s))
            s->write_errno = errno ? errno : EIO; /* compression failed */
    } else {
        rc = compressed_out(s, buf, len);
    }
    if (rc != 0) {
        archive_set_error(a, s->write_errno ? s->write_errno : EIO,
                          "write failed");
        return -1;
    }
    return (la_ssize_t)len;
}

/* Describe the latest write failure of entry WHAT into FAULT. Runs on
 * whichever thread owns the archive at the time. */
static void describe_failure(targz_sink *s, const char *what,
                             targz_fault *fault)
{
    const char *why;
    fault->kind = MP_ERR_IO;
    if (s->write_errno) {
        why = strerror(s->write_errno);
    } else if (s->age_err.kind != AGE_OK) {
        fault->kind = targz_age_kind(s->age_err.kind);
        why = s->age_err.text;
    } else {
        why = s->ar && archive_error_string(s->ar) ? archive_error_string(s->ar)
                                                   : "error";
    }
    snprintf(fault->text, sizeof fault->text, "%s: cannot write %s (%s): %s",
             s->display, s->tmp_path, what, why);
}

/* Mark the archive unusable and hand FAULT to the host. */
static mp_status report_fault(targz_sink *s, const targz_fault *fault)
{
    s->failed = 1;
    s->host->set_error(s->host, fault->kind, "%s", fault->text);
    return MP_FATAL;
}

/* A failure of the store's own thread while it owns the archive. */
static mp_status write_failed(targz_sink *s, const char *what)
{
    targz_fault fault;
    describe_failure(s, what, &fault);
    return report_fault(s, &fault);
}

/* MP_OK while the archive is sound; else MP_FATAL with the error set (the
 * writer's own text when the writer failed). */
static mp_status check_writer(targz_sink *s)
{
    targz_fault fault;
    if (targz_queue_check(&s->queue, &fault) != 0)
        return report_fault(s, &fault);
    if (s->failed) {
        s->host->set_error(s->host, MP_ERR_IO, "%s: an earlier write failed",
                           s->display);
        return MP_FATAL;
    }
    return MP_OK;
}

static struct archive_entry *new_entry(const char *path, int dir, int64_t mtime,
                                       uint64_t size)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return NULL;
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0700 : 0600);
    archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
    archive_entry_set_mtime(e, (time_t)mtime, 0);
    /* Owner-neutral: whoever extracts owns the files. */
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    return e;
}

static int write_dir(targz_sink *s, const char *path, int64_t mtime)
{
    struct archive_entry *e = new_entry(path, 1, mtime, 0);
    int rc = e ? archive_write_header(s->ar, e) : ARCHIVE_FATAL;
    archive_entry_free(e);
    return rc == ARCHIVE_OK ? 0 : -1;
}

static int data_out(void *ctx, const void *buf, size_t len)
{
    targz_sink *s = ctx;
    const char *p = buf;
    while (len > 0) {
        la_ssize_t w = archive_write_data(s->ar, p, len);
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A file entry whose content is SPOOL. */
static int write_file(targz_sink *s, const char *path, int64_t mtime,
                      targz_spool *spool)
{
    struct archive_entry *e = new_entry(path, 0, mtime, spool->total);
    int rc = e ? archive_write_header(s->ar, e) : ARCHIVE_FATAL;
    archive_entry_free(e);
    if (rc != ARCHIVE_OK)
        return -1;
    if (targz_spool_replay(spool, data_out, s) != 0) {
        if (!s->write_errno && s->age_err.kind == AGE_OK &&
            archive_errno(s->ar) == 0)
            s->write_errno = EIO; /* the spool itself failed */
        return -1;
    }
    return 0;
}

/* The writer thread's job: one queued entry into the archive. */
static int write_entry(void *ctx, targz_entry *e, targz_fault *fault)
{
    targz_sink *s = ctx;
    int rc = e->dir ? write_dir(s, e->path, e->mtime)
                    : write_file(s, e->path, e->mtime, &e->data);
    if (rc != 0)
        describe_failure(s, e->path, fault);
    return rc;
}

/* ---- handing entries to the writer (the store's thread) ---------------- */

static mp_status enqueue(targz_sink *s, targz_entry *e)
{
    targz_fault fault;
    if (targz_queue_push(&s->queue, e, &fault) != 0)
        return report_fault(s, &fault);
    return MP_OK;
}

static mp_status out_of_memory(targz_sink *s)
{
    s->failed = 1;
    s->host->set_error(s->host, MP_ERR_INTERNAL, "%s: out of memory",
                       s->display);
    return MP_FATAL;
}

static mp_status enqueue_dir(targz_sink *s, const char *path)
{
    targz_entry *e = targz_entry_new(path, 1, s->run_time, s->dir_path);
    return e ? enqueue(s, e) : out_of_memory(s);
}

/* A file entry holding a copy of the LEN bytes at DATA. */
static mp_status enqueue_file(targz_sink *s, const char *path, int64_t mtime,
                              const void *data, size_t len)
{
    targz_entry *e = targz_entry_new(path, 0, mtime, s->dir_path);
    if (!e)
        return out_of_memory(s);
    if (targz_spool_write(&e->data, data, len) != 0) {
        targz_entry_free(e);
        s->failed = 1;
        s->host->set_error(s->host, MP_ERR_IO,
                           "%s: cannot hold %s for the archive in %s: %s",
                           s->display, path, s->dir_path, strerror(errno));
        return MP_FATAL;
    }
    return enqueue(s, e);
}

/* A file entry taking over the content of SPOOL (left empty). */
static mp_status enqueue_spool(targz_sink *s, const char *path, int64_t mtime,
                               targz_spool *spool)
{
    targz_entry *e = targz_entry_new(path, 0, mtime, s->dir_path);
    if (!e)
        return out_of_memory(s);
    targz_spool_free(&e->data);
    e->data = *spool;
    targz_spool_init(spool, s->dir_path);
    return enqueue(s, e);
}

/* ---- open / finish / close ------------------------------------------- */

/* The final name's last component. */
static const char *target_base(const targz_sink *s)
{
    const char *base = strrchr(s->final_path, '/');
    return base ? base + 1 : s->final_path;
}

/* Is NAME ".<BASE>.tmp-<pid>-<8 hex digits>" for a BASE that IS_TARGET
 * accepts? Sets *PID. An older mailport's ".<BASE>.tmp-<12 hex digits>" is
 * *OLD (no pid to go by). */
static int parse_temp_name(const char *name, targz_target_fn is_target,
                           void *ctx, long *pid, int *old)
{
    *old = 0;
    const char *tmp = strstr(name, ".tmp-");
    if (name[0] != '.' || !tmp || tmp == name + 1)
        return 0;
    const char *next;
    while ((next = strstr(tmp + 1, ".tmp-")) != NULL)
        tmp = next;
    char base[NAME_MAX + 1];
    size_t blen = (size_t)(tmp - name - 1);
    if (blen > NAME_MAX)
        return 0;
    memcpy(base, name + 1, blen);
    base[blen] = '\0';
    if (!is_target(base, ctx))
        return 0;
    const char *p = tmp + 5;
    size_t hex = strspn(p, "0123456789abcdef");
    if (hex == 12 && p[12] == '\0') {
        *old = 1;
        return 1;
    }
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 9 || p[digits] != '-' ||
        strspn(p + digits + 1, "0123456789abcdef") != 8 ||
        p[digits + 9] != '\0')
        return 0;
    *pid = strtol(p, NULL, 10);
    return *pid > 0;
}

static int process_alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Remove NAME in DFD if no writer holds it: its lock can be taken and it
 * is still the file we opened. Returns 1 when removed. */
static int remove_if_unlocked(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat a, b;
    int removed = 0;
    if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) &&
        flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        removed = unlinkat(dfd, name, 0) == 0;
    close(fd); /* releases the lock */
    return removed;
}

void targz_remove_stale_temps(mp_host *host, const char *display,
                              const char *dir, targz_target_fn is_target,
                              void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = 0;
        int old;
        if (!parse_temp_name(e->d_name, is_target, ctx, &pid, &old))
            continue;
        if (old) {
            host->log(host, MP_LOG_WARN,
                      "%s: %s/%s was left by an older mailport; remove it "
                      "if no mailport is writing this archive",
                      display, dir, e->d_name);
            continue;
        }
        if (pid == (long)getpid() || process_alive(pid))
            continue; /* its writer may be running */
        if (remove_if_unlocked(dirfd(d), e->d_name))
            host->log(host, MP_LOG_INFO,
                      "%s: removed %s/%s, left by an interrupted run (pid "
                      "%ld)",
                      display, dir, e->d_name, pid);
    }
    closedir(d);
}

static int is_base(const char *base, void *ctx)
{
    return strcmp(base, ctx) == 0;
}

/* Temporary files of this target that killed runs left behind. */
static void remove_stale_temps(targz_sink *s)
{
    targz_remove_stale_temps(s->host, s->display, s->dir_path, is_base,
                             (void *)target_base(s));
}

static mp_status make_temp_file(targz_sink *s)
{
    const char *base = target_base(s);
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned char rnd[4];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            break;
        free(s->tmp_path);
        if (asprintf(&s->tmp_path, "%s/.%s.tmp-%ld-%02x%02x%02x%02x",
                     s->dir_path, base, (long)getpid(), rnd[0], rnd[1], rnd[2],
                     rnd[3]) < 0) {
            s->tmp_path = NULL;
            break;
        }
        s->fd =
            open(s->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (s->fd >= 0) {
            s->tmp_created = 1;
            /* Held until the file is renamed or deleted: a run that looks
             * for stale temporaries leaves a locked one alone. */
            if (flock(s->fd, LOCK_EX) != 0 && errno != ENOLCK &&
                errno != EOPNOTSUPP) {
                s->host->set_error(s->host, MP_ERR_IO, "%s: cannot lock %s: %s",
                                   s->display, s->tmp_path, strerror(errno));
                return MP_FATAL;
            }
            return MP_OK;
        }
        if (errno != EEXIST) {
            s->host->set_error(s->host, MP_ERR_IO, "%s: cannot create %s: %s",
                               s->display, s->tmp_path, strerror(errno));
            return MP_FATAL;
        }
    }
    s->host->set_error(s->host, MP_ERR_IO,
                       "%s: cannot create a temporary file in %s", s->display,
                       s->dir_path);
    return MP_FATAL;
}

/* The encryption parameters of a new .age archive: the recipients into
 * *KR (the caller frees it), whether a passphrase is to be asked for, and
 * scrypt's log N. Checked without asking for the passphrase. */
static mp_status encryption_params(mp_host *host, const char *display,
                                   age_keyring *kr, int *want_pass, int *log_n)
{
    mp_status st = targz_load_recipients(host, display, kr);
    const char *log_n_text = host->param(host, "scrypt_log_n", 0);
    *want_pass = targz_passphrase_given(host);
    *log_n = AGE_SCRYPT_LOG_N_DEFAULT;
    if (st != MP_OK)
        return st;
    if (log_n_text) {
        char *end;
        long v = strtol(log_n_text, &end, 10);
        if (*end || v < 1 || v > AGE_SCRYPT_LOG_N_MAX) {
            host->set_error(host, MP_ERR_USAGE,
                            "%s: scrypt_log_n=%s must be 1..%d", display,
                            log_n_text, AGE_SCRYPT_LOG_N_MAX);
            return MP_FATAL;
        }
        *log_n = (int)v;
    }
    if (kr->n > 0 && *want_pass) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: age allows a passphrase only on its own; give "
                        "either recipients or a passphrase",
                        display);
        return MP_FATAL;
    }
    if (kr->n == 0 && !*want_pass) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: an .age archive needs recipient=, "
                        "recipients_file= or passphrase_file=",
                        display);
        return MP_FATAL;
    }
    return MP_OK;
}

static mp_status folder_name_refused(mp_host *host, const char *display,
                                     const char *name)
{
    host->set_error(host, MP_ERR_USAGE,
                    "%s: folder \"%s\" cannot be stored in a Maildir++ tree "
                    "(empty part, '.' or control character)",
                    display, name);
    return MP_FOLDER_BAD;
}

static mp_status setup_encryption(targz_sink *s)
{
    age_keyring kr = {0};
    int want_pass, log_n;
    char *pass = NULL;
    mp_status st =
        encryption_params(s->host, s->display, &kr, &want_pass, &log_n);
    if (st != MP_OK)
        goto out;
    if (want_pass) {
        st = s->host->secret(s->host, "passphrase",
                             "Passphrase for the new archive: ", &pass);
        if (st != MP_OK)
            goto out;
        if (!*pass) {
            s->host->set_error(s->host, MP_ERR_USAGE,
                               "%s: the passphrase is empty", s->display);
            st = MP_FATAL;
            goto out;
        }
    }
    s->age = age_writer_new(&kr, pass, log_n, age_out, s, &s->age_err);
    if (!s->age) {
        s->host->set_error(s->host, targz_age_kind(s->age_err.kind), "%s: %s",
                           s->display, s->age_err.text);
        st = MP_FATAL;
    }
out:
    if (pass)
        s->host->secret_free(s->host, pass);
    age_keyring_free(&kr);
    return st;
}

static void sink_close(void *store);

/* The sink's first checks of EP: overwrite= and the archive's name. */
static mp_status check_name(mp_host *host, const mp_endpoint *ep,
                            int *overwrite, targz_compression *comp,
                            int *encrypted)
{
    const char *ow = host->param(host, "overwrite", 0);
    *overwrite = ow && strcmp(ow, "1") == 0;
    if (ow && strcmp(ow, "1") != 0 && strcmp(ow, "0") != 0) {
        host->set_error(host, MP_ERR_USAGE, "%s: overwrite=%s must be 0 or 1",
                        ep->display, ow);
        return MP_FATAL;
    }
    if (!ep->path || !*ep->path ||
        targz_name_kind(ep->path, comp, encrypted) != 0) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: the archive name must end in .tar.gz, .tgz, "
                        ".tar.zst, .tzst or .tar, optionally followed by .age",
                        ep->display);
        return MP_FATAL;
    }
    return MP_OK;
}

/* The sink's next checks: the archive is new (or to be overwritten), its
 * directory is there, and encryption parameters come with an .age name. */
static mp_status check_place(mp_host *host, const mp_endpoint *ep,
                             const char *final_path, const char *dir_path,
                             int overwrite, int encrypted)
{
    struct stat sb;
    if (stat(final_path, &sb) == 0 && !overwrite) {
        host->set_error(host, MP_ERR_USAGE,
                        "%s: %s already exists; mailport writes each archive "
                        "once (choose a new name, or add overwrite=1)",
                        ep->display, final_path);
        return MP_FATAL;
    }
    if (stat(dir_path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        host->set_error(host, MP_ERR_NOTFOUND, "%s: no directory %s",
                        ep->display, dir_path);
        return MP_FATAL;
    }
    if (!encrypted) {
        age_keyring none = {0};
        int asked = targz_passphrase_given(host) ||
                    host->param(host, "scrypt_log_n", 0) ||
                    targz_load_recipients(host, ep->display, &none) != MP_OK ||
                    none.n > 0;
        age_keyring_free(&none);
        if (asked) {
            host->set_error(host, MP_ERR_USAGE,
                            "%s: encryption parameters need an archive name "
                            "ending in .age",
                            ep->display);
            return MP_FATAL;
        }
    }
    return MP_OK;
}

mp_status targz_probe_sink(mp_host *host, const mp_endpoint *ep,
                           const char *folder)
{
    targz_compression comp;
    int overwrite, encrypted;
    mp_status st = check_name(host, ep, &overwrite, &comp, &encrypted);
    if (st != MP_OK)
        return st;
    char *dir_path = targz_dirname(ep->path);
    if (!dir_path) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    st = check_place(host, ep, ep->path, dir_path, overwrite, encrypted);
    if (st == MP_OK &&
        faccessat(AT_FDCWD, dir_path, W_OK | X_OK, AT_EACCESS) != 0) {
        /* make_temp_file's open in that directory would fail so. */
        host->set_error(host, MP_ERR_IO,
                        "%s: cannot create a temporary file in %s: %s",
                        ep->display, dir_path, strerror(errno));
        st = MP_FATAL;
    }
    free(dir_path);
    if (st == MP_OK && encrypted) {
        age_keyring kr = {0};
        int want_pass, log_n;
        st = encryption_params(host, ep->display, &kr, &want_pass, &log_n);
        age_keyring_free(&kr);
    }
    if (st == MP_OK && folder) {
        char *dir = targz_folder_to_dir(folder);
        if (!dir)
            st = folder_name_refused(host, ep->display, folder);
        free(dir);
    }
    return st;
}

static mp_status sink_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    targz_sink *s = calloc(1, sizeof *s);
    if (!s) {
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->host = host;
    s->display = strdup(ep->display ? ep->display : "targz:");
    if (!s->display) {
        free(s);
        host->set_error(host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->fd = -1;
    s->run_time = (int64_t)time(NULL);
    targz_compression comp;
    int encrypted;
    mp_status st = MP_FATAL;
    if (check_name(host, ep, &s->overwrite, &comp, &encrypted) != MP_OK)
        goto fail;
    s->final_path = strdup(ep->path);
    s->dir_path = targz_dirname(ep->path);
    /* What killed runs at this target left, whatever this run does. */
    if (s->final_path && s->dir_path)
        remove_stale_temps(s);
    if (!s->final_path || !s->dir_path ||
        check_place(host, ep, s->final_path, s->dir_path, s->overwrite,
                    encrypted) != MP_OK)
        goto fail;
    if ((st = make_temp_file(s)) != MP_OK)
        goto fail;
    st = MP_FATAL;
    s->file_md = EVP_MD_CTX_new();
    if (!s->file_md || EVP_DigestInit_ex(s->file_md, EVP_sha256(), NULL) != 1) {
        host->set_error(host, MP_ERR_INTERNAL, "%s: out of memory",
                        ep->display);
        goto fail;
    }
    if (encrypted && (st = setup_encryption(s)) != MP_OK)
        goto fail;
    targz_spool_init(&s->manifest, s->dir_path);

    s->ar = archive_write_new();
    int rc = s->ar ? ARCHIVE_OK : ARCHIVE_FATAL;
    /* pax_restricted writes plain ustar headers and adds pax extended
     * headers only where ustar cannot hold a value (long names). */
    if (rc == ARCHIVE_OK)
        rc = archive_write_set_format_pax_restricted(s->ar);
    if (rc == ARCHIVE_OK)
        rc = archive_write_set_format_option(s->ar, "pax", "xattrheader",
                                             "SCHILY");
    if (rc == ARCHIVE_OK && comp == TARGZ_GZIP && targz_gzip_available()) {
        /* libarchive writes plain tar; targz_gzip compresses it. */
        s->gz = targz_gzip_new(6, compressed_out, s);
        rc = s->gz ? archive_write_add_filter_none(s->ar) : ARCHIVE_FATAL;
    } else if (rc == ARCHIVE_OK) {
        /* zstd runs single-threaded on the writer thread: it keeps up with
         * the reader there (~400 MB/s); its own worker threads (libarchive
         * option "threads") cost 40 MB more memory for no gain in time or
         * CPU on the benchmark. */
        rc = comp == TARGZ_GZIP   ? archive_write_add_filter_gzip(s->ar)
             : comp == TARGZ_ZSTD ? archive_write_add_filter_zstd(s->ar)
                                  : archive_write_add_filter_none(s->ar);
    }
    if (rc == ARCHIVE_OK)
        rc = archive_write_set_bytes_per_block(s->ar, 65536);
    /* Without this libarchive pads the compressed stream with zeros. */
    if (rc == ARCHIVE_OK)
        rc = archive_write_set_bytes_in_last_block(s->ar, 1);
    if (rc == ARCHIVE_OK)
        rc = archive_write_open2(s->ar, s, NULL, archive_out, NULL, NULL);
    if (rc != ARCHIVE_OK) {
        host->set_error(
            host, MP_ERR_INTERNAL, "%s: libarchive: %s", ep->display,
            s->ar && archive_error_string(s->ar) ? archive_error_string(s->ar)
                                                 : "out of memory");
        goto fail;
    }
    /* From here on only the writer thread touches the archive. */
    if ((rc = targz_queue_start(&s->queue, TARGZ_QUEUE_MAX_BYTES, write_entry,
                                s)) != 0) {
        host->set_error(host, MP_ERR_INTERNAL,
                        "%s: cannot start the archive writer thread: %s",
                        ep->display, strerror(rc));
        goto fail;
    }
    /* The root is the INBOX: a Maildir even when no message goes in. */
    if ((st = enqueue_dir(s, "cur")) != MP_OK ||
        (st = enqueue_dir(s, "new")) != MP_OK ||
        (st = enqueue_dir(s, "tmp")) != MP_OK)
        goto fail;
    *store = s;
    return MP_OK;
fail:
    sink_close(s);
    return MP_FATAL;
}

static mp_status write_keyword_files(targz_sink *s)
{
    for (size_t i = 0; i < s->n_folders; i++) {
        sink_folder *f = s->folders[i];
        if (f->n_keywords == 0)
            continue;
        size_t len = 0;
        for (int k = 0; k < f->n_keywords; k++)
            len += strlen(f->keywords[k]) + 8;
        char *text = malloc(len + 1), *o = text;
        if (!text)
            return out_of_memory(s);
        for (int k = 0; k < f->n_keywords; k++)
            o += sprintf(o, "%d %s\n", k, f->keywords[k]);
        char *path;
        if (asprintf(&path, "%s%sdovecot-keywords", f->dir,
                     *f->dir ? "/" : "") < 0) {
            free(text);
            return out_of_memory(s);
        }
        mp_status st =
            enqueue_file(s, path, s->run_time, text, (size_t)(o - text));
        free(path);
        free(text);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}

/* The Maildir's "subscriptions" file, as the maildir plugin writes it, so
 * that an extracted archive served by Dovecot shows the same folders. */
static mp_status write_subscriptions(targz_sink *s)
{
    if (s->n_subs == 0)
        return MP_OK;
    size_t len, added;
    char *text =
        md_subs_merge(MD_LAYOUT_MAILDIRPP, NULL, 0,
                      (const char *const *)s->subs, s->n_subs, &len, &added);
    if (!text)
        return out_of_memory(s);
    mp_status st = enqueue_file(s, MD_SUBS_FILE, s->run_time, text, len);
    free(text);
    return st;
}

static mp_status sink_subscribe(void *store, const char *name)
{
    targz_sink *s = store;
    for (size_t i = 0; i < s->n_subs; i++)
        if (strcmp(s->subs[i], name) == 0)
            return MP_OK;
    char **v = realloc(s->subs, (s->n_subs + 1) * sizeof *v);
    if (!v || !(v[s->n_subs] = strdup(name))) {
        if (v)
            s->subs = v;
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    s->subs = v;
    s->n_subs++;
    return MP_OK;
}

/* Has the user asked the run to stop (mp_host.interrupted)? Draining the
 * queue and compressing the rest of a large archive can take minutes: a
 * Ctrl-C then stops the archive, which close() deletes, instead of being
 * ignored until it is complete. */
static int user_stopped(void *ctx)
{
    targz_sink *s = ctx;
    return MP_HAS_SLOT(s->host, mp_host, interrupted) &&
           s->host->interrupted(s->host);
}

static mp_status interrupted(targz_sink *s)
{
    s->failed = 1;
    s->host->set_error(s->host, MP_ERR_IO,
                       "interrupted before the archive %s was complete",
                       s->final_path);
    return MP_FATAL;
}

static mp_status sink_finish(void *store)
{
    targz_sink *s = store;
    if (s->failed || s->finished) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "%s: the archive could not be completed",
                           s->display);
        return MP_FATAL;
    }
    mp_status st = check_writer(s);
    if (st == MP_OK)
        st = write_keyword_files(s);
    if (st == MP_OK)
        st = write_subscriptions(s);
    if (st == MP_OK)
        st = enqueue_spool(s, TARGZ_MANIFEST_NAME, s->run_time, &s->manifest);
    if (st != MP_OK)
        return st;
    targz_fault fault;
    int drained = targz_queue_drain_unless(&s->queue, &fault, user_stopped, s);
    if (drained == 1 || user_stopped(s))
        return interrupted(s);
    if (drained != 0)
        return report_fault(s, &fault);
    /* The writer has ended: the archive is this thread's again. */
    if (archive_write_close(s->ar) != ARCHIVE_OK)
        return write_failed(s, "end of archive");
    errno = 0;
    if (s->gz && targz_gzip_finish(s->gz) != 0) {
        if (!failure_known(s))
            s->write_errno = errno ? errno : EIO;
        return write_failed(s, "end of compression");
    }
    if (s->age && age_writer_finish(s->age, &s->age_err) != 0)
        return write_failed(s, "end of encryption");
    if (fsync(s->fd) != 0 || close(s->fd) != 0) {
        s->fd = -1;
        s->write_errno = errno;
        return write_failed(s, "sync");
    }
    s->fd = -1;
    unsigned char md[32];
    unsigned int md_len = 0;
    if (EVP_DigestFinal_ex(s->file_md, md, &md_len) != 1 || md_len != 32)
        return out_of_memory(s);
    for (unsigned i = 0; i < md_len; i++)
        snprintf(s->file_sha256 + 2 * i, 3, "%02x", md[i]);
    if (user_stopped(s)) /* the last moment before the archive is final */
        return interrupted(s);
    int rc;
    if (s->overwrite) {
        rc = rename(s->tmp_path, s->final_path);
    } else {
        /* Another run may have created the name meanwhile: never replace. */
        rc = renameat2(AT_FDCWD, s->tmp_path, AT_FDCWD, s->final_path,
                       RENAME_NOREPLACE);
        if (rc != 0 && errno == EINVAL) { /* file system without it */
            rc = link(s->tmp_path, s->final_path);
            if (rc == 0)
                unlink(s->tmp_path);
        }
    }
    if (rc != 0) {
        int e = errno;
        s->failed = 1;
        s->host->set_error(s->host, e == EEXIST ? MP_ERR_USAGE : MP_ERR_IO,
                           "%s: cannot rename %s to %s: %s", s->display,
                           s->tmp_path, s->final_path, strerror(e));
        return MP_FATAL;
    }
    int dfd = open(s->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    s->finished = 1;
    return MP_OK;
}

static void sink_close(void *store)
{
    targz_sink *s = store;
    if (!s)
        return;
    /* Entries still queued belong to an archive about to be deleted. */
    targz_queue_cancel(&s->queue);
    if (s->ar) {
        if (!s->finished)
            s->discarding = 1;
        archive_write_free(s->ar);
    }
    targz_gzip_free(s->gz);
    age_writer_free(s->age);
    EVP_MD_CTX_free(s->file_md);
    if (s->fd >= 0)
        close(s->fd);
    if (!s->finished && s->tmp_created)
        unlink(s->tmp_path);
    targz_spool_free(&s->manifest);
    for (size_t i = 0; i < s->n_folders; i++) {
        sink_folder *f = s->folders[i];
        for (int k = 0; k < f->n_keywords; k++)
            free(f->keywords[k]);
        free(f->name);
        free(f->dir);
        free(f);
    }
    free(s->folders);
    md_subs_free(s->subs, s->n_subs);
    free(s->final_path);
    free(s->tmp_path);
    free(s->dir_path);
    free(s->display);
    free(s);
}

/* ---- folders ------------------------------------------------------------ */

static void fill_info(const sink_folder *f, mp_folder_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->name = f->name;
    info->validity = 1;
    info->count = f->count;
}

static mp_status sink_list_folders(void *store, mp_folder_cb cb, void *ctx)
{
    targz_sink *s = store;
    for (size_t i = 0; i < s->n_folders; i++) {
        mp_folder_info info;
        fill_info(s->folders[i], &info);
        mp_status st = cb(ctx, &info);
        if (st != MP_OK)
            return st;
    }
    return MP_OK;
}

static mp_status sink_open_folder(void *store, const char *name, void **folder,
                                  mp_folder_info *info)
{
    targz_sink *s = store;
    if (check_writer(s) != MP_OK)
        return MP_FATAL;
    char *dir = targz_folder_to_dir(name);
    if (!dir)
        return folder_name_refused(s->host, s->display, name);
    sink_folder *f = NULL;
    for (size_t i = 0; i < s->n_folders && !f; i++)
        if (strcmp(s->folders[i]->dir, dir) == 0)
            f = s->folders[i];
    if (!f) {
        if (s->n_folders == s->cap_folders) {
            size_t cap = s->cap_folders ? s->cap_folders * 2 : 16;
            sink_folder **a = realloc(s->folders, cap * sizeof *a);
            if (!a) {
                free(dir);
                return out_of_memory(s);
            }
            s->folders = a;
            s->cap_folders = cap;
        }
        f = calloc(1, sizeof *f);
        if (!f || !(f->name = strdup(name))) {
            free(f);
            free(dir);
            return out_of_memory(s);
        }
        f->dir = dir;
        dir = NULL;
        s->folders[s->n_folders++] = f;
        if (*f->dir) {
            static const char *const subdirs[] = {"", "/cur", "/new", "/tmp"};
            for (size_t i = 0; i < 4; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s%s", f->dir, subdirs[i]);
                if (enqueue_dir(s, path) != MP_OK)
                    return MP_FATAL;
            }
            /* Maildir++ marks every sub-folder with this empty file. */
            char path[4096];
            snprintf(path, sizeof path, "%s/maildirfolder", f->dir);
            if (enqueue_file(s, path, s->run_time, "", 0) != MP_OK)
                return MP_FATAL;
        }
    }
    free(dir);
    sink_folder_handle *h = calloc(1, sizeof *h);
    if (!h)
        return out_of_memory(s);
    h->sink = s;
    h->f = f;
    fill_info(f, info);
    *folder = h;
    return MP_OK;
}

/* Does not wait for the writer: nothing in an archive is durable before
 * finish() anyway, and waiting would stall the reader at every folder. A
 * failure the writer already met is reported here. */
static mp_status sink_close_folder(void *folder)
{
    sink_folder_handle *fh = folder;
    mp_status st = check_writer(fh->sink);
    free(fh);
    return st;
}

/* ---- messages --------------------------------------------------------- */

static mp_status sink_put_begin(void *folder, const mp_msg_info *info,
                                void **put)
{
    sink_folder_handle *fh = folder;
    targz_sink *s = fh->sink;
    if (check_writer(s) != MP_OK)
        return MP_FATAL;
    sink_put *p = calloc(1, sizeof *p);
    if (!p || targz_hash_init(&p->hash) != 0) {
        free(p);
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        return MP_FATAL;
    }
    p->fh = fh;
    p->flags = info->flags;
    p->date = info->internal_date == MP_DATE_UNKNOWN ? s->run_time
                                                     : info->internal_date;
    p->keywords = strdup(info->keywords ? info->keywords : "");
    p->source_key = strdup(info->key ? info->key : "");
    targz_spool_init(&p->spool, s->dir_path);
    /* The size hint (LF form may be a little smaller) sizes the buffer. */
    if (!p->keywords || !p->source_key ||
        targz_spool_reserve(&p->spool, info->size > 0 && info->size < SIZE_MAX
                                           ? (size_t)info->size
                                           : 0) != 0) {
        targz_spool_free(&p->spool);
        free(p->keywords);
        free(p->source_key);
        targz_hash_discard(&p->hash);
        free(p);
        return out_of_memory(s);
    }
    *put = p;
    return MP_OK;
}

static void put_free(sink_put *p)
{
    targz_hash_discard(&p->hash);
    targz_spool_free(&p->spool);
    free(p->keywords);
    free(p->source_key);
    free(p);
}

static mp_status sink_put_write(void *put, const void *buf, size_t len)
{
    sink_put *p = put;
    targz_sink *s = p->fh->sink;
    if (targz_spool_write(&p->spool, buf, len) != 0 ||
        targz_hash_update(&p->hash, buf, len) != 0) {
        s->host->set_error(s->host, MP_ERR_IO,
                           "%s: cannot hold a message for the archive in %s: "
                           "%s",
                           s->display, s->dir_path, strerror(errno));
        return MP_FATAL;
    }
    return MP_OK;
}

/* The Dovecot keyword letters for KEYWORDS in folder F, appended to OUT. */
static void keyword_letters(sink_folder *f, const char *keywords, char *out)
{
    int used[MAX_KEYWORD_LETTERS] = {0};
    const char *p = keywords;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        int idx = -1;
        for (int k = 0; k < f->n_keywords && idx < 0; k++)
            if (strlen(f->keywords[k]) == n &&
                strncmp(f->keywords[k], p, n) == 0)
                idx = k;
        if (idx < 0 && f->n_keywords < MAX_KEYWORD_LETTERS) {
            /* Beyond 26 keywords a folder has no letters left; the
             * manifest still carries every keyword. */
            char *kw = strndup(p, n);
            if (kw) {
                idx = f->n_keywords;
                f->keywords[f->n_keywords++] = kw;
            }
        }
        if (idx >= 0)
            used[idx] = 1;
        p += n;
    }
    char *o = out + strlen(out);
    for (int k = 0; k < MAX_KEYWORD_LETTERS; k++)
        if (used[k])
            *o++ = (char)('a' + k);
    *o = '\0';
}

static mp_status sink_put_commit(void *put, char *key_out, size_t key_size)
{
    sink_put *p = put;
    sink_folder *f = p->fh->f;
    targz_sink *s = p->fh->sink;
    char hex[65], letters[8 + MAX_KEYWORD_LETTERS], flag_letters[8];
    mp_status st = MP_FATAL;
    char *path = NULL, *line = NULL;
    if (check_writer(s) != MP_OK)
        goto out;
    if (targz_hash_final(&p->hash, hex) != 0) {
        s->host->set_error(s->host, MP_ERR_INTERNAL, "SHA-256 failed");
        goto out;
    }
    targz_flags_to_letters(p->flags, flag_letters);
    strcpy(letters, flag_letters);
    keyword_letters(f, p->keywords, letters);
    s->seq++;
    if (asprintf(&path, "%s%scur/%" PRId64 ".Q%" PRIu64 ".mailport:2,%s",
                 f->dir, *f->dir ? "/" : "", s->run_time, s->seq,
                 letters) < 0) {
        path = NULL;
        st = out_of_memory(s);
        goto out;
    }
    uint64_t size = p->spool.total;
    st = enqueue_spool(s, path, p->date, &p->spool);
    if (st != MP_OK)
        goto out;
    line = targz_manifest_format(f->name, path, size, hex, flag_letters,
                                 p->keywords, p->date, p->source_key);
    if (!line || targz_spool_write(&s->manifest, line, strlen(line)) != 0 ||
        targz_spool_write(&s->manifest, "\n", 1) != 0) {
        s->failed = 1;
        s->host->set_error(s->host, MP_ERR_IO,
                           "%s: cannot hold the manifest: %s", s->display,
                           strerror(errno));
        st = MP_FATAL;
        goto out;
    }
    f->count++;
    if (key_out && key_size)
        snprintf(key_out, key_size, "%s", path);
    st = MP_OK;
out:
    free(line);
    free(path);
    put_free(p);
    return st;
}

static void sink_put_abort(void *put)
{
    put_free(put);
}

mp_status targz_sink_add_file(void *store, const char *name, const void *data,
                              size_t len)
{
    targz_sink *s = store;
    mp_status st = check_writer(s);
    return st == MP_OK ? enqueue_file(s, name, s->run_time, data, len) : st;
}

const char *targz_sink_file_sha256(const void *store)
{
    const targz_sink *s = store;
    return s->finished ? s->file_sha256 : NULL;
}

const mp_sink_ops targz_sink_ops = {
    .struct_size = sizeof(mp_sink_ops),
    .eol = MP_EOL_LF,
    .open = sink_open,
    .finish = sink_finish,
    .close = sink_close,
    .list_folders = sink_list_folders,
    .open_folder = sink_open_folder,
    .close_folder = sink_close_folder,
    .scan = NULL, /* an archive is written whole, never updated */
    .put_begin = sink_put_begin,
    .put_write = sink_put_write,
    .put_commit = sink_put_commit,
    .put_abort = sink_put_abort,
    .flush = NULL,
    .set_flags = NULL,
    .remove = NULL,
    .subscribe = sink_subscribe,
};
