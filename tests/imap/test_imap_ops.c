/* The IMAP plugin's ops driven directly against a private Dovecot: sink
 * then source round trips, names, flags, dates, TLS, login failures,
 * refused messages, a server going away, pipelining. */
#include "testutil.h"

#include "dovecot.h"
#include "header.h"
#include "host.h"
#include "imap_store.h"

#include <mailport/plugin.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const mp_plugin *mailport_plugin_v1(void);

static mp_dovecot *dv;

/* ------------------------------------------------------------------------ */
/* An opened endpoint: URL, host and store together.                         */

typedef struct ep {
    mp_url *url;
    mp_core_host h;
    void *store;
    mp_status status;
} ep;

static ep *ep_open(const char *url_text, int sink)
{
    ep *e = calloc(1, sizeof *e);
    char err[512];
    e->url = mp_url_parse(url_text, err, sizeof err);
    if (!e->url)
        fail_msg("bad URL %s: %s", url_text, err);
    mp_host_init(&e->h, e->url);
    const mp_plugin *pl = mailport_plugin_v1();
    e->status = sink ? pl->sink->open(&e->h.pub, &e->url->ep, &e->store)
                     : pl->source->open(&e->h.pub, &e->url->ep, &e->store);
    if (e->status == MP_OK) {
        const mp_param *unasked = mp_url_unasked(e->url);
        if (unasked)
            fail_msg("parameter %s never asked for", unasked->name);
    }
    return e;
}

static ep *ep_must(const char *url_text, int sink)
{
    ep *e = ep_open(url_text, sink);
    if (e->status != MP_OK)
        fail_msg("open %s: %s", url_text, e->h.err);
    return e;
}

static void ep_close(ep *e)
{
    if (e->status == MP_OK)
        mailport_plugin_v1()->source->close(e->store);
    mp_url_free(e->url);
    free(e);
}

static char *crlf(const char *lf)
{
    size_t n = strlen(lf);
    char *out = malloc(2 * n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (lf[i] == '\n' && (i == 0 || lf[i - 1] != '\r'))
            *w++ = '\r';
        *w++ = lf[i];
    }
    *w = '\0';
    return out;
}

typedef struct commits {
    size_t n;
    mp_status status[64];
    char key[64][32];
    char err[64][2048];
    mp_core_host *host;
} commits;

static void on_commit(void *ctx, size_t seq, mp_status status, const char *key)
{
    commits *c = ctx;
    assert_int_equal(seq, c->n); /* in commit order, from 0 */
    assert_true(c->n < 64);
    c->status[c->n] = status;
    snprintf(c->key[c->n], sizeof c->key[0], "%s", key ? key : "");
    snprintf(c->err[c->n], sizeof c->err[0], "%s", c->host ? c->host->err : "");
    c->n++;
}

static mp_status flush_one(void *folder, char *key, size_t key_size)
{
    commits c = {0};
    mp_status s = mailport_plugin_v1()->sink->flush_keys(folder, on_commit, &c);
    if (s != MP_OK)
        return s;
    assert_int_equal(c.n, 1);
    snprintf(key, key_size, "%s", c.key[0]);
    return c.status[0];
}

/* Put one message; returns the status, KEY gets the new key. */
static mp_status put(ep *e, void *folder, const char *body, size_t len,
                     unsigned flags, const char *keywords, int64_t date,
                     char *key, size_t key_size)
{
    const mp_sink_ops *ops = mailport_plugin_v1()->sink;
    mp_msg_info info = {.struct_size = sizeof info, .key = "src",
                        .flags = flags, .keywords = keywords,
                        .internal_date = date, .size = len};
    void *h;
    mp_status s = ops->put_begin(folder, &info, &h);
    if (s != MP_OK)
        fail_msg("put_begin: %s", e->h.err);
    /* Write in uneven pieces as the core would. */
    size_t off = 0, piece = 1;
    while (off < len) {
        size_t n = len - off < piece ? len - off : piece;
        s = ops->put_write(h, body + off, n);
        if (s != MP_OK)
            fail_msg("put_write: %s", e->h.err);
        off += n;
        piece = piece * 3 + 1;
    }
    s = ops->put_commit(h, key, key_size);
    if (s != MP_OK || key[0])
        return s;
    /* Pipelined: the key (or the refusal) comes with flush_keys. */
    return flush_one(folder, key, key_size);
}

/* ------------------------------------------------------------------------ */
/* Collecting scans and fetches.                                             */

#define MAX_MSGS 400

typedef struct scanned {
    size_t n;
    char key[MAX_MSGS][16];
    uint64_t size[MAX_MSGS];
    unsigned flags[MAX_MSGS];
    char keywords[MAX_MSGS][128];
    int64_t date[MAX_MSGS];
    char identity[MAX_MSGS][96];
} scanned;

static mp_status on_msg(void *ctx, const mp_msg_info *info)
{
    scanned *s = ctx;
    assert_true(s->n < MAX_MSGS);
    size_t i = s->n++;
    snprintf(s->key[i], sizeof s->key[i], "%s", info->key);
    s->size[i] = info->size;
    assert_int_equal(info->vsize, info->size);
    s->flags[i] = info->flags;
    snprintf(s->keywords[i], sizeof s->keywords[i], "%s",
             info->keywords ? info->keywords : "");
    s->date[i] = info->internal_date;
    snprintf(s->identity[i], sizeof s->identity[i], "%s",
             info->identity ? info->identity : "");
    return MP_OK;
}

