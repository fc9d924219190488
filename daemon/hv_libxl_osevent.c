/* hv_libxl_osevent.c - libxl's file descriptors and timeouts on our
 * libevent loop (libxl_osevent_hooks), and its log lines into log.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "hv_libxl_priv.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

/* ---- logger ---- */

__attribute__((format(printf, 5, 0))) static void lg_vmessage(xentoollog_logger *logger,
							      xentoollog_level level, int errnoval,
							      const char *context,
							      const char *format, va_list al)
{
	struct lx_logger *lg = (struct lx_logger *)logger;
	char msg[1024];
	char line[1200];
	size_t n;

	vsnprintf(msg, sizeof(msg), format, al);
	if (context != NULL && strcmp(context, "libxl") == 0)
		context = NULL; /* we prefix "libxl: " ourselves */
	snprintf(line, sizeof(line), "%s%s%s%s%s", context ? context : "", context ? ": " : "", msg,
		 errnoval > 0 ? ": " : "", errnoval > 0 ? strerror(errnoval) : "");
	if (level >= XTL_ERROR) {
		char *slot = lg->lines[lg->seq % LX_ERRLINES];

		n = strnlen(line, sizeof(lg->lines[0]) - 1);
		memcpy(slot, line, n);
		slot[n] = '\0';
		lg->seq++;
	}
	if (level >= XTL_WARN)
		log_warnx("libxl: %s", line);
	/* DEBUG logs every xenstore watch, too much even for -v; INFO and
	 * DETAIL are for developers */
	else if (level > XTL_DEBUG && level != XTL_PROGRESS)
		log_debug("libxl: %s", line);
}

static void lg_progress(xentoollog_logger *logger, const char *context, const char *doing_what,
			int percent, unsigned long done, unsigned long total)
{
}

static void lg_destroy(xentoollog_logger *logger) {}

void lx_logger_init(struct lx_logger *lg)
{
	memset(lg, 0, sizeof(*lg));
	lg->vtable.vmessage = lg_vmessage;
	lg->vtable.progress = lg_progress;
	lg->vtable.destroy = lg_destroy;
}

unsigned long lx_why_mark(struct lx *lx)
{
	lx->why_mark = lx->logger.seq;
	return lx->why_mark;
}

const char *lx_why_since(struct lx *lx, unsigned long mark, int rc, char *buf, size_t len)
{
	const struct lx_logger *lg = &lx->logger;
	const char *name = libxl_error_to_string(rc);

	if (name == NULL)
		name = "libxl error";
	/* lines older than the ring are gone: take the oldest one kept */
	if (lg->seq - mark > LX_ERRLINES)
		mark = lg->seq - LX_ERRLINES;
	if (lg->seq > mark)
		snprintf(buf, len, "%s (%d): %s", name, rc, lg->lines[mark % LX_ERRLINES]);
	else
		snprintf(buf, len, "%s (%d)", name, rc);
	return buf;
}

const char *lx_why(struct lx *lx, int rc, char *buf, size_t len)
{
	return lx_why_since(lx, lx->why_mark, rc, buf, len);
}

/* ---- registrations ---- */

static struct lx_reg *reg_new(struct lx *lx, int fd, short events, void *for_libxl)
{
	struct lx_reg *r = xn_xcalloc(1, sizeof(*r));

	r->lx = lx;
	r->fd = fd;
	r->events = events;
	r->for_libxl = for_libxl;
	r->next = lx->regs;
	if (lx->regs)
		lx->regs->prev = r;
	lx->regs = r;
	return r;
}

static void reg_free(struct lx_reg *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->lx->regs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->ev)
		event_free(r->ev);
	free(r);
}

void lx_regs_free_all(struct lx *lx)
{
	while (lx->regs)
		reg_free(lx->regs);
}

static short poll_to_ev(short events)
{
	short what = 0;

	if (events & (POLLIN | POLLPRI))
		what |= EV_READ;
	if (events & POLLOUT)
		what |= EV_WRITE;
	return what;
}

