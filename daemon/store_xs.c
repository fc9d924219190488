/* store_xs.c - the store on real xenstore through libxenstore.
 *
 * The only file that includes xenstore.h.  Watches reach the caller's
 * libevent loop through xs_fileno(); the callback drains them with
 * xs_check_watch(), the non-blocking form of xs_read_watch() that
 * xenstore.h asks for once the fd is readable (libxenstore may wake the fd
 * spuriously, and xs_read_watch() would then block the loop).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <xenstore.h>

#include "store_backend.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define TOKEN_PREFIX "xenlet:"

struct xsb {
	struct xs_handle *xsh;
	struct event *ev; /* read event on xs_fileno(), made at the first watch */
};

static int xsb_open(struct xn_store *st, xn_err *err)
{
	struct xsb *x = xn_xcalloc(1, sizeof(*x));

	x->xsh = xs_open(0);
	if (x->xsh == NULL) {
		int e = errno;

		free(x);
		return xn_error_errno(err, e,
				      "xenstore: cannot connect (is xenstored running? "
				      "/dev/xen/xenbus or %s)",
				      xs_daemon_socket());
	}
	st->priv = x;
	return 0;
}

static void xsb_close(struct xn_store *st)
{
	struct xsb *x = st->priv;

	if (x == NULL)
		return;
	if (x->ev != NULL)
		event_free(x->ev);
	xs_close(x->xsh);
	free(x);
	st->priv = NULL;
}

static int xsb_tx_start(struct xn_store *st, uint32_t *tx, xn_err *err)
{
	struct xsb *x = st->priv;
	xs_transaction_t t = xs_transaction_start(x->xsh);

	if (t == XBT_NULL)
		return xn_error_errno(err, errno, "xenstore transaction start");
	*tx = t;
	return 0;
}

static int xsb_tx_end(struct xn_store *st, uint32_t tx, bool abort, xn_err *err)
{
	struct xsb *x = st->priv;

	if (!xs_transaction_end(x->xsh, tx, abort))
		return xn_error_errno(err, errno, "xenstore transaction %s",
				      abort ? "abort" : "commit");
	return 0;
}

static int xsb_get(struct xn_store *st, uint32_t tx, const char *path, char **val, size_t *len,
		   xn_err *err)
{
	struct xsb *x = st->priv;
	unsigned int n = 0;
	char *v = xs_read(x->xsh, tx, path, &n);

	if (v == NULL)
		return xn_error_errno(err, errno, "xenstore read %s", path);
	*val = v; /* libxenstore NUL-terminates it */
	*len = n;
	return 0;
}

static int xsb_set(struct xn_store *st, uint32_t tx, const char *path, const char *val, size_t len,
		   xn_err *err)
{
	struct xsb *x = st->priv;

	if (!xs_write(x->xsh, tx, path, val, (unsigned int)len))
		return xn_error_errno(err, errno, "xenstore write %s", path);
	return 0;
}

static int xsb_rm(struct xn_store *st, uint32_t tx, const char *path, xn_err *err)
{
	struct xsb *x = st->priv;

	if (!xs_rm(x->xsh, tx, path) && errno != ENOENT)
		return xn_error_errno(err, errno, "xenstore rm %s", path);
	return 0;
}

static int xsb_list(struct xn_store *st, uint32_t tx, const char *path, char ***names, size_t *n,
		    xn_err *err)
{
	struct xsb *x = st->priv;
	unsigned int num = 0;
	char **d = xs_directory(x->xsh, tx, path, &num);

	if (d == NULL)
		return xn_error_errno(err, errno, "xenstore directory %s", path);
	*names = xn_xcalloc(num + 1, sizeof(**names));
	for (unsigned int i = 0; i < num; i++)
		(*names)[i] = xn_xstrdup(d[i]);
	free(d); /* one allocation holds the array and the strings */
	*n = num;
	return 0;
}