typedef struct fetched {
    size_t n_begin, n_end, n_bad;
    size_t current;
    char *body[MAX_MSGS];
    size_t len[MAX_MSGS];
    unsigned flags[MAX_MSGS];
    mp_status end_status[MAX_MSGS];
    /* Hooks for tests. */
    void (*after_first_data)(void);
    int hooked;
} fetched;

static mp_status f_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    fetched *f = ctx;
    assert_true(index < MAX_MSGS);
    assert_null(f->body[index]); /* each exactly once */
    f->current = index;
    f->body[index] = calloc(1, 1);
    f->flags[index] = info->flags;
    f->n_begin++;
    return MP_OK;
}

static mp_status f_data(void *ctx, const void *buf, size_t len)
{
    fetched *f = ctx;
    size_t i = f->current;
    f->body[i] = realloc(f->body[i], f->len[i] + len + 1);
    memcpy(f->body[i] + f->len[i], buf, len);
    f->len[i] += len;
    f->body[i][f->len[i]] = '\0';
    if (f->after_first_data && !f->hooked) {
        f->hooked = 1;
        f->after_first_data();
    }
    return MP_OK;
}

static mp_status f_end(void *ctx, mp_status st)
{
    fetched *f = ctx;
    f->end_status[f->current] = st;
    f->n_end++;
    if (st != MP_OK)
        f->n_bad++;
    return MP_OK;
}

static const mp_fetch_cb fetch_cb = {sizeof(mp_fetch_cb), f_begin, f_data,
                                     f_end};

static void fetched_free(fetched *f)
{
    for (size_t i = 0; i < MAX_MSGS; i++)
        free(f->body[i]);
    free(f);
}

/* ------------------------------------------------------------------------ */

