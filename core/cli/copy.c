/* mailport copy: folders are shared out to --jobs workers, each with its own
 * source and destination connection and its own state handle; each folder
 * is synced by mp_sync_folder, retried with back-off when a connection
 * drops. */
#include "commands.h"
#include "destlock.h"
#include "escape.h"
#include "interrupt.h"
#include "lanes.h"
#include "log.h"
#include "pair.h"
#include "preset.h"
#include "progress.h"
#include "report.h"
#include "state.h"
#include "state_cmd.h"
#include "store.h"
#include "sync.h"
#include "throttle.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

/* Attempts per folder when the connection drops (MP_TEMPORARY), with the
 * wait doubling from RETRY_FIRST_WAIT seconds. */
#define RETRY_ATTEMPTS 4
#define RETRY_FIRST_WAIT 1

typedef struct folder_list {
    char **names;
    unsigned *special;
    int *subscribed;    /* mp_folder_info.subscribed */
    char **store_names; /* mp_folder_info.store_name; NULL entries */
    size_t n;
} folder_list;

static mp_status collect_folder(void *ctx, const mp_folder_info *info)
{
    folder_list *l = ctx;
    if (MP_HAS_SLOT(info, mp_folder_info, nonexistent) && info->nonexistent)
        return MP_OK; /* a subscription, not a folder */
    l->names = realloc(l->names, (l->n + 1) * sizeof *l->names);
    l->special = realloc(l->special, (l->n + 1) * sizeof *l->special);
    l->subscribed = realloc(l->subscribed, (l->n + 1) * sizeof *l->subscribed);
    l->store_names =
        realloc(l->store_names, (l->n + 1) * sizeof *l->store_names);
    l->subscribed[l->n] = MP_HAS_SLOT(info, mp_folder_info, subscribed)
                              ? info->subscribed
                              : MP_SUBSCRIPTION_UNKNOWN;
    l->store_names[l->n] = MP_HAS_SLOT(info, mp_folder_info, store_name)
                               ? strdup(info->store_name)
                               : NULL;
    l->names[l->n] = strdup(info->name);
    l->special[l->n++] = info->no_select ? ~0u : info->special_use;
    return MP_OK;
}

