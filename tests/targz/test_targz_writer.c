/* The archive writer thread: the bounded queue on its own (order, the
 * bound, an entry larger than the bound, a failing writer, cancel), and
 * the sink's use of it (a write failure on the writer thread surfaces at
 * the next call, naming the archive; spilled messages pass through the
 * queue intact), and the libdeflate gzip stage. */
#include "testutil.h"

#include "endpoint.h"
#include "host.h"
#include "targz_gzip.h"
#include "targz_queue.h"
#include "targz_sink.h"
#include "targz_source.h"

#include <dirent.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static char *dir;

/* ---- the queue alone --------------------------------------------------- */

typedef struct recorder {
    atomic_int written;
    int fail_at;         /* fail on this entry (1-based); 0: never */
    int delay_us;        /* per entry, to let the producer run ahead */
    char order[400][16]; /* paths in the order written */
    size_t bytes[400];
    int content_ok; /* every byte of every entry as pushed */
} recorder;

static uint8_t pattern_byte(size_t entry, size_t i)
{
    return (uint8_t)(entry * 31 + i * 7 + (i >> 9));
}

static int collect_check(void *ctx, const void *buf, size_t len)
{
    size_t *pos = ctx; /* pos[0] = entry, pos[1] = offset, pos[2] = bad */
    const uint8_t *b = buf;
    for (size_t i = 0; i < len; i++)
        if (b[i] != pattern_byte(pos[0], pos[1] + i))
            pos[2] = 1;
    pos[1] += len;
    return 0;
}

static int record(void *ctx, targz_entry *e, targz_fault *fault)
{
    recorder *r = ctx;
    int n = atomic_load(&r->written) + 1;
    if (r->delay_us)
        usleep((useconds_t)r->delay_us);
    if (n == r->fail_at) {
        fault->kind = MP_ERR_IO;
        snprintf(fault->text, sizeof fault->text, "boom at %s", e->path);
        return -1;
    }
    size_t pos[3] = {(size_t)atoi(e->path), 0, 0};
    if (targz_spool_replay(&e->data, collect_check, pos) != 0 || pos[2] ||
        pos[1] != e->data.total)
        r->content_ok = 0;
    snprintf(r->order[n - 1], sizeof r->order[0], "%s", e->path);
    r->bytes[n - 1] = (size_t)e->data.total;
    atomic_store(&r->written, n);
    return 0;
}

static targz_entry *patterned(size_t index, size_t len)
{
    char path[16];
    snprintf(path, sizeof path, "%zu", index);
    targz_entry *e = targz_entry_new(path, 0, 0, dir);
    assert_non_null(e);
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern_byte(index, i);
    /* Reserved to size, so the entry weighs about LEN (a spool otherwise
     * starts at 64 KiB). */
    assert_int_equal(targz_spool_reserve(&e->data, len), 0);
    assert_int_equal(targz_spool_write(&e->data, buf, len), 0);
    free(buf);
    return e;
}

static void test_queue_keeps_order_and_bound(void **state)
{
    (void)state;
    recorder *r = calloc(1, sizeof *r);
    r->content_ok = 1;
    r->delay_us = 200;
    targz_queue q = {0};
    const size_t max = 1u << 20;
    assert_int_equal(targz_queue_start(&q, max, record, r), 0);
    targz_fault fault;
    size_t n = 300, peak = 0;
    for (size_t i = 0; i < n; i++) {
        /* Entry 150 is three times the bound: it must still pass. */
        size_t len = i == 150 ? 3 * max : 20000 + i;
        assert_int_equal(targz_queue_push(&q, patterned(i, len), &fault), 0);
        size_t now = targz_queue_in_flight(&q);
        if (i != 150)
            assert_true(now <= max);
        if (now > peak)
            peak = now;
    }
    /* The producer did run ahead of the writer (the queue filled up). */
    assert_true(peak > max / 4);
    assert_int_equal(targz_queue_check(&q, &fault), 0);
    assert_int_equal(targz_queue_drain(&q, &fault), 0);
    assert_int_equal(atomic_load(&r->written), (int)n);
    assert_int_equal(targz_queue_in_flight(&q), 0);
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "%zu", i);
        assert_string_equal(r->order[i], want);
        assert_int_equal(r->bytes[i], i == 150 ? 3 * max : 20000 + i);
    }
    assert_true(r->content_ok);
    /* Ended: pushing is refused, cancelling again is harmless. */
    assert_int_equal(targz_queue_push(&q, patterned(0, 1), &fault), -1);
    targz_queue_cancel(&q);
    free(r);
}

