/* mailport verify SOURCE DEST: pairs every selected source message with a
 * destination message by content identity (plan.h), then compares flags and
 * the content hash of both sides, read in full. mailport verify SOURCE
 * alone reads every message of one store and fails on any it cannot read
 * intact (an archive checks each message against its manifest). */
#include "commands.h"
#include "escape.h"
#include "hashes.h"
#include "json.h"
#include "log.h"
#include "msglist.h"
#include "pair.h"
#include "plan.h"
#include "preset.h"
#include "repair.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum {
    DIFF_MISSING,
    DIFF_EXTRA,
    DIFF_CONTENT,
    DIFF_FLAGS,
    DIFF_UNREADABLE,
    DIFF_DUPLICATE, /* more often in the destination than in the source */
    DIFF_NO_FOLDER, /* a source folder the destination does not have */
    /* --repair: the copy is the source message repaired (repair.h); no
     * difference. */
    DIFF_REPAIRED,
    DIFF__N
} diff_kind;

static const char *const diff_names[DIFF__N] = {
    "missing",    "extra",     "different", "flags_differ",
    "unreadable", "duplicate", "no_folder", "repaired"};

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
    uint64_t missing_in_folders; /* messages of DIFF_NO_FOLDER folders */
    size_t repairable; /* without --repair: copies equal to a repair */
    int store_failed;            /* exit code of a store-level failure, or 0 */
    char *unmatched;             /* --include patterns that matched nothing */
} verify_run;

static void add_diff(verify_run *v, diff_kind kind, const char *folder,
                     const mp_msg *m, const char *detail)
{
    char label[256];
    if (kind == DIFF_NO_FOLDER)
        snprintf(label, sizeof label, "(whole folder)");
    else if (m->identity && strncmp(m->identity, "M:", 2) == 0)
        snprintf(label, sizeof label, "<%s>", m->identity + 2);
    else
        snprintf(label, sizeof label, "key %s", m->key);
    v->diffs = realloc(v->diffs, (v->n_diffs + 1) * sizeof *v->diffs);
    v->diffs[v->n_diffs++] = (diff){kind, strdup(folder), strdup(label),
                                    detail ? strdup(detail) : NULL};
    v->counts[kind]++;
    /* Names, Message-IDs and keywords come from the stores: shown
     * escaped (escape.h), kept as they are in the report. */
    /* The detail is text of ours around flag names ("\\Seen"), whose
     * backslashes stay single. */
    char shown_detail[1024] = "";
    if (detail)
        mp_escape(detail, 0, shown_detail, sizeof shown_detail);
    printf("%-12s %s  %s%s%s\n", diff_names[kind], mp_show_name(folder).s,
           mp_show_name(label).s, detail ? "  " : "", shown_detail);
}

/* "\Seen \Flagged $Label1": flags by their IMAP names, then keywords. */
static void flag_names(unsigned flags, const char *keywords, char *out,
                       size_t size)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {MP_FLAG_SEEN, "\\Seen"},       {MP_FLAG_ANSWERED, "\\Answered"},
        {MP_FLAG_FLAGGED, "\\Flagged"}, {MP_FLAG_DELETED, "\\Deleted"},
        {MP_FLAG_DRAFT, "\\Draft"},     {MP_FLAG_FORWARDED, "$Forwarded"}};
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].bit)
            w += (size_t)snprintf(out + w, w < size ? size - w : 0, "%s%s",
                                  w ? " " : "", names[i].name);
    if (keywords && *keywords && w < size)
        snprintf(out + w, size - w, "%s%s", w ? " " : "", keywords);
    if (!out[0])
        snprintf(out, size, "(none)");
}

static void drop_unselected(const mp_options *opt, const char *folder,
                            mp_msglist *l)
{
    size_t kept = 0; /* --since/--before/--max-size select what to check */
    for (size_t i = 0; i < l->n; i++) {
        if (mp_options_message_selected(opt, l->v[i].date, l->v[i].size) &&
            !mp_options_left_out(opt, folder, l->v[i].key)) {
            l->v[kept++] = l->v[i];
        } else {
            free(l->v[i].key);
            free(l->v[i].keywords);
            free(l->v[i].identity);
        }
    }
    l->n = kept;
    free(l->slots);
    l->slots = NULL;
}

