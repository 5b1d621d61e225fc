/* The reference split used by the corpus and end-to-end tests: written
 * line by line, as plainly as possible, sharing no code with the plugin. */
#include "mbox_reference.h"

#include "testutil.h"

#include <openssl/sha.h>

#include <ftw.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Files in the corpus that are not mboxes, and why. */
const mbox_ref_refusal mbox_ref_not_mbox[] = {
    {"email-folder/testmbox.mac", "CR-only line endings"},
    {"git-t5100/0002mboxrd", "does not start with a \"From \" line"},
    {"mairix/mmdf/animals", "MMDF"},
    {"neomutt/cherry.mbox", "does not start with a \"From \" line"},
    {"neomutt/endive.mbox", "does not start with a \"From \" line"},
    {"neomutt/fig.mbox", "MMDF"},
    {"patchwork/mail/0007-cvs-format-diff.mbox", "is not an mbox file"},
    {"patchwork/mail/0008-git-rename.mbox", "is not an mbox file"},
    {"patchwork/mail/0009-git-rename-with-diff.mbox", "is not an mbox file"},
    {"patchwork/mail/0011-no-newline-at-end-of-file.mbox",
     "is not an mbox file"},
    {"patchwork/mail/0016-no-subject.mbox", "is not an mbox file"},
    {"patchwork/mail/0017-git-pull-request-git-2-14-3.mbox",
     "is not an mbox file"},
};

static int blank_line(const char *l, size_t n)
{
    return (n == 1 && l[0] == '\n') || (n == 2 && l[0] == '\r' && l[1] == '\n');
}

/* The From_ line rules as regular expressions, apart from the plugin's
 * hand-written parser: a sender then an asctime or RFC 2822 date, or a
 * lone sender token; and an RFC 5322 field line. */
#define WDAY "(Sun|Mon|Tue|Wed|Thu|Fri|Sat),?"
#define MON "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec),?"
#define HMS "[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?"
#define YEAR "([0-9]{4}|[0-9]{2})"
#define ZONE "([A-Za-z]{1,6}|[+-][0-9]{4})"
#define ASCTIME                                                                \
    WDAY "[ \t]+" MON "[ \t]+[0-9]{1,2}[ \t]+" HMS "[ \t]+(" ZONE              \
         "[ \t]+)?" YEAR
#define RFC2822 WDAY "[ \t]+[0-9]{1,2}[ \t]+" MON "[ \t]+" YEAR "[ \t]+" HMS
static const char dated_re[] =
    "^From [ \t]*[^ \t]+[ \t](.*[ \t])?(" ASCTIME "|" RFC2822 ")([ \t].*)?$";
static const char sender_re[] = "^From [ \t]*[^ \t]+[ \t]*$";
static const char field_re[] = "^[!-9;-~]+[ \t]*:";

static int matches(const char *re, const char *p, size_t n)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        fail_msg("bad reference regex %s", re);
    char *line = strndup(p, n);
    size_t k = strlen(line);
    while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
        line[--k] = '\0';
    int hit = regexec(&r, line, 0, NULL, 0) == 0;
    regfree(&r);
    free(line);
    return hit;
}

/* Is L[0..N) a dated From_ line behind one or more '>' (a message that
 * begins with its own envelope line, as a writer quotes it)? */
static int quoted_dated_line(const char *l, size_t n)
{
    size_t k = 0;
    while (k < n && l[k] == '>')
        k++;
    size_t body_n = n;
    while (body_n > k && (l[body_n - 1] == '\n' || l[body_n - 1] == '\r'))
        body_n--;
    return k > 0 && !memchr(l + k, '\r', body_n - k) &&
           matches(dated_re, l + k, n - k);
}

/* Does the From line LINE[0..N), after an empty line, start a message,
 * given what follows it (REST[0..REST_LEN))? */
static int starts_message(const char *line, size_t n, const char *rest,
                          size_t rest_len)
{
    const char *nl = memchr(rest, '\n', rest_len);
    size_t next_n = nl ? (size_t)(nl - rest) + 1 : rest_len;
    int field = rest_len > 0 && matches(field_re, rest, next_n);
    /* A CR anywhere but before the LF: not a From_ line. */
    size_t body_n = n;
    while (body_n > 0 && (line[body_n - 1] == '\n' || line[body_n - 1] == '\r'))
        body_n--;
    if (memchr(line, '\r', body_n))
        return 0;
    if (matches(dated_re, line, n))
        return field || rest_len == 0 || blank_line(rest, next_n) ||
               quoted_dated_line(rest, next_n);
    return field && matches(sender_re, line, n);
}

static void append(ref_msg *m, size_t *cap, const char *p, size_t n)
{
    if (m->len + n + 1 > *cap) {
        *cap = (m->len + n + 1) * 2;
        m->data = realloc(m->data, *cap);
    }
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
        size_t skip =
            (k > i && e - k >= 5 && memcmp(m->data + k, "From ", 5) == 0);
        memmove(m->data + w, m->data + i + skip, e - i - skip);
        w += e - i - skip;
        i = e;
    }
    m->len = w;
    m->data[w] = '\0';
}

