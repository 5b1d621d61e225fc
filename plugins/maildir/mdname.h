/*
 * Maildir file names: the unique part, the ",S=" / ",W=" size fields
 * Dovecot adds to it, and the info suffix ":2,FLAGS" (or "!2,FLAGS", the
 * form mu and others use where ':' is not allowed in file names).
 *
 * Info letters: D draft, F flagged, P passed (forwarded), R replied
 * (answered), S seen, T trashed (deleted), in ASCII order; 'a'..'z' are
 * Dovecot keywords, numbered through the folder's dovecot-keywords file.
 * Dovecot ignores 'P' and keeps $Forwarded as a keyword, so the sink
 * writes that (mdwrite.c) and the source reads both (mdread.c); these
 * functions only translate letters.
 */
#ifndef MD_NAME_H
#define MD_NAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct md_name_info {
    /* Length of the key: everything before the info separator. */
    size_t key_len;
    /* The separator found, ':' or '!'; 0 when the name has no "2," info. */
    char sep;
    unsigned flags;      /* MP_FLAG_* */
    uint32_t kw_letters; /* bit N set: keyword letter 'a'+N present */
    uint64_t size;       /* from ",S=", 0 when absent */
    uint64_t vsize;      /* from ",W=", 0 when absent */
} md_name_info;

/* Split file NAME into key, info and size fields. Never fails: a name with
 * no info has key_len == strlen(name) and no flags. */
void md_name_parse(const char *name, md_name_info *out);

/* Write the info letters for FLAGS and KW_LETTERS, in ASCII order, into
 * OUT (at least 33 bytes), NUL-terminated. */
void md_info_letters(unsigned flags, uint32_t kw_letters, char *out);

/* Build the full name KEY + SEP + "2," + letters into OUT. Returns 0, or -1
 * when it does not fit in OUT_SIZE. */
int md_name_build(const char *key, size_t key_len, char sep, unsigned flags,
                  uint32_t kw_letters, char *out, size_t out_size);

/* Copy HOST into OUT as the Maildir spec wants it in unique names: '/' as
 * "\057" and ':' as "\072" (so neither a path nor an info separator can
 * appear), anything else kept. Returns 0, or -1 when it does not fit. */
int md_escape_hostname(const char *host, char *out, size_t out_size);

/* A new unique name "SEC.M<usec>P<pid>Q<n>.HOST" into OUT. HOST is already
 * escaped; PID is the process id (passed in: getpid() per message is a
 * system call). Returns 0, or -1 when it does not fit. */
int md_unique_name(const char *host, long pid, char *out, size_t out_size);

#endif
