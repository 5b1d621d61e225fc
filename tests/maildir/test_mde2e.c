/* End to end through the mailport binary: Maildir -> Maildir copies in both
 * layouts keep every message byte for byte, its flags, keywords and mtime,
 * and every folder; checked by a walk of both trees done here, which knows
 * nothing of the plugin's code. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct rec {
    char *folder;   /* "INBOX", "a/b" */
    char *meta;     /* "FLAGS|keyword names|mtime" */
    char *bytes;
    size_t len;
} rec;

typedef struct snap {
    rec *v;
    size_t n;
} snap;

/* Keyword names for the lower-case letters of INFO, from DIR's
 * dovecot-keywords, sorted and space separated into OUT; "$Forwarded" is
 * left out and returned as 1 instead (it is the info letter 'P' written
 * the way Dovecot reads it). */
static int keyword_names(const char *dir, const char *info, char *out,
                         size_t out_size)
{
    char *names[26] = {0};
    char *path = mp_strf("%s/dovecot-keywords", dir);
    FILE *f = fopen(path, "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        int n;
        char name[200];
        if (sscanf(line, "%d %199s", &n, name) == 2 && n >= 0 && n < 26)
            names[n] = strdup(name);
    }
    if (f)
        fclose(f);
    free(path);
    const char *picked[26];
    int np = 0;
    int forwarded = 0;
    for (const char *p = info; *p; p++)
        if (*p >= 'a' && *p <= 'z' && names[*p - 'a']) {
            if (strcasecmp(names[*p - 'a'], "$Forwarded") == 0)
                forwarded = 1;
            else
                picked[np++] = names[*p - 'a'];
        }
    /* Sort names so letter assignment order does not matter. */
    for (int i = 1; i < np; i++)
        for (int j = i; j > 0 && strcmp(picked[j - 1], picked[j]) > 0; j--) {
            const char *t = picked[j];
            picked[j] = picked[j - 1];
            picked[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < np; i++)
        snprintf(out + strlen(out), out_size - strlen(out), "%s%s",
                 i ? " " : "", picked[i]);
    for (int i = 0; i < 26; i++)
        free(names[i]);
    return forwarded;
}

static void add_folder_msgs(snap *s, const char *dir, const char *folder)
{
    const char *subs[] = {"cur", "new"};
    for (int k = 0; k < 2; k++) {
        char *sd = mp_strf("%s/%s", dir, subs[k]);
        DIR *d = opendir(sd);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", sd, e->d_name);
            struct stat st;
            assert_int_equal(stat(path, &st), 0);
            const char *info = strstr(e->d_name, ":2,");
            const char *bang = NULL;
            for (const char *p = strstr(e->d_name, "!2,"); p;
                 p = strstr(p + 1, "!2,"))
                bang = p;
            if (!info)
                info = bang;
            char flags[16] = "";
            char kw[512];
            int forwarded =
                keyword_names(dir, info ? info + 3 : "", kw, sizeof kw);
            /* $Forwarded, as 'P' or as its keyword, is one mark. */
            for (const char *p = info ? info + 3 : ""; *p; p++) {
                forwarded |= *p == 'P';
                if (strchr("DFRST", *p) && !strchr(flags, *p))
                    flags[strlen(flags)] = *p;
            }
            s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
            rec *r = &s->v[s->n++];
            r->folder = strdup(folder);
            r->meta = mp_strf("%s%s|%s|%lld", flags, forwarded ? "+fwd" : "",
                              kw, (long long)st.st_mtime);
            r->bytes = mp_read_file(path, &r->len);
            free(path);
        }
        if (d)
            closedir(d);
        free(sd);
    }
}

static int has_cur_or_new(const char *dir)
{
    char *c = mp_strf("%s/cur", dir), *n = mp_strf("%s/new", dir);
    int r = mp_file_exists(c) || mp_file_exists(n);
    free(c);
    free(n);
    return r;
}

/* fs layout: every directory below ROOT (but cur/new/tmp) with cur or new.
 * Folder names are the relative paths. */
