/* One pass over one folder pair, in the order of the sync model
 * (docs/sync-model.md):
 *
 *   1. open both folders                       open_folders
 *   2. find the pair in the sync state         bind_state
 *   3. skip it if nothing changed that this    unchanged_since_last_sync
 *      run asks about
 *   4. scan both sides (metadata)              scan_both, load_rows
 *   5. plan: pair by state, filter, pair by    make_plan
 *      content identity (hashes where an
 *      identity is shared), find removals
 *   6. dry run: report the plan; else apply:   report_dry_run /
 *      flags, copies, removals                 apply_flags, transfer,
 *                                              apply_removals
 *   7. record the change markers               record_markers
 */
#include "sync.h"

#include "adopt.h"
#include "escape.h"
#include "hashes.h"
#include "lanes.h"
#include "log.h"
#include "plan.h"
#include "repair.h"
#include "transfer.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void report_folder_text(mp_sync_env *env, const char *folder,
                               const char *text)
{
    mp_error("folder %s: %s", mp_show_name(folder).s, text);
    mp_report_error(env->report, folder, NULL, text);
}

void mp_sync_report_folder_error(mp_sync_env *env, const char *folder,
                                 mp_store *store)
{
    report_folder_text(env, folder, mp_store_error(store));
}

/* Everything one pass over a folder pair holds. */
typedef struct folder_pass {
    mp_sync_env *env;
    const char *src_name, *dst_name;
    void *sf, *df;
    mp_store *dst_store; /* env->dst, or NULL: dry run, no such folder yet */
    mp_folder_info sinfo, dinfo;
    mp_msglist src, dst;
    int can_scan_dst;
    int64_t state_folder; /* -1: no state for this pair */
    mp_state_reset reset;
    mp_state_row *rows;
    size_t n_rows;
    mp_msglist rows_index; /* source keys of rows that pair by key */
    mp_plan plan;
} folder_pass;

/* ------------------------------------------------------------------------ */
/* 1. Opening.                                                              */

static mp_status scan_store(mp_store *store, void *folder, unsigned flags,
                            mp_msglist *list)
{
    mp_host_clear_error(&store->host);
    if (store->role == MP_ROLE_SOURCE)
        return store->plugin->source->scan(folder, flags, mp_msglist_collect,
                                           list);
    return store->plugin->sink->scan(folder, flags, mp_msglist_collect, list);
}

/* The destination refused the folder: every selected source message of it
 * is failed, so that the folder cannot vanish from the counts. */
static void count_unreachable_folder(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_msglist all = {0};
    if (p->sf && scan_store(env->src, p->sf, 0, &all) == MP_OK)
        for (size_t i = 0; i < all.n; i++)
            mp_report_add(env->report, p->src_name,
                          mp_options_message_selected(env->opt, all.v[i].date,
                                                      all.v[i].size)
                              ? MP_COUNT_FAILED
                              : MP_COUNT_FILTERED,
                          1);
    mp_msglist_free(&all);
}

static mp_status open_destination(folder_pass *p);

static mp_status open_folders(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_host_clear_error(&env->src->host);
    mp_status st = env->src->plugin->source->open_folder(
        env->src->handle, p->src_name, &p->sf, &p->sinfo);
    if (st != MP_OK) {
        p->sf = NULL;
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p->src_name, env->src);
        return st;
    }
    return open_destination(p);
}

/* A dry run plans a folder the real run would fail as failed: says so
 * with REASON, and counts its messages failed as the real run would. */
static mp_status plan_folder_failed(folder_pass *p, const char *reason)
{
    mp_sync_env *env = p->env;
    fprintf(env->out, "%s -> %s: would fail: %s\n", mp_show_name(p->src_name).s,
            mp_show_name(p->dst_name).s, reason);
    report_folder_text(env, p->src_name, reason);
    count_unreachable_folder(p);
    return MP_FOLDER_BAD;
}

/* The destination folder: opened as a sink, or for a dry run read-only
 * (then a folder that does not exist yet holds nothing: dst_store NULL),
 * once the sink's plugin said it would open or create it there
 * (mp_source_ops.probe_sink). */
