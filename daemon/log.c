/* log.c - OpenBSD-style logging to stderr or journald, libevent routed in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "xenlet/log.h"
#include "xenlet/util.h"

static const char *progname = "xenlet";
static int verbosity;
static int to_journal; /* stderr is connected to journald: use <N> prefixes */

static void libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG: log_debug("libevent: %s", msg); break;
	case EVENT_LOG_MSG: log_info("libevent: %s", msg); break;
	default: log_warnx("libevent: %s", msg); break;
	}
}

void xn_log_init(const char *name, int verbose)
{
	progname = name;
	verbosity = verbose;
	/* systemd sets JOURNAL_STREAM for services whose stderr is the journal */
	to_journal = getenv("JOURNAL_STREAM") != NULL;
	event_set_log_callback(libevent_log);
}

void xn_log_set_verbose(int verbose)
{
	verbosity = verbose;
}
int xn_log_verbose(void)
{
	return verbosity;
}

void xn_vlog(enum xn_log_level level, const char *fmt, va_list ap)
{
	static const char *names[] = {[XN_LOG_ERR] = "error",
				      [XN_LOG_WARN] = "warning",
				      [XN_LOG_INFO] = "info",
				      [XN_LOG_DEBUG] = "debug"};
	char msg[4096];
	int saved = errno;

	if (level == XN_LOG_DEBUG && verbosity < 1)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (to_journal) {
		fprintf(stderr, "<%d>%s\n", level, msg);
	} else {
		char when[XN_RFC3339_LEN];

		xn_rfc3339_fmt(xn_now_real_ns(), 3, when);
		fprintf(stderr, "%s %s[%s]: %s\n", when, progname,
			names[level] ? names[level] : "?", msg);
	}
	fflush(stderr);
	errno = saved;
}

#define LOGFN(fn, level)                                                                           \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		xn_vlog(level, fmt, ap);                                                           \
		va_end(ap);                                                                        \
	}
LOGFN(log_warnx, XN_LOG_WARN)
LOGFN(log_info, XN_LOG_INFO)
LOGFN(log_debug, XN_LOG_DEBUG)

__attribute__((format(printf, 2, 3))) static void logline(enum xn_log_level level, const char *fmt,
							  ...)
{
	va_list ap;

	va_start(ap, fmt);
	xn_vlog(level, fmt, ap);
	va_end(ap);
}

/* One line "<prefix><message>[: strerror(errnum)]"; errnum 0: no suffix. */
__attribute__((format(printf, 4, 0))) static void
vlog_with(enum xn_log_level level, const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char head[3072];

	vsnprintf(head, sizeof(head), fmt, ap);
	if (errnum)
		logline(level, "%s%s: %s", prefix, head, strerror(errnum));
	else
		logline(level, "%s%s", prefix, head);
}

void log_warn(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_with(XN_LOG_WARN, "", errnum, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_with(XN_LOG_ERR, "fatal: ", errnum, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_with(XN_LOG_ERR, "fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
