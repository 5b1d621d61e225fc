#include "mbox_key.h"

#include <openssl/evp.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hash_out(void *ctx, const char *p, size_t n)
{
    EVP_DigestUpdate(ctx, p, n);
}

int mbox_tagger_begin(mbox_tagger *t)
{
    memset(t, 0, sizeof *t);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    t->md = md;
    t->in_from_line = 1;
    mp_field_filter_init(&t->rest, hash_out, md);
    return 0;
}

void mbox_tagger_feed(mbox_tagger *t, const char *p, size_t n)
{
    if (t->in_from_line && n) {
        const char *nl = memchr(p, '\n', n);
        size_t upto = nl ? (size_t)(nl - p) + 1 : n;
        EVP_DigestUpdate(t->md, p, upto);
        t->in_from_line = !nl;
        p += upto;
        n -= upto;
    }
    if (n)
        mp_field_filter_feed(&t->rest, p, n);
}

uint64_t mbox_tagger_end(mbox_tagger *t)
{
    mp_field_filter_finish(&t->rest);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(t->md, d, &len);
    EVP_MD_CTX_free(t->md);
    t->md = NULL;
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag = tag << 8 | d[i];
    return tag;
}

void mbox_tagger_discard(mbox_tagger *t)
{
    EVP_MD_CTX_free(t->md);
    t->md = NULL;
}

int mbox_tag_of(const char *buf, size_t from, size_t end, uint64_t *tag)
{
    mbox_tagger t;
    if (mbox_tagger_begin(&t) != 0)
        return -1;
    mbox_tagger_feed(&t, buf + from, end - from);
    *tag = mbox_tagger_end(&t);
    return 0;
}

void mbox_key_format(char out[MBOX_KEY_SIZE], uint64_t tag, uint32_t ordinal)
{
    if (ordinal > 1)
        snprintf(out, MBOX_KEY_SIZE, "m%016" PRIx64 "-%" PRIu32, tag, ordinal);
    else
        snprintf(out, MBOX_KEY_SIZE, "m%016" PRIx64, tag);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decimal digits P..end (no sign, no leading '+'), at most MAX. */
static int parse_decimal(const char *p, uint64_t max, uint64_t *out)
{
    if (!*p)
        return -1;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (max - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

int mbox_key_parse(const char *key, mbox_key *out)
{
    memset(out, 0, sizeof *out);
    if (!key)
        return -1;
    if (key[0] != 'm') {
        out->legacy = 1;
        return parse_decimal(key, UINT64_MAX, &out->offset);
    }
    for (int i = 1; i <= 16; i++) {
        int d = hex_digit(key[i]);
        if (d < 0)
            return -1;
        out->tag = out->tag << 4 | (uint64_t)d;
    }
    out->ordinal = 1;
    if (key[17] == '\0')
        return 0;
    uint64_t n;
    if (key[17] != '-' || key[18] == '0' ||
        parse_decimal(key + 18, UINT32_MAX, &n) != 0 || n < 2)
        return -1;
    out->ordinal = (uint32_t)n;
    return 0;
}

static size_t slot_of(uint64_t tag, size_t cap)
{
    return (size_t)(tag ^ (tag >> 29)) & (cap - 1);
}

static int grow(mbox_tag_counts *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    uint64_t *tags = calloc(cap, sizeof *tags);
    uint32_t *counts = calloc(cap, sizeof *counts);
    if (!tags || !counts) {
        free(tags);
        free(counts);
        return -1;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->counts[i])
            continue;
        size_t s = slot_of(c->tags[i], cap);
        while (counts[s])
            s = (s + 1) & (cap - 1);
        tags[s] = c->tags[i];
        counts[s] = c->counts[i];
    }
    free(c->tags);
    free(c->counts);
    c->tags = tags;
    c->counts = counts;
    c->cap = cap;
    return 0;
}

uint32_t mbox_tag_counts_add(mbox_tag_counts *c, uint64_t tag)
{
    if ((c->n + 1) * 2 > c->cap && grow(c) != 0)
        return 0;
    size_t s = slot_of(tag, c->cap);
    while (c->counts[s] && c->tags[s] != tag)
        s = (s + 1) & (c->cap - 1);
    if (!c->counts[s]) {
        c->tags[s] = tag;
        c->n++;
    }
    return ++c->counts[s];
}

void mbox_tag_counts_free(mbox_tag_counts *c)
{
    free(c->tags);
    free(c->counts);
    memset(c, 0, sizeof *c);
}