/* Destination messages no source message claimed that are a second copy of
 * one that was: same identity and the same content (as verify compares it:
 * fields that hold flags aside). */
static void find_duplicates(verify_run *v, const char *dst_name,
                            const mp_msglist *dl, const mp_plan *plan,
                            const mp_content_hashes *dh, char *dup)
{
    for (size_t d = 0; d < dl->n; d++) {
        if (plan->dst_claimed[d] || !dh[d].strict[0] || !dl->v[d].identity)
            continue;
        for (size_t k = 0; k < dl->n; k++)
            if (k != d && plan->dst_claimed[k] && dl->v[k].identity &&
                strcmp(dl->v[k].identity, dl->v[d].identity) == 0 &&
                !mp_content_difference(&dh[k], &dh[d])) {
                dup[d] = 1;
                add_diff(v, DIFF_DUPLICATE, dst_name, &dl->v[d],
                         "a second copy of a message the source has once");
                break;
            }
    }
}

/* Source messages whose copy is missing or different, compared with what
 * copy --repair makes of them (repair.h): REP[i] set where DEST holds the
 * repaired form, and CHANGES[i] what the repair changed (malloc'd). A
 * missing message whose repair is an unclaimed destination message (a
 * Message-ID or Date was added: its identity changed) is paired with it
 * when PAIR_MISSING (--repair); else it stays missing, REP set. Returns 0,
 * or -1 when a store cannot be read. */
static int find_repaired(mp_store *src, void *sf, mp_msglist *sl, mp_store *dst,
                         void *df, mp_msglist *dl, mp_plan *plan,
                         mp_content_hashes *sh, mp_content_hashes *dh,
                         int pair_missing, char *rep, char **changes)
{
    char *want = calloc(sl->n + 1, 1), *want_dst = calloc(dl->n + 1, 1);
    mp_content_hashes *rh = calloc(sl->n + 1, sizeof *rh);
    char **identity = calloc(sl->n + 1, sizeof *identity);
    int any = 0, unclaimed = 0, rc = 0;
    for (size_t d = 0; d < dl->n; d++)
        unclaimed |= !plan->dst_claimed[d];
    for (size_t i = 0; i < sl->n; i++) {
        long d = plan->entries[i].dst;
        want[i] = d < 0 ? unclaimed
                        : sh[i].strict[0] && dh[d].strict[0] &&
                              mp_content_difference(&sh[i], &dh[d]) != NULL;
        any |= want[i];
    }
    if (!any)
        goto out;
    if (mp_repair_hashes(src, sf, sl, want, rh, changes, identity) != MP_OK) {
        rc = -1;
        goto out;
    }
    /* Unclaimed destination messages of a repaired missing message's
     * identity, not read yet: read now. */
    for (size_t i = 0; i < sl->n; i++)
        if (plan->entries[i].dst >= 0) {
            free(identity[i]);
            identity[i] = NULL;
        }
    int look = 0;
    mp_repair_dst_wanted(dl, plan->dst_claimed, identity, sl->n, want_dst);
    for (size_t d = 0; d < dl->n; d++)
        look |= want_dst[d] = want_dst[d] && !dh[d].strict[0];
    if (look && mp_hash_messages(dst, df, dl, want_dst, dh) != MP_OK) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < sl->n; i++) {
        if (!rh[i].strict[0])
            continue;
        long d = plan->entries[i].dst;
        if (d >= 0) {
            rep[i] = !mp_content_difference(&rh[i], &dh[d]);
            continue;
        }
        long k =
            mp_repair_match(&rh[i], identity[i], dl, plan->dst_claimed, dh);
        rep[i] = k >= 0;
        if (k >= 0 && pair_missing) {
            plan->entries[i].dst = k;
            plan->dst_claimed[k] = 1;
        }
    }
out:
    for (size_t i = 0; i < sl->n; i++)
        free(identity[i]);
    free(identity);
    free(want);
    free(want_dst);
    free(rh);
    return rc;
}

