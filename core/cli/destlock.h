/* One run at a time into one destination (docs/sync-model.md, "One run per
 * destination"): two runs would each find a message missing and both
 * store it.
 *
 * Two locks, each an flock(2) on a private file that holds the holder's
 * pid while it runs:
 *  - the endpoint lock, named after the destination as typed, made
 *    canonical (mp_pair_destination_identity), beside the default state
 *    files. A second run that finds it held is refused at once: it names
 *    the same store for certain.
 *  - the store lock, named after what the open destination says it is
 *    (mp_sink_ops.store_identity: for IMAP the user and the INBOX's
 *    UIDVALIDITY, so two ports, addresses or names of one server meet),
 *    else after the endpoint's canonical form, in a directory found from
 *    the user's account (passwd), not from $HOME or $XDG_STATE_HOME, so a
 *    run with another environment meets it too. A second run that finds
 *    it held waits for it: the name may, rarely, be shared by two stores.
 *
 * A lock file a run left with a pid in it belongs to a run that was
 * killed: its last appends may still be on their way into the server,
 * where a scan would miss them, so the next run first waits for the
 * destination to settle (the wait the state's crash record gives, here
 * also for runs without that state). */
#ifndef MP_DESTLOCK_H
#define MP_DESTLOCK_H

#include "store.h"

typedef struct mp_dest_lock {
    int endpoint_fd; /* -1 when not held */
    int store_fd;    /* -1 when not held */
    char *endpoint_path, *store_path;
} mp_dest_lock;

#define MP_DEST_LOCK_INIT                                                      \
    {                                                                          \
        -1, -1, NULL, NULL                                                     \
    }

/* Seconds to give the destination, after a run that died, to finish the
 * commands it had already received from it (pipelined IMAP APPENDs land
 * after the client is gone) before this run looks at what is there. */
#define MP_CRASH_SETTLE_SECONDS 2

/* Take both locks of destination DEST (the endpoint text) whose open
 * store is DST (NULL: the endpoint lock names both). *SETTLED is set once
 * the settle wait has been made, and a set one skips it. Returns 0 (when a
 * lock file cannot be made, a warning says the run is not guarded, and it
 * goes on); -1 when another run holds the endpoint lock (the error is
 * printed; the caller ends the job with MP_EXIT_USAGE); -2 when stopped by
 * a signal while waiting. Either way mp_dest_lock_release must follow. */
int mp_dest_lock_claim(mp_dest_lock *l, const char *dest, mp_store *dst,
                       int *settled);

/* The run is over (done, failed or stopped cleanly: nothing of it is on
 * its way any more): remove the lock files and release them. */
void mp_dest_lock_release(mp_dest_lock *l);

/* The directory of store locks: $MAILPORT_LOCK_DIR when set (a directory
 * several machines share makes their runs meet too; runs with different
 * ones are not kept apart), else ~/.local/state/mailport/locks of the
 * account's home directory from passwd, or under mp_state_dir() when the
 * account has none we may write in (a system account). Free it. */
char *mp_dest_lock_dir(void);

#endif
