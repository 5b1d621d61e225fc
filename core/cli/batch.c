/* mailport batch JOBFILE: one copy job per line, "SOURCE DEST [options]",
 * or the imapsync-style "host1;user1;password1;host2;user2;password2". The
 * options on the command line apply to every job; a line's own options come
 * after them and so win. */
#include "batch.h"
#include "batch_ibconfig.h"
#include "commands.h"
#include "endpoint.h"
#include "interrupt.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WORDS 64

/* Split LINE into words: blanks separate, '...' and "..." quote, backslash
 * escapes one character. Returns the count, or -1 on an open quote. */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    char *r = line, *w = line;
    while (*r) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r)
            break;
        if (n == max)
            return -1;
        words[n++] = w;
        char quote = 0;
        for (; *r; r++) {
            if (quote) {
                if (*r == quote)
                    quote = 0;
                else if (*r == '\\' && quote == '"' && r[1])
                    *w++ = *++r;
                else
                    *w++ = *r;
            } else if (*r == '\'' || *r == '"') {
                quote = *r;
            } else if (*r == '\\' && r[1]) {
                *w++ = *++r;
            } else if (*r == ' ' || *r == '\t') {
                r++;
                break;
            } else {
                *w++ = *r;
            }
        }
        if (quote)
            return -1;
        /* W never passes R: escapes and quotes only shrink the word. */
        *w++ = '\0';
    }
    return n;
}

/* Percent-encode S for the user or password part of a URL. */
static char *url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *w = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    *w = '\0';
    return out;
}

/* Does the line's first ';'-field look like imapsync's host1: a host name
 * or address, optionally ":PORT", with nothing a native job's URL has
 * (a scheme's "://", "maildir:", blanks)? */
static int imapsync_host(const char *f, size_t len)
{
    if (len == 0)
        return 0;
    const char *colon = memchr(f, ':', len);
    size_t host_len = colon ? (size_t)(colon - f) : len;
    if (host_len == 0)
        return 0;
    for (size_t i = 0; i < host_len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789.-_[]",
                    f[i]))
            return 0;
    for (size_t i = host_len + 1; colon && i < len; i++)
        if (f[i] < '0' || f[i] > '9')
            return 0;
    return !colon || len > host_len + 1;
}

/* One side of an imapsync line as a URL: imaps:// (or imap:// with
 * STARTTLS for --tlsN), HOST[:PORT] (--portN when HOST has none),
 * cafile= for --cafileN. */
static char *imapsync_url(const char *host, const char *user,
                          const char *password, int starttls, const char *port,
                          const char *cafile)
{
    char *u = url_escape(user), *p = url_escape(password);
    char *ca = cafile ? url_escape(cafile) : NULL;
    char *url = NULL;
    int add_port = port && !strchr(host, ':');
    /* An empty password field: none in the URL, asked for at run time. */
    if (asprintf(&url, "%s://%s%s%s@%s%s%s%s%s", starttls ? "imap" : "imaps", u,
                 *p ? ":" : "", p, host, add_port ? ":" : "",
                 add_port ? port : "", ca ? "?cafile=" : "", ca ? ca : "") < 0)
        url = NULL;
    free(u);
    free(p);
    free(ca);
    return url;
}

/* imapsync's accounts list, as its examples/sync_loop_unix.sh reads it
 * (IFS=';'): "host1;user1;password1;host2;user2;password2;" Fields are
 * split on ';' only, so a password may hold blanks and anything but ';'.
 * A host may be HOST:PORT. What follows the sixth field (the trailing ';'
 * leaves it empty) holds this account's options, blank-separated:
 * imapsync's --ssl1/--ssl2 (implicit TLS, the default), --tls1/--tls2
 * (STARTTLS: imap://), --port1/--port2 N and --cafile1/--cafile2 FILE,
 * and any mailport option (--include INBOX, --delete, ...), which go to
 * WORDS after the two URLs (pointing into LINE). Returns the word count,
 * -2 when the fields are not six, -1 on a bad option. */
