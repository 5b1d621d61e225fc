#include "sync.h"

#include "log.h"
#include "plan.h"
#include "transfer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void mp_sync_report_folder_error(mp_sync_env *env, const char *folder,
                                 mp_store *store)
{
    const char *text = mp_store_error(store);
    mp_error("folder %s: %s", folder, text);
    mp_report_error(env->report, folder, NULL, text);
}

/* ------------------------------------------------------------------------ */
/* Scanning, planning, flag updates.                                         */

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

/* Drop messages the filters leave out; count them. */
static void apply_filters(mp_sync_env *env, const char *folder, mp_msglist *src)
{
    size_t kept = 0;
    for (size_t i = 0; i < src->n; i++) {
        mp_msg *m = &src->v[i];
        if (mp_options_message_selected(env->opt, m->date, m->size)) {
            src->v[kept++] = *m;
            continue;
        }
        mp_report_add(env->report, folder, MP_COUNT_FILTERED, 1);
        if (env->opt->max_size && m->size > env->opt->max_size)
            mp_info("folder %s: message %s is larger than --max-size (%llu "
                    "bytes), not copied",
                    folder, m->key, (unsigned long long)m->size);
        free(m->key);
        free(m->keywords);
        free(m->identity);
    }
    src->n = kept;
    free(src->slots);
    src->slots = NULL;
}

static mp_status update_flags(mp_sync_env *env, const char *folder,
                              void *dst_folder, mp_msglist *src,
                              mp_msglist *dst, mp_plan *plan,
                              mp_state_row **extra, size_t *n_extra)
{
    const mp_sink_ops *sk = env->dst->plugin->sink;
    for (size_t i = 0; i < plan->n; i++) {
        mp_plan_entry *e = &plan->entries[i];
        if (e->action != MP_PLAN_FLAGS &&
            !(e->action == MP_PLAN_SKIP && e->record))
            continue;
        const mp_msg *s = &src->v[i];
        if (e->action == MP_PLAN_FLAGS) {
            if (!sk->set_flags) {
                mp_warn("folder %s: the %s plugin cannot change flags; %s "
                        "keeps its old flags",
                        folder, env->dst->plugin->name, s->key);
                continue;
            }
            mp_host_clear_error(&env->dst->host);
            mp_status st = sk->set_flags(dst_folder, dst->v[e->dst].key,
                                         s->flags, s->keywords);
            if (st == MP_TEMPORARY || st == MP_FATAL)
                return st;
            if (st != MP_OK) {
                mp_report_error(env->report, folder, s->key,
                                mp_store_error(env->dst));
                mp_report_add(env->report, folder, MP_COUNT_FAILED, 1);
                continue;
            }
            mp_report_add(env->report, folder, MP_COUNT_FLAGS_UPDATED, 1);
        }
        mp_state_row *row = &(*extra)[(*n_extra)++];
        row->src_key = s->key;
        row->dst_key = dst->v[e->dst].key;
        row->flags = s->flags;
        row->keywords = s->keywords;
        row->hash[0] = '\0';
    }
    return MP_OK;
}

static void remove_deleted(mp_sync_env *env, const char *folder,
                           void *dst_folder, const char **gone, size_t n_gone,
                           const mp_state_row *rows, size_t n_rows,
                           int64_t state_folder)
{
    mp_host_clear_error(&env->dst->host);
    if (env->dst->plugin->sink->remove(dst_folder, gone, n_gone) != MP_OK) {
        mp_sync_report_folder_error(env, folder, env->dst);
        return;
    }
    mp_report_add(env->report, folder, MP_COUNT_REMOVED, n_gone);
    if (!env->state || state_folder < 0)
        return;
    mp_state_begin(env->state);
    for (size_t g = 0; g < n_gone; g++)
        for (size_t i = 0; i < n_rows; i++)
            if (gone[g] == rows[i].dst_key)
                mp_state_delete(env->state, state_folder, rows[i].src_key);
    mp_state_commit(env->state);
}

static void print_plan(mp_sync_env *env, const char *src_name,
                       const char *dst_name, const mp_msglist *src,
                       const mp_plan *plan)
{
    fprintf(env->out, "%s -> %s: %zu to copy, %zu flag updates, %zu present\n",
            src_name, dst_name, plan->n_copy, plan->n_flags, plan->n_skip);
    if (env->opt->verbosity < 2)
        return;
    for (size_t i = 0; i < plan->n; i++) {
        const mp_plan_entry *e = &plan->entries[i];
        if (e->action == MP_PLAN_COPY || e->action == MP_PLAN_FLAGS)
            fprintf(env->out, "  %s %s\n",
                    e->action == MP_PLAN_COPY ? "copy " : "flags",
                    src->v[i].key);
    }
}

/* What selects messages besides the folder: a recorded "nothing changed"
 * holds only for the same selection. */
