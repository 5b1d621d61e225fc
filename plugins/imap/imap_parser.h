/*
 * A pull parser for IMAP server responses (RFC 3501 section 9, plus the
 * binary literal ~{n} of RFC 3516 and {n+} of RFC 7888).
 *
 * The caller asks for one token at a time. Literals are never read into
 * memory behind the caller's back: imap_next() stops at a literal's length
 * and the caller streams its bytes with imap_literal_read(), or collects a
 * small one with imap_literal_slurp(). So a 100 MiB BODY[] costs one
 * buffer, not 100 MiB.
 *
 * Bytes come from a fill function (a socket in the plugin, a memory block
 * in tests and the fuzzer). Errors are sticky: after the first one every
 * call returns it again, and p->err says what happened.
 */
#ifndef MP_IMAP_PARSER_H
#define MP_IMAP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to CAP bytes into BUF: returns the count, 0 at end of input, or
 * -1 on an error (the fill function may describe it in its own context). */
typedef ssize_t (*imap_fill_fn)(void *ctx, char *buf, size_t cap);

typedef enum imap_tok {
    IMAP_T_ATOM = 0, /* atoms, numbers, flags, tags, "BODY[...]<0>" */
    IMAP_T_STRING,   /* a quoted string (unescaped), or a slurped literal */
    IMAP_T_LITERAL,  /* {n} or ~{n}: p->lit_len bytes follow, unread */
    IMAP_T_NIL,
    IMAP_T_LPAREN,
    IMAP_T_RPAREN,
    IMAP_T_EOL, /* the CRLF that ends a response */
} imap_tok;

/* Negative results. */
enum {
    IMAP_ERR_EOF = -1,   /* input ended (the peer closed the connection) */
    IMAP_ERR_IO = -2,    /* the fill function failed */
    IMAP_ERR_PROTO = -3, /* the input is not IMAP */
};

typedef struct imap_parser {
    char *in;
    size_t in_cap, in_pos, in_len;
    imap_fill_fn fill;
    void *fill_ctx;

    /* Text of the last ATOM or STRING token, NUL-terminated; tok_len is
     * authoritative (a slurped literal may hold NUL bytes). */
    char *tok;
    size_t tok_len, tok_cap;

    uint64_t lit_len;  /* length of the last literal token */
    uint64_t lit_left; /* its bytes not consumed yet */
    int lit_binary;    /* it was ~{n} */

    int depth;     /* open parentheses in the current response */
    int line_done; /* the last token was EOL: the response is complete */
    size_t max_token; /* longest atom or quoted string accepted */

    int error; /* 0, or the sticky IMAP_ERR_* */
    char err[160];

    /* Memory input (imap_parser_init_mem). */
    const char *mem;
    size_t mem_len, mem_pos;
} imap_parser;

void imap_parser_init(imap_parser *p, imap_fill_fn fill, void *ctx);
/* Parse LEN bytes at DATA (not copied; must outlive the parser). */
void imap_parser_init_mem(imap_parser *p, const char *data, size_t len);
void imap_parser_free(imap_parser *p);

/* The next token (an imap_tok), or a negative IMAP_ERR_*. An unread rest of
 * a literal is skipped first. Spaces between tokens are skipped. */
int imap_next(imap_parser *p);

/* Like imap_next, but a literal is slurped into p->tok (at most MAX bytes,
 * else IMAP_ERR_PROTO) and reported as IMAP_T_STRING: for astring/nstring
 * values such as mailbox names. */
int imap_next_value(imap_parser *p, size_t max);

/* Up to CAP bytes of the current literal into BUF: returns the count, 0
 * when the literal is used up, or a negative IMAP_ERR_*. */
ssize_t imap_literal_read(imap_parser *p, void *buf, size_t cap);

/* The rest of the current literal into p->tok; IMAP_ERR_PROTO if more than
 * MAX bytes. Returns IMAP_T_STRING or an error. */
int imap_literal_slurp(imap_parser *p, size_t max);

/* The raw rest of the line (resp-text), without the one leading space and
 * the CRLF, into p->tok (cut at MAX bytes; the rest is dropped). Consumes
 * the CRLF, so the response is complete afterwards. Returns IMAP_T_EOL or
 * an error. */
int imap_rest_text(imap_parser *p, size_t max);

/* Discard the rest of the current response, literals included. Does
 * nothing when the response is already complete. Returns 0 or an error. */
int imap_skip_response(imap_parser *p);

/* Start of a new response: clears per-response state. */
void imap_response_begin(imap_parser *p);

/* Helpers for token text. */
int imap_tok_is(const imap_parser *p, const char *word); /* case-insensitive */
/* The token as an unsigned number (digits only, no overflow): 0 or -1. */
int imap_tok_u64(const imap_parser *p, uint64_t *out);

#endif
