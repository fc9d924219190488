/* hv_libxl_console.c - a guest's PV console (console 0) read from its pty
 * in Dom0 on our event loop.
 *
 * xenconsoled creates the pty and writes its path to
 * /local/domain/<domid>/console/tty some time after libxl has built the
 * domain; attach waits for that key with a xenstore watch.  Works while
 * the domain is paused, so the first byte the guest writes is seen. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "hv_libxl_priv.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define TOKEN_PREFIX "xenlet-console-"

struct lx_console {
	struct lx_console *next;
	struct lx *lx;
	uint32_t domid;
	xn_hv_console_cb cb;
	void *arg;
	int fd;
	struct event *ev;
	bool watching; /* waiting for console/tty */
	bool in_cb;    /* freeing is left to the reader */
	bool detached;
	char xspath[64];
	char token[48];
};

static struct lx_console *con_find(struct lx *lx, uint32_t domid)
{
	for (struct lx_console *c = lx->cons; c; c = c->next)
		if (c->domid == domid && !c->detached)
			return c;
	return NULL;
}

/* Stop reading and unlink; the memory goes now, or after the callback
 * that is running returns. */
static void con_detach(struct lx_console *c)
{
	struct lx *lx = c->lx;

	for (struct lx_console **pp = &lx->cons; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->detached = true;
	if (c->watching)
		xs_unwatch(lx->xs, c->xspath, c->token);
	c->watching = false;
	if (c->ev)
		event_free(c->ev);
	c->ev = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (!c->in_cb)
		free(c);
}

/* Returns false when c is gone (detached from inside the callback). */
static bool deliver(struct lx_console *c, const char *buf, size_t len)
{
	c->in_cb = true;
	c->cb(c->lx->hv, c->domid, buf, len, c->arg);
	c->in_cb = false;
	if (c->detached) {
		free(c);
		return false;
	}
	return true;
}

static void con_closed(struct lx_console *c)
{
	if (deliver(c, NULL, 0))
		con_detach(c);
}

/* One read per wakeup keeps a chatty guest from starving the loop. */
static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lx_console *c = arg;
	char buf[4096];
	ssize_t n = read((int)fd, buf, sizeof(buf));

	if (n > 0) {
		deliver(c, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* 0 or EIO: xenconsoled closed the pty's other side */
	con_closed(c);
}

static int open_tty(struct lx_console *c, const char *tty, xn_err *err)
{
	struct termios t;
	int fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return xn_error_errno(err, errno, "console of domain %u: open %s", c->domid, tty);
	/* raw: no echo of guest output back into the guest, no CR/LF games */
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	c->ev = event_new(c->lx->hv->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	if (c->ev == NULL || event_add(c->ev, NULL) < 0) {
		close(fd);
		return xn_error(err, EIO, "console of domain %u: cannot add it to the event loop",
				c->domid);
	}
	c->fd = fd;
	return 0;
}

/* The tty key, read directly: libxl_console_get_tty would log an error on
 * every try while xenconsoled has not written it yet. */
static char *tty_of(struct lx_console *c)
{
	unsigned int len = 0;
	char *tty = xs_read(c->lx->xs, XBT_NULL, c->xspath, &len);

	if (tty != NULL && (len == 0 || tty[0] != '/')) {
		free(tty);
		tty = NULL;
	}
	return tty;
}

int lx_console_attach(struct xn_hv *hv, uint32_t domid, xn_hv_console_cb cb, void *arg, xn_err *err)
{
	struct lx *lx = hv->priv;
	struct lx_console *c;
	cleanup_free char *tty = NULL;

	if (con_find(lx, domid) != NULL)
		return xn_error(err, EBUSY, "console of domain %u: already attached", domid);
	if (libxl_domain_info(lx->ctx, NULL, domid) == ERROR_DOMAIN_NOTFOUND)
		return xn_error(err, ESRCH, "console of domain %u: no such domain", domid);
	c = xn_xcalloc(1, sizeof(*c));
	c->lx = lx;
	c->domid = domid;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	snprintf(c->xspath, sizeof(c->xspath), "/local/domain/%u/console/tty", domid);
	snprintf(c->token, sizeof(c->token), TOKEN_PREFIX "%u", domid);
	tty = tty_of(c);
	if (tty != NULL) {
		if (open_tty(c, tty, err) < 0) {
			free(c);
			return -1;
		}
	} else {
		if (!xs_watch(lx->xs, c->xspath, c->token)) {
			xn_error_errno(err, errno, "console of domain %u: xenstore watch %s", domid,
				       c->xspath);
			free(c);
			return -1;
		}
		c->watching = true;
	}
	c->next = lx->cons;
	lx->cons = c;
	return 0;
}

bool lx_console_watch_fired(struct lx *lx, const char *path, const char *token)
{
	struct lx_console *c;
	cleanup_free char *tty = NULL;
	xn_err err = NULL;

	if (strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
		return false;
	for (c = lx->cons; c; c = c->next)
		if (c->watching && strcmp(c->token, token) == 0)
			break;
	if (c == NULL)
		return true; /* a stale watch event after unwatch */
	tty = tty_of(c);
	if (tty == NULL)
		return true; /* fires once at registration; keep waiting */
	xs_unwatch(lx->xs, c->xspath, c->token);
	c->watching = false;
	if (open_tty(c, tty, &err) < 0) {
		/* nobody to return this to: the consumer sees the console close */
		log_warnx("%s", xn_error_msg(err));
		xn_error_free(&err);
		con_closed(c);
	}
	return true;
}

void lx_console_eof(struct lx *lx, uint32_t domid)
{
	struct lx_console *c = con_find(lx, domid);
	char buf[4096];
	ssize_t n;

	if (c == NULL)
		return;
	/* what the guest wrote just before it died is still in the pty */
	while (c->fd >= 0 && (n = read(c->fd, buf, sizeof(buf))) > 0)
		if (!deliver(c, buf, (size_t)n))
			return;
	con_closed(c);
}

void lx_console_detach(struct xn_hv *hv, uint32_t domid)
{
	struct lx_console *c = con_find(hv->priv, domid);

	if (c != NULL)
		con_detach(c);
}

void lx_console_free_all(struct lx *lx)
{
	while (lx->cons)
		con_detach(lx->cons);
}

int lx_console_path(struct xn_hv *hv, uint32_t domid, char **path, xn_err *err)
{
	struct lx *lx = hv->priv;
	char *p = NULL;
	char why[700];
	int rc;

	*path = NULL;
	lx_why_mark(lx);
	rc = libxl_console_get_tty(lx->ctx, domid, 0, LIBXL_CONSOLE_TYPE_PV, &p);
	if (rc != 0)
		return xn_error(err, rc == ERROR_DOMAIN_NOTFOUND ? ESRCH : EIO,
				"libxl: console of domain %u: %s", domid,
				lx_why(lx, rc, why, sizeof(why)));
	*path = xn_xstrdup(p);
	free(p);
	return 0;
}
