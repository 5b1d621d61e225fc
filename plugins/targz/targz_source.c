/*
 * The targz source: reads a mailport archive (or any Maildir tarball) for
 * restore and verify.
 *
 * A compressed (and encrypted) tar can only be read front to back, and the
 * manifest comes last. So open() makes one full pass: it collects every
 * folder and message (name, size, date, flags, identity, SHA-256) and the
 * manifest, then checks each message against its manifest line. fetch()
 * makes a second pass and streams the requested bodies in archive order; a
 * cursor stays open between fetch calls so that fetching folder after
 * folder in list order reads the archive once more in total, not once per
 * call. Memory: the per-message metadata and the manifest go to a private
 * on-disk index (targz_index.h) instead of memory, so what the source holds
 * is a constant (SQLite's page cache, fixed buffers, a fetch batch) plus a
 * few hundred bytes per folder; bodies are streamed.
 *
 * An archive without a manifest is read as a plain Maildir tarball (with a
 * warning): a leading "./" or one top-level directory is skipped, folders
 * are Maildir++ ".A.B" directories or nested directories holding cur/ and
 * new/, flags come from the file names.
 */
#include "targz_source.h"
#include "targz_sink.h"

#include "age.h"
#include "age_crypto.h"
#include "targz_common.h"
#include "targz_hash.h"
#include "targz_index.h"
#include "targz_input.h"
#include "targz_manifest.h"

#include "mdsubs.h"
#include "special_use.h"
#include "targz_names.h"

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Identity needs the header block; more than this is not looked at. */
#define HEADER_CAPTURE_MAX (256u * 1024)
#define KEYWORDS_FILE_MAX (64u * 1024)
#define MAX_KEYWORD_LETTERS 26

typedef struct src_folder {
    char *name, *dir;
    size_t n_msgs;
    char *keywords[MAX_KEYWORD_LETTERS];
} src_folder;

typedef struct kw_file {
    char *dir, *text;
} kw_file;

typedef struct targz_source {
    mp_host *host;
    char *display; /* a copy: EP is borrowed only for the call */
    char *path;
    int encrypted;
    age_keyring ids;
    char *passphrase; /* cached for the second pass; wiped at close */
    int pass_from_params;
    age_passphrase_source pass_src;

    /* Every message and manifest line, on disk (targz_index.h): memory
     * does not grow with the archive. */
    targz_index *ix;
    size_t n_msgs;
    src_folder *folders;
    size_t n_folders, cap_folders;
    char **maildir_dirs; /* ".../cur" and ".../new" directory entries */
    size_t n_dirs, cap_dirs;
    kw_file *kw_files;
    size_t n_kw_files;
    int has_manifest;
    /* The root's "subscriptions" file (mdsubs.h), or NULL: then the
     * archive keeps no subscriptions. */
    char *subs_text;
    size_t subs_len;
    /* An archive of a series (series.h): its header and change lines. */
    char *series_header, *series_changes;
    size_t series_header_len, series_changes_len;
    /* The first pass ended at damage (a truncated or corrupt stream, an
     * age chunk that fails authentication): what was read before it is
     * restored, the rest is lost. DAMAGE says what and where. */
    int damaged;
    char damage[900];
    char *first_component; /* shared by every entry, or NULL */
    int mixed_roots;
    size_t n_entries;

    /* The second-pass cursor. */
    targz_input cursor;
    int cursor_open;
    size_t cursor_next; /* ordinal of the next entry the cursor returns */

    char err[1024];
} targz_source;

typedef struct src_folder_handle {
    targz_source *src;
    size_t idx;
} src_folder_handle;

/* ---- small helpers ------------------------------------------------------ */

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    void *a = realloc(*arr, c * elem);
    if (!a)
        return -1;
    *arr = a;
    *cap = c;
    return 0;
}

static const char *skip_dot_slash(const char *p)
{
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    while (*p == '/')
        p++;
    return p;
}

/* PATH without "./" and without a trailing '/'; malloc'd. */
static char *normalise(const char *raw)
{
    const char *p = skip_dot_slash(raw);
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        n--;
    return strndup(p, n);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The name of the directory holding PATH's file ("" at the top). */
static const char *parent_name(const char *path, size_t *len)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *len = 0;
        return path;
    }
    const char *start = slash;
    while (start > path && start[-1] != '/')
        start--;
    *len = (size_t)(slash - start);
    return start;
}

static int is_cur_or_new(const char *name, size_t len)
{
    return len == 3 &&
           (memcmp(name, "cur", 3) == 0 || memcmp(name, "new", 3) == 0);
}

static void note_root(targz_source *s, const char *path)
{
    size_t n = strcspn(path, "/");
    if (!s->first_component) {
        s->first_component = strndup(path, n);
    } else if (strlen(s->first_component) != n ||
               strncmp(s->first_component, path, n) != 0) {
        s->mixed_roots = 1;
    }
}

