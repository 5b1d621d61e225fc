/* Every Maildir of the shared corpora read through the plugin and checked
 * against an independent walk done here: folders, message counts (files in
 * cur/ and new/), keys, flags, sizes, dates and bytes. The MH corpora are
 * refused with a clear error. */
#include "header.h"
#include "mdtest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What the test itself reads from one file name (no plugin code). */
typedef struct expect {
    char key[512];
    unsigned flags;
    uint64_t size;
    int64_t mtime;
    char path[1024];
} expect;

static unsigned oracle_flags(const char *letters)
{
    unsigned f = 0;
    for (const char *p = letters; *p; p++) {
        switch (*p) {
        case 'D': f |= MP_FLAG_DRAFT; break;
        case 'F': f |= MP_FLAG_FLAGGED; break;
        case 'P': f |= MP_FLAG_FORWARDED; break;
        case 'R': f |= MP_FLAG_ANSWERED; break;
        case 'S': f |= MP_FLAG_SEEN; break;
        case 'T': f |= MP_FLAG_DELETED; break;
        }
    }
    return f;
}

/* The messages of folder directory DIR, as the Maildir spec defines them. */
static expect *walk(const char *dir, size_t *n)
{
    expect *v = NULL;
    *n = 0;
    const char *subs[] = {"cur", "new"};
    for (int s = 0; s < 2; s++) {
        char *sd = mp_strf("%s/%s", dir, subs[s]);
        DIR *d = opendir(sd);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            v = realloc(v, (*n + 1) * sizeof *v);
            expect *x = &v[(*n)++];
            snprintf(x->path, sizeof x->path, "%s/%s", sd, e->d_name);
            struct stat st;
            assert_int_equal(stat(x->path, &st), 0);
            assert_true(S_ISREG(st.st_mode));
            x->size = (uint64_t)st.st_size;
            x->mtime = st.st_mtime;
            snprintf(x->key, sizeof x->key, "%s", e->d_name);
            char *info = strstr(x->key, ":2,");
            char *bang = NULL;
            for (char *p = strstr(x->key, "!2,"); p; p = strstr(p + 1, "!2,"))
                bang = p;
            if (!info)
                info = bang;
            x->flags = info ? oracle_flags(info + 3) : 0;
            if (info)
                *info = '\0';
        }
        if (d)
            closedir(d);
        free(sd);
    }
    return v;
}

typedef struct folders {
    char *names[32];
    int no_select[32];
    int n;
} folders;

static mp_status add_folder(void *ctx, const mp_folder_info *fi)
{
    folders *f = ctx;
    assert_true(f->n < 32);
    f->names[f->n] = strdup(fi->name);
    f->no_select[f->n] = fi->no_select;
    f->n++;
    return MP_OK;
}

/* Check corpus NAME read with LAYOUT: the folders are exactly WANT (in
 * that order), each matching the walk of its directory REL[i]. Returns the
 * number of messages seen. */
