/* Streaming the messages a plan copies: fetched from the source in
 * batches, each message converted (line endings) and hashed on its way into
 * the sink's put_begin/put_write/put_commit, the batch made durable by the
 * sink's flush, and only then recorded in the sync state. A sink with
 * flush_start/flush_wait makes one batch durable while the next is
 * fetched. */
#include "transfer.h"

#include "digest.h"
#include "eol.h"
#include "header.h"
#include "interrupt.h"
#include "log.h"
#include "rate.h"
#include "repair.h"
#include "validate.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Messages fetched per fetch() call, and so between two sink flushes and
 * state commits: large enough to amortise fsync and round trips (each
 * batch costs a sync wait and a round trip over a slow link), small enough
 * that a crash repeats little work (it is found again by content). */
#define BATCH_MESSAGES 1024
#define BATCH_BYTES (64u * 1024 * 1024)

/* Conversion is done in pieces so its buffer stays small whatever chunk
 * size a source plugin hands over (an mbox plugin may pass a whole
 * memory-mapped message in one call). */
#define CONVERT_PIECE 32768

/* Messages (and their bytes) handed to a sink so far in this process,
 * durable or not yet: what the progress display moves with between two
 * batches, which are counted as copied only once the sink made them
 * durable. */
static _Atomic uint64_t streamed_messages, streamed_bytes;

void mp_transfer_streamed(uint64_t *messages, uint64_t *bytes)
{
    *messages = atomic_load(&streamed_messages);
    *bytes = atomic_load(&streamed_bytes);
}

/* ROW_AGAIN: refused for now by a server that asked to slow down (not
 * stored, not failed; the retry after the wait sends it again). */
typedef enum { ROW_DONE, ROW_PENDING, ROW_FAILED, ROW_AGAIN } row_status;

/* One batch's results, recorded after the sink made them durable. */
typedef struct row_set {
    mp_state_row *rows;
    row_status *state;
    uint64_t *size; /* bytes of each message as the source sent them */
    char **label;   /* of the suspects and the repaired, for the report */
    /* What a server may rewrite in it (validate.h), described; NULL when
     * nothing: the suspects, read back once their folder is done. */
    char **found;
    char **repaired; /* sent repaired (--repair): what was changed */
    size_t n;
} row_set;

