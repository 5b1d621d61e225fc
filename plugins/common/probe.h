/* Read-only stand-ins for what a sink would create, for the probe_sink slot
 * (plugin.h): a dry run asks whether the sink's open and open_folder would
 * succeed, and the answer must come without making anything. */
#ifndef MP_PROBE_H
#define MP_PROBE_H

/* Would creating PATH (relative to directory AT, or AT_FDCWD) succeed:
 * mkdir(2) when DIR, else open(2) with O_CREAT? Returns 0 when PATH exists
 * (the caller checks what it is; for DIR, -1 with errno ENOTDIR when it is
 * no directory), 1 when it would be made, -1 with errno as the call would
 * set it: ENOTDIR when its parent is no directory, else the parent's
 * faccessat(W_OK | X_OK, AT_EACCESS) error (EACCES, EROFS). A parent that
 * does not exist counts as one that would be made: walk paths from the
 * top, as mkdir -p does. */
int mp_probe_create(int at, const char *path, int dir);

/* mp_probe_create for every level of PATH (mkdir -p), from the top; WHOLE:
 * PATH itself too, else all but its last component. Returns 0 or 1 as
 * mp_probe_create for the deepest level checked, -1 with errno at the first
 * that would fail. */
int mp_probe_mkdirs(int at, const char *path, int whole);

/* Would open(2) of PATH with O_CREAT succeed, for the access AMODE (W_OK,
 * or R_OK | W_OK for O_RDWR), with O_NOFOLLOW when NOFOLLOW? Returns 0 or
 * -1 with errno as open would set it: ELOOP for a symlink under NOFOLLOW,
 * EISDIR for a directory, the faccessat error of a file (or of the parent
 * of a missing one, as mp_probe_create). */
int mp_probe_open(int at, const char *path, int amode, int nofollow);

#endif
