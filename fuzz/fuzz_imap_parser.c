/* libFuzzer target for the IMAP response parser and the response loop
 * built on it: whatever a server sends must end in a clean error, never a
 * crash, a hang, a leak or unbounded memory. */
#include "imap_conn.h"
#include "imap_parser.h"
#include "imap_source.h"
#include "imap_store.h"
#include "imap_util.h"

#include "fuzz_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fake_identity(mp_host *h, const char *hdr, size_t len, char *out,
                          size_t size)
{
    (void)h;
    snprintf(out, size, "%c:%zu", len && hdr[0] == 'M' ? 'M' : 'H', len);
}

static mp_host fake_host = {
    .struct_size = sizeof(mp_host),
    .log = fuzz_log,
    .set_error = fuzz_set_error,
    .identity_of_header = fake_identity,
};

/* Walk the raw token stream, exercising every way of consuming it. */
static void walk_tokens(const uint8_t *data, size_t size)
{
    imap_parser p;
    imap_parser_init_mem(&p, (const char *)data, size);
    for (unsigned n = 1; n < 100000; n++) {
        int t = imap_next(&p);
        if (t < 0)
            break;
        if (t == IMAP_T_LITERAL) {
            if (n % 2) {
                imap_literal_slurp(&p, 1u << 16);
            } else {
                char b[7];
                while (imap_literal_read(&p, b, sizeof b) > 0)
                    ;
            }
        } else if (t == IMAP_T_ATOM && n % 5 == 0) {
            imap_skip_response(&p);
        } else if (t == IMAP_T_ATOM && n % 7 == 0) {
            imap_rest_text(&p, 100);
        } else if (t == IMAP_T_STRING || t == IMAP_T_ATOM) {
            int64_t d;
            uint64_t v;
            imap_parse_date(p.tok, &d);
            imap_tok_u64(&p, &v);
            unsigned flags = 0;
            imap_str kw = {0};
            imap_flag_add(p.tok, &flags, &kw);
            imap_str_free(&kw);
        }
    }
    imap_parser_free(&p);
}

static mp_status body(void *ctx, imap_conn *c, imap_fetch_meta *m, int t)
{
    (void)ctx;
    (void)m;
    if (t == IMAP_T_LITERAL) {
        char b[13];
        while (imap_literal_read(&c->p, b, sizeof b) > 0)
            ;
    }
    return MP_OK;
}

static mp_status untagged(void *ctx, imap_conn *c, int64_t num)
{
    (void)ctx;
    (void)num;
    if (imap_tok_is(&c->p, "FETCH")) {
        imap_fetch_meta m = {0};
        imap_parse_fetch(c, &m, body, NULL);
        imap_str_free(&m.keywords);
    }
    return MP_OK;
}

/* The connection's response loop, as the plugin runs it. */
static void run_responses(const uint8_t *data, size_t size)
{
    imap_conn c;
    memset(&c, 0, sizeof c);
    c.host = &fake_host;
    snprintf(c.where, sizeof c.where, "fuzz");
    imap_parser_init_mem(&c.p, (const char *)data, size);
    for (int i = 0; i < 10000; i++) {
        unsigned tag;
        int result;
        if (imap_wait_tagged(&c, untagged, NULL, &tag, &result) != MP_OK)
            break;
    }
    imap_parser_free(&c.p);
    free(c.permflags);
}

static mp_status f_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    (void)ctx;
    (void)index;
    (void)info;
    return MP_OK;
}
static mp_status f_data(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return MP_OK;
}
static mp_status f_end(void *ctx, mp_status st)
{
    (void)ctx;
    (void)st;
    return MP_OK;
}
static mp_status on_msg(void *ctx, const mp_msg_info *info)
{
    (void)ctx;
    (void)info;
    return MP_OK;
}

/* The source's fetch and scan reading the input as the server's answer. */
static void run_source(const uint8_t *data, size_t size, int scan)
{
    imap_store st;
    imap_conn c;
    imap_folder f;
    memset(&st, 0, sizeof st);
    memset(&c, 0, sizeof c);
    memset(&f, 0, sizeof f);
    c.host = &fake_host;
    c.exists = 1;
    imap_parser_init_mem(&c.p, (const char *)data, size);
    st.host = &fake_host;
    st.conn = &c;
    st.prefix = (char *)"";
    f.st = &st;
    f.name = (char *)"INBOX";
    if (scan) {
        imap_folder_scan(&f, MP_SCAN_IDENTITY, on_msg, NULL);
    } else {
        static const char *const keys[] = {"1", "2", "3", "7", "4294967295"};
        const mp_fetch_cb cb = {sizeof cb, f_begin, f_data, f_end};
        imap_source_fetch(&f, keys, 5, &cb, NULL);
    }
    imap_parser_free(&c.p);
    free(c.permflags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk_tokens(data, size);
    run_responses(data, size);
    run_source(data, size, 0);
    run_source(data, size, 1);
    return 0;
}
