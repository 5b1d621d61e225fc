/* No duplicate after an uncertain APPEND (issue 13.4): the connection drops
 * (client timeout) while a message's literal is still on its way to the
 * server, which stores it only after mailport has reconnected. The retry
 * must find it there instead of sending it again.
 *
 * A stalling relay in front of the real Dovecot produces this: on the first
 * connection, once STALL_AFTER bytes went from client to server, it holds
 * everything further the client sends (and answers nothing), and delivers
 * the held bytes to the server RELEASE_DELAY seconds after the client gave
 * up. Later connections are relayed untouched. */
#include "dovecot.h"
#include "sync_check.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STALL_AFTER (200 * 1024)
#define RELEASE_DELAY 7 /* beyond the retry's 3 s settle time */

typedef struct relay {
    int listen_fd, port, target_port;
    pthread_t thread;
    int released; /* held bytes reached the server */
} relay;

static int connect_to(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int send_all(int fd, const char *p, size_t len)
{
    for (; len;) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0 && errno != EINTR)
            return -1;
        if (n > 0)
            p += n, len -= (size_t)n;
    }
    return 0;
}

/* Relay C <-> S until either closes; with STALL, hold client bytes past
 * STALL_AFTER and release them late. Returns when the pair is done. */
static void relay_pair(relay *r, int c, int s, int stall)
{
    char buf[65536];
    size_t up = 0, held_len = 0, held_cap = 0;
    char *held = NULL;
    int stalled = 0;
    for (;;) {
        struct pollfd fds[2] = {{.fd = c, .events = POLLIN},
                                {.fd = s, .events = POLLIN}};
        if (poll(fds, 2, 60000) <= 0)
            break;
        if (fds[0].revents) {
            ssize_t got = recv(c, buf, sizeof buf, 0);
            if (got <= 0)
                break; /* the client gave up (or finished) */
            size_t pass = stalled ? 0 : (size_t)got;
            if (stall && !stalled && up + pass > STALL_AFTER) {
                pass = STALL_AFTER - up;
                stalled = 1;
            }
            if (pass && send_all(s, buf, pass) != 0)
                break;
            up += pass;
            if (stalled) {
                size_t rest = (size_t)got - pass;
                if (held_len + rest > held_cap) {
                    held_cap = (held_len + rest) * 2;
                    held = realloc(held, held_cap);
                }
                memcpy(held + held_len, buf + pass, rest);
                held_len += rest;
            }
        }
        if (fds[1].revents) {
            ssize_t got = recv(s, buf, sizeof buf, 0);
            if (got <= 0)
                break;
            if (!stalled && send_all(c, buf, (size_t)got) != 0)
                break;
        }
    }
    close(c);
    if (stalled) {
        sleep(RELEASE_DELAY);
        send_all(s, held, held_len);
        /* Read the server's answers until it has dealt with the bytes. */
        for (int quiet = 0; quiet < 2;) {
            struct pollfd pf = {.fd = s, .events = POLLIN};
            if (poll(&pf, 1, 1000) <= 0) {
                quiet++;
                continue;
            }
            if (recv(s, buf, sizeof buf, 0) <= 0)
                break;
        }
        __atomic_store_n(&r->released, 1, __ATOMIC_SEQ_CST);
    }
    free(held);
    close(s);
}

typedef struct pair_arg {
    relay *r;
    int c, s, stall;
} pair_arg;

