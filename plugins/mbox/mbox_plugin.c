/* The mbox plugin's descriptor: the one exported symbol.
 *
 * Behaviour in short (details beside the code that does it):
 * - mbox:FILE is one folder, INBOX. mbox:DIR makes every regular file a
 *   folder named by its file name (extension included: "a.gz" and "a" may
 *   both exist), sub-directories nest as '/'-separated paths and are listed
 *   as no_select folders; hidden files and directories, and symlinks to
 *   directories, are skipped. A directory "X.sbd" holds the sub-folders of
 *   folder X (Thunderbird style); the sink writes sub-folders there unless
 *   a plain directory X exists, so a folder can hold messages and children.
 * - format= mboxrd (default), mboxo, mboxcl, mboxcl2 (mbox_split.h has the
 *   splitting rules). Only mboxrd undoes quoting on read.
 * - Keys name a message's content, not its place (mbox_key.h: a hash of
 *   its bytes, in the decompressed bytes for .gz/.xz/.bz2/.zst files,
 *   without the fields mail readers rewrite), so a file rewritten in place
 *   by a mail reader keeps the keys of the messages it did not change.
 *   Folder validity is the file's inode: a file replaced by another
 *   starts over (its rows become orphans, paired again by content).
 * - Files that are not mboxes (no From_ line first, MMDF, CR-only line
 *   endings) fail their folder with MP_ERR_FORMAT; the others go on.
 * - The sink appends (mboxrd or mboxo quoting), one writer per file, no
 *   locks. Message bytes are kept: flags are not written as Status headers,
 *   so they do not survive a copy into mbox. A new store is a directory
 *   when its path ends in '/', else a file.
 */
#include "mbox_ops.h"

static const char *const mbox_schemes[] = {"mbox", NULL};

/* The URL parameters the plugin reads (mbox_store.c). */
static const char *const mbox_params[] = {"format", NULL};

static const mp_plugin mbox_plugin = {
    .struct_size = sizeof(mp_plugin),
    .abi_major = MP_ABI_MAJOR,
    .abi_minor = MP_ABI_MINOR,
    .name = "mbox",
    .version = "0.1.0",
    .schemes = mbox_schemes,
    .source = &mbox_source_ops,
    .sink = &mbox_sink_ops,
    .params = mbox_params,
};

MP_PLUGIN_DEFINE(mbox_plugin)