typedef struct copy_run {
    mp_sync_env *env;
    const char *folder; /* source folder name, for the report */
    const mp_sink_ops *sink;
    void *dst_folder;
    mp_eol_mode eol_mode;
    const mp_msglist *src;
    const size_t *batch; /* source indices of this batch */

    /* The message being streamed. */
    const mp_msg *msg;
    mp_msg_info info;
    void *put;
    int begun, failed;
    mp_eol_conv eol;
    mp_digest digest;
    mp_validator val; /* what a destination may refuse or alter in it */
    char *held; /* bytes held until the header is complete */
    size_t held_len, held_cap;
    /* --repair: the whole message is held (up to MP_REPAIR_MAX) so that
     * it can be sent repaired; REPAIRED says what was changed in it. */
    int repair, holding_whole, too_big; /* too big to repair */
    int64_t repair_date; /* the internal date the repair uses */
    char *repaired;
    char convert[MP_EOL_OUT_MAX(CONVERT_PIECE)];

    /* Results of the batch being fetched (CUR). With a sink that overlaps
     * (flush_start), STARTED holds the batch before it while the sink makes
     * it durable, until flush_wait; NULL when none. Two sets, so both can
     * be held at once. A row whose key the sink tells only at flush
     * (flush_keys, never overlapped) waits in PENDING. */
    row_set sets[2];
    row_set *cur, *started;
    size_t *pending;      /* row index of each pending message, by seq */
    char **pending_label; /* what the report calls it, by seq */
    char **pending_found; /* its findings described (validate.h), or NULL */
    char **pending_repaired; /* what --repair changed in it, or NULL */
    char *pending_suggest;   /* a refusal suggests --repair */
    size_t n_pending;
    mp_status stop;   /* a status that ended the whole batch */
    int dst_reported; /* the destination's failure is in the report */
    mp_rate *rate;    /* the destination account's rate limits, or NULL */
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

/* The findings of the message being streamed whose bit is in MASK,
 * described (malloc'd), or NULL when there is none. */
static char *findings_text(const copy_run *r, unsigned mask)
{
    char text[1200];
    return mp_validate_describe(&r->val, mask, text, sizeof text) ? strdup(text)
                                                                  : NULL;
}

/* The destination's error TEXT for a message it refused, with what was
 * found in the message (FOUND, or NULL), into OUT: what the warning and
 * the report say. */
static void refusal_text(const char *text, const char *found,
                         const char *repaired, int suggest, char *out,
                         size_t size)
{
    if (!found) {
        snprintf(out, size, "%s", text);
        return;
    }
    int keep = (int)strlen(text); /* without a final full stop */
    while (keep > 0 && (text[keep - 1] == '.' || text[keep - 1] == ' '))
        keep--;
    char sent[1200];
    if (repaired)
        snprintf(sent, sizeof sent, ", and was sent repaired (%s)", repaired);
    else
        snprintf(sent, sizeof sent, ", which servers may refuse");
    snprintf(out, size,
             "%.*s; the message has %s%s: %scorrect the message at the source "
             "and run copy again, which sends only what is missing",
             keep, text, found, sent,
             !repaired && suggest
                 ? "run copy again with --repair to send it repaired, or "
                 : "");
}

/* Would --repair mend what was found in the message being streamed? Then
 * a refusal suggests it (unless it was given). */
static int suggest_repair(const copy_run *r)
{
    return !r->repair && (mp_validate_kinds(&r->val) & MP_FINDINGS_REPAIRED);
}

static void fail_message(copy_run *r, mp_store *store, const char *what)
{
    char label[200];
    message_label(r, label, sizeof label);
    char *found = store == r->env->dst ? findings_text(r, ~0u) : NULL;
    char text[4096];
    refusal_text(mp_store_error(store), found,
                 store == r->env->dst ? r->repaired : NULL, suggest_repair(r),
                 text, sizeof text);
    free(found);
    mp_warn("%s %s in folder %s: %s", what, label, r->folder, text);
    mp_report_error(r->env->report, r->folder, label, text);
    mp_report_add(r->env->report, r->folder, MP_COUNT_FAILED, 1);
    r->failed = 1;
}

static void mark_uncertain(mp_sync_env *env, const char *src_key)
{
    mp_msg_info info = {.struct_size = sizeof info, .key = src_key};
    mp_msglist_collect(&env->uncertain_keys, &info);
}

/* A sink status after a failed slot: one message or the whole batch. */
static mp_status sink_failed(copy_run *r, mp_status st)
{
    /* Its literal may be whole; not after a throttling reply, which the
     * sink gets before it sends the message. */
    if (st == MP_TEMPORARY && r->msg && !r->env->dst->host.throttled)
        mark_uncertain(r->env, r->msg->key);
    if (r->begun && r->put)
        r->sink->put_abort(r->put);
    r->put = NULL;
    r->begun = 0;
    if (st == MP_MSG_BAD) {
        fail_message(r, r->env->dst, "cannot store message");
        return MP_OK;
    }
    /* The store failed as a whole (a full disk, a lost folder): say why,
     * once for the folder (a failing flush after it is the same cause). */
    if (st != MP_TEMPORARY && !r->dst_reported) {
        mp_sync_report_folder_error(r->env, r->folder, r->env->dst);
        r->dst_reported = 1;
    }
    r->failed = 1;
    r->stop = st;
    return st;
}

static mp_status write_converted(copy_run *r, const char *buf, size_t len)
{
    /* Text already in the sink's form (LF mail into a LF store) is passed
     * on without a copy. */
    if (mp_eol_unchanged(&r->eol, buf, len)) {
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

/* --repair, at the end of a message held whole: a message with a finding
 * the repair mends (validate.h, repair.h) is replaced in HELD by its
 * repaired form, and R->repaired says what was changed. */
static mp_status repair_held(copy_run *r)
{
    r->holding_whole = 0;
    if (!(mp_validate_kinds(&r->val) & MP_FINDINGS_REPAIRED))
        return MP_OK;
    mp_repair rep;
    int done = mp_repair_message(r->held, r->held_len, r->repair_date, &rep);
    if (done < 0) {
        mp_warn("message %s in folder %s: cannot repair it (out of memory); "
                "sent as it is",
                r->msg->key, r->folder);
        return MP_OK;
    }
    if (done == 0)
        return MP_OK;
    r->repaired = strdup(rep.changes);
    free(r->held);
    r->held = rep.data; /* LF lines: the sink's conversion follows */
    r->held_len = r->held_cap = rep.len;
    if (!r->repaired)
        return MP_FATAL;
    return MP_OK;
}

static mp_status on_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    copy_run *r = ctx;
    if (mp_interrupted()) {
        /* Stop between messages: the batch so far is made durable and
         * recorded as usual; the caller sees a stop, not a failure. */
        r->msg = NULL;
        r->stop = MP_TEMPORARY;
        return MP_TEMPORARY;
    }
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
    free(r->repaired);
    r->repaired = NULL;
    r->holding_whole = r->repair;
    r->too_big = 0;
    r->repair_date = r->info.internal_date;
    mp_eol_init(&r->eol, r->eol_mode);
    mp_digest_init(&r->digest);
    mp_validate_init(&r->val);
    mp_host_clear_error(&r->env->src->host);
    if (r->info.internal_date != MP_DATE_UNKNOWN && !r->holding_whole)
        return start_put(r);
    return MP_OK;
}

static mp_status on_data(void *ctx, const void *buf, size_t len)
{
    copy_run *r = ctx;
    mp_digest_update(&r->digest, buf, len);
    mp_validate_update(&r->val, buf, len);
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
    if (r->holding_whole && r->held_len > MP_REPAIR_MAX) {
        /* Too big to repair: sent as it is (said if it has findings). */
        r->holding_whole = 0;
        r->too_big = 1;
    }
    return r->digest.header_done && !r->holding_whole ? start_put(r) : MP_OK;
}

static mp_status on_end(void *ctx, mp_status status)
{
    copy_run *r = ctx;
    mp_status result = MP_OK;
    if (status == MP_TEMPORARY) {
        /* The connection dropped: not this message's fault. The folder is
         * retried and copies it then. */
        if (r->begun)
            r->sink->put_abort(r->put);
        r->begun = 0;
        r->stop = status;
        result = status;
        goto done;
    }
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
    mp_validate_finish(&r->val);
    if (r->too_big && (mp_validate_kinds(&r->val) & MP_FINDINGS_REPAIRED)) {
        char label[200];
        message_label(r, label, sizeof label);
        mp_warn("message %s in folder %s is larger than %u MiB, too big to "
                "repair: sent as it is",
                label, r->folder, MP_REPAIR_MAX >> 20);
    }
    if (r->holding_whole && repair_held(r) != MP_OK) {
        result = MP_FATAL;
        goto done;
    }
    if (!r->begun && start_put(r) != MP_OK) {
        result = r->stop;
        goto done;
    }
    char tail[MP_EOL_FINISH_MAX];
    size_t w = mp_eol_finish(&r->eol, tail);
    if (w && r->sink->put_write(r->put, tail, w) != MP_OK) {
        result = sink_failed(r, MP_MSG_BAD);
        goto done;
    }
    /* The message's turn under the destination's rate limits: before its
     * commit, which is where a sink that spools (IMAP) sends it. */
    uint64_t waited = mp_rate_take(r->rate, r->digest.bytes);
    if (waited)
        mp_report_count(r->env->report, MP_COUNT_RATE_WAIT_MS, waited);
    char key[512] = "";
    mp_host_clear_error(&r->env->dst->host);
    mp_status st = r->sink->put_commit(r->put, key, sizeof key);
    r->put = NULL;
    r->begun = 0;
    if (st != MP_OK) {
        result = sink_failed(r, st);
        goto done;
    }
    row_set *b = r->cur;
    size_t index = b->n++;
    mp_state_row *row = &b->rows[index];
    row->src_key = r->msg->key;
    row->dst_key = strdup(key);
    b->state[index] = ROW_DONE;
    if (!key[0] && MP_HAS_SLOT(r->sink, mp_sink_ops, flush_keys)) {
        char label[200];
        message_label(r, label, sizeof label);
        b->state[index] = ROW_PENDING;
        r->pending_label[r->n_pending] = strdup(label);
        r->pending_found[r->n_pending] = findings_text(r, ~0u);
        r->pending_repaired[r->n_pending] =
            r->repaired ? strdup(r->repaired) : NULL;
        r->pending_suggest[r->n_pending] = (char)suggest_repair(r);
        r->pending[r->n_pending++] = index;
    }
    row->flags = r->msg->flags;
    row->keywords = r->msg->keywords;
    /* A repaired message is not the source's bytes: not read back. */
    b->found[index] =
        r->repaired ? NULL : findings_text(r, MP_FINDINGS_ALTERED);
    b->label[index] = NULL;
    b->repaired[index] = r->repaired;
    r->repaired = NULL;
    if (b->found[index] || b->repaired[index]) {
        char label[200];
        message_label(r, label, sizeof label);
        b->label[index] = strdup(label);
    }
    mp_digest_final(&r->digest, row->hash);
    b->size[index] = r->digest.bytes;
    atomic_fetch_add(&streamed_messages, 1);
    atomic_fetch_add(&streamed_bytes, r->digest.bytes);
done:
    mp_digest_free(&r->digest);
    return result;
}

/* flush_keys reports one queued message. */
static void on_key(void *ctx, size_t seq, mp_status status, const char *key)
{
    copy_run *r = ctx;
    row_set *b = r->cur;
    if (seq >= r->n_pending || b->state[r->pending[seq]] != ROW_PENDING)
        return; /* a plugin bug: ignore rather than corrupt the batch */
    size_t index = r->pending[seq];
    if (status == MP_OK) {
        free(b->rows[index].dst_key);
        b->rows[index].dst_key = strdup(key ? key : "");
        b->state[index] = ROW_DONE;
        return;
    }
    if (status == MP_TEMPORARY) {
        b->state[index] = ROW_AGAIN;
        return;
    }
    b->state[index] = ROW_FAILED;
    char text[4096];
    refusal_text(mp_store_error(r->env->dst), r->pending_found[seq],
                 r->pending_repaired[seq], r->pending_suggest[seq], text,
                 sizeof text);
    mp_warn("cannot store message %s in folder %s: %s", r->pending_label[seq],
            r->folder, text);
    mp_report_error(r->env->report, r->folder, r->pending_label[seq], text);
    mp_report_add(r->env->report, r->folder, MP_COUNT_FAILED, 1);
}

static void add_suspect(mp_sync_env *env, const mp_state_row *row,
                        const char *label, const char *found)
{
    mp_suspect *grown =
        realloc(env->suspects, (env->n_suspects + 1) * sizeof *grown);
    if (!grown)
        return; /* only a check is lost */
    env->suspects = grown;
    env->suspects[env->n_suspects++] = (mp_suspect){
        strdup(row->src_key), strdup(row->dst_key),
        strdup(label ? label : row->src_key), found ? strdup(found) : NULL};
}

/* After the sink failed as a whole (a full disk, say), which of B's
 * committed messages did it store anyway? A Maildir that fills up has
 * placed the messages before the one that did not fit in cur/; counting
 * them failed would make the counts lie (and the state forget them). The
 * sink is first given the chance to settle what it still has in flight
 * (its flush, whose failure is already known), then the folder is scanned:
 * committed messages whose keys are there stay ROW_DONE, the rest become
 * ROW_FAILED. Without a scan slot, or when the scan fails, none is kept.
 * Returns how many became ROW_FAILED. */
static size_t keep_visible(copy_run *r, row_set *b)
{
    if (r->sink->flush && !MP_HAS_SLOT(r->sink, mp_sink_ops, flush_keys))
        r->sink->flush(r->dst_folder);
    mp_msglist have = {0};
    int scanned =
        r->sink->scan &&
        r->sink->scan(r->dst_folder, 0, mp_msglist_collect, &have) == MP_OK;
    mp_host_clear_error(&r->env->dst->host);
    size_t lost = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->state[i] == ROW_DONE &&
            (!scanned || !b->rows[i].dst_key[0] ||
             mp_msglist_find(&have, b->rows[i].dst_key) < 0)) {
            b->state[i] = ROW_FAILED;
            lost++;
        }
    mp_msglist_free(&have);
    return lost;
}

/* Forget batch B's rows (recorded, or given up on). */
static void empty_rows(row_set *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->rows[i].dst_key);
        free(b->label[i]);
        free(b->found[i]);
        free(b->repaired[i]);
        b->label[i] = b->found[i] = b->repaired[i] = NULL;
    }
    b->n = 0;
}

