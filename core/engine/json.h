/* JSON for the reports, built and written by jansson. The layout (which
 * member starts a new line) is the one the reports have always had, so
 * scripts and tests that look for exact text keep finding it. */
#ifndef MP_JSON_H
#define MP_JSON_H

#include <jansson.h>
#include <stdio.h>

/* S (NULL as "") as a new jansson string. Folder names and texts may hold
 * bytes that are not valid UTF-8, which JSON cannot carry: each byte of an
 * invalid sequence (also overlong forms, surrogates, past U+10FFFF) becomes
 * U+FFFD, so the report always parses. NULL only when out of memory. */
json_t *mp_json_text(const char *s);

/* Write S as a JSON string literal (quotes, jansson's escapes), by the rule
 * of mp_json_text. */
void mp_json_string(FILE *f, const char *s);

/* Write V, any JSON value, on one line: jansson's ", " and ": " separators,
 * keys in insertion order, reals with up to 15 significant digits. */
void mp_json_write(FILE *f, const json_t *v);

/* Write the object OBJ in the reports' layout, without a final newline:
 * members on one line, except that a member whose value is an array starts
 * a new line indented by one space; with OBJECTS_ON_LINES, each object in
 * such an array starts its own line indented by two. Every value is
 * written by mp_json_write. */
void mp_json_write_report(FILE *f, const json_t *obj, int objects_on_lines);

#endif
