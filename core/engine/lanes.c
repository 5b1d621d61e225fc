/* Several connections per large folder: the lane servers and the split of
 * a folder's copies (see lanes.h). */
#include "lanes.h"

#include "escape.h"
#include "interrupt.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "transfer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One folder's copies being handed out (open while chunks are left), and
 * what the lanes that joined it did, gathered under the pool's lock. */
typedef struct folder_work {
    const char *src_name, *dst_name;
    const mp_msglist *src;
    const mp_plan *plan;
    int64_t state_folder;
    size_t next;      /* the next plan entry to hand out */
    int stop;         /* a lane stopped: hand out no more */
    size_t joined;    /* servers that joined */
    size_t left;      /* of them, still copying */
    int dropped;      /* a lane's connection dropped (MP_TEMPORARY) */
    int lane_stopped; /* a lane stopped otherwise (reported by it) */
    /* What the lanes' passes added to their envs (sync.h). */
    mp_msglist copied_keys, uncertain_keys;
    mp_suspect *suspects;
    size_t n_suspects;
    int throttled; /* a lane's server asked to slow down, with: */
    uint64_t throttle_ms;
    struct folder_work *next_open;
} folder_work;

struct mp_lanes {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a folder opened, or no worker takes folders */
    pthread_cond_t finished; /* a lane left its folder */
    size_t taking;           /* workers still taking folders */
    folder_work *open;       /* folders with chunks left */
};

mp_lanes *mp_lanes_new(size_t workers)
{
    mp_lanes *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->finished, NULL);
    l->taking = workers;
    return l;
}

void mp_lanes_free(mp_lanes *l)
{
    if (!l)
        return;
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->finished);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void mp_lanes_done_taking(mp_lanes *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    if (l->taking > 0)
        l->taking--;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->lock);
}

/* Under the lock: the next chunk of W, [*FROM, *TO) of its plan entries
 * holding up to MP_LANE_CHUNK copies; 0 when none is left. */
static int take_chunk(mp_lanes *l, folder_work *w, size_t *from, size_t *to)
{
    const mp_plan *plan = w->plan;
    while (w->next < plan->n && plan->entries[w->next].action != MP_PLAN_COPY)
        w->next++;
    if (w->stop || w->next >= plan->n) {
        /* Nothing left to hand out: no server joins it any more. */
        for (folder_work **p = &l->open; *p; p = &(*p)->next_open)
            if (*p == w) {
                *p = w->next_open;
                break;
            }
        return 0;
    }
    *from = w->next;
    size_t copies = 0;
    while (w->next < plan->n && copies < MP_LANE_CHUNK)
        if (plan->entries[w->next++].action == MP_PLAN_COPY)
            copies++;
    *to = w->next;
    return 1;
}

/* Copy chunks of W with ENV's stores and its folders SF and DF until none
 * is left or a chunk stops; returns the status that stopped it. */
static mp_status copy_chunks(mp_lanes *l, folder_work *w, mp_sync_env *env,
                             void *sf, void *df)
{
    mp_status st = MP_OK;
    for (;;) {
        size_t from, to;
        pthread_mutex_lock(&l->lock);
        int got = st == MP_OK && take_chunk(l, w, &from, &to);
        if (st != MP_OK)
            w->stop = 1;
        pthread_mutex_unlock(&l->lock);
        if (!got)
            return st; /* an interrupted run stops in the transfer */
        st = mp_transfer_range(env, w->src_name, sf, df, w->src, w->plan, from,
                               to, w->state_folder);
    }
}

/* Take TAKE's keys into INTO (both source keys of one folder). */
static void move_keys(mp_msglist *into, mp_msglist *take)
{
    for (size_t i = 0; i < take->n; i++) {
        mp_msg_info info = {.struct_size = sizeof info, .key = take->v[i].key};
        mp_msglist_collect(into, &info);
    }
    mp_msglist_free(take);
}

/* Append N suspects from FROM (taken over, then freed) to *TO (*N_TO). */
static void move_suspects(mp_suspect **to, size_t *n_to, mp_suspect *from,
                          size_t n)
{
    mp_suspect *grown = n ? realloc(*to, (*n_to + n) * sizeof *grown) : *to;
    if (grown) {
        if (n)
            memcpy(grown + *n_to, from, n * sizeof *grown);
        *to = grown;
        *n_to += n;
    } else {
        for (size_t i = 0; i < n; i++) {
            free(from[i].src_key);
            free(from[i].dst_key);
            free(from[i].label);
            free(from[i].found);
        }
    }
    free(from);
}

/* A server's part in W, on the stores of ENV. Returns whether the stores
 * are still usable. */
