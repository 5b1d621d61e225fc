/* The IMAP response parser on tricky inputs, fed whole and one byte at a
 * time (so every token and literal boundary falls across a refill). */
#include "testutil.h"

#include "imap_parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct feed {
    const char *data;
    size_t len, pos, step;
} feed;

static ssize_t feed_fill(void *ctx, char *buf, size_t cap)
{
    feed *f = ctx;
    size_t n = f->len - f->pos;
    if (n > f->step)
        n = f->step;
    if (n > cap)
        n = cap;
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    return (ssize_t)n;
}

/* Parser over DATA fed STEP bytes per fill. */
static void open_feed(imap_parser *p, feed *f, const char *data, size_t len,
                      size_t step)
{
    *f = (feed){data, len, 0, step};
    imap_parser_init(p, feed_fill, f);
}

static void expect_tok(imap_parser *p, int type, const char *text)
{
    int t = imap_next(p);
    if (t != type)
        fail_msg("expected token %d \"%s\", got %d (tok \"%s\", err \"%s\")",
                 type, text ? text : "", t, p->tok ? p->tok : "", p->err);
    if (text)
        assert_string_equal(p->tok, text);
}

static const size_t steps[] = {1, 2, 3, 7, 65536};

static void test_fetch_with_literal(void **state)
{
    (void)state;
    static const char in[] =
        "* 12 FETCH (UID 7 FLAGS (\\Seen $Forwarded) INTERNALDATE "
        "\"17-Jul-1996 02:44:25 -0700\" BODY[] {14}\r\nab\r\ncd\r\n\r\n) X Y)\r\n"
        "* 3 EXISTS\r\n";
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        imap_parser p;
        feed f;
        open_feed(&p, &f, in, sizeof in - 1, steps[s]);
        expect_tok(&p, IMAP_T_ATOM, "*");
        expect_tok(&p, IMAP_T_ATOM, "12");
        expect_tok(&p, IMAP_T_ATOM, "FETCH");
        expect_tok(&p, IMAP_T_LPAREN, NULL);
        expect_tok(&p, IMAP_T_ATOM, "UID");
        expect_tok(&p, IMAP_T_ATOM, "7");
        expect_tok(&p, IMAP_T_ATOM, "FLAGS");
        expect_tok(&p, IMAP_T_LPAREN, NULL);
        expect_tok(&p, IMAP_T_ATOM, "\\Seen");
        expect_tok(&p, IMAP_T_ATOM, "$Forwarded");
        expect_tok(&p, IMAP_T_RPAREN, NULL);
        expect_tok(&p, IMAP_T_ATOM, "INTERNALDATE");
        expect_tok(&p, IMAP_T_STRING, "17-Jul-1996 02:44:25 -0700");
        expect_tok(&p, IMAP_T_ATOM, "BODY[]");
        expect_tok(&p, IMAP_T_LITERAL, NULL);
        assert_int_equal(p.lit_len, 14);
        assert_int_equal(p.lit_binary, 0);
        char body[64];
        size_t got = 0;
        ssize_t n;
        /* Read in odd small pieces: the literal's own boundary must hold. */
        while ((n = imap_literal_read(&p, body + got, 5)) > 0)
            got += (size_t)n;
        assert_int_equal(n, 0);
        assert_int_equal(got, 14);
        assert_memory_equal(body, "ab\r\ncd\r\n\r\n) X ", 14);
        expect_tok(&p, IMAP_T_ATOM, "Y");
        expect_tok(&p, IMAP_T_RPAREN, NULL);
        expect_tok(&p, IMAP_T_EOL, NULL);
        expect_tok(&p, IMAP_T_ATOM, "*");
        expect_tok(&p, IMAP_T_ATOM, "3");
        expect_tok(&p, IMAP_T_ATOM, "EXISTS");
        expect_tok(&p, IMAP_T_EOL, NULL);
        assert_int_equal(imap_next(&p), IMAP_ERR_EOF);
        /* Errors are sticky. */
        assert_int_equal(imap_next(&p), IMAP_ERR_EOF);
        imap_parser_free(&p);
    }
}

static void test_quoted_escapes_and_nil(void **state)
{
    (void)state;
    static const char in[] = "(\"a\\\"b\\\\c\" NIL nil \"\" \"\xc3\xa4\")\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    expect_tok(&p, IMAP_T_LPAREN, NULL);
    expect_tok(&p, IMAP_T_STRING, "a\"b\\c");
    expect_tok(&p, IMAP_T_NIL, NULL);
    expect_tok(&p, IMAP_T_NIL, NULL);
    expect_tok(&p, IMAP_T_STRING, "");
    expect_tok(&p, IMAP_T_STRING, "\xc3\xa4");
    expect_tok(&p, IMAP_T_RPAREN, NULL);
    expect_tok(&p, IMAP_T_EOL, NULL);
    imap_parser_free(&p);
}

