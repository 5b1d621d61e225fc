/* What copy and verify agree on for a SOURCE -> DEST pair, so that verify
 * checks what copy did: the sync state file of the pair and the name each
 * source folder has in the destination. */
#ifndef MP_PAIR_H
#define MP_PAIR_H

#include "options.h"
#include "state.h"
#include "store.h"

#include <stddef.h>

/* What names one store whatever its spelling, for state and lock file
 * names: a local path made absolute with symbolic links, ".", ".." and
 * trailing slashes resolved (through the longest prefix that exists, so a
 * destination not created yet is named as it will be); for an IMAP account
 * imap:// and imaps:// as one, ports 143 and 993 left out, the host name in
 * lower case. Parameters are left out (they may name secret files). Free
 * it; NULL only when out of memory. */
char *mp_pair_endpoint_identity(const char *text);

/* The state file for SOURCE -> DEST: --state, else the default path named
 * after the identities of both endpoints (mp_pair_endpoint_identity); when
 * that file does not exist but one an earlier version named after the
 * typed absolute or network endpoints does, that one. Free it. */
char *mp_pair_state_path(const mp_options *opt, const char *source,
                         const char *dest);

/* DEST as the destination's endpoint lock names it (destlock.h): as
 * mp_pair_endpoint_identity, but for an IMAP account the user without case
 * and the host by its address (the smallest, every loopback address as
 * one), so that "IVAN@localhost" and "ivan@127.0.0.1" meet. Two ports of
 * one server other than 143 and 993 still differ here; the store lock
 * (mp_sink_ops.store_identity) is what makes them meet. Free it. */
char *mp_pair_destination_identity(const char *dest);

/* The endpoint lock file of a destination: beside the default state files,
 * named after mp_pair_destination_identity(DEST); NULL when out of memory.
 * Free it. */
char *mp_pair_destination_lock_path(const char *dest);

/* The destination name of each of the N source folders NAMES (with their
 * special uses SPECIAL): --automap first (a special folder lands in the
 * destination folder of the same special use; DST is listed for that),
 * then --map. When RECORDED is given, a folder the state has synced and
 * that neither option renames keeps the destination name it was synced to
 * (so verify finds what an earlier `copy --automap` did, also when given
 * a --map for other folders). STORE_NAMES (NULL, or N entries that may be
 * NULL: mp_folder_info.store_name) tell the recorded pair of a folder whose
 * listed name changed ("A~2" became "A"): a pair recorded with the same
 * store name is that folder's, one recorded under the same name with
 * another store name belongs to another folder. Free with mp_free_names. */
char **mp_pair_folder_names(const mp_options *opt, mp_store *dst, char **names,
                            char **store_names, const unsigned *special,
                            size_t n, mp_state *recorded);

/* Every folder of store S (either role) with its subscription
 * (mp_folder_info.subscribed, read only where the plugin's struct has it),
 * no_select ones included: *NAMES (free with mp_free_names) and *STATE, *N
 * of each. Returns 0, or -1 with the store's error set. */
int mp_pair_subscriptions(mp_store *s, char ***names, int **state, size_t *n);

/* The subscription of NAME in a listing from mp_pair_subscriptions. */
int mp_pair_subscription_of(char **names, const int *state, size_t n,
                            const char *name);

#endif
