/* Scan results: the metadata of every message in a folder, copied out of the
 * plugin's callback, and an index by key. */
#ifndef MP_MSGLIST_H
#define MP_MSGLIST_H

#include <mailport/plugin.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mp_msg {
    char *key;
    uint64_t size, vsize;
    unsigned flags;
    char *keywords; /* never NULL: "" when none */
    int64_t date;
    char *identity; /* NULL unless scanned with MP_SCAN_IDENTITY */
} mp_msg;

typedef struct mp_msglist {
    mp_msg *v;
    size_t n, cap;
    size_t *slots; /* open-addressing index by key: position + 1, 0 empty */
    size_t n_slots;
} mp_msglist;

/* An mp_msg_cb appending to the mp_msglist in CTX. */
mp_status mp_msglist_collect(void *ctx, const mp_msg_info *info);

/* Index of KEY, or -1. Builds the index on first use. */
long mp_msglist_find(mp_msglist *l, const char *key);

void mp_msglist_free(mp_msglist *l);

/* Same flags and keywords (keywords compared as sets)? */
int mp_flags_equal(unsigned fa, const char *ka, unsigned fb, const char *kb);

#endif