static mp_status fail(targz_source *s, mp_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static mp_status fail(targz_source *s, mp_error_kind kind, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s->host->set_error(s->host, kind, "%s: %s", s->display, text);
    return MP_FATAL;
}

/* ---- passphrases ---------------------------------------------------- */

static int get_passphrase(void *ctx, char **out, age_error *err)
{
    targz_source *s = ctx;
    if (!s->passphrase) {
        char *pw = NULL;
        if (s->host->secret(s->host, "passphrase",
                            "Passphrase for the archive: ", &pw) != MP_OK) {
            snprintf(err->text, sizeof err->text,
                     "the archive is encrypted with a passphrase: give "
                     "passphrase_file=");
            err->kind = AGE_ERR_AUTH;
            return -1;
        }
        s->passphrase = pw;
    }
    *out = strdup(s->passphrase);
    if (!*out) {
        err->kind = AGE_ERR_INTERNAL;
        snprintf(err->text, sizeof err->text, "out of memory");
        return -1;
    }
    return 0;
}

static void release_passphrase(void *ctx, char *pass)
{
    (void)ctx;
    age_wipe(pass, strlen(pass));
    free(pass);
}

static mp_status open_input(targz_source *s, targz_input *in)
{
    mp_error_kind kind;
    char err[768];
    if (targz_input_open(in, s->path, s->encrypted, &s->ids, &s->pass_src,
                         &kind, err, sizeof err) != 0)
        return fail(s, kind, "%s", err);
    return MP_OK;
}

static mp_status read_error(targz_source *s, targz_input *in, const char *what)
{
    char err[768];
    mp_error_kind kind = targz_input_error(in, err, sizeof err);
    return fail(s, kind, "%s is corrupt or truncated (%s): %s", s->path, what,
                err);
}

/* ---- the first pass ------------------------------------------------------ */

static mp_status index_failed(targz_source *s)
{
    return fail(s, MP_ERR_IO, "%s", targz_index_error(s->ix));
}

/* Record M (whose strings stay the caller's). */
static mp_status add_msg(targz_source *s, targz_imsg *m)
{
    if (targz_index_add(s->ix, m) != 0)
        return index_failed(s);
    s->n_msgs++;
    return MP_OK;
}

typedef struct line_splitter {
    char *buf;
    size_t len, cap;
} line_splitter;

static mp_status manifest_line(targz_source *s, const char *line, size_t len,
                               size_t lineno)
{
    while (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return MP_OK;
    targz_manifest_line l;
    if (targz_manifest_parse(line, len, &l) != 0)
        return fail(s, MP_ERR_FORMAT, "%s: manifest line %zu is malformed",
                    s->path, lineno);
    int rc = targz_index_add_line(s->ix, &l);
    targz_manifest_line_free(&l);
    return rc == 0 ? MP_OK : index_failed(s);
}

static mp_status read_manifest(targz_source *s, targz_input *in)
{
    line_splitter ls = {0};
    size_t lineno = 0;
    mp_status st = MP_OK;
    s->has_manifest = 1;
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int rc = archive_read_data_block(in->ar, &buf, &size, &off);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK) {
            st = read_error(s, in, TARGZ_MANIFEST_NAME);
            goto out;
        }
        const char *p = buf, *end = p + size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (ls.len + n > TARGZ_MANIFEST_LINE_MAX) {
                st = fail(s, MP_ERR_FORMAT, "%s: manifest line %zu too long",
                          s->path, lineno + 1);
                goto out;
            }
            if (ls.len + n + 1 > ls.cap) {
                size_t cap = (ls.len + n + 1) * 2;
                char *b = realloc(ls.buf, cap);
                if (!b) {
                    st = fail(s, MP_ERR_INTERNAL, "out of memory");
                    goto out;
                }
                ls.buf = b;
                ls.cap = cap;
            }
            memcpy(ls.buf + ls.len, p, n);
            ls.len += n;
            p += n;
            if (nl) {
                p++;
                st = manifest_line(s, ls.buf, ls.len, ++lineno);
                ls.len = 0;
                if (st != MP_OK)
                    goto out;
            }
        }
    }
    if (ls.len > 0)
        st = manifest_line(s, ls.buf, ls.len, ++lineno);
out:
    free(ls.buf);
    return st;
}

static mp_status read_keywords_file(targz_source *s, targz_input *in,
                                    const char *path)
{
    char *text = malloc(KEYWORDS_FILE_MAX + 1);
    size_t len = 0;
    if (!text)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    for (;;) {
        la_ssize_t n =
            archive_read_data(in->ar, text + len, KEYWORDS_FILE_MAX - len);
        if (n < 0) {
            free(text);
            return read_error(s, in, path);
        }
        if (n == 0 || (len += (size_t)n) == KEYWORDS_FILE_MAX)
            break;
    }
    text[len] = '\0';
    kw_file *k = realloc(s->kw_files, (s->n_kw_files + 1) * sizeof *k);
    if (!k) {
        free(text);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    s->kw_files = k;
    size_t dlen = strlen(path) - strlen("dovecot-keywords");
    k[s->n_kw_files].dir = strndup(path, dlen ? dlen - 1 : 0);
    k[s->n_kw_files].text = text;
    s->n_kw_files++;
    return MP_OK;
}

/* The whole current entry WHAT into *TEXT (malloc'd, NUL-terminated) and
 * *LEN, replacing what was there. */
static mp_status read_whole(targz_source *s, targz_input *in, const char *what,
                            char **out, size_t *out_len)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap + 1);
    for (;;) {
        if (!text)
            return fail(s, MP_ERR_INTERNAL, "out of memory");
        if (len == cap) {
            char *grown = realloc(text, cap * 2 + 1);
            if (!grown)
                free(text);
            text = grown;
            cap *= 2;
            continue;
        }
        la_ssize_t n = archive_read_data(in->ar, text + len, cap - len);
        if (n < 0) {
            free(text);
            return read_error(s, in, what);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';
    free(*out);
    *out = text;
    *out_len = len;
    return MP_OK;
}

/* The end of the header block in the first LEN bytes of a message. */
static size_t header_length(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (p[i] != '\n')
            continue;
        if (p[i + 1] == '\n')
            return i + 1;
        if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
            return i + 1;
    }
    return len;
}

/* The first pass met damage at WHAT (an entry's name, or where it was):
 * remember it, so that what came before is restored and the rest named as
 * lost (issue 8.8: age authenticates chunk by chunk, so everything read so
 * far is genuine). */
static void note_damage(targz_source *s, targz_input *in, const char *what)
{
    char err[768];
    targz_input_error(in, err, sizeof err);
    s->damaged = 1;
    snprintf(s->damage, sizeof s->damage,
             "%s is damaged or truncated at %s (%s)", s->path, what, err);
}

/* A message whose entry the damage cut short: listed, so that copy and
 * verify count and name it, and failed when fetched. Takes PATH. */
