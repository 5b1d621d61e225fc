/* Line-ending normalisation end to end (issues 10 and 8.7): the corpus's
 * CR-only messages (old Mac mail, sisimai/mac-cr) and a CRLF mbox go into
 * Maildir as LF and into a real Dovecot as CRLF, with nothing but line
 * breaks changed; Dovecot then reads their Subject and Message-ID; re-runs
 * copy nothing, with the state and without it; verify finds nothing.
 *
 * The expected bytes come from mp_lf_form (testutil), written apart from
 * the product's converter (core/engine/eol.c) from the README's rule. */
#include "dovecot.h"
#include "sync_check.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct blob {
    char *data;
    size_t len;
} blob;

typedef struct fixture {
    mp_dovecot *dc;
    char *dir;
    char *imap;    /* alice's account */
    blob *msgs;    /* the mac-cr messages, as in the corpus */
    size_t n;      /* how many */
    char *maildir; /* maildir:... holding all of them */
    char *mbox;    /* mbox:... holding those an mbox can carry */
    size_t n_mbox;
    size_t with_subject, with_id; /* of the messages, in their LF form */
} fixture;

/* The rule, from testutil (written apart from core/engine/eol.c). */
static blob lf_form(const char *b, size_t len)
{
    blob o;
    o.data = mp_lf_form(b, len, &o.len);
    return o;
}

static int by_bytes(const void *a, const void *b)
{
    const blob *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->data, y->data, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Does the header block of LF text M have a field NAME? */
static int has_field(const blob *m, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = m->data; p && *p && *p != '\n';) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return 1;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return 0;
}

/* Every message file of Maildir folder DIR (cur/ and new/). */
static blob *read_maildir(const char *dir, size_t *n)
{
    blob *v = NULL;
    *n = 0;
    static const char *const subs[] = {"cur", "new"};
    for (int s = 0; s < 2; s++) {
        char *sub = mp_strf("%s/%s", dir, subs[s]);
        DIR *d = opendir(sub);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char *path = mp_strf("%s/%s", sub, e->d_name);
            v = realloc(v, (*n + 1) * sizeof *v);
            v[*n].data = mp_read_file(path, &v[*n].len);
            (*n)++;
            free(path);
        }
        if (d)
            closedir(d);
        free(sub);
    }
    return v;
}

static void free_blobs(blob *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
    free(v);
}

/* The last bytes of M, escaped, for a failure message (static). */
static const char *tail_of(const blob *m)
{
    static char out[2][64];
    static int k;
    char *o = out[k ^= 1];
    size_t w = 0;
    for (size_t i = m->len > 12 ? m->len - 12 : 0; i < m->len; i++) {
        char c = m->data[i];
        if (c == '\r' || c == '\n') {
            o[w++] = '\\';
            o[w++] = c == '\r' ? 'r' : 'n';
        } else
            o[w++] = c >= 32 && c < 127 ? c : '?';
    }
    o[w] = '\0';
    return o;
}

/* GOT (N files) must be exactly WANT's messages (M of them, in the
 * corpus's bytes) with every line break as LF (CRLF when CRLF): no other
 * byte changed, none lost, none twice. */
