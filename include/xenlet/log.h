/* log.h - OpenBSD-style logging (log_warn/log_warnx/log_info/log_debug/fatal).
 *
 * Output goes to stderr, one line per message with a level prefix that
 * journald understands ("<3>" ... "<7>") when stderr is the journal, else a
 * timestamp.  libevent's own messages are routed here too (xn_log_init).
 */
#ifndef XENLET_LOG_H
#define XENLET_LOG_H

#include <stdarg.h>

enum xn_log_level { XN_LOG_ERR = 3, XN_LOG_WARN = 4, XN_LOG_INFO = 6, XN_LOG_DEBUG = 7 };

/* verbose: 0 = info and above, >= 1 = debug too.  Safe to call again. */
void xn_log_init(const char *progname, int verbose);
void xn_log_set_verbose(int verbose);
int xn_log_verbose(void);

void log_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2))); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn)); /* with strerror */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void xn_vlog(enum xn_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
