/* The Maildir plugin driven through its ops tables: creating folders, the
 * put / commit / flush / abort cycle, flush_start/flush_wait, flags and
 * keywords on disk, set_flags, remove, listing, scanning, fetching, and
 * refusals. */
#include "mdtest.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Paths made by T() live until the test's teardown. */
static char *t_paths[512];
static size_t t_n;

static char *T(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *T(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0 || t_n == 512)
        fail_msg("T: out of memory");
    va_end(ap);
    return t_paths[t_n++] = s;
}

static void t_free_all(void)
{
    while (t_n)
        free(t_paths[--t_n]);
}

typedef struct fixture {
    char *dir;
    char *root; /* DIR/store */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = mp_tmpdir("mdstore");
    fx->root = T("%s/store", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    mp_rm_rf(fx->dir);
    free(fx->dir);
    free(fx);
    t_free_all();
    return 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        fail_msg("stat %s: %s", path, strerror(errno));
    return st.st_mode;
}

static size_t count_names(const char *path)
{
    size_t n;
    md_names_free(md_dir_names(path, &n));
    return n;
}

/* Write one message through put_*; returns put_commit's status. */
static mp_status put_msg(md_env *env, void *folder, const char *body,
                         unsigned flags, const char *keywords, int64_t date,
                         char *key, size_t key_size)
{
    mp_msg_info info = {.struct_size = sizeof info,
                        .key = "src",
                        .flags = flags,
                        .keywords = keywords,
                        .internal_date = date};
    void *put;
    mp_status st = env->plugin->sink->put_begin(folder, &info, &put);
    if (st != MP_OK)
        return st;
    /* In uneven pieces, to cross the plugin's buffering. */
    size_t len = strlen(body);
    for (size_t off = 0; off < len;) {
        size_t n = len - off < 7 ? len - off : 7;
        assert_int_equal(env->plugin->sink->put_write(put, body + off, n),
                         MP_OK);
        off += n;
    }
    return env->plugin->sink->put_commit(put, key, key_size);
}

static const char MSG1[] = "Message-ID: <one@example.org>\n"
                           "Subject: hello\r\n"
                           "\n"
                           "body line\n";

static void put_commit_flush_cycle(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    assert_int_equal(mode_of(fx->root) & 0777, 0700);
    char *p = T("%s/tmp", fx->root);
    assert_true(S_ISDIR(mode_of(p)));

    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "Archiv/\xc3\x9c" "bersicht 2024",
                                    &folder, &fi),
                     MP_OK);
    assert_string_equal(fi.name, "Archiv/\xc3\x9c" "bersicht 2024");
    char *fdir = T("%s/.Archiv.&ANw-bersicht 2024", fx->root);
    char *cur = T("%s/cur", fdir), *tmp = T("%s/tmp", fdir),
         *newd = T("%s/new", fdir);
    assert_int_equal(mode_of(fdir) & 0777, 0700);
    assert_int_equal(mode_of(cur) & 0777, 0700);
    assert_int_equal(mode_of(newd) & 0777, 0700);
    p = T("%s/maildirfolder", fdir);
    assert_true(S_ISREG(mode_of(p)));

    char key[256];
    assert_int_equal(put_msg(&env, folder, MSG1,
                             MP_FLAG_SEEN | MP_FLAG_FLAGGED |
                                 MP_FLAG_FORWARDED,
                             "$Junk NonJunk", 1000000000, key, sizeof key),
                     MP_OK);
    /* Unique name per the Maildir spec, then Dovecot's size fields: 4 LF
     * of which one follows a CR, so W = S + 3. */
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^/:]+,S=57,"
                             "W=60$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    if (regexec(&re, key, 0, NULL, 0) != 0)
        fail_msg("unexpected key %s", key);
    regfree(&re);

    /* Committed but not flushed: being written, synced and renamed in the
     * background, so in memory, in tmp/ or in cur/, never in two places
     * (cur/ is counted first: a rename in between cannot count twice). */
    size_t in_cur = count_names(cur);
    assert_true(in_cur + count_names(tmp) <= 1);
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_true(m.n <= 1);
    md_msgs_free(&m);

    assert_int_equal(k->flush(folder), MP_OK);
    assert_int_equal(count_names(tmp), 0);
    size_t n;
    char **names = md_dir_names(cur, &n);
    assert_int_equal(n, 1);
    /* $Forwarded as a keyword letter, not 'P' (Dovecot ignores 'P'). */
    char *want = T("%s:2,FSabc", key);
    assert_string_equal(names[0], want);
    char *file = T("%s/%s", cur, names[0]);
    size_t len;
    char *bytes = mp_read_file(file, &len);
    assert_int_equal(len, strlen(MSG1));
    assert_memory_equal(bytes, MSG1, len);
    free(bytes);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_mtime, 1000000000);
    p = T("%s/dovecot-keywords", fdir);
    char *kwf = mp_read_file(p, &len);
    assert_string_equal(kwf, "0 $Junk\n1 NonJunk\n2 $Forwarded\n");
    free(kwf);

    /* Scan now sees it, with everything put in. */
    assert_int_equal(md_scan_all(&env, folder, MP_SCAN_IDENTITY, &m), MP_OK);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.v[0].key, key);
    assert_int_equal(m.v[0].size, 57);
    assert_int_equal(m.v[0].vsize, 60);
    assert_int_equal(m.v[0].flags,
                     MP_FLAG_SEEN | MP_FLAG_FLAGGED | MP_FLAG_FORWARDED);
    assert_string_equal(m.v[0].keywords, "$Junk NonJunk");
    assert_int_equal(m.v[0].date, 1000000000);
    assert_string_equal(m.v[0].identity, "M:one@example.org");
    md_msgs_free(&m);
    mp_status fst;
    bytes = md_fetch_one(&env, folder, key, &len, &fst);
    assert_int_equal(fst, MP_OK);
    assert_int_equal(len, strlen(MSG1));
    assert_memory_equal(bytes, MSG1, len);
    free(bytes);

    assert_int_equal(k->close_folder(folder), MP_OK);
    md_names_free(names);
    md_env_close(&env);
}