static void assert_same_as(const char *what, blob *got, size_t n,
                           const blob *want, size_t m, int crlf)
{
    if (n != m)
        fail_msg("%s: %zu messages, want %zu", what, n, m);
    blob *w = calloc(m + 1, sizeof *w);
    for (size_t i = 0; i < m; i++) {
        blob lf = lf_form(want[i].data, want[i].len);
        if (!crlf) {
            w[i] = lf;
            continue;
        }
        w[i].data = malloc(2 * lf.len + 1);
        for (size_t k = 0; k < lf.len; k++) {
            if (lf.data[k] == '\n')
                w[i].data[w[i].len++] = '\r';
            w[i].data[w[i].len++] = lf.data[k];
        }
        free(lf.data);
    }
    qsort(got, n, sizeof *got, by_bytes);
    qsort(w, m, sizeof *w, by_bytes);
    for (size_t i = 0; i < n; i++)
        if (by_bytes(&got[i], &w[i]) != 0)
            fail_msg("%s: message %zu (sorted) differs from the corpus's "
                     "bytes in the %s form (%zu vs %zu bytes; ends "
                     "\"%s\" vs \"%s\")",
                     what, i, crlf ? "CRLF" : "LF", got[i].len, w[i].len,
                     tail_of(&got[i]), tail_of(&w[i]));
    free_blobs(w, m);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    *state = f;
    f->dir = mp_tmpdir("eol");
    setenv("XDG_STATE_HOME", f->dir, 1);
    char *corpus = mp_strf("%s/eml/sisimai/mac-cr", mp_corpora());
    DIR *d = opendir(corpus);
    assert_non_null(d);
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".eml")) {
            names = realloc(names, (f->n + 1) * sizeof *names);
            names[f->n++] = strdup(e->d_name);
        }
    closedir(d);
    assert_int_equal(f->n, 80);
    f->msgs = calloc(f->n, sizeof *f->msgs);
    /* A Maildir of them all (dated by file time), and an mbox of those
     * that do not start with a From_ line of their own (four do; an mbox
     * would quote it). */
    char *md = mp_strf("%s/mac-maildir", f->dir);
    assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", md, md, md),
                     0);
    char *mbox_path = mp_strf("%s/mac.mbox", f->dir);
    FILE *mb = fopen(mbox_path, "w");
    assert_non_null(mb);
    for (size_t i = 0; i < f->n; i++) {
        char *p = mp_strf("%s/%s", corpus, names[i]);
        blob *m = &f->msgs[i];
        m->data = mp_read_file(p, &m->len);
        /* Nothing but CR line ends, as the corpus says. */
        assert_null(memchr(m->data, '\n', m->len));
        char *file = mp_strf("%s/cur/%zu.mac%zu:2,S", md, 1400000000 + i, i);
        mp_write_file(file, m->data, m->len);
        char *cmd = mp_strf("touch -d @%zu '%s'", 1400000000 + i, file);
        assert_int_equal(system(cmd), 0);
        if (strncmp(m->data, "From ", 5) != 0) {
            fprintf(mb, "From MAILER-DAEMON Thu Jan  1 00:00:00 2015\n");
            fwrite(m->data, 1, m->len, mb);
            /* The message's last line ends here (its CR, then this LF are
             * one line break), then the separating empty line. */
            fputs("\n\n", mb);
            f->n_mbox++;
        }
        blob lf = lf_form(m->data, m->len);
        f->with_subject += has_field(&lf, "Subject");
        f->with_id += has_field(&lf, "Message-ID");
        free(lf.data);
        free(cmd);
        free(file);
        free(p);
        free(names[i]);
    }
    assert_int_equal(fclose(mb), 0);
    free(names);
    free(corpus);
    assert_int_equal(f->n_mbox, 76); /* 4 start with a From_ line */
    assert_true(f->with_subject >= 70 && f->with_id >= 60);
    f->maildir = mp_strf("maildir:%s", md);
    f->mbox = mp_strf("mbox:%s", mbox_path);
    free(md);
    free(mbox_path);

    f->dc = mp_dovecot_start();
    mp_dovecot_add_users(f->dc, "alice", "alice-secret", "bob", "bob-secret",
                         NULL);
    f->imap = mp_dovecot_url(f->dc, "imap", "alice");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mp_dovecot_stop(f->dc);
    mp_rm_rf(f->dir);
    free_blobs(f->msgs, f->n);
    free(f->dir);
    free(f->imap);
    free(f->maildir);
    free(f->mbox);
    free(f);
    return 0;
}

/* The messages the mbox holds: those not starting "From ", each as the
 * mbox has it, with the LF that ends its last line. That LF is part of
 * the message, so by the rule a message ending in CR CR (an empty last
 * line) ends in CR CR LF there: one line break, not two. */