static int setup(void **state)
{
    (void)state;
    dv = mp_dovecot_start();
    mp_dovecot_add_users(dv, "alice", "secret", "bob", "hunter2", "carol", "pw3",
                         "kw1", "pw", "kw2", "pw", "marker", "pw", (char *)NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_dovecot_stop(dv);
    return 0;
}

static const char msg1[] =
    "Message-ID: <one@example.org>\n"
    "From: Alice <alice@example.org>\n"
    "Subject: first\n"
    "\n"
    "Hello.\n"
    "From here on, a line starting with From.\n";
static const char msg2[] =
    "From: Bob <bob@example.org>\n"
    "Subject: no message id\n"
    "\n"
    "Body without trailing newline";
static const char msg3[] =
    "Message-ID: <three@example.org>\n"
    "Subject: =?UTF-8?Q?=C3=9Cbersicht?=\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Gr\xc3\xbc\xc3\x9f" "e\n.\n..\n";

static void test_round_trip_names_flags_dates(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *url = mp_dovecot_url(dv, "imap", "alice");
    ep *sink = ep_must(url, 1);
    const char *names[] = {"Archiv/Übersicht 2024", "Projects/Ω",
                           "Quote\"d & Co", "INBOX"};
    const char *bodies[] = {msg1, msg2, msg3};
    unsigned flags[] = {MP_FLAG_SEEN | MP_FLAG_ANSWERED,
                        MP_FLAG_FLAGGED | MP_FLAG_FORWARDED | MP_FLAG_DRAFT,
                        MP_FLAG_DELETED};
    const char *kws[] = {"$Junk NonJunk", "", "Work"};
    int64_t dates[] = {837596665, 1709251199, MP_DATE_UNKNOWN};
    char keys[4][3][32];
    for (int n = 0; n < 4; n++) {
        void *folder;
        mp_folder_info info = {.struct_size = sizeof info};
        mp_status s = pl->sink->open_folder(sink->store, names[n], &folder, &info);
        if (s != MP_OK)
            fail_msg("open_folder %s: %s", names[n], sink->h.err);
        assert_string_equal(info.name, names[n]);
        assert_true(info.validity != 0);
        for (int m = 0; m < 3; m++) {
            char *wire = crlf(bodies[m]);
            s = put(sink, folder, wire, strlen(wire), flags[m], kws[m],
                    dates[m], keys[n][m], sizeof keys[n][m]);
            if (s != MP_OK)
                fail_msg("put: %s", sink->h.err);
            /* UIDPLUS: the new UID comes back as the key. */
            assert_true(keys[n][m][0] >= '1' && keys[n][m][0] <= '9');
            free(wire);
        }
        assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    }
    ep_close(sink);

    /* Dovecot stores the names in modified UTF-7 Maildir++ folders. */
    char *md = mp_dovecot_maildir(dv, "alice");
    char *p = mp_strf("%s/.Archiv.&ANw-bersicht 2024/cur", md);
    assert_true(mp_file_exists(p));
    free(p);
    p = mp_strf("%s/.Projects.&A6k-/cur", md);
    assert_true(mp_file_exists(p));
    free(p);
    free(md);

    /* Read back over IMAPS. */
    char *surl = mp_dovecot_url(dv, "imaps", "alice");
    ep *src = ep_must(surl, 0);
    for (int n = 0; n < 4; n++) {
        void *folder;
        mp_folder_info info = {.struct_size = sizeof info};
        mp_status s = pl->source->open_folder(src->store, names[n], &folder, &info);
        if (s != MP_OK)
            fail_msg("source open_folder %s: %s", names[n], src->h.err);
        assert_int_equal(info.count, 3);
        scanned *sc = calloc(1, sizeof *sc);
        assert_int_equal(pl->source->scan(folder, MP_SCAN_IDENTITY, on_msg, sc),
                         MP_OK);
        assert_int_equal(sc->n, 3);
        const char *keyv[3];
        for (int m = 0; m < 3; m++) {
            char *wire = crlf(bodies[m]);
            assert_string_equal(sc->key[m], keys[n][m]);
            assert_int_equal(sc->size[m], strlen(wire));
            assert_int_equal(sc->flags[m], flags[m]);
            assert_string_equal(sc->keywords[m], kws[m]);
            if (dates[m] != MP_DATE_UNKNOWN)
                assert_int_equal(sc->date[m], dates[m]);
            else /* the server's "now" */
                assert_true(sc->date[m] > 1700000000);
            /* The identity is the one every plugin computes. */
            const char *hdr_end = strstr(bodies[m], "\n\n");
            char *lf = mp_strf("%.*s", (int)(hdr_end - bodies[m] + 1),
                               bodies[m]);
            char *hdr = crlf(lf);
            free(lf);
            char want[96];
            mp_identity_of_header(hdr, strlen(hdr), want, sizeof want);
            assert_string_equal(sc->identity[m], want);
            free(hdr);
            free(wire);
            keyv[2 - m] = keys[n][m]; /* ask in reverse order */
        }
        fetched *f = calloc(1, sizeof *f);
        assert_int_equal(pl->source->fetch(folder, keyv, 3, &fetch_cb, f), MP_OK);
        assert_int_equal(f->n_begin, 3);
        assert_int_equal(f->n_end, 3);
        assert_int_equal(f->n_bad, 0);
        for (int m = 0; m < 3; m++) {
            char *wire = crlf(bodies[m]);
            assert_int_equal(f->len[2 - m], strlen(wire));
            assert_memory_equal(f->body[2 - m], wire, strlen(wire));
            assert_int_equal(f->flags[2 - m], flags[m]);
            free(wire);
        }
        fetched_free(f);
        /* The source is read-only: fetching did not set \Seen. */
        memset(sc, 0, sizeof *sc);
        assert_int_equal(pl->source->scan(folder, 0, on_msg, sc), MP_OK);
        assert_int_equal(sc->flags[1], flags[1]);
        assert_string_equal(sc->identity[0], ""); /* not asked for */
        free(sc);
        pl->source->close_folder(folder);
    }
    ep_close(src);
    /* Only the message without a Message-ID had its whole header fetched,
     * once per folder. */
    usleep(300000);
    assert_int_equal(mp_dovecot_count_lines(dv, "alice",
                                            "UID FETCH 2 (UID BODY.PEEK[HEADER])"),
                     4);
    assert_int_equal(mp_dovecot_count_lines(dv, "alice", "BODY.PEEK[HEADER])"), 4);
    free(url);
    free(surl);
}

typedef struct listed {
    size_t n;
    char name[64][96];
    unsigned special[64];
    int no_select[64];
} listed;

static mp_status on_folder(void *ctx, const mp_folder_info *info)
{
    listed *l = ctx;
    assert_true(l->n < 64);
    snprintf(l->name[l->n], sizeof l->name[0], "%s", info->name);
    l->special[l->n] = info->special_use;
    l->no_select[l->n] = info->no_select;
    l->n++;
    return MP_OK;
}

static int find(const listed *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->name[i], name) == 0)
            return (int)i;
    return -1;
}

static void test_list_folders(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *url = mp_dovecot_url(dv, "starttls", "bob");
    ep *e = ep_must(url, 1);
    const char *names[] = {"Sent", "Trash", "a/b/c", "Ärger", "with space & amp"};
    for (size_t i = 0; i < 5; i++) {
        void *folder;
        mp_folder_info info = {.struct_size = sizeof info};
        if (pl->sink->open_folder(e->store, names[i], &folder, &info) != MP_OK)
            fail_msg("open_folder %s: %s", names[i], e->h.err);
        pl->sink->close_folder(folder);
    }
    listed l = {0};
    assert_int_equal(pl->sink->list_folders(e->store, on_folder, &l), MP_OK);
    int inbox = find(&l, "INBOX"), sent = find(&l, "Sent"),
        trash = find(&l, "Trash"), a = find(&l, "a"), ab = find(&l, "a/b"),
        abc = find(&l, "a/b/c"), umlaut = find(&l, "Ärger"),
        dot = find(&l, "with space & amp");
    assert_true(inbox >= 0 && sent >= 0 && trash >= 0 && abc >= 0 &&
                umlaut >= 0 && dot >= 0);
    assert_int_equal(l.special[sent], MP_SPECIAL_SENT);
    assert_int_equal(l.special[trash], MP_SPECIAL_TRASH);
    assert_int_equal(l.special[inbox], 0);
    /* Parents before children, whether they hold mail or not. */
    assert_true(a >= 0 && ab >= 0);
    assert_true(a < ab && ab < abc);
    ep_close(e);
    free(url);
}