static void abort_leaves_nothing_and_close_flushes(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s?layout=fs", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "A/B", &folder, &fi), MP_OK);
    char *cur = T("%s/A/B/cur", fx->root);
    char *tmp = T("%s/A/B/tmp", fx->root);
    char *parent_cur = T("%s/A/cur", fx->root);
    /* The parent is a plain directory: it reads back as no_select. */
    assert_false(mp_file_exists(parent_cur));
    assert_false(mp_file_exists(T("%s/A/B/maildirfolder", fx->root)));

    mp_msg_info info = {.struct_size = sizeof info, .key = "x",
                        .internal_date = MP_DATE_UNKNOWN};
    void *put;
    assert_int_equal(k->put_begin(folder, &info, &put), MP_OK);
    assert_int_equal(k->put_write(put, "abc\n", 4), MP_OK);
    /* A small message is held in memory until commit. */
    assert_int_equal(count_names(tmp), 0);
    k->put_abort(put);
    assert_int_equal(count_names(tmp), 0);
    assert_int_equal(k->flush(folder), MP_OK);
    assert_int_equal(count_names(cur), 0);

    /* An unseen message without flags still goes to cur/, info ":2,". */
    char key[256];
    assert_int_equal(put_msg(&env, folder, "Subject: x\n\nunseen\n", 0, NULL,
                             1234567890, key, sizeof key),
                     MP_OK);
    assert_int_equal(count_names(cur), 0);
    assert_int_equal(k->close_folder(folder), MP_OK);
    size_t n;
    char **names = md_dir_names(cur, &n);
    assert_int_equal(n, 1);
    char *want = T("%s:2,", key);
    assert_string_equal(names[0], want);
    assert_int_equal(count_names(T("%s/A/B/new", fx->root)), 0);
    /* No keywords: no dovecot-keywords file. */
    assert_false(mp_file_exists(T("%s/A/B/dovecot-keywords", fx->root)));
    md_names_free(names);
    md_env_close(&env);
}

