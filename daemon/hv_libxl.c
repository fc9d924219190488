/* hv_libxl.c - the real Xen backend: libxl 4.17 driven by our libevent loop.
 *
 * libxl's fds and timeouts live on hv->base (hv_libxl_osevent.c); domain
 * events arrive through libxl_event_register_callbacks.  Nothing here
 * waits for a guest, a device model or a timeout: no thread per domain, no
 * polling, no libxl_event_wait, and no libxl call with a NULL ao_how that
 * could wait (libxl would then run its own loop inside ours, or sleep, and
 * ours would stand still: no API, no lease renewal).
 *
 * Asynchronous (libxl_asyncop_how callback):
 *   create      builds the domain, runs hotplug scripts;
 *   destroy     tears down devices, runs hotplug scripts;
 *   shutdown    writes control/shutdown, then waits up to 60 s for the guest
 *               to acknowledge: a guest without a shutdown driver never
 *               does.  The grace period is ours, enforced by a destroy at
 *               its end whatever libxl or the guest do;
 *   pause, unpause   a hypercall, plus for HVM (not used) a QMP exchange
 *               with the device model on unpause; they complete inside the
 *               call for PV and PVH, so the caller still gets the result.
 * Synchronous, because they never wait for anyone: libxl_domain_info,
 * libxl_list_domain, libxl_get_free_memory, libxl_get_physinfo and
 * libxl_get_version_info (hypercalls); libxl_domid_to_name,
 * libxl_evenable_domain_death, libxl_console_get_tty and our own xs_read
 * (one xenstored round trip each); libxl_userdata_store/retrieve (a file,
 * under a per-domain flock that libxl holds only within one step, never
 * across the loop).
 *
 * libxl may complete an operation, or deliver an event, inside any libxl
 * call, including the one that started it.  So the owner is never called
 * from here directly: notes go into a queue that a libevent event drains,
 * in order, from the loop.  The xn_err passed to a create/done callback is
 * freed when the callback returns.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>

#include "hv_libxl_priv.h"
#include "xenlet/hv_libxl.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define CLOSE_DRAIN_SECONDS 30

/* A libxl_domain_destroy in flight and everyone waiting for it. */
struct lx_destroy {
	struct lx *lx;
	uint32_t domid;
	struct lx_dom *dom;	  /* NULL when the domain is not tracked */
	struct lx_create *create; /* cleaning up a failed create */
	struct lx_waiter *waiters;
	unsigned long why_mark; /* libxl error lines before this destroy */
};

struct lx_create {
	struct lx *lx;
	libxl_domain_config d; /* must outlive the libxl operation */
	uint32_t domid;
	char *name;
	char *tag;
	xn_hv_create_cb cb;
	void *arg;
	xn_err err;		/* why it failed, reported once the cleanup is done */
	unsigned long why_mark; /* libxl error lines before this create */
};

static struct lx *LX(struct xn_hv *hv)
{
	return hv->priv;
}

static void clear_why(struct lx *lx)
{
	lx_why_mark(lx);
}

/* ---- owner notifications ---- */

static void note_free(struct lx_note *n);

/* While close() drains libxl, nothing reaches the owner any more. */
void lx_note_push(struct lx *lx, struct lx_note *n)
{
	if (lx->closing) {
		note_free(n);
		return;
	}
	n->next = NULL;
	*lx->notes_tail = n;
	lx->notes_tail = &n->next;
	event_active(lx->flush_ev, EV_TIMEOUT, 0);
}

static void note_free(struct lx_note *n)
{
	xn_error_free(&n->err);
	free(n);
}

static void notes_free(struct lx *lx)
{
	struct lx_note *n;

	while ((n = lx->notes) != NULL) {
		lx->notes = n->next;
		note_free(n);
	}
	lx->notes_tail = &lx->notes;
}

static void push_event(struct lx *lx, const struct xn_hv_event *ev)
{
	struct lx_note *n = xn_xcalloc(1, sizeof(*n));

	n->kind = LX_NOTE_EVENT;
	n->ev = *ev;
	lx_note_push(lx, n);
}

/* err is copied: each waiter gets its own. */
static void push_done(struct lx *lx, xn_hv_done_cb cb, void *arg, uint32_t domid, int rc,
		      const xn_err err)
{
	struct lx_note *n = xn_xcalloc(1, sizeof(*n));

	n->kind = LX_NOTE_DONE;
	n->done_cb = cb;
	n->arg = arg;
	n->domid = domid;
	n->rc = rc;
	if (rc < 0)
		xn_error(&n->err, err ? err->status : EIO, "%s", xn_error_msg(err));
	lx_note_push(lx, n);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lx *lx = arg;
	struct xn_hv *hv = lx->hv;
	struct lx_note *n;

	if (lx->closing)
		return;
	lx->flushing = true;
	while (!lx->closed && (n = lx->notes) != NULL) {
		lx->notes = n->next;
		if (lx->notes == NULL)
			lx->notes_tail = &lx->notes;
		switch (n->kind) {
		case LX_NOTE_EVENT: xn_hv_emit(hv, &n->ev); break;
		case LX_NOTE_CREATED:
			if (n->create_cb)
				n->create_cb(hv, n->rc, n->domid, n->err, n->arg);
			break;
		case LX_NOTE_DONE:
			if (n->done_cb)
				n->done_cb(hv, n->rc, n->domid, n->err, n->arg);
			break;
		case LX_NOTE_CONSOLE_EOF: lx_console_eof(lx, n->domid); break;
		}
		note_free(n);
	}
	lx->flushing = false;
	if (lx->closed) { /* close() ran inside a callback: finish it */
		notes_free(lx);
		free(lx);
	}
}

