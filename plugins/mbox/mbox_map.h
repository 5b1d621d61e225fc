/* An mbox file's bytes in memory: the file mapped read-only, or, for a
 * compressed file (gzip, xz, bzip2, zstd; found by its magic bytes), its
 * content decompressed through libarchive's raw format into a private,
 * already-unlinked temporary file that is then mapped. Either way memory
 * does not grow with the file's size beyond the page cache. */
#ifndef MBOX_MAP_H
#define MBOX_MAP_H

#include <stddef.h>

typedef struct mbox_map {
    const char *data; /* NULL when len is 0 */
    size_t len;
    int compressed; /* the bytes were decompressed */
    size_t dropped; /* pages before this were handed back */
} mbox_map;

/* Map PATH. On failure returns -1 with a message naming PATH in ERR. */
int mbox_map_open(mbox_map *m, const char *path, char *err, size_t err_size);

/* Map the first LEN bytes of the open file FD (for a sink re-reading
 * what it wrote). */
int mbox_map_fd(mbox_map *m, int fd, size_t len, const char *path, char *err,
                size_t err_size);

/* Tell the kernel the bytes before OFFSET will not be read again, so a
 * long sequential pass does not keep the whole file resident. */
void mbox_map_done_before(mbox_map *m, size_t offset);

/* Hand back every page and start the watermark of done_before over, for
 * the next pass from the start. */
void mbox_map_forget(mbox_map *m);

void mbox_map_close(mbox_map *m);

/* Does this start look like a compressed stream we can read? */
int mbox_is_compressed(const unsigned char *head, size_t n);

#endif