static void large_message_streams_in_chunks(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    size_t big = 300 * 1024 + 17;
    char *body = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        body[i] = (i % 61 == 60) ? '\n' : (char)('A' + i % 26);
    body[big] = '\0';
    mp_msg_info info = {.struct_size = sizeof info, .key = "big",
                        .flags = MP_FLAG_SEEN, .internal_date = 42};
    void *put;
    assert_int_equal(k->put_begin(folder, &info, &put), MP_OK);
    /* One huge write, then small ones. */
    assert_int_equal(k->put_write(put, body, 200 * 1024), MP_OK);
    for (size_t off = 200 * 1024; off < big; off += 1000)
        assert_int_equal(k->put_write(put, body + off,
                                      big - off < 1000 ? big - off : 1000),
                         MP_OK);
    char key[256];
    assert_int_equal(k->put_commit(put, key, sizeof key), MP_OK);
    assert_int_equal(k->flush(folder), MP_OK);
    size_t len;
    mp_status fst;
    char *got = md_fetch_one(&env, folder, key, &len, &fst);
    assert_int_equal(fst, MP_OK);
    assert_int_equal(len, big);
    assert_memory_equal(got, body, big);
    free(got);
    /* A key that does not exist: begin, then end with MP_MSG_BAD. */
    got = md_fetch_one(&env, folder, "no-such-key", &len, &fst);
    assert_int_equal(fst, MP_MSG_BAD);
    assert_int_equal(len, 0);
    assert_int_equal(env.host.err_kind, MP_ERR_NOTFOUND);
    assert_contains(env.host.err, "no-such-key");
    free(got);
    assert_int_equal(k->close_folder(folder), MP_OK);
    free(body);
    md_env_close(&env);
}

static void set_flags_and_remove(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "Work", &folder, &fi), MP_OK);
    char k1[256], k2[256], k3[256];
    assert_int_equal(put_msg(&env, folder, "a\n", MP_FLAG_SEEN, "", 10, k1,
                             sizeof k1), MP_OK);
    assert_int_equal(put_msg(&env, folder, "b\n", 0, NULL, 20, k2, sizeof k2),
                     MP_OK);
    /* Flags changed while still pending: the final name follows. */
    assert_int_equal(k->set_flags(folder, k2, MP_FLAG_ANSWERED, "Later"),
                     MP_OK);
    assert_int_equal(k->flush(folder), MP_OK);
    char *cur = T("%s/.Work/cur", fx->root);
    char *f2 = T("%s/%s:2,Ra", cur, k2);
    assert_true(mp_file_exists(f2));

    /* After flush: a rename, keeping the date and bytes. */
    assert_int_equal(k->set_flags(folder, k1,
                                  MP_FLAG_SEEN | MP_FLAG_DELETED |
                                      MP_FLAG_DRAFT,
                                  "Later $Important"),
                     MP_OK);
    char *f1 = T("%s/%s:2,DSTab", cur, k1);
    assert_true(mp_file_exists(f1));
    assert_int_equal(count_names(cur), 2);
    struct stat st;
    assert_int_equal(stat(f1, &st), 0);
    assert_int_equal(st.st_mtime, 10);
    size_t len;
    char *kw = mp_read_file(T("%s/.Work/dovecot-keywords", fx->root),
                            &len);
    assert_string_equal(kw, "0 Later\n1 $Important\n");
    free(kw);
    /* Same flags again: nothing to do, still fine. */
    assert_int_equal(k->set_flags(folder, k1,
                                  MP_FLAG_SEEN | MP_FLAG_DELETED |
                                      MP_FLAG_DRAFT,
                                  "$Important Later"),
                     MP_OK);
    assert_true(mp_file_exists(f1));
    /* Unknown key. */
    assert_int_equal(k->set_flags(folder, "nope", 0, NULL), MP_MSG_BAD);
    assert_int_equal(env.host.err_kind, MP_ERR_NOTFOUND);

    /* Remove one flushed and one pending message. */
    assert_int_equal(put_msg(&env, folder, "c\n", 0, NULL, 30, k3, sizeof k3),
                     MP_OK);
    const char *gone[] = {k1, k3, "never-existed"};
    assert_int_equal(k->remove(folder, gone, 3), MP_OK);
    assert_int_equal(k->flush(folder), MP_OK);
    assert_false(mp_file_exists(f1));
    assert_true(mp_file_exists(f2));
    assert_int_equal(count_names(cur), 1);
    assert_int_equal(count_names(T("%s/.Work/tmp", fx->root)), 0);
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.v[0].key, k2);
    assert_int_equal(m.v[0].flags, MP_FLAG_ANSWERED);
    assert_string_equal(m.v[0].keywords, "Later");
    md_msgs_free(&m);
    assert_int_equal(k->close_folder(folder), MP_OK);
    md_env_close(&env);
}

static void write_at(const char *root, const char *rel, const char *text)
{
    char *p = T("%s/%s", root, rel);
    mp_write_file(p, text, strlen(text));
}

/* Issue 13: $Forwarded in both forms. Read: 'P' (mutt, earlier mailport)
 * and the dovecot-keywords letter (Dovecot), either case; written: the
 * letter, and a flag change rewrites an old 'P' into it; 'P' only when no
 * letter is free. */