static int imapsync_line(char *line, char **words, int max, char **src,
                         char **dst)
{
    char *f[6], *rest = line;
    for (int i = 0; i < 6; i++) {
        f[i] = rest;
        char *semi = strchr(rest, ';');
        if (!semi && i < 5)
            return -2;
        if (semi) {
            *semi = '\0';
            rest = semi + 1;
        } else {
            rest = rest + strlen(rest);
        }
    }
    if (!*f[0] || !*f[1] || !*f[3] || !*f[4])
        return -2;
    /* The options: ';' there separates like a blank. */
    for (char *c = rest; *c; c++)
        if (*c == ';')
            *c = ' ';
    char *opt[MAX_WORDS];
    int n_opt = split_words(rest, opt, MAX_WORDS);
    if (n_opt < 0)
        return -1;
    int tls[2] = {0, 0};
    const char *port[2] = {NULL, NULL}, *ca[2] = {NULL, NULL};
    int n = 2;
    for (int i = 0; i < n_opt; i++) {
        const char *o = opt[i];
        size_t ol = strlen(o);
        int side = ol > 2 && (o[ol - 1] == '1' || o[ol - 1] == '2')
                       ? o[ol - 1] - '1'
                       : -1;
        if (side >= 0 && (!strcmp(o, "--tls1") || !strcmp(o, "--tls2")))
            tls[side] = 1;
        else if (side >= 0 && (!strcmp(o, "--ssl1") || !strcmp(o, "--ssl2")))
            tls[side] = 0;
        else if (side >= 0 &&
                 (!strcmp(o, "--port1") || !strcmp(o, "--port2") ||
                  !strcmp(o, "--cafile1") || !strcmp(o, "--cafile2"))) {
            if (i + 1 == n_opt)
                return -1;
            if (o[2] == 'p')
                port[side] = opt[++i];
            else
                ca[side] = opt[++i];
        } else if (n < max) {
            words[n++] = opt[i];
        } else {
            return -1;
        }
    }
    *src = imapsync_url(f[0], f[1], f[2], tls[0], port[0], ca[0]);
    *dst = imapsync_url(f[3], f[4], f[5], tls[1], port[1], ca[1]);
    if (!*src || !*dst) {
        free(*src);
        free(*dst);
        *src = *dst = NULL;
        return -2;
    }
    words[0] = *src;
    words[1] = *dst;
    return n;
}

int mp_batch_parse_line(char *line, char **words, int max, char **src,
                        char **dst)
{
    *src = *dst = NULL;
    line[strcspn(line, "\r\n")] = '\0';
    line += strspn(line, " \t");
    if (*line == '#')
        return 0;
    /* imapsync's form first: its passwords may hold '#' and blanks. */
    size_t first = strcspn(line, ";");
    int semis = 0;
    for (const char *c = line; *c; c++)
        semis += *c == ';';
    if (semis >= 5 && imapsync_host(line, first))
        return imapsync_line(line, words, max, src, dst);
    if (line[first] == ';' && imapsync_host(line, first) && !strchr(line, ' '))
        return -2; /* an imapsync line without its six fields */
    char *hash = strchr(line, '#');
    if (hash && (hash == line || hash[-1] == ' ' || hash[-1] == '\t'))
        *hash = '\0';
    return split_words(line, words, max);
}

/* Does a word of the line parse as an endpoint URL with a password in it
 * ("imaps://alice:secret@host")? */
static int words_hold_password(char **words, int n)
{
    for (int i = 0; i < n; i++) {
        char err[256];
        mp_url *u = strstr(words[i], "://") && strchr(words[i], '@')
                        ? mp_url_parse(words[i], err, sizeof err)
                        : NULL;
        int has = u && u->password;
        mp_url_free(u);
        if (has)
            return 1;
    }
    return 0;
}

/* A job file holding passwords (DESIGN section 7): warned about once, and
 * refused when other users can read it, unless --force. Returns 0 to run
 * the line, -1 to stop the batch. */
static int passwords_allowed(const char *path, int shared, int force,
                             int *warned)
{
    if (!(*warned)++)
        mp_warn("%s holds passwords; prefer password_file= in URLs", path);
    if (shared && !force) {
        mp_error("%s holds passwords and is readable by other users; chmod "
                 "600 it (or pass --force)",
                 path);
        return -1;
    }
    return 0;
}

/* An endpoint as shown to the user: its password masked (malloc'd). */
static char *shown(const char *url)
{
    char err[256];
    mp_url *u = mp_url_parse(url, err, sizeof err);
    char *out = strdup(u ? u->display : "(not a URL)");
    mp_url_free(u);
    return out;
}

/* What batch keeps of each job it ran: a row of the closing table, and
 * the job's entry in the whole-batch report (--report), which is written
 * as the jobs finish, so that memory does not grow with the accounts'
 * reports and an interrupted batch still leaves the jobs it ran. */