static blob *mbox_subset(const fixture *f)
{
    blob *v = calloc(f->n + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (strncmp(f->msgs[i].data, "From ", 5) != 0) {
            v[k].data = malloc(f->msgs[i].len + 2);
            memcpy(v[k].data, f->msgs[i].data, f->msgs[i].len);
            v[k].data[f->msgs[i].len] = '\n';
            v[k].len = f->msgs[i].len + 1;
            k++;
        }
    return v;
}

/* copy SRC DST twice more: with the state, then without it (content
 * identity alone); both find all N present and copy nothing. Then verify
 * exits 0 with nothing missing or different. */
static void reruns_copy_nothing(fixture *f, const char *src, const char *dst,
                                const char *state_db, int n)
{
    char *report = mp_strf("%s/report.json", f->dir);
    char *rep = sync_copy(src, dst, state_db, report, 0, NULL);
    sync_assert_counts(rep, 0, n, 0, 0);
    free(rep);
    const char *args[] = {"copy",     src,    dst, "--no-state",
                          "--report", report, NULL};
    mp_run_result r = mp_runv(args);
    if (r.exit_code != 0)
        fail_msg("copy --no-state: exit %d\n%s", r.exit_code, r.err);
    mp_run_free(&r);
    rep = mp_read_file(report, NULL);
    sync_assert_counts(rep, 0, n, 0, 0);
    free(rep);
    r = mp_run("verify", src, dst, "--no-state", NULL);
    if (r.exit_code != 0)
        fail_msg("verify %s %s: exit %d\n%s%s", src, dst, r.exit_code, r.out,
                 r.err);
    char *want = mp_strf("verified %d messages in 1 folders: 0 missing, 0 "
                         "different",
                         n);
    assert_contains(r.err, want);
    free(want);
    mp_run_free(&r);
    free(report);
}

static void cr_only_mail_lands_as_lf_in_maildir(void **state)
{
    fixture *f = *state;
    char *dst_dir = mp_strf("%s/md-from-md", f->dir);
    char *dst = mp_strf("maildir:%s", dst_dir);
    char *st = mp_strf("%s/md-md.sqlite", f->dir);
    char *report = mp_strf("%s/report.json", f->dir);
    char *rep = sync_copy(f->maildir, dst, st, report, 0, NULL);
    sync_assert_counts(rep, (int)f->n, 0, 0, 0);
    free(rep);
    size_t n;
    blob *got = read_maildir(dst_dir, &n);
    assert_same_as("Maildir -> Maildir", got, n, f->msgs, f->n, 0);
    for (size_t i = 0; i < n; i++)
        assert_null(memchr(got[i].data, '\r', got[i].len));
    free_blobs(got, n);
    reruns_copy_nothing(f, f->maildir, dst, st, (int)f->n);

    /* From the mbox too. */
    char *dst2_dir = mp_strf("%s/md-from-mbox", f->dir);
    char *dst2 = mp_strf("maildir:%s", dst2_dir);
    char *st2 = mp_strf("%s/mbox-md.sqlite", f->dir);
    rep = sync_copy(f->mbox, dst2, st2, report, 0, NULL);
    sync_assert_counts(rep, (int)f->n_mbox, 0, 0, 0);
    free(rep);
    got = read_maildir(dst2_dir, &n);
    blob *want = mbox_subset(f);
    assert_same_as("mbox -> Maildir", got, n, want, f->n_mbox, 0);
    free_blobs(want, f->n_mbox);
    free_blobs(got, n);
    reruns_copy_nothing(f, f->mbox, dst2, st2, (int)f->n_mbox);
    free(dst_dir);
    free(dst);
    free(st);
    free(dst2_dir);
    free(dst2);
    free(st2);
    free(report);
}

/* How many of FOLDER's messages on USER's Dovecot have a Subject and a
 * Message-ID field as Dovecot parses the header (HEADER.FIELDS returns
 * only fields it found). */
static void dovecot_fields(fixture *f, const char *user, const char *folder,
                           size_t *subjects, size_t *ids, size_t *msgs)
{
    char *sel = mp_strf("SELECT \"%s\"", folder);
    const char *cmds[] = {
        sel, "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)])", NULL};
    char *out = mp_dovecot_session(f->dc, user, cmds);
    *subjects = *ids = *msgs = 0;
    for (const char *p = out; (p = strstr(p, " FETCH (")); p++)
        (*msgs)++;
    for (const char *p = out; *p; p++)
        if (*p == '\n') {
            *subjects += strncasecmp(p + 1, "Subject:", 8) == 0;
            *ids += strncasecmp(p + 1, "Message-ID:", 11) == 0;
        }
    free(out);
    free(sel);
}

/* Dovecot stores the messages of FOLDER (a Maildir++ sub-folder name
 * or "" for INBOX) as USER's; every line break in them must be a real one
 * (no lone CR), and their text the corpus's. */
static void assert_dovecot_holds(fixture *f, const char *user,
                                 const char *folder, const blob *want, size_t m)
{
    char *root = mp_dovecot_maildir(f->dc, user);
    char *dir = mp_strf("%s%s%s", root, *folder ? "/." : "", folder);
    size_t n;
    blob *got = read_maildir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < got[i].len; k++)
            if (got[i].data[k] == '\r' &&
                (k + 1 == got[i].len || got[i].data[k + 1] != '\n'))
                fail_msg("Dovecot keeps a lone CR in a message of %s", folder);
        blob lf = lf_form(got[i].data, got[i].len);
        free(got[i].data);
        got[i] = lf;
    }
    assert_same_as("on Dovecot", got, n, want, m, 0);
    free_blobs(got, n);
    free(dir);
    free(root);
}

