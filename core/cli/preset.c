#include "preset.h"

#include "escape.h"
#include "log.h"
#include "msglist.h"
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Folders of a Gmail source that repeat the messages of other folders and
 * are no folders of their own (escaped: these are globs). */
static const char *const gmail_virtual[] = {
    "\\[Gmail]/Important", "\\[Gmail]/Starred", "\\[Google Mail]/Important",
    "\\[Google Mail]/Starred"};

void mp_preset_run_init(mp_options *run, const mp_options *opt)
{
    *run = *opt;
    run->left_out = NULL;
    run->n_left_out = 0;
}

void mp_preset_run_free(mp_options *run, const mp_options *opt)
{
    if (run->exclude != opt->exclude) /* the array only: strings borrowed */
        free(run->exclude);
    run->exclude = NULL;
    for (size_t i = 0; i < run->n_left_out; i++) {
        for (size_t k = 0; k < run->left_out[i].n; k++)
            free(run->left_out[i].keys[k]);
        free(run->left_out[i].keys);
        free(run->left_out[i].folder);
    }
    free(run->left_out);
    run->left_out = NULL;
    run->n_left_out = 0;
}

const char *mp_preset_gmail_tail(const char *name)
{
    static const char *const prefixes[] = {"[Gmail]/", "[Google Mail]/"};
    for (size_t i = 0; i < 2; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return name + strlen(prefixes[i]);
    return NULL;
}

static int is_imap(const mp_store *s)
{
    return s && strcmp(s->plugin->name, "imap") == 0;
}

/* What the store says it is (mp_source_ops/mp_sink_ops.host_kind). */
static const char *detected_kind(mp_store *s)
{
    if (!s || !s->handle)
        return NULL;
    if (s->role == MP_ROLE_SINK)
        return MP_HAS_SLOT(s->plugin->sink, mp_sink_ops, host_kind)
                   ? s->plugin->sink->host_kind(s->handle)
                   : NULL;
    return MP_HAS_SLOT(s->plugin->source, mp_source_ops, host_kind)
               ? s->plugin->source->host_kind(s->handle)
               : NULL;
}

/* The preset of one side, and why ("--preset ...", "it offers ...").
 * "none" named for the side (or for both, and no other for this side)
 * turns the preset off, what the server says included. */
static const char *side_kind(mp_store *s, const char *named, const char *any,
                             const char **why)
{
    if (named || (any && strcmp(any, "none") == 0)) {
        *why = "given";
        return named && strcmp(named, "none") != 0 ? named : NULL;
    }
    const char *found = detected_kind(s);
    if (found) {
        *why = strcmp(found, "gmail") == 0 ? "it offers X-GM-EXT-1"
                                           : "it greets as Microsoft Exchange";
        return found;
    }
    if (any && is_imap(s)) {
        *why = "given";
        return any;
    }
    return NULL;
}

/* Append "what" to the note being built in NOTE (SIZE bytes). */
static void note_add(char *note, size_t size, const char *what)
{
    size_t len = strlen(note);
    snprintf(note + len, size - len, "%s%s", len ? "; " : "", what);
}

/* --max-bytes-per-second LIMIT unless the user gave one; the lower of two
 * presets' limits when both sides set one. */
static void default_rate(mp_options *run, const mp_options *opt, uint64_t limit,
                         char *note, size_t size)
{
    char what[128];
    if (opt->max_bytes_per_second) {
        snprintf(what, sizeof what, "--max-bytes-per-second %llu (yours)",
                 (unsigned long long)opt->max_bytes_per_second);
    } else {
        if (!run->max_bytes_per_second || limit < run->max_bytes_per_second)
            run->max_bytes_per_second = limit;
        snprintf(what, sizeof what, "--max-bytes-per-second %llu",
                 (unsigned long long)run->max_bytes_per_second);
    }
    note_add(note, size, what);
}

static void say(const char *side, const mp_store *s, const char *kind,
                const char *why, const char *note)
{
    const char *shown =
        s && s->url && s->url->ep.display ? s->url->ep.display : side;
    if (strcmp(why, "given") == 0)
        mp_warn("--preset %s:%s for %s: %s", kind, side, shown, note);
    else
        mp_warn("the %s %s looks like %s (%s): --preset %s:%s applies: %s "
                "(an option you give wins)",
                side, shown,
                strcmp(kind, "gmail") == 0 ? "Gmail" : "Microsoft 365", why,
                kind, side, note);
}

/* The preset of store S (side_kind) with what every preset sets: every
 * host kind here keeps special folders under names of its own. */
static const char *side_preset(mp_options *run, mp_store *s, const char *named,
                               const char *any, const char **why, char *note,
                               size_t size)
{
    const char *kind = side_kind(s, named, any, why);
    if (kind) {
        run->automap = 1;
        note_add(note, size, "--automap");
    }
    return kind;
}

void mp_preset_source(mp_options *run, const mp_options *opt, mp_store *src)
{
    const char *why = NULL;
    char note[512] = "";
    const char *kind = run->src_host = side_preset(
        run, src, opt->preset_source, opt->preset_any, &why, note, sizeof note);
    if (!kind)
        return;
    if (strcmp(kind, "gmail") == 0) {
        size_t n = run->n_exclude,
               extra = sizeof gmail_virtual / sizeof *gmail_virtual;
        /* The run's own array of OPT's strings and the presets' literals,
         * all borrowed (mp_preset_run_free frees the array only). */
        char **owned = malloc((n + extra) * sizeof *owned);
        if (owned) {
            if (n) /* OPT->exclude is NULL when there are none */
                memcpy(owned, opt->exclude, n * sizeof *owned);
            for (size_t i = 0; i < extra; i++)
                owned[n + i] = (char *)gmail_virtual[i];
            run->exclude = owned;
            run->n_exclude = n + extra;
        }
        note_add(note, sizeof note,
                 "[Gmail]/Important and [Gmail]/Starred left out, each "
                 "message copied once (All Mail: only those without another "
                 "label)");
        default_rate(run, opt, MP_GMAIL_DOWNLOAD_BYTES_PER_SECOND, note,
                     sizeof note);
    }
    say("source", src, kind, why, note);
}

void mp_preset_dest(mp_options *run, const mp_options *opt, mp_store *dst)
{
    const char *why = NULL;
    char note[512] = "";
    const char *kind = run->dst_host = side_preset(
        run, dst, opt->preset_dest, opt->preset_any, &why, note, sizeof note);
    if (!kind)
        return;
    if (strcmp(kind, "gmail") == 0) {
        default_rate(run, opt, MP_GMAIL_UPLOAD_BYTES_PER_SECOND, note,
                     sizeof note);
    } else {
        char what[64];
        if (!opt->max_size)
            run->max_size = MP_OFFICE365_MAX_MESSAGE_BYTES;
        snprintf(what, sizeof what, "--max-size %llu%s",
                 (unsigned long long)run->max_size,
                 opt->max_size ? " (yours)" : "");
        note_add(note, sizeof note, what);
    }
    say("dest", dst, kind, why, note);
}

/* Where a folder's copies come in the order of first copies: INBOX, the
 * user's labels, the [Gmail]/ folders, All Mail last. */
static int copy_rank(const char *name, unsigned special)
{
    const char *tail = mp_preset_gmail_tail(name);
    if (strcasecmp(name, "INBOX") == 0)
        return 0;
    if ((special & MP_SPECIAL_ALL) || (tail && strcmp(tail, "All Mail") == 0))
        return 3;
    return tail ? 2 : 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The identities of folder NAME's messages into L; the status. */
static mp_status scan_folder(mp_store *src, const char *name, mp_msglist *l)
{
    const mp_source_ops *ops = src->plugin->source;
    void *f = NULL;
    mp_folder_info info = {.struct_size = sizeof info};
    mp_host_clear_error(&src->host);
    mp_status st = ops->open_folder(src->handle, name, &f, &info);
    if (st != MP_OK)
        return st;
    st = ops->scan(f, MP_SCAN_IDENTITY, mp_msglist_collect, l);
    ops->close_folder(f);
    return st;
}

int mp_preset_first_copies(mp_options *run, mp_store *src, char **names,
                           const unsigned *special, size_t n)
{
    if (!run->src_host || strcmp(run->src_host, "gmail") != 0 || n < 2)
        return 0;
    size_t *order = malloc(n * sizeof *order);
    mp_msglist *lists = calloc(n, sizeof *lists);
    const mp_msglist **in = calloc(n, sizeof *in);
    char **left = calloc(n, sizeof *left);
    int rc = order && lists && in && left ? 0 : -1;
    size_t k = 0;
    for (int rank = 0; rank <= 3 && rc == 0; rank++)
        for (size_t i = 0; i < n; i++)
            if (copy_rank(names[i], special[i]) == rank)
                order[k++] = i;
    for (size_t r = 0; r < n && rc == 0; r++) {
        size_t f = order[r];
        if (scan_folder(src, names[f], &lists[r]) != MP_OK) {
            mp_warn("Gmail: cannot read folder %s to tell which messages "
                    "other folders hold too (%s); every folder is copied "
                    "whole",
                    mp_show_name(names[f]).s, mp_store_error(src));
            rc = -1;
        }
        in[r] = &lists[r];
        left[r] = calloc(lists[r].n + 1, 1);
        if (!left[r])
            rc = -1;
    }
    size_t marked = rc == 0 ? mp_plan_first_copies(in, n, left) : 0;
    if (marked) {
        run->left_out = calloc(n, sizeof *run->left_out);
        for (size_t r = 0; run->left_out && r < n; r++) {
            size_t c = 0;
            for (size_t i = 0; i < lists[r].n; i++)
                c += left[r][i];
            if (!c)
                continue;
            mp_folder_keys *fk = &run->left_out[run->n_left_out++];
            fk->folder = strdup(names[order[r]]);
            fk->keys = malloc(c * sizeof *fk->keys);
            for (size_t i = 0; fk->keys && i < lists[r].n; i++)
                if (left[r][i])
                    fk->keys[fk->n++] = strdup(lists[r].v[i].key);
            if (fk->keys)
                qsort(fk->keys, fk->n, sizeof *fk->keys, cmp_str);
        }
        mp_warn("Gmail: %zu copies of messages that an earlier folder of the "
                "run holds are left out (each message goes to the first of "
                "INBOX, your labels, the [Gmail]/ folders, All Mail)",
                marked);
    }
    for (size_t r = 0; lists && r < n; r++)
        mp_msglist_free(&lists[r]);
    for (size_t r = 0; left && r < n; r++)
        free(left[r]);
    free(order);
    free(lists);
    free(in);
    free(left);
    return rc;
}