static void test_queue_failure_reaches_producer(void **state)
{
    (void)state;
    recorder *r = calloc(1, sizeof *r);
    r->content_ok = 1;
    r->fail_at = 5;
    targz_queue q = {0};
    assert_int_equal(targz_queue_start(&q, 1u << 20, record, r), 0);
    targz_fault fault;
    /* Entries of 300 kB keep waking the writer (TARGZ_QUEUE_WAKE_BYTES);
     * once it has met entry 5, pushing is refused with its text. */
    size_t i;
    int rc = 0;
    for (i = 0; i < 200 && rc == 0; i++) {
        rc = targz_queue_push(&q, patterned(i, 300000), &fault);
        if (rc == 0)
            usleep(2000);
    }
    assert_int_equal(rc, -1);
    assert_true(i > 5);
    assert_int_equal(fault.kind, MP_ERR_IO);
    assert_string_equal(fault.text, "boom at 4");
    memset(&fault, 0, sizeof fault);
    assert_int_equal(targz_queue_check(&q, &fault), -1);
    assert_string_equal(fault.text, "boom at 4");
    memset(&fault, 0, sizeof fault);
    assert_int_equal(targz_queue_drain(&q, &fault), -1);
    assert_string_equal(fault.text, "boom at 4");
    assert_int_equal(atomic_load(&r->written), 4);
    /* Still reported after the thread has ended. */
    assert_int_equal(targz_queue_check(&q, &fault), -1);
    free(r);
}

/* A few small entries do not wake an idle writer (one wake per message
 * would cost as much as the message); stopping the queue writes them. */
static void test_queue_batches_wakeups(void **state)
{
    (void)state;
    recorder *r = calloc(1, sizeof *r);
    r->content_ok = 1;
    targz_queue q = {0};
    assert_int_equal(targz_queue_start(&q, 32u << 20, record, r), 0);
    targz_fault fault;
    int idle = 0; /* wait until the writer is up and waiting */
    for (int t = 0; t < 5000 && !idle; t++) {
        pthread_mutex_lock(&q.lock);
        idle = q.writer_idle;
        pthread_mutex_unlock(&q.lock);
        if (!idle)
            usleep(1000);
    }
    assert_true(idle);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(targz_queue_push(&q, patterned(i, 1000), &fault), 0);
    usleep(50000);
    assert_int_equal(atomic_load(&r->written), 0);
    /* TARGZ_QUEUE_WAKE_COUNT entries in all wake it. */
    for (size_t i = 10; i < TARGZ_QUEUE_WAKE_COUNT; i++)
        assert_int_equal(targz_queue_push(&q, patterned(i, 1000), &fault), 0);
    for (int t = 0; t < 5000 && atomic_load(&r->written) < 256; t++)
        usleep(1000);
    assert_int_equal(atomic_load(&r->written), TARGZ_QUEUE_WAKE_COUNT);
    for (size_t i = 256; i < 260; i++)
        assert_int_equal(targz_queue_push(&q, patterned(i, 1000), &fault), 0);
    assert_int_equal(targz_queue_drain(&q, &fault), 0);
    assert_int_equal(atomic_load(&r->written), 260);
    assert_string_equal(r->order[259], "259");
    assert_true(r->content_ok);
    free(r);
}

static void test_queue_cancel_drops_the_rest(void **state)
{
    (void)state;
    recorder *r = calloc(1, sizeof *r);
    r->content_ok = 1;
    r->delay_us = 2000;
    targz_queue q = {0};
    assert_int_equal(targz_queue_start(&q, 64u << 20, record, r), 0);
    targz_fault fault;
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(targz_queue_push(&q, patterned(i, 10000), &fault), 0);
    targz_queue_cancel(&q);
    /* 200 entries take 0.4 s to write; cancel did not wait for them
     * (ASan would also report the dropped entries if they leaked). */
    assert_true(atomic_load(&r->written) < 200);
    assert_int_equal(targz_queue_check(&q, &fault), 0);
    free(r);
}

/* ---- the gzip stage ---------------------------------------------------- */

typedef struct gz_out {
    FILE *f;
    size_t calls;
    int fail_after; /* fail this call (1-based); 0: never */
} gz_out;

