/* The read side of an archive: file -> (age reader) -> libarchive. */
#ifndef MP_TARGZ_INPUT_H
#define MP_TARGZ_INPUT_H

#include "age.h"

#include <mailport/plugin.h>

struct archive;

typedef struct targz_input {
    int fd;
    age_reader *age;
    age_error age_err; /* set when the age layer failed */
    int read_errno;
    struct archive *ar;
    unsigned char buf[65536];
} targz_input;

/* Does the file at FD start with the age v1 header line? */
int targz_is_age(int fd);

/* Open PATH for sequential reading. ENCRYPTED selects the age layer, with
 * IDS and PASS to unwrap the file key. On failure returns -1 with *KIND and
 * ERR (ERR_SIZE bytes) describing it; nothing is left open. */
int targz_input_open(targz_input *in, const char *path, int encrypted,
                     const age_keyring *ids, const age_passphrase_source *pass,
                     mp_error_kind *kind, char *err, size_t err_size);

/* Did the encrypted payload end in damage (a chunk failing authentication,
 * a truncated payload)? The archive reader then sees an early end of input,
 * which may look like a clean end at an entry boundary: callers check this
 * after ARCHIVE_EOF. */
int targz_input_damaged(const targz_input *in);

/* After a libarchive call failed: the error kind and text, preferring the
 * age layer's (a failed authentication) over libarchive's. */
mp_error_kind targz_input_error(targz_input *in, char *err, size_t err_size);

void targz_input_close(targz_input *in);

#endif
