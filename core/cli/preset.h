/* Host presets (issue 9): what mailport does differently when one side of
 * a run is Gmail or Microsoft 365, named with --preset KIND[:SIDE] or
 * found from the server's own words (mp_source_ops.host_kind: Gmail's
 * X-GM-EXT-1 capability, Microsoft's greeting).
 *
 * --preset none (none:source, none:dest) turns presets off for both sides
 * (or one): nothing is detected and nothing is set, so a Gmail account is
 * copied as it is listed, a message once per label and again in All Mail.
 *
 * Every default a preset sets gives way to the same option given on the
 * command line (or the job line). What each preset changes:
 *
 * gmail, source: --automap; [Gmail]/Important and [Gmail]/Starred (which
 *   repeat messages of other folders; Starred is the \Flagged flag) are
 *   not copied; each message is copied once, into the first folder of the
 *   run that holds it (INBOX, the user's labels, the [Gmail]/ folders,
 *   [Gmail]/All Mail last), so All Mail gives only the messages with no
 *   other label (mp_preset_first_copies); the [Gmail]/ prefix is dropped
 *   from folder names (pair.c); --max-bytes-per-second 29000.
 * gmail, destination: --automap, finding [Gmail]/Sent Mail etc. by name;
 *   --max-bytes-per-second 5800.
 * office365, either side: --automap (its special folders are found by
 *   name: it has no SPECIAL-USE); destination: --max-size 37748736.
 */
#ifndef MP_PRESET_H
#define MP_PRESET_H

#include "options.h"
#include "store.h"

/* Gmail's documented IMAP bandwidth limits per account and day (Google
 * Workspace Admin Help, "Gmail bandwidth limits": download 2,500 MB,
 * upload 500 MB), spread over the day: what a run that never pauses may
 * send and still stay under them. */
#define MP_GMAIL_DOWNLOAD_BYTES_PER_SECOND 29000
#define MP_GMAIL_UPLOAD_BYTES_PER_SECOND 5800
/* Exchange Online's default largest message a mailbox receives, 36 MB
 * (Microsoft Learn, "Exchange Online limits", Message limits: "Message
 * size limit" 35 MB sent, 36 MB received; IMAP migrations are held to
 * it). Microsoft 365 announces no APPENDLIMIT, so without this a larger
 * message is uploaded whole and then refused. */
#define MP_OFFICE365_MAX_MESSAGE_BYTES (36ull * 1024 * 1024)

/* RUN becomes a copy of OPT for one run, to which the presets add their
 * defaults; it borrows OPT's strings and arrays except those the presets
 * replace, so release it with mp_preset_run_free, never
 * mp_options_free. */
void mp_preset_run_init(mp_options *run, const mp_options *opt);
void mp_preset_run_free(mp_options *run, const mp_options *opt);

/* The source SRC is open: which preset applies to it (--preset KIND:source,
 * else none after --preset none, else what the server says it is, else a
 * --preset KIND without side when SRC is an IMAP store), set in RUN->src_host,
 * its defaults added to RUN where OPT (the options as given) leaves them unset,
 * and a note on stderr naming the preset and what it set. Call before the
 * source's folders are listed (it adds --exclude patterns). */
void mp_preset_source(mp_options *run, const mp_options *opt, mp_store *src);

/* The same for the destination DST (opened as a sink, or read as a source
 * by a dry run or verify; NULL when it does not exist yet): RUN->dst_host. */
void mp_preset_dest(mp_options *run, const mp_options *opt, mp_store *dst);

/* Gmail as the source (RUN->src_host "gmail"): reads the content
 * identity of every message of the N folders NAMES of SRC (with their
 * special uses SPECIAL) and fills RUN->left_out with the messages that an
 * earlier folder of the run (in the order above) holds too, so that each
 * is copied once. Returns 0; -1 when a folder could not be read (warned:
 * the run then copies every folder whole). Does nothing for other hosts. */
int mp_preset_first_copies(mp_options *run, mp_store *src, char **names,
                           const unsigned *special, size_t n);

/* Is NAME a Gmail folder name with the "[Gmail]/" (or "[Google Mail]/")
 * prefix? Returns the name after it, else NULL. */
const char *mp_preset_gmail_tail(const char *name);

#endif