static void test_untrusted_certificate(void **state)
{
    (void)state;
    char *url = mp_strf("imaps://alice@127.0.0.1:%d?password_file=%s",
                        mp_dovecot_tls_port(dv),
                        mp_dovecot_password_file(dv, "alice"));
    ep *e = ep_open(url, 0);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_CONNECT);
    assert_contains(e->h.err, "not trusted");
    assert_contains(e->h.err, "127.0.0.1");
    ep_close(e);
    free(url);
    /* STARTTLS is required by default, and checked the same way. */
    url = mp_strf("imap://alice@127.0.0.1:%d?password_file=%s",
                  mp_dovecot_port(dv), mp_dovecot_password_file(dv, "alice"));
    e = ep_open(url, 0);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_CONNECT);
    assert_contains(e->h.err, "not trusted");
    ep_close(e);
    free(url);
    /* insecure=1 skips the check. */
    url = mp_strf("imaps://alice@127.0.0.1:%d?password_file=%s&insecure=1",
                  mp_dovecot_tls_port(dv), mp_dovecot_password_file(dv, "alice"));
    e = ep_must(url, 0);
    ep_close(e);
    free(url);
}

static void test_wrong_password(void **state)
{
    (void)state;
    char *dir = mp_tmpdir("imap-pw");
    char *pw = mp_strf("%s/pw", dir);
    mp_write_file(pw, "not-the-password\n", 17);
    chmod(pw, 0600);
    char *url = mp_strf("imap://alice@127.0.0.1:%d?tls=none&password_file=%s",
                        mp_dovecot_port(dv), pw);
    ep *e = ep_open(url, 1);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_AUTH);
    char *want = mp_strf("login refused for alice at 127.0.0.1:%d: ",
                         mp_dovecot_port(dv));
    assert_contains(e->h.err, want);
    assert_contains(e->h.err, "uthentication failed");
    assert_null(strstr(e->h.err, "not-the-password"));
    ep_close(e);
    free(url);
    /* The same through SASL LOGIN. */
    url = mp_strf("imap://alice@127.0.0.1:%d?tls=none&auth=login&password_file=%s",
                  mp_dovecot_port(dv), pw);
    e = ep_open(url, 1);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_AUTH);
    assert_contains(e->h.err, want);
    ep_close(e);
    free(url);
    /* And right: LOGIN works. */
    url = mp_strf("imap://alice@127.0.0.1:%d?tls=none&auth=login&password_file=%s",
                  mp_dovecot_port(dv), mp_dovecot_password_file(dv, "alice"));
    e = ep_must(url, 1);
    ep_close(e);
    free(url);
    /* XOAUTH2 asks for a token, and this server has no such mechanism. */
    url = mp_strf("imap://alice@127.0.0.1:%d?tls=none&auth=xoauth2&token_file=%s",
                  mp_dovecot_port(dv), pw);
    e = ep_open(url, 1);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_AUTH);
    assert_contains(e->h.err, "offers no login method (auth=xoauth2)");
    ep_close(e);
    free(url);
    free(want);
    free(pw);
    mp_rm_rf(dir);
    free(dir);
}

static void test_bad_parameters_and_unreachable(void **state)
{
    (void)state;
    struct {
        const char *fmt;
        mp_error_kind kind;
        const char *text;
    } cases[] = {
        {"imap://alice@127.0.0.1:%d?tls=bogus&password_file=%s", MP_ERR_USAGE,
         "tls=bogus"},
        {"imaps://alice@127.0.0.1:%d?tls=none&password_file=%s", MP_ERR_USAGE,
         "tls=none"},
        {"imap://alice@127.0.0.1:%d?tls=none&auth=kerberos&password_file=%s",
         MP_ERR_USAGE, "auth=kerberos"},
        {"imap://alice@127.0.0.1:%d?tls=none&timeout=-1&password_file=%s",
         MP_ERR_USAGE, "timeout=-1"},
        {"imap://127.0.0.1:%d?tls=none&password_file=%s", MP_ERR_USAGE,
         "no user"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *url = mp_strf(cases[i].fmt, mp_dovecot_port(dv),
                            mp_dovecot_password_file(dv, "alice"));
        ep *e = ep_open(url, 0);
        assert_int_equal(e->status, MP_FATAL);
        assert_int_equal(e->h.err_kind, cases[i].kind);
        assert_contains(e->h.err, cases[i].text);
        ep_close(e);
        free(url);
    }
    /* Nothing listens on port 1. */
    char *url = mp_strf("imap://alice@127.0.0.1:1?tls=none&password_file=%s",
                        mp_dovecot_password_file(dv, "alice"));
    ep *e = ep_open(url, 0);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_CONNECT);
    assert_contains(e->h.err, "cannot connect to 127.0.0.1:1");
    ep_close(e);
    free(url);
}

/* 250 messages come back with 3 pipelined UID FETCH commands, and
 * set_flags / remove work on what the sink wrote. */