static mp_status open_destination(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_status st;
    if (env->opt->dry_run) {
        char reason[2600];
        mp_error_kind kind;
        if (mp_store_probe_sink(env->reg, env->dst_url, p->dst_name, reason,
                                sizeof reason, &kind) != MP_OK)
            return plan_folder_failed(p, reason);
    }
    p->dst_store = env->dst;
    if (!p->dst_store)
        return MP_OK;
    mp_host_clear_error(&p->dst_store->host);
    if (p->dst_store->role == MP_ROLE_SINK)
        st = p->dst_store->plugin->sink->open_folder(
            p->dst_store->handle, p->dst_name, &p->df, &p->dinfo);
    else
        st = p->dst_store->plugin->source->open_folder(
            p->dst_store->handle, p->dst_name, &p->df, &p->dinfo);
    if (st == MP_OK)
        return MP_OK;
    p->df = NULL;
    if (p->dst_store->role == MP_ROLE_SOURCE &&
        (st == MP_TEMPORARY ||
         p->dst_store->host.err_kind == MP_ERR_NOTFOUND)) {
        p->dst_store = NULL; /* dry run: the folder does not exist yet */
        return MP_OK;
    }
    if (p->dst_store->role == MP_ROLE_SOURCE) {
        /* Dry run: not missing but unusable (a name the destination cannot
         * hold, a file where its directory would be): the real run fails
         * this folder, so the plan does. */
        plan_folder_failed(p, mp_store_error(p->dst_store));
        return st == MP_FATAL ? MP_FOLDER_BAD : st;
    }
    if (st != MP_TEMPORARY) {
        mp_sync_report_folder_error(env, p->src_name, p->dst_store);
        count_unreachable_folder(p);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* 2-3. State and the change-marker shortcut.                               */

static mp_status list_names(mp_store *store, int as_sink, mp_msglist *out);

/* 2b. The rows of pairs whose source folder is gone but whose destination
 * folder this pass fills (adopt.h): moved to this pair in the state, or
 * for a dry run (or without a folder row) kept in *HELD for load_rows to
 * add. Returns how many were adopted. */
static long adopt_gone_pairs(folder_pass *p, mp_state_row **held,
                             size_t *n_held)
{
    mp_sync_env *env = p->env;
    if (!env->state || !p->can_scan_dst)
        return 0;
    if (!env->src_listed_read)
        env->src_listed_read =
            list_names(env->src, 0, &env->src_listed) == MP_OK ? 1 : -1;
    if (env->src_listed_read < 0)
        return 0; /* no folder can be called gone */
    int64_t into = env->opt->dry_run ? -1 : p->state_folder;
    long k = mp_adopt_gone_rows(env->state, into, p->src_name, p->dst_name,
                                &env->src_listed, held, n_held);
    if (k < 0) {
        mp_warn("folder %s: cannot read the sync state of folders gone from "
                "the source (%s); their copies in %s are left alone",
                mp_show_name(p->src_name).s, mp_state_error(env->state),
                mp_show_name(p->dst_name).s);
        return 0;
    }
    if (k > 0)
        mp_info("folder %s: %ld message%s copied into %s from folders gone "
                "from the source are paired again by content",
                mp_show_name(p->src_name).s, k, k == 1 ? "" : "s",
                mp_show_name(p->dst_name).s);
    if (into > 0) { /* in the state now: load_rows reads them */
        mp_state_rows_free(*held, *n_held);
        *held = NULL;
        *n_held = 0;
    }
    return k;
}

/* Add the adopted rows a dry run keeps in memory to P's rows. */
static void add_held_rows(folder_pass *p, mp_state_row *held, size_t n_held)
{
    if (!n_held)
        return;
    mp_state_row *grown =
        realloc(p->rows, (p->n_rows + n_held) * sizeof *p->rows);
    if (!grown) {
        mp_state_rows_free(held, n_held);
        return;
    }
    p->rows = grown;
    memcpy(p->rows + p->n_rows, held, n_held * sizeof *held);
    p->n_rows += n_held;
    free(held); /* the strings now belong to p->rows */
}

static void bind_state(folder_pass *p)
{
    mp_sync_env *env = p->env;
    p->state_folder = -1;
    if (!env->state || !p->can_scan_dst)
        return;
    /* The store's own name of the folder, by which the state knows it
     * when its listed name changes. */
    const char *store = MP_HAS_SLOT(&p->sinfo, mp_folder_info, store_name)
                            ? p->sinfo.store_name
                            : NULL;
    p->state_folder =
        mp_state_folder_of(env->state, p->src_name, store, p->sinfo.validity,
                           p->dst_name, p->dinfo.validity, &p->reset);
    if (p->state_folder < 0)
        mp_warn("sync state unusable for folder %s (%s); planning from "
                "content identity",
                mp_show_name(p->src_name).s, mp_state_error(env->state));
    else if (p->reset)
        mp_info("folder %s: %s validity changed, matching by content",
                mp_show_name(p->src_name).s,
                p->reset == MP_STATE_SRC_RESET ? "source" : "destination");
}

/* What selects messages besides the folder: a recorded "nothing changed"
 * holds only for the same selection. */
static void selection_signature(const mp_options *o, char *out, size_t size)
{
    snprintf(out, size, "since=%lld before=%lld max=%llu", (long long)o->since,
             (long long)o->before, (unsigned long long)o->max_size);
}

/* A dry run's line for one folder; PENDING is how many removals --delete
 * would make (told when this run does not ask for them). */
static void print_dry_run_line(folder_pass *p, uint64_t copy, uint64_t flags,
                               uint64_t removals, uint64_t present,
                               uint64_t pending)
{
    mp_sync_env *env = p->env;
    fprintf(env->out,
            "%s -> %s: %llu to copy, %llu flag updates, %llu to remove, %llu "
            "present\n",
            mp_show_name(p->src_name).s, mp_show_name(p->dst_name).s,
            (unsigned long long)copy, (unsigned long long)flags,
            (unsigned long long)removals, (unsigned long long)present);
    if (!env->opt->delete_missing && pending)
        fprintf(env->out,
                "  %llu destination message%s whose source is gone would be "
                "removed with --delete\n",
                (unsigned long long)pending, pending == 1 ? "" : "s");
}

/* Neither side changed since a pass that found the folder in sync, with
 * the same selection, and this run asks for nothing that pass left
 * undone (--delete with removals pending): nothing to do, without
 * scanning either side. */
static int unchanged_since_last_sync(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_state_markers m;
    char sig[128];
    selection_signature(env->opt, sig, sizeof sig);
    if (p->state_folder <= 0 || p->reset || !p->sinfo.change_marker ||
        !p->dinfo.change_marker ||
        mp_state_get_markers(env->state, p->state_folder, &m) != 0 ||
        m.src != p->sinfo.change_marker || m.dst != p->dinfo.change_marker ||
        strcmp(m.sig, sig) != 0 ||
        (env->opt->delete_missing && m.pending_removals))
        return 0;
    mp_debug("folder %s: unchanged on both sides since the last sync",
             mp_show_name(p->src_name).s);
    mp_report_add(env->report, p->src_name, MP_COUNT_SKIPPED, m.present);
    if (env->opt->dry_run)
        print_dry_run_line(p, 0, 0, 0, m.present, m.pending_removals);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* 4. Scanning.                                                             */

static mp_status scan_both(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_status st = scan_store(env->src, p->sf, 0, &p->src);
    if (st != MP_OK) {
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p->src_name, env->src);
        return st;
    }
    if (p->can_scan_dst &&
        (st = scan_store(p->dst_store, p->df, 0, &p->dst)) != MP_OK) {
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p->src_name, p->dst_store);
        return st;
    }
    return MP_OK;
}

static void load_rows(folder_pass *p)
{
    mp_sync_env *env = p->env;
    if (p->state_folder <= 0)
        return;
    if (mp_state_load(env->state, p->state_folder, &p->rows, &p->n_rows) != 0) {
        mp_warn("sync state unusable for folder %s (%s); planning from "
                "content identity",
                mp_show_name(p->src_name).s, mp_state_error(env->state));
        p->state_folder = -1;
        return;
    }
    /* A read-only state (dry run) cannot apply a reset: apply it here as
     * mp_state_folder would have. */
    for (size_t i = 0; i < p->n_rows; i++) {
        if (p->reset == MP_STATE_DST_RESET)
            p->rows[i].orphan = 1, p->rows[i].dst_key[0] = '\0';
        else if (p->reset == MP_STATE_SRC_RESET)
            p->rows[i].orphan = 1;
    }
    for (size_t i = 0; i < p->n_rows; i++) {
        if (p->rows[i].orphan)
            continue;
        mp_msg_info info = {.struct_size = sizeof info,
                            .key = p->rows[i].src_key};
        mp_msglist_collect(&p->rows_index, &info);
    }
}

/* ------------------------------------------------------------------------ */
/* 5. Planning.                                                             */

/* Copy identities from a rescan into LIST, matching by key. */
static void take_identities(mp_msglist *list, mp_msglist *rescan)
{
    for (size_t i = 0; i < rescan->n; i++) {
        long k = mp_msglist_find(list, rescan->v[i].key);
        if (k >= 0 && !list->v[k].identity) {
            list->v[k].identity = rescan->v[i].identity;
            rescan->v[i].identity = NULL;
        }
    }
}

static mp_status scan_identities(mp_store *store, void *folder,
                                 mp_msglist *list)
{
    mp_msglist rescan = {0};
    mp_status st = scan_store(store, folder, MP_SCAN_IDENTITY, &rescan);
    if (st == MP_OK)
        take_identities(list, &rescan);
    mp_msglist_free(&rescan);
    return st;
}

/* The destination's content can be read through the store itself in a dry
 * run, else through a second handle opened as a source. */
static mp_status open_dst_reader(folder_pass *p, mp_store **store,
                                 void **folder)
{
    mp_sync_env *env = p->env;
    *folder = NULL;
    if (p->dst_store->role == MP_ROLE_SOURCE) {
        *store = p->dst_store;
        *folder = p->df;
        return MP_OK;
    }
    if (!env->dst_reader) {
        char err[2600];
        int code = 0;
        env->dst_reader = mp_store_open_dst_reader(env->reg, env->dst_url, err,
                                                   sizeof err, &code);
        if (!env->dst_reader) {
            char text[2800];
            snprintf(text, sizeof text,
                     "cannot read the destination to tell apart messages of "
                     "one identity: %s",
                     err);
            report_folder_text(env, p->src_name, text);
            return MP_FOLDER_BAD;
        }
    }
    *store = env->dst_reader;
    mp_folder_info info = {.struct_size = sizeof info};
    mp_host_clear_error(&(*store)->host);
    return (*store)->plugin->source->open_folder((*store)->handle, p->dst_name,
                                                 folder, &info);
}

typedef struct pass_hashes {
    mp_content_hashes *src, *dst;
    mp_plan_hashes plan[2]; /* source, destination */
} pass_hashes;

/* Content hashes of the messages whose identity is shared, so that pairing
 * by identity stays one-to-one with the right partner (two "quota 80%" /
 * "quota 90%" warnings with equal headers and dates are told apart). */
static mp_status hash_ambiguous(folder_pass *p, pass_hashes *h, int *have)
{
    mp_sync_env *env = p->env;
    char *want_src = calloc(p->src.n + 1, 1);
    char *want_dst = calloc(p->dst.n + 1, 1);
    mp_status st = MP_OK;
    *have = 0;
    if (!mp_plan_ambiguous(&p->plan, &p->src, &p->dst, env->size_comparable,
                           want_src, want_dst))
        goto out;
    h->src = calloc(p->src.n + 1, sizeof *h->src);
    h->dst = calloc(p->dst.n + 1, sizeof *h->dst);
    st = mp_hash_messages(env->src, p->sf, &p->src, want_src, h->src);
    if (st != MP_OK) {
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p->src_name, env->src);
        goto out;
    }
    /* Only the destination messages in question are read: none (shared
     * identities among new source messages only) needs no reader, so a
     * destination that can list but not read (an encrypted archive series
     * without its key) is opened only when one of its bodies decides. */
    size_t n_want_dst = 0;
    for (size_t d = 0; d < p->dst.n; d++)
        n_want_dst += want_dst[d] != 0;
    mp_store *reader;
    void *rf = NULL;
    if (n_want_dst)
        st = open_dst_reader(p, &reader, &rf);
    if (n_want_dst && st == MP_OK) {
        st = mp_hash_messages(reader, rf, &p->dst, want_dst, h->dst);
        if (rf != p->df)
            reader->plugin->source->close_folder(rf);
    }
    if (st != MP_OK) {
        if (st != MP_TEMPORARY && env->dst_reader)
            mp_sync_report_folder_error(env, p->src_name, env->dst_reader);
        if (st == MP_TEMPORARY && env->dst_reader) {
            mp_store_close(env->dst_reader); /* reopened on the retry */
            env->dst_reader = NULL;
        }
        goto out;
    }
    mp_content_hashes *side[2] = {h->src, h->dst};
    size_t n[2] = {p->src.n, p->dst.n};
    char *want[2] = {want_src, want_dst};
    for (int s = 0; s < 2; s++)
        mp_plan_hashes_take(&h->plan[s], side[s], want[s], n[s]);
    *have = 1;
out:
    free(want_src);
    free(want_dst);
    return st;
}

