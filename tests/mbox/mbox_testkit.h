/* Drive the mbox plugin's ops directly with a real core host, and collect
 * what a folder delivers. */
#ifndef MBOX_TESTKIT_H
#define MBOX_TESTKIT_H

#include "endpoint.h"
#include "host.h"

#include <mailport/plugin.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mbt_msg {
    char *key;
    char *data; /* fetched bytes */
    size_t len;
    uint64_t size; /* as scan reported */
    unsigned flags;
    char *keywords; /* as scan reported, "" when none */
    int64_t date;
    char *identity;
} mbt_msg;

typedef struct mbt_folder {
    mp_status status;   /* of the first failing step, MP_OK when none */
    mp_error_kind kind; /* the host's error then */
    char err[2048];
    mp_folder_info info; /* from open_folder (name not kept) */
    mbt_msg *msgs;
    size_t n;
    char *log; /* every line the plugin logged, '\n'-separated */
} mbt_folder;

/* An opened endpoint with its host; url must stay alive as long as h. */
typedef struct mbt_endpoint {
    mp_url *url;
    mp_core_host host;
    void *store;
} mbt_endpoint;

/* Open URL as a source (sink when SINK). Returns the status of open().
 * The host's log lines are captured into mbt_log (see mbt_take_log). */
mp_status mbt_open(mbt_endpoint *e, const char *url, int sink);
void mbt_close(mbt_endpoint *e, int sink);

/* Write one message into the sink FOLDER in pieces of CHUNK bytes, with
 * DATE and FLAGS; returns put_commit's status and its key in KEY (a
 * failed write aborts the put). */
mp_status mbt_put(void *folder, const char *text, size_t chunk, int64_t date,
                  unsigned flags, char *key, size_t key_size);

/* Open URL as a sink and its INBOX; fails the test unless both work. */
void *mbt_open_inbox(mbt_endpoint *e, const char *url);

/* Read folder NAME of the source URL whole: open, open_folder, scan (with
 * identities), fetch every key, close. */
mbt_folder mbt_read(const char *url, const char *name);
void mbt_folder_free(mbt_folder *f);

/* Folder names listed by the source URL, as one string "a|b|c", with a
 * '*' after no_select ones; NULL when open fails. Caller frees. */
char *mbt_list(const char *url, int sink);

/* The log lines captured since the last call (caller frees). */
char *mbt_take_log(void);

extern const mp_source_ops mbox_source_ops;
extern const mp_sink_ops mbox_sink_ops;

#endif
