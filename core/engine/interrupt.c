#include "interrupt.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int signo)
{
    if (stop_signal) {
        /* Asked twice: stop now, with the signal's own status. */
        signal(signo, SIG_DFL);
        raise(signo);
        return;
    }
    stop_signal = signo;
    static const char msg[] =
        "\nmailport: stopping after the current message (again to stop "
        "at once)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
}

void mp_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Restart interrupted calls: the flag is read between messages, and a
     * half-read server response must not turn into an error. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int mp_interrupted(void)
{
    return stop_signal;
}

int mp_interrupt_exit_code(int signo)
{
    return 128 + signo;
}

int64_t mp_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void mp_sleep_until_ns(int64_t until_ns)
{
    /* In steps of at most 0.2 s, looking at the stop flag between them. */
    for (int64_t now = mp_monotonic_ns(); now < until_ns && !stop_signal;
         now = mp_monotonic_ns()) {
        int64_t left = until_ns - now, step = left < 200000000 ? left : 200000000;
        struct timespec ts = {step / 1000000000, step % 1000000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_signal)
            ;
    }
}