static void cr_only_mail_reaches_dovecot_readable(void **state)
{
    fixture *f = *state;
    char *st = mp_strf("%s/md-imap.sqlite", f->dir);
    char *report = mp_strf("%s/report.json", f->dir);
    char *rep = sync_copy(f->maildir, f->imap, st, report, 0, NULL);
    size_t subjects, ids, msgs;
    dovecot_fields(f, "alice", "INBOX", &subjects, &ids, &msgs);
    printf("mac-cr on Dovecot: %zu messages, %zu with Subject, %zu with "
           "Message-ID (in the corpus: %zu, %zu)\n",
           msgs, subjects, ids, f->with_subject, f->with_id);
    fflush(stdout);
    sync_assert_counts(rep, (int)f->n, 0, 0, 0);
    /* Nothing is read back as altered: the server got real line breaks. */
    assert_contains(rep, "\"altered\": 0");
    free(rep);
    assert_int_equal(msgs, f->n);
    assert_int_equal(subjects, f->with_subject);
    assert_int_equal(ids, f->with_id);
    assert_dovecot_holds(f, "alice", "", f->msgs, f->n);
    reruns_copy_nothing(f, f->maildir, f->imap, st, (int)f->n);

    /* mbox -> IMAP, into bob's account. */
    char *bob = mp_dovecot_url(f->dc, "imap", "bob");
    char *st2 = mp_strf("%s/mbox-imap.sqlite", f->dir);
    rep = sync_copy(f->mbox, bob, st2, report, 0, NULL);
    sync_assert_counts(rep, (int)f->n_mbox, 0, 0, 0);
    free(rep);
    blob *want = mbox_subset(f);
    size_t want_subjects = 0, want_ids = 0;
    for (size_t i = 0; i < f->n_mbox; i++) {
        blob lf = lf_form(want[i].data, want[i].len);
        want_subjects += has_field(&lf, "Subject");
        want_ids += has_field(&lf, "Message-ID");
        free(lf.data);
    }
    dovecot_fields(f, "bob", "INBOX", &subjects, &ids, &msgs);
    assert_int_equal(msgs, f->n_mbox);
    assert_int_equal(subjects, want_subjects);
    assert_int_equal(ids, want_ids);
    assert_dovecot_holds(f, "bob", "", want, f->n_mbox);
    reruns_copy_nothing(f, f->mbox, bob, st2, (int)f->n_mbox);

    /* Back from Dovecot into a Maildir: LF, the corpus's text; the backup
     * verifies against the original CR-only Maildir. */
    char *back_dir = mp_strf("%s/backup", f->dir);
    char *back = mp_strf("maildir:%s", back_dir);
    char *st3 = mp_strf("%s/imap-md.sqlite", f->dir);
    rep = sync_copy(f->imap, back, st3, report, 0, NULL);
    sync_assert_counts(rep, (int)f->n, 0, 0, 0);
    free(rep);
    size_t n;
    blob *got = read_maildir(back_dir, &n);
    assert_same_as("IMAP -> Maildir", got, n, f->msgs, f->n, 0);
    free_blobs(got, n);
    reruns_copy_nothing(f, f->imap, back, st3, (int)f->n);
    mp_run_result r = mp_run("verify", f->maildir, back, "--no-state", NULL);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    free_blobs(want, f->n_mbox);
    free(bob);
    free(back_dir);
    free(back);
    free(st);
    free(st2);
    free(st3);
    free(report);
}