void mp_free_names(char **names, size_t n)
{
    /* copy lists the source's folders before it opens the destination:
     * a run that stops there has N names on one side and none on the
     * other. */
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int mp_list_source_folders(mp_store *src, const mp_options *opt, char ***names,
                           unsigned **special, size_t *n, char **unmatched)
{
    return mp_list_source_folders_full(src, opt, names, special, NULL, NULL,
                                       n, unmatched);
}

int mp_list_source_folders_full(mp_store *src, const mp_options *opt,
                                char ***names, unsigned **special,
                                int **subscribed, char ***store_names,
                                size_t *n, char **unmatched)
{
    folder_list all = {0};
    mp_host_clear_error(&src->host);
    mp_status st = src->role == MP_ROLE_SOURCE
                       ? src->plugin->source->list_folders(src->handle,
                                                           collect_folder, &all)
                       : src->plugin->sink->list_folders(src->handle,
                                                         collect_folder, &all);
    if (st != MP_OK) {
        mp_free_names(all.names, all.n);
        mp_free_names(all.store_names, all.n);
        free(all.special);
        free(all.subscribed);
        return -1;
    }
    if (unmatched)
        *unmatched = mp_options_unmatched_includes(opt, all.names, all.n);
    size_t kept = 0;
    for (size_t i = 0; i < all.n; i++) {
        /* A Gmail source's Starred (SPECIAL-USE \Flagged, whatever its
         * name in the account's language) is the flag, not a folder
         * (preset.h). */
        int starred = opt->src_host && strcmp(opt->src_host, "gmail") == 0 &&
                      all.special[i] != ~0u &&
                      (all.special[i] & MP_SPECIAL_FLAGGED);
        if (all.special[i] == ~0u || starred ||
            !mp_options_folder_selected(opt, all.names[i])) {
            free(all.names[i]);
            free(all.store_names[i]);
            continue;
        }
        all.names[kept] = all.names[i];
        all.store_names[kept] = all.store_names[i];
        all.subscribed[kept] = all.subscribed[i];
        all.special[kept++] = all.special[i];
    }
    *names = all.names;
    *special = all.special;
    if (subscribed)
        *subscribed = all.subscribed;
    else
        free(all.subscribed);
    if (store_names)
        *store_names = all.store_names;
    else
        mp_free_names(all.store_names, kept);
    *n = kept;
    return 0;
}

/* ------------------------------------------------------------------------ */

typedef struct job {
    const mp_registry *reg;
    const mp_options *opt;
    const char *source, *dest;
    char **src_names, **dst_names;
    int *src_subscribed; /* each source folder's mp_folder_info.subscribed */
    char **src_store_names; /* each one's mp_folder_info.store_name, or NULL */
    char *synced;        /* each folder synced in this run (or dry run) */
    size_t n_folders;
    size_t next; /* next folder to take, under lock */
    pthread_mutex_t lock;
    mp_report *report;
    char *state_path;
    int size_comparable;
    int exit_code; /* worst store-level failure, under lock */
    int stopped;   /* a store failed for good: take no more folders */
    int gone_taken; /* a worker has taken the folders gone from the source */
    int settled;    /* waited for a killed run's appends to land */
    /* Workers with no folder left help with large folders (lanes.h);
     * NULL when the plugins cannot share a folder or there is one worker. */
    mp_lanes *lanes;
} job;

typedef struct worker {
    job *job;
    mp_store *src, *dst; /* opened by the worker unless handed in */
} worker;

static void job_fail(job *j, int code)
{
    pthread_mutex_lock(&j->lock);
    if (code > j->exit_code)
        j->exit_code = code;
    pthread_mutex_unlock(&j->lock);
}

static int take_folder(job *j, size_t *index)
{
    pthread_mutex_lock(&j->lock);
    int got =
        j->next < j->n_folders && !j->stopped && j->exit_code < MP_EXIT_USAGE;
    if (got)
        *index = j->next++;
    pthread_mutex_unlock(&j->lock);
    return got;
}

static mp_store *open_or_report(job *j, const char *url, mp_role role)
{
    char err[2600];
    int code = 0;
    mp_store *s = mp_open_endpoint(j->reg, url, role, err, sizeof err, &code);
    if (!s) {
        mp_error("%s", err);
        mp_report_error(j->report, "", NULL, err);
        job_fail(j, code);
    }
    return s;
}

static int folders_left(job *j)
{
    pthread_mutex_lock(&j->lock);
    int left = j->next < j->n_folders && !j->stopped;
    pthread_mutex_unlock(&j->lock);
    return left;
}

/* An extra worker's store: a refusal because the account has too many
 * connections (MP_ERR_LIMIT) is not a failure of the run, which goes on
 * with the connections it has; anything else is reported as for the
 * first worker. */
static mp_store *open_worker_store(job *j, const char *url, mp_role role,
                                   int extra)
{
    if (!extra)
        return open_or_report(j, url, role);
    char err[2600];
    int code = 0;
    mp_store *s = mp_open_endpoint(j->reg, url, role, err, sizeof err, &code);
    if (s)
        return s;
    if (mp_store_open_error_kind() == MP_ERR_LIMIT) {
        mp_warn("%s; going on with fewer connections", err);
        return NULL;
    }
    mp_error("%s", err);
    mp_report_error(j->report, "", NULL, err);
    job_fail(j, code);
    return NULL;
}

/* Seconds to give the destination, after a connection to it dropped,
 * before looking at what is there: a message whose APPEND was sent in full
 * may still be being stored by the server, and must be found there, not
 * sent again. */
#define DROP_SETTLE_SECONDS 3

/* After an attempt ended in MP_TEMPORARY: did a server ask to slow down
 * (mp_host.throttled)? 1 with T->next_ms the pause to make; -1 when it has
 * gone on too long (FAILED's error then says so); 0 when not throttled. */
static int throttle_pause(worker *w, mp_throttle *t, mp_store *failed)
{
    uint64_t a = 0, b = 0;
    int src = mp_host_take_throttle(&w->src->host, &a);
    int dst = w->dst && mp_host_take_throttle(&w->dst->host, &b);
    if (!src && !dst)
        return 0;
    if (mp_throttle_next(t, a > b ? a : b, &t->next_ms) == 0)
        return 1;
    char was[sizeof failed->host.err];
    snprintf(was, sizeof was, "%s", failed->host.err);
    snprintf(failed->host.err, sizeof failed->host.err,
             "%.1500s; still throttled after waiting %llu s in all, giving "
             "up the folder",
             was, (unsigned long long)(t->waited_ms / 1000));
    return -1;
}

/* Each attempt at a folder is counted afresh: what an attempt that ended in
 * a dropped connection counted, except what it did for good (copies, flag
 * updates, removals), is taken back before the retry. */
static mp_status sync_with_retries(worker *w, mp_sync_env *env, size_t f)
{
    job *j = w->job;
    const char *folder = j->src_names[f];
    int wait = RETRY_FIRST_WAIT;
    mp_throttle throttle = {0};
    mp_msglist_free(&env->copied_keys);
    mp_msglist_free(&env->uncertain_keys);
    for (int attempt = 1;; attempt++) {
        mp_report_mark mark;
        mp_report_mark_folder(env->report, folder, &mark);
        /* A store that could not be reopened has no handle: nothing to
         * sync with until a later attempt reconnects. */
        int ready = w->src->handle && (!w->dst || w->dst->handle);
        mp_status st =
            ready ? mp_sync_folder(env, folder, j->dst_names[f]) : MP_TEMPORARY;
        if (st != MP_TEMPORARY || mp_interrupted())
            return st; /* an interrupted run is not retried */
        /* Which side dropped is not known here: reopen both. */
        int dst_dropped = !w->src->host.err[0];
        mp_store *failed = !w->src->handle             ? w->src
                           : w->dst && !w->dst->handle ? w->dst
                           : dst_dropped               ? w->dst
                                                       : w->src;
        /* A server that asked to slow down is waited out and the folder
         * retried; that is not a dropped connection's attempt. */
        int throttled = throttle_pause(w, &throttle, failed);
        if (throttled > 0)
            attempt--;
        if (attempt == RETRY_ATTEMPTS || throttled < 0) {
            mp_sync_report_folder_error(env, folder, failed);
            /* The planned messages the last attempt neither copied nor
             * failed are failed now, so that each is counted once. */
            mp_report_mark now;
            mp_report_mark_folder(env->report, folder, &now);
            uint64_t planned =
                         now.n[MP_COUNT_PLANNED] - mark.n[MP_COUNT_PLANNED],
                     done = (now.n[MP_COUNT_COPIED] - mark.n[MP_COUNT_COPIED]) +
                            (now.n[MP_COUNT_FAILED] - mark.n[MP_COUNT_FAILED]);
            if (planned > done)
                mp_report_add(env->report, folder, MP_COUNT_FAILED,
                              planned - done);
            /* Still unreachable: the endpoint is gone for this run (exit
             * 3), not just this folder. */
            return failed->handle ? MP_FOLDER_BAD : MP_FATAL;
        }
        mp_report_retry_folder(env->report, folder, &mark);
        if (dst_dropped && wait < DROP_SETTLE_SECONDS)
            wait = DROP_SETTLE_SECONDS;
        if (env->dst_reader) {
            mp_store_close(env->dst_reader);
            env->dst_reader = NULL;
        }
        if (throttled) {
            mp_warn("%s; waiting %.1f s as the server asked, then retrying "
                    "folder %s",
                    mp_store_error(failed), (double)throttle.next_ms / 1000.0,
                    mp_show_name(j->src_names[f]).s);
            mp_report_count(env->report, MP_COUNT_THROTTLED_MS,
                            mp_throttle_sleep(&throttle, throttle.next_ms));
        } else {
            mp_warn("%s; retrying folder %s in %d s (attempt %d of %d)",
                    mp_store_error(failed), mp_show_name(j->src_names[f]).s,
                    wait, attempt + 1, RETRY_ATTEMPTS);
            sleep((unsigned)wait);
            wait *= 2;
        }
        if (mp_store_reopen(w->src) != 0 ||
            (w->dst && mp_store_reopen(w->dst) != 0))
            continue; /* counted as an attempt; the next sync fails fast */
    }
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    job *j = w->job;
    mp_state *state = NULL;
    size_t f;
    /* A worker beyond the first opens its own connections before it takes
     * a folder: when a server refuses one more connection ([LIMIT]), the
     * folders stay with the workers it accepted. With lanes, one also opens
     * them when no folder is left: it may help with another's. */
    int extra = !w->src;
    if (extra && !folders_left(j) && !j->lanes)
        goto not_taking;
    if (!w->src)
        w->src = open_worker_store(j, j->source, MP_ROLE_SOURCE, extra);
    if (w->src && !w->dst && !j->opt->dry_run)
        w->dst = open_worker_store(j, j->dest, MP_ROLE_SINK, extra);
    if (!w->src || (!w->dst && !j->opt->dry_run))
        goto not_taking; /* the caller closes what was opened */
    mp_report_count(j->report, MP_COUNT_CONNECTIONS, 1);
    int took = take_folder(j, &f);
    if (!took && !j->lanes)
        goto not_taking;
    if (j->state_path) {
        char err[1024];
        state = j->opt->dry_run
                    ? mp_state_open_readonly(j->state_path, err, sizeof err)
                    : mp_state_open(j->state_path, err, sizeof err);
        if (!state && !j->opt->dry_run)
            mp_warn("%s; going on without sync state", err);
    }
    mp_sync_env env = {
        .opt = j->opt,
        .report = j->report,
        .state = state,
        .src = w->src,
        .dst = w->dst,
        .reg = j->reg,
        .dst_url = j->dest,
        .size_comparable = j->size_comparable,
        .out = stdout,
        .run_dst_names = j->dst_names,
        .n_run_dst = j->n_folders,
        .lanes = j->lanes,
    };
    while (took) {
        mp_report_set_current(env.report, j->src_names[f]);
        mp_status st = sync_with_retries(w, &env, f);
        mp_report_set_current(env.report, NULL);
        /* Its destination folder exists (or a dry run could plan it). */
        j->synced[f] = st == MP_OK || st == MP_MSG_BAD;
        if (mp_interrupted()) {
            pthread_mutex_lock(&j->lock);
            j->stopped = 1;
            pthread_mutex_unlock(&j->lock);
            break;
        }
        if (st == MP_FATAL) {
            /* The store is unusable: stop taking folders. */
            mp_store *failed = w->dst && w->dst->host.err[0] ? w->dst : w->src;
            int code = mp_exit_code_for(failed->host.err_kind);
            job_fail(j, code);
            pthread_mutex_lock(&j->lock);
            j->stopped = 1;
            pthread_mutex_unlock(&j->lock);
        }
        took = take_folder(j, &f);
        if (!took) {
            /* With --delete, the first worker done also empties what
             * earlier runs copied from folders the source no longer has. */
            pthread_mutex_lock(&j->lock);
            int gone =
                !j->gone_taken && !j->stopped && j->exit_code < MP_EXIT_USAGE;
            j->gone_taken = 1;
            pthread_mutex_unlock(&j->lock);
            if (gone && !mp_interrupted())
                mp_sync_gone_folders(&env);
        }
    }
    mp_lanes_done_taking(j->lanes);
    if (!mp_interrupted())
        mp_lanes_serve(j->lanes, &env);
    mp_msglist_free(&env.copied_keys);
    mp_msglist_free(&env.uncertain_keys);
    mp_msglist_free(&env.src_listed);
    mp_store_close(env.dst_reader);
    mp_state_close(state);
    return NULL;
not_taking:
    mp_lanes_done_taking(j->lanes);
    return NULL;
}

/* ------------------------------------------------------------------------ */

/* Register this run in the state: refuse to run beside another process
 * using the same state, and let a crashed run's last writes land. */
static int claim_state(job *j, mp_state **claim)
{
    char err[1024];
    *claim = mp_state_open(j->state_path, err, sizeof err);
    if (!*claim) {
        mp_warn("%s; going on without sync state", err);
        free(j->state_path);
        j->state_path = NULL;
        return 0;
    }
    long other = 0;
    int rc = mp_state_claim(*claim, &other);
    if (rc < 0) {
        mp_error("another mailport (pid %ld) is using the sync state %s; "
                 "wait for it to finish (a run into another destination "
                 "needs a --state file of its own)",
                 other, j->state_path);
        job_fail(j, MP_EXIT_USAGE);
        mp_state_close(*claim);
        *claim = NULL;
        return -1;
    }
    /* What this file is the state of, for `mailport state list`: shown
     * without parameters or password (the state holds no secret). */
    char *s = mp_state_endpoint_shown(j->source),
         *d = mp_state_endpoint_shown(j->dest);
    if (!s || !d || mp_state_record_run(*claim, s, d) != 0)
        mp_debug("cannot record the endpoints in %s", j->state_path);
    free(s);
    free(d);
    if (rc == 1 && !j->settled) {
        mp_info("the last run with this state was interrupted; waiting %d s "
                "for the destination to settle",
                MP_CRASH_SETTLE_SECONDS);
        sleep(MP_CRASH_SETTLE_SECONDS);
        j->settled = 1;
    }
    return 0;
}

/* Subscribe, on the destination, INBOX and every folder this run synced
 * whose source folder is subscribed or cannot tell (an mbox, a Maildir
 * without a subscriptions file: after an upload the user expects to see
 * every folder), under its destination name, unless the destination
 * reports it subscribed already. Subscriptions are presentation, not
 * mail: a refusal is a warning and leaves the exit code alone. A dry run
 * prints "subscribe NAME" for each instead. */
/* The plugin of URL, for a dry run whose destination does not exist yet. */
static const mp_plugin *dest_plugin(const mp_registry *reg, const char *url)
{
    char err[512];
    mp_url *u = mp_url_parse(url, err, sizeof err);
    const mp_plugin *p =
        u ? mp_registry_find(reg, u->scheme, err, sizeof err) : NULL;
    mp_url_free(u);
    return p;
}

static void subscribe_folders(job *j, mp_store *dst, const mp_plugin *dplug)
{
    const mp_sink_ops *ops = dplug ? dplug->sink : NULL;
    if (!ops || !MP_HAS_SLOT(ops, mp_sink_ops, subscribe) || mp_interrupted())
        return;
    char **have = NULL;
    int *have_state = NULL;
    size_t n_have = 0;
    if (dst && dst->handle &&
        mp_pair_subscriptions(dst, &have, &have_state, &n_have) != 0)
        mp_debug("cannot list the destination's subscriptions: %s",
                 mp_store_error(dst));
    size_t n_want = 0;
    const char **want = calloc(j->n_folders + 1, sizeof *want);
    if (!want)
        goto out;
    want[n_want++] = "INBOX";
    for (size_t f = 0; f < j->n_folders; f++) {
        if (!j->synced[f] || j->src_subscribed[f] == MP_UNSUBSCRIBED)
            continue;
        int dup = 0;
        for (size_t k = 0; k < n_want && !dup; k++)
            dup = strcmp(want[k], j->dst_names[f]) == 0 ||
                  (!strcasecmp(want[k], "INBOX") &&
                   !strcasecmp(j->dst_names[f], "INBOX"));
        if (!dup)
            want[n_want++] = j->dst_names[f];
    }
    for (size_t k = 0; k < n_want; k++) {
        if (mp_pair_subscription_of(have, have_state, n_have, want[k]) ==
            MP_SUBSCRIBED)
            continue;
        if (j->opt->dry_run) {
            printf("subscribe %s\n", mp_show_name(want[k]).s);
            mp_report_count(j->report, MP_COUNT_SUBSCRIBED, 1);
            continue;
        }
        if (!dst || !dst->handle)
            break;
        mp_host_clear_error(&dst->host);
        mp_status st = ops->subscribe(dst->handle, want[k]);
        if (st == MP_OK) {
            mp_report_count(j->report, MP_COUNT_SUBSCRIBED, 1);
            continue;
        }
        char text[2600];
        snprintf(text, sizeof text,
                 "folder %s is not subscribed on the destination: %s%s",
                 want[k], mp_store_error(dst),
                 st == MP_TEMPORARY || st == MP_FATAL
                     ? " (nor the folders after it; run the same command "
                       "again to subscribe them)"
                     : "");
        mp_warn("%s", text);
        mp_report_warning(j->report, text);
        if (st == MP_TEMPORARY || st == MP_FATAL)
            break;
    }
out:
    free(want);
    mp_free_names(have, n_have);
    free(have_state);
}

static unsigned long long total(const mp_report *r, mp_counter kind)
{
    return (unsigned long long)mp_report_total(r, kind);
}

/* The one-line summary on stderr. A dry run states what the real run would
 * do, in the same counts its --report would hold. */
static void print_summary(const mp_options *opt, const mp_report *r)
{
    if (opt->verbosity == 0)
        return;
    char line[1024];
    size_t n = 0;
#define ADD(...)                                                               \
    do {                                                                       \
        int k_ = snprintf(line + n, sizeof line - n, __VA_ARGS__);             \
        if (k_ > 0)                                                            \
            n = n + (size_t)k_ < sizeof line ? n + (size_t)k_                  \
                                             : sizeof line - 1;                \
    } while (0)
    if (opt->dry_run) {
        ADD("mailport: dry run, nothing changed: would copy %llu (%llu "
            "bytes), update flags of %llu, remove %llu; already present %llu",
            total(r, MP_COUNT_COPIED), total(r, MP_COUNT_BYTES),
            total(r, MP_COUNT_FLAGS_UPDATED), total(r, MP_COUNT_REMOVED),
            total(r, MP_COUNT_SKIPPED));
        if (total(r, MP_COUNT_FAILED)) /* folders the run would fail */
            ADD(", would fail %llu", total(r, MP_COUNT_FAILED));
    } else {
        ADD("mailport: copied %llu, already present %llu, flags updated "
            "%llu, failed %llu, %llu bytes",
            total(r, MP_COUNT_COPIED), total(r, MP_COUNT_SKIPPED),
            total(r, MP_COUNT_FLAGS_UPDATED), total(r, MP_COUNT_FAILED),
            total(r, MP_COUNT_BYTES));
    }
    if (total(r, MP_COUNT_FILTERED))
        ADD(", left out by filters %llu", total(r, MP_COUNT_FILTERED));
    if (!opt->dry_run && total(r, MP_COUNT_REMOVED))
        ADD(", removed %llu", total(r, MP_COUNT_REMOVED));
    if (total(r, MP_COUNT_ALTERED))
        ADD(", stored altered by the destination %llu",
            total(r, MP_COUNT_ALTERED));
    if (total(r, MP_COUNT_REPAIRED))
        ADD(", repaired %llu (of those copied; see the report)",
            total(r, MP_COUNT_REPAIRED));
    if (total(r, MP_COUNT_SUBSCRIBED))
        ADD(opt->dry_run ? ", would subscribe %llu folder%s"
                         : ", subscribed %llu folder%s",
            total(r, MP_COUNT_SUBSCRIBED),
            total(r, MP_COUNT_SUBSCRIBED) == 1 ? "" : "s");
    if (total(r, MP_COUNT_THROTTLED_MS))
        ADD(", waited %.1f s for the server (throttled)",
            (double)total(r, MP_COUNT_THROTTLED_MS) / 1000.0);
    if (total(r, MP_COUNT_RATE_WAIT_MS))
        ADD(", waited %.1f s for the rate limits",
            (double)total(r, MP_COUNT_RATE_WAIT_MS) / 1000.0);
#undef ADD
    mp_progress_print_line(line);
}

int mp_copy_job(const mp_registry *reg, const mp_options *opt,
                const char *source, const char *dest)
{
    return mp_copy_job_keep(reg, opt, source, dest, NULL);
}

int mp_copy_job_keep(const mp_registry *reg, const mp_options *opt,
                     const char *source, const char *dest, mp_report **keep)
{
    /* The options with the defaults of the hosts' presets (preset.h). */
    mp_options run;
    mp_preset_run_init(&run, opt);
    job j = {.reg = reg, .opt = &run, .source = source, .dest = dest};
    pthread_mutex_init(&j.lock, NULL);
    j.report = mp_report_new();
    worker first = {.job = &j};
    unsigned *special = NULL;
    mp_state *claim = NULL;  /* this run's registration in the state */
    mp_dest_lock dest_lock = MP_DEST_LOCK_INIT; /* destlock.h */
    int archive_written = 0; /* a sink with finish() completed it */
    /* The destination's sink ops once it is open; NULL on the early
     * failures that jump to done. */
    const mp_sink_ops *sink = NULL;
    int code;

    char bad[2600];
    const char *urls[] = {source, dest};
    if ((code = mp_check_endpoints(reg, urls, 2, bad, sizeof bad)) != 0) {
        mp_error("%s", bad);
        mp_report_error(j.report, "", NULL, bad);
        job_fail(&j, code);
        goto done;
    }
    first.src = open_or_report(&j, source, MP_ROLE_SOURCE);
    if (!first.src)
        goto done;
    mp_preset_source(&run, opt, first.src);
    /* The source's folders first: when --include selects none of them,
     * the destination is not even opened (a sink creates its store). */
    char *unmatched = NULL;
    if (mp_list_source_folders_full(first.src, &run, &j.src_names, &special,
                                    &j.src_subscribed, &j.src_store_names,
                                    &j.n_folders, &unmatched) != 0) {
        mp_error("%s", mp_store_error(first.src));
        mp_report_error(j.report, "", NULL, mp_store_error(first.src));
        job_fail(&j, mp_exit_code_for(first.src->host.err_kind) == 1
                         ? MP_EXIT_FAILED
                         : mp_exit_code_for(first.src->host.err_kind));
        goto done;
    }
    if (unmatched) {
        /* Not a failure (a pattern for a folder that comes and goes is
         * fine in a job file), but never silent. */
        mp_warn("%s", unmatched);
        mp_report_warning(j.report, unmatched);
        free(unmatched);
        if (j.n_folders == 0)
            goto done;
    }
    if (opt->dry_run) {
        /* What the real run's open of the sink would refuse (an archive
         * that exists, a directory that cannot be made) ends the dry run
         * as it would end the real one; nothing is made. */
        char err[2600];
        mp_error_kind kind;
        if (mp_store_probe_sink(reg, dest, NULL, err, sizeof err, &kind) !=
            MP_OK) {
            mp_error("%s", err);
            mp_report_error(j.report, "", NULL, err);
            code = mp_exit_code_for(kind);
            job_fail(&j, code == MP_EXIT_FAILED ? MP_EXIT_UNREACHABLE : code);
            goto done;
        }
        /* Read the destination without changing it; a destination that does
         * not exist yet simply holds nothing. */
        first.dst = mp_store_open_dst_reader(reg, dest, err, sizeof err, &code);
        if (!first.dst && code != MP_EXIT_FAILED) {
            mp_error("%s", err);
            job_fail(&j, code);
            goto done;
        }
    } else {
        first.dst = open_or_report(&j, dest, MP_ROLE_SINK);
        if (!first.dst)
            goto done;
    }
    mp_preset_dest(&run, opt, first.dst);
    mp_preset_first_copies(&run, first.src, j.src_names, special, j.n_folders);
    sink = first.dst && first.dst->role == MP_ROLE_SINK
               ? first.dst->plugin->sink
               : NULL;
    mp_eol src_eol = first.src->plugin->source->eol;
    const mp_plugin *dplug = first.dst ? first.dst->plugin : NULL;
    j.size_comparable = src_eol == MP_EOL_NATIVE && dplug && dplug->source &&
                        dplug->source->eol == MP_EOL_NATIVE &&
                        (!dplug->sink || dplug->sink->eol != MP_EOL_CRLF);
    /* A dry run plans from the same state as the real run would, read
     * only. */
    int stateful = opt->dry_run ? dplug && dplug->sink && dplug->sink->scan
                                : sink && sink->scan;
    if (!opt->no_state && stateful)
        j.state_path = mp_pair_state_path(opt, source, dest);
    if (opt->delete_missing && !j.state_path)
        mp_warn("--delete removes only messages that an earlier run recorded "
                "in the sync state%s; this run removes nothing",
                opt->no_state ? ", and --no-state keeps none"
                              : " (this destination cannot be scanned)");
    /* Folders pair as an earlier run paired them (its --map/--automap, as
     * recorded in the state), unless this run maps them itself: a plain
     * pass after `copy --automap` must not create "Sent Items" beside the
     * "Sent" it filled (docs/sync-model.md). */
    {
        char err[1024];
        mp_state *recorded =
            j.state_path
                ? mp_state_open_readonly(j.state_path, err, sizeof err)
                : NULL;
        j.dst_names = mp_pair_folder_names(&run, first.dst, j.src_names,
                                           j.src_store_names, special,
                                           j.n_folders, recorded);
        mp_state_close(recorded);
    }
    j.synced = calloc(j.n_folders + 1, 1);

    if (!opt->dry_run) {
        int held = mp_dest_lock_claim(&dest_lock, dest, first.dst, &j.settled);
        if (held == -1)
            job_fail(&j, MP_EXIT_USAGE);
        if (held != 0)
            goto done;
    }
    if (j.state_path && !opt->dry_run && claim_state(&j, &claim) != 0)
        goto done;

    /* An archive is one file written front to back: one worker. */
    int jobs = opt->jobs;
    if ((sink && sink->finish) || opt->dry_run)
        jobs = 1;
    /* Workers beyond the folders help with the large ones where both
     * plugins can share a folder between connections (lanes.h). */
    if (jobs > 1 && j.n_folders && mp_lanes_possible(first.src, first.dst))
        j.lanes = mp_lanes_new((size_t)jobs);
    else if ((size_t)jobs > j.n_folders)
        jobs = j.n_folders ? (int)j.n_folders : 1;
    mp_progress *progress = NULL;
    if (opt->progress != 0 && opt->verbosity > 0 && !opt->dry_run)
        progress = mp_progress_start(j.report, opt->progress == 1,
                                     opt->progress_label);
    worker *workers = calloc((size_t)jobs, sizeof *workers);
    pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
    workers[0] = first;
    for (int i = 1; i < jobs; i++) {
        workers[i].job = &j;
        pthread_create(&threads[i], NULL, run_worker, &workers[i]);
    }
    run_worker(&workers[0]);
    for (int i = 1; i < jobs; i++) {
        pthread_join(threads[i], NULL);
        mp_store_close(workers[i].src);
        mp_store_close(workers[i].dst);
    }
    first = workers[0];
    free(workers);
    free(threads);
    mp_lanes_free(j.lanes);
    j.lanes = NULL;
    mp_progress_stop(progress);
    /* Before finish: an archive writes the set into itself. */
    subscribe_folders(&j, first.dst, dplug ? dplug : dest_plugin(reg, dest));

    if (sink && sink->finish) {
        if (!j.stopped && !mp_interrupted() && j.exit_code < MP_EXIT_USAGE) {
            mp_host_clear_error(&first.dst->host);
            archive_written = sink->finish(first.dst->handle) == MP_OK;
            /* Stopped by the user while finishing: said once, below. */
            if (!archive_written && !mp_interrupted()) {
                mp_error("%s", mp_store_error(first.dst));
                mp_report_error(j.report, "", NULL, mp_store_error(first.dst));
                job_fail(&j, MP_EXIT_FAILED);
            }
        }
        /* An archive is written whole or not at all: without it, nothing
         * the run counted as copied was kept. */
        if (!archive_written)
            mp_report_copies_lost(j.report);
    }

done:
    if (claim) {
        mp_state_release(claim);
        mp_state_close(claim);
    }
    mp_dest_lock_release(&dest_lock);
    mp_store_close(first.src);
    mp_store_close(first.dst);
    int signo = mp_interrupted();
    if (signo) {
        char why[160];
        snprintf(why, sizeof why,
                 "interrupted by %s; run the same command again to resume",
                 strsignal(signo));
        mp_report_error(j.report, "", NULL, why);
        job_fail(&j, mp_interrupt_exit_code(signo));
    }
    /* A run refused before it began (a usage error, a destination another
     * run holds) copied nothing: a line of zeros would read as a run. */
    if (j.exit_code != MP_EXIT_USAGE)
        print_summary(opt, j.report);
    if (signo && archive_written)
        mp_error("interrupted (%s) after the archive was written: it is "
                 "complete",
                 strsignal(signo));
    else if (signo)
        mp_error(sink && sink->finish
                     ? "interrupted (%s): the archive was not written (an "
                       "archive is written whole); run the same command "
                       "again to write it"
                     : "interrupted (%s): what was copied is recorded; run "
                       "the same command again to resume",
                 strsignal(signo));
    if (opt->report_path && mp_report_write(j.report, opt->report_path) != 0) {
        mp_error("cannot write report %s", opt->report_path);
        job_fail(&j, MP_EXIT_FAILED);
    }
    code = j.exit_code;
    if (code == MP_EXIT_OK && (mp_report_total(j.report, MP_COUNT_FAILED) ||
                               mp_report_n_errors(j.report)))
        code = MP_EXIT_FAILED;
    if (keep)
        *keep = j.report;
    else
        mp_report_free(j.report);
    mp_free_names(j.src_names, j.n_folders);
    mp_free_names(j.dst_names, j.n_folders);
    free(j.src_subscribed);
    mp_free_names(j.src_store_names, j.n_folders);
    free(j.synced);
    free(special);
    free(j.state_path);
    mp_preset_run_free(&run, opt);
    pthread_mutex_destroy(&j.lock);
    return code;
}

int mp_cmd_copy(const mp_registry *reg, const mp_options *opt)
{
    if (!opt->dry_run)
        mp_interrupt_install();
    if (opt->n_args != 2) {
        fprintf(stderr,
                "mailport copy: expected SOURCE and DEST, got %zu "
                "argument%s\nTry 'mailport copy --help'.\n",
                opt->n_args, opt->n_args == 1 ? "" : "s");
        return MP_EXIT_USAGE;
    }
    return mp_copy_job(reg, opt, opt->args[0], opt->args[1]);
}