typedef struct job_row {
    char *account; /* the source, masked, without its parameters */
    int index, line, exit_code;
    unsigned long long copied, present, failed;
} job_row;

typedef struct batch_log {
    job_row *rows;
    size_t n_rows;
    FILE *report; /* the whole-batch report being written, or NULL */
    char *report_tmp, *report_path;
} batch_log;

static int batch_log_open(batch_log *b, const char *path)
{
    if (!path)
        return 0;
    if (asprintf(&b->report_tmp, "%s.tmp-%ld", path, (long)getpid()) < 0) {
        b->report_tmp = NULL;
        return -1;
    }
    int fd =
        open(b->report_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    b->report = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!b->report) {
        mp_error("cannot write report %s: %s", b->report_tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(b->report_tmp);
        b->report_tmp = NULL;
        return -1;
    }
    b->report_path = strdup(path);
    fputs("{\"jobs\": [", b->report);
    return 0;
}

static void batch_log_job(batch_log *b, int index, int line, const char *src,
                          const char *dst, int code, const mp_report *r)
{
    char *s = shown(src), *d = shown(dst);
    job_row *v = realloc(b->rows, (b->n_rows + 1) * sizeof *v);
    if (v) {
        b->rows = v;
        char *account = strdup(s);
        account[strcspn(account, "?")] = '\0';
        b->rows[b->n_rows++] = (job_row){
            .account = account,
            .index = index,
            .line = line,
            .exit_code = code,
            .copied = r ? mp_report_total(r, MP_COUNT_COPIED) : 0,
            .present = r ? mp_report_total(r, MP_COUNT_SKIPPED) : 0,
            .failed = r ? mp_report_total(r, MP_COUNT_FAILED) : 0,
        };
    }
    if (b->report) {
        fprintf(b->report, "%s\n {\"job\": %d, \"line\": %d, \"source\": ",
                b->n_rows > 1 ? "," : "", index, line);
        mp_json_string(b->report, s);
        fputs(", \"dest\": ", b->report);
        mp_json_string(b->report, d);
        fprintf(b->report, ", \"exit\": %d,\n  \"report\": ", code);
        if (r)
            mp_report_print(r, b->report);
        else
            fputs("null", b->report);
        fputc('}', b->report);
    }
    free(s);
    free(d);
}

/* The closing table on stderr, then the report put in place. Returns -1
 * when the report could not be written. */
static int batch_log_close(batch_log *b, int verbosity, int worst)
{
    if (verbosity > 0 && b->n_rows > 1) {
        fprintf(stderr, "mailport: %-4s %-44s %8s %8s %7s %4s\n", "JOB",
                "ACCOUNT", "COPIED", "PRESENT", "FAILED", "EXIT");
        for (size_t i = 0; i < b->n_rows; i++) {
            const job_row *j = &b->rows[i];
            fprintf(stderr, "mailport: %-4d %-44s %8llu %8llu %7llu %4d\n",
                    j->index, j->account, j->copied, j->present, j->failed,
                    j->exit_code);
        }
    }
    int rc = 0;
    if (b->report) {
        fprintf(b->report, "],\n \"exit\": %d}\n", worst);
        if (fclose(b->report) != 0 ||
            rename(b->report_tmp, b->report_path) != 0) {
            mp_error("cannot write report %s: %s", b->report_path,
                     strerror(errno));
            unlink(b->report_tmp);
            rc = -1;
        }
    }
    for (size_t i = 0; i < b->n_rows; i++)
        free(b->rows[i].account);
    free(b->rows);
    free(b->report_tmp);
    free(b->report_path);
    return rc;
}

/* What every job of one batch shares. */
typedef struct batch_run {
    const mp_registry *reg;
    const mp_options *global;
    const char *path;
    char **base; /* the command line's options, without JOBFILE */
    int n_base;
    unsigned shard_k, shard_n;
    int index, worst, warned, shared;
    unsigned ran;
    batch_log log;
} batch_run;

static void worsen(batch_run *b, int code)
{
    if (code > b->worst)
        b->worst = code;
}

/* Options of batch itself, not passed on to the jobs: 1 when the value is
 * the next word, 2 when it is in this one ("--shard=0/2"), else 0. */
static int batch_only_option(const char *arg)
{
    static const char *const names[] = {"--shard", "--job", "--backup-to",
                                        "--upload-to"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(arg, names[i], n) == 0 && (!arg[n] || arg[n] == '='))
            return arg[n] ? 2 : 1;
    }
    return 0;
}

