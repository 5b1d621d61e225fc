#include "imapc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct imapc {
    int fd;
    unsigned tag;
    char rbuf[16384];
    size_t rlen, rpos;
    char *last; /* untagged lines and the tagged reply of the last command */
    size_t last_len, last_cap;
    unsigned long uidvalidity;
};

static void last_add(imapc *c, const char *p, size_t n)
{
    if (c->last_len + n + 1 > c->last_cap) {
        c->last_cap = (c->last_len + n + 1) * 2;
        c->last = realloc(c->last, c->last_cap);
    }
    memcpy(c->last + c->last_len, p, n);
    c->last_len += n;
    c->last[c->last_len] = '\0';
}

static int fill(imapc *c)
{
    if (c->rpos < c->rlen)
        return 0;
    for (;;) {
        ssize_t n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->rlen = (size_t)n;
        c->rpos = 0;
        return 0;
    }
}

/* One line (without CRLF) into a malloc'd string; a literal "{N}" at the
 * end of a line is read and appended, then the line goes on. */
static char *read_line(imapc *c)
{
    char *line = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (fill(c) != 0) {
            free(line);
            return NULL;
        }
        char ch = c->rbuf[c->rpos++];
        if (len + 2 > cap) {
            cap = cap * 2 + 256;
            line = realloc(line, cap);
        }
        line[len++] = ch;
        if (ch != '\n')
            continue;
        len--;
        if (len && line[len - 1] == '\r')
            len--;
        line[len] = '\0';
        /* A literal? */
        if (len > 2 && line[len - 1] == '}') {
            char *open = strrchr(line, '{');
            if (open) {
                size_t n = strtoul(open + 1, NULL, 10);
                if (len + n + 2 > cap) {
                    cap = len + n + 256;
                    line = realloc(line, cap);
                }
                for (size_t i = 0; i < n; i++) {
                    if (fill(c) != 0) {
                        free(line);
                        return NULL;
                    }
                    line[len++] = c->rbuf[c->rpos++];
                }
                continue; /* the rest of the line follows */
            }
        }
        return line;
    }
}

static int send_all(imapc *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read until the tagged reply of TAG; 0 on OK. */
static int wait_tagged(imapc *c, const char *tag)
{
    size_t tl = strlen(tag);
    for (;;) {
        char *line = read_line(c);
        if (!line) {
            last_add(c, "(connection closed)\n", 20);
            return -1;
        }
        last_add(c, line, strlen(line));
        last_add(c, "\n", 1);
        const char *uv = strstr(line, "[UIDVALIDITY ");
        if (line[0] == '*' && uv)
            c->uidvalidity = strtoul(uv + 13, NULL, 10);
        if (strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
            int ok = strncasecmp(line + tl + 1, "OK", 2) == 0;
            free(line);
            return ok ? 0 : -1;
        }
        free(line);
    }
}

static int vcmd(imapc *c, const char *fmt, va_list ap)
{
    char tag[16];
    snprintf(tag, sizeof tag, "m%u", ++c->tag);
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0)
        return -1;
    char *line = NULL;
    int n = asprintf(&line, "%s %s\r\n", tag, body);
    free(body);
    if (n < 0)
        return -1;
    c->last_len = 0;
    if (c->last)
        c->last[0] = '\0';
    int rc = send_all(c, line, (size_t)n);
    free(line);
    return rc == 0 ? wait_tagged(c, tag) : -1;
}

int imapc_cmd(imapc *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vcmd(c, fmt, ap);
    va_end(ap);
    return rc;
}

const char *imapc_last(const imapc *c)
{
    return c->last ? c->last : "";
}

imapc *imapc_open(int port, const char *user, const char *pass)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "imapc: connect to port %d: %s\n", port,
                strerror(errno));
        close(fd);
        return NULL;
    }
    imapc *c = calloc(1, sizeof *c);
    c->fd = fd;
    char *greeting = read_line(c);
    if (!greeting || strncmp(greeting, "* OK", 4) != 0) {
        fprintf(stderr, "imapc: bad greeting: %s\n",
                greeting ? greeting : "(none)");
        free(greeting);
        imapc_close(c);
        return NULL;
    }
    free(greeting);
    if (imapc_cmd(c, "LOGIN \"%s\" \"%s\"", user, pass) != 0) {
        fprintf(stderr, "imapc: login %s: %s\n", user, imapc_last(c));
        imapc_close(c);
        return NULL;
    }
    return c;
}

void imapc_close(imapc *c)
{
    if (!c)
        return;
    if (c->fd >= 0) {
        const char bye[] = "z LOGOUT\r\n";
        (void)send_all(c, bye, sizeof bye - 1);
        (void)wait_tagged(c, "z");
        close(c->fd);
    }
    free(c->last);
    free(c);
}

int imapc_append(imapc *c, const char *folder, const char *flags, time_t date,
                 const char *data, size_t len)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&date, &tm);
    char tag[16];
    snprintf(tag, sizeof tag, "m%u", ++c->tag);
    char *line = NULL;
    int n = asprintf(&line,
                     "%s APPEND \"%s\" (%s) \"%02d-%s-%04d %02d:%02d:%02d "
                     "+0000\" {%zu}\r\n",
                     tag, folder, flags, tm.tm_mday, mon[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, len);
    if (n < 0)
        return -1;
    c->last_len = 0;
    if (c->last)
        c->last[0] = '\0';
    int rc = send_all(c, line, (size_t)n);
    free(line);
    if (rc != 0)
        return -1;
    /* Untagged lines (EXISTS, EXPUNGE, ...) may come before the "+". */
    char *cont;
    while ((cont = read_line(c)) && cont[0] == '*') {
        last_add(c, cont, strlen(cont));
        last_add(c, "\n", 1);
        free(cont);
    }
    if (!cont || cont[0] != '+') {
        if (cont)
            last_add(c, cont, strlen(cont));
        else
            last_add(c, "(connection closed)\n", 20);
        free(cont);
        return -1;
    }
    free(cont);
    if (send_all(c, data, len) != 0 || send_all(c, "\r\n", 2) != 0)
        return -1;
    return wait_tagged(c, tag);
}

int imapc_select(imapc *c, const char *folder)
{
    c->uidvalidity = 0;
    return imapc_cmd(c, "SELECT \"%s\"", folder);
}

unsigned long imapc_uidvalidity(const imapc *c)
{
    return c->uidvalidity;
}

unsigned long imapc_find(imapc *c, const char *token)
{
    if (imapc_cmd(c, "UID SEARCH BODY \"%s\"", token) != 0)
        return 0;
    const char *s = strstr(imapc_last(c), "* SEARCH");
    if (!s)
        return 0;
    s += 8;
    char *end;
    unsigned long uid = strtoul(s, &end, 10);
    if (end == s || uid == 0)
        return 0;
    while (*end == ' ')
        end++;
    if (*end >= '0' && *end <= '9')
        return 0; /* more than one */
    return uid;
}
