#include "imap_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IN_BUF_SIZE 65536
#define DEFAULT_MAX_TOKEN (1u << 20)
/* Literal lengths above this are refused: no real message is that big, and
 * it keeps offset arithmetic far from overflow. */
#define MAX_LITERAL ((uint64_t)1 << 40)

static int fail(imap_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(imap_parser *p, int code, const char *fmt, ...)
{
    if (p->error)
        return p->error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->error = code;
    return code;
}

static ssize_t mem_fill(void *ctx, char *buf, size_t cap)
{
    imap_parser *p = ctx;
    size_t n = p->mem_len - p->mem_pos;
    if (n > cap)
        n = cap;
    memcpy(buf, p->mem + p->mem_pos, n);
    p->mem_pos += n;
    return (ssize_t)n;
}

void imap_parser_init(imap_parser *p, imap_fill_fn fill, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->fill = fill;
    p->fill_ctx = ctx;
    p->max_token = DEFAULT_MAX_TOKEN;
    p->line_done = 1;
}

void imap_parser_init_mem(imap_parser *p, const char *data, size_t len)
{
    imap_parser_init(p, mem_fill, p);
    p->mem = data;
    p->mem_len = len;
}

void imap_parser_free(imap_parser *p)
{
    free(p->in);
    free(p->tok);
    p->in = p->tok = NULL;
}

void imap_response_begin(imap_parser *p)
{
    p->depth = 0;
    p->line_done = 0;
}

/* Make at least one unread byte available: 1, or an error. */
static int refill(imap_parser *p)
{
    if (p->error)
        return p->error;
    if (p->in_pos < p->in_len)
        return 1;
    if (!p->in) {
        p->in = malloc(IN_BUF_SIZE);
        if (!p->in)
            return fail(p, IMAP_ERR_IO, "out of memory");
        p->in_cap = IN_BUF_SIZE;
    }
    ssize_t n = p->fill(p->fill_ctx, p->in, p->in_cap);
    if (n < 0)
        return fail(p, IMAP_ERR_IO, "read error");
    if (n == 0)
        return fail(p, IMAP_ERR_EOF, "connection closed");
    p->in_pos = 0;
    p->in_len = (size_t)n;
    return 1;
}

static int peekc(imap_parser *p)
{
    int r = refill(p);
    return r < 0 ? r : (unsigned char)p->in[p->in_pos];
}

static int getc_(imap_parser *p)
{
    int r = refill(p);
    return r < 0 ? r : (unsigned char)p->in[p->in_pos++];
}

static int tok_reset(imap_parser *p)
{
    p->tok_len = 0;
    if (!p->tok) {
        p->tok = malloc(256);
        if (!p->tok)
            return fail(p, IMAP_ERR_IO, "out of memory");
        p->tok_cap = 256;
    }
    p->tok[0] = '\0';
    return 0;
}

static int tok_put(imap_parser *p, char c, size_t max)
{
    if (p->tok_len >= max)
        return fail(p, IMAP_ERR_PROTO, "token longer than %zu bytes", max);
    if (p->tok_len + 2 > p->tok_cap) {
        size_t cap = p->tok_cap * 2;
        char *t = realloc(p->tok, cap);
        if (!t)
            return fail(p, IMAP_ERR_IO, "out of memory");
        p->tok = t;
        p->tok_cap = cap;
    }
    p->tok[p->tok_len++] = c;
    p->tok[p->tok_len] = '\0';
    return 0;
}

/* Discard what is left of the current literal. */
static int skip_literal(imap_parser *p)
{
    while (p->lit_left > 0) {
        int r = refill(p);
        if (r < 0)
            return r;
        size_t avail = p->in_len - p->in_pos;
        if (avail > p->lit_left)
            avail = (size_t)p->lit_left;
        p->in_pos += avail;
        p->lit_left -= avail;
    }
    return 0;
}

/* After '{' (or "~{"): digits, optional '+', '}', CRLF. */
static int read_literal_header(imap_parser *p, int binary)
{
    uint64_t n = 0;
    int digits = 0, c;
    while ((c = getc_(p)) >= '0' && c <= '9') {
        n = n * 10 + (uint64_t)(c - '0');
        if (++digits > 13 || n > MAX_LITERAL)
            return fail(p, IMAP_ERR_PROTO, "literal length too large");
    }
    if (c < 0)
        return c;
    if (digits == 0)
        return fail(p, IMAP_ERR_PROTO, "literal without a length");
    if (c == '+')
        c = getc_(p);
    if (c != '}')
        return fail(p, IMAP_ERR_PROTO, "malformed literal length");
    c = getc_(p);
    if (c == '\r')
        c = getc_(p);
    if (c < 0)
        return c;
    if (c != '\n')
        return fail(p, IMAP_ERR_PROTO, "literal length not followed by CRLF");
    p->lit_len = p->lit_left = n;
    p->lit_binary = binary;
    if (tok_reset(p) < 0)
        return p->error;
    return IMAP_T_LITERAL;
}

static int read_quoted(imap_parser *p)
{
    if (tok_reset(p) < 0)
        return p->error;
    for (;;) {
        int c = getc_(p);
        if (c < 0)
            return c;
        if (c == '"')
            return IMAP_T_STRING;
        if (c == '\\') {
            c = getc_(p);
            if (c < 0)
                return c;
        }
        if (c == '\r' || c == '\n' || c == 0)
            return fail(p, IMAP_ERR_PROTO,
                        c ? "line break inside a quoted string"
                          : "NUL inside a quoted string");
        if (tok_put(p, (char)c, p->max_token) < 0)
            return p->error;
    }
}

static int is_atom_end(int c)
{
    return c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n' ||
           c == '"';
}

/* An atom; a '[' inside it runs to the matching ']' whatever it holds
 * (spaces, parentheses), so "BODY[HEADER.FIELDS (MESSAGE-ID)]<0>" is one
 * token. */
static int read_atom(imap_parser *p)
{
    if (tok_reset(p) < 0)
        return p->error;
    int in_bracket = 0;
    for (;;) {
        int c = peekc(p);
        if (c < 0)
            return c;
        if (!in_bracket && is_atom_end(c))
            break;
        if (c == '\r' || c == '\n')
            return fail(p, IMAP_ERR_PROTO, "unterminated '[' in \"%.40s\"",
                        p->tok);
        if (c == 0)
            return fail(p, IMAP_ERR_PROTO, "NUL byte in an atom");
        if (c == '[')
            in_bracket = 1;
        else if (c == ']')
            in_bracket = 0;
        p->in_pos++;
        if (tok_put(p, (char)c, p->max_token) < 0)
            return p->error;
    }
    if (p->tok_len == 0)
        return fail(p, IMAP_ERR_PROTO, "empty atom");
    if (strcasecmp(p->tok, "NIL") == 0)
        return IMAP_T_NIL;
    return IMAP_T_ATOM;
}

int imap_next(imap_parser *p)
{
    if (p->error)
        return p->error;
    if (skip_literal(p) < 0)
        return p->error;
    if (p->line_done)
        imap_response_begin(p);
    int c;
    while ((c = peekc(p)) == ' ')
        p->in_pos++;
    if (c < 0)
        return c;
    switch (c) {
    case '\r':
        p->in_pos++;
        c = getc_(p);
        if (c < 0)
            return c;
        if (c != '\n')
            return fail(p, IMAP_ERR_PROTO, "CR not followed by LF");
        goto eol;
    case '\n': /* a bare LF, accepted leniently */
        p->in_pos++;
    eol:
        if (p->depth != 0)
            return fail(p, IMAP_ERR_PROTO, "response ends inside a list");
        p->line_done = 1;
        return IMAP_T_EOL;
    case '(':
        p->in_pos++;
        p->depth++;
        if (p->depth > 100)
            return fail(p, IMAP_ERR_PROTO, "lists nested too deeply");
        return IMAP_T_LPAREN;
    case ')':
        p->in_pos++;
        if (--p->depth < 0)
            return fail(p, IMAP_ERR_PROTO, "unbalanced ')'");
        return IMAP_T_RPAREN;
    case '"':
        p->in_pos++;
        return read_quoted(p);
    case '{':
        p->in_pos++;
        return read_literal_header(p, 0);
    case '~':
        p->in_pos++;
        c = peekc(p);
        if (c == '{') {
            p->in_pos++;
            return read_literal_header(p, 1);
        }
        p->in_pos--; /* an atom starting with '~' */
        return read_atom(p);
    default:
        return read_atom(p);
    }
}

ssize_t imap_literal_read(imap_parser *p, void *buf, size_t cap)
{
    if (p->error)
        return p->error;
    if (p->lit_left == 0 || cap == 0)
        return 0;
    int r = refill(p);
    if (r < 0)
        return r;
    size_t n = p->in_len - p->in_pos;
    if (n > cap)
        n = cap;
    if (n > p->lit_left)
        n = (size_t)p->lit_left;
    memcpy(buf, p->in + p->in_pos, n);
    p->in_pos += n;
    p->lit_left -= n;
    return (ssize_t)n;
}

int imap_literal_slurp(imap_parser *p, size_t max)
{
    if (p->error)
        return p->error;
    if (p->lit_left > max)
        return fail(p, IMAP_ERR_PROTO, "literal of %llu bytes too large",
                    (unsigned long long)p->lit_left);
    size_t need = (size_t)p->lit_left + 1;
    if (tok_reset(p) < 0)
        return p->error;
    if (need > p->tok_cap) {
        char *t = realloc(p->tok, need);
        if (!t)
            return fail(p, IMAP_ERR_IO, "out of memory");
        p->tok = t;
        p->tok_cap = need;
    }
    while (p->lit_left > 0) {
        ssize_t n = imap_literal_read(p, p->tok + p->tok_len, p->tok_cap - 1 - p->tok_len);
        if (n < 0)
            return (int)n;
        p->tok_len += (size_t)n;
    }
    p->tok[p->tok_len] = '\0';
    return IMAP_T_STRING;
}

int imap_next_value(imap_parser *p, size_t max)
{
    int t = imap_next(p);
    if (t == IMAP_T_LITERAL)
        return imap_literal_slurp(p, max);
    return t;
}

int imap_rest_text(imap_parser *p, size_t max)
{
    if (p->error)
        return p->error;
    if (skip_literal(p) < 0)
        return p->error;
    if (tok_reset(p) < 0)
        return p->error;
    if (p->line_done)
        return fail(p, IMAP_ERR_PROTO, "no text: the response already ended");
    int c = peekc(p);
    if (c == ' ')
        p->in_pos++;
    for (;;) {
        c = getc_(p);
        if (c < 0)
            return c;
        if (c == '\n')
            break;
        if (c == '\r') {
            c = getc_(p);
            if (c < 0)
                return c;
            if (c == '\n')
                break;
            return fail(p, IMAP_ERR_PROTO, "CR not followed by LF");
        }
        if (p->tok_len < max && c != 0)
            if (tok_put(p, (char)c, max) < 0)
                return p->error;
    }
    p->line_done = 1;
    p->depth = 0;
    return IMAP_T_EOL;
}

int imap_skip_response(imap_parser *p)
{
    if (p->error)
        return p->error;
    if (skip_literal(p) < 0)
        return p->error;
    /* Raw framing: a line ends at LF; when it ends with {n} (or {n+},
     * ~{n}) n literal bytes follow and the response goes on after them. */
    char tail[24];
    size_t tail_len = 0;
    while (!p->line_done) {
        int c = getc_(p);
        if (c < 0)
            return c;
        if (c != '\n') {
            if (tail_len == sizeof tail) {
                memmove(tail, tail + 1, sizeof tail - 1);
                tail_len--;
            }
            tail[tail_len++] = (char)c;
            continue;
        }
        if (tail_len && tail[tail_len - 1] == '\r')
            tail_len--;
        size_t i = tail_len;
        uint64_t n = 0;
        int is_lit = 0;
        if (i > 0 && tail[i - 1] == '}') {
            i--;
            if (i > 0 && tail[i - 1] == '+')
                i--;
            size_t end = i;
            while (i > 0 && tail[i - 1] >= '0' && tail[i - 1] <= '9')
                i--;
            if (i > 0 && tail[i - 1] == '{' && end > i && end - i <= 13) {
                for (size_t k = i; k < end; k++)
                    n = n * 10 + (uint64_t)(tail[k] - '0');
                is_lit = n <= MAX_LITERAL;
            }
        }
        tail_len = 0;
        if (!is_lit) {
            p->line_done = 1;
            p->depth = 0;
            break;
        }
        p->lit_left = n;
        if (skip_literal(p) < 0)
            return p->error;
    }
    return 0;
}

int imap_tok_is(const imap_parser *p, const char *word)
{
    return p->tok && strcasecmp(p->tok, word) == 0;
}

int imap_tok_u64(const imap_parser *p, uint64_t *out)
{
    uint64_t n = 0;
    if (!p->tok || p->tok_len == 0 || p->tok_len > 20)
        return -1;
    for (size_t i = 0; i < p->tok_len; i++) {
        char c = p->tok[i];
        if (c < '0' || c > '9')
            return -1;
        uint64_t d = (uint64_t)(c - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}