static int to_file(void *ctx, const void *buf, size_t len)
{
    gz_out *o = ctx;
    if (++o->calls == (size_t)o->fail_after)
        return -1;
    return fwrite(buf, 1, len, o->f) == len ? 0 : -1;
}

/* 3.5 MiB in odd pieces: four members (1 MiB of input each) that gzip
 * reads back as one stream of the same bytes. */
static void test_gzip_members_read_as_one_stream(void **state)
{
    (void)state;
    if (!targz_gzip_available())
        skip();
    size_t len = (7u << 20) / 2;
    char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i % 251 < 200 ? 'a' + (i * 7 / 13) % 26 : i % 256);
    char *raw = mp_strf("%s/gz-input", dir);
    char *gz = mp_strf("%s/gz-output.gz", dir);
    mp_write_file(raw, data, len);
    gz_out o = {.f = fopen(gz, "wb")};
    assert_non_null(o.f);
    targz_gzip *g = targz_gzip_new(6, to_file, &o);
    assert_non_null(g);
    for (size_t off = 0, piece = 1; off < len; piece = piece * 3 + 1) {
        size_t k = piece % 100000 + 1;
        if (k > len - off)
            k = len - off;
        assert_int_equal(targz_gzip_write(g, data + off, k), 0);
        off += k;
    }
    assert_int_equal(o.calls, 3); /* only whole members go out */
    assert_int_equal(targz_gzip_finish(g), 0);
    assert_int_equal(o.calls, 4);
    assert_int_equal(targz_gzip_finish(g), 0); /* nothing left: no member */
    assert_int_equal(o.calls, 4);
    targz_gzip_free(g);
    assert_int_equal(fclose(o.f), 0);
    assert_int_equal(
        mp_sh("gzip -t '%s' && gzip -dc '%s' | cmp -s - '%s'", gz, gz, raw), 0);
    /* A failing output is reported, at the member that hit it. */
    o = (gz_out){.f = fopen(gz, "wb"), .fail_after = 2};
    g = targz_gzip_new(6, to_file, &o);
    assert_int_equal(targz_gzip_write(g, data, 1u << 20), 0);
    assert_int_equal(targz_gzip_write(g, data, 1u << 20), -1);
    targz_gzip_free(g);
    fclose(o.f);
    free(raw);
    free(gz);
    free(data);
}

/* ---- through the sink -------------------------------------------------- */

typedef struct opened {
    mp_url *url;
    mp_core_host host;
    void *store;
} opened;

static mp_status open_store(opened *o, const char *url, int sink)
{
    char err[256];
    o->url = mp_url_parse(url, err, sizeof err);
    assert_non_null(o->url);
    mp_host_init(&o->host, o->url);
    return sink ? targz_sink_ops.open(&o->host.pub, &o->url->ep, &o->store)
                : targz_source_ops.open(&o->host.pub, &o->url->ep, &o->store);
}

/* Incompressible bytes, so the archive grows as fast as the input. */
static void random_text(char *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (i % 73 == 72) ? '\n' : (char)(33 + x % 90);
    }
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Run with the process's file size limited to LIMIT bytes (writes past it
 * fail with EFBIG instead of raising SIGXFSZ). */
typedef struct fsize_guard {
    struct rlimit old;
    struct sigaction old_sa;
} fsize_guard;

static void limit_file_size(fsize_guard *g, rlim_t limit)
{
    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGXFSZ, &sa, &g->old_sa), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &g->old), 0);
    struct rlimit rl = g->old;
    rl.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void unlimit_file_size(fsize_guard *g)
{
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &g->old), 0);
    assert_int_equal(sigaction(SIGXFSZ, &g->old_sa, NULL), 0);
}

static void assert_names_archive(const opened *o, const char *url)
{
    assert_non_null(strstr(o->host.err, url));
    assert_non_null(strstr(o->host.err, "cannot write"));
    assert_non_null(strstr(o->host.err, "File too large"));
    assert_int_equal(o->host.err_kind, MP_ERR_IO);
}

/* Far more than the queue holds: the reader must wait for the writer, so
 * the writer's failure reaches a put_begin or put_commit while messages
 * are still being handed over, and then finish() repeats it. */
