/* A folder's .imap file: imap-backup's index of the .mbox beside it, JSON
 * read with jansson. The versions (lib/imap/backup/serializer/imap.rb and
 * the version 1 and 2 code it replaced in 2022):
 *   1  {"version":1,"uids":[...]}                       (2018)
 *   2  {"version":2,"uid_validity":N,"uids":[...]}      (2018-2022)
 *   3  {"version":3,"uid_validity":N,"messages":[{"uid":U,"offset":O,
 *      "length":L,"flags":["Seen","$Forwarded",...]}]}  (since 7.0.0;
 *      lengths, and so offsets, were counted in characters instead of
 *      bytes by 11.1.x, fixed in 12.0.0)
 * Versions 1 and 2 list the UIDs in the order of the messages in the
 * .mbox and keep no flags; a file without "version" but with "uids" is
 * taken as version 1. */
#ifndef IB_META_H
#define IB_META_H

#include "ib_flags.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ib_entry {
    uint32_t uid;
    uint64_t offset, length; /* version 3 only */
    ib_flag_set flags;
} ib_entry;

typedef struct ib_meta {
    int version;
    int has_validity;
    uint64_t uid_validity;
    ib_entry *v;
    size_t n;
    size_t dropped_flags;  /* flag names that are no IMAP atom */
    size_t duplicate_uids; /* later entries of a UID listed twice, left out */
    uint32_t first_duplicate;
} ib_meta;

/* Read PATH into M (zeroed by the caller). On failure returns -1 with why
 * in ERR (naming PATH); M is then freed. */
int ib_meta_load(const char *path, ib_meta *m, char *err, size_t err_size);

void ib_meta_free(ib_meta *m);

#endif
