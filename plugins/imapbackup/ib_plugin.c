/* The imap-backup plugin's descriptor: the one exported symbol.
 *
 * imap-backup:PATH reads the backup imap-backup (github.com/joeyates/
 * imap-backup) keeps of one account, PATH being that account's
 * "local_path". Behaviour in short (details beside the code doing it):
 * - Folders: every NAME.imap with its NAME.mbox, named by the relative
 *   path with imap-backup's "%xx;" escapes undone; sub-directories nest,
 *   and with delimiter=C so does C in the names (ib_store.h, ib_name.h).
 * - Messages: the slices the .imap lists (versions 1 to 3, ib_meta.h),
 *   each checked to be one whole record (ib_record.h); a slice that is not
 *   fails that message only, naming folder and UID, unless the index is
 *   one imap-backup 11.1 measured in characters, which is then read by
 *   record order. Bytes after the last listed message (an interrupted run)
 *   are ignored with a warning (ib_folder.c).
 * - Bytes: imap-backup's From_ line, its '>' quoting and its padding are
 *   undone (ib_record.h); line endings are LF, as it stored them.
 * - Flags and keywords from its flag names (ib_flags.h); keys are UIDs,
 *   validity the UIDVALIDITY; the date is the Date: header's, else the
 *   From_ line's, since imap-backup does not keep INTERNALDATE (ib_date.h).
 * - Source only: writing a backup is imap-backup's job. */
#include "ib_ops.h"

static const char *const ib_schemes[] = {"imap-backup", NULL};

static const mp_plugin ib_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "imapbackup",
    .version = "0.1.0",
    .schemes = ib_schemes,
    .source = &ib_source_ops,
    .sink = NULL,
};

MP_PLUGIN_DEFINE(ib_plugin)