static void walk_fs(snap *s, const char *root, const char *rel)
{
    char *dir = *rel ? mp_strf("%s/%s", root, rel) : strdup(root);
    if (has_cur_or_new(dir))
        add_folder_msgs(s, dir, *rel ? rel : "INBOX");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            !strcmp(e->d_name, "cur") || !strcmp(e->d_name, "new") ||
            !strcmp(e->d_name, "tmp") || e->d_type != DT_DIR)
            continue;
        char *child = *rel ? mp_strf("%s/%s", rel, e->d_name)
                           : strdup(e->d_name);
        walk_fs(s, root, child);
        free(child);
    }
    if (d)
        closedir(d);
    free(dir);
}

/* maildir++: the root and every ".A.B" directory; the folder is named by
 * its directory with '.' read as '/' (the test trees use plain ASCII). */
static void walk_pp(snap *s, const char *root)
{
    if (has_cur_or_new(root))
        add_folder_msgs(s, root, "INBOX");
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") ||
            !strcmp(e->d_name, ".."))
            continue;
        char *dir = mp_strf("%s/%s", root, e->d_name);
        char *name = strdup(e->d_name + 1);
        for (char *p = name; *p; p++)
            if (*p == '.')
                *p = '/';
        if (has_cur_or_new(dir))
            add_folder_msgs(s, dir, name);
        free(name);
        free(dir);
    }
    if (d)
        closedir(d);
}

static int rec_order(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    int c = strcmp(x->folder, y->folder);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    c = memcmp(x->bytes, y->bytes, x->len);
    return c ? c : strcmp(x->meta, y->meta);
}

static snap take(const char *root, int fs)
{
    snap s = {0};
    if (fs)
        walk_fs(&s, root, "");
    else
        walk_pp(&s, root);
    if (s.n)
        qsort(s.v, s.n, sizeof *s.v, rec_order);
    return s;
}

static void snap_free(snap *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].folder);
        free(s->v[i].meta);
        free(s->v[i].bytes);
    }
    free(s->v);
}

static void assert_same(const snap *a, const snap *b, const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu messages vs %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const rec *x = &a->v[i], *y = &b->v[i];
        if (strcmp(x->folder, y->folder) || x->len != y->len ||
            memcmp(x->bytes, y->bytes, x->len) || strcmp(x->meta, y->meta))
            fail_msg("%s: message %zu differs: %s [%s] %zu bytes vs %s [%s] "
                     "%zu bytes",
                     what, i, x->folder, x->meta, x->len, y->folder, y->meta,
                     y->len);
    }
}

/* No leftovers in any tmp/, files 0600, directories 0700. */
static void assert_clean_tree(const char *root)
{
    assert_int_equal(mp_sh("cd '%s' && test -z \"$(find . -path '*/tmp/*')\"", root),
                     0);
    assert_int_equal(mp_sh("test -z \"$(find '%s' -type f ! -perm 600)\"",
                           root),
                     0);
    assert_int_equal(mp_sh("test -z \"$(find '%s' -type d ! -perm 700)\"",
                           root),
                     0);
}

static void copy_ok(const char *src, const char *dst, const char *state,
                    const char *summary)
{
    char *st = mp_strf("--state=%s", state);
    mp_run_result r = mp_run("copy", st, src, dst, NULL);
    if (r.exit_code != 0)
        fail_msg("copy %s %s: exit %d\n%s", src, dst, r.exit_code, r.err);
    if (summary)
        assert_contains(r.err, summary);
    mp_run_free(&r);
    free(st);
}