static int xsb_set_perms(struct xn_store *st, uint32_t tx, const char *path,
			 const struct xn_store_perm *perms, size_t np, xn_err *err)
{
	struct xsb *x = st->priv;
	cleanup_free struct xs_permissions *p = xn_xcalloc(np, sizeof(*p));

	for (size_t i = 0; i < np; i++) {
		p[i].id = perms[i].domid;
		p[i].perms = (perms[i].access & XN_STORE_READ ? XS_PERM_READ : 0) |
			     (perms[i].access & XN_STORE_WRITE ? XS_PERM_WRITE : 0);
	}
	if (!xs_set_permissions(x->xsh, tx, path, p, (unsigned int)np))
		return xn_error_errno(err, errno, "xenstore set permissions %s", path);
	return 0;
}

static int xsb_get_perms(struct xn_store *st, uint32_t tx, const char *path,
			 struct xn_store_perm **perms, size_t *np, xn_err *err)
{
	struct xsb *x = st->priv;
	unsigned int num = 0;
	struct xs_permissions *p = xs_get_permissions(x->xsh, tx, path, &num);

	if (p == NULL)
		return xn_error_errno(err, errno, "xenstore get permissions %s", path);
	*perms = xn_xcalloc(num, sizeof(**perms));
	for (unsigned int i = 0; i < num; i++) {
		(*perms)[i].domid = p[i].id;
		(*perms)[i].access = (p[i].perms & XS_PERM_READ ? XN_STORE_READ : 0) |
				     (p[i].perms & XS_PERM_WRITE ? XN_STORE_WRITE : 0);
	}
	free(p);
	*np = num;
	return 0;
}

static void xsb_readable(evutil_socket_t fd, short what, void *arg)
{
	struct xn_store *st = arg;
	struct xsb *x = st->priv;
	char **vec;
	int id;

	while ((vec = xs_check_watch(x->xsh)) != NULL) {
		if (sscanf(vec[XS_WATCH_TOKEN], TOKEN_PREFIX "%d", &id) == 1)
			xn_store_watch_fire(st, id, vec[XS_WATCH_PATH]);
		free(vec);
	}
	/* nobody to return an error to from here */
	if (errno != EAGAIN)
		log_warn("xenstore: reading watch events");
}

static int xsb_watch(struct xn_store *st, int id, const char *path, xn_err *err)
{
	struct xsb *x = st->priv;
	char token[32];

	if (x->ev == NULL) {
		int fd = xs_fileno(x->xsh);

		if (fd < 0)
			return xn_error_errno(err, errno, "xenstore: watch fd");
		x->ev = event_new(st->base, fd, EV_READ | EV_PERSIST, xsb_readable, st);
		if (x->ev == NULL || event_add(x->ev, NULL) < 0)
			return xn_error(err, ENOMEM,
					"xenstore: cannot add the watch fd to the loop");
	}
	snprintf(token, sizeof(token), TOKEN_PREFIX "%d", id);
	if (!xs_watch(x->xsh, path, token))
		return xn_error_errno(err, errno, "xenstore watch %s", path);
	return 0;
}

static void xsb_unwatch(struct xn_store *st, int id, const char *path)
{
	struct xsb *x = st->priv;
	char token[32];

	snprintf(token, sizeof(token), TOKEN_PREFIX "%d", id);
	xs_unwatch(x->xsh, path, token);
}

const struct xn_store_ops xn_store_ops_xs = {
    .name = "xs",
    .open = xsb_open,
    .close = xsb_close,
    .tx_start = xsb_tx_start,
    .tx_end = xsb_tx_end,
    .get = xsb_get,
    .set = xsb_set,
    .rm = xsb_rm,
    .list = xsb_list,
    .set_perms = xsb_set_perms,
    .get_perms = xsb_get_perms,
    .watch = xsb_watch,
    .unwatch = xsb_unwatch,
};
