/* The archive manifest, ".mailport-manifest.jsonl" at the archive root,
 * written last: one JSON object per line, one line per message:
 *
 *   {"folder":"A/B","file":".A.B/cur/1700000000.Q1.mailport:2,S",
 *    "size":1234,"sha256":"<64 hex>","flags":"S","keywords":["$Junk"],
 *    "internal_date":1700000000,"source_key":"42"}
 *
 * size is the byte count of the entry; sha256 is taken over the message with
 * every CRLF turned into LF (the form mailport compares content in).
 *
 * Both directions go through jansson. The writer keeps the keys in the
 * order above, compact (no spaces), jansson's escapes (\" \\ \n \t ...,
 * other controls as \u00XX; earlier versions wrote every control as
 * \u00xx: both read the same).
 *
 * Bytes that are not UTF-8 (a source key taken from a Maildir file name,
 * a keyword): jansson neither writes nor loads them raw. The writer puts
 * such a string's text with U+FFFD for each byte of an invalid sequence
 * (so readers that know nothing else still get valid JSON) and, after the
 * keys above, "<key>_hex" with its exact bytes in hex ("source_key_hex",
 * "folder_hex", "file_hex", "flags_hex"; "keywords_hex": every keyword in
 * hex, when one of them is not UTF-8). The reader takes "<key>_hex" over
 * "<key>" when both are there.
 * Archives written before jansson hold such bytes raw inside strings: a
 * line that is not valid UTF-8 is read by a fallback that hands jansson
 * each byte of an invalid sequence as the private code point U+10FF00 +
 * byte and turns it back into the byte in every string read. A line that
 * already holds a code point of U+10FF00..U+10FFFF (raw or as \udbff...)
 * and is not UTF-8 is refused, since the two could not be told apart; the
 * source then names the archive and line ("manifest line N is malformed").
 *
 * Refused as malformed: a line without file or without a sha256 of 64 hex
 * digits, anything but one JSON object, trailing bytes, a
 * duplicate key (no writer made one; jansson's JSON_REJECT_DUPLICATES),
 * NUL (\u0000, raw or in hex), lone surrogates, integers past int64, a
 * size that is negative or not an integer, a known key of the wrong type,
 * a keyword that is empty or holds a space, bad hex, nesting deeper than
 * 32 or more than 65536 values and containers (so what jansson builds for
 * one line of at most TARGZ_MANIFEST_LINE_MAX bytes stays a few MiB).
 * Unknown keys are ignored. */
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

/* A JSON line (without '\n') for one message; malloc'd, NULL when out of
 * memory, SIZE is past INT64_MAX or
 * SHA256_HEX is not UTF-8. KEYWORDS is the space-separated list of
 * mp_msg_info.keywords (NULL or ""). NULL strings are written as "". */
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