static mp_status add_damaged(targz_source *s, const char *raw, char *path,
                             size_t ordinal, struct archive_entry *e)
{
    char *identity = malloc(strlen(path) + 16);
    if (!identity) {
        free(path);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    sprintf(identity, "X:damaged:%s", path);
    targz_imsg m = {
        .raw_path = (char *)raw,
        .path = path,
        .identity = identity,
        .ordinal = (int64_t)ordinal,
        .folder = TARGZ_NO_FOLDER,
        .size = (uint64_t)archive_entry_size(e),
        .mtime = MP_DATE_UNKNOWN,
        .problem = TARGZ_PROBLEM_DAMAGED,
    };
    mp_status st = add_msg(s, &m);
    free(identity);
    free(path);
    return st;
}

static mp_status read_message(targz_source *s, targz_input *in,
                              struct archive_entry *e, const char *raw,
                              char *path, size_t ordinal, char *hdr_buf)
{
    targz_hash h;
    size_t hdr_len = 0;
    if (targz_hash_init(&h) != 0) {
        free(path);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int rc = archive_read_data_block(in->ar, &buf, &size, &off);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK) {
            targz_hash_discard(&h);
            note_damage(s, in, path);
            return add_damaged(s, raw, path, ordinal, e);
        }
        if (hdr_len < HEADER_CAPTURE_MAX) {
            size_t n = HEADER_CAPTURE_MAX - hdr_len;
            if (n > size)
                n = size;
            memcpy(hdr_buf + hdr_len, buf, n);
            hdr_len += n;
        }
        targz_hash_update(&h, buf, size);
    }
    targz_imsg m = {
        .raw_path = (char *)raw,
        .path = path,
        .ordinal = (int64_t)ordinal,
        .folder = TARGZ_NO_FOLDER,
        .size = (uint64_t)archive_entry_size(e),
        .mtime = archive_entry_mtime_is_set(e) ? (int64_t)archive_entry_mtime(e)
                                               : MP_DATE_UNKNOWN,
    };
    targz_hash_final(&h, m.sha);
    m.vsize = h.lf_len + h.lines;
    char ident[96];
    s->host->identity_of_header(
        s->host, hdr_buf, header_length(hdr_buf, hdr_len), ident, sizeof ident);
    m.identity = ident;
    mp_status st = add_msg(s, &m);
    free(path);
    return st;
}

static mp_status first_pass(targz_source *s)
{
    targz_input in;
    mp_status st = open_input(s, &in);
    if (st != MP_OK)
        return st;
    char *hdr_buf = malloc(HEADER_CAPTURE_MAX);
    if (!hdr_buf) {
        targz_input_close(&in);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    struct archive_entry *e;
    int rc;
    size_t ordinal = 0;
    while (st == MP_OK && !s->damaged &&
           (rc = archive_read_next_header(in.ar, &e)) == ARCHIVE_OK) {
        size_t ord = ordinal++;
        const char *raw = archive_entry_pathname(e);
        if (!raw)
            continue;
        char *path = normalise(raw);
        if (!path) {
            st = fail(s, MP_ERR_INTERNAL, "out of memory");
            break;
        }
        if (!*path) { /* "./" itself */
            free(path);
            continue;
        }
        note_root(s, path);
        mode_t type = archive_entry_filetype(e);
        size_t plen;
        const char *parent = parent_name(path, &plen);
        const char *base = base_name(path);
        if (type == AE_IFDIR) {
            if (is_cur_or_new(base, strlen(base)) &&
                grow((void **)&s->maildir_dirs, &s->cap_dirs, s->n_dirs,
                     sizeof *s->maildir_dirs) == 0)
                s->maildir_dirs[s->n_dirs++] = path;
            else
                free(path);
        } else if (type != AE_IFREG) {
            free(path);
        } else if (strcmp(path, TARGZ_MANIFEST_NAME) == 0) {
            free(path);
            st = read_manifest(s, &in);
        } else if (strcmp(base, MD_SUBS_FILE) == 0 &&
                   (plen == 0 ||
                    (path[0] != '.' && !memchr(path, '/', plen)))) {
            /* At the root, or under a tarball's one top directory. */
            free(path);
            st = read_whole(s, &in, MD_SUBS_FILE, &s->subs_text, &s->subs_len);
        } else if (strcmp(path, TARGZ_SERIES_HEADER_NAME) == 0) {
            free(path);
            st = read_whole(s, &in, TARGZ_SERIES_HEADER_NAME, &s->series_header,
                            &s->series_header_len);
        } else if (strcmp(path, TARGZ_SERIES_CHANGES_NAME) == 0) {
            free(path);
            st = read_whole(s, &in, TARGZ_SERIES_CHANGES_NAME,
                            &s->series_changes, &s->series_changes_len);
        } else if (strcmp(base, "dovecot-keywords") == 0) {
            st = read_keywords_file(s, &in, path);
            free(path);
        } else if (is_cur_or_new(parent, plen) && base[0] != '.') {
            st = read_message(s, &in, e, raw, path, ord, hdr_buf);
        } else {
            free(path); /* tmp/, dovecot files, markers: not mail */
        }
    }
    if (st == MP_OK && !s->damaged &&
        (rc != ARCHIVE_EOF || targz_input_damaged(&in))) {
        char where[64];
        snprintf(where, sizeof where, "entry %zu", ordinal + 1);
        note_damage(s, &in, where);
    }
    if (st == MP_OK && s->damaged && s->n_msgs == 0)
        st = fail(s, MP_ERR_FORMAT, "%s: no message could be read", s->damage);
    s->n_entries = ordinal;
    free(hdr_buf);
    targz_input_close(&in);
    return st;
}

/* ---- making sense of the first pass ------------------------------------- */

static size_t add_folder(targz_source *s, const char *name, const char *dir)
{
    for (size_t i = 0; i < s->n_folders; i++)
        if (strcmp(s->folders[i].name, name) == 0)
            return i;
    if (grow((void **)&s->folders, &s->cap_folders, s->n_folders,
             sizeof *s->folders) != 0)
        return SIZE_MAX;
    src_folder *f = &s->folders[s->n_folders];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->dir = strdup(dir);
    if (!f->name || !f->dir) {
        free(f->name);
        free(f->dir);
        return SIZE_MAX;
    }
    return s->n_folders++;
}

/* Folder name for the Maildir directory DIR (relative to the store root),
 * or NULL when it is not a safe folder. */
static char *folder_for_dir(targz_source *s, const char *dir)
{
    if (*dir == '\0' || (dir[0] == '.' && !strchr(dir, '/')))
        return targz_dir_to_folder(dir);
    if (s->has_manifest)
        return NULL; /* mailport writes Maildir++ names only */
    /* A nested ("fs" layout) tree: the path is the folder name. */
    const char *p = dir;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return NULL;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return NULL;
        p += n;
        if (*p == '/')
            p++;
    }
    return strdup(dir);
}