static int serve_folder(mp_lanes *l, folder_work *w, mp_sync_env *env)
{
    mp_sync_env lane = *env;
    lane.copied_keys = (mp_msglist){0};
    lane.uncertain_keys = (mp_msglist){0};
    lane.suspects = NULL;
    lane.n_suspects = 0;
    lane.lanes = NULL;
    const mp_source_ops *so = env->src->plugin->source;
    const mp_sink_ops *sk = env->dst->plugin->sink;
    void *sf = NULL, *df = NULL;
    mp_folder_info si = {.struct_size = sizeof si};
    mp_folder_info di = {.struct_size = sizeof di};
    mp_report_set_current(env->report, w->src_name);
    mp_host_clear_error(&env->src->host);
    mp_status st = so->open_folder(env->src->handle, w->src_name, &sf, &si);
    if (st == MP_OK) {
        mp_host_clear_error(&env->dst->host);
        st = sk->open_folder(env->dst->handle, w->dst_name, &df, &di);
        if (st != MP_OK)
            df = NULL;
    } else {
        sf = NULL;
    }
    if (st == MP_OK)
        st = copy_chunks(l, w, &lane, sf, df);
    else if (st != MP_TEMPORARY)
        mp_sync_report_folder_error(&lane, w->src_name,
                                    sf ? env->dst : env->src);
    if (df) {
        mp_status cst = sk->close_folder(df);
        if (cst != MP_OK && st == MP_OK) {
            mp_sync_report_folder_error(&lane, w->src_name, env->dst);
            st = cst;
        }
    }
    if (sf)
        so->close_folder(sf);
    mp_report_set_current(env->report, NULL);
    uint64_t a = 0, b = 0;
    int throttled = mp_host_take_throttle(&env->src->host, &a);
    throttled |= mp_host_take_throttle(&env->dst->host, &b);

    pthread_mutex_lock(&l->lock);
    if (st != MP_OK)
        w->stop = 1;
    w->dropped |= st == MP_TEMPORARY;
    w->lane_stopped |= st != MP_OK && st != MP_TEMPORARY;
    move_keys(&w->copied_keys, &lane.copied_keys);
    move_keys(&w->uncertain_keys, &lane.uncertain_keys);
    move_suspects(&w->suspects, &w->n_suspects, lane.suspects, lane.n_suspects);
    if (throttled) {
        w->throttled = 1;
        if ((a > b ? a : b) > w->throttle_ms)
            w->throttle_ms = a > b ? a : b;
    }
    w->left--;
    pthread_cond_broadcast(&l->finished);
    pthread_mutex_unlock(&l->lock);

    if (st != MP_TEMPORARY && st != MP_FATAL)
        return 1;
    /* The connection dropped (or the store failed): this server goes on
     * only with stores it could reopen. */
    return !mp_interrupted() && mp_store_reopen(env->src) == 0 &&
           mp_store_reopen(env->dst) == 0;
}

void mp_lanes_serve(mp_lanes *l, mp_sync_env *env)
{
    if (!l || !env->src || !env->dst)
        return;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        while (!l->open && l->taking > 0)
            pthread_cond_wait(&l->work, &l->lock);
        folder_work *w = l->open;
        if (!w)
            break; /* no worker takes folders: none will open */
        w->joined++;
        w->left++;
        pthread_mutex_unlock(&l->lock);
        int usable = serve_folder(l, w, env);
        pthread_mutex_lock(&l->lock);
        if (!usable)
            break;
    }
    pthread_mutex_unlock(&l->lock);
}

int mp_lanes_possible(const mp_store *src, const mp_store *dst)
{
    if (!src || !dst || src->role != MP_ROLE_SOURCE ||
        dst->role != MP_ROLE_SINK)
        return 0;
    const mp_source_ops *so = src->plugin->source;
    const mp_sink_ops *sk = dst->plugin->sink;
    return so && sk && MP_HAS_SLOT(so, mp_source_ops, concurrent_fetch) &&
           MP_HAS_SLOT(sk, mp_sink_ops, concurrent_put);
}

mp_status mp_lanes_transfer(mp_sync_env *env, const char *src_name,
                            const char *dst_name, void *sf, void *df,
                            const mp_msglist *src, const mp_plan *plan,
                            int64_t state_folder)
{
    mp_lanes *l = env->lanes;
    if (!l || plan->n_copy < 2 * MP_LANE_CHUNK)
        return mp_transfer_range(env, src_name, sf, df, src, plan, 0, plan->n,
                                 state_folder);
    folder_work w = {.src_name = src_name,
                     .dst_name = dst_name,
                     .src = src,
                     .plan = plan,
                     .state_folder = state_folder};
    pthread_mutex_lock(&l->lock);
    w.next_open = l->open;
    l->open = &w;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->lock);

    mp_status own = copy_chunks(l, &w, env, sf, df);

    pthread_mutex_lock(&l->lock);
    /* Closed to servers before it goes out of scope (copy_chunks ended
     * with nothing left to hand out, or with the owner's own stop). */
    size_t ignored_from, ignored_to;
    w.stop = 1;
    take_chunk(l, &w, &ignored_from, &ignored_to);
    while (w.left > 0)
        pthread_cond_wait(&l->finished, &l->lock);
    pthread_mutex_unlock(&l->lock);
    if (w.joined)
        mp_debug("folder %s: %zu copies over %zu connections",
                 mp_show_name(src_name).s, plan->n_copy, w.joined + 1);

    move_keys(&env->copied_keys, &w.copied_keys);
    move_keys(&env->uncertain_keys, &w.uncertain_keys);
    move_suspects(&env->suspects, &env->n_suspects, w.suspects, w.n_suspects);
    if (w.throttled) {
        /* As if the owner's destination had asked: the folder's retry
         * waits it out (copy.c). */
        env->dst->host.throttled = 1;
        if (w.throttle_ms > env->dst->host.throttle_ms)
            env->dst->host.throttle_ms = w.throttle_ms;
    }
    if (own == MP_TEMPORARY || w.dropped)
        return MP_TEMPORARY;
    if (own != MP_OK)
        return own;
    return w.lane_stopped ? MP_FOLDER_BAD : MP_OK;
}