static void free_hashes(pass_hashes *h)
{
    free(h->src);
    free(h->dst);
    for (int s = 0; s < 2; s++)
        mp_plan_hashes_free(&h->plan[s]);
}

static void filter_plan(folder_pass *p)
{
    for (size_t i = 0; i < p->src.n; i++)
        if (p->plan.entries[i].action != MP_PLAN_FILTERED &&
            (!mp_options_message_selected(p->env->opt, p->src.v[i].date,
                                          p->src.v[i].size) ||
             mp_options_left_out(p->env->opt, p->src_name, p->src.v[i].key)))
            mp_plan_filter_out(&p->plan, i);
}

/* --repair: undecided source messages whose repair (repair.h) is an
 * unclaimed destination message were copied repaired by an earlier run
 * (seen so by a run without the state, or a Message-ID the repair added
 * hides its identity): paired with it, not copied again. Costs a read of
 * those source messages, and of the unclaimed destination messages whose
 * identity is that of a repair; only with --repair and only when both
 * undecided and unclaimed messages exist. */
static mp_status pair_repaired(folder_pass *p)
{
    mp_sync_env *env = p->env;
    size_t ns = p->src.n, nd = p->dst.n;
    char *want = calloc(ns + 1, 1), *want_dst = calloc(nd + 1, 1);
    mp_content_hashes *rh = calloc(ns + 1, sizeof *rh);
    mp_content_hashes *dh = calloc(nd + 1, sizeof *dh);
    char **changes = calloc(ns + 1, sizeof *changes);
    char **identity = calloc(ns + 1, sizeof *identity);
    int any = 0, unclaimed = 0;
    mp_status st = MP_OK;
    for (size_t d = 0; d < nd; d++)
        unclaimed |= !p->plan.dst_claimed[d];
    for (size_t i = 0; unclaimed && i < ns; i++)
        any |= want[i] = p->plan.entries[i].action == MP_PLAN_UNDECIDED;
    if (!any)
        goto out;
    st =
        mp_repair_hashes(env->src, p->sf, &p->src, want, rh, changes, identity);
    if (st != MP_OK) {
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p->src_name, env->src);
        goto out;
    }
    if (!mp_repair_dst_wanted(&p->dst, p->plan.dst_claimed, identity, ns,
                              want_dst))
        goto out;
    mp_store *reader;
    void *rf;
    st = open_dst_reader(p, &reader, &rf);
    if (st == MP_OK) {
        st = mp_hash_messages(reader, rf, &p->dst, want_dst, dh);
        if (rf != p->df)
            reader->plugin->source->close_folder(rf);
    }
    if (st != MP_OK) {
        if (st != MP_TEMPORARY && env->dst_reader)
            mp_sync_report_folder_error(env, p->src_name, env->dst_reader);
        goto out;
    }
    for (size_t i = 0; i < ns; i++) {
        long d = mp_repair_match(&rh[i], identity[i], &p->dst,
                                 p->plan.dst_claimed, dh);
        if (d >= 0) {
            mp_debug("folder %s: message %s is in the destination repaired",
                     mp_show_name(p->src_name).s, p->src.v[i].key);
            mp_plan_pair_repaired(&p->plan, &p->src, &p->dst, i, (size_t)d);
        }
    }
