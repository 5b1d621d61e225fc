/* mailport state: the sync state files in the default state folder, listed
 * with what they are the state of, and forgotten on request. */
#ifndef MP_STATE_CMD_H
#define MP_STATE_CMD_H

/* An endpoint as a state file records it: scheme, user, host, port and
 * path, a local path made absolute; never a parameter (they may name
 * secret files) nor a password. Free it; NULL only when out of memory. */
char *mp_state_endpoint_shown(const char *url);

/* `mailport state list` and `mailport state forget SOURCE DEST | --all`;
 * ARGV[0] is "state". Returns the exit code. */
int mp_cmd_state(int argc, char **argv);

#endif
