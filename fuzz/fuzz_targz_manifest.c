/* libFuzzer target for the archive manifest (plugins/targz/targz_manifest.c,
 * ".mailport-manifest.jsonl"): an archive is outside input, and its
 * manifest is read one line at a time. The input is a manifest; each
 * '\n'-separated line is parsed.
 *
 * Property (abort() when it breaks): a line that parses, written again by
 * targz_manifest_format (what the sink writes), parses to the same fields
 * (an absent folder, flags, keywords or source key reads as ""), byte for
 * byte: strings that are not UTF-8 (from an old line's raw bytes, read by
 * the legacy fallback, or from "<key>_hex") come back through "<key>_hex". */
#include "targz_manifest.h"

#include "fuzz_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static void check_line(const char *line, size_t len)
{
    targz_manifest_line a, b;
    if (targz_manifest_parse(line, len, &a) != 0)
        return;
    FUZZ_CHECK(a.file && a.sha256 && strlen(a.sha256) == 64);
    char *again = targz_manifest_format(
        a.folder, a.file, a.has_size ? a.size : 0, a.sha256, a.flags,
        a.keywords, a.has_date ? a.internal_date : 0, a.source_key);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(strchr(again, '\n') == NULL); /* one line per message */
    FUZZ_CHECK(targz_manifest_parse(again, strlen(again), &b) == 0);
    FUZZ_CHECK(strcmp(or_empty(a.folder), b.folder) == 0);
    FUZZ_CHECK(strcmp(a.file, b.file) == 0);
    FUZZ_CHECK(strcmp(a.sha256, b.sha256) == 0);
    FUZZ_CHECK(strcmp(or_empty(a.flags), b.flags) == 0);
    FUZZ_CHECK(strcmp(or_empty(a.keywords), b.keywords) == 0);
    FUZZ_CHECK(strcmp(or_empty(a.source_key), b.source_key) == 0);
    FUZZ_CHECK(b.has_size && b.size == (a.has_size ? a.size : 0));
    FUZZ_CHECK(b.has_date &&
               b.internal_date == (a.has_date ? a.internal_date : 0));
    free(again);
    targz_manifest_line_free(&a);
    targz_manifest_line_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    for (size_t p = 0; p < size;) {
        const char *nl = memchr(text + p, '\n', size - p);
        size_t e = nl ? (size_t)(nl - text) : size;
        /* A copy of exactly the line, so a read past it is caught. */
        char *line = malloc(e - p ? e - p : 1);
        if (!line)
            abort();
        memcpy(line, text + p, e - p);
        check_line(line, e - p);
        free(line);
        p = e + 1;
    }
    return 0;
}
