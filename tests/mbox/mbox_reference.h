/* An independent reference split of mbox files for the tests, and the
 * corpus file list with the files that are not mboxes. */
#ifndef MBOX_REFERENCE_H
#define MBOX_REFERENCE_H

#include <stddef.h>

typedef struct ref_msg {
    size_t from_off;
    char *data;
    size_t len;
    /* The key the plugin must give it (the rule in plugins/mbox/mbox_key.h,
     * written here again line by line): "m", 16 hex digits of SHA-256 over
     * its From_ line and bytes but the fields mail readers rewrite, and
     * "-N" for the N-th message with equal such bytes. */
    char key[32];
} ref_msg;

typedef struct ref_split {
    int is_mbox;
    ref_msg *msgs;
    size_t n;
} ref_split;

/* Split BUF: "From " line at the start (after a BOM and blank lines), or
 * after an empty line a From_ line (sender and date, or a lone sender)
 * followed by a header field (or after a dated one, by an empty line or the
 * end); the separator line is not part of a message; with
 * UNQUOTE_RD, one '>' is dropped from lines matching ^>+From . */
ref_split mbox_ref_split(const char *buf, size_t len, int unquote_rd);
void mbox_ref_free(ref_split *r);

/* A file's bytes, decompressed by gzip/xz for .gz/.xz names. */
char *mbox_ref_file_bytes(const char *path, size_t *len);

typedef struct mbox_ref_refusal {
    const char *rel;   /* path under corpora/mbox/ */
    const char *error; /* part of the expected error text */
} mbox_ref_refusal;

#define MBOX_REF_NOT_MBOX_COUNT 12
extern const mbox_ref_refusal mbox_ref_not_mbox[MBOX_REF_NOT_MBOX_COUNT];
/* The expected error for REL, or NULL when it is an mbox. */
const char *mbox_ref_expected_error(const char *rel);

/* Every file under corpora/mbox/, sorted. */
extern char **mbox_ref_files;
extern size_t mbox_ref_n_files;
void mbox_ref_collect_corpus(void);
void mbox_ref_free_corpus(void);

#endif