/* Run the job WORDS[0..N) (SOURCE DEST [options]) if it is in this shard;
 * WHAT and WHERE name its place in the file ("line" 3, "account" 2).
 * Returns -1 when the batch is to stop (interrupted), else 0. */
static int run_job(batch_run *b, char **words, int n, const char *what,
                   int where)
{
    /* --job N: the one job a scheduler's task index names (a Kubernetes
     * Indexed Job, a Slurm array task, a GNU parallel slot). */
    int skip = b->global->job >= 0
                   ? b->index != b->global->job
                   : (unsigned)b->index % b->shard_n != b->shard_k;
    b->index++;
    if (skip)
        return 0;
    char **argv = calloc((size_t)(b->n_base + n) + 1, sizeof *argv);
    if (!argv) {
        worsen(b, MP_EXIT_FAILED);
        return 0;
    }
    int total = b->n_base;
    memcpy(argv, b->base, (size_t)b->n_base * sizeof *argv);
    for (int i = 0; i < n; i++)
        argv[total++] = words[i];
    mp_options job;
    int rc = mp_options_parse(&job, "batch", total, argv), stop = 0;
    free(argv);
    if (rc == 0 && job.n_args != 2) {
        mp_error("%s:%d: expected SOURCE DEST [options]", b->path, where);
        rc = 2;
    }
    if (rc == 0) {
        /* The command line's --report is the whole batch's (below), not
         * each job's. */
        if (b->global->report_path && job.report_path &&
            strcmp(job.report_path, b->global->report_path) == 0) {
            free(job.report_path);
            job.report_path = NULL;
        }
        {
            char *s = shown(job.args[0]), *d = shown(job.args[1]);
            if (job.verbosity > 0)
                fprintf(stderr, "mailport: job %d (%s %d): %s -> %s\n",
                        b->index - 1, what, where, s, d);
            if (asprintf(&job.progress_label, "job %d: %s", b->index - 1,
                         d ? d : "") < 0)
                job.progress_label = NULL;
            free(s);
            free(d);
        }
        mp_report *rep = NULL;
        /* The file's passwords were warned about once. */
        mp_secret_inline_warned(b->warned > 0);
        int code =
            mp_copy_job_keep(b->reg, &job, job.args[0], job.args[1], &rep);
        mp_secret_inline_warned(0);
        batch_log_job(&b->log, b->index - 1, where, job.args[0], job.args[1],
                      code, rep);
        mp_report_free(rep);
        b->ran++;
        worsen(b, code);
        stop = mp_interrupted(); /* the jobs after it are not started */
    } else {
        worsen(b, MP_EXIT_USAGE);
    }
    mp_options_free(&job);
    return stop ? -1 : 0;
}

/* The job file's lines, each a job (mp_batch_parse_line). */
static void run_lines(batch_run *b, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *words[MAX_WORDS + 2];
        char *src = NULL, *dst = NULL;
        int n = mp_batch_parse_line(line, words, MAX_WORDS, &src, &dst);
        if (n == -2) {
            mp_error("%s:%d: an imapsync-style line needs 6 fields "
                     "host1;user1;password1;host2;user2;password2; (then "
                     "options such as --tls2 --port2 143 --cafile2 FILE)",
                     b->path, lineno);
            worsen(b, MP_EXIT_USAGE);
            continue;
        }
        /* A password in a native line's URL is as exposed as one in an
         * imapsync line. */
        if (src || (n >= 2 && words_hold_password(words, n))) {
            if (passwords_allowed(b->path, b->shared, b->global->force,
                                  &b->warned) != 0) {
                free(src);
                free(dst);
                b->worst = MP_EXIT_USAGE;
                break;
            }
        } else {
            if (n == 0)
                continue;
            if (n < 2) {
                mp_error("%s:%d: expected SOURCE DEST [options]%s", b->path,
                         lineno, n < 0 ? " (unclosed quote?)" : "");
                worsen(b, MP_EXIT_USAGE);
                continue;
            }
        }
        int stop = run_job(b, words, n, "line", lineno);
        free(src);
        free(dst);
        if (stop)
            break;
    }
    free(line);
}

/* imap-backup's config.json: each account a job (batch_ibconfig.h). Its
 * passwords are checked as an accounts list's are, for the jobs that use
 * them (--backup-to; --upload-to reads the backups and never logs in to
 * the accounts' servers). */
