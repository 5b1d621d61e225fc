#include "sync.h"

#include "digest.h"
#include "eol.h"
#include "header.h"
#include "log.h"
#include "plan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Messages fetched per fetch() call, and so between two sink flushes and
 * state commits: large enough to amortise fsync and round trips, small
 * enough that a crash repeats little work. */
#define BATCH_MESSAGES 256
#define BATCH_BYTES (64u * 1024 * 1024)

/* Conversion is done in pieces so its buffer stays small whatever chunk
 * size a source plugin hands over (an mbox plugin may pass a whole
 * memory-mapped message in one call). */
#define CONVERT_PIECE 32768

void mp_sync_report_folder_error(mp_sync_env *env, const char *folder,
                                 mp_store *store)
{
    const char *text = mp_store_error(store);
    mp_error("folder %s: %s", folder, text);
    mp_report_error(env->report, folder, NULL, text);
}

/* ------------------------------------------------------------------------ */
/* Streaming one batch of messages from the source folder into the sink.     */

typedef struct copy_run {
    mp_sync_env *env;
    const char *folder; /* source folder name, for the report */
    const mp_sink_ops *sink;
    void *dst_folder;
    mp_eol_mode eol_mode;
    mp_msglist *src;
    const size_t *batch; /* source indices of this batch */

    /* The message being streamed. */
    const mp_msg *msg;
    mp_msg_info info;
    void *put;
    int begun, failed;
    mp_eol_conv eol;
    mp_digest digest;
    char *held; /* bytes held until the header is complete */
    size_t held_len, held_cap;
    char convert[2 * CONVERT_PIECE + 1];

    /* Results of the batch, recorded after the sink's flush. A row whose
     * key the sink tells only at flush (flush_keys) waits in PENDING. */
    mp_state_row *rows;
    size_t n_rows;
    enum { ROW_DONE, ROW_PENDING, ROW_FAILED } *row_state;
    size_t *pending;     /* row index of each pending message, by seq */
    char **pending_label; /* what the report calls it, by seq */
    size_t n_pending;
    uint64_t bytes;
    mp_status stop; /* a status that ended the whole batch */
} copy_run;

/* "Message-ID" if the header has one, else "key K": what the report names. */
static void message_label(copy_run *r, char *out, size_t size)
{
    char id[128];
    if (r->digest.header_len) {
        mp_identity_of_header(r->digest.header, r->digest.header_len, id,
                              sizeof id);
        if (strncmp(id, "M:", 2) == 0) {
            snprintf(out, size, "<%s>", id + 2);
            return;
        }
    }
    snprintf(out, size, "key %s", r->msg->key);
}

static void fail_message(copy_run *r, mp_store *store, const char *what)
{
    char label[200];
    message_label(r, label, sizeof label);
    const char *text = mp_store_error(store);
    mp_warn("%s %s in folder %s: %s", what, label, r->folder, text);
    mp_report_error(r->env->report, r->folder, label, text);
    mp_report_add(r->env->report, r->folder, MP_COUNT_FAILED, 1);
    r->failed = 1;
}

/* A sink status after a failed slot: one message or the whole batch. */
static mp_status sink_failed(copy_run *r, mp_status st)
{
    if (r->begun && r->put)
        r->sink->put_abort(r->put);
    r->put = NULL;
    r->begun = 0;
    if (st == MP_MSG_BAD) {
        fail_message(r, r->env->dst, "cannot store message");
        return MP_OK;
    }
    r->failed = 1;
    r->stop = st;
    return st;
}

static mp_status write_converted(copy_run *r, const char *buf, size_t len)
{
    if (r->eol_mode == MP_EOLCONV_NONE) {
        mp_status st = r->sink->put_write(r->put, buf, len);
        return st == MP_OK ? MP_OK : sink_failed(r, st);
    }
    while (len > 0) {
        size_t piece = len < CONVERT_PIECE ? len : CONVERT_PIECE;
        size_t w = mp_eol_convert(&r->eol, buf, piece, r->convert);
        mp_status st = r->sink->put_write(r->put, r->convert, w);
        if (st != MP_OK)
            return sink_failed(r, st);
        buf += piece;
        len -= piece;
    }
    return MP_OK;
}

