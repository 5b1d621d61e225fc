/* Change markers from file metadata (mp_folder_info.change_marker) for the
 * local stores: a file's or directory's identity, size and times folded
 * into one number. */
#ifndef MP_COMMON_MARKER_H
#define MP_COMMON_MARKER_H

#include <stdint.h>
#include <sys/stat.h>

/* Seconds a modification must lie in the past before its timestamp is
 * trusted: file system times come from a coarse clock, so a later change
 * in the same tick could leave them equal. */
#define MP_MARKER_SETTLE_SECONDS 2

/* Fold ST into SEED (start with 0; fold several files in turn). Returns 0,
 * "cannot tell", when ST was modified too recently to be trusted, or when
 * SEED is already 0 after the first fold. */
uint64_t mp_marker_fold(uint64_t seed, int first, const struct stat *st);

#endif