/* Record batch B's rows, given ST: the status of the sink's flush
 * (flush_keys, flush or flush_wait) that covered them. They count as
 * copied, and go into the state, only when it made them durable, or (a
 * failure of the whole store) when the store shows them after all
 * (keep_visible). Empties B. */
static void record_rows(copy_run *r, row_set *b, mp_status st,
                        int64_t state_folder)
{
    mp_sync_env *env = r->env;
    /* A store that dropped its connection in flush_keys still told us the
     * key of each message it had stored: those are kept and recorded, the
     * rest is copied again when the folder is retried. */
    int keep = st == MP_OK || (st == MP_TEMPORARY &&
                               MP_HAS_SLOT(r->sink, mp_sink_ops, flush_keys));
    /* What the connection took with it unanswered may still be stored by
     * the server: the retry must look for it before sending it again. */
    for (size_t i = 0; st == MP_TEMPORARY && i < b->n; i++)
        if (!keep || (b->state[i] != ROW_DONE && b->state[i] != ROW_AGAIN))
            mark_uncertain(env, b->rows[i].src_key);
    if (!keep && st != MP_TEMPORARY) {
        if (!r->dst_reported)
            mp_sync_report_folder_error(env, r->folder, env->dst);
        r->dst_reported = 1;
        mp_report_add(env->report, r->folder, MP_COUNT_FAILED,
                      keep_visible(r, b));
        keep = 1; /* what it shows is recorded as copied */
    }
    size_t stored = 0;
    uint64_t bytes = 0; /* of the messages stored: not of refused ones */
    for (size_t i = 0; i < b->n; i++)
        if (b->state[i] == ROW_DONE) {
            stored++;
            bytes += b->size[i];
        }
    if (!keep) {
        /* A dropped connection: nothing of this batch can be counted as
         * copied; the retry logic reports it if it persists. */
    } else {
        mp_report_add(env->report, r->folder, MP_COUNT_COPIED, stored);
        mp_report_add(env->report, r->folder, MP_COUNT_BYTES, bytes);
        for (size_t i = 0; i < b->n; i++)
            if (b->state[i] == ROW_DONE) {
                mp_msg_info info = {.struct_size = sizeof info,
                                    .key = b->rows[i].src_key};
                mp_msglist_collect(&env->copied_keys, &info);
                if (b->found[i] && b->rows[i].dst_key[0])
                    add_suspect(env, &b->rows[i], b->label[i], b->found[i]);
                if (b->repaired[i])
                    mp_report_repaired(env->report, r->folder, b->label[i],
                                       b->repaired[i], b->rows[i].hash);
            }
        if (env->state && state_folder >= 0 && stored) {
            int bad = mp_state_begin(env->state);
            for (size_t i = 0; i < b->n && !bad; i++)
                if (b->state[i] == ROW_DONE)
                    bad = mp_state_put(env->state, state_folder, &b->rows[i]);
            if (bad || mp_state_commit(env->state))
                mp_warn("cannot record sync state for folder %s: %s", r->folder,
                        mp_state_error(env->state));
        }
    }
    empty_rows(b);
}

