/* The IMAP sink slots (see mp_sink_ops in plugin.h). */
#ifndef MP_IMAP_SINK_H
#define MP_IMAP_SINK_H

#include <mailport/plugin.h>

mp_status imap_sink_open_folder(void *store, const char *name, void **folder,
                                mp_folder_info *info);
mp_status imap_sink_close_folder(void *folder);
mp_status imap_sink_put_begin(void *folder, const mp_msg_info *info,
                              void **put);
mp_status imap_sink_put_write(void *put, const void *buf, size_t len);
mp_status imap_sink_put_commit(void *put, char *key_out, size_t key_size);
void imap_sink_put_abort(void *put);
mp_status imap_sink_flush(void *folder);
mp_status imap_sink_flush_keys(void *folder, mp_commit_cb cb, void *ctx);
mp_status imap_sink_scan(void *folder, unsigned flags, mp_msg_cb cb, void *ctx);
mp_status imap_sink_set_flags(void *folder, const char *key, unsigned flags,
                              const char *keywords);
mp_status imap_sink_remove(void *folder, const char *const *keys, size_t n);

#endif
