/* Reading one mbox file as a folder: map it, check it is an mbox, split it,
 * and report (scan) or stream (fetch) its messages. Shared by the source and
 * by the sink's scan. */
#ifndef MBOX_READ_H
#define MBOX_READ_H

#include "mbox_map.h"
#include "mbox_split.h"

#include <mailport/plugin.h>

typedef struct mbox_content {
    mp_host *host;
    const char *path; /* borrowed, for messages */
    mbox_format format;
    mbox_map map;
    mbox_index index;
    char *scratch; /* an unquoted header block, for identities */
    size_t scratch_cap;
    char *keywords; /* the message's keywords, for scan and fetch */
    size_t keywords_cap;
    size_t *by_key; /* index.msgs positions in key order, made by fetch */
} mbox_content;

/* Map PATH and split it into C (which must be zeroed). On failure the error
 * names PATH and the result is MP_FOLDER_BAD: MP_ERR_FORMAT for a file that
 * is not an mbox (including CR-only line endings, which we refuse rather
 * than convert: an mbox written that way by an old Mac tool cannot be told
 * from a binary file reliably, and converting would change every message's
 * bytes), MP_ERR_IO when it cannot be read. */
mp_status mbox_content_load(mbox_content *c, mp_host *host, const char *path,
                            mbox_format fmt);

/* Split an already mapped C->map (used by the sink on its own file). */
mp_status mbox_content_split(mbox_content *c);

void mbox_content_free(mbox_content *c);

mp_status mbox_content_scan(mbox_content *c, unsigned flags, mp_msg_cb cb,
                            void *ctx);
mp_status mbox_content_fetch(mbox_content *c, const char *const *keys, size_t n,
                             const mp_fetch_cb *cb, void *ctx);

#endif
