/* mailport verify SOURCE DEST: pairs every selected source message with a
 * destination message by content identity (plan.h), then compares flags and
 * the content hash of both sides, read in full. mailport verify SOURCE
 * alone reads every message of one store and fails on any it cannot read
 * intact (an archive checks each message against its manifest). */
#include "commands.h"
#include "digest.h"
#include "json.h"
#include "log.h"
#include "msglist.h"
#include "plan.h"
#include "store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum {
    DIFF_MISSING,
    DIFF_EXTRA,
    DIFF_CONTENT,
    DIFF_FLAGS,
    DIFF_UNREADABLE,
    DIFF__N
} diff_kind;

static const char *const diff_names[DIFF__N] = {"missing", "extra", "different",
                                                "flags_differ", "unreadable"};

typedef struct diff {
    diff_kind kind;
    char *folder, *message, *detail;
} diff;

typedef struct verify_run {
    const mp_options *opt;
    diff *diffs;
    size_t n_diffs;
    size_t counts[DIFF__N];
    uint64_t checked;
    int store_failed; /* exit code of a store-level failure, or 0 */
} verify_run;

static void add_diff(verify_run *v, diff_kind kind, const char *folder,
                     const mp_msg *m, const char *detail)
{
    char label[256];
    if (m->identity && strncmp(m->identity, "M:", 2) == 0)
        snprintf(label, sizeof label, "<%s>", m->identity + 2);
    else
        snprintf(label, sizeof label, "key %s", m->key);
    v->diffs = realloc(v->diffs, (v->n_diffs + 1) * sizeof *v->diffs);
    v->diffs[v->n_diffs++] = (diff){kind, strdup(folder), strdup(label),
                                    detail ? strdup(detail) : NULL};
    v->counts[kind]++;
    printf("%-12s %s  %s%s%s\n", diff_names[kind], folder, label,
           detail ? "  " : "", detail ? detail : "");
}

/* ------------------------------------------------------------------------ */
/* Content hashes of every message of an open folder.                        */

typedef struct hash_run {
    char (*hashes)[65]; /* per message of the list; "" when unreadable */
    mp_digest digest;
    size_t current;
    const size_t *positions;
} hash_run;

static mp_status hash_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    (void)info;
    hash_run *h = ctx;
    h->current = h->positions[index];
    mp_digest_init(&h->digest);
    return MP_OK;
}

static mp_status hash_data(void *ctx, const void *buf, size_t len)
{
    hash_run *h = ctx;
    mp_digest_update(&h->digest, buf, len);
    return MP_OK;
}

static mp_status hash_end(void *ctx, mp_status status)
{
    hash_run *h = ctx;
    char hex[65];
    mp_digest_final(&h->digest, hex);
    mp_digest_free(&h->digest);
    if (status == MP_OK)
        memcpy(h->hashes[h->current], hex, sizeof hex);
    return status == MP_MSG_BAD ? MP_OK : status;
}

/* Fill HASHES for the messages of LIST whose WANTED flag is set. */
static mp_status hash_messages(mp_store *store, void *folder, mp_msglist *list,
                               const char *wanted, char (*hashes)[65])
{
    const size_t batch = 256;
    const char **keys = malloc(batch * sizeof *keys);
    size_t *positions = malloc(batch * sizeof *positions);
    hash_run h = {.hashes = hashes, .positions = positions};
    const mp_fetch_cb cb = {sizeof cb, hash_begin, hash_data, hash_end};
    mp_status st = MP_OK;
    for (size_t i = 0; i < list->n && st == MP_OK;) {
        size_t n = 0;
        for (; i < list->n && n < batch; i++)
            if (!wanted || wanted[i]) {
                keys[n] = list->v[i].key;
                positions[n++] = i;
            }
        if (n)
            st = store->plugin->source->fetch(folder, keys, n, &cb, &h);
    }
    free(keys);
    free(positions);
    return st;
}

/* ------------------------------------------------------------------------ */