static size_t check_corpus(const char *name, const char *layout,
                           const char *const *want, const char *const *rel,
                           size_t nwant)
{
    char *root = mp_strf("%s/maildir/%s", mp_corpora(), name);
    char *url = mp_strf("maildir:%s%s%s", root, layout ? "?layout=" : "",
                        layout ? layout : "");
    md_env env;
    if (md_env_open(&env, url, 0) != MP_OK)
        fail_msg("%s: %s", url, env.host.err);
    folders fl = {0};
    assert_int_equal(env.plugin->source->list_folders(env.store, add_folder,
                                                      &fl),
                     MP_OK);
    assert_int_equal(fl.n, nwant);
    size_t total = 0;
    for (size_t i = 0; i < nwant; i++) {
        assert_string_equal(fl.names[i], want[i]);
        assert_int_equal(fl.no_select[i], 0);
        void *folder;
        mp_folder_info fi = {.struct_size = sizeof fi};
        assert_int_equal(env.plugin->source->open_folder(env.store, want[i],
                                                         &folder, &fi),
                         MP_OK);
        md_msgs m;
        assert_int_equal(md_scan_all(&env, folder, MP_SCAN_IDENTITY, &m),
                         MP_OK);
        char *dir = mp_strf("%s/%s", root, rel[i]);
        size_t n;
        expect *ex = walk(dir, &n);
        if (m.n != n)
            fail_msg("%s folder %s: scan found %zu, the walk %zu", name,
                     want[i], m.n, n);
        for (size_t j = 0; j < n; j++) {
            const md_msg *g = md_msgs_find(&m, ex[j].key);
            if (!g)
                fail_msg("%s: key %s not scanned", name, ex[j].key);
            assert_int_equal(g->flags, ex[j].flags);
            assert_int_equal(g->size, ex[j].size);
            assert_int_equal(g->date, ex[j].mtime);
            assert_non_null(g->identity);
            /* M:<id>, M#<hash of a long id>, or H:<hash of the header>. */
            if (strncmp(g->identity, "M:", 2) && strncmp(g->identity, "M#", 2) &&
                strncmp(g->identity, "H:", 2))
                fail_msg("%s: odd identity %s", ex[j].key, g->identity);
            size_t len, flen;
            mp_status fst;
            char *got = md_fetch_one(&env, folder, ex[j].key, &len, &fst);
            char *file = mp_read_file(ex[j].path, &flen);
            assert_int_equal(fst, MP_OK);
            assert_int_equal(len, flen);
            /* The identity is that of the header block, as cut here. */
            size_t hl = flen;
            for (size_t k = 0; k + 1 < flen; k++) {
                if (file[k] == '\n' &&
                    (file[k + 1] == '\n' ||
                     (file[k + 1] == '\r' && k + 2 < flen &&
                      file[k + 2] == '\n'))) {
                    hl = k + 1;
                    break;
                }
            }
            if (flen && file[0] == '\n')
                hl = 0;
            char ident[128];
            mp_identity_of_header(file, hl, ident, sizeof ident);
            assert_string_equal(g->identity, ident);
            assert_memory_equal(got, file, len);
            free(got);
            free(file);
        }
        total += n;
        free(ex);
        free(dir);
        md_msgs_free(&m);
        env.plugin->source->close_folder(folder);
    }
    for (int i = 0; i < fl.n; i++)
        free(fl.names[i]);
    md_env_close(&env);
    free(url);
    free(root);
    return total;
}

static void email_folder_testmaildir(void **state)
{
    (void)state;
    const char *f[] = {"INBOX"}, *r[] = {"."};
    /* 10 in cur/ and new/; the file in tmp/ is an unfinished delivery. */
    assert_int_equal(check_corpus("email-folder-testmaildir", NULL, f, r, 1),
                     10);
}

static void mu_testdir_bang_info(void **state)
{
    (void)state;
    const char *f[] = {"INBOX"}, *r[] = {"."};
    assert_int_equal(check_corpus("mu-testdir", NULL, f, r, 1), 19);

    /* Spot checks of the "!2," names against known flags. */
    char *url = mp_strf("maildir:%s/maildir/mu-testdir", mp_corpora());
    md_env env;
    assert_int_equal(md_env_open(&env, url, 0), MP_OK);
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(env.plugin->source->open_folder(env.store, "INBOX",
                                                     &folder, &fi),
                     MP_OK);
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    const md_msg *x = md_msgs_find(&m, "1220863087.12663_15.mindcrime");
    assert_non_null(x);
    assert_int_equal(x->flags, MP_FLAG_FORWARDED | MP_FLAG_SEEN);
    x = md_msgs_find(&m, "multimime");
    assert_non_null(x);
    assert_int_equal(x->flags, MP_FLAG_FLAGGED | MP_FLAG_SEEN);
    /* Keyword letters a, b, c with no dovecot-keywords file: no names. */
    x = md_msgs_find(&m, "special");
    assert_non_null(x);
    assert_int_equal(x->flags, MP_FLAG_SEEN);
    assert_string_equal(x->keywords, "");
    x = md_msgs_find(&m, "1220863087.12663_23.mindcrime"); /* new/ */
    assert_non_null(x);
    assert_int_equal(x->flags, 0);
    assert_null(md_msgs_find(&m, "1220863087.12663.ignore")); /* tmp/ */
    md_msgs_free(&m);
    env.plugin->source->close_folder(folder);
    md_env_close(&env);
    free(url);
}