static void test_pipelined_fetch_flags_remove(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *url = mp_dovecot_url(dv, "imap", "carol");
    ep *sink = ep_must(url, 1);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->sink->open_folder(sink->store, "Bulk", &folder, &info),
                     MP_OK);
    enum { N = 250 };
    static char keys[N][32];
    for (int i = 0; i < N; i++) {
        char *m = mp_strf("Message-ID: <bulk%d@example.org>\r\nSubject: %d\r\n"
                          "\r\nbody %d\r\n", i, i, i);
        assert_int_equal(put(sink, folder, m, strlen(m), 0, "", 1600000000 + i,
                             keys[i], sizeof keys[i]),
                         MP_OK);
        free(m);
    }
    /* Flags: replace, including keywords. */
    assert_int_equal(pl->sink->set_flags(folder, keys[0],
                                         MP_FLAG_SEEN | MP_FLAG_FORWARDED,
                                         "Later"),
                     MP_OK);
    assert_int_equal(pl->sink->set_flags(folder, "nonsense", MP_FLAG_SEEN, ""),
                     MP_MSG_BAD);
    const char *gone[] = {keys[1], keys[2]};
    assert_int_equal(pl->sink->remove(folder, gone, 2), MP_OK);
    scanned *sc = calloc(1, sizeof *sc);
    assert_int_equal(pl->sink->scan(folder, 0, on_msg, sc), MP_OK);
    assert_int_equal(sc->n, N - 2);
    assert_string_equal(sc->key[0], keys[0]);
    assert_int_equal(sc->flags[0], MP_FLAG_SEEN | MP_FLAG_FORWARDED);
    assert_string_equal(sc->keywords[0], "Later");
    assert_string_equal(sc->key[1], keys[3]);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    ep_close(sink);

    int before = mp_dovecot_count_commands(dv, "carol", "UID FETCH");
    ep *src = ep_must(url, 0);
    assert_int_equal(pl->source->open_folder(src->store, "Bulk", &folder, &info),
                     MP_OK);
    const char *keyv[N];
    size_t n = 0;
    for (size_t i = 0; i < sc->n; i++)
        keyv[n++] = sc->key[i];
    keyv[n++] = keys[1]; /* removed meanwhile: reported, not fatal */
    fetched *f = calloc(1, sizeof *f);
    assert_int_equal(pl->source->fetch(folder, keyv, n, &fetch_cb, f), MP_OK);
    assert_int_equal(f->n_begin, n);
    assert_int_equal(f->n_end, n);
    assert_int_equal(f->n_bad, 1);
    assert_int_equal(f->end_status[n - 1], MP_MSG_BAD);
    assert_contains(src->h.err, "gone");
    char *want = mp_strf("Message-ID: <bulk%d@example.org>\r\n", 249);
    assert_memory_equal(f->body[n - 2], want, strlen(want));
    free(want);
    fetched_free(f);
    pl->source->close_folder(folder);
    ep_close(src);
    /* 249 UIDs in batches of 100: three commands, all sent before the
     * first answer arrives (pipelined). The scan's "1:*" is one more. */
    int after = mp_dovecot_count_commands(dv, "carol", "UID FETCH");
    assert_int_equal(after - before, 3);
    free(sc);
    free(url);
}

/* A message bigger than the spool's memory part goes through a temporary
 * file, and comes back byte for byte. */
static void test_big_message(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *url = mp_dovecot_url(dv, "imaps", "bob");
    ep *sink = ep_must(url, 1);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->sink->open_folder(sink->store, "Big", &folder, &info),
                     MP_OK);
    size_t len = 6u << 20;
    char *body = malloc(len);
    int h = snprintf(body, len, "Subject: big\r\n\r\n");
    for (size_t i = (size_t)h; i < len; i++)
        body[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (char)('A' + i % 26);
    char key[32];
    assert_int_equal(put(sink, folder, body, len, MP_FLAG_SEEN, NULL,
                         MP_DATE_UNKNOWN, key, sizeof key),
                     MP_OK);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    ep_close(sink);
    ep *src = ep_must(url, 0);
    assert_int_equal(pl->source->open_folder(src->store, "Big", &folder, &info),
                     MP_OK);
    const char *keyv[] = {key};
    fetched *f = calloc(1, sizeof *f);
    assert_int_equal(pl->source->fetch(folder, keyv, 1, &fetch_cb, f), MP_OK);
    assert_int_equal(f->len[0], len);
    assert_true(memcmp(f->body[0], body, len) == 0);
    fetched_free(f);
    pl->source->close_folder(folder);
    ep_close(src);
    free(body);
    free(url);
}

static void test_missing_folder_and_bad_names(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *url = mp_dovecot_url(dv, "imap", "alice");
    ep *e = ep_must(url, 0);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->source->open_folder(e->store, "No/Such", &folder, &info),
                     MP_FOLDER_BAD);
    assert_int_equal(e->h.err_kind, MP_ERR_NOTFOUND);
    assert_contains(e->h.err, "No/Such");
    const char *bad[] = {"", "/abs", "trail/", "a//b", "bad\xff" "utf8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pl->source->open_folder(e->store, bad[i], &folder, &info),
                         MP_FOLDER_BAD);
        assert_int_equal(e->h.err_kind, MP_ERR_USAGE);
    }
    /* The connection is still fine afterwards. */
    assert_int_equal(pl->source->open_folder(e->store, "INBOX", &folder, &info),
                     MP_OK);
    pl->source->close_folder(folder);
    ep_close(e);
    free(url);
}