/* ---- tracked domains ---- */

static struct lx_dom *dom_find(struct lx *lx, uint32_t domid)
{
	for (struct lx_dom *d = lx->doms; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

static void dom_unlink_free(struct lx *lx, struct lx_dom *dom)
{
	for (struct lx_dom **pp = &lx->doms; *pp; pp = &(*pp)->next)
		if (*pp == dom) {
			*pp = dom->next;
			break;
		}
	if (dom->deathw)
		libxl_evdisable_domain_death(lx->ctx, dom->deathw);
	if (dom->deadline)
		event_free(dom->deadline);
	while (dom->sd_waiters) {
		struct lx_waiter *w = dom->sd_waiters;

		dom->sd_waiters = w->next;
		free(w);
	}
	free(dom);
}

/* A dead domain's record goes once nothing refers to it any more. */
static void dom_maybe_free(struct lx *lx, struct lx_dom *dom)
{
	if (dom->dead && dom->destroy == NULL && dom->sd_waiters == NULL && dom->sdop == NULL)
		dom_unlink_free(lx, dom);
}

static int dom_track(struct lx *lx, uint32_t domid, struct lx_dom **out, xn_err *err)
{
	struct lx_dom *dom = dom_find(lx, domid);
	char why[700];
	int rc;

	if (dom != NULL) {
		*out = dom;
		return 0;
	}
	clear_why(lx);
	rc = libxl_domain_info(lx->ctx, NULL, domid);
	if (rc == ERROR_DOMAIN_NOTFOUND)
		return xn_error(err, ESRCH, "libxl: domain %u: no such domain", domid);
	dom = xn_xcalloc(1, sizeof(*dom));
	dom->lx = lx;
	dom->domid = domid;
	/* Enabling is what makes libxl watch @releaseDomain for this domid: an
	 * already shut-down domain reports SHUTDOWN right away. */
	rc = libxl_evenable_domain_death(lx->ctx, domid, domid, &dom->deathw);
	if (rc != 0) {
		free(dom);
		return xn_error(err, EIO, "libxl: domain %u: cannot watch for its death: %s", domid,
				lx_why(lx, rc, why, sizeof(why)));
	}
	dom->next = lx->doms;
	lx->doms = dom;
	*out = dom;
	return 0;
}

/* ---- exit code written by the guest ---- */

static int guest_exit_code(struct lx *lx, uint32_t domid, enum xn_shutdown_reason reason)
{
	char path[96];
	unsigned int len = 0;
	char *val;
	int code = -1;

	/* data/ is guest-writable: untrusted, parsed strictly, and anything
	 * but a plain 0..255 falls back to the default for the reason. */
	snprintf(path, sizeof(path), "/local/domain/%u/data/xenlet/exit-code", domid);
	val = xs_read(lx->xs, XBT_NULL, path, &len);
	if (val != NULL) {
		code = xn_hv_libxl_parse_exit_code(val, len);
		if (code < 0)
			log_warnx("domain %u: %s: ignoring invalid exit code (want 0..255)", domid,
				  path);
		free(val);
	}
	return code >= 0 ? code : xn_exit_code_for(reason);
}

/* ---- destroy ---- */

static void destroy_done(libxl_ctx *ctx, int rc, void *for_callback);

static void waiters_fail(struct lx *lx, struct lx_waiter *w, uint32_t domid, const xn_err err)
{
	while (w) {
		struct lx_waiter *next = w->next;

		push_done(lx, w->cb, w->arg, domid, -1, err);
		free(w);
		w = next;
	}
}

/* Starts libxl_domain_destroy; on failure to start, the waiters (and a
 * create being cleaned up) are told through err and -1 is returned. */
static int start_destroy(struct lx *lx, struct lx_dom *dom, uint32_t domid,
			 struct lx_waiter *waiters, struct lx_create *create, xn_err *err)
{
	struct lx_destroy *d = xn_xcalloc(1, sizeof(*d));
	libxl_asyncop_how how = {.callback = destroy_done, .u.for_callback = d};
	char why[700];
	int rc;

	d->lx = lx;
	d->domid = domid;
	d->dom = dom;
	d->create = create;
	d->waiters = waiters;
	if (dom) {
		if (dom->deadline)
			evtimer_del(dom->deadline);
		dom->destroy = d;
	}
	lx->busy++;
	d->why_mark = lx_why_mark(lx);
	rc = libxl_domain_destroy(lx->ctx, domid, &how);
	if (rc == 0)
		return 0; /* d may already be gone: it completed inside the call */
	lx->busy--;
	if (dom)
		dom->destroy = NULL;
	xn_error(err, EIO, "libxl: destroy domain %u: %s", domid,
		 lx_why_since(lx, d->why_mark, rc, why, sizeof(why)));
	free(d);
	return -1;
}

static void create_finish(struct lx *lx, struct lx_create *c, int rc);

static void destroy_done(libxl_ctx *ctx, int rc, void *for_callback)
{
	struct lx_destroy *d = for_callback;
	struct lx *lx = d->lx;
	xn_err err = NULL;
	char why[700];

	lx->busy--;
	if (rc == ERROR_DOMAIN_NOTFOUND) {
		/* gone before libxl got to it (died, or destroyed by someone
		 * else): what a destroy is for */
		log_debug("domain %u: already gone when destroyed", d->domid);
		rc = 0;
	}
	if (rc != 0)
		xn_error(&err, EIO, "libxl: destroy domain %u: %s", d->domid,
			 lx_why_since(lx, d->why_mark, rc, why, sizeof(why)));
	if (lx->closing) {
		waiters_fail(lx, d->waiters, d->domid, err); /* dropped with the queue */
		if (d->create)
			create_finish(lx, d->create, -1);
		goto out;
	}
	for (struct lx_waiter *w = d->waiters, *next; w; w = next) {
		next = w->next;
		push_done(lx, w->cb, w->arg, d->domid, rc ? -1 : 0, err);
		free(w);
	}
	if (d->create)
		create_finish(lx, d->create, -1);
	if (d->dom) {
		d->dom->destroy = NULL;
		dom_maybe_free(lx, d->dom);
	}
out:
	xn_error_free(&err);
	free(d);
}

static int lx_destroy(struct xn_hv *hv, uint32_t domid, xn_hv_done_cb cb, void *arg, xn_err *err)
{
	struct lx *lx = LX(hv);
	struct lx_dom *dom = dom_find(lx, domid);
	struct lx_waiter *w = xn_xcalloc(1, sizeof(*w));

	w->cb = cb;
	w->arg = arg;
	if (dom && dom->destroy) { /* one destroy serves everyone */
		w->next = dom->destroy->waiters;
		dom->destroy->waiters = w;
		return 0;
	}
	if (dom) { /* a pending shutdown() completes with this destroy */
		w->next = dom->sd_waiters;
		dom->sd_waiters = NULL;
	}
	if (start_destroy(lx, dom, domid, w, NULL, err) < 0) {
		/* our caller learns it from the return value, the others by note */
		struct lx_waiter *others = w->next;

		free(w);
		waiters_fail(lx, others, domid, *err);
		if (dom)
			dom_maybe_free(lx, dom);
		return -1;
	}
	return 0;
}

/* ---- events ---- */

static void shutdown_now(struct lx *lx, struct lx_dom *dom)
{
	struct lx_waiter *w = dom->sd_waiters;
	xn_err err = NULL;

	dom->sd_waiters = NULL;
	if (start_destroy(lx, dom, dom->domid, w, NULL, &err) < 0) {
		waiters_fail(lx, w, dom->domid, err);
		xn_error_free(&err);
	}
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lx_dom *dom = arg;

	if (dom->sd_waiters && dom->destroy == NULL) {
		log_debug("domain %u: not shut down within the deadline: destroying", dom->domid);
		shutdown_now(dom->lx, dom);
	}
}

static void on_event(void *user, libxl_event *ev)
{
	struct lx *lx = user;
	struct lx_dom *dom = dom_find(lx, ev->domid);
	struct xn_hv_event out = {.domid = ev->domid};

	if (dom == NULL || lx->closing)
		goto out;
	switch (ev->type) {
	case LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN:
		if (!dom->shutdown_seen) {
			dom->shutdown_seen = true;
			out.type = XN_HV_EV_SHUTDOWN;
			out.reason = xn_hv_libxl_reason(ev->u.domain_shutdown.shutdown_reason);
			out.exit_code = guest_exit_code(lx, ev->domid, out.reason);
			push_event(lx, &out);
		}
		if (dom->sd_waiters && dom->destroy == NULL)
			shutdown_now(lx, dom);
		break;
	case LIBXL_EVENT_TYPE_DOMAIN_DEATH:
		if (!dom->shutdown_seen) { /* destroyed while it ran */
			dom->shutdown_seen = true;
			out.type = XN_HV_EV_SHUTDOWN;
			out.reason = XN_SHUTDOWN_DESTROYED;
			out.exit_code = xn_exit_code_for(XN_SHUTDOWN_DESTROYED);
			push_event(lx, &out);
		}
		out.type = XN_HV_EV_DEATH;
		out.reason = 0;
		out.exit_code = 0;
		push_event(lx, &out);
		{
			struct lx_note *n = xn_xcalloc(1, sizeof(*n));

			n->kind = LX_NOTE_CONSOLE_EOF;
			n->domid = ev->domid;
			lx_note_push(lx, n);
		}
		dom->dead = true;
		libxl_evdisable_domain_death(lx->ctx, dom->deathw);
		dom->deathw = NULL;
		/* gone without our destroy: a pending shutdown() has its answer */
		if (dom->destroy == NULL) {
			for (struct lx_waiter *w = dom->sd_waiters, *next; w; w = next) {
				next = w->next;
				push_done(lx, w->cb, w->arg, dom->domid, 0, NULL);
				free(w);
			}
			dom->sd_waiters = NULL;
		}
		dom_maybe_free(lx, dom);
		break;
	default: break;
	}
out:
	libxl_event_free(lx->ctx, ev);
}

static void on_disaster(void *user, libxl_event_type type, const char *msg, int errnoval)
{
	/* may not call libxl from here; libxl has logged it at CRITICAL */
	log_warnx("libxl: event machinery failed (%s): %s%s%s: domain events may be lost",
		  type ? libxl_event_type_to_string(type) : "all events", msg, errnoval ? ": " : "",
		  errnoval ? strerror(errnoval) : "");
}

static const libxl_event_hooks lx_event_hooks = {
    .event_occurs_mask = LIBXL_EVENTMASK_ALL,
    .event_occurs = on_event,
    .disaster = on_disaster,
};

/* libxl reaps only its own children (hotplug scripts, QEMU); others who
 * fork must waitpid() their own pids. */
static const libxl_childproc_hooks lx_child_hooks = {
    .chldowner = libxl_sigchld_owner_mainloop,
};

static void sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct lx *lx = arg;

	libxl_childproc_sigchld_occurred(lx->ctx);
}

static void xs_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lx *lx = arg;
	char **w;

