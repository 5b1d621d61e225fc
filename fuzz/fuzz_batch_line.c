/* libFuzzer target for `mailport batch` job files: each line through the
 * job-line parser (core/cli/batch.c, mp_batch_parse_line: comments, quotes
 * and escapes, the imapsync form), then its words through the option
 * parser (core/cli/options.c) and each word through the URL parser, as a
 * job line goes. The input is the file, cut into lines as getline does
 * (each keeps its '\n').
 *
 * Properties (abort() when one breaks): the word count is within bounds
 * and every word lies inside the line; an imapsync-style line whose host
 * fields are plain host names gives two imaps URLs that parse back to its
 * host, user and password (the user and password percent-escaped, so any
 * byte survives). */
#include "batch.h"
#include "endpoint.h"
#include "options.h"

#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64

/* Usage errors and --help go to stdout and stderr: not worth the time of
 * writing them a million times. ASan and the CHECKs write to fd 2, which
 * stays. */
static FILE *sink;

static int plain_host(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
            return 0;
    return 1;
}

/* The six fields of an imapsync line by its rule, written apart from the
 * parser: split on ';' only (empty fields kept, '#' and blanks are field
 * text), the sixth ending at the next ';' or the end of the line. Returns
 * how many fields there are (at most 6); 7 when options follow. */
static int imapsync_fields(const char *line, char *copy, char **f)
{
    strcpy(copy, line);
    copy[strcspn(copy, "\r\n")] = '\0';
    char *p = copy + strspn(copy, " \t");
    int n = 0;
    while (n < 6) {
        f[n++] = p;
        char *semi = strchr(p, ';');
        if (!semi)
            return n;
        *semi = '\0';
        p = semi + 1;
    }
    return p[strspn(p, " \t;")] ? 7 : 6;
}

static void check_imapsync_url(const char *url, const char *host,
                               const char *user, const char *pass)
{
    char err[512];
    mp_url *u = mp_url_parse(url, err, sizeof err);
    FUZZ_CHECK(u != NULL);
    FUZZ_CHECK(strcmp(u->scheme, "imaps") == 0);
    FUZZ_CHECK(u->host && strcmp(u->host, host) == 0);
    FUZZ_CHECK(u->user && strcmp(u->user, user) == 0);
    /* An empty password field: none in the URL (asked for at run time). */
    FUZZ_CHECK(*pass ? u->password && strcmp(u->password, pass) == 0
                     : !u->password || !*u->password);
    mp_url_free(u);
}

static void one_line(const char *line, size_t len)
{
    char *buf = malloc(len + 1), *copy = malloc(len + 1);
    if (!buf || !copy)
        abort();
    memcpy(buf, line, len);
    buf[len] = '\0';
    memcpy(copy, buf, len + 1);
    char *words[MAX_WORDS + 2], *src, *dst;
    int n = mp_batch_parse_line(buf, words, MAX_WORDS, &src, &dst);
    FUZZ_CHECK(n >= -2 && n <= MAX_WORDS);
    if (src) {
        /* The two URLs, then the line's own options (in BUF). */
        FUZZ_CHECK(n >= 2 && words[0] == src && words[1] == dst && dst);
        for (int i = 2; i < n; i++)
            FUZZ_CHECK(words[i] >= buf &&
                       words[i] + strlen(words[i]) <= buf + len);
        char *f[7];
        char *scratch = malloc(len + 1);
        if (!scratch)
            abort();
        if (imapsync_fields(copy, scratch, f) == 6 && plain_host(f[0]) &&
            plain_host(f[3])) {
            check_imapsync_url(src, f[0], f[1], f[2]);
            check_imapsync_url(dst, f[3], f[4], f[5]);
        }
        free(scratch);
    } else {
        FUZZ_CHECK(!src && !dst);
        for (int i = 0; i < n; i++)
            FUZZ_CHECK(words[i] >= buf &&
                       words[i] + strlen(words[i]) <= buf + len);
    }
    if (n > 0) {
        char *argv[MAX_WORDS + 1];
        argv[0] = (char *)"batch";
        for (int i = 0; i < n; i++) {
            argv[i + 1] = words[i];
            char err[512];
            mp_url_free(mp_url_parse(words[i], err, sizeof err));
        }
        FILE *out = stdout, *errf = stderr;
        stdout = stderr = sink;
        mp_options o;
        mp_options_parse(&o, "batch", n + 1, argv);
        stdout = out;
        stderr = errf;
        /* As mp_cmd_batch does: freed whatever the parse returned. */
        mp_options_free(&o);
    }
    free(src);
    free(dst);
    free(copy);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sink && !(sink = fopen("/dev/null", "w")))
        abort();
    const char *text = (const char *)data;
    for (size_t p = 0; p < size;) {
        const char *nl = memchr(text + p, '\n', size - p);
        size_t e = nl ? (size_t)(nl - text) + 1 : size;
        one_line(text + p, e - p);
        p = e;
    }
    return 0;
}