static mp_status start_put(copy_run *r)
{
    if (r->info.internal_date == MP_DATE_UNKNOWN) {
        int64_t t = mp_header_date(r->digest.header, r->digest.header_len);
        r->info.internal_date = t != INT64_MIN ? t : (int64_t)time(NULL);
    }
    mp_host_clear_error(&r->env->dst->host);
    mp_status st = r->sink->put_begin(r->dst_folder, &r->info, &r->put);
    if (st != MP_OK) {
        r->put = NULL;
        return sink_failed(r, st);
    }
    r->begun = 1;
    st = MP_OK;
    if (r->held_len)
        st = write_converted(r, r->held, r->held_len);
    r->held_len = 0;
    return st;
}

static mp_status on_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    copy_run *r = ctx;
    r->msg = &r->src->v[r->batch[index]];
    /* Flags and keywords are the ones planning saw; size and date may be
     * fresher from the fetch itself. */
    r->info = (mp_msg_info){
        .struct_size = sizeof(mp_msg_info),
        .key = r->msg->key,
        .size = info && info->size ? info->size : r->msg->size,
        .vsize = info && info->vsize ? info->vsize : r->msg->vsize,
        .flags = r->msg->flags,
        .keywords = r->msg->keywords,
        .internal_date = r->msg->date,
    };
    if (r->info.internal_date == MP_DATE_UNKNOWN && info)
        r->info.internal_date = info->internal_date;
    r->put = NULL;
    r->begun = r->failed = 0;
    r->held_len = 0;
    mp_eol_init(&r->eol, r->eol_mode);
    mp_digest_init(&r->digest);
    mp_host_clear_error(&r->env->src->host);
    if (r->info.internal_date != MP_DATE_UNKNOWN)
        return start_put(r);
    return MP_OK;
}

static mp_status on_data(void *ctx, const void *buf, size_t len)
{
    copy_run *r = ctx;
    mp_digest_update(&r->digest, buf, len);
    if (r->failed)
        return MP_OK; /* drain the rest of a message we gave up on */
    if (r->begun)
        return write_converted(r, buf, len);
    /* No date yet: hold the bytes until the Date: header can be read. */
    if (r->held_len + len > r->held_cap) {
        size_t cap = r->held_cap ? r->held_cap : 65536;
        while (cap < r->held_len + len)
            cap *= 2;
        char *grown = realloc(r->held, cap);
        if (!grown)
            return MP_FATAL;
        r->held = grown;
        r->held_cap = cap;
    }
    memcpy(r->held + r->held_len, buf, len);
    r->held_len += len;
    return r->digest.header_done ? start_put(r) : MP_OK;
}

