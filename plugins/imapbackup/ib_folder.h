/* One imap-backup folder opened for reading: its .imap index and its
 * .mbox mapped, every message's slice checked, and scan and fetch over
 * them. Keys are UIDs in decimal, the folder's validity its UIDVALIDITY
 * (0 for a version 1 file, which has none). */
#ifndef IB_FOLDER_H
#define IB_FOLDER_H

#include <mailport/plugin.h>

#include <stddef.h>
#include <stdint.h>

typedef struct ib_msg {
    uint32_t uid;
    char key[12];
    unsigned flags;
    const char *keywords; /* owned by the index; "" when none */
    size_t start, end;    /* the slice in the .mbox */
    const char *problem;  /* NULL when the slice holds a record */
    size_t body, body_end, from_len;
    uint64_t size; /* bytes fetch delivers */
    int64_t date;
} ib_msg;

typedef struct ib_folder ib_folder;

/* Open folder NAME whose files are BASE.imap and BASE.mbox (BASE NULL: a
 * parent without files, no_select and empty). Warnings
 * (bytes after the last indexed message, UIDs listed twice, flags that
 * are no IMAP atom) go to the host's log. On failure sets the error and
 * returns MP_FOLDER_BAD (or MP_FATAL when out of memory). */
mp_status ib_folder_open(mp_host *host, const char *name, const char *base,
                         ib_folder **out, mp_folder_info *info);
void ib_folder_close(ib_folder *f);

mp_status ib_folder_scan(ib_folder *f, unsigned flags, mp_msg_cb cb, void *ctx);
mp_status ib_folder_fetch(ib_folder *f, const char *const *keys, size_t n,
                          const mp_fetch_cb *cb, void *ctx);

#endif