static void test_write_failure_surfaces_while_streaming(void **state)
{
    (void)state;
    char *sub = mp_strf("%s/efbig", dir);
    assert_int_equal(mp_sh("mkdir -p '%s'", sub), 0);
    char *url = mp_strf("targz:%s/w.tar.gz", sub);
    fsize_guard g;
    limit_file_size(&g, 1u << 20);
    opened o;
    assert_int_equal(open_store(&o, url, 1), MP_OK);
    void *folder;
    mp_folder_info fi;
    assert_int_equal(targz_sink_ops.open_folder(o.store, "INBOX", &folder, &fi),
                     MP_OK);
    size_t len = 256u << 10;
    char *msg = malloc(len);
    mp_status st = MP_OK;
    int i;
    for (i = 0; i < 400 && st == MP_OK; i++) {
        random_text(msg, len, (uint64_t)i);
        mp_msg_info info = {.struct_size = sizeof info,
                            .key = "k",
                            .size = len,
                            .internal_date = 1000};
        void *put;
        st = targz_sink_ops.put_begin(folder, &info, &put);
        if (st != MP_OK)
            break;
        assert_int_equal(targz_sink_ops.put_write(put, msg, len), MP_OK);
        char key[512];
        st = targz_sink_ops.put_commit(put, key, sizeof key);
    }
    assert_int_equal(st, MP_FATAL);
    /* 1 MiB of archive fails long before 100 MiB of input is handed over
     * (at most the 32 MiB queue can be ahead of the writer). */
    assert_true(i < 200);
    assert_names_archive(&o, url);
    memset(o.host.err, 0, sizeof o.host.err);
    assert_int_equal(targz_sink_ops.close_folder(folder), MP_FATAL);
    assert_names_archive(&o, url);
    memset(o.host.err, 0, sizeof o.host.err);
    assert_int_equal(targz_sink_ops.finish(o.store), MP_FATAL);
    assert_non_null(strstr(o.host.err, url));
    targz_sink_ops.close(o.store);
    unlimit_file_size(&g);
    assert_int_equal(count_entries(sub), 0);
    mp_url_free(o.url);
    free(msg);
    free(url);
    free(sub);
}

/* The messages fit under the limit, the manifest (long source keys) does
 * not: every put is accepted, finish() reports the failure; nothing is
 * left. */
static void test_write_failure_surfaces_at_finish(void **state)
{
    (void)state;
    char *sub = mp_strf("%s/efbig-finish", dir);
    assert_int_equal(mp_sh("mkdir -p '%s'", sub), 0);
    char *url = mp_strf("targz:%s/w.tar", sub);
    fsize_guard g;
    limit_file_size(&g, 100000);
    opened o;
    assert_int_equal(open_store(&o, url, 1), MP_OK);
    void *folder;
    mp_folder_info fi;
    assert_int_equal(targz_sink_ops.open_folder(o.store, "Sub", &folder, &fi),
                     MP_OK);
    size_t len = 20000;
    char *msg = malloc(len);
    char *long_key = malloc(6001);
    memset(long_key, 'k', 6000);
    long_key[6000] = '\0';
    for (int i = 0; i < 4; i++) {
        random_text(msg, len, (uint64_t)i + 1000);
        mp_msg_info info = {.struct_size = sizeof info, .key = long_key};
        void *put;
        assert_int_equal(targz_sink_ops.put_begin(folder, &info, &put), MP_OK);
        assert_int_equal(targz_sink_ops.put_write(put, msg, len), MP_OK);
        char key[512];
        assert_int_equal(targz_sink_ops.put_commit(put, key, sizeof key),
                         MP_OK);
    }
    assert_int_equal(targz_sink_ops.close_folder(folder), MP_OK);
    memset(o.host.err, 0, sizeof o.host.err);
    assert_int_equal(targz_sink_ops.finish(o.store), MP_FATAL);
    assert_names_archive(&o, url);
    /* A second finish does not pretend otherwise. */
    assert_int_equal(targz_sink_ops.finish(o.store), MP_FATAL);
    targz_sink_ops.close(o.store);
    unlimit_file_size(&g);
    assert_int_equal(count_entries(sub), 0);
    mp_url_free(o.url);
    free(long_key);
    free(msg);
    free(url);
    free(sub);
}

typedef struct readback {
    size_t n, cur, bad;
    size_t sizes[16];
    uint64_t seeds[16];
    char *buf;
    size_t len;
} readback;

static mp_status rb_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    readback *r = ctx;
    (void)info;
    r->cur = index;
    r->len = 0;
    return MP_OK;
}

