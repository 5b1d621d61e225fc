/* The targz plugin's pieces and ops driven directly: names, manifest
 * lines, the content hash, the spool, and sink/source behaviour the CLI
 * cannot reach (close without finish, big messages, fetch order). */
#include "testutil.h"

#include "endpoint.h"
#include "host.h"
#include "targz_hash.h"
#include "targz_manifest.h"
#include "targz_names.h"
#include "targz_sink.h"
#include "targz_source.h"
#include "targz_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;

static void test_folder_names(void **state)
{
    (void)state;
    static const struct {
        const char *name, *dir;
    } ok[] = {
        {"INBOX", ""},
        {"inbox", ""},
        {"Sent", ".Sent"},
        {"Lists/Work", ".Lists.Work"},
        {"Entwürfe", ".Entw&APw-rfe"},
        {"a.b", ".a\\2eb"},
        {"back\\slash", ".back\\5cslash"},
        {"R&D", ".R&-D"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *d = targz_folder_to_dir(ok[i].name);
        assert_non_null(d);
        assert_string_equal(d, ok[i].dir);
        char *n = targz_dir_to_folder(d);
        assert_non_null(n);
        if (i != 1)
            assert_string_equal(n, ok[i].name);
        free(d);
        free(n);
    }
    static const char *const bad[] = {"", "a//b", "a/", "/a", "..", "a/../b",
                                      "x\ny", "bad\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(targz_folder_to_dir(bad[i]));
    static const char *const bad_dirs[] = {".", "..a", ".a..b", "a", ".a/b"};
    for (size_t i = 0; i < sizeof bad_dirs / sizeof *bad_dirs; i++)
        assert_null(targz_dir_to_folder(bad_dirs[i]));
}

static void test_flags(void **state)
{
    (void)state;
    char out[8];
    targz_flags_to_letters(0x3f, out);
    assert_string_equal(out, "DFPRST");
    assert_int_equal(targz_letters_to_flags("SRab"),
                     MP_FLAG_SEEN | MP_FLAG_ANSWERED);
    assert_string_equal(targz_name_info("cur/123.x:2,FS"), "FS");
    assert_string_equal(targz_name_info("cur/123.x!2,S"), "S");
    assert_null(targz_name_info("new/123.x"));
}

static void test_manifest_lines(void **state)
{
    (void)state;
    char *line = targz_manifest_format(
        "Entwürfe/\"q\"", ".Entw&APw-rfe/cur/1.Q1.mailport:2,S", 42,
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "S", "$Junk NonJunk", -5, "key\\with\n\001" "ctl");
    assert_non_null(line);
    assert_null(strchr(line, '\n'));
    /* jansson's escapes (\n, \u0001); the reader takes \u000a as well. */
    assert_contains(line, "\"source_key\":\"key\\\\with\\n\\u0001ctl\"");
    assert_contains(line, "\"keywords\":[\"$Junk\",\"NonJunk\"]");
    targz_manifest_line l;
    assert_int_equal(targz_manifest_parse(line, strlen(line), &l), 0);
    assert_string_equal(l.folder, "Entwürfe/\"q\"");
    assert_string_equal(l.keywords, "$Junk NonJunk");
    assert_string_equal(l.source_key, "key\\with\n\001" "ctl");
    assert_int_equal(l.size, 42);
    assert_int_equal(l.internal_date, -5);
    targz_manifest_line_free(&l);
    free(line);

    /* \u escapes with a surrogate pair; unknown keys skipped. */
    const char *esc = "{\"file\":\"cur/\\u00e9\\ud83d\\ude00\",\"x\":[1,{\"y\":"
                      "null}],\"sha256\":\"0123456789abcdef0123456789abcdef"
                      "0123456789abcdef0123456789abcdef\"}";
    assert_int_equal(targz_manifest_parse(esc, strlen(esc), &l), 0);
    assert_string_equal(l.file, "cur/\xc3\xa9\xf0\x9f\x98\x80");
    targz_manifest_line_free(&l);

    static const char *const bad[] = {
        "",
        "[]",
        "{\"file\":\"a\"}",                       /* no sha256 */
        "{\"file\":\"a\",\"sha256\":\"short\"}",  /* bad sha256 */
        "{\"file\":\"a\\u0000\",\"sha256\":\"0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef\"}",   /* NUL */
        "{\"file\":\"\\ud800\",\"sha256\":\"0123456789abcdef0123456789abcdef"
        "0123456789abcdef0123456789abcdef\"}",   /* lone surrogate */
        "{\"file\":\"a\" \"sha256\":\"x\"}",       /* missing comma */
        "{\"file\":\"a\",\"size\":-1,\"sha256\":\"0123456789abcdef0123456789ab"
        "cdef0123456789abcdef0123456789abcdef\"}", /* negative size */
        "{\"file\":\"a\",\"keywords\":[\"a b\"],\"sha256\":\"0123456789abcdef"
        "0123456789abcdef0123456789abcdef0123456789abcdef\"}", /* space */
        "{\"file\":\"a\",\"sha256\":\"0123456789abcdef0123456789abcdef012345"
        "6789abcdef0123456789abcdef\"} trailing",
        "{\"file\":\"unterminated",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(targz_manifest_parse(bad[i], strlen(bad[i]), &l), -1);
    char deep[400];
    strcpy(deep, "{\"x\":");
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    assert_int_equal(targz_manifest_parse(deep, strlen(deep), &l), -1);
}

static void hash_of(const char *data, size_t len, size_t piece, char hex[65],
                    uint64_t *vsize)
{
    targz_hash h;
    assert_int_equal(targz_hash_init(&h), 0);
    for (size_t off = 0; off < len; off += piece)
        targz_hash_update(&h, data + off, len - off < piece ? len - off : piece);
    assert_int_equal(targz_hash_final(&h, hex), 0);
    *vsize = h.lf_len + h.lines;
}

static void test_hash_normalises_crlf(void **state)
{
    (void)state;
    const char *lf = "A: b\n\nbody\rx\n\r";
    const char *crlf = "A: b\r\n\r\nbody\rx\r\n\r";
    char want[65], got[65];
    uint64_t v1, v2;
    hash_of(lf, strlen(lf), 100, want, &v1);
    for (size_t piece = 1; piece < 8; piece++) {
        hash_of(crlf, strlen(crlf), piece, got, &v2);
        assert_string_equal(got, want);
        assert_int_equal(v2, v1);
    }
    assert_int_equal(v1, strlen(crlf)); /* three lines, each CRLF */
    /* sha256("") */
    hash_of("", 0, 1, got, &v1);
    assert_string_equal(
        got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* The line count (vsize) and the hash against a byte-by-byte reference,
 * on random bytes rich in the ones a word-at-a-time count could confuse
 * ('\n' with the high bit, neighbours of '\n', '\r', NUL). */
static void test_hash_counts_lines_exactly(void **state)
{
    (void)state;
    static const unsigned char alphabet[] = {'\n', '\r', 0x8a, 0x0b, 0x09,
                                             0x00, 0xff, 'a',  0x0a, 0x7f};
    uint64_t x = 88172645463325252ull;
    char buf[700], lf[700], want[65], got[65];
    for (int round = 0; round < 400; round++) {
        size_t len = (size_t)(round * 37 % 700);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (char)alphabet[x % sizeof alphabet];
        }
        /* Reference: CRLF -> LF, then each '\n' counts one more byte. */
        size_t n = 0, newlines = 0;
        for (size_t i = 0; i < len; i++) {
            if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
                continue;
            lf[n++] = buf[i];
            newlines += buf[i] == '\n';
        }
        unsigned char md[32];
        assert_int_equal(EVP_Digest(lf, n, md, NULL, EVP_sha256(), NULL), 1);
        for (int i = 0; i < 32; i++)
            sprintf(want + 2 * i, "%02x", md[i]);
        uint64_t v;
        hash_of(buf, len, 1 + (size_t)round % 23, got, &v);
        assert_string_equal(got, want);
        assert_int_equal(v, n + newlines);
    }
}

static int collect(void *ctx, const void *buf, size_t len)
{
    char **p = ctx;
    memcpy(*p, buf, len);
    *p += len;
    return 0;
}

static void test_spool_spills_encrypted(void **state)
{
    (void)state;
    size_t len = TARGZ_SPOOL_MEM_MAX + 123457;
    char *data = malloc(len), *back = malloc(len), *cursor = back;
    for (size_t i = 0; i < len; i++)
        data[i] = (char)("From: x\nSecret plaintext line\n"[i % 30]);
    targz_spool sp;
    targz_spool_init(&sp, dir);
    for (size_t off = 0; off < len; off += 100000)
        assert_int_equal(targz_spool_write(&sp, data + off,
                                           len - off < 100000 ? len - off
                                                              : 100000),
                         0);
    assert_true(sp.spilled);
    assert_true(sp.fd >= 0);
    assert_int_equal(sp.total, len);
    /* The spill file holds no plaintext. */
    char raw[4096];
    assert_int_equal(pread(sp.fd, raw, sizeof raw, 0), (ssize_t)sizeof raw);
    assert_null(memmem(raw, sizeof raw, "Secret plaintext", 16));
    /* And it is not visible in the directory. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        assert_null(strstr(e->d_name, "spool"));
    closedir(d);
    assert_int_equal(targz_spool_replay(&sp, collect, &cursor), 0);
    assert_int_equal((size_t)(cursor - back), len);
    assert_memory_equal(back, data, len);
    /* Reused for a small entry: back in memory. */
    targz_spool_reset(&sp);
    assert_int_equal(targz_spool_write(&sp, "abc", 3), 0);
    assert_false(sp.spilled);
    cursor = back;
    assert_int_equal(targz_spool_replay(&sp, collect, &cursor), 0);
    assert_int_equal(cursor - back, 3);
    targz_spool_free(&sp);
    free(data);
    free(back);
}

/* ---- ops through a real core host ------------------------------------ */

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

static void put_message(void *folder, const char *text, unsigned flags,
                        const char *keywords, int64_t date)
{
    mp_msg_info info = {.struct_size = sizeof info,
                        .key = "src-key",
                        .flags = flags,
                        .keywords = keywords,
                        .internal_date = date};
    void *put;
    assert_int_equal(targz_sink_ops.put_begin(folder, &info, &put), MP_OK);
    assert_int_equal(targz_sink_ops.put_write(put, text, strlen(text)), MP_OK);
    char key[512];
    assert_int_equal(targz_sink_ops.put_commit(put, key, sizeof key), MP_OK);
    assert_non_null(strstr(key, "cur/"));
}

static void test_close_without_finish_leaves_nothing(void **state)
{
    (void)state;
    char *sub = mp_strf("%s/unfinished", dir);
    assert_int_equal(mp_sh("mkdir -p '%s'", sub), 0);
    char *url = mp_strf("targz:%s/a.tar.gz", sub);
    opened o;
    assert_int_equal(open_store(&o, url, 1), MP_OK);
    void *folder;
    mp_folder_info fi;
    assert_int_equal(targz_sink_ops.open_folder(o.store, "INBOX", &folder, &fi),
                     MP_OK);
    put_message(folder, "Subject: x\n\nbody\n", MP_FLAG_SEEN, NULL, 1000);
    /* While writing, only a private temporary file exists. */
    DIR *d = opendir(sub);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' || strstr(e->d_name, ".tmp-"))
            n += strstr(e->d_name, ".a.tar.gz.tmp-") ? 1 : 100;
    closedir(d);
    assert_int_equal(n, 1);
    targz_sink_ops.close_folder(folder);
    targz_sink_ops.close(o.store);
    d = opendir(sub);
    n = 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    assert_int_equal(n, 0);
    mp_url_free(o.url);
    free(url);
    free(sub);
}

/* The endpoint is borrowed for the length of open() only (plugin.h,
 * "Ownership"): what a store says later must not depend on the caller's
 * copy staying as it was. Here the caller rewrites its display text once
 * open() returned; the store's messages still name the endpoint it was
 * opened with. */
static void test_endpoint_is_borrowed(void **state)
{
    (void)state;
    char *sub = mp_strf("%s/borrowed", dir);
    assert_int_equal(mp_sh("mkdir -p '%s'", sub), 0);
    char *url = mp_strf("targz:%s/b.tar.gz", sub);
    char err[256];
    mp_url *u = mp_url_parse(url, err, sizeof err);
    assert_non_null(u);
    for (int sink = 1; sink >= 0; sink--) {
        mp_core_host host;
        mp_host_init(&host, u);
        mp_endpoint ep = u->ep;
        char display[64];
        snprintf(display, sizeof display, "the-endpoint-as-opened");
        ep.display = display;
        void *store, *folder;
        mp_folder_info fi;
        mp_status st = sink ? targz_sink_ops.open(&host.pub, &ep, &store)
                            : targz_source_ops.open(&host.pub, &ep, &store);
        assert_int_equal(st, MP_OK);
        snprintf(display, sizeof display, "rewritten-by-the-caller");
        if (sink) {
            /* A folder name Maildir++ cannot hold: an error naming the
             * archive. Then write the archive for the source's turn. */
            assert_int_equal(
                targz_sink_ops.open_folder(store, "a//b", &folder, &fi),
                MP_FOLDER_BAD);
            assert_contains(host.err, "the-endpoint-as-opened");
            assert_int_equal(
                targz_sink_ops.open_folder(store, "INBOX", &folder, &fi),
                MP_OK);
            put_message(folder, "Subject: b\n\nbody\n", 0, NULL, 1000);
            assert_int_equal(targz_sink_ops.close_folder(folder), MP_OK);
            assert_int_equal(targz_sink_ops.finish(store), MP_OK);
            targz_sink_ops.close(store);
        } else {
            assert_int_equal(
                targz_source_ops.open_folder(store, "Nowhere", &folder, &fi),
                MP_FOLDER_BAD);
            assert_contains(host.err, "the-endpoint-as-opened");
            targz_source_ops.close(store);
        }
    }
    mp_url_free(u);
    free(url);
    free(sub);
}

/* A stale-looking temporary (its pid is not a live process here) that
 * someone holds the lock of (its writer runs in another pid namespace, or
 * on another host sharing the directory) is left alone; once the lock is
 * free it is removed. */
static void test_locked_temp_is_kept(void **state)
{
    (void)state;
    char *sub = mp_strf("%s/locked-temp", dir);
    assert_int_equal(mp_sh("mkdir -p '%s'", sub), 0);
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(dead, &status, 0), dead);
    char *tmp = mp_strf("%s/.o.tar.gz.tmp-%ld-0badf00d", sub, (long)dead);
    mp_write_file(tmp, "partial", 7);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t holder = fork();
    if (holder == 0) {
        int fd = open(tmp, O_RDONLY);
        if (fd < 0 || flock(fd, LOCK_EX) != 0)
            _exit(1);
        if (write(ready[1], "!", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    char *url = mp_strf("targz:%s/o.tar.gz", sub);
    for (int round = 0; round < 2; round++) {
        if (round == 1) { /* the holder goes away */
            kill(holder, SIGKILL);
            assert_int_equal(waitpid(holder, &status, 0), holder);
        }
        opened o;
        assert_int_equal(open_store(&o, url, 1), MP_OK);
        assert_int_equal(mp_file_exists(tmp), round == 0);
        targz_sink_ops.close(o.store);
        mp_url_free(o.url);
    }
    close(ready[0]);
    close(ready[1]);
    free(url);
    free(tmp);
    free(sub);
}

typedef struct fetched {
    size_t n_begin, n_end, n_bad;
    size_t order[16];
    size_t bytes[16];
    char *big;
    size_t big_len;
} fetched;

static mp_status f_begin(void *ctx, size_t index, const mp_msg_info *info)
{
    fetched *f = ctx;
    (void)info;
    f->order[f->n_begin++] = index;
    return MP_OK;
}

static mp_status f_data(void *ctx, const void *buf, size_t len)
{
    fetched *f = ctx;
    size_t idx = f->order[f->n_begin - 1];
    if (f->big && idx == 0) {
        memcpy(f->big + f->big_len, buf, len);
        f->big_len += len;
    }
    f->bytes[idx] += len;
    return MP_OK;
}

static mp_status f_end(void *ctx, mp_status st)
{
    fetched *f = ctx;
    f->n_end++;
    if (st != MP_OK)
        f->n_bad++;
    return MP_OK;
}

typedef struct scanned {
    char keys[16][256];
    char keywords[16][512];
    unsigned flags[16];
    int64_t dates[16];
    size_t n;
} scanned;

static mp_status on_msg(void *ctx, const mp_msg_info *info)
{
    scanned *s = ctx;
    snprintf(s->keys[s->n], sizeof s->keys[0], "%s", info->key);
    snprintf(s->keywords[s->n], sizeof s->keywords[0], "%s",
             info->keywords ? info->keywords : "");
    s->flags[s->n] = info->flags;
    s->dates[s->n] = info->internal_date;
    assert_non_null(info->identity);
    s->n++;
    return MP_OK;
}

/* A 20 MiB message (spooled to disk) in an encrypted archive, 30 keywords
 * (more than Dovecot's 26 letters), and fetches in scrambled order. */
static void test_big_message_keywords_and_fetch_order(void **state)
{
    (void)state;
    char *key = mp_strf("%s/id.txt", dir);
    assert_int_equal(mp_sh("age-keygen -o '%s' 2>/dev/null", key), 0);
    char *pub = mp_strf("%s/pub.txt", dir);
    assert_int_equal(mp_sh("age-keygen -y '%s' > '%s'", key, pub), 0);
    char *arch = mp_strf("%s/big.tar.zst.age", dir);
    char *url = mp_strf("targz:%s?recipients_file=%s", arch, pub);
    opened o;
    assert_int_equal(open_store(&o, url, 1), MP_OK);
    void *folder;
    mp_folder_info fi;
    assert_int_equal(targz_sink_ops.open_folder(o.store, "Big", &folder, &fi),
                     MP_OK);
    size_t big_len = 20u << 20;
    char *big = malloc(big_len + 1);
    memcpy(big, "Message-ID: <big@x>\n\n", 21);
    for (size_t i = 21; i < big_len; i++)
        big[i] = (i % 77 == 76) ? '\n' : (char)('a' + i % 26);
    big[big_len] = '\0';
    put_message(folder, big, MP_FLAG_FLAGGED, "$Big", 1500000000);
    char kw[1024] = "";
    for (int i = 0; i < 30; i++)
        sprintf(kw + strlen(kw), "%skw%02d", i ? " " : "", i);
    put_message(folder, "Message-ID: <k@x>\n\nk\n", MP_FLAG_SEEN, kw, 1600000000);
    put_message(folder, "Message-ID: <s@x>\n\ns\n", 0, NULL, 1700000000);
    assert_int_equal(targz_sink_ops.close_folder(folder), MP_OK);
    assert_int_equal(targz_sink_ops.open_folder(o.store, "Other", &folder, &fi),
                     MP_OK);
    put_message(folder, "Message-ID: <o@x>\n\no\n", MP_FLAG_DRAFT, NULL, 5);
    assert_int_equal(targz_sink_ops.close_folder(folder), MP_OK);
    assert_int_equal(targz_sink_ops.finish(o.store), MP_OK);
    targz_sink_ops.close(o.store);
    mp_url_free(o.url);
    free(url);

    url = mp_strf("targz:%s?identity=%s", arch, key);
    assert_int_equal(open_store(&o, url, 0), MP_OK);
    assert_int_equal(targz_source_ops.open_folder(o.store, "Big", &folder, &fi),
                     MP_OK);
    assert_int_equal(fi.count, 3);
    scanned sc = {0};
    assert_int_equal(targz_source_ops.scan(folder, MP_SCAN_IDENTITY, on_msg, &sc),
                     MP_OK);
    assert_int_equal(sc.n, 3);
    assert_string_equal(sc.keywords[1], kw); /* all 30, via the manifest */
    assert_string_equal(sc.keywords[0], "$Big");
    assert_int_equal(sc.flags[0], MP_FLAG_FLAGGED);
    assert_int_equal(sc.dates[2], 1700000000);

    /* Reverse order, plus an unknown key: each begun and ended once. */
    const char *keys[4] = {sc.keys[2], sc.keys[1], "cur/nope", sc.keys[0]};
    fetched f = {0};
    f.big = malloc(big_len);
    mp_fetch_cb cb = {sizeof cb, f_begin, f_data, f_end};
    assert_int_equal(targz_source_ops.fetch(folder, keys, 4, &cb, &f), MP_OK);
    assert_int_equal(f.n_begin, 4);
    assert_int_equal(f.n_end, 4);
    assert_int_equal(f.n_bad, 1);
    assert_int_equal(f.bytes[3], big_len);
    assert_int_equal(f.bytes[1], strlen("Message-ID: <k@x>\n\nk\n"));
    /* Fetching again (an earlier position) restarts the second pass. */
    memset(f.bytes, 0, sizeof f.bytes);
    f.n_begin = f.n_end = f.n_bad = 0;
    const char *again[1] = {sc.keys[0]};
    f.big_len = 0;
    assert_int_equal(targz_source_ops.fetch(folder, again, 1, &cb, &f), MP_OK);
    assert_int_equal(f.big_len, big_len);
    assert_memory_equal(f.big, big, big_len);
    targz_source_ops.close_folder(folder);
    assert_int_equal(
        targz_source_ops.open_folder(o.store, "Nope", &folder, &fi),
        MP_FOLDER_BAD);
    assert_int_equal(o.host.err_kind, MP_ERR_NOTFOUND);
    targz_source_ops.close(o.store);
    mp_url_free(o.url);
    free(f.big);
    free(big);
    free(url);
    free(arch);
    free(pub);
    free(key);
}

static int setup(void **state)
{
    (void)state;
    dir = mp_tmpdir("targz-ops");
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
        cmocka_unit_test(test_folder_names),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_manifest_lines),
        cmocka_unit_test(test_hash_normalises_crlf),
        cmocka_unit_test(test_hash_counts_lines_exactly),
        cmocka_unit_test(test_spool_spills_encrypted),
        cmocka_unit_test(test_close_without_finish_leaves_nothing),
        cmocka_unit_test(test_endpoint_is_borrowed),
        cmocka_unit_test(test_locked_temp_is_kept),
        cmocka_unit_test(test_big_message_keywords_and_fetch_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
