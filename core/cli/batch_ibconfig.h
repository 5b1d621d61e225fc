/* imap-backup's config.json as a batch job file: each account becomes one
 * copy job, either a backup of the account's IMAP server into a destination
 * template (--backup-to) or an upload of the account's imap-backup backup
 * (its local_path) into a destination template (--upload-to). */
#ifndef MP_BATCH_IBCONFIG_H
#define MP_BATCH_IBCONFIG_H

#include <stddef.h>
#include <stdio.h>

/* One account of config.json as a job: SOURCE, DEST and the job's own
 * options (--include/--exclude from "folders", --delete from
 * "mirror_mode"), all malloc'd. */
typedef struct mp_ib_job {
    char **words; /* words[0] SOURCE, words[1] DEST, then options */
    int n_words;
    int account;       /* its position in "accounts", from 1 */
    int uses_password; /* SOURCE carries the file's password */
    char *skipped;     /* why the account is left out (no words), or NULL */
    int deliberate;    /* skipped as config.json says ("status"), no error */
} mp_ib_job;

/* Does the job file F (at its start) look like JSON (first non-blank byte
 * '{')? Leaves F at its start. */
int mp_ib_config_detect(FILE *f);

/* The jobs of config.json read from F (PATH names it in messages). Exactly
 * one of BACKUP_TO and UPLOAD_TO is a destination template, where {user},
 * {server} and {local_path} stand for the account's values (escaped so the
 * URL parser gives them back as they are). Returns the number of jobs
 * (malloc'd into *JOBS), or -1 after printing why the file cannot be used
 * (not JSON, no "accounts", a bad template). An account that cannot become
 * a job (no username, no server known, no local_path for --upload-to) is a
 * job whose words are NULL and whose SKIPPED says why, printed by the
 * caller as an error of that account; one config.json itself leaves out
 * (imap-backup's "status": "offline", or "archived" for --backup-to) is
 * marked DELIBERATE. */
int mp_ib_config_jobs(FILE *f, const char *path, const char *backup_to,
                      const char *upload_to, mp_ib_job **jobs);

void mp_ib_jobs_free(mp_ib_job *jobs, int n);

/* TEMPLATE with {user}, {server} and {local_path} replaced (NULL values:
 * an error). Values are %-escaped where the URL parser would read them
 * otherwise: '%', '?' and '&' everywhere, and '/', '@' and ':' too inside
 * a "SCHEME://" authority. Returns malloc'd text, or NULL with a message
 * in ERR. */
char *mp_ib_expand_template(const char *template, const char *user,
                            const char *server, const char *local_path,
                            char *err, size_t err_size);

#endif