/* Refusals are reported per message, pipelined (LITERAL+) or not. */
static void test_refused_messages(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    mp_dovecot_opts o = {.max_mail_size = 10000};
    mp_dovecot *small = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(small, "zed", "pw");
    char *url = mp_dovecot_url(small, "imap", "zed");
    ep *e = ep_must(url, 1);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->sink->open_folder(e->store, "INBOX", &folder, &info),
                     MP_OK);
    char *big = malloc(30001);
    memset(big, 'x', 30000);
    memcpy(big, "Subject: big\r\n\r\n", 16);
    big[30000] = '\0';
    const char *msgs[] = {"Subject: a\r\n\r\na\r\n", "Subject: b\r\n\r\nb\r\n",
                          big, "Subject: d\r\n\r\nd\r\n"};
    /* Pipelined: four APPENDs in flight, answers at flush_keys. */
    for (int i = 0; i < 4; i++) {
        mp_msg_info mi = {.struct_size = sizeof mi, .key = "k", .keywords = "",
                          .internal_date = 1600000000};
        void *h;
        assert_int_equal(pl->sink->put_begin(folder, &mi, &h), MP_OK);
        assert_int_equal(pl->sink->put_write(h, msgs[i], strlen(msgs[i])), MP_OK);
        char key[32] = "x";
        assert_int_equal(pl->sink->put_commit(h, key, sizeof key), MP_OK);
        assert_string_equal(key, "");
    }
    commits c = {.host = &e->h};
    assert_int_equal(pl->sink->flush_keys(folder, on_commit, &c), MP_OK);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.status[0], MP_OK);
    assert_int_equal(c.status[1], MP_OK);
    assert_int_equal(c.status[2], MP_MSG_BAD);
    assert_int_equal(c.status[3], MP_OK);
    assert_string_equal(c.key[0], "1");
    assert_string_equal(c.key[1], "2");
    assert_string_equal(c.key[3], "3");
    assert_contains(c.err[2], "server refused the message: Mail size is larger");
    /* Nothing left to report. */
    commits none = {0};
    assert_int_equal(pl->sink->flush_keys(folder, on_commit, &none), MP_OK);
    assert_int_equal(none.n, 0);

    /* Without LITERAL+ the server answers before the literal is sent: the
     * refusal comes from put_commit itself, and the connection survives. */
    ((imap_store *)e->store)->conn->caps &= ~(unsigned)IMAP_CAP_LITERALPLUS;
    char key[32];
    assert_int_equal(put(e, folder, big, strlen(big), 0, "", MP_DATE_UNKNOWN,
                         key, sizeof key),
                     MP_MSG_BAD);
    assert_int_equal(e->h.err_kind, MP_ERR_REFUSED);
    assert_contains(e->h.err, "Mail size is larger");
    assert_int_equal(put(e, folder, msgs[0], strlen(msgs[0]), MP_FLAG_SEEN, "",
                         MP_DATE_UNKNOWN, key, sizeof key),
                     MP_OK);
    assert_string_equal(key, "4");
    scanned *sc = calloc(1, sizeof *sc);
    assert_int_equal(pl->sink->scan(folder, 0, on_msg, sc), MP_OK);
    assert_int_equal(sc->n, 4);
    free(sc);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    ep_close(e);
    mp_dovecot_stop(small);
    free(big);
    free(url);
}

/* A server whose hierarchy delimiter is '.': nested names map, and a '.'
 * inside a name part becomes the substitute ('_') rather than nesting. */
static void test_dot_delimiter(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    mp_dovecot_opts o = {.separator = '.'};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "dot", "pw");
    char *url = mp_dovecot_url(d, "imap", "dot");
    ep *e = ep_must(url, 1);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->sink->open_folder(e->store, "Archiv/Übersicht 2024",
                                           &folder, &info),
                     MP_OK);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    assert_int_equal(pl->sink->open_folder(e->store, "Mr. X", &folder, &info),
                     MP_OK);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    listed l = {0};
    assert_int_equal(pl->sink->list_folders(e->store, on_folder, &l), MP_OK);
    assert_true(find(&l, "Archiv/Übersicht 2024") >= 0);
    assert_true(find(&l, "INBOX") >= 0);
    assert_true(find(&l, "Mr_ X") >= 0);
    assert_true(find(&l, "Mr/ X") < 0);
    char *md = mp_dovecot_maildir(d, "dot");
    char *p = mp_strf("%s/.Archiv.&ANw-bersicht 2024/cur", md);
    assert_true(mp_file_exists(p));
    free(p);
    p = mp_strf("%s/.Mr_ X/cur", md);
    assert_true(mp_file_exists(p));
    free(p);
    free(md);
    ep_close(e);
    mp_dovecot_stop(d);
    free(url);
}

