/* Every file under corpora/mbox/ (compressed ones too) read through the
 * plugin must give exactly what an independent, deliberately naive
 * line-by-line reference split gives: same count, same keys, same bytes.
 * Files that are not mboxes must fail with the documented error. */
#include "mbox_testkit.h"
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Files in the corpus that are not mboxes, and why. */
static const struct {
    const char *rel;
    const char *error;
} not_mbox[] = {
    {"email-folder/testmbox.mac", "CR-only line endings"},
    {"git-t5100/0002mboxrd", "does not start with a \"From \" line"},
    {"mairix/mmdf/animals", "MMDF"},
    {"neomutt/cherry.mbox", "does not start with a \"From \" line"},
    {"neomutt/endive.mbox", "does not start with a \"From \" line"},
    {"neomutt/fig.mbox", "MMDF"},
    {"patchwork/mail/0007-cvs-format-diff.mbox", "is not an mbox file"},
    {"patchwork/mail/0008-git-rename.mbox", "is not an mbox file"},
    {"patchwork/mail/0009-git-rename-with-diff.mbox", "is not an mbox file"},
    {"patchwork/mail/0011-no-newline-at-end-of-file.mbox", "is not an mbox file"},
    {"patchwork/mail/0016-no-subject.mbox", "is not an mbox file"},
    {"patchwork/mail/0017-git-pull-request-git-2-14-3.mbox", "is not an mbox file"},
};

typedef struct ref_msg {
    size_t from_off;
    char *data;
    size_t len;
} ref_msg;

typedef struct ref_split {
    int is_mbox;
    ref_msg *msgs;
    size_t n;
} ref_split;

static int blank_line(const char *l, size_t n)
{
    return (n == 1 && l[0] == '\n') || (n == 2 && l[0] == '\r' && l[1] == '\n');
}

static void append(ref_msg *m, const char *p, size_t n)
{
    m->data = realloc(m->data, m->len + n + 1);
    memcpy(m->data + m->len, p, n);
    m->len += n;
    m->data[m->len] = '\0';
}

/* Drop one '>' from every line matching ^>+From . */
static void unquote(ref_msg *m)
{
    size_t w = 0;
    for (size_t i = 0; i < m->len;) {
        size_t e = i;
        while (e < m->len && m->data[e] != '\n')
            e++;
        if (e < m->len)
            e++;
        size_t k = i;
        while (k < e && m->data[k] == '>')
            k++;
        size_t skip = (k > i && e - k >= 5 && memcmp(m->data + k, "From ", 5) == 0);
        memmove(m->data + w, m->data + i + skip, e - i - skip);
        w += e - i - skip;
        i = e;
    }
    m->len = w;
    m->data[w] = '\0';
}

static ref_split reference(const char *buf, size_t len, int unquote_rd)
{
    ref_split r = {0};
    size_t pos = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    /* Lines of blanks before the first From_ line are skipped. */
    for (;;) {
        size_t e = pos;
        while (e < len && buf[e] != '\n' && strchr(" \t\r", buf[e]))
            e++;
        if (e < len && buf[e] == '\n')
            pos = e + 1;
        else if (e == len)
            pos = len;
        else
            break;
        if (pos == len)
            break;
    }
    if (pos == len) {
        r.is_mbox = 1;
        return r;
    }
    const char *first_nl = memchr(buf + pos, '\n', len - pos);
    const char *first_cr = memchr(buf + pos, '\r', len - pos);
    if (len - pos < 5 || memcmp(buf + pos, "From ", 5) != 0 ||
        (first_cr && (!first_nl || first_cr < first_nl) && first_cr[1] != '\n'))
        return r;
    r.is_mbox = 1;
    int prev_blank = 1;
    size_t last_line_start = 0;
    ref_msg *cur = NULL;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - buf) + 1 - pos : len - pos;
        const char *line = buf + pos;
        if (n >= 5 && memcmp(line, "From ", 5) == 0 && prev_blank) {
            if (cur && cur->len > 0 &&
                blank_line(cur->data + last_line_start, cur->len - last_line_start))
                cur->len = last_line_start;
            r.msgs = realloc(r.msgs, (r.n + 1) * sizeof *r.msgs);
            cur = &r.msgs[r.n++];
            *cur = (ref_msg){.from_off = pos};
            prev_blank = 0;
        } else {
            last_line_start = cur->len;
            append(cur, line, n);
            prev_blank = blank_line(line, n);
        }
        pos += n;
    }
    if (cur && cur->len > 0 &&
        blank_line(cur->data + last_line_start, cur->len - last_line_start))
        cur->len = last_line_start;
    for (size_t i = 0; i < r.n; i++) {
        if (!r.msgs[i].data)
            r.msgs[i].data = calloc(1, 1);
        r.msgs[i].data[r.msgs[i].len] = '\0';
        if (unquote_rd)
            unquote(&r.msgs[i]);
    }
    return r;
}

static void ref_free(ref_split *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->msgs[i].data);
    free(r->msgs);
}

static char **files;
static size_t n_files;