/* A CRLF mbox (and one mixing every style) lands as LF in Maildir, goes
 * to IMAP as CRLF, and re-runs find it all present. */
static void crlf_and_mixed_mbox_land_as_lf(void **state)
{
    fixture *f = *state;
    static const char *const msgs[] = {
        "From: a@example.org\r\nSubject: crlf one\r\nMessage-ID: "
        "<crlf-1@example.org>\r\nDate: Mon, 4 Mar 2024 09:15:00 +0100\r\n\r\n"
        "body\r\n\r\nmore\r\n",
        "From: a@example.org\r\nSubject: crlf two, no Message-ID\r\n"
        "Date: Tue, 5 Mar 2024 09:15:00 +0100\r\n\r\nbody two\r\n",
        "From: a@example.org\rSubject: mixed\r\r\nMessage-ID: "
        "<mixed@example.org>\nDate: Wed, 6 Mar 2024 09:15:00 +0100\r\n\r"
        "line cr\rline crcrlf\r\r\nline lf\nline crlf\r\n",
    };
    size_t n = sizeof msgs / sizeof msgs[0];
    char *path = mp_strf("%s/crlf.mbox", f->dir);
    FILE *mb = fopen(path, "w");
    blob want[3];
    for (size_t i = 0; i < n; i++) {
        /* A CRLF mbox: the From_ lines and separators are CRLF too. */
        fprintf(mb, "From a@example.org Mon Mar  4 09:15:00 2024\r\n%s\r\n",
                msgs[i]);
        want[i] = (blob){(char *)msgs[i], strlen(msgs[i])};
    }
    assert_int_equal(fclose(mb), 0);
    char *src = mp_strf("mbox:%s", path);
    char *dst_dir = mp_strf("%s/md-crlf", f->dir);
    char *dst = mp_strf("maildir:%s", dst_dir);
    char *st = mp_strf("%s/crlf-md.sqlite", f->dir);
    char *report = mp_strf("%s/report.json", f->dir);
    char *rep = sync_copy(src, dst, st, report, 0, NULL);
    sync_assert_counts(rep, (int)n, 0, 0, 0);
    free(rep);
    size_t got_n;
    blob *got = read_maildir(dst_dir, &got_n);
    for (size_t i = 0; i < got_n; i++)
        assert_null(memchr(got[i].data, '\r', got[i].len));
    assert_same_as("CRLF mbox -> Maildir", got, got_n, want, n, 0);
    free_blobs(got, got_n);
    reruns_copy_nothing(f, src, dst, st, (int)n);

    /* Into IMAP: Dovecot parses the mixed one's fields too. */
    char *st2 = mp_strf("%s/crlf-imap.sqlite", f->dir);
    char *imap = mp_dovecot_url(f->dc, "imap", "bob");
    const char *args[] = {"copy",  src,           imap, "--state", st2,
                          "--map", "INBOX=Mixed", "-q", NULL};
    mp_run_result r = mp_runv(args);
    assert_int_equal(r.exit_code, 0);
    mp_run_free(&r);
    size_t subjects, ids, msgs_n;
    dovecot_fields(f, "bob", "Mixed", &subjects, &ids, &msgs_n);
    assert_int_equal(msgs_n, n);
    assert_int_equal(subjects, n);
    assert_int_equal(ids, 2);
    assert_dovecot_holds(f, "bob", "Mixed", want, n);
    free(imap);
    free(st2);
    free(path);
    free(src);
    free(dst_dir);
    free(dst);
    free(st);
    free(report);
}

/* A message without a final line break gets one in an mbox (the format
 * needs it): it is still the same message, for verify and for a re-run
 * without the state, which copies nothing (it used to copy it again). */