static int verify_folder(verify_run *v, mp_store *src, mp_store *dst,
                         const char *src_name, const char *dst_name)
{
    const mp_source_ops *so = src->plugin->source;
    void *sf = NULL, *df = NULL;
    mp_folder_info si = {.struct_size = sizeof si},
                   di = {.struct_size = sizeof di};
    mp_msglist sl = {0}, dl = {0};
    mp_plan plan = {0};
    mp_content_hashes *sh = NULL, *dh = NULL;
    char *want_src = NULL, *want_dst = NULL, *dup = NULL, *rep = NULL;
    char **changes = NULL;
    size_t n_changes = 0;
    mp_plan_hashes ps = {0}, pd = {0};
    int rc = 0;

    if (so->open_folder(src->handle, src_name, &sf, &si) != MP_OK ||
        so->scan(sf, MP_SCAN_IDENTITY, mp_msglist_collect, &sl) != MP_OK) {
        mp_error("folder %s: %s", src_name, mp_store_error(src));
        rc = -1;
        goto out;
    }
    drop_unselected(v->opt, src_name, &sl);
    if (dst->plugin->source->open_folder(dst->handle, dst_name, &df, &di) !=
        MP_OK) {
        df = NULL;
        v->checked += sl.n;
        if (sl.n) {
            char detail[600];
            snprintf(detail, sizeof detail,
                     "%zu message%s; the destination has no folder %s", sl.n,
                     sl.n == 1 ? "" : "s", dst_name);
            mp_msg folder_as_msg = {.key = (char *)src_name};
            add_diff(v, DIFF_NO_FOLDER, src_name, &folder_as_msg, detail);
            v->missing_in_folders += sl.n;
        }
        goto out;
    }
    if (dst->plugin->source->scan(df, MP_SCAN_IDENTITY, mp_msglist_collect,
                                  &dl) != MP_OK) {
        mp_error("folder %s: %s", dst_name, mp_store_error(dst));
        rc = -1;
        goto out;
    }

    /* Pair as copy does without a state: by identity and date, by content
     * where an identity is shared. Sizes are not compared: a server may
     * change them, and the hashes below tell. */
    mp_plan_init(&plan, &sl, &dl);
    sh = calloc(sl.n + 1, sizeof *sh);
    dh = calloc(dl.n + 1, sizeof *dh);
    want_src = calloc(sl.n + 1, 1);
    want_dst = calloc(dl.n + 1, 1);
    if (mp_plan_ambiguous(&plan, &sl, &dl, -1, want_src, want_dst)) {
        if (mp_hash_messages(src, sf, &sl, want_src, sh) != MP_OK ||
            mp_hash_messages(dst, df, &dl, want_dst, dh) != MP_OK)
            goto unreadable_store;
        mp_plan_hashes_take(&ps, sh, want_src, sl.n);
        mp_plan_hashes_take(&pd, dh, want_dst, dl.n);
    }
    mp_plan_by_identity(&plan, &sl, &dl, -1, ps.strict ? &ps : NULL,
                        pd.strict ? &pd : NULL);
    mp_plan_pair_leftovers(&plan, &sl, &dl);

    /* Read in full what is still unread: every paired message, and each
     * unclaimed destination message that shares an identity with the
     * source (a duplicate, if its content matches). */
    char *more_src = calloc(sl.n + 1, 1), *more_dst = calloc(dl.n + 1, 1);
    mp_msglist src_ids = {0};
    for (size_t i = 0; i < sl.n; i++) {
        if (plan.entries[i].dst >= 0) {
            more_src[i] = !want_src[i];
            more_dst[plan.entries[i].dst] = !want_dst[plan.entries[i].dst];
        }
        if (sl.v[i].identity) {
            mp_msg_info info = {.struct_size = sizeof info,
                                .key = sl.v[i].identity};
            mp_msglist_collect(&src_ids, &info);
        }
    }
    for (size_t d = 0; d < dl.n; d++)
        if (!plan.dst_claimed[d] && !want_dst[d] && dl.v[d].identity &&
            mp_msglist_find(&src_ids, dl.v[d].identity) >= 0)
            more_dst[d] = 1;
    mp_msglist_free(&src_ids);
    mp_status hs1 = mp_hash_messages(src, sf, &sl, more_src, sh);
    mp_status hs2 =
        hs1 == MP_OK ? mp_hash_messages(dst, df, &dl, more_dst, dh) : hs1;
    free(more_src);
    free(more_dst);
    if (hs1 != MP_OK || hs2 != MP_OK)
        goto unreadable_store;
    /* Copies made by copy --repair. Without --repair they are reported as
     * before, with a hint; missing ones are paired only with it. */
    rep = calloc(sl.n + 1, 1);
    changes = calloc(sl.n + 1, sizeof *changes);
    n_changes = sl.n;
    if (find_repaired(src, sf, &sl, dst, df, &dl, &plan, sh, dh, v->opt->repair,
                      rep, changes) != 0)
        goto unreadable_store;

    for (size_t i = 0; i < sl.n; i++) {
        const mp_plan_entry *e = &plan.entries[i];
        v->checked++;
        if (e->dst < 0) {
            char hint[700];
            if (rep[i])
                snprintf(hint, sizeof hint,
                         "DEST holds it repaired (%s): verify --repair pairs "
                         "it",
                         changes[i]);
            add_diff(v, DIFF_MISSING, src_name, &sl.v[i], rep[i] ? hint : NULL);
            v->repairable += rep[i];
            continue;
        }
        const mp_msg *d = &dl.v[e->dst];
        const char *what = NULL;
        int readable = sh[i].strict[0] && dh[e->dst].strict[0];
        if (readable)
            what = mp_content_difference(&sh[i], &dh[e->dst]);
        /* The content is what it should be: flags are compared. */
        int same = rep[i] ? v->opt->repair : readable && !what;
        if (rep[i] && v->opt->repair) {
            add_diff(v, DIFF_REPAIRED, src_name, &sl.v[i], changes[i]);
        } else if (rep[i]) {
            char detail[900];
            snprintf(detail, sizeof detail,
                     "%s; the copy is the source message repaired (%s): "
                     "verify --repair reports it as repaired",
                     what, changes[i]);
            add_diff(v, DIFF_CONTENT, src_name, &sl.v[i], detail);
            v->repairable++;
        } else if (!readable) {
            add_diff(v, DIFF_UNREADABLE, src_name, &sl.v[i],
                     !sh[i].strict[0] ? "source unreadable"
                                      : "destination unreadable");
        } else if (what) {
            add_diff(v, DIFF_CONTENT, src_name, &sl.v[i], what);
        }
        if (same && !mp_flags_equal(sl.v[i].flags, sl.v[i].keywords, d->flags,
                                    d->keywords)) {
            char a[300], b[300], detail[640];
            flag_names(sl.v[i].flags, sl.v[i].keywords, a, sizeof a);
            flag_names(d->flags, d->keywords, b, sizeof b);
            snprintf(detail, sizeof detail, "source %s, destination %s", a, b);
            add_diff(v, DIFF_FLAGS, src_name, &sl.v[i], detail);
        }
    }
    dup = calloc(dl.n + 1, 1);
    find_duplicates(v, dst_name, &dl, &plan, dh, dup);
    /* Message filters leave source messages out, so what the destination
     * holds besides is no news; --include only chooses folders, each
     * compared whole. */
    if (v->opt->since == MP_DATE_UNKNOWN && v->opt->before == MP_DATE_UNKNOWN &&
        !v->opt->max_size)
        for (size_t d = 0; d < dl.n; d++)
            if (!plan.dst_claimed[d] && !dup[d])
                add_diff(v, DIFF_EXTRA, dst_name, &dl.v[d], NULL);
    goto out;

unreadable_store:
    mp_error("folder %s: %s", src_name,
             src->host.err[0] ? mp_store_error(src) : mp_store_error(dst));
    rc = -1;
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
    free(want_src);
    free(want_dst);
    free(dup);
    for (size_t i = 0; changes && i < n_changes; i++)
        free(changes[i]);
    free(changes);
    free(rep);
    mp_plan_hashes_free(&ps);
    mp_plan_hashes_free(&pd);
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
    mp_content_hashes *h = calloc(l.n + 1, sizeof *h);
    mp_host_clear_error(&store->host);
    if (mp_hash_messages(store, f, &l, NULL, h) != MP_OK) {
        mp_error("folder %s: %s", name, mp_store_error(store));
        rc = -1;
    }
    for (size_t i = 0; i < l.n; i++) {
        v->checked++;
        if (!h[i].strict[0])
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
    json_t *o = json_object(), *w = json_array();
    int bad = !o || !w ||
              json_object_set_new(o, "checked",
                                  json_integer((json_int_t)v->checked)) != 0;
    for (int k = 0; !bad && k < DIFF__N; k++) {
        json_t *a = json_array();
        bad = !a || json_object_set_new(o, diff_names[k], a) != 0;
        for (size_t i = 0; !bad && i < v->n_diffs; i++) {
            if (v->diffs[i].kind != (diff_kind)k)
                continue;
            json_t *d = json_object();
            bad = !d || json_array_append_new(a, d) != 0 ||
                  json_object_set_new(d, "folder",
                                      mp_json_text(v->diffs[i].folder)) != 0 ||
                  json_object_set_new(d, "message",
                                      mp_json_text(v->diffs[i].message)) != 0 ||
                  (v->diffs[i].detail &&
                   json_object_set_new(d, "detail",
                                       mp_json_text(v->diffs[i].detail)) != 0);
        }
    }
    bad = bad || (v->unmatched &&
                  json_array_append_new(w, mp_json_text(v->unmatched)) != 0) ||
          json_object_set(o, "warnings", w) != 0;
    if (!bad) {
        mp_json_write_report(f, o, 0);
        fputc('\n', f);
    }
    json_decref(w);
    json_decref(o);
    if (bad) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Each of the N source folders NAMES whose destination folder DNAMES[i]
 * is subscribed otherwise than copy would have left it (subscribed unless
 * the source has it unsubscribed), printed as "subscription" lines. Only
 * stores that keep subscriptions are compared; INBOX, which copy always
 * subscribes, only for being unsubscribed. Information: verify's exit code
 * does not change. Returns how many. */
static size_t subscription_differences(mp_store *src, mp_store *dst,
                                       char **names, char **dnames, size_t n)
{
    char **sn = NULL, **dn = NULL;
    int *ss = NULL, *ds = NULL;
    size_t n_s = 0, n_d = 0, found = 0;
    if (mp_pair_subscriptions(src, &sn, &ss, &n_s) == 0 &&
        mp_pair_subscriptions(dst, &dn, &ds, &n_d) == 0) {
        for (size_t i = 0; i < n; i++) {
            int s = mp_pair_subscription_of(sn, ss, n_s, names[i]);
            int d = mp_pair_subscription_of(dn, ds, n_d, dnames[i]);
            int inbox = strcasecmp(dnames[i], "INBOX") == 0;
            const char *what = NULL;
            if (d == MP_UNSUBSCRIBED && s != MP_UNSUBSCRIBED)
                what = s == MP_SUBSCRIBED ? "subscribed in the source, not in "
                                            "the destination"
                                          : "not subscribed in the "
                                            "destination";
            else if (d == MP_SUBSCRIBED && s == MP_UNSUBSCRIBED && !inbox)
                what = "subscribed in the destination, not in the source";
            if (!what)
                continue;
            printf("%-12s %s  %s\n", "subscription",
                   mp_show_name(dnames[i]).s, what);
            found++;
        }
    }
    mp_free_names(sn, n_s);
    mp_free_names(dn, n_d);
    free(ss);
    free(ds);
    return found;
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
    code = mp_check_endpoints(reg, (const char *const *)opt->args, opt->n_args,
                              err, sizeof err);
    if (code) {
        mp_error("%s", err);
        return code;
    }
    mp_store *src = mp_open_endpoint(reg, opt->args[0], MP_ROLE_SOURCE, err,
                                     sizeof err, &code);
    mp_store *dst = NULL;
    if (src && opt->n_args == 2)
        dst = mp_open_endpoint(reg, opt->args[1], MP_ROLE_SOURCE, err,
                               sizeof err, &code);
    if (!src || (opt->n_args == 2 && !dst)) {
        mp_error("%s", err);
        mp_store_close(src);
        return code;
    }
    /* The hosts' presets (preset.h), as copy applies them. */
    mp_options run;
    mp_preset_run_init(&run, opt);
    mp_preset_source(&run, opt, src);
    mp_preset_dest(&run, opt, dst);
    v.opt = &run;
    char **names = NULL, **store_names = NULL;
    unsigned *special = NULL;
    size_t n = 0;
    int failed = 0;
    if (mp_list_source_folders_full(src, &run, &names, &special, NULL,
                                    &store_names, &n, &v.unmatched) != 0) {
        mp_error("%s", mp_store_error(src));
        failed = 1;
    }
    if (v.unmatched)
        mp_warn("%s", v.unmatched);
    mp_preset_first_copies(&run, src, names, special, n);
    /* The folder names copy used: the same --map/--automap, else what the
     * pair's sync state recorded. */
    char **dnames = NULL;
    if (dst) {
        mp_state *recorded = NULL;
        char *path = opt->no_state
                         ? NULL
                         : mp_pair_state_path(opt, opt->args[0], opt->args[1]);
        if (path)
            recorded = mp_state_open_readonly(path, err, sizeof err);
        dnames = mp_pair_folder_names(&run, dst, names, store_names, special, n,
                                      recorded);
        mp_state_close(recorded);
        free(path);
    }
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (dst) {
            rc = verify_folder(&v, src, dst, names[i], dnames[i]);
        } else {
            rc = check_folder(&v, src, names[i]);
        }
        failed |= rc != 0;
    }
    size_t sub_diffs =
        dst ? subscription_differences(src, dst, names, dnames, n) : 0;
    mp_free_names(dnames, dst ? n : 0);
    size_t problems = v.counts[DIFF_MISSING] + v.counts[DIFF_CONTENT] +
                      v.counts[DIFF_FLAGS] + v.counts[DIFF_UNREADABLE] +
                      v.counts[DIFF_DUPLICATE] + v.counts[DIFF_NO_FOLDER];
    if (opt->verbosity > 0)
        fprintf(
            stderr,
            "mailport: verified %llu messages in %zu folders: %llu "
            "missing, %zu different, %zu with other flags, %zu "
            "unreadable, %zu duplicated, %zu extra in the destination\n",
            (unsigned long long)v.checked, n,
            (unsigned long long)(v.counts[DIFF_MISSING] + v.missing_in_folders),
            v.counts[DIFF_CONTENT], v.counts[DIFF_FLAGS],
            v.counts[DIFF_UNREADABLE], v.counts[DIFF_DUPLICATE],
            v.counts[DIFF_EXTRA]);
    if (opt->verbosity > 0 && v.counts[DIFF_REPAIRED])
        fprintf(stderr,
                "mailport: %zu message%s copied repaired (copy --repair; see "
                "\"repaired\" above: no difference)\n",
                v.counts[DIFF_REPAIRED],
                v.counts[DIFF_REPAIRED] == 1 ? "" : "s");
    if (v.repairable)
        fprintf(stderr,
                "mailport: %zu missing or different message%s %s in DEST as "
                "copy --repair repairs it: verify --repair reports %s as "
                "repaired\n",
                v.repairable, v.repairable == 1 ? "" : "s",
                v.repairable == 1 ? "is" : "are",
                v.repairable == 1 ? "it" : "them");
    if (opt->verbosity > 0 && v.counts[DIFF_NO_FOLDER])
        fprintf(stderr,
                "mailport: %zu source folder%s with %llu messages %s no "
                "destination folder (see no_folder above)\n",
                v.counts[DIFF_NO_FOLDER],
                v.counts[DIFF_NO_FOLDER] == 1 ? "" : "s",
                (unsigned long long)v.missing_in_folders,
                v.counts[DIFF_NO_FOLDER] == 1 ? "has" : "have");
    if (opt->verbosity > 0 && sub_diffs)
        fprintf(stderr,
                "mailport: %zu folder%s subscribed differently (see "
                "\"subscription\" above; information, not a difference in "
                "mail)\n",
                sub_diffs, sub_diffs == 1 ? "" : "s");
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
    free(v.unmatched);
    mp_free_names(names, n);
    mp_free_names(store_names, n);
    free(special);
    mp_store_close(src);
    mp_store_close(dst);
    mp_preset_run_free(&run, opt);
    if (problems)
        return MP_EXIT_DIFFERENT;
    return failed ? MP_EXIT_FAILED : MP_EXIT_OK;
}
