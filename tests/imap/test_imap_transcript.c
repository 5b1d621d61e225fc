/* The source's fetch and scan over canned server transcripts, for responses
 * Dovecot never sends but other servers may: a body before the UID that
 * says whose it is, NIL bodies, quoted bodies, unsolicited FETCHes,
 * messages that never come, garbage. (Real-server behaviour is covered by
 * test_imap_ops and test_imap_e2e against Dovecot.) */
#include "testutil.h"

#include "imap_conn.h"
#include "imap_source.h"
#include "imap_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char last_error[1024];
static mp_error_kind last_kind;

static void t_log(mp_host *h, int level, const char *fmt, ...)
{
    (void)h;
    (void)level;
    (void)fmt;
}

static void t_set_error(mp_host *h, mp_error_kind kind, const char *fmt, ...)
{
    (void)h;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    last_kind = kind;
}

static void t_identity(mp_host *h, const char *hdr, size_t len, char *out,
                       size_t size)
{
    (void)h;
    snprintf(out, size, "I:%zu:%.*s", len, (int)(len > 20 ? 20 : len), hdr);
}

static mp_host host = {
    .struct_size = sizeof(mp_host),
    .log = t_log,
    .set_error = t_set_error,
    .identity_of_header = t_identity,
};

/* A store and an open folder whose connection reads TRANSCRIPT. */
typedef struct canned {
    imap_store st;
    imap_conn c;
    imap_folder f;
} canned;

static canned *canned_open(const char *transcript)
{
    canned *k = calloc(1, sizeof *k);
    k->c.host = &host;
    snprintf(k->c.where, sizeof k->c.where, "canned:143");
    imap_parser_init_mem(&k->c.p, transcript, strlen(transcript));
    k->c.exists = 3;
    k->st.host = &host;
    k->st.conn = &k->c;
    k->st.prefix = "";
    k->st.delim = '/';
    k->f.st = &k->st;
    k->f.name = "INBOX";
    return k;
}

static void canned_free(canned *k)
{
    imap_parser_free(&k->c.p);
    free(k->c.permflags);
    free(k);
}

#define N 8
typedef struct got {
    int begun[N], ended[N];
    mp_status status[N];
    char body[N][64];
    unsigned flags[N];
    int64_t date[N];
    char err[N][1024];
    size_t cur;
} got;

static mp_status g_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    got *g = ctx;
    assert_true(index < N);
    assert_int_equal(g->begun[index], 0);
    g->begun[index] = 1;
    g->cur = index;
    g->flags[index] = info->flags;
    g->date[index] = info->internal_date;
    return MP_OK;
}

static mp_status g_data(void *ctx, const void *buf, size_t len)
{
    got *g = ctx;
    strncat(g->body[g->cur], buf, len);
    return MP_OK;
}

static mp_status g_end(void *ctx, mp_status st)
{
    got *g = ctx;
    g->ended[g->cur] = 1;
    g->status[g->cur] = st;
    snprintf(g->err[g->cur], sizeof g->err[0], "%s", st ? last_error : "");
    return MP_OK;
}

static const mp_fetch_cb cb = {sizeof(mp_fetch_cb), g_begin, g_data, g_end};

static void test_fetch_odd_responses(void **state)
{
    (void)state;
    canned *k = canned_open(
        "* 1 FETCH (BODY[] {7}\r\nhello\r\n UID 7 FLAGS (\\Seen) "
        "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n"
        "* 2 FETCH (UID 8 FLAGS () INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" "
        "BODY[] NIL)\r\n"
        "* 9 FETCH (FLAGS (\\Deleted))\r\n"
        "* 3 FETCH (UID 9 FLAGS (\\Flagged) INTERNALDATE "
        "\"01-Jan-2000 00:00:00 +0000\" MODSEQ (12) BODY[] \"quoted body\")\r\n"
        "* 3 FETCH (UID 9 FLAGS (\\Flagged) INTERNALDATE "
        "\"01-Jan-2000 00:00:00 +0000\" BODY[] {3}\r\ndup)\r\n"
        "m1 NO [EXPUNGEISSUED] Some messages were expunged\r\n");
    const char *keys[] = {"7", "8", "9", "10", "x"};
    got *g = calloc(1, sizeof *g);
    assert_int_equal(imap_source_fetch(&k->f, keys, 5, &cb, g), MP_OK);
    /* Body before its UID: spooled, then delivered with the right data. */
    assert_true(g->ended[0]);
    assert_int_equal(g->status[0], MP_OK);
    assert_string_equal(g->body[0], "hello\r\n");
    assert_int_equal(g->flags[0], MP_FLAG_SEEN);
    assert_int_equal(g->date[0], 837596665);
    /* NIL body: that message fails, with a reason. */
    assert_int_equal(g->status[1], MP_MSG_BAD);
    assert_contains(g->err[1], "no body");
    /* Quoted body; the duplicate response is ignored. */
    assert_int_equal(g->status[2], MP_OK);
    assert_string_equal(g->body[2], "quoted body");
    assert_int_equal(g->flags[2], MP_FLAG_FLAGGED);
    /* Never sent: gone. Not a UID: refused. */
    assert_int_equal(g->status[3], MP_MSG_BAD);
    assert_contains(g->err[3], "UID 10");
    assert_contains(g->err[3], "gone");
    assert_int_equal(g->status[4], MP_MSG_BAD);
    assert_contains(g->err[4], "not an IMAP UID");
    for (int i = 0; i < 5; i++)
        assert_true(g->begun[i] && g->ended[i]);
    free(g);
    canned_free(k);
}

