/* Logging to stderr for the whole process. Thread-safe: one line at a time. */
#ifndef MP_LOG_H
#define MP_LOG_H

#include <stdarg.h>

/* MP_LOG_ERROR..MP_LOG_DEBUG from plugin.h; lines above the level are
 * dropped. --quiet sets MP_LOG_ERROR, -v MP_LOG_INFO, -vv MP_LOG_DEBUG. */
void mp_log_set_level(int level);
int mp_log_level(void);
void mp_logv(int level, const char *fmt, va_list ap);
void mp_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define mp_error(...) mp_log(MP_LOG_ERROR, __VA_ARGS__)
#define mp_warn(...) mp_log(MP_LOG_WARN, __VA_ARGS__)
#define mp_info(...) mp_log(MP_LOG_INFO, __VA_ARGS__)
#define mp_debug(...) mp_log(MP_LOG_DEBUG, __VA_ARGS__)

#endif