out:
    for (size_t i = 0; i < ns; i++) {
        free(changes[i]);
        free(identity[i]);
    }
    free(changes);
    free(identity);
    free(want);
    free(want_dst);
    free(rh);
    free(dh);
    return st;
}

static mp_status make_plan(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_plan_init(&p->plan, &p->src, p->can_scan_dst ? &p->dst : NULL);
    if (!p->can_scan_dst) {
        filter_plan(p);
        mp_plan_finish(&p->plan);
        return MP_OK;
    }
    mp_plan_by_state(&p->plan, &p->src, &p->dst, p->rows, p->n_rows,
                     &p->rows_index);
    /* Filtered messages take part in content pairing only when the state
     * lost its source keys: then pairing is what keeps their destination
     * copies from counting as removed. */
    if (p->reset != MP_STATE_SRC_RESET)
        filter_plan(p);
    if (mp_plan_needs_identity(&p->plan)) {
        mp_status st = scan_identities(env->src, p->sf, &p->src);
        if (st != MP_OK) {
            if (st != MP_TEMPORARY)
                mp_sync_report_folder_error(env, p->src_name, env->src);
            return st;
        }
        st = scan_identities(p->dst_store, p->df, &p->dst);
        if (st != MP_OK) {
            if (st != MP_TEMPORARY)
                mp_sync_report_folder_error(env, p->src_name, p->dst_store);
            return st;
        }
        pass_hashes h = {0};
        int have = 0;
        st = hash_ambiguous(p, &h, &have);
        if (st != MP_OK) {
            free_hashes(&h);
            return st;
        }
        mp_plan_by_identity(&p->plan, &p->src, &p->dst, env->size_comparable,
                            have ? &h.plan[0] : NULL, have ? &h.plan[1] : NULL);
        free_hashes(&h);
        if (env->opt->repair && (st = pair_repaired(p)) != MP_OK)
            return st;
    }
    filter_plan(p);
    mp_plan_finish(&p->plan);
    mp_plan_removals(&p->plan, &p->src, &p->dst, p->rows, p->n_rows);
    return MP_OK;
}

/* How long a retry waits for messages whose APPEND was under way when the
 * destination's connection dropped, and how often it looks. A server
 * stores such a message once the rest of its literal (still in flight on
 * a slow link) arrives; sending it again before would store it twice.
 * $MAILPORT_INFLIGHT_WAIT (whole seconds, 0 to 3600) sets another bound:
 * longer for a server known to store slowly, shorter where a possible
 * duplicate costs less than the wait (the tests, whose server on loopback
 * has stored what it will store by the time the retry logs in). */
#define UNCERTAIN_WAIT_SECONDS 30
#define UNCERTAIN_WAIT_MAX_SECONDS 3600
#define UNCERTAIN_POLL_SECONDS 3

