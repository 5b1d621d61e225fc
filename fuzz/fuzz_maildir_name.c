/* libFuzzer target for Maildir file names (plugins/maildir/mdname.c): the
 * unique part, Dovecot's ",S=" and ",W=" fields and the info flags, in
 * both the ":2," and mu's "!2," form. The input is a file name (up to its
 * first NUL or newline, as a directory entry cannot hold either).
 *
 * Properties (abort() when one breaks):
 * - a name rebuilt from what was parsed (md_name_build, as the sink renames
 *   a file when its flags change) parses to the same key, separator, flags,
 *   keyword letters and sizes;
 * - the info letters md_info_letters writes are in ASCII order, each once,
 *   and parse back to the same flags;
 * - an escaped host name (md_escape_hostname) holds no '/' or ':', and a
 *   unique name made with it (md_unique_name) parses as a name without
 *   info whose key is all of it. */
#include "mdname.h"

#include "fuzz_util.h"

#include <mailport/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every flag the info letters can carry. */
#define ALL_FLAGS                                                              \
    (MP_FLAG_DRAFT | MP_FLAG_FLAGGED | MP_FLAG_FORWARDED | MP_FLAG_ANSWERED |  \
     MP_FLAG_SEEN | MP_FLAG_DELETED)

static void check_rebuild(const char *name)
{
    md_name_info a, b;
    md_name_parse(name, &a);
    FUZZ_CHECK(a.key_len <= strlen(name), " \"%s\"", name);
    FUZZ_CHECK((a.flags & ~(unsigned)ALL_FLAGS) == 0, " \"%s\"", name);
    FUZZ_CHECK(a.sep || (a.flags == 0 && a.kw_letters == 0), " \"%s\"", name);
    size_t cap = strlen(name) + 64;
    char *built = malloc(cap);
    if (!built)
        abort();
    FUZZ_CHECK(md_name_build(name, a.key_len, a.sep, a.flags, a.kw_letters,
                             built, cap) == 0,
               " \"%s\"", name);
    md_name_parse(built, &b);
    FUZZ_CHECK(b.key_len == a.key_len && memcmp(built, name, a.key_len) == 0,
               " \"%s\"", name);
    FUZZ_CHECK(b.sep == (a.sep ? a.sep : ':'), " \"%s\"", name);
    FUZZ_CHECK(b.flags == a.flags && b.kw_letters == a.kw_letters, " \"%s\"",
               name);
    FUZZ_CHECK(b.size == a.size && b.vsize == a.vsize, " \"%s\"", name);
    /* A buffer one byte short must be refused, not overrun. */
    size_t need = strlen(built) + 1;
    char *tight = malloc(need - 1);
    if (!tight)
        abort();
    FUZZ_CHECK(md_name_build(name, a.key_len, a.sep, a.flags, a.kw_letters,
                             tight, need - 1) == -1,
               " \"%s\"", name);
    free(tight);
    free(built);
}

static void check_letters(unsigned flags, uint32_t kw)
{
    char letters[33], name[40];
    md_info_letters(flags, kw, letters);
    for (size_t i = 1; letters[i - 1] && letters[i]; i++)
        FUZZ_CHECK(letters[i - 1] < letters[i], " \"%s\"", letters);
    snprintf(name, sizeof name, "k:2,%s", letters);
    md_name_info ni;
    md_name_parse(name, &ni);
    FUZZ_CHECK(ni.flags == (flags & ALL_FLAGS) &&
                   ni.kw_letters == (kw & 0x3ffffff),
               " \"%s\"", name);
}

static void check_host(const char *host)
{
    size_t cap = strlen(host) * 4 + 1;
    char *esc = malloc(cap);
    if (!esc)
        abort();
    FUZZ_CHECK(md_escape_hostname(host, esc, cap) == 0, " \"%s\"", host);
    FUZZ_CHECK(!strchr(esc, '/') && !strchr(esc, ':'), " \"%s\"", host);
    /* Too small a buffer is refused, whatever the name holds. */
    if (cap > 1)
        FUZZ_CHECK(md_escape_hostname(host, esc, strlen(esc)) == -1, " \"%s\"",
                   host);
    size_t ucap = strlen(esc) + 96;
    char *uniq = malloc(ucap);
    if (!uniq)
        abort();
    FUZZ_CHECK(md_unique_name(esc, 12345, uniq, ucap) == 0, " \"%s\"", host);
    md_name_info ni;
    md_name_parse(uniq, &ni);
    /* "!2," may appear in a host name; only ':' is escaped. */
    FUZZ_CHECK(ni.sep != ':' && (ni.sep || ni.key_len == strlen(uniq)),
               " \"%s\"", uniq);
    free(uniq);
    free(esc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = fuzz_cstring(data, size);
    name[strcspn(name, "\n")] = '\0';
    check_rebuild(name);
    check_host(name);
    unsigned flags = 0;
    uint32_t kw = 0;
    for (size_t i = 0; i < size && i < 8; i++) {
        flags = flags << 8 | data[i];
        kw = kw * 131 + data[i];
    }
    check_letters(flags, kw);
    free(name);
    return 0;
}
