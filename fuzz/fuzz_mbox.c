/* libFuzzer target for the mbox reader: the From_-line splitter
 * (mbox_split.c), the From_ line date parser (mbox_date.c), the header
 * fields it reads (mbox_headers.c) and the source's scan and fetch
 * (mbox_read.c), with the sink's From-quoting (mbox_quote.c) for a round
 * trip. Any input must split without a crash, and:
 *
 * - the index is sane: From_ lines in order, each message inside the data
 *   and before the next From_ line, size the delivered byte count;
 * - scan and fetch through the source deliver exactly those bytes;
 * - round trip (mboxrd and mboxo, the formats the sink writes): writing the
 *   delivered messages as the sink does (its From_ line, the quoting, a
 *   newline when the message did not end in one, the separator line) and
 *   splitting that again gives the same number of messages, each exactly
 *   as written: for mboxrd the delivered bytes come back (plus that one
 *   newline); for mboxo, whose quoting is not undone on reading, the
 *   quoted bytes do. The flags and keywords come back too, and the date
 *   (where its year has four digits; the sink dates others "now");
 * - the From-quoting gives the same bytes however the message is chunked;
 * - a date the From_ line parser gives back is parsed again from the
 *   asctime form the sink writes for it.
 *
 * A broken property abort()s, with the message number on stderr. */
#include "mbox_date.h"
#include "mbox_headers.h"
#include "mbox_quote.h"
#include "mbox_read.h"
#include "mbox_split.h"

#include "fuzz_util.h"

#include <mailport/plugin.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The time the sink takes for "now" (a message without a date). */
#define UNDATED ((int64_t)1000000000)

/* mbox_out_fn takes chars. */
static int buf_put(void *ctx, const char *p, size_t n)
{
    return fuzz_buf_put(ctx, p, n);
}

/* ---- a fake host for the source's scan and fetch ------------------------ */

static size_t identity_calls;

static void fake_identity(mp_host *h, const char *hdr, size_t len, char *out,
                          size_t size)
{
    (void)h;
    /* Touch every byte, so ASan sees a header block that is too short. */
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = sum * 31 + (unsigned char)hdr[i];
    snprintf(out, size, "%u", sum);
    identity_calls++;
}

static mp_host fake_host = {
    .struct_size = sizeof(mp_host),
    .log = fuzz_log,
    .set_error = fuzz_set_error,
    .identity_of_header = fake_identity,
};

/* ---- what the source delivers, and the split's sanity ------------------- */

/* The bytes of M as the source delivers them: quoting undone for mboxrd. */
static void delivered(const char *data, const mbox_msg *m, mbox_format fmt,
                      fuzz_buf *out)
{
    size_t s = (size_t)m->start, e = (size_t)m->end, from = s;
    out->len = 0;
    if (mbox_format_unquotes(fmt)) {
        for (size_t q = mbox_next_quote(data, s, s, e); q < e;
             q = mbox_next_quote(data, s, q + 1, e)) {
            buf_put(out, data + from, q - from);
            from = q + 1;
        }
    }
    buf_put(out, data + from, e - from);
}

static void check_index(const char *data, size_t len, size_t start,
                        mbox_format fmt, const mbox_index *idx)
{
    fuzz_buf d = {0};
    for (size_t i = 0; i < idx->n; i++) {
        const mbox_msg *m = &idx->msgs[i];
        FUZZ_CHECK(m->from_off < m->start && m->start <= m->end &&
                       m->end <= len,
                   "message %zu", i);
        FUZZ_CHECK(i > 0 || m->from_off == start, "first message");
        FUZZ_CHECK(i == 0 || idx->msgs[i - 1].end <= m->from_off,
                   "message %zu overlaps the one before", i);
        FUZZ_CHECK(memcmp(data + m->from_off, "From ", 5) == 0,
                   "message %zu: no From_ line", i);
        delivered(data, m, fmt, &d);
        FUZZ_CHECK(d.len == m->size, "message %zu: size %" PRIu64 ", %zu bytes",
                   i, m->size, d.len);
        FUZZ_CHECK(mbox_index_find(idx, m->from_off) == m, "message %zu", i);
        FUZZ_CHECK(m->keys_len == 0 ||
                       m->start + m->keys_off + m->keys_len <= m->end,
                   "message %zu: keywords outside it", i);
        /* The tag is a streaming one: fed in pieces of any size, as the
         * sink feeds what it writes, it comes out the same. */
        mbox_tagger t;
        if (mbox_tagger_begin(&t) != 0)
            abort();
        size_t piece = 1 + (size_t)(m->from_off % 7);
        for (size_t at = (size_t)m->from_off; at < m->end; at += piece)
            mbox_tagger_feed(&t, data + at,
                             m->end - at < piece ? m->end - at : piece);
        FUZZ_CHECK(mbox_tagger_end(&t) == m->tag,
                   "message %zu: tag fed in pieces of %zu differs", i, piece);
        FUZZ_CHECK(m->ordinal >= 1, "message %zu: ordinal 0", i);
    }
    free(d.p);
}