static mp_status rb_data(void *ctx, const void *buf, size_t len)
{
    readback *r = ctx;
    if (r->len + len <= r->sizes[r->cur])
        memcpy(r->buf + r->len, buf, len);
    r->len += len;
    return MP_OK;
}

static mp_status rb_end(void *ctx, mp_status st)
{
    readback *r = ctx;
    char *want = malloc(r->sizes[r->cur] + 1);
    random_text(want, r->sizes[r->cur], r->seeds[r->cur]);
    if (st != MP_OK || r->len != r->sizes[r->cur] ||
        memcmp(want, r->buf, r->len) != 0)
        r->bad++;
    free(want);
    r->n++;
    return MP_OK;
}

typedef struct keys {
    size_t n;
    char *key[16];
} keys;

static mp_status on_key(void *ctx, const mp_msg_info *info)
{
    keys *k = ctx;
    if (k->n < 16)
        k->key[k->n++] = strdup(info->key);
    return MP_OK;
}

/* Several messages past the 8 MiB spill threshold in a row (each waits in
 * the queue as an encrypted temporary file) between small ones. */
static void test_spilled_messages_through_the_queue(void **state)
{
    (void)state;
    char *arch = mp_strf("%s/spill.tar", dir);
    char *url = mp_strf("targz:%s", arch);
    opened o;
    assert_int_equal(open_store(&o, url, 1), MP_OK);
    void *folder;
    mp_folder_info fi;
    assert_int_equal(targz_sink_ops.open_folder(o.store, "INBOX", &folder, &fi),
                     MP_OK);
    readback rb = {0};
    size_t n = 8;
    char *msg = malloc(10u << 20);
    for (size_t i = 0; i < n; i++) {
        rb.sizes[i] = i % 2 ? (9u << 20) + i : 1000 + i;
        rb.seeds[i] = 77 + i;
        random_text(msg, rb.sizes[i], rb.seeds[i]);
        mp_msg_info info = {.struct_size = sizeof info, .key = "k"};
        void *put;
        assert_int_equal(targz_sink_ops.put_begin(folder, &info, &put), MP_OK);
        /* In pieces, as the core writes. */
        for (size_t off = 0; off < rb.sizes[i]; off += 65536) {
            size_t k = rb.sizes[i] - off < 65536 ? rb.sizes[i] - off : 65536;
            assert_int_equal(targz_sink_ops.put_write(put, msg + off, k),
                             MP_OK);
        }
        char key[512];
        assert_int_equal(targz_sink_ops.put_commit(put, key, sizeof key),
                         MP_OK);
    }
    assert_int_equal(targz_sink_ops.close_folder(folder), MP_OK);
    assert_int_equal(targz_sink_ops.finish(o.store), MP_OK);
    targz_sink_ops.close(o.store);
    mp_url_free(o.url);

    assert_int_equal(open_store(&o, url, 0), MP_OK);
    assert_int_equal(
        targz_source_ops.open_folder(o.store, "INBOX", &folder, &fi), MP_OK);
    assert_int_equal(fi.count, (int64_t)n);
    keys k = {0};
    assert_int_equal(targz_source_ops.scan(folder, 0, on_key, &k), MP_OK);
    assert_int_equal(k.n, n);
    rb.buf = msg;
    mp_fetch_cb cb = {sizeof cb, rb_begin, rb_data, rb_end};
    assert_int_equal(
        targz_source_ops.fetch(folder, (const char *const *)k.key, n, &cb, &rb),
        MP_OK);
    assert_int_equal(rb.n, n);
    assert_int_equal(rb.bad, 0);
    targz_source_ops.close_folder(folder);
    targz_source_ops.close(o.store);
    for (size_t i = 0; i < k.n; i++)
        free(k.key[i]);
    mp_url_free(o.url);
    free(msg);
    free(url);
    free(arch);
}

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("targz-writer");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mp_rm_rf(dir);
    free(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_keeps_order_and_bound),
        cmocka_unit_test(test_queue_failure_reaches_producer),
        cmocka_unit_test(test_queue_batches_wakeups),
        cmocka_unit_test(test_queue_cancel_drops_the_rest),
        cmocka_unit_test(test_gzip_members_read_as_one_stream),
        cmocka_unit_test(test_write_failure_surfaces_while_streaming),
        cmocka_unit_test(test_write_failure_surfaces_at_finish),
        cmocka_unit_test(test_spilled_messages_through_the_queue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
