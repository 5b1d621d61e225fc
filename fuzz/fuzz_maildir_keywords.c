/* libFuzzer target for Dovecot's dovecot-keywords file as the Maildir plugin
 * reads it (plugins/maildir/mdkeywords.c): the input is the file, cut into
 * lines as md_keywords_load does (getline: at '\n', which is dropped).
 *
 * Properties (abort() when one breaks):
 * - every name read is non-empty and holds no space and no trailing CR;
 * - the names of a set of letters (md_keywords_string) map back to the
 *   same letters (md_keywords_bits), where no two letters share a name;
 * - keywords added to a full or partly full table take free letters only,
 *   and are found again (case-insensitively too). */
#include "mdkeywords.h"

#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void load(md_keywords *kw, const char *data, size_t size)
{
    memset(kw, 0, sizeof *kw);
    char *line = malloc(size + 1);
    if (!line)
        abort();
    for (size_t p = 0; p < size;) {
        const char *nl = memchr(data + p, '\n', size - p);
        size_t e = nl ? (size_t)(nl - data) : size;
        memcpy(line, data + p, e - p);
        line[e - p] = '\0';
        md_keywords_parse_line(kw, line);
        p = e + 1;
    }
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    md_keywords kw;
    load(&kw, (const char *)data, size);

    uint32_t unique = 0;
    for (int i = 0; i < MD_MAX_KEYWORDS; i++) {
        const char *n = kw.names[i];
        if (!n)
            continue;
        size_t len = strlen(n);
        FUZZ_CHECK(len > 0 && !strchr(n, ' ') && n[len - 1] != '\r');
        int dup = 0;
        for (int j = 0; j < MD_MAX_KEYWORDS; j++)
            if (j != i && kw.names[j] && strcmp(kw.names[j], n) == 0)
                dup = 1;
        if (!dup)
            unique |= 1u << i;
        FUZZ_CHECK(md_keywords_index(&kw, n, 0) >= 0);
        FUZZ_CHECK(md_keywords_find(&kw, n) >= 0);
    }
    FUZZ_CHECK(!kw.dirty);

    size_t cap = 26 * (size + 2) + 1;
    char *names = malloc(cap), *dropped = malloc(64);
    if (!names || !dropped)
        abort();
    md_keywords_string(&kw, unique, names, cap);
    FUZZ_CHECK(md_keywords_bits(&kw, names, 0, dropped, 64) == unique);
    FUZZ_CHECK(dropped[0] == '\0');
    /* A short output buffer truncates at a name, never overruns. */
    char small[8];
    md_keywords_string(&kw, 0x3ffffff, small, sizeof small);
    FUZZ_CHECK(strlen(small) < sizeof small);

    /* The input's words as keywords to add: each gets a letter while
     * letters are free, and a taken letter is never reassigned. */
    char *words = fuzz_cstring(data, size);
    for (char *c = words; *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
    char *before[MD_MAX_KEYWORDS];
    memcpy(before, kw.names, sizeof before);
    uint32_t bits = md_keywords_bits(&kw, words, 1, dropped, 64);
    for (int i = 0; i < MD_MAX_KEYWORDS; i++) {
        if (before[i])
            FUZZ_CHECK(kw.names[i] == before[i]);
        if (bits & (1u << i))
            FUZZ_CHECK(kw.names[i] != NULL);
    }
    free(words);
    free(names);
    free(dropped);
    md_keywords_free(&kw);
    return 0;
}
