/* gzip output by libdeflate, when the build has it.
 *
 * libdeflate compresses a whole buffer at once, about 2.2 times faster
 * than zlib at the same level and ratio (measured on the 19,500-message
 * benchmark's 90 MB of tar at level 6: 0.55 s against 1.2 s, output 0.05%
 * larger). So the tar
 * stream is cut into 1 MiB pieces and each becomes one gzip member: a file
 * of several members is one gzip file (RFC 1952 2.2), which gzip, GNU tar,
 * libarchive and age | tar -xz read as the concatenated data. Each member
 * starts without the previous one's 32 KiB window, which is what the
 * 0.05% is.
 *
 * Without libdeflate (TARGZ_HAVE_LIBDEFLATE undefined) the sink asks
 * libarchive for its zlib gzip filter instead, and this stage is absent. */
#ifndef MP_TARGZ_GZIP_H
#define MP_TARGZ_GZIP_H

#include <stddef.h>

/* Where compressed bytes go; returns 0, or -1 (the callee keeps why). */
typedef int (*targz_gzip_out)(void *ctx, const void *buf, size_t len);

typedef struct targz_gzip targz_gzip;

/* Whether this build compresses gzip itself (libdeflate). */
int targz_gzip_available(void);

/* A new stage at LEVEL (1..12; 6 is gzip's default) writing to OUT, or
 * NULL when out of memory or without libdeflate. */
targz_gzip *targz_gzip_new(int level, targz_gzip_out out, void *ctx);

/* Returns 0, or -1: OUT failed (its reason stands) or, with errno set,
 * compression failed. */
int targz_gzip_write(targz_gzip *g, const void *buf, size_t len);

/* Compress and hand on what is still held (the last member). */
int targz_gzip_finish(targz_gzip *g);

void targz_gzip_free(targz_gzip *g);

#endif
