/* The archive manifest, ".mailport-manifest.jsonl" at the archive root,
 * written last: one JSON object per line, one line per message:
 *
 *   {"folder":"A/B","file":".A.B/cur/1700000000.Q1.mailport:2,S",
 *    "size":1234,"sha256":"<64 hex>","flags":"S","keywords":["$Junk"],
 *    "internal_date":1700000000,"source_key":"42"}
 *
 * size is the byte count of the entry; sha256 is taken over the message with
 * every CRLF turned into LF (the form mailport compares content in). */
#ifndef MP_TARGZ_MANIFEST_H
#define MP_TARGZ_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define TARGZ_MANIFEST_NAME ".mailport-manifest.jsonl"
/* A longer manifest line is refused as corrupt. */
#define TARGZ_MANIFEST_LINE_MAX (1u << 20)

typedef struct targz_manifest_line {
    char *folder, *file, *sha256, *flags, *keywords, *source_key;
    uint64_t size;
    int64_t internal_date;
    int has_size, has_date;
} targz_manifest_line;

/* A JSON line (without '\n') for one message; malloc'd. KEYWORDS is the
 * space-separated list of mp_msg_info.keywords (NULL or ""). */
char *targz_manifest_format(const char *folder, const char *file,
                            uint64_t size, const char *sha256_hex,
                            const char *flags, const char *keywords,
                            int64_t internal_date, const char *source_key);

/* Parse LINE (LEN bytes). keywords come back space-separated. Returns 0,
 * or -1 when the line is not a JSON object of the expected shape (file and
 * sha256 are required). Free with targz_manifest_line_free. */
int targz_manifest_parse(const char *line, size_t len, targz_manifest_line *out);
void targz_manifest_line_free(targz_manifest_line *l);

#endif