/* APPEND N small messages to server folder SERVER (quoted as given). */
static void append_raw(mp_dovecot *d, const char *user, const char *server,
                       int n, const char *tag)
{
    for (int i = 0; i < n; i++) {
        char *msg = mp_strf("Message-ID: <%s-%d@example.org>\r\nSubject: "
                            "%s %d\r\n\r\nbody\r\n",
                            tag, i, tag, i);
        char *cmd =
            mp_strf("APPEND \"%s\" {%zu+}\r\n%s", server, strlen(msg), msg);
        free(mp_dovecot_command(d, user, cmd));
        free(cmd);
        free(msg);
    }
}

static size_t count_in(ep *e, const char *name)
{
    const mp_plugin *pl = mailport_plugin_v1();
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    if (pl->source->open_folder(e->store, name, &folder, &info) != MP_OK)
        fail_msg("open %s: %s", name, e->h.err);
    scanned *sc = calloc(1, sizeof *sc);
    assert_int_equal(pl->source->scan(folder, 0, on_msg, sc), MP_OK);
    size_t n = sc->n;
    free(sc);
    pl->source->close_folder(folder);
    return n;
}

/* Issue 13.3 at the plugin: on a '.' server names holding '/' are listed
 * with the substitute, a name that substitution made equal to another is
 * told apart ("~2"), and a store that never listed finds each of them by
 * its listed name. delimiter_substitute= is checked. */
static void test_delimiter_inside_names(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    mp_dovecot_opts o = {.separator = '.', .listescape = 1};
    mp_dovecot *d = mp_dovecot_start_opts(&o);
    mp_dovecot_add_user(d, "sub", "pw");
    const char *folders[] = {"GPR/GPA",    "GPR_GPA", "Jim / John", "Parent",
                             "Parent.A/B", "a/_b",    "a_/b",       "a__b"};
    const int counts[] = {2, 1, 3, 0, 4, 5, 6, 7};
    for (size_t i = 0; i < 8; i++) {
        char *cmd = mp_strf("CREATE \"%s\"", folders[i]);
        free(mp_dovecot_command(d, "sub", cmd));
        free(cmd);
        append_raw(d, "sub", folders[i], counts[i], folders[i]);
    }
    char *url = mp_dovecot_url(d, "imap", "sub");
    ep *e = ep_must(url, 0);
    listed l = {0};
    assert_int_equal(pl->source->list_folders(e->store, on_folder, &l), MP_OK);
    assert_int_equal(l.n, 9); /* and INBOX */
    const char *want[] = {"INBOX",      "GPR_GPA", "GPR_GPA~2",
                          "Jim _ John", "Parent",  "Parent/A_B",
                          "a__b",       "a__b~2",  "a__b~3"};
    for (size_t i = 0; i < 9; i++)
        if (find(&l, want[i]) < 0)
            fail_msg("folder %s not listed", want[i]);
    ep_close(e);
    /* A fresh store (as every --jobs worker and verify opens) finds the
     * server folder behind each listed name. */
    e = ep_must(url, 0);
    assert_int_equal(count_in(e, "GPR_GPA~2"), 2); /* "GPR/GPA" */
    assert_int_equal(count_in(e, "GPR_GPA"), 1);
    assert_int_equal(count_in(e, "Jim _ John"), 3);
    assert_int_equal(count_in(e, "Parent/A_B"), 4);
    /* Three names alike: the one without substitution keeps it, the others
     * follow in server name order ('/' before '_'). */
    assert_int_equal(count_in(e, "a__b"), 7);
    assert_int_equal(count_in(e, "a__b~2"), 5); /* "a/_b" */
    assert_int_equal(count_in(e, "a__b~3"), 6); /* "a_/b" */
    ep_close(e);

    /* Another substitute. */
    char *url2 = mp_strf("%s&delimiter_substitute=-", url);
    e = ep_must(url2, 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(pl->source->list_folders(e->store, on_folder, &l), MP_OK);
    assert_true(find(&l, "GPR-GPA") >= 0);
    assert_true(find(&l, "GPR_GPA") >= 0);
    assert_true(find(&l, "GPR_GPA~2") < 0);
    assert_true(find(&l, "Jim - John") >= 0);
    ep_close(e);
    e = ep_must(url2, 0);
    assert_int_equal(count_in(e, "GPR-GPA"), 2);
    ep_close(e);
    free(url2);

    /* Refused values: usage errors before or right after the login. */
    const char *bad[] = {"ab", "%2F", "*", "%09", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *u = mp_strf("%s&delimiter_substitute=%s", url, bad[i]);
        e = ep_open(u, 0);
        assert_int_equal(e->status, MP_FATAL);
        assert_int_equal(e->h.err_kind, MP_ERR_USAGE);
        assert_contains(e->h.err, "delimiter_substitute=");
        ep_close(e);
        free(u);
    }
    char *u = mp_strf("%s&delimiter_substitute=.", url);
    e = ep_open(u, 1);
    assert_int_equal(e->status, MP_FATAL);
    assert_int_equal(e->h.err_kind, MP_ERR_USAGE);
    assert_contains(e->h.err, "the server's hierarchy delimiter is '.'");
    ep_close(e);
    free(u);
    free(url);
    mp_dovecot_stop(d);
}

/* IMAP -> IMAP through the binary keeps flags, keywords and dates, checked
 * here with the plugin's own scan of both sides. */
static void test_imap_to_imap_keeps_metadata(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *u1 = mp_dovecot_url(dv, "imap", "kw1");
    char *u2 = mp_dovecot_url(dv, "imaps", "kw2");
    ep *e = ep_must(u1, 1);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->sink->open_folder(e->store, "Tags/Ümlaut", &folder, &info),
                     MP_OK);
    const char *kws[] = {"$Junk", "NonJunk $label1 Work", "", "$MDNSent"};
    unsigned flags[] = {MP_FLAG_SEEN, MP_FLAG_ANSWERED | MP_FLAG_FORWARDED,
                        MP_FLAG_FLAGGED | MP_FLAG_DRAFT, MP_FLAG_DELETED};
    for (int i = 0; i < 4; i++) {
        char *m = mp_strf("Message-ID: <kw%d@example.org>\r\nSubject: %d\r\n\r\nx\r\n",
                          i, i);
        char key[32];
        assert_int_equal(put(e, folder, m, strlen(m), flags[i], kws[i],
                             1500000000 + 3600 * i, key, sizeof key),
                         MP_OK);
        free(m);
    }
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    ep_close(e);

    mp_run_result r = mp_run("copy", u1, u2, "--no-state", (char *)NULL);
    if (r.exit_code != 0)
        fail_msg("copy: exit %d\n%s", r.exit_code, r.err);
    mp_run_free(&r);

    scanned *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    for (int side = 0; side < 2; side++) {
        ep *x = ep_must(side ? u2 : u1, 0);
        assert_int_equal(pl->source->open_folder(x->store, "Tags/Ümlaut", &folder,
                                                 &info),
                         MP_OK);
        assert_int_equal(pl->source->scan(folder, MP_SCAN_IDENTITY, on_msg,
                                          side ? b : a),
                         MP_OK);
        pl->source->close_folder(folder);
        ep_close(x);
    }
    assert_int_equal(a->n, 4);
    assert_int_equal(b->n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(b->flags[i], a->flags[i]);
        assert_int_equal(b->flags[i], flags[i]);
        assert_string_equal(b->keywords[i], kws[i]);
        assert_int_equal(b->date[i], a->date[i]);
        assert_int_equal(b->size[i], a->size[i]);
        assert_string_equal(b->identity[i], a->identity[i]);
    }
    free(a);
    free(b);
    free(u1);
    free(u2);
}