static void test_nested_lists(void **state)
{
    (void)state;
    static const char in[] = "* NAMESPACE ((\"\" \"/\")(\"Shared/\" \"/\" "
                             "\"X-PARAM\" (\"a\" (b)))) NIL NIL\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    expect_tok(&p, IMAP_T_ATOM, "*");
    expect_tok(&p, IMAP_T_ATOM, "NAMESPACE");
    int depth = 0, max_depth = 0, strings = 0, t;
    while ((t = imap_next(&p)) != IMAP_T_EOL) {
        assert_true(t >= 0);
        if (t == IMAP_T_LPAREN && ++depth > max_depth)
            max_depth = depth;
        if (t == IMAP_T_RPAREN)
            depth--;
        if (t == IMAP_T_STRING)
            strings++;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(max_depth, 4);
    assert_int_equal(strings, 6);
    imap_parser_free(&p);
}

static void test_binary_and_nonsync_literals(void **state)
{
    (void)state;
    static const char in[] = "~{3}\r\n\0\1\2 {2+}\r\nok ~tilde\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    expect_tok(&p, IMAP_T_LITERAL, NULL);
    assert_int_equal(p.lit_binary, 1);
    assert_int_equal(imap_literal_slurp(&p, 100), IMAP_T_STRING);
    assert_int_equal(p.tok_len, 3);
    assert_memory_equal(p.tok, "\0\1\2", 3);
    /* imap_next_value slurps a literal for astring values. */
    assert_int_equal(imap_next_value(&p, 100), IMAP_T_STRING);
    assert_string_equal(p.tok, "ok");
    expect_tok(&p, IMAP_T_ATOM, "~tilde");
    expect_tok(&p, IMAP_T_EOL, NULL);
    imap_parser_free(&p);
}

static void test_bracketed_atoms_and_resp_text(void **state)
{
    (void)state;
    static const char in[] =
        "* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)]<0> {0}\r\n)\r\n"
        "* OK [PERMANENTFLAGS (\\Seen \\*)] Flags \"permitted (really\r\n"
        "m7 NO\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    expect_tok(&p, IMAP_T_ATOM, "*");
    expect_tok(&p, IMAP_T_ATOM, "1");
    expect_tok(&p, IMAP_T_ATOM, "FETCH");
    expect_tok(&p, IMAP_T_LPAREN, NULL);
    expect_tok(&p, IMAP_T_ATOM, "BODY[HEADER.FIELDS (MESSAGE-ID)]<0>");
    expect_tok(&p, IMAP_T_LITERAL, NULL);
    assert_int_equal(p.lit_len, 0);
    expect_tok(&p, IMAP_T_RPAREN, NULL);
    expect_tok(&p, IMAP_T_EOL, NULL);
    expect_tok(&p, IMAP_T_ATOM, "*");
    expect_tok(&p, IMAP_T_ATOM, "OK");
    /* Free text may hold unbalanced quotes and parentheses. */
    assert_int_equal(imap_rest_text(&p, 1000), IMAP_T_EOL);
    assert_string_equal(p.tok,
                        "[PERMANENTFLAGS (\\Seen \\*)] Flags \"permitted (really");
    expect_tok(&p, IMAP_T_ATOM, "m7");
    expect_tok(&p, IMAP_T_ATOM, "NO");
    assert_int_equal(imap_rest_text(&p, 1000), IMAP_T_EOL);
    assert_string_equal(p.tok, "");
    imap_parser_free(&p);
}

static void test_skip_response_over_literals(void **state)
{
    (void)state;
    static const char in[] =
        "* 1 FETCH (BODY[] {7}\r\n{3}\r\n\r\n FLAGS (\\Seen) X {2}\r\n)\r)\r\n"
        "* 2 EXISTS\r\n";
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        imap_parser p;
        feed f;
        open_feed(&p, &f, in, sizeof in - 1, steps[s]);
        expect_tok(&p, IMAP_T_ATOM, "*");
        expect_tok(&p, IMAP_T_ATOM, "1");
        assert_int_equal(imap_skip_response(&p), 0);
        /* Skipping a complete response does nothing. */
        assert_int_equal(imap_skip_response(&p), 0);
        expect_tok(&p, IMAP_T_ATOM, "*");
        expect_tok(&p, IMAP_T_ATOM, "2");
        expect_tok(&p, IMAP_T_ATOM, "EXISTS");
        expect_tok(&p, IMAP_T_EOL, NULL);
        imap_parser_free(&p);
    }
}

static void test_unread_literal_is_skipped(void **state)
{
    (void)state;
    static const char in[] = "{5}\r\nhello world\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    expect_tok(&p, IMAP_T_LITERAL, NULL);
    char b[2];
    assert_int_equal(imap_literal_read(&p, b, 2), 2);
    expect_tok(&p, IMAP_T_ATOM, "world");
    expect_tok(&p, IMAP_T_EOL, NULL);
    imap_parser_free(&p);
}