	while ((w = xs_check_watch(lx->xs)) != NULL) {
		lx_console_watch_fired(lx, w[XS_WATCH_PATH], w[XS_WATCH_TOKEN]);
		free(w);
	}
}

/* ---- shutdown ---- */

/* libxl_domain_shutdown has ended: the guest acknowledged (or its
 * control node went with the domain), or libxl gave up waiting (60 s), or
 * close() aborted it.  Only a failure other than that timeout matters, and
 * only while the request still waits: the destroy the grace period ends
 * with comes now. */
static void sdop_done(libxl_ctx *ctx, int rc, void *for_callback)
{
	struct lx_sdop *op = for_callback;
	struct lx *lx = op->lx;
	struct lx_dom *dom = op->dom;
	char why[700];

	lx->busy--;
	dom->sdop = NULL;
	if (lx->closing) { /* close() frees the domains */
		free(op);
		return;
	}
	if (rc == 0) {
		log_debug("domain %u: shutdown request settled (acknowledged, or the domain went)",
			  dom->domid);
	} else if (rc == ERROR_TIMEDOUT) {
		/* Not acknowledged in libxl's 60 s: the request stays in the
		 * guest's xenstore area and the guest may still obey, so a
		 * longer grace period runs to its end; its deadline destroys. */
		log_debug("domain %u: shutdown request not acknowledged; waiting for the deadline",
			  dom->domid);
	} else if (dom->sd_waiters && dom->destroy == NULL && !dom->dead) {
		log_warnx("domain %u: shutdown request failed (%s): destroying", dom->domid,
			  lx_why_since(lx, op->why_mark, rc, why, sizeof(why)));
		shutdown_now(lx, dom);
	}
	free(op);
	dom_maybe_free(lx, dom);
}