/* The bound in seconds: $MAILPORT_INFLIGHT_WAIT, or the default (with a
 * warning when the variable holds anything but 0 to 3600). */
static int uncertain_wait_seconds(void)
{
    const char *v = getenv("MAILPORT_INFLIGHT_WAIT");
    if (!v || !*v)
        return UNCERTAIN_WAIT_SECONDS;
    char *end;
    long s = strtol(v, &end, 10);
    if (*end || end == v || s < 0 || s > UNCERTAIN_WAIT_MAX_SECONDS) {
        mp_warn("MAILPORT_INFLIGHT_WAIT=%s is not a number of seconds from "
                "0 to %d; waiting up to %d s",
                mp_show_name(v).s, UNCERTAIN_WAIT_MAX_SECONDS,
                UNCERTAIN_WAIT_SECONDS);
        return UNCERTAIN_WAIT_SECONDS;
    }
    return (int)s;
}

static size_t uncertain_planned(folder_pass *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->plan.n; i++)
        n += p->plan.entries[i].action == MP_PLAN_COPY &&
             mp_msglist_find(&p->env->uncertain_keys, p->src.v[i].key) >= 0;
    return n;
}

/* Before sending again a message whose APPEND was under way when the
 * connection dropped, look for it in the destination until it shows or
 * UNCERTAIN_WAIT_SECONDS passed (then it is sent again, with a warning). */
static mp_status await_uncertain_appends(folder_pass *p)
{
    mp_sync_env *env = p->env;
    if (!env->uncertain_keys.n || !p->can_scan_dst)
        return MP_OK;
    int bound = uncertain_wait_seconds();
    int poll = bound < UNCERTAIN_POLL_SECONDS ? bound : UNCERTAIN_POLL_SECONDS;
    for (int waited = 0;; waited += poll) {
        size_t n = uncertain_planned(p);
        if (!n)
            break;
        if (waited >= bound) {
            mp_warn("folder %s: %zu message%s sent when the connection "
                    "dropped did not show in the destination within %d s; "
                    "sending again (verify reports a duplicate if the server "
                    "stored the first copy after all)",
                    mp_show_name(p->src_name).s, n, n == 1 ? "" : "s", bound);
            break;
        }
        if (!waited)
            mp_info("folder %s: looking for %zu message%s the server may "
                    "still be storing (up to %d s)",
                    mp_show_name(p->src_name).s, n, n == 1 ? "" : "s", bound);
        sleep((unsigned)poll);
        mp_plan_free(&p->plan);
        mp_msglist_free(&p->dst);
        mp_status st = scan_store(p->dst_store, p->df, 0, &p->dst);
        if (st == MP_OK)
            st = make_plan(p);
        if (st != MP_OK) {
            if (st != MP_TEMPORARY)
                mp_sync_report_folder_error(env, p->src_name, p->dst_store);
            return st;
        }
    }
    /* Those found were copied by this run (its attempt before the drop). */
    for (size_t i = 0; i < p->plan.n; i++) {
        const mp_msg *m = &p->src.v[i];
        if (p->plan.entries[i].action == MP_PLAN_COPY ||
            p->plan.entries[i].action == MP_PLAN_FILTERED ||
            mp_msglist_find(&env->uncertain_keys, m->key) < 0 ||
            mp_msglist_find(&env->copied_keys, m->key) >= 0)
            continue;
        mp_report_add(env->report, p->src_name, MP_COUNT_COPIED, 1);
        mp_report_add(env->report, p->src_name, MP_COUNT_BYTES, m->size);
        mp_msg_info info = {.struct_size = sizeof info, .key = m->key};
        mp_msglist_collect(&env->copied_keys, &info);
    }
    mp_msglist_free(&env->uncertain_keys);
    return MP_OK;
}

/* ------------------------------------------------------------------------ */
/* 6. Applying the plan (or, for a dry run, reporting it).                  */

/* Messages found present this pass, less those an earlier attempt of this
 * run copied (already counted as copied). */
static uint64_t present_not_copied_here(folder_pass *p)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->plan.n; i++) {
        mp_plan_action a = p->plan.entries[i].action;
        if ((a == MP_PLAN_SKIP) &&
            mp_msglist_find(&p->env->copied_keys, p->src.v[i].key) < 0)
            n++;
    }
    return n;
}

static void report_dry_run(folder_pass *p)
{
    mp_sync_env *env = p->env;
    const mp_plan *plan = &p->plan;
    size_t removals = env->opt->delete_missing ? plan->n_removals : 0;
    print_dry_run_line(p, plan->n_copy, plan->n_flags, removals, plan->n_skip,
                       plan->n_removals);
    mp_report_add(env->report, p->src_name, MP_COUNT_COPIED, plan->n_copy);
    mp_report_add(env->report, p->src_name, MP_COUNT_SKIPPED, plan->n_skip);
    mp_report_add(env->report, p->src_name, MP_COUNT_FLAGS_UPDATED,
                  plan->n_flags);
    mp_report_add(env->report, p->src_name, MP_COUNT_FILTERED,
                  plan->n_filtered);
    mp_report_add(env->report, p->src_name, MP_COUNT_REMOVED, removals);
    uint64_t bytes = 0;
    for (size_t i = 0; i < plan->n; i++)
        if (plan->entries[i].action == MP_PLAN_COPY)
            bytes += p->src.v[i].size;
    mp_report_add(env->report, p->src_name, MP_COUNT_BYTES, bytes);
    if (env->opt->verbosity < 2)
        return;
    for (size_t i = 0; i < plan->n; i++) {
        const mp_plan_entry *e = &plan->entries[i];
        if (e->action == MP_PLAN_COPY || e->action == MP_PLAN_FLAGS)
            fprintf(env->out, "  %s %s\n",
                    e->action == MP_PLAN_COPY ? "copy  " : "flags ",
                    mp_show_name(p->src.v[i].key).s);
    }
    for (size_t k = 0; k < removals; k++)
        fprintf(env->out, "  remove %s\n",
                mp_show_name(p->rows[plan->removals[k]].dst_key).s);
}