/* The Maildir directory of a path "D/cur/x" or "cur/x" (PREFIX removed):
 * malloc'd "D" or "". */
static char *maildir_of(const char *rel, int is_dir)
{
    const char *end = is_dir ? rel + strlen(rel) : strrchr(rel, '/');
    if (!end)
        return NULL;
    const char *sub = end;
    while (sub > rel && sub[-1] != '/')
        sub--;
    /* sub .. end is "cur" or "new" */
    if (sub == rel)
        return strdup("");
    return strndup(rel, (size_t)(sub - rel - 1));
}

static src_folder *folder_by_dir(targz_source *s, const char *dir)
{
    for (size_t i = 0; i < s->n_folders; i++)
        if (strcmp(s->folders[i].dir, dir) == 0)
            return &s->folders[i];
    return NULL;
}

static void load_keywords(targz_source *s, const char *prefix)
{
    size_t plen = strlen(prefix);
    for (size_t k = 0; k < s->n_kw_files; k++) {
        const char *dir = s->kw_files[k].dir;
        if (strncmp(dir, prefix, plen) != 0 &&
            !(plen && strlen(dir) + 1 == plen))
            continue;
        const char *rel = strlen(dir) >= plen ? dir + plen : "";
        src_folder *f = folder_by_dir(s, rel);
        if (!f)
            continue;
        /* Dovecot's format: "<index> <keyword>" per line. */
        char *save = NULL;
        for (char *line = strtok_r(s->kw_files[k].text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            char *end;
            long idx = strtol(line, &end, 10);
            if (end == line || *end != ' ' || idx < 0 ||
                idx >= MAX_KEYWORD_LETTERS || !end[1] || strchr(end + 1, ' '))
                continue;
            free(f->keywords[idx]);
            f->keywords[idx] = strdup(end + 1);
        }
    }
}

/* Flags and keywords from a file name's info part: M's flags set and its
 * keywords malloc'd (NULL when none). */
static void flags_from_name(targz_imsg *m, const src_folder *f)
{
    m->keywords = NULL;
    const char *info = targz_name_info(m->path);
    if (!info)
        return;
    m->flags = targz_letters_to_flags(info);
    char kw[4096] = "";
    size_t used = 0;
    for (const char *p = info; *p; p++) {
        if (*p < 'a' || *p > 'z' || !f->keywords[*p - 'a'])
            continue;
        int n = snprintf(kw + used, sizeof kw - used, "%s%s", used ? " " : "",
                         f->keywords[*p - 'a']);
        if (n < 0 || (size_t)n >= sizeof kw - used)
            break;
        used += (size_t)n;
    }
    m->keywords = used ? strdup(kw) : NULL;
}

/* A manifest line whose file is not in the archive becomes a message that
 * scan reports and fetch fails, so that copy and verify name it. */
static mp_status add_missing(targz_source *s, const targz_manifest_line *l,
                             char *norm)
{
    size_t idx = SIZE_MAX;
    for (size_t k = 0; l->folder && k < s->n_folders && idx == SIZE_MAX; k++)
        if (strcmp(s->folders[k].name, l->folder) == 0)
            idx = k;
    if (idx == SIZE_MAX && l->folder) {
        char *dir = targz_folder_to_dir(l->folder);
        idx = dir ? add_folder(s, l->folder, dir) : SIZE_MAX;
        free(dir);
    }
    if (idx == SIZE_MAX || !norm)
        return MP_OK; /* no usable folder: counted in the log line only */
    char *identity = malloc(strlen(norm) + 16);
    if (!identity)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    sprintf(identity, "X:missing:%s", norm);
    targz_imsg m = {
        .raw_path = l->file,
        .path = norm,
        .identity = identity,
        .ordinal = TARGZ_NO_ORDINAL,
        .folder = (int64_t)idx,
        .size = l->size,
        .mtime = l->has_date ? l->internal_date : MP_DATE_UNKNOWN,
        .flags = l->flags ? targz_letters_to_flags(l->flags) : 0,
        .keywords = l->keywords && *l->keywords ? l->keywords : NULL,
        .in_manifest = 1,
        .problem = TARGZ_PROBLEM_MISSING,
    };
    snprintf(m.sha, sizeof m.sha, "%s", l->sha256);
    mp_status st = add_msg(s, &m);
    free(identity);
    if (st == MP_OK)
        s->folders[idx].n_msgs++;
    return st;
}

/* A walk over the index (targz_index_each) with its outcome. */
typedef struct walk {
    targz_source *s;
    mp_status st;
    const char *prefix;
    size_t plen;
    size_t count;
    char *last_path; /* add_lost_marker: the last message in a folder */
    int64_t last_folder;
    int damaged;
} walk;

/* Run CB over the messages (FOLDER as in targz_index_each). */
static mp_status walk_msgs(targz_source *s, walk *w, int64_t folder,
                           targz_imsg_cb cb)
{
    w->s = s;
    w->st = MP_OK;
    int rc = targz_index_each(s->ix, folder, cb, w);
    if (w->st != MP_OK)
        return w->st;
    return rc < 0 ? index_failed(s) : MP_OK;
}

static int find_last(void *ctx, const targz_imsg *m)
{
    walk *w = ctx;
    if (m->problem == TARGZ_PROBLEM_DAMAGED ||
        m->problem == TARGZ_PROBLEM_LOST) {
        w->damaged = 1;
        return 1; /* the message cut short stands for the loss */
    }
    if (m->folder == TARGZ_NO_FOLDER)
        return 0;
    free(w->last_path);
    w->last_path = strdup(m->path);
    w->last_folder = m->folder;
    if (!w->last_path) {
        w->st = fail(w->s, MP_ERR_INTERNAL, "out of memory");
        return 1;
    }
    return 0;
}

/* After damage at an entry boundary no message was cut short: a stand-in
 * in the folder of the last message read (fetching it fails, naming the
 * damage) makes the loss counted and named, and the run exit 1. */
static mp_status add_lost_marker(targz_source *s)
{
    walk w = {.last_folder = TARGZ_NO_FOLDER};
    mp_status st = walk_msgs(s, &w, -1, find_last);
    if (st != MP_OK || w.damaged || !w.last_path) {
        free(w.last_path);
        return st;
    }
    size_t len = strlen(w.last_path) + 32;
    char *path = malloc(len);
    char *identity = malloc(len + 16);
    if (!path || !identity) {
        free(path);
        free(identity);
        free(w.last_path);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    snprintf(path, len, "%s (the archive ends here)", w.last_path);
    snprintf(identity, len + 16, "X:damaged:%s", path);
    free(w.last_path);
    targz_imsg m = {
        .raw_path = path,
        .path = path,
        .identity = identity,
        .ordinal = TARGZ_NO_ORDINAL,
        .folder = w.last_folder,
        .mtime = MP_DATE_UNKNOWN,
        .problem = TARGZ_PROBLEM_LOST,
    };
    st = add_msg(s, &m);
    if (st == MP_OK)
        s->folders[w.last_folder].n_msgs++;
    free(path);
    free(identity);
    return st;
}

/* The folder of message path PATH (W's prefix removed): its index, or
 * SIZE_MAX when it is in no valid folder (*OOM set when that is for want
 * of memory). Adds the folder when new. */
static size_t folder_of(walk *w, const char *path, int *oom)
{
    const char *rel =
        strncmp(path, w->prefix, w->plen) == 0 ? path + w->plen : path;
    char *dir = maildir_of(rel, 0);
    char *name = dir ? folder_for_dir(w->s, dir) : NULL;
    size_t idx = name ? add_folder(w->s, name, dir) : SIZE_MAX;
    *oom = name && idx == SIZE_MAX;
    free(dir);
    free(name);
    return idx;
}

/* First walk: the folders, in the order their messages appear. */
static int gather_folder(void *ctx, const targz_imsg *m)
{
    walk *w = ctx;
    int oom;
    if (folder_of(w, m->path, &oom) == SIZE_MAX)
        w->count++;
    if (oom) {
        w->st = fail(w->s, MP_ERR_INTERNAL, "out of memory");
        return 1;
    }
    return 0;
}

/* Second walk, once the keyword files are read: each message gets its
 * folder, and the flags and keywords of its file name. */
static int assign_folder(void *ctx, const targz_imsg *m)
{
    walk *w = ctx;
    int oom;
    size_t idx = folder_of(w, m->path, &oom);
    if (idx == SIZE_MAX)
        return 0;
    targz_imsg u = *m;
    u.folder = (int64_t)idx;
    flags_from_name(&u, &w->s->folders[idx]);
    int rc = targz_index_update(w->s->ix, &u);
    free(u.keywords);
    if (rc != 0) {
        w->st = index_failed(w->s);
        return 1;
    }
    w->s->folders[idx].n_msgs++;
    return 0;
}

/* A manifest line against the message it names. */
static int check_line(void *ctx, const targz_manifest_line *l)
{
    walk *w = ctx;
    targz_source *s = w->s;
    char *norm = normalise(l->file);
    targz_imsg m;
    int found = norm ? targz_index_find(s->ix, norm, &m) : 0;
    if (found < 0) {
        free(norm);
        w->st = index_failed(s);
        return 1;
    }
    if (!found || m.folder == TARGZ_NO_FOLDER) {
        if (found)
            targz_imsg_free(&m);
        w->st = add_missing(s, l, norm);
        free(norm);
        w->count++;
        return w->st != MP_OK;
    }
    free(norm);
    m.in_manifest = 1;
    if (l->has_size && l->size != m.size)
        m.problem = TARGZ_PROBLEM_SIZE;
    else if (strcmp(l->sha256, m.sha) != 0)
        m.problem = TARGZ_PROBLEM_SHA;
    if (m.problem)
        w->count++;
    if (l->flags)
        m.flags = targz_letters_to_flags(l->flags);
    char *own_keywords = m.keywords;
    m.keywords = l->keywords && *l->keywords ? l->keywords : NULL;
    if (l->has_date)
        m.mtime = l->internal_date;
    int rc = targz_index_update(s->ix, &m);
    m.keywords = own_keywords;
    targz_imsg_free(&m);
    if (rc != 0) {
        w->st = index_failed(s);
        return 1;
    }
    return 0;
}

static int count_unlisted(void *ctx, const targz_imsg *m)
{
    walk *w = ctx;
    w->count += !m->in_manifest && m->folder != TARGZ_NO_FOLDER;
    return 0;
}

static int count_whole(void *ctx, const targz_imsg *m)
{
    walk *w = ctx;
    w->count += !m->problem && m->folder != TARGZ_NO_FOLDER;
    return 0;
}

static mp_status organise(targz_source *s)
{
    /* One top-level directory around a plain Maildir tarball is skipped. */
    char *prefix = strdup("");
    if (!s->has_manifest && s->first_component && !s->mixed_roots &&
        strcmp(s->first_component, "cur") != 0 &&
        strcmp(s->first_component, "new") != 0 &&
        strcmp(s->first_component, "tmp") != 0 &&
        s->first_component[0] != '.') {
        free(prefix);
        prefix = malloc(strlen(s->first_component) + 2);
        if (prefix)
            sprintf(prefix, "%s/", s->first_component);
    }
    if (!prefix)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    walk w = {.prefix = prefix, .plen = strlen(prefix)};

    /* Folders, in the order their directories or messages appear; each
     * message is assigned to one. */
    mp_status st = walk_msgs(s, &w, -1, gather_folder);
    size_t skipped = w.count;
    for (size_t i = 0; i < s->n_dirs && st == MP_OK; i++) {
        const char *path = s->maildir_dirs[i];
        const char *rel =
            strncmp(path, prefix, w.plen) == 0 ? path + w.plen : path;
        char *dir = maildir_of(rel, 1);
        char *name = dir ? folder_for_dir(s, dir) : NULL;
        if (name && add_folder(s, name, dir) == SIZE_MAX)
            st = fail(s, MP_ERR_INTERNAL, "out of memory");
        free(dir);
        free(name);
    }
    if (skipped)
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: %zu file(s) in directories that are not valid "
                     "Maildir folders were skipped",
                     s->display, skipped);
    load_keywords(s, prefix);
    if (st == MP_OK)
        st = walk_msgs(s, &w, -1, assign_folder);
    free(prefix);
    if (st != MP_OK)
        return st;

    if (!s->has_manifest && s->damaged) {
        /* The manifest comes last: lost with the damage. The messages read
         * before it are restored with the flags in their file names. */
        st = add_lost_marker(s);
        w.count = 0;
        if (st == MP_OK)
            st = walk_msgs(s, &w, -1, count_whole);
        s->host->log(s->host, MP_LOG_ERROR,
                     "%s: %s; the %zu whole message(s) before it are read "
                     "(flags from file names), what followed is lost",
                     s->display, s->damage, w.count);
        return st;
    }
    if (!s->has_manifest) {
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: no mailport manifest; reading it as a plain "
                     "Maildir tarball (flags from file names, no checksums)",
                     s->display);
        return MP_OK;
    }
    /* Check every message against its manifest line. */
    w.count = 0;
    w.s = s;
    w.st = MP_OK;
    int rc = targz_index_each_line(s->ix, check_line, &w);
    if (w.st != MP_OK)
        return w.st;
    if (rc < 0)
        return index_failed(s);
    size_t bad = w.count;
    w.count = 0;
    if ((st = walk_msgs(s, &w, -1, count_unlisted)) != MP_OK)
        return st;
    if (w.count)
        s->host->log(s->host, MP_LOG_WARN,
                     "%s: %zu message(s) in %s are not in its manifest",
                     s->display, w.count, s->path);
    if (bad)
        s->host->log(s->host, MP_LOG_ERROR,
                     "%s: %zu message(s) in %s do not match the manifest",
                     s->display, bad, s->path);
    return MP_OK;
}