static void mu_testdir2_and_cjk(void **state)
{
    (void)state;
    const char *f[] = {"Foo", "bar", "wom_bat"};
    const char *r[] = {"Foo", "bar", "wom_bat"};
    /* .noindex files in new/ and tmp/ are not messages. */
    assert_int_equal(check_corpus("mu-testdir2", "fs", f, r, 3), 14);
    const char *f2[] = {"INBOX"}, *r2[] = {"."};
    assert_int_equal(check_corpus("mu-cjk", NULL, f2, r2, 1), 4);
}

static void mairix_flags_in_new(void **state)
{
    (void)state;
    const char *f[] = {"animals", "flags", "oddcases"};
    assert_int_equal(check_corpus("mairix", "fs", f, f, 3), 12);
    char *url = mp_strf("maildir:%s/maildir/mairix?layout=fs", mp_corpora());
    md_env env;
    assert_int_equal(md_env_open(&env, url, 0), MP_OK);
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(env.plugin->source->open_folder(env.store, "flags",
                                                     &folder, &fi),
                     MP_OK);
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_int_equal(m.n, 8);
    /* Natural order: 1, 2, ..., 8. */
    for (size_t i = 0; i < m.n; i++) {
        char k[24];
        snprintf(k, sizeof k, "%zu", i + 1);
        assert_string_equal(m.v[i].key, k);
    }
    /* new/6:2,R keeps its R, as Dovecot and mutt read it. */
    assert_int_equal(md_msgs_find(&m, "6")->flags, MP_FLAG_ANSWERED);
    assert_int_equal(md_msgs_find(&m, "1")->flags,
                     MP_FLAG_FLAGGED | MP_FLAG_ANSWERED | MP_FLAG_SEEN);
    assert_int_equal(md_msgs_find(&m, "8")->flags, 0);
    md_msgs_free(&m);
    env.plugin->source->close_folder(folder);
    md_env_close(&env);
    free(url);
}

static void notmuch_trees(void **state)
{
    (void)state;
    /* Files lying directly in a folder directory (not in cur/ or new/) are
     * not part of the Maildir and are left out. */
    const char *f[] = {"INBOX", "bar", "bar/baz", "foo", "foo/baz"};
    const char *r[] = {".", "bar", "bar/baz", "foo", "foo/baz"};
    assert_int_equal(check_corpus("notmuch-default", "fs", f, r, 5), 43);
    const char *f2[] = {"INBOX"}, *r2[] = {"."};
    assert_int_equal(check_corpus("notmuch-lkml", NULL, f2, r2, 1), 210);
}

static void spamassassin_large(void **state)
{
    (void)state;
    const char *f[] = {"INBOX"}, *r[] = {"."};
    assert_int_equal(check_corpus("spamassassin-easy-ham-2", NULL, f, r, 1),
                     1400);
}

static void mh_folders_are_refused(void **state)
{
    (void)state;
    const char *mh[] = {"email-folder-testmh", "mairix-mh"};
    for (int i = 0; i < 2; i++) {
        for (int lay = 0; lay < 2; lay++) {
            char *url = mp_strf("maildir:%s/maildir/%s%s", mp_corpora(), mh[i],
                                lay ? "?layout=fs" : "");
            md_env env;
            assert_int_equal(md_env_open(&env, url, 0), MP_FATAL);
            assert_int_equal(env.host.err_kind, MP_ERR_FORMAT);
            assert_contains(env.host.err, "is not a Maildir");
            assert_contains(env.host.err, "looks like an MH folder");
            md_env_close(&env);
            free(url);
        }
    }
    /* A tree of nested Maildirs read as Maildir++ gets a hint. */
    char *url = mp_strf("maildir:%s/maildir/mu-testdir2", mp_corpora());
    md_env env;
    assert_int_equal(md_env_open(&env, url, 0), MP_FATAL);
    assert_contains(env.host.err, "try ?layout=fs");
    md_env_close(&env);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(email_folder_testmaildir),
        cmocka_unit_test(mu_testdir_bang_info),
        cmocka_unit_test(mu_testdir2_and_cjk),
        cmocka_unit_test(mairix_flags_in_new),
        cmocka_unit_test(notmuch_trees),
        cmocka_unit_test(spamassassin_large),
        cmocka_unit_test(mh_folders_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
