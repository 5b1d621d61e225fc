/* Through the mailport binary: every corpus mbox copied into a Maildir
 * (the maildir plugin) must come out byte for byte as the reference split;
 * mbox -> mbox round trips; bad inputs give the documented exit codes and
 * messages naming the file. */
#include "mbox_reference.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp;

typedef struct blob {
    char *data;
    size_t len;
} blob;

static int by_bytes(const void *a, const void *b)
{
    const blob *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* The files of Maildir folder DIR (cur/ and new/), read whole. */
static blob *maildir_files(const char *dir, size_t *n)
{
    blob *out = NULL;
    *n = 0;
    const char *subs[] = {"cur", "new"};
    for (size_t s = 0; s < 2; s++) {
        char *sub = mp_strf("%s/%s", dir, subs[s]);
        DIR *d = opendir(sub);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", sub, e->d_name);
            out = realloc(out, (*n + 1) * sizeof *out);
            out[*n].data = mp_read_file(path, &out[*n].len);
            (*n)++;
            free(path);
        }
        if (d)
            closedir(d);
        free(sub);
    }
    return out;
}

static void add_tree(const char *dir, int in_mail_dir, blob **out, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = mp_strf("%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            int mail =
                strcmp(e->d_name, "cur") == 0 || strcmp(e->d_name, "new") == 0;
            add_tree(path, mail, out, n);
        } else if (in_mail_dir) {
            *out = realloc(*out, (*n + 1) * sizeof **out);
            (*out)[*n].data = mp_read_file(path, &(*out)[*n].len);
            (*n)++;
        }
        free(path);
    }
    if (d)
        closedir(d);
}

/* Every message file (in a cur/ or new/) anywhere under ROOT. */
static blob *maildir_files_tree(const char *root, size_t *n)
{
    blob *out = NULL;
    *n = 0;
    add_tree(root, 0, &out, n);
    return out;
}

static void free_blobs(blob *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(b[i].data);
    free(b);
}

/* BYTES in the form an LF store keeps (testutil's reference). */
static blob lf_form(const char *bytes, size_t len)
{
    blob b;
    b.data = mp_lf_form(bytes, len, &b.len);
    return b;
}

/* The Maildir must hold exactly the reference messages (as a multiset:
 * Maildir has no order), in their LF form: a CRLF mbox lands as LF. */
static void assert_same_messages(const char *what, const ref_split *ref,
                                 const char *maildir)
{
    size_t n;
    blob *got = maildir_files(maildir, &n);
    if (n != ref->n)
        fail_msg("%s: %zu files in the Maildir, reference %zu messages", what,
                 n, ref->n);
    blob *want = calloc(ref->n + 1, sizeof *want);
    for (size_t i = 0; i < ref->n; i++)
        want[i] = lf_form(ref->msgs[i].data, ref->msgs[i].len);
    if (n > 0) {
        qsort(got, n, sizeof *got, by_bytes);
        qsort(want, n, sizeof *want, by_bytes);
    }
    for (size_t i = 0; i < n; i++)
        if (by_bytes(&got[i], &want[i]) != 0)
            fail_msg("%s: Maildir file differs from the reference "
                     "(sorted position %zu: %zu vs %zu bytes)",
                     what, i, got[i].len, want[i].len);
    free_blobs(want, ref->n);
    free_blobs(got, n);
}

static void every_corpus_mbox_lands_byte_exact_in_maildir(void **state)
{
    (void)state;
    char *root = mp_strf("%s/mbox/", mp_corpora());
    size_t copied = 0;
    for (size_t i = 0; i < mbox_ref_n_files; i++) {
        const char *path = mbox_ref_files[i];
        const char *rel = path + strlen(root);
        if (mbox_ref_expected_error(rel))
            continue;
        size_t len;
        char *bytes = mbox_ref_file_bytes(path, &len);
        ref_split ref = mbox_ref_split(bytes, len, 1);
        free(bytes);
        char *src = mp_strf("mbox:%s", path);
        char *dest = mp_strf("maildir:%s/md%zu", tmp, i);
        char *state_db = mp_strf("%s/state%zu.db", tmp, i);
        mp_run_result r =
            mp_run("copy", src, dest, "--state", state_db, "--quiet", NULL);
        if (r.exit_code != 0)
            fail_msg("%s: exit %d: %s", rel, r.exit_code, r.err);
        char *md = mp_strf("%s/md%zu", tmp, i);
        assert_same_messages(rel, &ref, md);
        copied += ref.n;
        mp_run_free(&r);
        free(md);
        mbox_ref_free(&ref);
        free(src);
        free(dest);
        free(state_db);
    }
    assert_true(copied > 4400);
    free(root);
}