static void record_pairs(folder_pass *p, const mp_state_row *rows, size_t n)
{
    mp_sync_env *env = p->env;
    if (!env->state || p->state_folder <= 0 || !n)
        return;
    int bad = mp_state_begin(env->state);
    for (size_t i = 0; i < n && !bad; i++) {
        bad = mp_state_put(env->state, p->state_folder, &rows[i]);
        /* A pair found by content replaces the orphan row of its
         * destination message, if there was one. */
        char orphan[600];
        snprintf(orphan, sizeof orphan, "~orphan~%s", rows[i].dst_key);
        if (!bad)
            bad = mp_state_delete(env->state, p->state_folder, orphan);
    }
    if (bad || mp_state_commit(env->state))
        mp_warn("cannot record sync state for folder %s: %s",
                mp_show_name(p->src_name).s, mp_state_error(env->state));
}

/* Push changed flags, and record the pairs the state lacked. */
static mp_status apply_flags(folder_pass *p)
{
    mp_sync_env *env = p->env;
    const mp_sink_ops *sk = env->dst->plugin->sink;
    mp_state_row *pairs = calloc(p->plan.n + 1, sizeof *pairs);
    size_t n_pairs = 0;
    mp_status result = MP_OK;
    for (size_t i = 0; i < p->plan.n; i++) {
        mp_plan_entry *e = &p->plan.entries[i];
        const mp_msg *s = &p->src.v[i];
        int present = e->action == MP_PLAN_SKIP || e->action == MP_PLAN_FLAGS;
        if (!present || (e->action == MP_PLAN_SKIP && !e->record))
            continue;
        if (e->action == MP_PLAN_FLAGS) {
            if (!sk->set_flags) {
                mp_warn("folder %s: the %s plugin cannot change flags; %s "
                        "keeps its old flags",
                        mp_show_name(p->src_name).s, env->dst->plugin->name,
                        s->key);
                mp_report_add(env->report, p->src_name, MP_COUNT_SKIPPED, 1);
                continue;
            }
            mp_host_clear_error(&env->dst->host);
            mp_status st = sk->set_flags(p->df, p->dst.v[e->dst].key, s->flags,
                                         s->keywords);
            if (st == MP_TEMPORARY || st == MP_FATAL) {
                if (st == MP_FATAL)
                    mp_sync_report_folder_error(env, p->src_name, env->dst);
                result = st;
                break;
            }
            if (st != MP_OK) {
                mp_report_error(env->report, p->src_name, s->key,
                                mp_store_error(env->dst));
                mp_report_add(env->report, p->src_name, MP_COUNT_FAILED, 1);
                continue;
            }
            mp_report_add(env->report, p->src_name, MP_COUNT_FLAGS_UPDATED, 1);
        }
        pairs[n_pairs++] = (mp_state_row){.src_key = s->key,
                                          .dst_key = p->dst.v[e->dst].key,
                                          .flags = s->flags,
                                          .keywords = s->keywords};
    }
    record_pairs(p, pairs, n_pairs);
    free(pairs);
    return result;
}

/* --delete: remove destination messages whose source message is gone, and
 * their rows. */
static mp_status apply_removals(folder_pass *p)
{
    mp_sync_env *env = p->env;
    size_t n = p->plan.n_removals;
    if (!n || !env->opt->delete_missing)
        return MP_OK;
    if (!env->dst->plugin->sink->remove) {
        mp_warn("folder %s: the %s plugin cannot remove messages; %zu "
                "message%s whose source is gone stay",
                mp_show_name(p->src_name).s, env->dst->plugin->name, n,
                n == 1 ? "" : "s");
        return MP_OK;
    }
    const char **keys = malloc(n * sizeof *keys);
    for (size_t k = 0; k < n; k++)
        keys[k] = p->rows[p->plan.removals[k]].dst_key;
    mp_host_clear_error(&env->dst->host);
    mp_status st = env->dst->plugin->sink->remove(p->df, keys, n);
    free(keys);
    if (st != MP_OK) {
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p->src_name, env->dst);
        return st;
    }
    mp_report_add(env->report, p->src_name, MP_COUNT_REMOVED, n);
    if (env->state && p->state_folder > 0) {
        mp_state_begin(env->state);
        for (size_t k = 0; k < n; k++)
            mp_state_delete(env->state, p->state_folder,
                            p->rows[p->plan.removals[k]].src_key);
        mp_state_commit(env->state);
    }
    return MP_OK;
}

static mp_status transfer(folder_pass *p)
{
    mp_sync_env *env = p->env;
    mp_report_mark before, after;
    mp_report_mark_folder(env->report, p->src_name, &before);
    mp_status st = mp_lanes_transfer(env, p->src_name, p->dst_name, p->sf,
                                     p->df, &p->src, &p->plan, p->state_folder);
    if (st == MP_OK || st == MP_TEMPORARY)
        return st;
    /* The folder stopped: the planned messages neither copied nor failed
     * by now are failed too, so that every message is counted once. */
    mp_report_mark_folder(env->report, p->src_name, &after);
    uint64_t done = (after.n[MP_COUNT_COPIED] - before.n[MP_COUNT_COPIED]) +
                    (after.n[MP_COUNT_FAILED] - before.n[MP_COUNT_FAILED]);
    if (done < p->plan.n_copy)
        mp_report_add(env->report, p->src_name, MP_COUNT_FAILED,
                      p->plan.n_copy - done);
    return st;
}

static void free_suspects(mp_sync_env *env)
{
    for (size_t i = 0; i < env->n_suspects; i++) {
        free(env->suspects[i].src_key);
        free(env->suspects[i].dst_key);
        free(env->suspects[i].label);
        free(env->suspects[i].found);
    }
    free(env->suspects);
    env->suspects = NULL;
    env->n_suspects = 0;
}