static void test_large_literal_streams(void **state)
{
    (void)state;
    size_t body = 3u << 20;
    char *in = malloc(body + 64);
    int h = sprintf(in, "{%zu}\r\n", body);
    for (size_t i = 0; i < body; i++)
        in[h + i] = (char)('a' + i % 26);
    memcpy(in + h + body, ")\r\n", 3);
    imap_parser p;
    imap_parser_init_mem(&p, in, (size_t)h + body + 3);
    p.depth = 1; /* as inside "(... BODY[] {n}" */
    p.line_done = 0;
    expect_tok(&p, IMAP_T_LITERAL, NULL);
    char chunk[4096];
    size_t total = 0, bad = 0;
    ssize_t n;
    while ((n = imap_literal_read(&p, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            bad += chunk[i] != (char)('a' + (total + (size_t)i) % 26);
        total += (size_t)n;
    }
    assert_int_equal(total, body);
    assert_int_equal(bad, 0);
    /* The input buffer stayed small: literals never sit in memory. */
    assert_true(p.in_cap <= 65536);
    assert_true(p.tok_cap <= 65536);
    expect_tok(&p, IMAP_T_RPAREN, NULL);
    expect_tok(&p, IMAP_T_EOL, NULL);
    imap_parser_free(&p);
    free(in);
}

/* Each malformed input must end in IMAP_ERR_PROTO (or EOF when cut short)
 * with a message, never a crash or a hang. */
static void expect_error(const char *in, size_t len, int code,
                         const char *msg_part)
{
    imap_parser p;
    imap_parser_init_mem(&p, in, len);
    int t;
    int guard = 0;
    while ((t = imap_next(&p)) >= 0) {
        if (t == IMAP_T_LITERAL) {
            char b[16];
            while (imap_literal_read(&p, b, sizeof b) > 0)
                ;
        }
        assert_true(++guard < 1000);
    }
    if (t != code)
        fail_msg("input \"%.*s\": expected error %d, got %d (%s)", (int)len, in,
                 code, t, p.err);
    if (msg_part)
        assert_contains(p.err, msg_part);
    imap_parser_free(&p);
}

static void test_malformed_inputs(void **state)
{
    (void)state;
    expect_error("\"abc\r\n\"", 7, IMAP_ERR_PROTO, "quoted");
    expect_error("\"a\0b\"", 5, IMAP_ERR_PROTO, "NUL");
    expect_error("{abc}\r\n", 7, IMAP_ERR_PROTO, "literal");
    expect_error("{5}x\r\n", 6, IMAP_ERR_PROTO, "CRLF");
    expect_error("{99999999999999999}\r\n", 21, IMAP_ERR_PROTO, "too large");
    expect_error("{}\r\n", 4, IMAP_ERR_PROTO, "without a length");
    expect_error("a)\r\n", 4, IMAP_ERR_PROTO, "unbalanced");
    expect_error("(a b\r\n", 6, IMAP_ERR_PROTO, "inside a list");
    expect_error("BODY[HEADER\r\n", 13, IMAP_ERR_PROTO, "unterminated");
    expect_error("a\rb\r\n", 5, IMAP_ERR_PROTO, "CR not followed");
    expect_error("{10}\r\nshort", 11, IMAP_ERR_EOF, "closed");
    expect_error("\"never ends", 11, IMAP_ERR_EOF, NULL);
    expect_error("* OK", 4, IMAP_ERR_EOF, NULL);
    char deep[300];
    memset(deep, '(', sizeof deep);
    expect_error(deep, sizeof deep, IMAP_ERR_PROTO, "nested");
}

static void test_slurp_limit(void **state)
{
    (void)state;
    static const char in[] = "{10}\r\n0123456789\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    assert_int_equal(imap_next_value(&p, 5), IMAP_ERR_PROTO);
    assert_contains(p.err, "too large");
    imap_parser_free(&p);
}

static void test_token_numbers(void **state)
{
    (void)state;
    static const char in[] = "0 18446744073709551615 18446744073709551616 12a\r\n";
    imap_parser p;
    imap_parser_init_mem(&p, in, sizeof in - 1);
    uint64_t v;
    expect_tok(&p, IMAP_T_ATOM, "0");
    assert_int_equal(imap_tok_u64(&p, &v), 0);
    assert_int_equal(v, 0);
    expect_tok(&p, IMAP_T_ATOM, NULL);
    assert_int_equal(imap_tok_u64(&p, &v), 0);
    assert_true(v == UINT64_MAX);
    expect_tok(&p, IMAP_T_ATOM, NULL);
    assert_int_equal(imap_tok_u64(&p, &v), -1);
    expect_tok(&p, IMAP_T_ATOM, "12a");
    assert_int_equal(imap_tok_u64(&p, &v), -1);
    imap_parser_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_with_literal),
        cmocka_unit_test(test_quoted_escapes_and_nil),
        cmocka_unit_test(test_nested_lists),
        cmocka_unit_test(test_binary_and_nonsync_literals),
        cmocka_unit_test(test_bracketed_atoms_and_resp_text),
        cmocka_unit_test(test_skip_response_over_literals),
        cmocka_unit_test(test_unread_literal_is_skipped),
        cmocka_unit_test(test_large_literal_streams),
        cmocka_unit_test(test_malformed_inputs),
        cmocka_unit_test(test_slurp_limit),
        cmocka_unit_test(test_token_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