/* Write control/shutdown = poweroff through libxl, asynchronously.  If the
 * request cannot even start (no PV control in an HVM guest, xenstore
 * refuses), the domain is destroyed at once.  dom must not be used after
 * this returns: the operation may have completed, and freed it, inside. */
static void request_poweroff(struct lx *lx, struct lx_dom *dom)
{
	struct lx_sdop *op = xn_xcalloc(1, sizeof(*op));
	uint32_t domid = dom->domid;
	char why[700];
	int rc;

	op->lx = lx;
	op->dom = dom;
	op->how = (libxl_asyncop_how){.callback = sdop_done, .u.for_callback = op};
	op->why_mark = lx_why_mark(lx);
	dom->sdop = op; /* keeps dom alive until sdop_done */
	lx->busy++;
	rc = libxl_domain_shutdown(lx->ctx, domid, &op->how);
	if (rc == 0)
		return;
	/* not started: no callback will come */
	lx->busy--;
	dom->sdop = NULL;
	if (rc == ERROR_NOPARAVIRT) /* no PV control driver: nobody would listen */
		log_debug("domain %u: no PV shutdown support: destroying", domid);
	else
		log_warnx("domain %u: cannot ask it to shut down (%s): destroying", domid,
			  lx_why_since(lx, op->why_mark, rc, why, sizeof(why)));
	free(op);
	if (dom->sd_waiters && dom->destroy == NULL && !dom->dead)
		shutdown_now(lx, dom);
	else /* an event inside the call may have settled it */
		dom_maybe_free(lx, dom);
}

/* Ask the guest to power off; destroy it when it has shut down, when the
 * request fails, or at the deadline, whichever comes first.  The waiters
 * are answered once the domain is gone (or the destroy failed), never
 * before and never dropped. */
