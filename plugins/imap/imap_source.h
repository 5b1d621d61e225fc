/* The IMAP source slots (see mp_source_ops in plugin.h). */
#ifndef MP_IMAP_SOURCE_H
#define MP_IMAP_SOURCE_H

#include <mailport/plugin.h>

mp_status imap_source_open_folder(void *store, const char *name, void **folder,
                                  mp_folder_info *info);
void imap_source_close_folder(void *folder);
mp_status imap_source_fetch(void *folder, const char *const *keys, size_t n,
                            const mp_fetch_cb *cb, void *ctx);

#endif