static void forwarded_both_forms(void **state)
{
    fixture *fx = *state;
    assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", fx->root,
                           fx->root, fx->root),
                     0);
    write_at(fx->root, "cur/1.p.host:2,PS", "Subject: p\n\np\n");
    write_at(fx->root, "cur/2.k.host:2,Sab", "Subject: k\n\nk\n");
    write_at(fx->root, "cur/3.b.host:2,PRb", "Subject: b\n\nb\n");
    write_at(fx->root, "cur/4.n.host:2,Sa", "Subject: n\n\nn\n");
    write_at(fx->root, "dovecot-keywords", "0 $Junk\n1 $forwarded\n");
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_int_equal(m.n, 4);
    const md_msg *p = md_msgs_find(&m, "1.p.host");
    const md_msg *kw = md_msgs_find(&m, "2.k.host");
    const md_msg *b = md_msgs_find(&m, "3.b.host");
    const md_msg *n = md_msgs_find(&m, "4.n.host");
    assert_int_equal(p->flags, MP_FLAG_FORWARDED | MP_FLAG_SEEN);
    assert_string_equal(p->keywords, "");
    assert_int_equal(kw->flags, MP_FLAG_FORWARDED | MP_FLAG_SEEN);
    assert_string_equal(kw->keywords, "$Junk"); /* not "$forwarded" */
    assert_int_equal(b->flags, MP_FLAG_FORWARDED | MP_FLAG_ANSWERED);
    assert_string_equal(b->keywords, "");
    assert_int_equal(n->flags, MP_FLAG_SEEN);
    assert_string_equal(n->keywords, "$Junk");
    md_msgs_free(&m);

    /* A flag change on the 'P' message writes the keyword form, with the
     * letter the file already has for it. */
    assert_int_equal(
        k->set_flags(folder, "1.p.host",
                     MP_FLAG_FORWARDED | MP_FLAG_SEEN | MP_FLAG_FLAGGED, ""),
        MP_OK);
    assert_true(mp_file_exists(T("%s/cur/1.p.host:2,FSb", fx->root)));
    /* Taking $Forwarded away takes away both forms. */
    assert_int_equal(k->set_flags(folder, "3.b.host", MP_FLAG_ANSWERED, ""),
                     MP_OK);
    assert_true(mp_file_exists(T("%s/cur/3.b.host:2,R", fx->root)));
    size_t len;
    char *kwf = mp_read_file(T("%s/dovecot-keywords", fx->root), &len);
    assert_string_equal(kwf, "0 $Junk\n1 $forwarded\n");
    free(kwf);
    assert_int_equal(k->close_folder(folder), MP_OK);

    /* A folder whose 26 letters are taken: 'P', with a warning. */
    assert_int_equal(k->open_folder(env.store, "Full", &folder, &fi), MP_OK);
    char words[26 * 8] = "";
    for (int i = 0; i < 26; i++)
        snprintf(words + strlen(words), sizeof words - strlen(words), "%sk%02d",
                 i ? " " : "", i);
    char key[256];
    assert_int_equal(put_msg(&env, folder, "x\n", MP_FLAG_FORWARDED, words, 10,
                             key, sizeof key),
                     MP_OK);
    assert_int_equal(k->flush(folder), MP_OK);
    size_t nn;
    char **names = md_dir_names(T("%s/.Full/cur", fx->root), &nn);
    assert_int_equal(nn, 1);
    assert_string_equal(names[0], T("%s:2,Pabcdefghijklmnopqrstuvwxyz", key));
    md_names_free(names);
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_int_equal(m.v[0].flags, MP_FLAG_FORWARDED);
    md_msgs_free(&m);
    assert_int_equal(k->close_folder(folder), MP_OK);
    md_env_close(&env);
}