static void *pair_main(void *arg)
{
    pair_arg *a = arg;
    relay_pair(a->r, a->c, a->s, a->stall);
    free(a);
    return NULL;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    for (int first = 1;; first = 0) {
        int c = accept(r->listen_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        int s = connect_to(r->target_port);
        if (s < 0) {
            close(c);
            continue;
        }
        pair_arg *a = malloc(sizeof *a);
        *a = (pair_arg){r, c, s, first};
        pthread_t t;
        pthread_create(&t, NULL, pair_main, a);
        pthread_detach(t);
    }
}

static relay *relay_start(int target_port)
{
    relay *r = calloc(1, sizeof *r);
    r->target_port = target_port;
    r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(r->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(r->listen_fd, 8) != 0 ||
        getsockname(r->listen_fd, (struct sockaddr *)&a, &len) != 0)
        fail_msg("relay: cannot listen: %s", strerror(errno));
    r->port = ntohs(a.sin_port);
    pthread_create(&r->thread, NULL, relay_main, r);
    return r;
}

/* Three messages, the middle one large enough that the stall falls inside
 * its literal. */
static void write_source(const char *root)
{
    mp_sh("mkdir -p '%s/cur' '%s/new' '%s/tmp'", root, root, root);
    for (int i = 1; i <= 3; i++) {
        size_t body = i == 2 ? 1024 * 1024 : 200;
        char *head = mp_strf("From: a@example.org\nTo: b@example.org\n"
                             "Subject: message %d\nMessage-ID: <m%d@example."
                             "org>\nDate: Mon, 4 Mar 2024 09:00:0%d +0000\n\n",
                             i, i, i);
        size_t hl = strlen(head);
        char *text = malloc(hl + body + 1);
        memcpy(text, head, hl);
        for (size_t k = 0; k < body; k++)
            text[hl + k] = (k % 64 == 63) ? '\n' : (char)('a' + k % 26);
        text[hl + body - 1] = '\n';
        char *path = mp_strf("%s/cur/170954280%d.m%d.host:2,S", root, i, i);
        mp_write_file(path, text, hl + body);
        free(path);
        free(text);
        free(head);
    }
}

static void a_literal_stored_after_the_drop_is_not_sent_again(void **state)
{
    (void)state;
    mp_dovecot *dc = mp_dovecot_start();
    mp_dovecot_add_user(dc, "alice", "alice-secret");
    char *dir = mp_tmpdir("uncertain");
    setenv("XDG_STATE_HOME", dir, 1);
    char *root = mp_strf("%s/src", dir);
    write_source(root);
    relay *r = relay_start(mp_dovecot_port(dc));
    char *dst = mp_strf("imap://alice@127.0.0.1:%d?password_file=%s&"
                        "tls=none&timeout=3",
                        r->port, mp_dovecot_password_file(dc, "alice"));
    char *src = mp_strf("maildir:%s", root);
    char *state_path = mp_strf("%s/state.sqlite", dir);
    char *report = mp_strf("%s/report.json", dir);
    mp_run_result run = mp_run("copy", src, dst, "--state", state_path,
                               "--report", report, "-v", NULL);
    if (run.exit_code != 0)
        fail_msg("copy: exit %d\n%s", run.exit_code, run.err);
    assert_contains(run.err, "retrying folder INBOX");
    assert_true(__atomic_load_n(&r->released, __ATOMIC_SEQ_CST));
    assert_contains(run.err, "the server may still be storing");
    mp_run_free(&run);
    /* Each message exactly once, in the counts and on the server. */
    char *rep = mp_read_file(report, NULL);
    sync_assert_counts(rep, 3, 0, 0, 0);
    free(rep);
    char *md = mp_dovecot_maildir(dc, "alice");
    assert_int_equal(sync_count_messages(md), 3);
    char *direct = mp_dovecot_url(dc, "imap", "alice");
    run = mp_run("verify", src, direct, NULL);
    assert_int_equal(run.exit_code, 0);
    assert_contains(run.err, "verified 3 messages");
    assert_contains(run.err, "0 duplicated");
    mp_run_free(&run);
    free(direct);
    free(md);
    free(report);
    free(state_path);
    free(src);
    free(dst);
    free(root);
    mp_rm_rf(dir);
    free(dir);
    mp_dovecot_stop(dc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_literal_stored_after_the_drop_is_not_sent_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
