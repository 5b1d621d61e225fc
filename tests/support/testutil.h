/* Helpers shared by mailport's tests: run the built binary, make and remove
 * temporary trees, read files, find the shared corpora. Every helper fails
 * the running cmocka test on an unexpected system error, so tests stay
 * short and still cannot pass by accident. */
#ifndef MP_TESTUTIL_H
#define MP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct mp_run_result {
    int exit_code; /* the process's exit status; 128+N when killed by N */
    char *out;     /* everything written to stdout, NUL-terminated */
    char *err;     /* everything written to stderr, NUL-terminated */
} mp_run_result;

/* Run the mailport binary under test ($MAILPORT_BIN) with the NULL-terminated
 * argument list, stdin from /dev/null. Free with mp_run_free. */
mp_run_result mp_run(const char *arg, ...);
mp_run_result mp_runv(const char *const *argv);
void mp_run_free(mp_run_result *r);

/* Fail the test with the message that follows ERR, a run's whole stderr
 * printed first (cmocka cuts long failure messages). */
#define mp_fail_showing(err, ...)                                              \
    do {                                                                       \
        printf("---- mailport's stderr ----\n%s----\n", (err));                \
        fail_msg(__VA_ARGS__);                                                 \
    } while (0)
/* Fail unless R exited with CODE, showing its whole stdout and stderr. */
void mp_expect_exit(const mp_run_result *r, int code);

/* Run a shell command line (sh -c); returns its exit status. Output goes
 * to the test's own stdout/stderr. */
int mp_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fresh private directory under $TMPDIR (or /tmp); caller frees the
 * string and removes the tree with mp_rm_rf. */
char *mp_tmpdir(const char *tag);
void mp_rm_rf(const char *path);

/* Whole file into memory, NUL-terminated; *len gets the size (without the
 * NUL). Fails the test when the file cannot be read. */
char *mp_read_file(const char *path, size_t *len);
/* Write LEN bytes to PATH (mode 0644), creating or truncating it. */
void mp_write_file(const char *path, const void *data, size_t len);
int mp_file_exists(const char *path);

/* The shared corpora root ($MP_CORPORA or the build-time default). */
const char *mp_corpora(void);
/* Call FN(PATH, CTX) for every regular file under DIR smaller than
 * MAX_SIZE bytes, recursively, leaving out names that start with '.'.
 * Returns how many files FN was called for. */
size_t mp_walk_files(const char *dir, long long max_size,
                     void (*fn)(const char *path, void *ctx), void *ctx);
/* BYTES (LEN of them) in the form an LF store keeps them (README, "Line
 * endings"): each line break (LF, CR LF, CR CR LF or a lone CR, longest
 * first) becomes LF, every other byte stays. Written apart from the
 * product's converter (core/engine/eol.c), as the tests' reference.
 * Malloc'd and NUL-terminated; *OUT_LEN gets its length. */
char *mp_lf_form(const char *bytes, size_t len, size_t *out_len);

/* TEXT (LF line ends) with every LF as CRLF, as IMAP sends and stores it.
 * Malloc'd and NUL-terminated; *OUT_LEN gets its length. */
char *mp_crlf_form(const char *text, size_t len, size_t *out_len);

/* The first "NAME": number in JSON (a report's top-level count comes
 * before its folders'); fails the test, showing JSON, when there is none. */
double mp_json_number(const char *json, const char *name);
/* CLOCK_MONOTONIC in seconds, for timing a run. */
double mp_now_s(void);
/* Make the mailport processes this program starts wait at most 1 s, not
 * 30, for APPENDs that were in flight when a connection dropped
 * ($MAILPORT_INFLIGHT_WAIT): for tests whose Dovecot on loopback has
 * stored all it will store of them before the retry logs in, where the
 * full wait only ends in the same resend. The retry still looks again
 * once, after that second. */
void mp_short_inflight_wait(void);

/* A self-signed certificate DIR/cert.pem for CN (valid for 127.0.0.1 and
 * localhost too) with its P-256 key DIR/key.pem (mode 0600), made with the
 * openssl command in milliseconds (an RSA key took 0.1 to 0.5 s): a test
 * server's own, which is its own CA. Fails the test when openssl cannot. */
void mp_test_certificate(const char *dir, const char *cn);

/* asprintf that fails the test on error. */
char *mp_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Does STR contain NEEDLE? Prints both when not, for a readable failure. */
#define assert_contains(str, needle)                                           \
    do {                                                                       \
        const char *s_ = (str), *n_ = (needle);                                \
        if (!s_ || !strstr(s_, n_))                                            \
            fail_msg("expected \"%s\" in:\n%s", n_, s_ ? s_ : "(null)");       \
    } while (0)

#endif