static void source_scan_ignores_tmp_and_control_files(void **state)
{
    fixture *fx = *state;
    assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp' '%s/cur/sub'",
                           fx->root, fx->root, fx->root, fx->root),
                     0);
    write_at(fx->root, "cur/100.a.host,S=5:2,RS", "Subject: 1\n\nx\n");
    write_at(fx->root, "cur/200.b.host!2,FTc", "Subject: 2\n\ny\n");
    write_at(fx->root, "new/300.c.host", "Subject: 3\n\nz\n");
    write_at(fx->root, "tmp/400.d.host", "in progress\n");
    write_at(fx->root, "cur/.hidden", "not mail\n");
    write_at(fx->root, "dovecot-uidlist", "3 V1 N1\n");
    write_at(fx->root, "dovecot.index.log", "x");
    write_at(fx->root, "dovecot-keywords", "2 $Label1\n");
    assert_int_equal(mp_sh("touch -d @1500000000 '%s/new/300.c.host'",
                           fx->root),
                     0);
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 0), MP_OK);
    const mp_source_ops *s = env.plugin->source;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(s->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    assert_string_equal(fi.name, "INBOX");
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_int_equal(m.n, 3);
    const md_msg *a = md_msgs_find(&m, "100.a.host,S=5");
    const md_msg *b = md_msgs_find(&m, "200.b.host");
    const md_msg *c = md_msgs_find(&m, "300.c.host");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(a->flags, MP_FLAG_ANSWERED | MP_FLAG_SEEN);
    assert_int_equal(a->size, 5); /* from ,S= even though the file differs */
    assert_int_equal(b->flags, MP_FLAG_FLAGGED | MP_FLAG_DELETED);
    assert_string_equal(b->keywords, "$Label1");
    assert_int_equal(b->size, 14); /* from stat */
    assert_int_equal(c->flags, 0);
    assert_int_equal(c->date, 1500000000);
    assert_string_equal(m.v[0].key, "100.a.host,S=5"); /* natural order */
    assert_string_equal(m.v[2].key, "300.c.host");
    md_msgs_free(&m);

    /* A message renamed by another program between scan and fetch. */
    assert_int_equal(mp_sh("mv '%s/new/300.c.host' '%s/cur/300.c.host:2,S'",
                           fx->root, fx->root),
                     0);
    size_t len;
    mp_status fst;
    char *got = md_fetch_one(&env, folder, "300.c.host", &len, &fst);
    assert_int_equal(fst, MP_OK);
    assert_string_equal(got, "Subject: 3\n\nz\n");
    free(got);
    s->close_folder(folder);

    /* A folder that is not there. */
    assert_int_equal(s->open_folder(env.store, "Nope", &folder, &fi),
                     MP_FOLDER_BAD);
    assert_int_equal(env.host.err_kind, MP_ERR_NOTFOUND);
    assert_contains(env.host.err, "\"Nope\"");
    md_env_close(&env);
}

typedef struct seen_folders {
    char names[16][64];
    int no_select[16];
    int64_t count[16];
    unsigned special[16];
    int n;
} seen_folders;

static mp_status note_folder(void *ctx, const mp_folder_info *fi)
{
    seen_folders *s = ctx;
    assert_true(s->n < 16);
    snprintf(s->names[s->n], 64, "%s", fi->name);
    s->no_select[s->n] = fi->no_select;
    s->count[s->n] = fi->count;
    s->special[s->n] = fi->special_use;
    s->n++;
    return MP_OK;
}

static void lists_parents_first(void **state)
{
    fixture *fx = *state;
    for (int lay = 0; lay < 2; lay++) {
        char *root = T("%s/%d", fx->root, lay);
        char *url = T("maildir:%s%s", root, lay ? "?layout=fs" : "");
        md_env env;
        assert_int_equal(md_env_open(&env, url, 1), MP_OK);
        const mp_sink_ops *k = env.plugin->sink;
        const char *make[] = {"Z", "A/B/C", "Sent", "A B", "a.b"};
        for (size_t i = 0; i < 5; i++) {
            void *folder;
            mp_folder_info fi = {.struct_size = sizeof fi};
            assert_int_equal(k->open_folder(env.store, make[i], &folder, &fi),
                             MP_OK);
            char key[256];
            if (i == 0)
                assert_int_equal(put_msg(&env, folder, "z\n", 0, NULL, 1, key,
                                         sizeof key),
                                 MP_OK);
            assert_int_equal(k->close_folder(folder), MP_OK);
        }
        seen_folders s = {0};
        assert_int_equal(k->list_folders(env.store, note_folder, &s), MP_OK);
        const char *want[] = {"INBOX", "A", "A/B", "A/B/C", "A B",
                              "Sent", "Z", "a.b"};
        const int want_ns[] = {0, 1, 1, 0, 0, 0, 0, 0};
        assert_int_equal(s.n, 8);
        for (int i = 0; i < 8; i++) {
            assert_string_equal(s.names[i], want[i]);
            assert_int_equal(s.no_select[i], want_ns[i]);
        }
        assert_int_equal(s.count[6], 1); /* Z */
        assert_int_equal(s.count[0], 0); /* INBOX */
        assert_int_equal(s.special[5], MP_SPECIAL_SENT);
        md_env_close(&env);
    }
    /* On disk, the two layouts differ as documented. */
    assert_true(mp_file_exists(T("%s/0/.A.B.C/cur", fx->root)));
    assert_false(mp_file_exists(T("%s/0/.A", fx->root)));
    assert_true(mp_file_exists(T("%s/0/.a\\2eb/cur", fx->root)));
    assert_true(mp_file_exists(T("%s/1/A/B/C/cur", fx->root)));
    assert_true(mp_file_exists(T("%s/1/a.b/cur", fx->root)));
}

