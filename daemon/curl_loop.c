/* curl_loop.c - libcurl multi on a libevent loop (see curl_loop.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "xenlet/curl_loop.h"
#include "xenlet/util.h"

struct sock {
	LIST_ENTRY(sock) link;
	struct xn_curl_loop *l;
	curl_socket_t fd;
	struct event *ev;
};

struct xn_curl_loop {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	LIST_HEAD(, sock) socks;
	xn_curl_done_fn done;
	void *arg;
};

static void check_done(struct xn_curl_loop *l)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(l->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			l->done(m->easy_handle, m->data.result, l->arg);
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_curl_loop *l = arg;
	int running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(l->multi, fd, action, &running);
	check_done(l);
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_curl_loop *l = arg;
	int running;

	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(l);
}

static void sock_free(struct sock *s)
{
	LIST_REMOVE(s, link);
	event_free(s->ev);
	free(s);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct xn_curl_loop *l = userp;
	struct sock *s = socketp;
	short flags = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(l->multi, fd, NULL);
			sock_free(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xn_xcalloc(1, sizeof(*s));
		s->l = l;
		s->fd = fd;
		LIST_INSERT_HEAD(&l->socks, s, link);
		curl_multi_assign(l->multi, fd, s);
	} else {
		event_free(s->ev);
	}
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	s->ev = event_new(l->base, fd, flags, sock_event_cb, l);
	event_add(s->ev, NULL);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct xn_curl_loop *l = userp;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	if (timeout_ms < 0)
		evtimer_del(l->timer);
	else
		evtimer_add(l->timer, &tv);
	return 0;
}

struct xn_curl_loop *xn_curl_loop_new(struct event_base *base, xn_curl_done_fn done, void *arg,
				      xn_err *err)
{
	static int curl_ready;
	struct xn_curl_loop *l;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			xn_error(err, EIO, "libcurl: global init failed");
			return NULL;
		}
		curl_ready = 1;
	}
	l = xn_xcalloc(1, sizeof(*l));
	l->base = base;
	l->done = done;
	l->arg = arg;
	LIST_INIT(&l->socks);
	l->multi = curl_multi_init();
	if (l->multi == NULL) {
		free(l);
		xn_error(err, ENOMEM, "libcurl: multi init failed");
		return NULL;
	}
	l->timer = evtimer_new(base, timer_event_cb, l);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	return l;
}

void xn_curl_loop_free(struct xn_curl_loop *l)
{
	struct sock *s;

	if (l == NULL)
		return;
	curl_multi_cleanup(l->multi);
	while ((s = LIST_FIRST(&l->socks)) != NULL)
		sock_free(s);
	event_free(l->timer);
	free(l);
}

CURLM *xn_curl_loop_multi(struct xn_curl_loop *l)
{
	return l->multi;
}

struct event_base *xn_curl_loop_base(struct xn_curl_loop *l)
{
	return l->base;
}

int xn_curl_loop_add(struct xn_curl_loop *l, CURL *easy, xn_err *err)
{
	CURLMcode mc = curl_multi_add_handle(l->multi, easy);

	if (mc != CURLM_OK)
		return xn_error(err, EIO, "libcurl: %s", curl_multi_strerror(mc));
	return 0;
}

void xn_curl_loop_remove(struct xn_curl_loop *l, CURL *easy)
{
	curl_multi_remove_handle(l->multi, easy);
}