/* Messages just copied that hold bytes servers rewrite are read back from
 * the destination (only those: they are rare) and compared with the
 * source; a copy stored altered is a warning and goes into the report's
 * "altered_messages" list. It stays copied: verify reports it as different. */
static void check_altered(folder_pass *p)
{
    mp_sync_env *env = p->env;
    size_t n = env->n_suspects;
    if (!n || !p->can_scan_dst)
        return;
    mp_msglist src = {0}, dst = {0};
    for (size_t i = 0; i < n; i++) {
        mp_msg_info s = {.struct_size = sizeof s,
                         .key = env->suspects[i].src_key};
        mp_msg_info d = {.struct_size = sizeof d,
                         .key = env->suspects[i].dst_key};
        mp_msglist_collect(&src, &s);
        mp_msglist_collect(&dst, &d);
    }
    mp_content_hashes *sh = calloc(n, sizeof *sh), *dh = calloc(n, sizeof *dh);
    mp_store *reader;
    void *rf = NULL;
    if (mp_hash_messages(env->src, p->sf, &src, NULL, sh) == MP_OK &&
        open_dst_reader(p, &reader, &rf) == MP_OK) {
        mp_status st = mp_hash_messages(reader, rf, &dst, NULL, dh);
        if (rf != p->df)
            reader->plugin->source->close_folder(rf);
        for (size_t i = 0; st == MP_OK && i < n; i++) {
            if (!sh[i].strict[0] || !dh[i].strict[0] ||
                strcmp(sh[i].strict, dh[i].strict) == 0)
                continue;
            /* What differs, and what in the message servers alter. */
            char what[1400];
            snprintf(what, sizeof what, "%s%s%s",
                     mp_content_difference(&sh[i], &dh[i]),
                     env->suspects[i].found ? "; the message has " : "",
                     env->suspects[i].found ? env->suspects[i].found : "");
            mp_warn("folder %s: the destination stored message %s altered "
                    "(%s)",
                    mp_show_name(p->src_name).s, env->suspects[i].label, what);
            mp_report_altered(env->report, p->src_name, env->suspects[i].label,
                              what);
        }
    } else {
        mp_debug("folder %s: cannot read back the messages a server may "
                 "alter",
                 mp_show_name(p->src_name).s);
    }
    free(sh);
    free(dh);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
}

/* ------------------------------------------------------------------------ */
/* 7. Change markers.                                                       */

/* Markers are kept only when this pass found the folder in sync (then the
 * markers read when it was opened still describe both sides), with the
 * removals --delete would do as pending. */
static void record_markers(folder_pass *p, mp_status st, uint64_t failed_before)
{
    mp_sync_env *env = p->env;
    if (p->state_folder <= 0)
        return;
    int removed = env->opt->delete_missing && p->plan.n_removals;
    int in_sync =
        st == MP_OK && p->plan.n_copy == 0 && p->plan.n_flags == 0 &&
        !removed &&
        mp_report_total(env->report, MP_COUNT_FAILED) == failed_before;
    mp_state_markers m = {.src = p->sinfo.change_marker,
                          .dst = p->dinfo.change_marker,
                          .present = p->plan.n_skip,
                          .pending_removals = p->plan.n_removals};
    selection_signature(env->opt, m.sig, sizeof m.sig);
    mp_state_set_markers(env->state, p->state_folder,
                         in_sync && m.src && m.dst ? &m : NULL);
}

/* ------------------------------------------------------------------------ */

static void close_pass(folder_pass *p, mp_status *st)
{
    mp_sync_env *env = p->env;
    if (p->df) {
        if (p->dst_store->role == MP_ROLE_SINK) {
            mp_status cst = p->dst_store->plugin->sink->close_folder(p->df);
            if (cst != MP_OK && *st == MP_OK) {
                mp_sync_report_folder_error(env, p->src_name, p->dst_store);
                *st = cst;
            }
        } else {
            p->dst_store->plugin->source->close_folder(p->df);
        }
    }
    if (p->sf)
        env->src->plugin->source->close_folder(p->sf);
    mp_plan_free(&p->plan);
    mp_state_rows_free(p->rows, p->n_rows);
    mp_msglist_free(&p->rows_index);
    mp_msglist_free(&p->src);
    mp_msglist_free(&p->dst);
}

/* Whether the pass sees what the destination holds: only what its sink
 * can scan, also when a dry run reads it as a source (an archive that
 * overwrite=1 replaces holds nothing for the real run's plan). */
static int store_can_scan(const mp_store *store)
{
    return store && store->plugin->sink && store->plugin->sink->scan;
}

/* ------------------------------------------------------------------------ */
/* Folders gone from the source.                                            */

/* list_folders into a list whose keys are the folder names. */
static mp_status collect_name(void *ctx, const mp_folder_info *info)
{
    if (MP_HAS_SLOT(info, mp_folder_info, nonexistent) && info->nonexistent)
        return MP_OK; /* a subscription, not a folder */
    /* The store's own name rides as the identity (adopt.h). */
    mp_msg_info m = {.struct_size = sizeof m,
                     .key = info->name,
                     .identity = MP_HAS_SLOT(info, mp_folder_info, store_name)
                                     ? info->store_name
                                     : NULL};
    return mp_msglist_collect(ctx, &m);
}

static mp_status list_names(mp_store *store, int as_sink, mp_msglist *out)
{
    mp_host_clear_error(&store->host);
    return as_sink ? store->plugin->sink->list_folders(store->handle,
                                                       collect_name, out)
                   : store->plugin->source->list_folders(store->handle,
                                                         collect_name, out);
}

/* One recorded pair whose source folder is gone: the pass of an empty
 * source, planning removals only (the same mp_plan_removals as every
 * pass), applied or, for a dry run, printed and counted. */