/* Make the batch just fetched durable and record it (sinks that do not
 * overlap). */
static mp_status finish_batch(copy_run *r, int64_t state_folder)
{
    mp_status st = MP_OK;
    if (r->cur->n) {
        mp_host_clear_error(&r->env->dst->host);
        if (MP_HAS_SLOT(r->sink, mp_sink_ops, flush_keys))
            st = r->sink->flush_keys(r->dst_folder, on_key, r);
        else if (r->sink->flush)
            st = r->sink->flush(r->dst_folder);
    }
    record_rows(r, r->cur, st, state_folder);
    for (size_t i = 0; i < r->n_pending; i++) {
        free(r->pending_label[i]);
        free(r->pending_found[i]);
        free(r->pending_repaired[i]);
        r->pending_found[i] = r->pending_repaired[i] = NULL;
    }
    r->n_pending = 0;
    return st;
}

/* Does the sink make a batch durable in the background while the next one
 * is fetched? Never with flush_keys: its keys are needed at once. */
static int sink_overlaps(const mp_sink_ops *sink)
{
    return !MP_HAS_SLOT(sink, mp_sink_ops, flush_keys) &&
           MP_HAS_SLOT(sink, mp_sink_ops, flush_start) &&
           MP_HAS_SLOT(sink, mp_sink_ops, flush_wait);
}