static void refuses_bad_names_and_params(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s?layout=fs", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    const char *bad[] = {"../escape", "/abs", "a/../../b", "a//b", "new",
                         "x/tmp", "tab\there", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *folder = NULL;
        mp_folder_info fi = {.struct_size = sizeof fi};
        assert_int_equal(k->open_folder(env.store, bad[i], &folder, &fi),
                         MP_FOLDER_BAD);
        assert_int_equal(env.host.err_kind, MP_ERR_USAGE);
    }
    /* Nothing was made outside the root, nor any folder inside it. */
    size_t n;
    char **names = md_dir_names(fx->dir, &n);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "store");
    md_names_free(names);
    names = md_dir_names(fx->root, &n);
    assert_int_equal(n, 3); /* cur new tmp */
    md_names_free(names);

    /* A symlink planted where a folder would go is not followed. */
    char *outside = T("%s/outside", fx->dir);
    assert_int_equal(mp_sh("mkdir '%s' && ln -s '%s' '%s/evil'", outside,
                           outside, fx->root),
                     0);
    void *folder = NULL;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "evil/x", &folder, &fi),
                     MP_FOLDER_BAD);
    assert_contains(env.host.err, "symlink");
    assert_int_equal(count_names(outside), 0);
    md_env_close(&env);

    /* An unknown layout. */
    char *bad_url = T("maildir:%s?layout=mh", fx->root);
    assert_int_equal(md_env_open(&env, bad_url, 0), MP_FATAL);
    assert_int_equal(env.host.err_kind, MP_ERR_USAGE);
    assert_contains(env.host.err, "unknown layout \"mh\"");
    md_env_close(&env);
    /* A source that does not exist. */
    char *missing = T("maildir:%s/missing", fx->dir);
    assert_int_equal(md_env_open(&env, missing, 0), MP_FATAL);
    assert_int_equal(env.host.err_kind, MP_ERR_NOTFOUND);
    assert_contains(env.host.err, "missing");
    md_env_close(&env);
}

static void one_put_at_a_time(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder, *p1, *p2;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    mp_msg_info info = {.struct_size = sizeof info, .key = "x",
                        .internal_date = 5};
    assert_int_equal(k->put_begin(folder, &info, &p1), MP_OK);
    assert_int_equal(k->put_begin(folder, &info, &p2), MP_FATAL);
    assert_int_equal(env.host.err_kind, MP_ERR_INTERNAL);
    k->put_abort(p1);
    /* A folder closed with a put still open leaves nothing behind. */
    assert_int_equal(k->put_begin(folder, &info, &p1), MP_OK);
    assert_int_equal(k->put_write(p1, "x\n", 2), MP_OK);
    assert_int_equal(k->close_folder(folder), MP_OK);
    assert_int_equal(count_names(T("%s/tmp", fx->root)), 0);
    assert_int_equal(count_names(T("%s/cur", fx->root)), 0);
    md_env_close(&env);
}

/* More messages than one sync batch, through the background threads. Every
 * message ends up in cur/ with its bytes, nothing stays in tmp/. */
static void many_messages_through_the_threads(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "Bulk", &folder, &fi), MP_OK);
    enum { N = 300 };
    static char keys[N][256];
    for (int i = 0; i < N; i++) {
        char *body = mp_strf("Subject: %d\n\nmessage number %d\n", i, i);
        assert_int_equal(put_msg(&env, folder, body, MP_FLAG_SEEN, NULL,
                                 1000 + i, keys[i], sizeof keys[i]),
                         MP_OK);
        free(body);
    }
    assert_int_equal(k->flush(folder), MP_OK);
    assert_int_equal(count_names(T("%s/.Bulk/cur", fx->root)), N);
    assert_int_equal(count_names(T("%s/.Bulk/tmp", fx->root)), 0);
    for (int i = 0; i < N; i++) {
        char *path = mp_strf("%s/.Bulk/cur/%s:2,S", fx->root, keys[i]);
        size_t len;
        char *got = mp_read_file(path, &len);
        char *want = mp_strf("Subject: %d\n\nmessage number %d\n", i, i);
        assert_string_equal(got, want);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mtime, 1000 + i);
        free(got);
        free(want);
        free(path);
    }
    /* Scan after the batches: every key, in order. */
    md_msgs m;
    assert_int_equal(md_scan_all(&env, folder, 0, &m), MP_OK);
    assert_int_equal(m.n, N);
    md_msgs_free(&m);
    /* A flag change right after commits (not yet flushed) still works. */
    char key[256];
    assert_int_equal(put_msg(&env, folder, "x\n", 0, NULL, 5, key, sizeof key),
                     MP_OK);
    assert_int_equal(k->set_flags(folder, key, MP_FLAG_FLAGGED, NULL), MP_OK);
    assert_true(mp_file_exists(T("%s/.Bulk/cur/%s:2,F", fx->root, key)));
    assert_int_equal(k->close_folder(folder), MP_OK);
    md_env_close(&env);
}