static mp_status remove_gone_copies(mp_sync_env *env, const mp_state_pair *pair)
{
    folder_pass p = {
        .env = env, .src_name = pair->src_name, .dst_name = pair->dst_name};
    p.sinfo.struct_size = sizeof p.sinfo;
    p.dinfo.struct_size = sizeof p.dinfo;
    p.state_folder = pair->id;
    mp_status st = open_destination(&p);
    if (st != MP_OK || !p.df || !(p.can_scan_dst = store_can_scan(p.dst_store)))
        goto out; /* no destination folder (left): nothing to remove */
    if ((st = scan_store(p.dst_store, p.df, 0, &p.dst)) != MP_OK) {
        if (st != MP_TEMPORARY)
            mp_sync_report_folder_error(env, p.src_name, p.dst_store);
        goto out;
    }
    load_rows(&p);
    mp_plan_init(&p.plan, &p.src, &p.dst);
    mp_plan_removals(&p.plan, &p.src, &p.dst, p.rows, p.n_rows);
    if (env->opt->dry_run) {
        if (p.plan.n_removals && env->opt->delete_missing) {
            print_dry_run_line(&p, 0, 0, p.plan.n_removals, 0,
                               p.plan.n_removals);
            mp_report_add(env->report, p.src_name, MP_COUNT_REMOVED,
                          p.plan.n_removals);
        } else if (p.plan.n_removals) {
            /* What this run does not ask for, but --delete would do. */
            fprintf(env->out,
                    "%s -> %s: gone from the source: %zu destination "
                    "message%s copied from it would be removed with "
                    "--delete\n",
                    mp_show_name(p.src_name).s, mp_show_name(p.dst_name).s,
                    p.plan.n_removals, p.plan.n_removals == 1 ? "" : "s");
        }
        goto out;
    }
    if (p.plan.n_removals)
        mp_info("folder %s is gone from the source: removing the %zu "
                "message%s copied from it into %s",
                mp_show_name(p.src_name).s, p.plan.n_removals,
                p.plan.n_removals == 1 ? "" : "s", mp_show_name(p.dst_name).s);
    st = apply_removals(&p);
out:
    close_pass(&p, &st);
    return st;
}

mp_status mp_sync_gone_folders(mp_sync_env *env)
{
    /* A dry run without --delete still counts what --delete would do. */
    if (!env->state || !env->dst ||
        (!env->opt->delete_missing && !env->opt->dry_run))
        return MP_OK;
    mp_msglist src_names = {0}, dst_names = {0};
    mp_state_pair *pairs = NULL;
    size_t n = 0;
    mp_status worst = MP_OK;
    /* Nothing can be called gone without a full listing of the source; a
     * destination folder that is gone too is not made again. */
    if (list_names(env->src, 0, &src_names) != MP_OK ||
        list_names(env->dst, env->dst->role == MP_ROLE_SINK, &dst_names) !=
            MP_OK ||
        mp_state_pairs(env->state, &pairs, &n) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (mp_adopt_src_listed(&src_names, &pairs[i]) ||
            mp_msglist_find(&dst_names, pairs[i].dst_name) < 0 ||
            !mp_options_folder_selected(env->opt, pairs[i].src_name))
            continue; /* still there, or left out by this run's filters */
        if (mp_adopt_is_filled(pairs[i].dst_name, env->run_dst_names,
                               env->n_run_dst))
            continue; /* a folder of this run fills it: its pass adopts */
        mp_status one = remove_gone_copies(env, &pairs[i]);
        if (one != MP_OK && worst == MP_OK)
            worst = one;
    }
out:
    mp_state_pairs_free(pairs, n);
    mp_msglist_free(&src_names);
    mp_msglist_free(&dst_names);
    return worst;
}

mp_status mp_sync_folder(mp_sync_env *env, const char *src_name,
                         const char *dst_name)
{
    folder_pass p = {.env = env, .src_name = src_name, .dst_name = dst_name};
    p.sinfo.struct_size = sizeof p.sinfo;
    p.dinfo.struct_size = sizeof p.dinfo;
    p.state_folder = -1;
    const int dry = env->opt->dry_run;

    mp_report_add(env->report, src_name, MP_COUNT_COPIED, 0);
    mp_status st = open_folders(&p);
    if (st != MP_OK)
        goto out;
    p.can_scan_dst = store_can_scan(p.dst_store);
    bind_state(&p);
    mp_state_row *held = NULL;
    size_t n_held = 0;
    /* Adopted rows are work the markers know nothing of. */
    if (!adopt_gone_pairs(&p, &held, &n_held) &&
        unchanged_since_last_sync(&p))
        goto out;
    if ((st = scan_both(&p)) != MP_OK) {
        mp_state_rows_free(held, n_held);
        goto failed;
    }
    load_rows(&p);
    add_held_rows(&p, held, n_held);
    if ((st = make_plan(&p)) != MP_OK)
        goto failed;

    if (dry) {
        report_dry_run(&p);
        goto out;
    }
    if ((st = await_uncertain_appends(&p)) != MP_OK)
        goto out;
    uint64_t failed_before = mp_report_total(env->report, MP_COUNT_FAILED);
    mp_report_add(env->report, src_name, MP_COUNT_SKIPPED,
                  present_not_copied_here(&p));
    mp_report_add(env->report, src_name, MP_COUNT_FILTERED, p.plan.n_filtered);
    mp_report_add(env->report, src_name, MP_COUNT_PLANNED, p.plan.n_copy);
    if (p.can_scan_dst && (st = apply_flags(&p)) != MP_OK)
        goto out;
    st = transfer(&p);
    if (st == MP_OK)
        check_altered(&p);
    free_suspects(env);
    if (st == MP_OK)
        st = apply_removals(&p);
    record_markers(&p, st, failed_before);
    goto out;
failed:
    /* The pass ended before its plan (the error reported): the folder's
     * messages are failed, never left out of the counts. A transient
     * failure is retried instead. */
    if (st != MP_TEMPORARY)
        count_unreachable_folder(&p);
out:
    close_pass(&p, &st);
    return st;
}