static int lx_shutdown(struct xn_hv *hv, uint32_t domid, unsigned deadline_ms, xn_hv_done_cb cb,
		       void *arg, xn_err *err)
{
	struct lx *lx = LX(hv);
	struct lx_dom *dom;
	struct lx_waiter *w;
	struct timeval tv;

	/* events are how we learn that the guest has gone down */
	if (dom_track(lx, domid, &dom, err) < 0)
		return xn_error_wrap(err, "shutdown");
	w = xn_xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	if (dom->destroy) {
		w->next = dom->destroy->waiters;
		dom->destroy->waiters = w;
		return 0;
	}
	if (dom->sd_waiters) { /* already asked; the first deadline holds */
		w->next = dom->sd_waiters;
		dom->sd_waiters = w;
		return 0;
	}
	dom->sd_waiters = w;
	if (dom->shutdown_seen || deadline_ms == 0) {
		shutdown_now(lx, dom);
		return 0;
	}
	/* The deadline first: libxl's wait for the acknowledgement (60 s) is
	 * not the grace period, and dom may be gone once the request is out. */
	if (dom->deadline == NULL)
		dom->deadline = evtimer_new(hv->base, deadline_cb, dom);
	tv.tv_sec = deadline_ms / 1000;
	tv.tv_usec = (deadline_ms % 1000) * 1000;
	evtimer_add(dom->deadline, &tv);
	if (dom->sdop == NULL) /* one request in flight is enough */
		request_poweroff(lx, dom);
	return 0;
}

/* ---- create ---- */

static void create_free(struct lx_create *c)
{
	libxl_domain_config_dispose(&c->d);
	free(c->name);
	free(c->tag);
	xn_error_free(&c->err);
	free(c);
}

/* Report the outcome to the owner (rc -1: c->err says why). */
static void create_finish(struct lx *lx, struct lx_create *c, int rc)
{
	struct lx_note *n;

	if (!lx->closing) {
		n = xn_xcalloc(1, sizeof(*n));
		n->kind = LX_NOTE_CREATED;
		n->create_cb = c->cb;
		n->arg = c->arg;
		n->rc = rc;
		n->domid = rc == 0 ? c->domid : XN_DOMID_INVALID;
		n->err = c->err;
		c->err = NULL;
		lx_note_push(lx, n);
	}
	create_free(c);
}

/* The domain exists but cannot be ours: destroy it, then report c->err. */
static void create_cleanup(struct lx *lx, struct lx_create *c)
{
	xn_err derr = NULL;

	if (start_destroy(lx, NULL, c->domid, NULL, c, &derr) < 0) {
		char *first = xn_xstrdup(xn_error_msg(c->err));

		xn_error(&c->err, EIO, "%s (and the half-built domain %u is left: %s)", first,
			 c->domid, xn_error_msg(derr));
		free(first);
		xn_error_free(&derr);
		create_finish(lx, c, -1);
	}
}

static void create_done(libxl_ctx *ctx, int rc, void *for_callback)
{
	struct lx_create *c = for_callback;
	struct lx *lx = c->lx;
	struct lx_dom *dom;
	const char *tag = c->tag ? c->tag : c->name;
	char why[700];

	lx->busy--;
	if (rc != 0) {
		xn_error(&c->err, EIO, "libxl: create domain %s from %s: %s", c->name,
			 c->d.b_info.kernel, lx_why_since(lx, c->why_mark, rc, why, sizeof(why)));
		/* libxl destroys a failed domain itself, except when aborted */
		if (rc == ERROR_ABORTED && c->domid != (uint32_t)INVALID_DOMID && !lx->closing)
			create_cleanup(lx, c);
		else
			create_finish(lx, c, -1);
		return;
	}
	if (lx->closing) {
		log_warnx("domain %s (%u): created while xenletd closed the backend; left paused",
			  c->name, c->domid);
		create_free(c);
		return;
	}
	clear_why(lx);
	rc = libxl_userdata_store(ctx, c->domid, LX_USERDATA_ID, (const uint8_t *)tag,
				  (int)strlen(tag));
	if (rc != 0) {
		xn_error(&c->err, EIO, "libxl: create domain %s: store its tag: %s", c->name,
			 lx_why(lx, rc, why, sizeof(why)));
		create_cleanup(lx, c);
		return;
	}
	if (dom_track(lx, c->domid, &dom, &c->err) < 0) {
		xn_error_wrap(&c->err, "create domain %s", c->name);
		create_cleanup(lx, c);
		return;
	}
	create_finish(lx, c, 0);
}