/* A message larger than the plugin keeps in memory (4 MiB) goes to tmp/
 * as it arrives: byte-exact after flush, with its date; aborted, it leaves
 * nothing. */
static void message_too_large_for_memory(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    size_t big = 5 * 1024 * 1024 + 333;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (i % 73 == 72) ? '\n' : (char)('a' + i % 23);
    char *tmp = T("%s/tmp", fx->root), *cur = T("%s/cur", fx->root);

    mp_msg_info info = {.struct_size = sizeof info, .key = "big",
                        .size = big, .internal_date = 77};
    void *put;
    char key[256];
    assert_int_equal(k->put_begin(folder, &info, &put), MP_OK);
    for (size_t off = 0; off < big; off += 65536)
        assert_int_equal(k->put_write(put, body + off,
                                      big - off < 65536 ? big - off : 65536),
                         MP_OK);
    /* Past 4 MiB it is a file in tmp/ already. */
    assert_int_equal(count_names(tmp), 1);
    assert_int_equal(k->put_commit(put, key, sizeof key), MP_OK);
    assert_int_equal(k->flush(folder), MP_OK);
    assert_int_equal(count_names(tmp), 0);
    char *file = T("%s/%s:2,", cur, key);
    size_t len;
    char *got = mp_read_file(file, &len);
    assert_int_equal(len, big);
    assert_memory_equal(got, body, big);
    free(got);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mtime, 77);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The same size aborted half-way, after the spill. */
    assert_int_equal(k->put_begin(folder, &info, &put), MP_OK);
    assert_int_equal(k->put_write(put, body, big), MP_OK);
    assert_int_equal(count_names(tmp), 1);
    k->put_abort(put);
    assert_int_equal(count_names(tmp), 0);
    assert_int_equal(k->close_folder(folder), MP_OK);
    assert_int_equal(count_names(cur), 1);
    free(body);
    md_env_close(&env);
}

/* A write that fails on a background thread (here: EFBIG from a file size
 * limit) is reported by the next flush naming the message's file, then by
 * every later put_commit; the message never shows in cur/ and tmp/ is
 * left clean. */
static void background_write_failure_is_reported(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 64 * 1024;
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);

    size_t big_len = 100 * 1024;
    char *big = malloc(big_len + 1);
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    char k1[256], k2[256], k3[256];
    assert_int_equal(put_msg(&env, folder, "Subject: small\n\nok\n", 0, NULL,
                             100, k1, sizeof k1),
                     MP_OK);
    /* Committed: the write happens later, on a writer thread. */
    mp_msg_info info = {.struct_size = sizeof info, .key = "big",
                        .internal_date = 200};
    void *put;
    assert_int_equal(k->put_begin(folder, &info, &put), MP_OK);
    assert_int_equal(k->put_write(put, big, big_len), MP_OK);
    assert_int_equal(k->put_commit(put, k2, sizeof k2), MP_OK);
    assert_int_equal(k->flush(folder), MP_FATAL);
    assert_int_equal(env.host.err_kind, MP_ERR_IO);
    char unique[256];
    snprintf(unique, sizeof unique, "tmp/%.*s", (int)strcspn(k2, ","), k2);
    assert_contains(env.host.err, "cannot write");
    assert_contains(env.host.err, unique);
    assert_contains(env.host.err, strerror(EFBIG));
    assert_contains(env.host.err, "folder \"INBOX\"");
    /* Sticky: the next commit fails with the same report. */
    mp_host_clear_error(&env.host);
    assert_int_equal(put_msg(&env, folder, "Subject: later\n\nno\n", 0, NULL,
                             300, k3, sizeof k3),
                     MP_FATAL);
    assert_contains(env.host.err, unique);
    assert_int_equal(k->close_folder(folder), MP_FATAL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_sig);

    assert_int_equal(count_names(T("%s/tmp", fx->root)), 0);
    size_t n;
    char **names = md_dir_names(T("%s/cur", fx->root), &n);
    /* The small message may or may not have been placed before the
     * failure; the big one never is. */
    assert_true(n <= 1);
    if (n == 1)
        assert_string_equal(names[0], T("%s:2,", k1));
    md_names_free(names);
    free(big);
    md_env_close(&env);
}