/* Wait for the started batch, if any, and record it: only its own
 * flush_wait can make it count as copied. */
static mp_status finish_started(copy_run *r, int64_t state_folder)
{
    row_set *b = r->started;
    if (!b)
        return MP_OK;
    r->started = NULL;
    mp_host_clear_error(&r->env->dst->host);
    mp_status st = r->sink->flush_wait(r->dst_folder);
    record_rows(r, b, st, state_folder);
    return st;
}

/* The batch just fetched, for a sink that overlaps: the batch before it is
 * waited for and recorded first (batches are recorded in order), then this
 * one is started and kept as STARTED while the next is fetched. */
static mp_status overlap_batch(copy_run *r, int64_t state_folder)
{
    row_set *b = r->cur;
    mp_status st = finish_started(r, state_folder);
    if (st != MP_OK) {
        /* The sink failed as a whole (reported with the batch before):
         * this batch was committed while that one was being made durable.
         * After a dropped connection none of it counts (the retry finds
         * what was stored); otherwise what the store shows is recorded as
         * copied and the rest counted failed, not reported twice. */
        if (st != MP_TEMPORARY) {
            mp_report_add(r->env->report, r->folder, MP_COUNT_FAILED,
                          keep_visible(r, b));
            record_rows(r, b, MP_OK, state_folder);
            return st;
        }
        empty_rows(b);
        return st;
    }
    if (!b->n)
        return MP_OK;
    mp_host_clear_error(&r->env->dst->host);
    st = r->sink->flush_start(r->dst_folder);
    if (st != MP_OK) {
        record_rows(r, b, st, state_folder);
        return st;
    }
    r->started = b;
    r->cur = b == &r->sets[0] ? &r->sets[1] : &r->sets[0];
    return MP_OK;
}