static void run_ib_config(batch_run *b, FILE *f)
{
    mp_ib_job *jobs;
    int n = mp_ib_config_jobs(f, b->path, b->global->backup_to,
                              b->global->upload_to, &jobs);
    if (n < 0) {
        b->worst = MP_EXIT_USAGE;
        return;
    }
    for (int i = 0; i < n; i++) {
        mp_ib_job *j = &jobs[i];
        if (j->skipped && j->deliberate) {
            if (b->global->verbosity > 0)
                fprintf(stderr, "mailport: %s: account %d: %s; skipped\n",
                        b->path, j->account, j->skipped);
            continue;
        }
        if (j->skipped) {
            mp_error("%s: account %d: %s; skipped", b->path, j->account,
                     j->skipped);
            worsen(b, MP_EXIT_USAGE);
            continue;
        }
        if (j->uses_password && passwords_allowed(b->path, b->shared,
                                                  b->global->force,
                                                  &b->warned) != 0) {
            b->worst = MP_EXIT_USAGE;
            break;
        }
        if (run_job(b, j->words, j->n_words, "account", j->account))
            break;
    }
    mp_ib_jobs_free(jobs, n);
}

int mp_cmd_batch(const mp_registry *reg, int argc, char **argv)
{
    mp_options global;
    int rc = mp_options_parse(&global, "batch", argc, argv);
    if (rc)
        return rc == 1 ? MP_EXIT_OK : MP_EXIT_USAGE;
    batch_run b = {.reg = reg, .global = &global, .shard_n = 1};
    if (global.shard &&
        (sscanf(global.shard, "%u/%u", &b.shard_k, &b.shard_n) != 2 ||
         b.shard_n == 0 || b.shard_k >= b.shard_n)) {
        fprintf(stderr,
                "mailport batch: --shard wants K/N with 0 <= K < N, "
                "not \"%s\"\n",
                global.shard);
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }
    if (global.shard && global.job >= 0) {
        fprintf(stderr, "mailport batch: --job and --shard exclude each "
                        "other\n");
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }
    if (global.n_args != 1) {
        fprintf(stderr, "mailport batch: expected one JOBFILE\n"
                        "Try 'mailport batch --help'.\n");
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }
    b.path = global.args[0];
    if (!global.dry_run)
        mp_interrupt_install();
    FILE *f = fopen(b.path, "r");
    if (!f) {
        mp_error("cannot read job file %s: %s", b.path, strerror(errno));
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        mp_error("job file %s is a directory; give the file that lists one "
                 "job per line (see 'mailport batch --help')",
                 b.path);
        fclose(f);
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }
    b.shared = (st.st_mode & 077) != 0;
    int json = mp_ib_config_detect(f);
    if (!json && (global.backup_to || global.upload_to)) {
        mp_error("--backup-to and --upload-to are for imap-backup's "
                 "config.json; %s is a job file of lines",
                 b.path);
        fclose(f);
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }

    /* The command line's options (without JOBFILE) start every job. */
    b.base = calloc((size_t)argc + 1, sizeof *b.base);
    for (int i = 0; i < argc; i++) {
        int own = batch_only_option(argv[i]);
        if (own == 1)
            i++; /* and its value */
        else if (!own && strcmp(argv[i], b.path) != 0)
            b.base[b.n_base++] = argv[i];
    }

    if (batch_log_open(&b.log, global.report_path) != 0) {
        fclose(f);
        free(b.base);
        mp_options_free(&global);
        return MP_EXIT_USAGE;
    }
    if (json)
        run_ib_config(&b, f);
    else
        run_lines(&b, f);
    fclose(f);
    free(b.base);
    if (global.job >= b.index && !mp_interrupted()) {
        mp_error("%s holds %d job%s; there is no job %ld (they count from 0)",
                 b.path, b.index, b.index == 1 ? "" : "s", global.job);
        worsen(&b, MP_EXIT_USAGE);
    }
    if (batch_log_close(&b.log, global.verbosity, b.worst) != 0 &&
        b.worst < MP_EXIT_FAILED)
        b.worst = MP_EXIT_FAILED;
    if (global.verbosity > 0)
        fprintf(stderr, "mailport: batch ran %u job%s\n", b.ran,
                b.ran == 1 ? "" : "s");
    mp_options_free(&global);
    return b.worst;
}
