/* Run a program on a pseudo-terminal and answer its passphrase prompts:
 * age reads passphrases only from a terminal. */
#ifndef MP_TEST_PTY_RUN_H
#define MP_TEST_PTY_RUN_H

#include <stddef.h>

/* Run ARGV (NULL-terminated, ARGV[0] looked up in PATH) with a pty as its
 * controlling terminal and stdin/stdout/stderr. Each time the output shows a
 * new prompt containing "passphrase" and ending in ": ", PASSPHRASE and a
 * newline are typed. Returns the exit status (128+N when killed by N);
 * *PROMPTS gets the number of prompts answered. The terminal output is
 * copied to TRANSCRIPT (TRANSCRIPT_SIZE bytes, NUL-terminated) when given. */
int pty_run(const char *const *argv, const char *passphrase, int *prompts,
            char *transcript, size_t transcript_size);

#endif