static int verify_folder(verify_run *v, mp_store *src, mp_store *dst,
                         const char *src_name, const char *dst_name)
{
    const mp_source_ops *so = src->plugin->source;
    void *sf = NULL, *df = NULL;
    mp_folder_info si = {.struct_size = sizeof si},
                   di = {.struct_size = sizeof di};
    mp_msglist sl = {0}, dl = {0};
    mp_plan plan = {0};
    char(*sh)[65] = NULL, (*dh)[65] = NULL;
    char *wanted_src = NULL, *wanted_dst = NULL;
    int rc = 0;

    if (so->open_folder(src->handle, src_name, &sf, &si) != MP_OK ||
        so->scan(sf, MP_SCAN_IDENTITY, mp_msglist_collect, &sl) != MP_OK) {
        mp_error("folder %s: %s", src_name, mp_store_error(src));
        rc = -1;
        goto out;
    }
    size_t kept = 0; /* --since/--before/--max-size select what to check */
    for (size_t i = 0; i < sl.n; i++) {
        if (mp_options_message_selected(v->opt, sl.v[i].date, sl.v[i].size)) {
            sl.v[kept++] = sl.v[i];
        } else {
            free(sl.v[i].key);
            free(sl.v[i].keywords);
            free(sl.v[i].identity);
        }
    }
    sl.n = kept;
    free(sl.slots);
    sl.slots = NULL;
    if (dst->plugin->source->open_folder(dst->handle, dst_name, &df, &di) !=
        MP_OK) {
        df = NULL; /* no such folder: every message is missing */
    } else if (dst->plugin->source->scan(df, MP_SCAN_IDENTITY,
                                         mp_msglist_collect, &dl) != MP_OK) {
        mp_error("folder %s: %s", dst_name, mp_store_error(dst));
        rc = -1;
        goto out;
    }

    mp_plan_init(&plan, &sl, &dl);
    mp_plan_by_identity(&plan, &sl, &dl, 0);
    sh = calloc(sl.n + 1, sizeof *sh);
    dh = calloc(dl.n + 1, sizeof *dh);
    wanted_src = calloc(sl.n + 1, 1);
    wanted_dst = calloc(dl.n + 1, 1);
    for (size_t i = 0; i < sl.n; i++)
        if (plan.entries[i].dst >= 0) {
            wanted_src[i] = 1;
            wanted_dst[plan.entries[i].dst] = 1;
        }
    if (hash_messages(src, sf, &sl, wanted_src, sh) != MP_OK ||
        (df && hash_messages(dst, df, &dl, wanted_dst, dh) != MP_OK)) {
        mp_error("folder %s: %s", src_name,
                 src->host.err[0] ? mp_store_error(src) : mp_store_error(dst));
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < sl.n; i++) {
        const mp_plan_entry *e = &plan.entries[i];
        v->checked++;
        if (e->dst < 0) {
            add_diff(v, DIFF_MISSING, src_name, &sl.v[i], NULL);
            continue;
        }
        const mp_msg *d = &dl.v[e->dst];
        if (!sh[i][0] || !dh[e->dst][0])
            add_diff(v, DIFF_UNREADABLE, src_name, &sl.v[i],
                     !sh[i][0] ? "source unreadable"
                               : "destination unreadable");
        else if (strcmp(sh[i], dh[e->dst]) != 0)
            add_diff(v, DIFF_CONTENT, src_name, &sl.v[i], NULL);
        else if (!mp_flags_equal(sl.v[i].flags, sl.v[i].keywords, d->flags,
                                 d->keywords)) {
            char detail[512];
            snprintf(detail, sizeof detail,
                     "source flags %#x \"%s\", "
                     "destination %#x \"%s\"",
                     sl.v[i].flags, sl.v[i].keywords, d->flags, d->keywords);
            add_diff(v, DIFF_FLAGS, src_name, &sl.v[i], detail);
        }
    }
    if (v->opt->n_include == 0 && v->opt->since == MP_DATE_UNKNOWN &&
        v->opt->before == MP_DATE_UNKNOWN && !v->opt->max_size)
        for (size_t d = 0; d < dl.n; d++)
            if (!plan.dst_claimed[d])
                add_diff(v, DIFF_EXTRA, dst_name, &dl.v[d], NULL);
out:
    if (df)
        dst->plugin->source->close_folder(df);
    if (sf)
        so->close_folder(sf);
    mp_plan_free(&plan);
    mp_msglist_free(&sl);
    mp_msglist_free(&dl);
    free(sh);
    free(dh);
    free(wanted_src);
    free(wanted_dst);
    return rc;
}