/* Is the header line L[0..N) a field mail readers rewrite in place? */
static int rewritten_field_line(const char *l, size_t n)
{
    static const char *const names[] = {"status",
                                        "x-status",
                                        "x-mozilla-status",
                                        "x-mozilla-status2",
                                        "x-mozilla-keys",
                                        "x-keywords",
                                        "x-uid",
                                        "x-imap",
                                        "x-imapbase",
                                        "content-length",
                                        "lines"};
    const char *colon = memchr(l, ':', n);
    if (!colon)
        return 0;
    size_t k = (size_t)(colon - l);
    while (k > 0 && (l[k - 1] == ' ' || l[k - 1] == '\t'))
        k--;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == k && strncasecmp(names[i], l, k) == 0)
            return 1;
    return 0;
}

/* The tag of the message FROM_LINE + RAW, as mbox_key.h defines it. */
static uint64_t reference_tag(const char *from_line, size_t from_len,
                              const char *raw, size_t len)
{
    char *kept = malloc(from_len + len + 1);
    size_t w = 0;
    memcpy(kept, from_line, from_len);
    w = from_len;
    int in_header = 1, skipping = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(raw + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - raw) + 1 - i : len - i;
        const char *l = raw + i;
        if (in_header) {
            if ((n == 1 && l[0] == '\n') ||
                (n == 2 && l[0] == '\r' && l[1] == '\n'))
                in_header = 0;
            else if (l[0] != ' ' && l[0] != '\t')
                skipping = rewritten_field_line(l, n);
        }
        if (!in_header || !skipping) {
            memcpy(kept + w, l, n);
            w += n;
        }
        i += n;
    }
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)kept, w, d);
    free(kept);
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | d[i];
    return tag;
}

static void name_messages(ref_split *r, const char *buf, size_t len)
{
    uint64_t *tags = calloc(r->n ? r->n : 1, sizeof *tags);
    for (size_t i = 0; i < r->n; i++) {
        ref_msg *m = &r->msgs[i];
        const char *nl = memchr(buf + m->from_off, '\n', len - m->from_off);
        size_t from_len =
            nl ? (size_t)(nl - buf) + 1 - m->from_off : len - m->from_off;
        tags[i] = reference_tag(buf + m->from_off, from_len, m->data, m->len);
        unsigned ordinal = 1;
        for (size_t k = 0; k < i; k++)
            ordinal += tags[k] == tags[i];
        if (ordinal > 1)
            snprintf(m->key, sizeof m->key, "m%016" PRIx64 "-%u", tags[i],
                     ordinal);
        else
            snprintf(m->key, sizeof m->key, "m%016" PRIx64, tags[i]);
    }
    free(tags);
}

ref_split mbox_ref_split(const char *buf, size_t len, int unquote_rd)
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
    size_t cap = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - buf) + 1 - pos : len - pos;
        const char *line = buf + pos;
        if (n >= 5 && memcmp(line, "From ", 5) == 0 && prev_blank &&
            (!cur || starts_message(line, n, line + n, len - pos - n))) {
            if (cur && cur->len > 0 &&
                blank_line(cur->data + last_line_start,
                           cur->len - last_line_start))
                cur->len = last_line_start;
            r.msgs = realloc(r.msgs, (r.n + 1) * sizeof *r.msgs);
            cur = &r.msgs[r.n++];
            *cur = (ref_msg){.from_off = pos};
            cap = 0;
            prev_blank = 0;
        } else {
            last_line_start = cur->len;
            append(cur, &cap, line, n);
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
    }
    name_messages(&r, buf, len);
    for (size_t i = 0; i < r.n && unquote_rd; i++)
        unquote(&r.msgs[i]);
    return r;
}

void mbox_ref_free(ref_split *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->msgs[i].data);
    free(r->msgs);
}

char **mbox_ref_files;
size_t mbox_ref_n_files;

static int collect(const char *path, const struct stat *sb, int type,
                   struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F) {
        mbox_ref_files = realloc(mbox_ref_files, (mbox_ref_n_files + 1) *
                                                     sizeof *mbox_ref_files);
        mbox_ref_files[mbox_ref_n_files++] = strdup(path);
    }
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file's bytes, decompressed by the system's gzip/xz for .gz/.xz. */
char *mbox_ref_file_bytes(const char *path, size_t *len)
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

const char *mbox_ref_expected_error(const char *rel)
{
    for (size_t i = 0; i < MBOX_REF_NOT_MBOX_COUNT; i++)
        if (strcmp(rel, mbox_ref_not_mbox[i].rel) == 0)
            return mbox_ref_not_mbox[i].error;
    return NULL;
}

void mbox_ref_collect_corpus(void)
{
    char *root = mp_strf("%s/mbox", mp_corpora());
    if (nftw(root, collect, 16, FTW_PHYS) != 0)
        fail_msg("cannot walk %s", root);
    qsort(mbox_ref_files, mbox_ref_n_files, sizeof *mbox_ref_files, by_path);
    free(root);
}

void mbox_ref_free_corpus(void)
{
    for (size_t i = 0; i < mbox_ref_n_files; i++)
        free(mbox_ref_files[i]);
    free(mbox_ref_files);
    mbox_ref_files = NULL;
    mbox_ref_n_files = 0;
}