/* ---- ops ------------------------------------------------------------------
 */

static void src_close(void *store);

static mp_status src_open(mp_host *host, const mp_endpoint *ep, void **store)
{
    targz_source *s = calloc(1, sizeof *s);
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
    s->pass_src =
        (age_passphrase_source){get_passphrase, release_passphrase, s};
    mp_status st = MP_FATAL;
    if (!ep->path || !*ep->path) {
        fail(s, MP_ERR_USAGE, "no archive path");
        goto out;
    }
    s->path = strdup(ep->path);
    if ((st = targz_load_identities(host, ep->display, &s->ids)) != MP_OK)
        goto out;
    if (targz_passphrase_given(host)) {
        st = host->secret(host, "passphrase",
                          "Passphrase for the archive: ", &s->passphrase);
        if (st != MP_OK)
            goto out;
    }
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = fail(s, errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO,
                  "cannot open %s: %s", s->path, strerror(errno));
        goto out;
    }
    size_t len = strlen(s->path);
    s->encrypted =
        targz_is_age(fd) || (len > 4 && strcmp(s->path + len - 4, ".age") == 0);
    close(fd);
    if (s->encrypted &&
        (st = targz_require_key(host, &s->ids)) != MP_OK)
        goto out;
    char err[512];
    if (targz_index_open(&s->ix, err, sizeof err) != 0) {
        st = fail(s, MP_ERR_IO, "%s", err);
        goto out;
    }
    if ((st = first_pass(s)) != MP_OK || (st = organise(s)) != MP_OK)
        goto out;
    if (targz_index_seal(s->ix) != 0) {
        st = index_failed(s);
        goto out;
    }
    if (s->n_folders == 0) {
        st = fail(s, MP_ERR_FORMAT,
                  "%s holds no Maildir folder (no cur/ or new/ directory)",
                  s->path);
        goto out;
    }
    *store = s;
    return MP_OK;