static void selection_signature(const mp_options *o, char *out, size_t size)
{
    snprintf(out, size, "since=%lld before=%lld max=%llu", (long long)o->since,
             (long long)o->before, (unsigned long long)o->max_size);
}

/* Neither side changed since a sync that found the folder in sync, with the
 * same selection: nothing to do, without scanning either side. */
static int unchanged_since_last_sync(mp_sync_env *env, int64_t state_folder,
                                     const mp_folder_info *sinfo,
                                     const mp_folder_info *dinfo,
                                     const char *folder)
{
    mp_state_markers m;
    char sig[128];
    selection_signature(env->opt, sig, sizeof sig);
    if (!sinfo->change_marker || !dinfo->change_marker ||
        mp_state_get_markers(env->state, state_folder, &m) != 0 ||
        m.src != sinfo->change_marker || m.dst != dinfo->change_marker ||
        strcmp(m.sig, sig) != 0)
        return 0;
    mp_debug("folder %s: unchanged on both sides since the last sync", folder);
    mp_report_add(env->report, folder, MP_COUNT_SKIPPED, m.present);
    return 1;
}

/* Scan FOLDER of STORE (role source or sink) into LIST. */
static mp_status scan_store(mp_store *store, void *folder, unsigned flags,
                            mp_msglist *list)
{
    mp_host_clear_error(&store->host);
    if (store->role == MP_ROLE_SOURCE)
        return store->plugin->source->scan(folder, flags, mp_msglist_collect,
                                           list);
    return store->plugin->sink->scan(folder, flags, mp_msglist_collect, list);
}

static int store_can_scan(const mp_store *store)
{
    return store &&
           (store->role == MP_ROLE_SOURCE || store->plugin->sink->scan);
}