static void mbox_to_mbox_round_trip_and_incremental_rerun(void **state)
{
    (void)state;
    const char *rels[] = {"spamassassin-ham.mbox", "git-t5100/sample.mboxrd",
                          "email-folder/testmbox.dos"};
    for (size_t i = 0; i < 3; i++) {
        char *path = mp_strf("%s/mbox/%s", mp_corpora(), rels[i]);
        char *src = mp_strf("mbox:%s", path);
        char *out = mp_strf("%s/round%zu.mbox", tmp, i);
        char *dest = mp_strf("mbox:%s", out);
        char *state_db = mp_strf("%s/round%zu.db", tmp, i);
        mp_run_result r = mp_run("copy", src, dest, "--state", state_db, NULL);
        if (r.exit_code != 0)
            fail_msg("%s: exit %d: %s", rels[i], r.exit_code, r.err);
        mp_run_free(&r);

        size_t len;
        char *a = mp_read_file(path, &len);
        ref_split want = mbox_ref_split(a, len, 1);
        free(a);
        char *b = mp_read_file(out, &len);
        ref_split got = mbox_ref_split(b, len, 1);
        free(b);
        assert_int_equal(got.n, want.n);
        for (size_t k = 0; k < got.n; k++) {
            /* Written as mboxrd, read back unquoted: the same bytes, with
             * LF line breaks (the CRLF testmbox.dos comes out LF). */
            blob lf = lf_form(want.msgs[k].data, want.msgs[k].len);
            if (got.msgs[k].len != lf.len ||
                memcmp(got.msgs[k].data, lf.data, lf.len))
                fail_msg("%s: message %zu changed in the round trip", rels[i],
                         k);
            free(lf.data);
        }
        mbox_ref_free(&want);
        mbox_ref_free(&got);

        /* A second run finds everything present, without state too. */
        r = mp_run("copy", src, dest, "--no-state", NULL);
        assert_int_equal(r.exit_code, 0);
        assert_contains(r.err, "copied 0,");
        mp_run_free(&r);
        free(path);
        free(src);
        free(out);
        free(dest);
        free(state_db);
    }
}