static int lx_create(struct xn_hv *hv, const struct xn_domain_config *cfg, xn_hv_create_cb cb,
		     void *arg, xn_err *err)
{
	struct lx *lx = LX(hv);
	struct lx_create *c;
	libxl_asyncop_how how;
	char why[700];
	uint64_t free_kb = 0;
	int rc;

	/* A domain that cannot fit fails deep in the domain builder with a
	 * message about low memory; say it plainly first.  (What Xen has free
	 * can still change before the build: the builder's error stays.) */
	if (libxl_get_free_memory(lx->ctx, &free_kb) == 0 && cfg->memory_kb > free_kb)
		return xn_error(
		    err, ENOMEM,
		    "not enough free memory in Xen for domain %s: need %llu MiB, %llu MiB "
		    "free",
		    cfg->name, (unsigned long long)(cfg->memory_kb + 1023) / 1024,
		    (unsigned long long)free_kb / 1024);
	c = xn_xcalloc(1, sizeof(*c));
	how = (libxl_asyncop_how){.callback = create_done, .u.for_callback = c};
	c->lx = lx;
	c->domid = INVALID_DOMID;
	c->cb = cb;
	c->arg = arg;
	if (lx_config_build(lx->ctx, cfg, &c->d, err) < 0) {
		create_free(c);
		return -1;
	}
	c->name = xn_xstrdup(cfg->name);
	c->tag = xn_dup_or_null(cfg->tag);
	lx->busy++;
	c->why_mark = lx_why_mark(lx);
	/* libxl leaves the domain paused; the owner unpauses it once the
	 * console is attached. */
	rc = libxl_domain_create_new(lx->ctx, &c->d, &c->domid, &how, NULL);
	if (rc != 0) {
		lx->busy--;
		xn_error(err, EIO, "libxl: create domain %s: %s", cfg->name,
			 lx_why(lx, rc, why, sizeof(why)));
		create_free(c);
		return -1;
	}
	return 0;
}

/* ---- pause, unpause ---- */

/* A short libxl operation whose result the caller wants at once: started
 * with a callback so that it never waits inside libxl, and for PV and PVH
 * domains done inside the call (pause is a hypercall; unpause is one too,
 * after, for HVM only, a QMP exchange with the device model).  One that
 * does not finish in the call is reported as started and its outcome
 * logged. */
struct lx_quick {
	struct lx *lx;
	uint32_t domid;
	const char *what;
	bool done;     /* completed (rc valid) */
	bool detached; /* the caller has returned: log the outcome, free */
	int rc;
	unsigned long why_mark;
};

static void quick_done(libxl_ctx *ctx, int rc, void *for_callback)
{
	struct lx_quick *q = for_callback;
	char why[700];

	q->lx->busy--;
	if (!q->detached) {
		q->done = true;
		q->rc = rc;
		return;
	}
	if (rc != 0)
		log_warnx("libxl: %s domain %u: %s", q->what, q->domid,
			  lx_why_since(q->lx, q->why_mark, rc, why, sizeof(why)));
	free(q);
}

static int quick_op(struct lx *lx, uint32_t domid, bool pause, xn_err *err)
{
	struct lx_quick *q = xn_xcalloc(1, sizeof(*q));
	libxl_asyncop_how how = {.callback = quick_done, .u.for_callback = q};
	char why[700];
	int rc;

	q->lx = lx;
	q->domid = domid;
	q->what = pause ? "pause" : "unpause";
	q->why_mark = lx_why_mark(lx);
	lx->busy++;
	rc = pause ? libxl_domain_pause(lx->ctx, domid, &how)
		   : libxl_domain_unpause(lx->ctx, domid, &how);
	if (rc == 0 && !q->done) { /* still running: quick_done logs and frees */
		q->detached = true;
		return 0;
	}
	if (rc != 0)
		lx->busy--; /* not started: no callback */
	else
		rc = q->rc;
	if (rc != 0)
		xn_error(err, rc == ERROR_DOMAIN_NOTFOUND ? ESRCH : EIO, "libxl: %s domain %u: %s",
			 q->what, domid, lx_why_since(lx, q->why_mark, rc, why, sizeof(why)));
	free(q);
	return rc != 0 ? -1 : 0;
}

static int lx_pause(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	return quick_op(LX(hv), domid, true, err);
}

static int lx_unpause(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	return quick_op(LX(hv), domid, false, err);
}

static int lx_adopt(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	struct lx_dom *dom;

	if (domid == 0)
		return xn_error(err, EINVAL, "adopt domain 0: Dom0 is not a pod");
	if (dom_track(LX(hv), domid, &dom, err) < 0)
		return xn_error_wrap(err, "adopt");
	return 0;
}

/* Our tag, or "" for a domain that is not ours (or whose tag is not one
 * we could have written). */
static void read_tag(struct lx *lx, uint32_t domid, char *tag, size_t size)
{
	uint8_t *data = NULL;
	int len = 0;

	tag[0] = '\0';
	if (libxl_userdata_retrieve(lx->ctx, domid, LX_USERDATA_ID, &data, &len) != 0 ||
	    data == NULL)
		return;
	if (len > 0 && (size_t)len < size) {
		bool ok = true;

		for (int i = 0; i < len; i++)
			if (data[i] < 0x21 || data[i] > 0x7e)
				ok = false;
		if (ok) {
			memcpy(tag, data, (size_t)len);
			tag[len] = '\0';
		}
	}
	free(data);
}

static void fill_info(struct lx *lx, const libxl_dominfo *di, struct xn_domain_info *out)
{
	char *name = libxl_domid_to_name(lx->ctx, di->domid);

	memset(out, 0, sizeof(*out));
	out->domid = di->domid;
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
	free(name);
	read_tag(lx, di->domid, out->tag, sizeof(out->tag));
	if (di->dying)
		out->state = XN_DOM_DYING;
	else if (di->shutdown)
		out->state = di->shutdown_reason == LIBXL_SHUTDOWN_REASON_CRASH ? XN_DOM_CRASHED
										: XN_DOM_SHUTDOWN;
	else if (di->paused)
		out->state = XN_DOM_PAUSED;
	else
		out->state = XN_DOM_RUNNING;
	out->reason = di->shutdown ? xn_hv_libxl_reason(di->shutdown_reason) : XN_SHUTDOWN_UNKNOWN;
	out->cpu_time_ns = di->cpu_time;
	out->memory_kb = di->current_memkb;
	out->max_memory_kb = di->max_memkb;
	out->vcpus = di->vcpu_online;
}