mp_status mp_sync_folder(mp_sync_env *env, const char *src_name,
                         const char *dst_name)
{
    const mp_source_ops *so = env->src->plugin->source;
    mp_store *dst_store = env->dst;
    void *sf = NULL, *df = NULL;
    mp_folder_info sinfo = {.struct_size = sizeof sinfo};
    mp_folder_info dinfo = {.struct_size = sizeof dinfo};
    mp_msglist src = {0}, dst = {0};
    mp_state_row *rows = NULL, *extra = NULL;
    size_t n_rows = 0, n_extra = 0;
    mp_msglist rows_index = {0};
    mp_plan plan = {0};
    int64_t state_folder = -1;
    const char **gone = NULL;
    size_t n_gone = 0;
    mp_status st;

    mp_report_add(env->report, src_name, MP_COUNT_COPIED, 0);
    mp_host_clear_error(&env->src->host);
    st = so->open_folder(env->src->handle, src_name, &sf, &sinfo);
    if (st != MP_OK) {
        sf = NULL;
        goto folder_failed_src;
    }
    if (dst_store) {
        mp_host_clear_error(&dst_store->host);
        if (dst_store->role == MP_ROLE_SINK)
            st = dst_store->plugin->sink->open_folder(dst_store->handle,
                                                      dst_name, &df, &dinfo);
        else
            st = dst_store->plugin->source->open_folder(dst_store->handle,
                                                        dst_name, &df, &dinfo);
        if (st != MP_OK) {
            df = NULL;
            if (dst_store->role == MP_ROLE_SINK)
                goto folder_failed_dst;
            dst_store = NULL; /* dry run: the folder does not exist yet */
        }
    }

    int can_scan_dst = store_can_scan(dst_store);
    if (env->state && can_scan_dst && !env->opt->dry_run) {
        int reset = 0;
        state_folder = mp_state_folder(env->state, src_name, sinfo.validity,
                                       dst_name, dinfo.validity, &reset);
        if (state_folder < 0)
            mp_warn("sync state unusable for folder %s (%s); planning from "
                    "content identity",
                    src_name, mp_state_error(env->state));
        else if (reset)
            mp_info("folder %s: validity changed, matching by content",
                    src_name);
        else if (unchanged_since_last_sync(env, state_folder, &sinfo, &dinfo,
                                           src_name))
            goto out;
    }

    st = scan_store(env->src, sf, 0, &src);
    if (st != MP_OK)
        goto folder_failed_src;
    if (can_scan_dst && (st = scan_store(dst_store, df, 0, &dst)) != MP_OK)
        goto folder_failed_dst;

    /* State rows for --delete need the unfiltered source; filters come
     * after that is known. */
    if (state_folder >= 0) {
        if (mp_state_load(env->state, state_folder, &rows, &n_rows) != 0) {
            mp_warn("sync state unusable for folder %s (%s); planning from "
                    "content identity",
                    src_name, mp_state_error(env->state));
            state_folder = -1;
        }
        for (size_t i = 0; i < n_rows; i++) {
            mp_msg_info info = {.struct_size = sizeof info,
                                .key = rows[i].src_key};
            mp_msglist_collect(&rows_index, &info);
        }
    }
    if (env->opt->delete_missing && !env->opt->dry_run && can_scan_dst &&
        env->dst->plugin->sink->remove) {
        /* Destination messages whose source message was deleted: the ones
         * the state pairs with a source key no longer in the folder. Found
         * before the filters, which must not count as deletions. */
        gone = malloc((n_rows ? n_rows : 1) * sizeof *gone);
        for (size_t i = 0; i < n_rows; i++)
            if (mp_msglist_find(&src, rows[i].src_key) < 0 &&
                mp_msglist_find(&dst, rows[i].dst_key) >= 0)
                gone[n_gone++] = rows[i].dst_key;
    }
    apply_filters(env, src_name, &src);

    mp_plan_init(&plan, &src, can_scan_dst ? &dst : NULL);
    if (can_scan_dst) {
        mp_plan_by_state(&plan, &src, &dst, rows, n_rows, &rows_index);
        if (mp_plan_needs_identity(&plan)) {
            mp_msglist rescan_src = {0}, rescan_dst = {0};
            st = scan_store(env->src, sf, MP_SCAN_IDENTITY, &rescan_src);
            if (st == MP_OK)
                take_identities(&src, &rescan_src);
            mp_msglist_free(&rescan_src);
            if (st != MP_OK)
                goto folder_failed_src;
            st = scan_store(dst_store, df, MP_SCAN_IDENTITY, &rescan_dst);
            if (st == MP_OK)
                take_identities(&dst, &rescan_dst);
            mp_msglist_free(&rescan_dst);
            if (st != MP_OK)
                goto folder_failed_dst;
            mp_plan_by_identity(&plan, &src, &dst, env->size_comparable);
        }
    }
    mp_plan_finish(&plan);

    if (env->opt->dry_run) {
        print_plan(env, src_name, dst_name, &src, &plan);
        st = MP_OK;
        goto out;
    }

    mp_report_add(env->report, src_name, MP_COUNT_SKIPPED, plan.n_skip);
    mp_report_add(env->report, src_name, MP_COUNT_PLANNED, plan.n_copy);
    extra = calloc(plan.n ? plan.n : 1, sizeof *extra);
    if (can_scan_dst) {
        st = update_flags(env, src_name, df, &src, &dst, &plan, &extra,
                          &n_extra);
        if (st != MP_OK)
            goto folder_failed_dst;
        if (env->state && state_folder >= 0 && n_extra) {
            int bad = mp_state_begin(env->state);
            for (size_t i = 0; i < n_extra && !bad; i++)
                bad = mp_state_put(env->state, state_folder, &extra[i]);
            if (bad || mp_state_commit(env->state))
                mp_warn("cannot record sync state for folder %s: %s", src_name,
                        mp_state_error(env->state));
        }
    }

    uint64_t failed_before = mp_report_total(env->report, MP_COUNT_FAILED);
    st = mp_transfer_messages(env, src_name, sf, df, &src, &plan, state_folder);
    if (st == MP_OK && n_gone)
        remove_deleted(env, src_name, df, gone, n_gone, rows, n_rows,
                       state_folder);
    if (state_folder >= 0) {
        /* Markers are kept only when this run found the folder in sync: then
         * the markers read when it was opened still describe both sides. */
        int in_sync =
            st == MP_OK && plan.n_copy == 0 && plan.n_flags == 0 &&
            n_gone == 0 &&
            mp_report_total(env->report, MP_COUNT_FAILED) == failed_before;
        mp_state_markers m = {.src = sinfo.change_marker,
                              .dst = dinfo.change_marker,
                              .present = plan.n_skip};
        selection_signature(env->opt, m.sig, sizeof m.sig);
        mp_state_set_markers(env->state, state_folder,
                             in_sync && m.src && m.dst ? &m : NULL);
    }
    goto out;

folder_failed_src:
    if (st != MP_TEMPORARY)
        mp_sync_report_folder_error(env, src_name, env->src);
    goto out;
folder_failed_dst:
    if (st != MP_TEMPORARY)
        mp_sync_report_folder_error(env, src_name, env->dst);
out:
    if (df) {
        if (dst_store->role == MP_ROLE_SINK) {
            mp_status cst = dst_store->plugin->sink->close_folder(df);
            if (cst != MP_OK && st == MP_OK) {
                mp_sync_report_folder_error(env, src_name, dst_store);
                st = cst;
            }
        } else {
            dst_store->plugin->source->close_folder(df);
        }
    }
    if (sf)
        so->close_folder(sf);
    free(extra);
    free(gone);
    mp_plan_free(&plan);
    mp_state_rows_free(rows, n_rows);
    mp_msglist_free(&rows_index);
    mp_msglist_free(&src);
    mp_msglist_free(&dst);
    return st;
}
