#include "adopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ROW of a gone pair as an orphan row of the live one. */
static int as_orphan(const mp_state_row *row, mp_state_row *out)
{
    *out = (mp_state_row){.flags = row->flags, .orphan = 1};
    memcpy(out->hash, row->hash, sizeof out->hash);
    if (asprintf(&out->src_key, "~orphan~%s", row->dst_key) < 0)
        out->src_key = NULL;
    out->dst_key = strdup(row->dst_key);
    out->keywords = strdup(row->keywords ? row->keywords : "");
    if (!out->src_key || !out->dst_key || !out->keywords) {
        free(out->src_key);
        free(out->dst_key);
        free(out->keywords);
        return -1;
    }
    return 0;
}

/* Append the rows of gone pair FOLDER to *ROWS; moved in the state to INTO
 * when INTO > 0 (inside the caller's transaction). */
static long adopt_pair(mp_state *state, int64_t folder, int64_t into,
                       mp_state_row **rows, size_t *n)
{
    mp_state_row *gone = NULL;
    size_t n_gone = 0;
    if (mp_state_load(state, folder, &gone, &n_gone) != 0)
        return -1;
    long adopted = 0;
    mp_state_row *grown =
        n_gone ? realloc(*rows, (*n + n_gone) * sizeof **rows) : *rows;
    if (n_gone && !grown) {
        mp_state_rows_free(gone, n_gone);
        return -1;
    }
    *rows = grown;
    for (size_t i = 0; i < n_gone; i++) {
        if (!gone[i].dst_key || !gone[i].dst_key[0])
            continue; /* a reset destination: nothing left to name */
        mp_state_row *o = &(*rows)[*n];
        if (as_orphan(&gone[i], o) != 0 ||
            (into > 0 && (mp_state_put(state, into, o) != 0 ||
                          mp_state_delete(state, folder, gone[i].src_key) !=
                              0))) {
            adopted = -1;
            break;
        }
        (*n)++;
        adopted++;
    }
    mp_state_rows_free(gone, n_gone);
    return adopted;
}

long mp_adopt_gone_rows(mp_state *state, int64_t into, const char *src_name,
                        const char *dst_name, mp_msglist *src_listed,
                        mp_state_row **rows, size_t *n)
{
    mp_state_pair *pairs = NULL;
    size_t n_pairs = 0;
    if (!state || mp_state_pairs(state, &pairs, &n_pairs) != 0)
        return state ? -1 : 0;
    long total = 0;
    int began = 0;
    for (size_t i = 0; i < n_pairs && total >= 0; i++) {
        if (strcmp(pairs[i].dst_name, dst_name) != 0 ||
            strcmp(pairs[i].src_name, src_name) == 0 ||
            mp_adopt_src_listed(src_listed, &pairs[i]))
            continue;
        if (into > 0 && !began) {
            if (mp_state_begin(state) != 0) {
                total = -1;
                break;
            }
            began = 1;
        }
        long k = adopt_pair(state, pairs[i].id, into, rows, n);
        total = k < 0 ? -1 : total + k;
    }
    /* Each row moved is whole (put, then deleted from the gone pair), so
     * what was moved before an error is kept. */
    if (began && mp_state_commit(state) != 0)
        total = -1;
    mp_state_pairs_free(pairs, n_pairs);
    return total;
}

int mp_adopt_is_filled(const char *dst_name, char *const *dst_names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (dst_names[i] && strcmp(dst_names[i], dst_name) == 0)
            return 1;
    return 0;
}

int mp_adopt_src_listed(mp_msglist *src_listed, const mp_state_pair *pair)
{
    if (pair->src_store[0]) {
        for (size_t i = 0; i < src_listed->n; i++)
            if (src_listed->v[i].identity &&
                strcmp(src_listed->v[i].identity, pair->src_store) == 0)
                return 1;
        /* A listing without store names (another plugin): by name. */
        for (size_t i = 0; i < src_listed->n; i++)
            if (src_listed->v[i].identity)
                return 0;
    }
    return mp_msglist_find(src_listed, pair->src_name) >= 0;
}