static int lx_list(struct xn_hv *hv, struct xn_domain_info **out, size_t *n, xn_err *err)
{
	struct lx *lx = LX(hv);
	libxl_dominfo *list;
	int nb = 0;
	char why[700];

	*out = NULL;
	*n = 0;
	clear_why(lx);
	list = libxl_list_domain(lx->ctx, &nb);
	if (list == NULL)
		return xn_error(err, EIO, "libxl: list domains: %s",
				lx_why(lx, ERROR_FAIL, why, sizeof(why)));
	*out = xn_xcalloc((size_t)nb + 1, sizeof(**out));
	for (int i = 0; i < nb; i++) {
		if (list[i].domid == 0)
			continue;
		fill_info(lx, &list[i], &(*out)[(*n)++]);
	}
	libxl_dominfo_list_free(list, nb);
	return 0;
}

static int lx_domain_info(struct xn_hv *hv, uint32_t domid, struct xn_domain_info *out, xn_err *err)
{
	struct lx *lx = LX(hv);
	libxl_dominfo di;
	char why[700];
	int rc;

	libxl_dominfo_init(&di);
	clear_why(lx);
	rc = libxl_domain_info(lx->ctx, &di, domid);
	if (rc == ERROR_DOMAIN_NOTFOUND)
		rc = xn_error(err, ESRCH, "libxl: domain %u: no such domain", domid);
	else if (rc != 0)
		rc = xn_error(err, EIO, "libxl: domain %u: info: %s", domid,
			      lx_why(lx, rc, why, sizeof(why)));
	else
		fill_info(lx, &di, out);
	libxl_dominfo_dispose(&di);
	return rc;
}

static int lx_host_info(struct xn_hv *hv, struct xn_host_info *out, xn_err *err)
{
	struct lx *lx = LX(hv);
	const libxl_version_info *v;
	libxl_physinfo pi;
	struct utsname u;
	uint64_t page_kb;
	char why[700];
	int rc;

	memset(out, 0, sizeof(*out));
	clear_why(lx);
	v = libxl_get_version_info(lx->ctx);
	if (v == NULL)
		return xn_error(err, EIO, "libxl: Xen version: %s",
				lx_why(lx, ERROR_FAIL, why, sizeof(why)));
	snprintf(out->xen_version, sizeof(out->xen_version), "%d.%d%s", v->xen_version_major,
		 v->xen_version_minor, v->xen_version_extra ? v->xen_version_extra : "");
	page_kb = v->pagesize > 0 ? (uint64_t)v->pagesize / 1024 : 4;
	libxl_physinfo_init(&pi);
	rc = libxl_get_physinfo(lx->ctx, &pi);
	if (rc != 0) {
		libxl_physinfo_dispose(&pi);
		return xn_error(err, EIO, "libxl: host physinfo: %s",
				lx_why(lx, rc, why, sizeof(why)));
	}
	out->nr_cpus = pi.nr_cpus;
	out->total_kb = pi.total_pages * page_kb;
	out->free_kb = pi.free_pages * page_kb;
	libxl_physinfo_dispose(&pi);
	if (uname(&u) < 0)
		return xn_error_errno(err, errno, "uname");
	if (strcmp(u.machine, "x86_64") == 0)
		snprintf(out->arch, sizeof(out->arch), "amd64");
	else if (strcmp(u.machine, "aarch64") == 0)
		snprintf(out->arch, sizeof(out->arch), "arm64");
	else
		snprintf(out->arch, sizeof(out->arch), "%.15s", u.machine);
	if (gethostname(out->hostname, sizeof(out->hostname) - 1) < 0)
		return xn_error_errno(err, errno, "gethostname");
	return 0;
}

/* ---- open / close ---- */

static void lx_close(struct xn_hv *hv);

static int ctx_alloc_error(struct lx *lx, xn_err *err)
{
	const char *last =
	    lx->logger.seq ? lx->logger.lines[(lx->logger.seq - 1) % LX_ERRLINES] : "no detail";

	if (access("/proc/xen/privcmd", F_OK) < 0 && access("/dev/xen/privcmd", F_OK) < 0)
		return xn_error(err, ENODEV,
				"libxl: cannot open the Xen control interface (is this a Xen "
				"Dom0? /proc/xen/privcmd and /dev/xen/privcmd are missing): %s",
				last);
	return xn_error(err, EACCES,
			"libxl: cannot open the Xen control interface (run as root, with "
			"xenfs mounted on /proc/xen and xenstored running): %s",
			last);
}

