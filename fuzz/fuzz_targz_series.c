/* libFuzzer target for an archive series' own files (plugins/targz/
 * series_format.c): ".mailport-series.json" and ".mailport-changes.jsonl"
 * come from archives, outside input. The input is tried as a header and
 * as change lines.
 *
 * Properties (abort() when one breaks): a header that parses is a base
 * exactly when it names no archive before it, and written again it parses
 * to the same fields; change lines that parse, written again one by one,
 * parse to the same keys, removals, flags and keywords. */
#include "series.h"

#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

static void check_header(const char *text, size_t len)
{
    series_header a, b;
    if (series_header_parse(text, len, &a) != 0)
        return;
    FUZZ_CHECK((a.seq == a.generation) == (a.prev_sha256[0] == '\0'));
    char *again = series_header_format(&a);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(series_header_parse(again, strlen(again), &b) == 0);
    FUZZ_CHECK(a.generation == b.generation && a.seq == b.seq &&
               a.created == b.created &&
               strcmp(a.prev_sha256, b.prev_sha256) == 0);
    free(again);
}

static void check_changes(const char *text, size_t len)
{
    series_change *c = NULL;
    size_t n = 0;
    if (series_changes_parse(text, len, &c, &n) != 0) {
        series_changes_free(c, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *line = series_change_format(&c[i]);
        FUZZ_CHECK(line != NULL && strchr(line, '\n') == NULL);
        series_change *d = NULL;
        size_t m = 0;
        FUZZ_CHECK(series_changes_parse(line, strlen(line), &d, &m) == 0);
        FUZZ_CHECK(m == 1 && strcmp(d[0].key, c[i].key) == 0 &&
                   d[0].removed == c[i].removed);
        if (!c[i].removed)
            FUZZ_CHECK(d[0].flags == c[i].flags &&
                       strcmp(d[0].keywords, c[i].keywords) == 0);
        series_changes_free(d, m);
        free(line);
    }
    series_changes_free(c, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly the input, so a read past it is caught. */
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    check_header(text, size);
    check_changes(text, size);
    free(text);
    return 0;
}
