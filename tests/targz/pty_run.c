#include "pty_run.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Is there a passphrase prompt in OUT[from..len) that ends with ": "? */
static const char *find_prompt(const char *out, size_t from)
{
    const char *p = strstr(out + from, "assphrase");
    if (!p)
        return NULL;
    const char *colon = strstr(p, ": ");
    return colon ? colon + 2 : NULL;
}

int pty_run(const char *const *argv, const char *passphrase, int *prompts,
            char *transcript, size_t transcript_size)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    size_t cap = 65536, len = 0, scanned = 0;
    char *out = calloc(1, cap);
    int answered = 0;
    time_t deadline = time(NULL) + 60;
    for (;;) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        int rc = poll(&p, 1, 1000);
        if (rc < 0 && errno == EINTR)
            continue;
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            break;
        }
        if (rc == 0)
            continue;
        char buf[4096];
        ssize_t got = read(master, buf, sizeof buf);
        if (got <= 0)
            break; /* EIO once the child has closed the terminal */
        if (len + (size_t)got + 1 > cap) {
            cap = (cap + (size_t)got) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + len, buf, (size_t)got);
        len += (size_t)got;
        out[len] = '\0';
        const char *end;
        while ((end = find_prompt(out, scanned)) != NULL) {
            scanned = (size_t)(end - out);
            /* Give the program a moment to switch the terminal to no-echo
             * mode after printing the prompt. */
            usleep(50000);
            if (passphrase) {
                ssize_t w1 = write(master, passphrase, strlen(passphrase));
                ssize_t w2 = write(master, "\n", 1);
                (void)w1;
                (void)w2;
            }
            answered++;
        }
    }
    close(master);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (prompts)
        *prompts = answered;
    if (transcript && transcript_size) {
        snprintf(transcript, transcript_size, "%s", out);
    }
    free(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