static int lx_open(struct xn_hv *hv, xn_err *err)
{
	struct lx *lx;

	if (hv->base == NULL)
		return xn_error(err, EINVAL, "libxl: no event loop given");
	lx = xn_xcalloc(1, sizeof(*lx));
	lx->hv = hv;
	lx->notes_tail = &lx->notes;
	hv->priv = lx;
	lx_logger_init(&lx->logger);
	lx->flush_ev = event_new(hv->base, -1, 0, flush_cb, lx);
	if (lx->flush_ev == NULL) {
		xn_error(err, ENOMEM, "libxl: cannot create a libevent event");
		goto fail;
	}
	if (libxl_ctx_alloc(&lx->ctx, LIBXL_VERSION, 0, (xentoollog_logger *)&lx->logger) != 0) {
		lx->ctx = NULL;
		ctx_alloc_error(lx, err);
		goto fail;
	}
	/* hooks before anything registers an fd; callbacks before any evgen */
	libxl_osevent_register_hooks(lx->ctx, &lx_osevent_hooks, lx);
	libxl_event_register_callbacks(lx->ctx, &lx_event_hooks, lx);
	libxl_childproc_setmode(lx->ctx, &lx_child_hooks, lx);
	lx->sigchld_ev = evsignal_new(hv->base, SIGCHLD, sigchld_cb, lx);
	if (lx->sigchld_ev == NULL || event_add(lx->sigchld_ev, NULL) < 0) {
		xn_error(err, EIO, "libxl: cannot watch SIGCHLD in the event loop");
		goto fail;
	}
	lx->xs = xs_open(0);
	if (lx->xs == NULL) {
		xn_error_errno(err, errno, "xenstore: cannot connect (is xenstored running?)");
		goto fail;
	}
	lx->xs_ev = event_new(hv->base, xs_fileno(lx->xs), EV_READ | EV_PERSIST, xs_cb, lx);
	if (lx->xs_ev == NULL || event_add(lx->xs_ev, NULL) < 0) {
		xn_error(err, EIO, "xenstore: cannot watch its fd in the event loop");
		goto fail;
	}
	return 0;
fail:
	lx_close(hv);
	return -1;
}

static void drain_wake(evutil_socket_t fd, short what, void *arg) {}

/* Run the loop until libxl's operations have ended or until end: one
 * EVLOOP_ONCE round blocks until some event, and libxl's next timeout may
 * be far away, so a timer of ours bounds each round. */
static void drain(struct event_base *base, struct lx *lx, uint64_t end)
{
	struct event *wake = evtimer_new(base, drain_wake, NULL);
	uint64_t now;

	while (lx->busy > 0 && (now = xn_now_mono_ns()) < end) {
		struct timeval tv = {.tv_sec = (time_t)((end - now) / 1000000000ull),
				     .tv_usec = (suseconds_t)((end - now) % 1000000000ull / 1000)};

		if (wake)
			evtimer_add(wake, &tv);
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			break;
	}
	if (wake)
		event_free(wake);
}

/* Domains keep running: a daemon restart must not kill pods. */
static void lx_close(struct xn_hv *hv)
{
	struct lx *lx = LX(hv);
	uint64_t end;

	if (lx == NULL)
		return;
	lx->closing = true;
	/* A shutdown request may wait 60 s for a guest that never answers:
	 * the domain keeps running (and its grace period ends with the
	 * daemon), so stop waiting.  The callback may run inside the call. */
	for (struct lx_dom *d = lx->doms; d; d = d->next)
		if (d->sdop)
			libxl_ao_abort(lx->ctx, &d->sdop->how);
	/* libxl_ctx_free asserts that no operation is in flight: let them end.
	 * Not possible from inside the loop (libevent refuses to recurse). */
	end = xn_now_mono_ns() + (uint64_t)CLOSE_DRAIN_SECONDS * 1000000000ull;
	if (lx->busy > 0)
		drain(hv->base, lx, end);
	lx_console_free_all(lx);
	while (lx->doms)
		dom_unlink_free(lx, lx->doms);
	if (lx->xs_ev)
		event_free(lx->xs_ev);
	if (lx->xs)
		xs_close(lx->xs);
	if (lx->sigchld_ev)
		event_free(lx->sigchld_ev);
	if (lx->busy > 0)
		log_warnx("libxl: %u operations still running at close; leaking the libxl "
			  "context",
			  lx->busy);
	else if (lx->ctx)
		libxl_ctx_free(lx->ctx);
	lx_regs_free_all(lx);
	if (lx->flush_ev)
		event_free(lx->flush_ev);
	hv->priv = NULL;
	if (lx->flushing) {
		lx->closed = true; /* flush_cb frees the rest when the callback returns */
		return;
	}
	notes_free(lx);
	free(lx);
}

const struct xn_hv_ops xn_hv_libxl_ops = {
    .name = "libxl",
    .open = lx_open,
    .close = lx_close,
    .create = lx_create,
    .shutdown = lx_shutdown,
    .destroy = lx_destroy,
    .pause = lx_pause,
    .unpause = lx_unpause,
    .adopt = lx_adopt,
    .list = lx_list,
    .domain_info = lx_domain_info,
    .host_info = lx_host_info,
    .console_path = lx_console_path,
    .console_attach = lx_console_attach,
    .console_detach = lx_console_detach,
};
