/* The little JSON the reports need: escaped strings into a FILE. */
#ifndef MP_JSON_H
#define MP_JSON_H

#include <stdio.h>

/* Write S as a JSON string literal (with quotes). Bytes that are not valid
 * UTF-8 are written as U+FFFD so the output always parses. */
void mp_json_string(FILE *f, const char *s);

#endif