mp_status mp_transfer_range(mp_sync_env *env, const char *folder,
                            void *src_folder, void *dst_folder,
                            const mp_msglist *src, const mp_plan *plan,
                            size_t from, size_t to, int64_t state_folder)
{
    const mp_source_ops *so = env->src->plugin->source;
    copy_run *r = calloc(1, sizeof *r);
    size_t *batch = malloc(BATCH_MESSAGES * sizeof *batch);
    const char **keys = malloc(BATCH_MESSAGES * sizeof *keys);
    r->env = env;
    r->folder = folder;
    if (env->opt)
        r->rate = mp_rate_for(env->dst_url, env->opt->max_msgs_per_second,
                              env->opt->max_bytes_per_second);
    r->sink = env->dst->plugin->sink;
    r->dst_folder = dst_folder;
    r->eol_mode = mp_eol_mode_for(so->eol, r->sink->eol);
    r->src = src;
    r->batch = batch;
    for (int k = 0; k < 2; k++) {
        r->sets[k].rows = calloc(BATCH_MESSAGES, sizeof *r->sets[k].rows);
        r->sets[k].state = calloc(BATCH_MESSAGES, sizeof *r->sets[k].state);
        r->sets[k].size = calloc(BATCH_MESSAGES, sizeof *r->sets[k].size);
        r->sets[k].label = calloc(BATCH_MESSAGES, sizeof *r->sets[k].label);
        r->sets[k].found = calloc(BATCH_MESSAGES, sizeof *r->sets[k].found);
        r->sets[k].repaired =
            calloc(BATCH_MESSAGES, sizeof *r->sets[k].repaired);
    }
    r->cur = &r->sets[0];
    const int overlap = sink_overlaps(r->sink);
    r->pending = calloc(BATCH_MESSAGES, sizeof *r->pending);
    r->pending_label = calloc(BATCH_MESSAGES, sizeof *r->pending_label);
    r->pending_found = calloc(BATCH_MESSAGES, sizeof *r->pending_found);
    r->pending_repaired = calloc(BATCH_MESSAGES, sizeof *r->pending_repaired);
    r->pending_suggest = calloc(BATCH_MESSAGES, 1);
    r->repair = env->opt && env->opt->repair;
    const mp_fetch_cb cb = {sizeof cb, on_begin, on_data, on_end};

    mp_status result = MP_OK;
    size_t i = from, end = to < plan->n ? to : plan->n;
    while (i < end && result == MP_OK) {
        size_t n = 0;
        uint64_t bytes = 0;
        for (; i < end && n < BATCH_MESSAGES && bytes < BATCH_BYTES; i++) {
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
        mp_digest_free(&r->digest); /* idempotent: end may have freed it */
        if (st != MP_OK && r->stop == MP_OK) {
            /* The source failed outside any one message. */
            r->stop = st;
            if (st != MP_TEMPORARY)
                mp_sync_report_folder_error(env, folder, env->src);
        }
        mp_status fst = overlap ? overlap_batch(r, state_folder)
                                : finish_batch(r, state_folder);
        if (r->stop != MP_OK)
            result = r->stop;
        else if (fst != MP_OK)
            result = fst == MP_TEMPORARY ? MP_TEMPORARY : MP_FOLDER_BAD;
    }
    /* The last batch started (also when an error ended the loop) is waited
     * for and recorded before returning. */
    mp_status fst = finish_started(r, state_folder);
    if (result == MP_OK && fst != MP_OK)
        result = fst == MP_TEMPORARY ? MP_TEMPORARY : MP_FOLDER_BAD;
    for (int k = 0; k < 2; k++) {
        free(r->sets[k].rows);
        free(r->sets[k].state);
        free(r->sets[k].size);
        free(r->sets[k].label);
        free(r->sets[k].found);
        free(r->sets[k].repaired);
    }
    free(r->pending);
    free(r->pending_label);
    free(r->pending_found);
    free(r->pending_repaired);
    free(r->pending_suggest);
    free(r->repaired);
    free(r->held);
    free(r);
    free(batch);
    free(keys);
    return result;
}