/* One store alone: every message must be readable intact. */
static int check_folder(verify_run *v, mp_store *store, const char *name)
{
    const mp_source_ops *so = store->plugin->source;
    void *f = NULL;
    mp_folder_info info = {.struct_size = sizeof info};
    mp_msglist l = {0};
    int rc = 0;
    if (so->open_folder(store->handle, name, &f, &info) != MP_OK ||
        so->scan(f, 0, mp_msglist_collect, &l) != MP_OK) {
        mp_error("folder %s: %s", name, mp_store_error(store));
        if (f)
            so->close_folder(f);
        mp_msglist_free(&l);
        return -1;
    }
    char(*h)[65] = calloc(l.n + 1, sizeof *h);
    mp_host_clear_error(&store->host);
    if (hash_messages(store, f, &l, NULL, h) != MP_OK) {
        mp_error("folder %s: %s", name, mp_store_error(store));
        rc = -1;
    }
    for (size_t i = 0; i < l.n; i++) {
        v->checked++;
        if (!h[i][0])
            add_diff(v, DIFF_UNREADABLE, name, &l.v[i],
                     store->host.err[0] ? store->host.err : NULL);
    }
    free(h);
    so->close_folder(f);
    mp_msglist_free(&l);
    return rc;
}

static int write_report(const verify_run *v, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "{\"checked\": %llu", (unsigned long long)v->checked);
    for (int k = 0; k < DIFF__N; k++) {
        fprintf(f, ",\n \"%s\": [", diff_names[k]);
        int first = 1;
        for (size_t i = 0; i < v->n_diffs; i++) {
            if (v->diffs[i].kind != (diff_kind)k)
                continue;
            fputs(first ? "{\"folder\": " : ", {\"folder\": ", f);
            first = 0;
            mp_json_string(f, v->diffs[i].folder);
            fputs(", \"message\": ", f);
            mp_json_string(f, v->diffs[i].message);
            if (v->diffs[i].detail) {
                fputs(", \"detail\": ", f);
                mp_json_string(f, v->diffs[i].detail);
            }
            fputc('}', f);
        }
        fputc(']', f);
    }
    fputs("}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

int mp_cmd_verify(const mp_registry *reg, const mp_options *opt)
{
    if (opt->n_args != 1 && opt->n_args != 2) {
        fprintf(stderr, "mailport verify: expected SOURCE [DEST]\n"
                        "Try 'mailport verify --help'.\n");
        return MP_EXIT_USAGE;
    }
    verify_run v = {.opt = opt};
    char err[2600];
    int code = 0;
    mp_store *src = mp_store_open(reg, opt->args[0], MP_ROLE_SOURCE, err,
                                  sizeof err, &code);
    mp_store *dst = NULL;
    if (src && opt->n_args == 2)
        dst = mp_store_open(reg, opt->args[1], MP_ROLE_SOURCE, err, sizeof err,
                            &code);
    if (!src || (opt->n_args == 2 && !dst)) {
        mp_error("%s", err);
        mp_store_close(src);
        return code;
    }
    char **names = NULL;
    unsigned *special = NULL;
    size_t n = 0;
    int failed = 0;
    if (mp_list_source_folders(src, opt, &names, &special, &n) != 0) {
        mp_error("%s", mp_store_error(src));
        failed = 1;
    }
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (dst) {
            char *dname = mp_options_map_folder(opt, names[i]);
            rc = verify_folder(&v, src, dst, names[i], dname);
            free(dname);
        } else {
            rc = check_folder(&v, src, names[i]);
        }
        failed |= rc != 0;
    }
    size_t problems = v.counts[DIFF_MISSING] + v.counts[DIFF_CONTENT] +
                      v.counts[DIFF_FLAGS] + v.counts[DIFF_UNREADABLE];
    if (opt->verbosity > 0)
        fprintf(stderr,
                "mailport: verified %llu messages in %zu folders: %zu missing, "
                "%zu different, %zu with other flags, %zu unreadable, %zu "
                "extra in the destination\n",
                (unsigned long long)v.checked, n, v.counts[DIFF_MISSING],
                v.counts[DIFF_CONTENT], v.counts[DIFF_FLAGS],
                v.counts[DIFF_UNREADABLE], v.counts[DIFF_EXTRA]);
    if (opt->report_path && write_report(&v, opt->report_path) != 0) {
        mp_error("cannot write report %s", opt->report_path);
        failed = 1;
    }
    for (size_t i = 0; i < v.n_diffs; i++) {
        free(v.diffs[i].folder);
        free(v.diffs[i].message);
        free(v.diffs[i].detail);
    }
    free(v.diffs);
    mp_free_names(names, n);
    free(special);
    mp_store_close(src);
    mp_store_close(dst);
    if (problems)
        return MP_EXIT_DIFFERENT;
    return failed ? MP_EXIT_FAILED : MP_EXIT_OK;
}