/* CORPUS (in layout FS_SRC) -> other layout -> original layout. */
static void round_trip(const char *corpus, int fs_src, size_t want_msgs)
{
    char *tmp = mp_tmpdir("mde2e");
    char *src = mp_strf("%s/maildir/%s", mp_corpora(), corpus);
    char *mid = mp_strf("%s/mid", tmp), *back = mp_strf("%s/back", tmp);
    const char *lay_src = fs_src ? "?layout=fs" : "";
    const char *lay_mid = fs_src ? "" : "?layout=fs";
    char *u_src = mp_strf("maildir:%s%s", src, lay_src);
    char *u_mid = mp_strf("maildir:%s%s", mid, lay_mid);
    char *u_back = mp_strf("maildir:%s%s", back, lay_src);
    char *st1 = mp_strf("%s/s1.db", tmp), *st2 = mp_strf("%s/s2.db", tmp);
    char *copied = mp_strf("copied %zu,", want_msgs);

    snap a = take(src, fs_src);
    assert_int_equal(a.n, want_msgs);
    copy_ok(u_src, u_mid, st1, copied);
    snap b = take(mid, !fs_src);
    assert_same(&a, &b, "first copy");
    assert_clean_tree(mid);
    copy_ok(u_mid, u_back, st2, copied);
    snap c = take(back, fs_src);
    assert_same(&a, &c, "round trip");
    assert_clean_tree(back);
    /* Run again: nothing new is copied, nothing changes. */
    copy_ok(u_src, u_mid, st1, "copied 0,");
    snap b2 = take(mid, !fs_src);
    assert_same(&a, &b2, "second run");

    snap_free(&a);
    snap_free(&b);
    snap_free(&b2);
    snap_free(&c);
    mp_rm_rf(tmp);
    char *all[] = {tmp, src, mid, back, u_src, u_mid, u_back, st1, st2,
                   copied};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

static void mu_testdir_pp_fs_pp(void **state)
{
    (void)state;
    round_trip("mu-testdir", 0, 19);
}

static void spamassassin_pp_fs_pp(void **state)
{
    (void)state;
    round_trip("spamassassin-easy-ham-2", 0, 1400);
}

static void small_pp_corpora(void **state)
{
    (void)state;
    round_trip("email-folder-testmaildir", 0, 10);
    round_trip("mu-cjk", 0, 4);
    round_trip("notmuch-lkml", 0, 210);
}

static void fs_corpora_fs_pp_fs(void **state)
{
    (void)state;
    round_trip("notmuch-default", 1, 43);
    round_trip("mu-testdir2", 1, 14);
    round_trip("mairix", 1, 12);
}

static void write_msg(const char *dir, const char *name, const char *text,
                      long long mtime)
{
    char *p = mp_strf("%s/%s", dir, name);
    mp_write_file(p, text, strlen(text));
    assert_int_equal(mp_sh("touch -d @%lld '%s'", mtime, p), 0);
    free(p);
}

/* Non-ASCII and dotted folder names, keywords, then a flag change and an
 * incremental run that updates it in place. */
static void names_keywords_and_flag_updates(void **state)
{
    (void)state;
    char *tmp = mp_tmpdir("mde2e-names");
    char *src = mp_strf("%s/src", tmp);
    const char *uebersicht = "Archiv/\xc3\x9c" "bersicht 2024";
    assert_int_equal(mp_sh("cd '%s' && mkdir -p src/cur src/new src/tmp "
                           "'src/%s/cur' 'src/%s/new' "
                           "src/lists.debian.org/cur src/lists.debian.org/new",
                           tmp, uebersicht, uebersicht),
                     0);
    char *inbox_cur = mp_strf("%s/cur", src);
    write_msg(inbox_cur, "1.a.h:2,Sab", "Subject: a\n\nkw\n", 1000000001);
    write_msg(inbox_cur, "2.b.h:2,", "Subject: b\n\nnone\n", 1000000002);
    char *kwf = mp_strf("%s/dovecot-keywords", src);
    mp_write_file(kwf, "0 $Junk\n1 Work\n", 15);
    char *ue_cur = mp_strf("%s/%s/cur", src, uebersicht);
    write_msg(ue_cur, "3.c.h:2,FS", "Subject: c\n\n\xc3\xbc\n", 1000000003);
    char *ld_new = mp_strf("%s/lists.debian.org/new", src);
    write_msg(ld_new, "4.d.h", "Subject: d\n\nnew\n", 1000000004);

    char *u_src = mp_strf("maildir:%s?layout=fs", src);
    char *pp = mp_strf("%s/pp", tmp), *u_pp = mp_strf("maildir:%s", pp);
    char *back = mp_strf("%s/back", tmp);
    char *u_back = mp_strf("maildir:%s?layout=fs", back);
    char *st1 = mp_strf("%s/s1.db", tmp), *st2 = mp_strf("%s/s2.db", tmp);
    copy_ok(u_src, u_pp, st1, "copied 4,");
    /* On disk in Maildir++ as Dovecot writes names, '.' escaped. */
    char *p = mp_strf("%s/.Archiv.&ANw-bersicht 2024/maildirfolder", pp);
    assert_true(mp_file_exists(p));
    free(p);
    p = mp_strf("%s/.lists\\2edebian\\2eorg/cur", pp);
    assert_true(mp_file_exists(p));
    free(p);
    mp_run_result r = mp_run("list", u_pp, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, uebersicht);
    assert_contains(r.out, "lists.debian.org");
    mp_run_free(&r);

    copy_ok(u_pp, u_back, st2, "copied 4,");
    snap a = take(src, 1), c = take(back, 1);
    assert_int_equal(a.n, 4);
    assert_same(&a, &c, "names round trip");
    /* The keyword names survived, whatever letters they got. */
    int found = 0;
    for (size_t i = 0; i < c.n; i++)
        found |= strcmp(c.v[i].meta, "S|$Junk Work|1000000001") == 0;
    assert_true(found);

    /* Change flags in the source; the next run renames in place. */
    assert_int_equal(mp_sh("mv '%s/1.a.h:2,Sab' '%s/1.a.h:2,RSb'", inbox_cur,
                           inbox_cur),
                     0);
    copy_ok(u_src, u_pp, st1, "flags updated 1");
    snap a2 = take(src, 1);
    copy_ok(u_pp, u_back, st2, "flags updated 1");
    snap c2 = take(back, 1);
    assert_same(&a2, &c2, "after flag update");
    found = 0;
    for (size_t i = 0; i < c2.n; i++)
        found |= strcmp(c2.v[i].meta, "RS|Work|1000000001") == 0;
    assert_true(found);
    assert_clean_tree(pp);
    assert_clean_tree(back);

    snap_free(&a);
    snap_free(&c);
    snap_free(&a2);
    snap_free(&c2);
    mp_rm_rf(tmp);
    char *all[] = {tmp, src, inbox_cur, kwf, ue_cur, ld_new, u_src, pp, u_pp,
                   back, u_back, st1, st2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

static void refusals_through_the_cli(void **state)
{
    (void)state;
    char *tmp = mp_tmpdir("mde2e-bad");
    char *mh = mp_strf("maildir:%s/maildir/email-folder-testmh", mp_corpora());
    char *dst = mp_strf("maildir:%s/out", tmp);
    char *st = mp_strf("--state=%s/s.db", tmp);
    mp_run_result r = mp_run("copy", st, mh, dst, NULL);
    assert_true(r.exit_code != 0);
    assert_contains(r.err, "looks like an MH folder");
    mp_run_free(&r);
    char *bad = mp_strf("maildir:%s/out?layout=nested", tmp);
    r = mp_run("list", bad, NULL);
    assert_int_equal(r.exit_code, 2);
    assert_contains(r.err, "unknown layout \"nested\"");
    mp_run_free(&r);
    mp_rm_rf(tmp);
    free(tmp);
    free(mh);
    free(dst);
    free(st);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mu_testdir_pp_fs_pp),
        cmocka_unit_test(spamassassin_pp_fs_pp),
        cmocka_unit_test(small_pp_corpora),
        cmocka_unit_test(fs_corpora_fs_pp_fs),
        cmocka_unit_test(names_keywords_and_flag_updates),
        cmocka_unit_test(refusals_through_the_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