/* ---- the source's scan and fetch on the same bytes ---------------------- */

typedef struct fetch_ctx {
    fuzz_buf got;
    size_t begun, ended, bad;
} fetch_ctx;

static mp_status f_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    fetch_ctx *f = ctx;
    (void)index;
    (void)info;
    f->begun++;
    f->got.len = 0;
    return MP_OK;
}

static mp_status f_data(void *ctx, const void *p, size_t n)
{
    buf_put(&((fetch_ctx *)ctx)->got, p, n);
    return MP_OK;
}

static mp_status f_end(void *ctx, mp_status st)
{
    fetch_ctx *f = ctx;
    f->ended++;
    if (st != MP_OK)
        f->bad++;
    return MP_OK;
}

static mp_status on_msg(void *ctx, const mp_msg_info *info)
{
    (void)info;
    ++*(size_t *)ctx;
    return MP_OK;
}

/* Scan (with identities) and fetch every message through mbox_read.c, from
 * a memory file as the source maps its mbox, and compare with the split of
 * the same bytes. */
static void check_source(const char *data, size_t len, mbox_format fmt,
                         const mbox_index *idx)
{
    int fd = memfd_create("fuzz-mbox", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (len && write(fd, data, len) != (ssize_t)len) {
        close(fd);
        return;
    }
    mbox_content c = {.host = &fake_host, .path = "fuzz", .format = fmt};
    char err[256];
    if (mbox_map_fd(&c.map, fd, len, "fuzz", err, sizeof err) != 0) {
        close(fd);
        return;
    }
    close(fd);
    if (mbox_content_split(&c) != MP_OK) {
        mbox_content_free(&c);
        return;
    }
    FUZZ_CHECK(c.index.n == idx->n, "source split %zu messages, not %zu",
               c.index.n, idx->n);
    size_t seen = 0;
    identity_calls = 0;
    FUZZ_CHECK(mbox_content_scan(&c, MP_SCAN_IDENTITY, on_msg, &seen) == MP_OK,
               "scan");
    FUZZ_CHECK(seen == idx->n && identity_calls == idx->n, "scan saw %zu",
               seen);

    size_t n = idx->n < 64 ? idx->n : 64;
    char(*keys)[MBOX_KEY_SIZE] = calloc(n + 1, sizeof *keys);
    const char **kp = calloc(n + 1, sizeof *kp);
    if (!keys || !kp)
        abort();
    for (size_t i = 0; i < n; i++) {
        /* Keys as they are, and every third as an earlier version's byte
         * offset, which fetch still takes. */
        if (i % 3 == 2)
            snprintf(keys[i], sizeof keys[i], "%" PRIu64,
                     idx->msgs[i].from_off);
        else
            mbox_msg_key(&idx->msgs[i], keys[i]);
        kp[i] = keys[i];
    }
    snprintf(keys[n], sizeof keys[n], "x%zu", len); /* no such message */
    kp[n] = keys[n];
    const mp_fetch_cb cb = {sizeof cb, f_begin, f_data, f_end};
    fuzz_buf want = {0};
    for (size_t i = 0; i <= n; i++) {
        fetch_ctx f = {0};
        FUZZ_CHECK(mbox_content_fetch(&c, kp + i, 1, &cb, &f) == MP_OK,
                   "fetch");
        FUZZ_CHECK(f.begun == 1 && f.ended == 1, "fetch %zu", i);
        if (i == n) {
            FUZZ_CHECK(f.bad == 1, "a bogus key was fetched");
        } else {
            delivered(data, &idx->msgs[i], fmt, &want);
            FUZZ_CHECK(f.bad == 0 && fuzz_buf_is(&f.got, want.p, want.len),
                       "message %zu fetched other bytes than split", i);
        }
        free(f.got.p);
    }
    free(want.p);
    free(keys);
    free(kp);
    mbox_content_free(&c);
}

/* ---- writing as the sink does, and splitting again ---------------------- */

/* Quote MSG for FMT into OUT, fed in pieces of CHUNK bytes. */
static void quote(const char *msg, size_t len, int rd, size_t chunk,
                  fuzz_buf *out)
{
    mbox_quoter q;
    mbox_quoter_init(&q, rd);
    for (size_t i = 0; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        mbox_quoter_feed(&q, msg + i, n, buf_put, out);
    }
    mbox_quoter_finish(&q, buf_put, out);
}

static int year_of(int64_t t)
{
    char when[48];
    mbox_format_asctime(t, when, sizeof when);
    const char *sp = strrchr(when, ' ');
    return sp ? atoi(sp + 1) : -1;
}

static void check_round_trip(const char *data, const mbox_index *idx,
                             mbox_format fmt, size_t chunk)
{
    int rd = fmt == MBOX_FORMAT_MBOXRD;
    fuzz_buf out = {0}, msg = {0}, q1 = {0}, q2 = {0};
    size_t *body_at = calloc(idx->n + 1, sizeof *body_at);
    size_t *body_len = calloc(idx->n + 1, sizeof *body_len);
    int64_t *dates = calloc(idx->n + 1, sizeof *dates);
    if (!body_at || !body_len || !dates)
        abort();
    for (size_t i = 0; i < idx->n; i++) {
        const mbox_msg *m = &idx->msgs[i];
        delivered(data, m, fmt, &msg);
        /* sink_put_begin: its From_ line, which must be dated (else the
         * splitter does not start a message at it), and with the message's
         * date where that has a four-digit year. */
        char line[MBOX_FROM_LINE_MAX];
        size_t n = mbox_from_line(m->date, UNDATED, line, sizeof line);
        dates[i] = mbox_from_line_date(line + 5, n - 5);
        FUZZ_CHECK(dates[i] != MP_DATE_UNKNOWN, "message %zu: %s", i, line);
        if (m->date != MP_DATE_UNKNOWN && year_of(m->date) >= 1000 &&
            year_of(m->date) <= 9999)
            FUZZ_CHECK(dates[i] == m->date, "message %zu: %s", i, line);
        buf_put(&out, line, n);
        /* sink_put_write: the quoting; the chunking must not matter. */
        q1.len = q2.len = 0;
        quote(msg.p, msg.len, rd, msg.len ? msg.len : 1, &q1);
        quote(msg.p, msg.len, rd, chunk, &q2);
        FUZZ_CHECK(fuzz_buf_is(&q1, q2.p, q2.len),
                   "message %zu: quoting in pieces of %zu differs", i, chunk);
        body_at[i] = out.len;
        buf_put(&out, q1.p, q1.len);
        /* sink_put_commit: end the last line, then the separator. */
        if (msg.len > 0 && msg.p[msg.len - 1] != '\n')
            buf_put(&out, "\n", 1);
        body_len[i] = out.len - body_at[i];
        buf_put(&out, "\n", 1);
    }

    size_t start = 0;
    mbox_index again = {0};
    if (idx->n > 0) {
        FUZZ_CHECK(mbox_find_start(out.p, out.len, &start) == MBOX_START_OK &&
                       start == 0,
                   "the written mbox does not start with its From_ line");
        if (mbox_split(out.p, out.len, start, fmt, &again, NULL) != 0)
            abort();
    }
    FUZZ_CHECK(again.n == idx->n, "%s: %zu messages written, %zu read back",
               mbox_format_name(fmt), idx->n, again.n);
    fuzz_buf back = {0};
    for (size_t i = 0; i < idx->n; i++) {
        const mbox_msg *m = &again.msgs[i];
        FUZZ_CHECK(m->start == body_at[i] && m->end == body_at[i] + body_len[i],
                   "%s: message %zu read back at %" PRIu64 "..%" PRIu64
                   ", written at %zu..%zu",
                   mbox_format_name(fmt), i, m->start, m->end, body_at[i],
                   body_at[i] + body_len[i]);
        if (rd) {
            delivered(data, &idx->msgs[i], fmt, &msg);
            if (msg.len > 0 && msg.p[msg.len - 1] != '\n')
                buf_put(&msg, "\n", 1);
            delivered(out.p, m, fmt, &back);
            FUZZ_CHECK(fuzz_buf_is(&back, msg.p, msg.len),
                       "mboxrd: message %zu does not come back as it went in",
                       i);
        }
        FUZZ_CHECK(m->date == dates[i],
                   "%s: message %zu dated %" PRId64 ", read back %" PRId64,
                   mbox_format_name(fmt), i, dates[i], m->date);
        FUZZ_CHECK(m->flags == idx->msgs[i].flags,
                   "%s: message %zu flags %#x, read back %#x",
                   mbox_format_name(fmt), i, idx->msgs[i].flags, m->flags);
        /* Thunderbird's keywords: the same X-Mozilla-Keys value (its place
         * may move, by a '>' the writer adds to a "From " first line). */
        const mbox_msg *o = &idx->msgs[i];
        FUZZ_CHECK(m->keys_len == o->keys_len &&
                       memcmp(out.p + m->start + m->keys_off,
                              data + o->start + o->keys_off, o->keys_len) == 0,
                   "%s: message %zu keywords", mbox_format_name(fmt), i);
    }
    mbox_index_free(&again);
    free(back.p);
    free(out.p);
    free(msg.p);
    free(q1.p);
    free(q2.p);
    free(body_at);
    free(body_len);
    free(dates);
}

/* The From_ line parser on every line of the input, and on the asctime it
 * gives for what it parsed. */
static void check_dates(const char *data, size_t len)
{
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(data + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - data) + 1 : len;
        int64_t t = mbox_from_line_date(data + p, e - p);
        if (t != MP_DATE_UNKNOWN) {
            char when[64];
            mbox_format_asctime(t, when, sizeof when);
            int y = year_of(t);
            if (y >= 1000 && y <= 9999)
                FUZZ_CHECK(mbox_from_line_date(when, strlen(when)) == t,
                           "\"%s\" is not %" PRId64, when, t);
        }
        p = e;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    const char *data = (const char *)bytes;
    check_dates(data, size);
    /* Whatever the header block holds, the two field readers must cope. */
    uint64_t cl;
    mbox_content_length(data, size, &cl);
    mbox_status_flags(data, size);

    size_t start = 0;
    mbox_start kind = mbox_find_start(data, size, &start);
    if (kind != MBOX_START_OK)
        return 0;
    /* The chunk size the quoter is fed in: from the data, so the fuzzer
     * can vary it. */
    size_t chunk = size ? (size_t)bytes[size - 1] % 17 + 1 : 1;
    for (int f = MBOX_FORMAT_MBOXRD; f <= MBOX_FORMAT_MBOXCL2; f++) {
        mbox_index idx = {0};
        if (mbox_split(data, size, start, (mbox_format)f, &idx, NULL) != 0)
            abort();
        check_index(data, size, start, (mbox_format)f, &idx);
        if (f == MBOX_FORMAT_MBOXRD || f == MBOX_FORMAT_MBOXO)
            check_round_trip(data, &idx, (mbox_format)f, chunk);
        if (f == MBOX_FORMAT_MBOXRD || f == MBOX_FORMAT_MBOXCL)
            check_source(data, size, (mbox_format)f, &idx);
        mbox_index_free(&idx);
    }
    return 0;
}