static void fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lx_reg *r = arg;
	/* libxl may deregister (free) r from inside the call */
	libxl_ctx *ctx = r->lx->ctx;
	void *for_libxl = r->for_libxl;
	short events = r->events;
	short revents = 0;

	if (what & EV_READ)
		revents |= events & (POLLIN | POLLPRI);
	if (what & EV_WRITE)
		revents |= POLLOUT;
	libxl_osevent_occurred_fd(ctx, for_libxl, (int)fd, events, revents);
}

/* events == 0 must register and stay silent; libevent cannot add an event
 * that waits for nothing, so it is only added when there is something. */
static int fd_arm(struct lx_reg *r)
{
	short what = poll_to_ev(r->events);

	if (r->ev == NULL)
		r->ev = event_new(r->lx->hv->base, r->fd, EV_PERSIST | what, fd_cb, r);
	else if (event_assign(r->ev, r->lx->hv->base, r->fd, EV_PERSIST | what, fd_cb, r) < 0)
		return ERROR_OSEVENT_REG_FAIL;
	if (r->ev == NULL)
		return ERROR_OSEVENT_REG_FAIL;
	if (what != 0 && event_add(r->ev, NULL) < 0)
		return ERROR_OSEVENT_REG_FAIL;
	return 0;
}

static int hook_fd_register(void *user, int fd, void **for_app_out, short events, void *for_libxl)
{
	struct lx *lx = user;
	struct lx_reg *r = reg_new(lx, fd, events, for_libxl);
	int rc = fd_arm(r);

	if (rc != 0) {
		reg_free(r);
		return rc;
	}
	*for_app_out = r;
	return 0;
}

static int hook_fd_modify(void *user, int fd, void **for_app_update, short events)
{
	struct lx_reg *r = *for_app_update;
	short old = r->events;

	event_del(r->ev);
	r->events = events;
	if (fd_arm(r) != 0) {
		/* "must leave the registration state unchanged" */
		r->events = old;
		fd_arm(r);
		return ERROR_OSEVENT_REG_FAIL;
	}
	return 0;
}

static void hook_fd_deregister(void *user, int fd, void *for_app)
{
	reg_free(for_app);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lx_reg *r = arg;
	libxl_ctx *ctx = r->lx->ctx;

	/* On entry to _occurred_timeout libxl considers the timeout gone; keep
	 * r until it returns so that a racing modify finds it and is ignored. */
	r->fired = true;
	libxl_osevent_occurred_timeout(ctx, r->for_libxl);
	reg_free(r);
}

static struct timeval until(struct timeval abs)
{
	struct timeval now, rel;

	gettimeofday(&now, NULL);
	timersub(&abs, &now, &rel);
	if (rel.tv_sec < 0)
		rel.tv_sec = rel.tv_usec = 0;
	return rel;
}

static int hook_timeout_register(void *user, void **for_app_out, struct timeval abs,
				 void *for_libxl)
{
	struct lx *lx = user;
	struct lx_reg *r = reg_new(lx, -1, 0, for_libxl);
	struct timeval rel = until(abs);

	r->ev = evtimer_new(lx->hv->base, timer_cb, r);
	if (r->ev == NULL || evtimer_add(r->ev, &rel) < 0) {
		reg_free(r);
		return ERROR_OSEVENT_REG_FAIL;
	}
	*for_app_out = r;
	return 0;
}

/* Only ever called with abs = {0,0}: "now". */
static int hook_timeout_modify(void *user, void **for_app_update, struct timeval abs)
{
	struct lx_reg *r = *for_app_update;
	struct timeval rel = until(abs);

	if (r->fired)
		return 0;
	evtimer_del(r->ev);
	if (evtimer_add(r->ev, &rel) < 0)
		return ERROR_OSEVENT_REG_FAIL;
	return 0;
}

/* libxl says this is never called; free it anyway if it is. */
static void hook_timeout_deregister(void *user, void *for_app)
{
	struct lx_reg *r = for_app;

	if (!r->fired)
		reg_free(r);
}

const libxl_osevent_hooks lx_osevent_hooks = {
    .fd_register = hook_fd_register,
    .fd_modify = hook_fd_modify,
    .fd_deregister = hook_fd_deregister,
    .timeout_register = hook_timeout_register,
    .timeout_modify = hook_timeout_modify,
    .timeout_deregister = hook_timeout_deregister,
};