static mp_status on_end(void *ctx, mp_status status)
{
    copy_run *r = ctx;
    mp_status result = MP_OK;
    if (status != MP_OK) {
        if (r->begun)
            r->sink->put_abort(r->put);
        r->begun = 0;
        if (!r->failed)
            fail_message(r, r->env->src, "cannot read message");
        if (status != MP_MSG_BAD) {
            r->stop = status;
            result = status;
        }
        goto done;
    }
    if (r->failed)
        goto done;
    if (!r->begun && start_put(r) != MP_OK) {
        result = r->stop;
        goto done;
    }
    char tail[2];
    size_t w = mp_eol_finish(&r->eol, tail);
    if (w && r->sink->put_write(r->put, tail, w) != MP_OK) {
        result = sink_failed(r, MP_MSG_BAD);
        goto done;
    }
    char key[512] = "";
    mp_host_clear_error(&r->env->dst->host);
    mp_status st = r->sink->put_commit(r->put, key, sizeof key);
    r->put = NULL;
    r->begun = 0;
    if (st != MP_OK) {
        result = sink_failed(r, st);
        goto done;
    }
    size_t index = r->n_rows++;
    mp_state_row *row = &r->rows[index];
    row->src_key = r->msg->key;
    row->dst_key = strdup(key);
    r->row_state[index] = ROW_DONE;
    if (!key[0] && MP_HAS_SLOT(r->sink, mp_sink_ops, flush_keys)) {
        char label[200];
        message_label(r, label, sizeof label);
        r->row_state[index] = ROW_PENDING;
        r->pending_label[r->n_pending] = strdup(label);
        r->pending[r->n_pending++] = index;
    }
    row->flags = r->msg->flags;
    row->keywords = r->msg->keywords;
    mp_digest_final(&r->digest, row->hash);
    r->bytes += r->digest.bytes;
done:
    mp_digest_free(&r->digest);
    return result;
}

/* flush_keys reports one queued message. */
static void on_key(void *ctx, size_t seq, mp_status status, const char *key)
{
    copy_run *r = ctx;
    if (seq >= r->n_pending || r->row_state[r->pending[seq]] != ROW_PENDING)
        return; /* a plugin bug: ignore rather than corrupt the batch */
    size_t index = r->pending[seq];
    if (status == MP_OK) {
        free(r->rows[index].dst_key);
        r->rows[index].dst_key = strdup(key ? key : "");
        r->row_state[index] = ROW_DONE;
        return;
    }
    r->row_state[index] = ROW_FAILED;
    const char *text = mp_store_error(r->env->dst);
    mp_warn("cannot store message %s in folder %s: %s", r->pending_label[seq],
            r->folder, text);
    mp_report_error(r->env->report, r->folder, r->pending_label[seq], text);
    mp_report_add(r->env->report, r->folder, MP_COUNT_FAILED, 1);
}

/* Record the batch's rows once the sink has made them durable. */
static mp_status finish_batch(copy_run *r, int64_t state_folder)
{
    mp_sync_env *env = r->env;
    mp_status st = MP_OK;
    if (r->n_rows) {
        mp_host_clear_error(&env->dst->host);
        if (MP_HAS_SLOT(r->sink, mp_sink_ops, flush_keys))
            st = r->sink->flush_keys(r->dst_folder, on_key, r);
        else if (r->sink->flush)
            st = r->sink->flush(r->dst_folder);
    }
    size_t stored = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        stored += r->row_state[i] == ROW_DONE;
    if (st != MP_OK) {
        /* Nothing of this batch can be counted as copied. */
        mp_sync_report_folder_error(env, r->folder, env->dst);
        mp_report_add(env->report, r->folder, MP_COUNT_FAILED, stored);
    } else {
        mp_report_add(env->report, r->folder, MP_COUNT_COPIED, stored);
        mp_report_add(env->report, r->folder, MP_COUNT_BYTES, r->bytes);
        if (env->state && state_folder >= 0 && stored) {
            int bad = mp_state_begin(env->state);
            for (size_t i = 0; i < r->n_rows && !bad; i++)
                if (r->row_state[i] == ROW_DONE)
                    bad = mp_state_put(env->state, state_folder, &r->rows[i]);
            if (bad || mp_state_commit(env->state))
                mp_warn("cannot record sync state for folder %s: %s",
                        r->folder, mp_state_error(env->state));
        }
    }
    for (size_t i = 0; i < r->n_rows; i++)
        free(r->rows[i].dst_key);
    for (size_t i = 0; i < r->n_pending; i++)
        free(r->pending_label[i]);
    r->n_rows = 0;
    r->n_pending = 0;
    r->bytes = 0;
    return st;
}