static void test_fetch_connection_lost(void **state)
{
    (void)state;
    canned *k = canned_open("* 1 FETCH (UID 7 FLAGS () INTERNALDATE "
                            "\"01-Jan-2000 00:00:00 +0000\" BODY[] {100}\r\n"
                            "only part of it");
    const char *keys[] = {"7"};
    got *g = calloc(1, sizeof *g);
    assert_int_equal(imap_source_fetch(&k->f, keys, 1, &cb, g), MP_TEMPORARY);
    assert_int_equal(last_kind, MP_ERR_CONNECT);
    assert_contains(last_error, "connection to canned:143 lost");
    assert_true(k->c.broken);
    free(g);
    canned_free(k);
}

static void test_fetch_garbage(void **state)
{
    (void)state;
    canned *k = canned_open("* 1 FETCH (UID 7 FLAGS (\\Seen INTERNALDATE\r\n");
    const char *keys[] = {"7"};
    got *g = calloc(1, sizeof *g);
    assert_int_equal(imap_source_fetch(&k->f, keys, 1, &cb, g), MP_FATAL);
    assert_int_equal(last_kind, MP_ERR_PROTOCOL);
    assert_contains(last_error, "IMAP protocol error from canned:143");
    free(g);
    canned_free(k);
}

typedef struct scanned {
    size_t n;
    char key[N][16];
    char identity[N][96];
    char keywords[N][64];
} scanned;

static mp_status on_msg(void *ctx, const mp_msg_info *info)
{
    scanned *s = ctx;
    assert_true(s->n < N);
    snprintf(s->key[s->n], 16, "%s", info->key);
    snprintf(s->identity[s->n], 96, "%s", info->identity ? info->identity : "");
    snprintf(s->keywords[s->n], 64, "%s", info->keywords);
    s->n++;
    return MP_OK;
}

/* Identity scans: the Message-ID field first, whole headers for the rest
 * (the test host's identity function echoes what it was given). */
static void test_scan_two_passes(void **state)
{
    (void)state;
    canned *k = canned_open(
        "* 1 FETCH (UID 4 FLAGS ($Junk \\Recent) INTERNALDATE "
        "\"01-Jan-2000 00:00:00 +0000\" RFC822.SIZE 10 "
        "BODY[HEADER.FIELDS (MESSAGE-ID)] {19}\r\nMessage-ID: <a>\r\n\r\n)\r\n"
        "* 2 FETCH (UID 6 FLAGS () INTERNALDATE \"01-Jan-2000 00:00:00 +0000\" "
        "RFC822.SIZE 20 BODY[HEADER.FIELDS (MESSAGE-ID)] {2}\r\n\r\n)\r\n"
        "m1 OK done\r\n"
        "* 2 FETCH (UID 6 BODY[HEADER] {14}\r\nSubject: x\r\n\r\n)\r\n"
        "m2 OK done\r\n");
    scanned *s = calloc(1, sizeof *s);
    assert_int_equal(imap_folder_scan(&k->f, MP_SCAN_IDENTITY, on_msg, s), MP_OK);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->key[0], "4");
    assert_string_equal(s->keywords[0], "$Junk");
    assert_string_equal(s->key[1], "6");
    /* Both were hashed ("I:" is not "M:"), so both got a second look; the
     * second pass answered for UID 6 only, from its whole header. */
    assert_string_equal(s->identity[1], "I:12:Subject: x\r\n");
    assert_string_equal(s->identity[0], "I:17:Message-ID: <a>\r\n");
    free(s);
    canned_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_odd_responses),
        cmocka_unit_test(test_fetch_connection_lost),
        cmocka_unit_test(test_fetch_garbage),
        cmocka_unit_test(test_scan_two_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