static uint64_t marker_of(const char *url, const char *name)
{
    const mp_plugin *pl = mailport_plugin_v1();
    ep *e = ep_must(url, 0);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->source->open_folder(e->store, name, &folder, &info),
                     MP_OK);
    uint64_t m = info.change_marker;
    pl->source->close_folder(folder);
    ep_close(e);
    return m;
}

/* The change marker (CONDSTORE): stable while nothing changes, different
 * after a flag change, an append and an expunge. */
static void test_change_marker(void **state)
{
    (void)state;
    const mp_plugin *pl = mailport_plugin_v1();
    char *url = mp_dovecot_url(dv, "imap", "marker");
    ep *e = ep_must(url, 1);
    void *folder;
    mp_folder_info info = {.struct_size = sizeof info};
    assert_int_equal(pl->sink->open_folder(e->store, "Mark", &folder, &info),
                     MP_OK);
    char k1[32], k2[32];
    const char *m = "Subject: m\r\n\r\nm\r\n";
    assert_int_equal(put(e, folder, m, strlen(m), 0, "", MP_DATE_UNKNOWN, k1,
                         sizeof k1),
                     MP_OK);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);

    uint64_t a = marker_of(url, "Mark");
    assert_true(a != 0);
    assert_true(marker_of(url, "Mark") == a);
    uint64_t seen[4] = {a};
    assert_int_equal(pl->sink->open_folder(e->store, "Mark", &folder, &info),
                     MP_OK);
    assert_int_equal(pl->sink->set_flags(folder, k1, MP_FLAG_SEEN, ""), MP_OK);
    seen[1] = marker_of(url, "Mark");
    assert_int_equal(put(e, folder, m, strlen(m), 0, "", MP_DATE_UNKNOWN, k2,
                         sizeof k2),
                     MP_OK);
    seen[2] = marker_of(url, "Mark");
    const char *gone[] = {k1};
    assert_int_equal(pl->sink->remove(folder, gone, 1), MP_OK);
    seen[3] = marker_of(url, "Mark");
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            assert_true(seen[i] != seen[j]);
    assert_int_equal(pl->sink->close_folder(folder), MP_OK);
    ep_close(e);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_names_flags_dates),
        cmocka_unit_test(test_list_folders),
        cmocka_unit_test(test_untrusted_certificate),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_bad_parameters_and_unreachable),
        cmocka_unit_test(test_pipelined_fetch_flags_remove),
        cmocka_unit_test(test_big_message),
        cmocka_unit_test(test_missing_folder_and_bad_names),
        cmocka_unit_test(test_refused_messages),
        cmocka_unit_test(test_dot_delimiter),
        cmocka_unit_test(test_delimiter_inside_names),
        cmocka_unit_test(test_imap_to_imap_keeps_metadata),
        cmocka_unit_test(test_change_marker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