static void no_final_line_break_into_mbox(void **state)
{
    fixture *f = *state;
    char *md = mp_strf("%s/nofinal", f->dir);
    assert_int_equal(mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", md, md, md),
                     0);
    static const char lf[] = "From: a@example.org\nMessage-ID: <nf@example.org>"
                             "\n\nno final line break";
    static const char cr[] = "From: a@example.org\rSubject: cr, no final\r\r"
                             "body";
    char *p1 = mp_strf("%s/cur/1.a:2,", md), *p2 = mp_strf("%s/cur/2.b:2,", md);
    mp_write_file(p1, lf, sizeof lf - 1);
    mp_write_file(p2, cr, sizeof cr - 1);
    char *src = mp_strf("maildir:%s", md);
    char *out = mp_strf("%s/nofinal.mbox", f->dir);
    char *dst = mp_strf("mbox:%s", out);
    char *st = mp_strf("%s/nofinal.sqlite", f->dir);
    char *report = mp_strf("%s/report.json", f->dir);
    char *rep = sync_copy(src, dst, st, report, 0, NULL);
    sync_assert_counts(rep, 2, 0, 0, 0);
    free(rep);
    size_t len;
    char *text = mp_read_file(out, &len);
    assert_null(memchr(text, '\r', len));
    assert_non_null(strstr(text, "\n\nno final line break\n"));
    assert_non_null(strstr(text, "Subject: cr, no final\n\nbody\n"));
    free(text);
    reruns_copy_nothing(f, src, dst, st, 2);
    free(p1);
    free(p2);
    free(src);
    free(out);
    free(dst);
    free(st);
    free(report);
    free(md);
}

/* Issue 8.5: a message an IMAP server holds with CR CR LF line ends (put
 * into its Maildir by another tool) was copied into Maildir again by every
 * run without the state. It lands as LF, once. */
static void cr_cr_lf_on_the_server_is_copied_once(void **state)
{
    fixture *f = *state;
    mp_dovecot_add_user(f->dc, "carol", "carol-secret");
    char *root = mp_dovecot_maildir(f->dc, "carol");
    assert_int_equal(
        mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root), 0);
    static const char *const msgs[] = {
        "From: a@example.org\r\r\nSubject: crcrlf\r\r\nMessage-ID: "
        "<crcrlf@example.org>\r\r\n\r\r\nbody\r\r\n",
        "From: a@example.org\r\r\nSubject: crcrlf, no id\r\r\n\r\r\n"
        "body two\r\r\n",
    };
    blob want[2];
    for (int i = 0; i < 2; i++) {
        char *p = mp_strf("%s/cur/%d.crcrlf%d:2,S", root, 1400000100 + i, i);
        mp_write_file(p, msgs[i], strlen(msgs[i]));
        want[i] = (blob){(char *)msgs[i], strlen(msgs[i])};
        free(p);
    }
    mp_dovecot_fix_owner(f->dc);
    char *carol = mp_dovecot_url(f->dc, "imap", "carol");
    char *dst_dir = mp_strf("%s/carol-backup", f->dir);
    char *dst = mp_strf("maildir:%s", dst_dir);
    char *st = mp_strf("%s/carol.sqlite", f->dir);
    char *report = mp_strf("%s/report.json", f->dir);
    char *rep = sync_copy(carol, dst, st, report, 0, NULL);
    sync_assert_counts(rep, 2, 0, 0, 0);
    free(rep);
    size_t n;
    blob *got = read_maildir(dst_dir, &n);
    assert_same_as("CR CR LF from IMAP -> Maildir", got, n, want, 2, 0);
    free_blobs(got, n);
    reruns_copy_nothing(f, carol, dst, st, 2);
    free(carol);
    free(dst_dir);
    free(dst);
    free(st);
    free(report);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cr_only_mail_lands_as_lf_in_maildir),
        cmocka_unit_test(cr_only_mail_reaches_dovecot_readable),
        cmocka_unit_test(crlf_and_mixed_mbox_land_as_lf),
        cmocka_unit_test(no_final_line_break_into_mbox),
        cmocka_unit_test(cr_cr_lf_on_the_server_is_copied_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