static int collect(const char *path, const struct stat *sb, int type,
                   struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F) {
        files = realloc(files, (n_files + 1) * sizeof *files);
        files[n_files++] = strdup(path);
    }
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file's bytes, decompressed by the system's gzip/xz for .gz/.xz. */
static char *file_bytes(const char *path, size_t *len)
{
    size_t n = strlen(path);
    const char *tool = NULL;
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
        tool = "gzip -dc";
    else if (n > 3 && strcmp(path + n - 3, ".xz") == 0)
        tool = "xz -dc";
    if (!tool)
        return mp_read_file(path, len);
    char *cmd = mp_strf("%s '%s'", tool, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = NULL;
    size_t cap = 0, got = 0, r;
    char chunk[65536];
    while ((r = fread(chunk, 1, sizeof chunk, p)) > 0) {
        out = realloc(out, (cap = got + r + 1));
        memcpy(out + got, chunk, r);
        got += r;
    }
    assert_int_equal(pclose(p), 0);
    free(cmd);
    if (!out)
        out = calloc(1, 1);
    out[got] = '\0';
    *len = got;
    return out;
}

static const char *expected_error(const char *rel)
{
    for (size_t i = 0; i < sizeof not_mbox / sizeof *not_mbox; i++)
        if (strcmp(rel, not_mbox[i].rel) == 0)
            return not_mbox[i].error;
    return NULL;
}

static void check_format(const char *format, int unquote_rd, size_t *total)
{
    char *root = mp_strf("%s/mbox", mp_corpora());
    size_t mboxes = 0, refused = 0;
    for (size_t i = 0; i < n_files; i++) {
        const char *path = files[i];
        const char *rel = path + strlen(root) + 1;
        size_t len;
        char *bytes = file_bytes(path, &len);
        ref_split ref = reference(bytes, len, unquote_rd);
        free(bytes);
        char *url = mp_strf("mbox:%s%s", path, format);
        mbt_folder f = mbt_read(url, "INBOX");
        free(url);
        const char *err = expected_error(rel);
        if (err) {
            if (ref.is_mbox)
                fail_msg("%s: the reference split reads it as an mbox", rel);
            if (f.status != MP_FOLDER_BAD || f.kind != MP_ERR_FORMAT)
                fail_msg("%s: status %d kind %d, want a format error", rel,
                         f.status, f.kind);
            assert_contains(f.err, path);
            assert_contains(f.err, err);
            refused++;
        } else {
            if (!ref.is_mbox)
                fail_msg("%s: not an mbox by the reference split", rel);
            if (f.status != MP_OK)
                fail_msg("%s: status %d: %s", rel, f.status, f.err);
            if (f.n != ref.n)
                fail_msg("%s: %zu messages, reference %zu", rel, f.n, ref.n);
            for (size_t k = 0; k < ref.n; k++) {
                char key[32];
                snprintf(key, sizeof key, "%zu", ref.msgs[k].from_off);
                if (strcmp(f.msgs[k].key, key) != 0)
                    fail_msg("%s: message %zu key %s, reference %s", rel, k,
                             f.msgs[k].key, key);
                if (f.msgs[k].len != ref.msgs[k].len ||
                    memcmp(f.msgs[k].data, ref.msgs[k].data, ref.msgs[k].len) != 0)
                    fail_msg("%s: message %zu (key %s) differs: %zu bytes, "
                             "reference %zu",
                             rel, k, key, f.msgs[k].len, ref.msgs[k].len);
                if (f.msgs[k].size != ref.msgs[k].len)
                    fail_msg("%s: message %zu: scan size %llu, bytes %zu", rel,
                             k, (unsigned long long)f.msgs[k].size,
                             ref.msgs[k].len);
            }
            *total += ref.n;
            mboxes++;
        }
        mbt_folder_free(&f);
        ref_free(&ref);
    }
    assert_int_equal(refused, sizeof not_mbox / sizeof *not_mbox);
    assert_int_equal(mboxes + refused, n_files);
    free(root);
}

static void every_corpus_mbox_matches_the_reference(void **state)
{
    (void)state;
    size_t total = 0;
    check_format("", 1, &total);
    /* Sanity of the corpus walk itself: the big SpamAssassin file alone
     * holds 3,900 messages, and the .gz/.xz files were seen. */
    assert_true(total > 3900 + 500);
    size_t compressed = 0;
    for (size_t i = 0; i < n_files; i++)
        compressed += strstr(files[i], "animals.gz") || strstr(files[i], "animals.xz");
    assert_int_equal(compressed, 2);
}

static void mboxo_leaves_quotes_in_place(void **state)
{
    (void)state;
    size_t total = 0;
    check_format("?format=mboxo", 0, &total);
}

static void spamassassin_count_and_dates(void **state)
{
    (void)state;
    char *url = mp_strf("mbox:%s/mbox/spamassassin-ham.mbox", mp_corpora());
    mbt_folder f = mbt_read(url, "INBOX");
    free(url);
    assert_int_equal(f.status, MP_OK);
    assert_int_equal(f.n, 3900);
    size_t dated = 0;
    for (size_t i = 0; i < f.n; i++)
        dated += f.msgs[i].date != MP_DATE_UNKNOWN;
    assert_int_equal(dated, 3900);
    mbt_folder_free(&f);
}

static int setup(void **state)
{
    (void)state;
    char *root = mp_strf("%s/mbox", mp_corpora());
    if (nftw(root, collect, 16, FTW_PHYS) != 0)
        fail_msg("cannot walk %s", root);
    qsort(files, n_files, sizeof *files, by_path);
    free(root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_files; i++)
        free(files[i]);
    free(files);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_corpus_mbox_matches_the_reference),
        cmocka_unit_test(mboxo_leaves_quotes_in_place),
        cmocka_unit_test(spamassassin_count_and_dates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