static void bad_inputs_fail_with_a_clear_message(void **state)
{
    (void)state;
    char *dest = mp_strf("maildir:%s/bad", tmp);
    char *state_db = mp_strf("%s/bad.db", tmp);
    const struct {
        const char *rel;
        int exit_code;
        const char *text;
    } cases[] = {
        {"neomutt/cherry.mbox", 1, "is not an mbox file"},
        {"mairix/mmdf/animals", 1, "MMDF"},
        {"email-folder/testmbox.mac", 1, "not an mbox (CR-only line endings)"},
        {"neomutt/banana.mbox?format=mboxx", 2,
         "unknown mbox format \"mboxx\""},
        {"neomutt/banana.mbox?frmat=mboxo", 2, "frmat"},
        /* An endpoint that cannot be opened at all: exit 3 (issue 12). */
        {"does/not/exist.mbox", 3, "No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *path = mp_strf("%s/mbox/%s", mp_corpora(), cases[i].rel);
        char *src = mp_strf("mbox:%s", path);
        mp_run_result r = mp_run("copy", src, dest, "--state", state_db, NULL);
        if (r.exit_code != cases[i].exit_code) {
            fail_msg("%s: exit %d, want %d: %s", cases[i].rel, r.exit_code,
                     cases[i].exit_code, r.err);
        }
        char *file = strdup(path);
        *strchrnul(file, '?') = '\0';
        assert_contains(r.err, file);
        assert_contains(r.err, cases[i].text);
        free(file);
        mp_run_free(&r);
        free(src);
        free(path);
    }
    free(dest);
    free(state_db);
}

static void directory_with_a_bad_file_copies_the_rest(void **state)
{
    (void)state;
    char *src = mp_strf("mbox:%s/mbox/mairix", mp_corpora());
    char *dest = mp_strf("maildir:%s/mairix?layout=fs", tmp);
    char *state_db = mp_strf("%s/mairix.db", tmp);
    mp_run_result r = mp_run("copy", src, dest, "--state", state_db, NULL);
    assert_int_equal(r.exit_code, 1);
    assert_contains(r.err, "mmdf/animals is not an mbox file");
    mp_run_free(&r);
    const char *folders[] = {"animals", "animals.gz", "animals.xz",
                             "corrupt_header"};
    for (size_t i = 0; i < 4; i++) {
        char *path = mp_strf("%s/mbox/mairix/%s", mp_corpora(), folders[i]);
        size_t len;
        char *bytes = mbox_ref_file_bytes(path, &len);
        ref_split ref = mbox_ref_split(bytes, len, 1);
        char *md = mp_strf("%s/mairix/%s", tmp, folders[i]);
        assert_same_messages(folders[i], &ref, md);
        mbox_ref_free(&ref);
        free(md);
        free(bytes);
        free(path);
    }
    free(src);
    free(dest);
    free(state_db);
}

/* Trees A and B hold the same message files, byte for byte (names differ
 * between runs, so compare the sorted contents). */
static void assert_same_maildir_messages(const char *a, const char *b)
{
    size_t na, nb;
    blob *x = maildir_files_tree(a, &na);
    blob *y = maildir_files_tree(b, &nb);
    assert_int_equal(na, nb);
    assert_true(na > 0);
    qsort(x, na, sizeof *x, by_bytes);
    qsort(y, nb, sizeof *y, by_bytes);
    for (size_t i = 0; i < na; i++)
        if (by_bytes(&x[i], &y[i]) != 0)
            fail_msg("message %zu of %zu differs after the round trip", i, na);
    free_blobs(x, na);
    free_blobs(y, nb);
}

static void nested_maildir_through_mbox_directory_and_back(void **state)
{
    (void)state;
    /* notmuch-default has folders that hold messages and sub-folders at
     * once ("bar" and "bar/baz"): they become bar and bar.sbd/baz. */
    char *src =
        mp_strf("maildir:%s/maildir/notmuch-default?layout=fs", mp_corpora());
    char *mid = mp_strf("mbox:%s/nested/", tmp);
    char *back = mp_strf("maildir:%s/nested-back?layout=fs", tmp);
    char *s1 = mp_strf("%s/nested1.db", tmp);
    char *s2 = mp_strf("%s/nested2.db", tmp);
    mp_run_result r = mp_run("copy", src, mid, "--state", s1, NULL);
    if (r.exit_code != 0)
        fail_msg("maildir -> mbox: exit %d: %s", r.exit_code, r.err);
    mp_run_free(&r);
    char *p = mp_strf("%s/nested/bar.sbd/baz", tmp);
    assert_true(mp_file_exists(p));
    free(p);
    r = mp_run("copy", mid, back, "--state", s2, NULL);
    if (r.exit_code != 0)
        fail_msg("mbox -> maildir: exit %d: %s", r.exit_code, r.err);
    mp_run_free(&r);
    char *a = mp_strf("%s/maildir/notmuch-default", mp_corpora());
    char *b = mp_strf("%s/nested-back", tmp);
    assert_same_maildir_messages(a, b);
    free(a);
    free(b);
    free(src);
    free(mid);
    free(back);
    free(s1);
    free(s2);
}

/* Issue 14: Thunderbird local folders. */
static const char tb_inbox[] =
    "From - Mon Mar  4 09:00:00 2024\n"
    "X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\n"
    "X-Mozilla-Keys: $label1 work                                        \n"
    "Subject: read, tagged\n\none\n\n"
    "From - Tue Mar  5 09:00:00 2024\n"
    "X-Mozilla-Status: 0006\nX-Mozilla-Status2: 00000000\nStatus: RO\n"
    "Subject: replied, marked\n\ntwo\n\n"
    "From - Wed Mar  6 09:00:00 2024\n"
    "X-Mozilla-Status: 1009\nSubject: read, deleted, forwarded\n\nthree\n\n"
    "From alice@example.org Thu Mar  7 09:00:00 2024\n"
    "Status: RO\nX-Status: F\nSubject: mutt flags\n\nfour\n";
static const char tb_sub[] = "From - Fri Mar  8 09:00:00 2024\n"
                             "X-Mozilla-Status: 0001\nX-Mozilla-Keys: $label2\n"
                             "Subject: sub\n\nfive\n";
static const char tb_msf[] = "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n"
                             "< <(a=c)> // (f=iso-8859-1)(8A=Inbox)>\n";

/* "LETTERS|KEYWORDS" of the message with SUBJECT in Maildir folder DIR:
 * its info's system flag letters, and the names its keyword letters stand
 * for in DIR/dovecot-keywords, in letter order. */
static char *maildir_state_of(const char *dir, const char *subject)
{
    char *kwpath = mp_strf("%s/dovecot-keywords", dir);
    char *names[26] = {0};
    size_t kwlen;
    char *kw = access(kwpath, F_OK) == 0 ? mp_read_file(kwpath, &kwlen) : NULL;
    for (char *line = kw ? strtok(kw, "\n") : NULL; line;
         line = strtok(NULL, "\n")) {
        int idx;
        char name[128];
        if (sscanf(line, "%d %127s", &idx, name) == 2 && idx >= 0 && idx < 26)
            names[idx] = strdup(name);
    }
    free(kw);
    free(kwpath);
    char *want = mp_strf("\nSubject: %s\n", subject);
    char *found = NULL;
    char *cur = mp_strf("%s/cur", dir);
    DIR *d = opendir(cur);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = mp_strf("%s/%s", cur, e->d_name);
        size_t len;
        char *text = mp_read_file(path, &len);
        char *info = strstr(e->d_name, ":2,");
        if (strstr(text, want) && info) {
            char letters[32] = "", keys[512] = "";
            for (const char *c = info + 3; *c; c++) {
                if (*c >= 'a' && *c <= 'z')
                    snprintf(keys + strlen(keys), sizeof keys - strlen(keys),
                             "%s%s", *keys ? " " : "",
                             names[*c - 'a'] ? names[*c - 'a'] : "?");
                else
                    snprintf(letters + strlen(letters),
                             sizeof letters - strlen(letters), "%c", *c);
            }
            found = mp_strf("%s|%s", letters, keys);
        }
        free(text);
        free(path);
    }
    if (d)
        closedir(d);
    free(cur);
    free(want);
    for (int i = 0; i < 26; i++)
        free(names[i]);
    if (!found)
        fail_msg("%s: no message \"%s\"", dir, subject);
    return found;
}

