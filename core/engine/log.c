#include "log.h"

#include "escape.h"

#include <mailport/plugin.h>
#include <pthread.h>
#include <stdio.h>

static int log_level = MP_LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void mp_log_set_level(int level)
{
    log_level = level;
}

int mp_log_level(void)
{
    return log_level;
}

void mp_logv(int level, const char *fmt, va_list ap)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};
    if (level > log_level)
        return;
    /* No control character of a name inside the text (a folder name in a
     * plugin's error) reaches the terminal raw (escape.h). */
    char text[4096], shown[8192];
    vsnprintf(text, sizeof text, fmt, ap);
    mp_escape(text, 0, shown, sizeof shown);
    pthread_mutex_lock(&log_lock);
    fputs("mailport: ", stderr);
    fputs(prefix[level < 0 ? 0 : level > 3 ? 3 : level], stderr);
    fputs(shown, stderr);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}

void mp_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mp_logv(level, fmt, ap);
    va_end(ap);
}