out:
    src_close(s);
    return MP_FATAL;
}

static void src_close(void *store)
{
    targz_source *s = store;
    if (!s)
        return;
    if (s->cursor_open)
        targz_input_close(&s->cursor);
    targz_index_close(s->ix);
    for (size_t i = 0; i < s->n_folders; i++) {
        src_folder *f = &s->folders[i];
        free(f->name);
        free(f->dir);
        for (int k = 0; k < MAX_KEYWORD_LETTERS; k++)
            free(f->keywords[k]);
    }
    free(s->folders);
    for (size_t i = 0; i < s->n_dirs; i++)
        free(s->maildir_dirs[i]);
    free(s->maildir_dirs);
    for (size_t i = 0; i < s->n_kw_files; i++) {
        free(s->kw_files[i].dir);
        free(s->kw_files[i].text);
    }
    free(s->kw_files);
    free(s->subs_text);
    free(s->series_header);
    free(s->series_changes);
    free(s->first_component);
    if (s->passphrase)
        s->host->secret_free(s->host, s->passphrase);
    age_keyring_free(&s->ids);
    free(s->path);
    free(s->display);
    free(s);
}

static void folder_info(const src_folder *f, mp_folder_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->name = f->name;
    info->validity = 1; /* keys are paths inside one immutable archive */
    info->count = (int64_t)f->n_msgs;
    /* The archive holds a Maildir, which keeps no special-use metadata:
     * by name, as the Maildir plugin does, so --automap works alike. */
    info->special_use = mp_special_use_by_name(f->name);
}

/* Is folder NAME among the N subscribed NAMES? */
static int subscription_of(const targz_source *s, char **names, size_t n,
                           const char *name)
{
    if (!s->subs_text)
        return MP_SUBSCRIPTION_UNKNOWN;
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return MP_SUBSCRIBED;
    return MP_UNSUBSCRIBED;
}

typedef struct list_subs {
    char **names;
    size_t n;
} list_subs;