static void assert_maildir_state(const char *dir, const char *subject,
                                 const char *want)
{
    char *got = maildir_state_of(dir, subject);
    if (strcmp(got, want) != 0)
        fail_msg("%s \"%s\": %s, want %s", dir, subject, got, want);
    free(got);
}

static void thunderbird_local_folders_to_maildir(void **state)
{
    (void)state;
    char *root = mp_strf("%s/tb", tmp);
    char *sbd = mp_strf("%s/Inbox.sbd", root);
    assert_int_equal(mkdir(root, 0700), 0);
    assert_int_equal(mkdir(sbd, 0700), 0);
    char *p = mp_strf("%s/Inbox", root);
    mp_write_file(p, tb_inbox, sizeof tb_inbox - 1);
    free(p);
    p = mp_strf("%s/Inbox.msf", root);
    mp_write_file(p, tb_msf, sizeof tb_msf - 1);
    free(p);
    p = mp_strf("%s/Sub", sbd);
    mp_write_file(p, tb_sub, sizeof tb_sub - 1);
    free(p);
    p = mp_strf("%s/Sub.msf", sbd);
    mp_write_file(p, tb_msf, sizeof tb_msf - 1);
    free(p);
    p = mp_strf("%s/msgFilterRules.dat", root);
    mp_write_file(p, "version=\"9\"\nlogging=\"no\"\n", 25);
    free(p);

    char *src = mp_strf("mbox:%s", root);
    mp_run_result r = mp_run("list", src, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.out, "Inbox ");
    assert_contains(r.out, "Inbox/Sub ");
    assert_null(strstr(r.out, "msf"));
    assert_null(strstr(r.out, "msgFilterRules"));
    assert_string_equal(r.err, "");
    mp_run_free(&r);

    char *md = mp_strf("%s/tb-maildir", tmp);
    char *dest = mp_strf("maildir:%s", md);
    char *state_db = mp_strf("%s/tb.db", tmp);
    r = mp_run("copy", src, dest, "--state", state_db, NULL);
    if (r.exit_code != 0)
        fail_msg("copy: exit %d: %s", r.exit_code, r.err);
    assert_null(strstr(r.err, "msf"));
    assert_null(strstr(r.err, "error"));
    assert_contains(r.err, "copied 5,");
    mp_run_free(&r);
    /* Thunderbird's Inbox is the Maildir's INBOX; no folder for an index. */
    assert_maildir_state(md, "read, tagged", "S|$label1 work");
    /* X-Mozilla-Status decides over the Status: R kept from delivery. */
    assert_maildir_state(md, "replied, marked", "FR|");
    assert_maildir_state(md, "read, deleted, forwarded", "ST|$Forwarded");
    assert_maildir_state(md, "mutt flags", "FS|");
    char *sub = mp_strf("%s/.Inbox.Sub", md);
    assert_maildir_state(sub, "sub", "S|$label2");
    free(sub);
    DIR *d = opendir(md);
    struct dirent *e;
    size_t folders = 0;
    while (d && (e = readdir(d))) {
        if (strstr(e->d_name, "msf") || strstr(e->d_name, "msgFilter"))
            fail_msg("%s: %s made a folder", md, e->d_name);
        folders += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 &&
                   strcmp(e->d_name, "..") != 0;
    }
    if (d)
        closedir(d);
    assert_int_equal(folders, 1); /* .Inbox.Sub */
    /* Message bytes are not changed. */
    ref_split ref = mbox_ref_split(tb_inbox, sizeof tb_inbox - 1, 1);
    assert_int_equal(ref.n, 4);
    assert_same_messages("tb Inbox", &ref, md);
    mbox_ref_free(&ref);
    /* Run again: nothing new, no flag to change. */
    r = mp_run("copy", src, dest, "--state", state_db, NULL);
    assert_int_equal(r.exit_code, 0);
    assert_contains(r.err, "copied 0, already present 5, flags updated 0");
    mp_run_free(&r);
    free(state_db);
    free(dest);
    free(md);
    free(src);
    free(sbd);
    free(root);
}

static int setup(void **state)
{
    (void)state;
    tmp = mp_tmpdir("mbox-e2e");
    mbox_ref_collect_corpus();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mbox_ref_free_corpus();
    mp_rm_rf(tmp);
    free(tmp);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_corpus_mbox_lands_byte_exact_in_maildir),
        cmocka_unit_test(mbox_to_mbox_round_trip_and_incremental_rerun),
        cmocka_unit_test(bad_inputs_fail_with_a_clear_message),
        cmocka_unit_test(directory_with_a_bad_file_copies_the_rest),
        cmocka_unit_test(nested_maildir_through_mbox_directory_and_back),
        cmocka_unit_test(thunderbird_local_folders_to_maildir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