static mp_status copy_messages(mp_sync_env *env, const char *folder,
                               void *src_folder, void *dst_folder,
                               mp_msglist *src, const mp_plan *plan,
                               int64_t state_folder)
{
    const mp_source_ops *so = env->src->plugin->source;
    copy_run *r = calloc(1, sizeof *r);
    size_t *batch = malloc(BATCH_MESSAGES * sizeof *batch);
    const char **keys = malloc(BATCH_MESSAGES * sizeof *keys);
    r->env = env;
    r->folder = folder;
    r->sink = env->dst->plugin->sink;
    r->dst_folder = dst_folder;
    r->eol_mode = mp_eol_mode_for(so->eol, r->sink->eol);
    r->src = src;
    r->batch = batch;
    r->rows = calloc(BATCH_MESSAGES, sizeof *r->rows);
    r->row_state = calloc(BATCH_MESSAGES, sizeof *r->row_state);
    r->pending = calloc(BATCH_MESSAGES, sizeof *r->pending);
    r->pending_label = calloc(BATCH_MESSAGES, sizeof *r->pending_label);
    const mp_fetch_cb cb = {sizeof cb, on_begin, on_data, on_end};

    mp_status result = MP_OK;
    size_t i = 0;
    while (i < plan->n && result == MP_OK) {
        size_t n = 0;
        uint64_t bytes = 0;
        for (; i < plan->n && n < BATCH_MESSAGES && bytes < BATCH_BYTES; i++) {
            if (plan->entries[i].action != MP_PLAN_COPY)
                continue;
            batch[n] = i;
            keys[n++] = src->v[i].key;
            bytes += src->v[i].size;
        }
        if (n == 0)
            break;
        r->stop = MP_OK;
        mp_host_clear_error(&env->src->host);
        mp_status st = so->fetch(src_folder, keys, n, &cb, r);
        if (r->begun && r->put)
            r->sink->put_abort(r->put); /* fetch stopped inside a message */
        r->begun = 0;
        r->put = NULL;
        if (st != MP_OK && r->stop == MP_OK) {
            /* The source failed outside any one message. */
            r->stop = st;
            if (st != MP_TEMPORARY)
                mp_sync_report_folder_error(env, folder, env->src);
        }
        mp_status fst = finish_batch(r, state_folder);
        if (r->stop != MP_OK)
            result = r->stop;
        else if (fst != MP_OK)
            result = MP_FOLDER_BAD;
    }
    free(r->rows);
    free(r->row_state);
    free(r->pending);
    free(r->pending_label);
    free(r->held);
    free(r);
    free(batch);
    free(keys);
    return result;
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
static void apply_filters(mp_sync_env *env, const char *folder,
                          mp_msglist *src)
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
        if (e->action != MP_PLAN_FLAGS && !(e->action == MP_PLAN_SKIP && e->record))
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
                    e->action == MP_PLAN_COPY ? "copy " : "flags", src->v[i].key);
    }
}

/* What selects messages besides the folder: a recorded "nothing changed"
 * holds only for the same selection. */
static void selection_signature(const mp_options *o, char *out, size_t size)
{
    snprintf(out, size, "since=%lld before=%lld max=%llu",
             (long long)o->since, (long long)o->before,
             (unsigned long long)o->max_size);
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
    return store && (store->role == MP_ROLE_SOURCE || store->plugin->sink->scan);
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
                mp_warn("cannot record sync state for folder %s: %s",
                        src_name, mp_state_error(env->state));
        }
    }

    uint64_t failed_before = mp_report_total(env->report, MP_COUNT_FAILED);
    st = copy_messages(env, src_name, sf, df, &src, &plan, state_folder);
    if (st == MP_OK && n_gone)
        remove_deleted(env, src_name, df, gone, n_gone, rows, n_rows,
                       state_folder);
    if (state_folder >= 0) {
        /* Markers are kept only when this run found the folder in sync: then
         * the markers read when it was opened still describe both sides. */
        int in_sync = st == MP_OK && plan.n_copy == 0 && plan.n_flags == 0 &&
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