static mp_status emit_one(targz_source *s, size_t i, const list_subs *subs,
                          mp_folder_cb cb, void *ctx)
{
    mp_folder_info info;
    folder_info(&s->folders[i], &info);
    info.subscribed =
        subscription_of(s, subs->names, subs->n, s->folders[i].name);
    return cb(ctx, &info);
}

static mp_status emit_folder(targz_source *s, size_t i, char *emitted,
                             const list_subs *subs, mp_folder_cb cb, void *ctx)
{
    if (emitted[i])
        return MP_OK;
    /* Parents first: any folder whose name is a '/'-prefix of this one. */
    const char *name = s->folders[i].name;
    for (const char *p = strchr(name, '/'); p; p = strchr(p + 1, '/')) {
        for (size_t k = 0; k < s->n_folders; k++) {
            const char *other = s->folders[k].name;
            if (!emitted[k] && strlen(other) == (size_t)(p - name) &&
                strncmp(other, name, (size_t)(p - name)) == 0) {
                emitted[k] = 1;
                mp_status st = emit_one(s, k, subs, cb, ctx);
                if (st != MP_OK)
                    return st;
            }
        }
    }
    emitted[i] = 1;
    return emit_one(s, i, subs, cb, ctx);
}

static mp_status src_list_folders(void *store, mp_folder_cb cb, void *ctx)
{
    targz_source *s = store;
    char *emitted = calloc(s->n_folders + 1, 1);
    if (!emitted)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    list_subs subs = {0};
    if (s->subs_text && md_subs_parse(MD_LAYOUT_MAILDIRPP, s->subs_text,
                                      s->subs_len, &subs.names, &subs.n) != 0) {
        free(emitted);
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    }
    mp_status st = MP_OK;
    for (size_t i = 0; i < s->n_folders && st == MP_OK; i++)
        st = emit_folder(s, i, emitted, &subs, cb, ctx);
    md_subs_free(subs.names, subs.n);
    free(emitted);
    return st;
}

static mp_status src_open_folder(void *store, const char *name, void **folder,
                                 mp_folder_info *info)
{
    targz_source *s = store;
    for (size_t i = 0; i < s->n_folders; i++) {
        if (strcmp(s->folders[i].name, name) != 0)
            continue;
        src_folder_handle *h = calloc(1, sizeof *h);
        if (!h)
            return fail(s, MP_ERR_INTERNAL, "out of memory");
        h->src = s;
        h->idx = i;
        folder_info(&s->folders[i], info);
        *folder = h;
        return MP_OK;
    }
    s->host->set_error(s->host, MP_ERR_NOTFOUND, "%s: no folder \"%s\"",
                       s->display, name);
    return MP_FOLDER_BAD;
}

static void src_close_folder(void *folder)
{
    free(folder);
}

static void msg_info(const targz_imsg *m, mp_msg_info *info, int identity)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->key = m->raw_path;
    info->size = m->size;
    info->vsize = m->vsize;
    info->flags = m->flags;
    info->keywords = m->keywords ? m->keywords : "";
    info->internal_date = m->mtime;
    info->identity = identity ? m->identity : NULL;
}

/* Why a message cannot be trusted, in words (targz_imsg.problem). */
static const char *problem_text(int problem)
{
    switch (problem) {
    case TARGZ_PROBLEM_DAMAGED:
        return "the archive is damaged or truncated inside it: it and "
               "everything after it in the archive are lost";
    case TARGZ_PROBLEM_LOST:
        return "the archive is damaged or truncated after the message "
               "before: whatever followed is lost";
    case TARGZ_PROBLEM_MISSING:
        return "it is listed in the manifest but missing from the archive";
    case TARGZ_PROBLEM_SIZE:
        return "its size differs from the manifest";
    case TARGZ_PROBLEM_SHA:
        return "its SHA-256 differs from the manifest";
    default:
        return "it cannot be read";
    }
}

typedef struct scan_walk {
    mp_msg_cb cb;
    void *ctx;
    int identity;
    mp_status st;
} scan_walk;

static int scan_one(void *ctx, const targz_imsg *m)
{
    scan_walk *w = ctx;
    mp_msg_info info;
    msg_info(m, &info, w->identity);
    w->st = w->cb(w->ctx, &info);
    return w->st != MP_OK;
}

static mp_status src_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx)
{
    src_folder_handle *h = folder;
    targz_source *s = h->src;
    scan_walk w = {cb, ctx, (flags & MP_SCAN_IDENTITY) != 0, MP_OK};
    int rc = targz_index_each(s->ix, (int64_t)h->idx, scan_one, &w);
    if (w.st != MP_OK)
        return w.st;
    return rc < 0 ? index_failed(s) : MP_OK;
}

/* ---- fetch: the second pass ---------------------------------------------- */

typedef struct wanted {
    targz_imsg m; /* owned */
    size_t index; /* position in fetch's KEYS */
} wanted;

static int by_ordinal(const void *a, const void *b)
{
    int64_t oa = ((const wanted *)a)->m.ordinal;
    int64_t ob = ((const wanted *)b)->m.ordinal;
    return oa < ob ? -1 : oa > ob;
}