/* flush_start/flush_wait through the plugin's table: the wait returns once
 * the messages committed before the start are in cur/ with their bytes
 * (those committed after it need not be); a write failure inside the next
 * group is reported by its flush_wait, naming the file, as flush would. */
static void flush_start_and_wait(void **state)
{
    fixture *fx = *state;
    char *url = T("maildir:%s", fx->root);
    md_env env;
    assert_int_equal(md_env_open(&env, url, 1), MP_OK);
    const mp_sink_ops *k = env.plugin->sink;
    assert_true(MP_HAS_SLOT(k, mp_sink_ops, flush_start));
    assert_true(MP_HAS_SLOT(k, mp_sink_ops, flush_wait));
    void *folder;
    mp_folder_info fi = {.struct_size = sizeof fi};
    assert_int_equal(k->open_folder(env.store, "INBOX", &folder, &fi), MP_OK);
    enum { N = 5, LATER = 3 };
    static char keys[N + LATER][256];
    for (int i = 0; i < N + LATER; i++) {
        if (i == N)
            assert_int_equal(k->flush_start(folder), MP_OK);
        char *body = mp_strf("Subject: %d\n\ngroup message %d\n", i, i);
        assert_int_equal(put_msg(&env, folder, body, MP_FLAG_SEEN, NULL,
                                 1000 + i, keys[i], sizeof keys[i]),
                         MP_OK);
        free(body);
    }
    assert_int_equal(k->flush_wait(folder), MP_OK);
    for (int i = 0; i < N; i++) {
        char *path = mp_strf("%s/cur/%s:2,S", fx->root, keys[i]);
        if (!mp_file_exists(path))
            fail_msg("message %d of the group is not in cur/", i);
        size_t len;
        char *got = mp_read_file(path, &len);
        char *want = mp_strf("Subject: %d\n\ngroup message %d\n", i, i);
        assert_string_equal(got, want);
        free(got);
        free(want);
        free(path);
    }

    /* The next group: the LATER messages and one too large to write. */
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 64 * 1024;
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    size_t big_len = 100 * 1024;
    char *big = malloc(big_len);
    memset(big, 'x', big_len);
    mp_msg_info info = {.struct_size = sizeof info, .key = "big",
                        .internal_date = 200};
    void *put;
    char kb[256];
    assert_int_equal(k->put_begin(folder, &info, &put), MP_OK);
    assert_int_equal(k->put_write(put, big, big_len), MP_OK);
    assert_int_equal(k->put_commit(put, kb, sizeof kb), MP_OK);
    assert_int_equal(k->flush_start(folder), MP_OK);
    mp_host_clear_error(&env.host);
    assert_int_equal(k->flush_wait(folder), MP_FATAL);
    assert_int_equal(env.host.err_kind, MP_ERR_IO);
    char unique[256];
    snprintf(unique, sizeof unique, "tmp/%.*s", (int)strcspn(kb, ","), kb);
    assert_contains(env.host.err, "cannot write");
    assert_contains(env.host.err, unique);
    assert_contains(env.host.err, strerror(EFBIG));
    assert_int_equal(k->close_folder(folder), MP_FATAL);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_sig);
    assert_int_equal(count_names(T("%s/tmp", fx->root)), 0);
    assert_false(mp_file_exists(T("%s/cur/%s:2,", fx->root, kb)));
    free(big);
    md_env_close(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_commit_flush_cycle, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(abort_leaves_nothing_and_close_flushes,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(large_message_streams_in_chunks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(set_flags_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(forwarded_both_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(
            source_scan_ignores_tmp_and_control_files, setup, teardown),
        cmocka_unit_test_setup_teardown(lists_parents_first, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_bad_names_and_params, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(one_put_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(many_messages_through_the_threads,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(message_too_large_for_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(background_write_failure_is_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(flush_start_and_wait, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