static mp_status fail_one(targz_source *s, const mp_fetch_cb *cb, void *ctx,
                          size_t index, const char *key, const targz_imsg *m,
                          mp_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* Report message INDEX (M, when known) as begun and failed, without any
 * data. */
static mp_status fail_one(targz_source *s, const mp_fetch_cb *cb, void *ctx,
                          size_t index, const char *key, const targz_imsg *m,
                          mp_error_kind kind, const char *fmt, ...)
{
    mp_msg_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.key = key;
    info.keywords = "";
    info.internal_date = MP_DATE_UNKNOWN;
    if (m)
        msg_info(m, &info, 0);
    mp_status st = cb->begin(ctx, index, &info);
    if (st != MP_OK)
        return st;
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s->host->set_error(s->host, kind, "%s: %s", s->display, text);
    return cb->end(ctx, MP_MSG_BAD);
}

static mp_status cursor_restart(targz_source *s)
{
    if (s->cursor_open)
        targz_input_close(&s->cursor);
    s->cursor_open = 0;
    mp_status st = open_input(s, &s->cursor);
    if (st != MP_OK)
        return st;
    s->cursor_open = 1;
    s->cursor_next = 0;
    return MP_OK;
}

/* Stream the current entry (message M) to CB, checking its hash again. */
static mp_status deliver(targz_source *s, const targz_imsg *m, size_t index,
                         const mp_fetch_cb *cb, void *ctx)
{
    mp_msg_info info;
    msg_info(m, &info, 0);
    mp_status st = cb->begin(ctx, index, &info);
    if (st != MP_OK)
        return st;
    targz_hash h;
    if (targz_hash_init(&h) != 0) {
        s->host->set_error(s->host, MP_ERR_INTERNAL, "out of memory");
        cb->end(ctx, MP_FATAL);
        return MP_FATAL;
    }
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int rc = archive_read_data_block(s->cursor.ar, &buf, &size, &off);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK) {
            targz_hash_discard(&h);
            st = read_error(s, &s->cursor, m->path);
            targz_input_close(&s->cursor);
            s->cursor_open = 0;
            cb->end(ctx, MP_FATAL);
            return st;
        }
        targz_hash_update(&h, buf, size);
        st = cb->data(ctx, buf, size);
        if (st != MP_OK) {
            targz_hash_discard(&h);
            return st;
        }
    }
    char hex[65];
    targz_hash_final(&h, hex);
    if (strcmp(hex, m->sha) != 0) {
        /* The file changed between the passes. */
        s->host->set_error(s->host, MP_ERR_FORMAT,
                           "%s: %s in %s changed while being read", s->display,
                           m->path, s->path);
        return cb->end(ctx, MP_MSG_BAD);
    }
    return cb->end(ctx, MP_OK);
}

/* The message KEY (a raw entry name, or its normalised form): 1 with *M
 * filled (free with targz_imsg_free), 0 when there is none, -1 on failure
 * (the error set). */
static int find_key(targz_source *s, const char *key, targz_imsg *m)
{
    int found = targz_index_find(s->ix, key, m);
    if (found == 0) {
        char *norm = normalise(key);
        if (!norm) {
            fail(s, MP_ERR_INTERNAL, "out of memory");
            return -1;
        }
        found = targz_index_find(s->ix, norm, m);
        free(norm);
    }
    if (found < 0)
        index_failed(s);
    return found;
}

static mp_status src_fetch(void *folder, const char *const *keys, size_t n,
                           const mp_fetch_cb *cb, void *ctx)
{
    src_folder_handle *h = folder;
    targz_source *s = h->src;
    wanted *w = calloc(n ? n : 1, sizeof *w);
    if (!w)
        return fail(s, MP_ERR_INTERNAL, "out of memory");
    size_t n_w = 0;
    mp_status st = MP_OK;
    for (size_t i = 0; i < n && st == MP_OK; i++) {
        targz_imsg m;
        int found = find_key(s, keys[i], &m);
        if (found < 0) {
            st = MP_FATAL;
            break;
        }
        if (!found || m.folder != (int64_t)h->idx)
            st = fail_one(s, cb, ctx, i, keys[i], NULL, MP_ERR_NOTFOUND,
                          "no message %s in folder \"%s\"", keys[i],
                          s->folders[h->idx].name);
        else if (m.problem)
            st = fail_one(s, cb, ctx, i, keys[i], &m, MP_ERR_FORMAT,
                          "%s in %s: %s", m.path, s->path,
                          problem_text(m.problem));
        else {
            w[n_w++] = (wanted){m, i};
            continue;
        }
        if (found)
            targz_imsg_free(&m);
    }
    if (st != MP_OK || n_w == 0)
        goto out;
    qsort(w, n_w, sizeof *w, by_ordinal);
    if (!s->cursor_open || (size_t)w[0].m.ordinal < s->cursor_next)
        st = cursor_restart(s);
    size_t next = 0;
    while (st == MP_OK && next < n_w) {
        struct archive_entry *e;
        int rc = archive_read_next_header(s->cursor.ar, &e);
        if (rc != ARCHIVE_OK) {
            st = rc == ARCHIVE_EOF
                     ? fail(s, MP_ERR_FORMAT, "%s changed while being read",
                            s->path)
                     : read_error(s, &s->cursor, "second pass");
            break;
        }
        size_t ord = s->cursor_next++;
        const targz_imsg *m = &w[next].m;
        if ((int64_t)ord < m->ordinal)
            continue;
        if ((int64_t)ord > m->ordinal ||
            strcmp(archive_entry_pathname(e), m->raw_path) != 0) {
            st = fail(s, MP_ERR_FORMAT, "%s changed while being read", s->path);
            break;
        }
        /* The same key twice in KEYS: deliver each once, as asked. */
        int64_t id = m->id;
        while (st == MP_OK && next < n_w && w[next].m.id == id) {
            if (next > 0 && w[next - 1].m.id == id) {
                st = fail_one(s, cb, ctx, w[next].index, m->raw_path, m,
                              MP_ERR_USAGE, "%s asked for twice", m->path);
            } else {
                st = deliver(s, m, w[next].index, cb, ctx);
            }
            next++;
        }
    }
    if (st != MP_OK && s->cursor_open) {
        /* A callback stopped us mid-entry: start afresh next time. */
        targz_input_close(&s->cursor);
        s->cursor_open = 0;
    }
out:
    for (size_t i = 0; i < n_w; i++)
        targz_imsg_free(&w[i].m);
    free(w);
    return st;
}

const char *targz_source_series_file(const void *store, int changes,
                                     size_t *len)
{
    const targz_source *s = store;
    *len = changes ? s->series_changes_len : s->series_header_len;
    return changes ? s->series_changes : s->series_header;
}

const mp_source_ops targz_source_ops = {
    .struct_size = sizeof(mp_source_ops),
    .eol = MP_EOL_NATIVE,
    .open = src_open,
    .close = src_close,
    .list_folders = src_list_folders,
    .open_folder = src_open_folder,
    .close_folder = src_close_folder,
    .scan = src_scan,
    .fetch = src_fetch,
    .probe_sink = targz_probe_sink,
};
