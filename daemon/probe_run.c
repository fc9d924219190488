/* probe_run.c - the probes of a pod instance on the libevent loop: one
 * attempt in flight per probe (a non-blocking connect, for httpGet one GET
 * and its response headers), bounded in time by timeoutSeconds and in
 * bytes by HEADERS_LIMIT, the next attempt a period after the last began;
 * the outcomes go through the kubelet's threshold state machine (probe.c).
 * A guest that answers garbage, closes early or never answers makes the
 * attempt fail with a message that says which; nothing here waits. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/net.h"
#include "xenlet/probe.h"
#include "xenlet/util.h"

/* The response headers are read up to this (the kubelet reads a body of at
 * most 10 KiB; the status line and headers decide here, the body is never
 * read). */
#define HEADERS_LIMIT (16 * 1024)
/* The kubelet follows at most 10 redirects to the same host. */
#define REDIRECTS_MAX 10
#define USER_AGENT    "kube-probe/1.31"

/* ---- one attempt ---- */

struct xn_probe_attempt {
	struct event_base *base;
	const struct xn_probe *pr;
	struct bufferevent *bev;
	struct event *deadline;
	SSL_CTX *ssl_ctx;
	char ip[XN_IP_STRLEN];
	unsigned port;
	bool https;
	char *path;
	unsigned redirects;
	bool connected;
	char *early;			/* a failure found before any I/O: reported from the loop */
	char what[XN_IP_STRLEN + 2100]; /* "dial tcp IP:PORT" or "Get \"http://...\"" */
	xn_probe_attempt_cb done;
	void *arg;
};

static void attempt_close(struct xn_probe_attempt *a)
{
	if (a->bev)
		bufferevent_free(a->bev);
	a->bev = NULL;
	a->connected = false;
}

static void attempt_free(struct xn_probe_attempt *a)
{
	attempt_close(a);
	if (a->deadline)
		event_free(a->deadline);
	if (a->ssl_ctx)
		SSL_CTX_free(a->ssl_ctx);
	free(a->path);
	free(a->early);
	free(a);
}

void xn_probe_attempt_cancel(struct xn_probe_attempt *a)
{
	if (a)
		attempt_free(a);
}

/* The end of an attempt: freed first, so done may start the next one. */
__attribute__((format(printf, 3, 4))) static void finish(struct xn_probe_attempt *a, bool ok,
							 const char *fmt, ...)
{
	xn_probe_attempt_cb done = a->done;
	void *arg = a->arg;
	char msg[2600] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	attempt_free(a);
	done(ok, fmt ? msg : NULL, arg);
}

/* "IP:PORT", "[IP6]:PORT" */
static void host_port(const char *ip, unsigned port, char *out, size_t len)
{
	snprintf(out, len, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}

static void describe(struct xn_probe_attempt *a)
{
	char hp[XN_IP_STRLEN + 10];

	host_port(a->ip, a->port, hp, sizeof(hp));
	if (a->pr->kind == XN_PROBE_TCP)
		snprintf(a->what, sizeof(a->what), "dial tcp %s", hp);
	else
		snprintf(a->what, sizeof(a->what), "Get \"%s://%s%s\"", a->https ? "https" : "http",
			 hp, a->path);
}

static bool has_header(const char *headers, const char *name)
{
	size_t n = strlen(name);

	for (const char *s = headers; s && *s;) {
		if (strncasecmp(s, name, n) == 0 && s[n] == ':')
			return true;
		s = strstr(s, "\r\n");
		s = s ? s + 2 : NULL;
	}
	return false;
}

static void send_request(struct xn_probe_attempt *a)
{
	struct evbuffer *out = bufferevent_get_output(a->bev);
	const char *h = a->pr->headers;
	char hp[XN_IP_STRLEN + 10];

	/* Host as Go writes it: the port left out when it is the scheme's */
	if ((a->https && a->port == 443) || (!a->https && a->port == 80))
		snprintf(hp, sizeof(hp), strchr(a->ip, ':') ? "[%s]" : "%s", a->ip);
	else
		host_port(a->ip, a->port, hp, sizeof(hp));
	evbuffer_add_printf(out, "GET %s HTTP/1.1\r\n", a->path);
	if (!has_header(h, "Host"))
		evbuffer_add_printf(out, "Host: %s\r\n", hp);
	if (!has_header(h, "User-Agent"))
		evbuffer_add_printf(out, "User-Agent: " USER_AGENT "\r\n");
	if (!has_header(h, "Accept"))
		evbuffer_add_printf(out, "Accept: */*\r\n");
	evbuffer_add_printf(out, "%sConnection: close\r\n\r\n", h ? h : "");
}

static void connect_next(struct xn_probe_attempt *a);

/* A failure before the attempt is under way: reported from the loop (the
 * deadline timer at once), never from inside xn_probe_attempt_start, so its
 * caller always gets a live attempt. */
__attribute__((format(printf, 2, 3))) static void fail_soon(struct xn_probe_attempt *a,
							    const char *fmt, ...)
{
	struct timeval now = {0, 0};
	char msg[2600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	attempt_close(a);
	free(a->early);
	a->early = xn_xstrdup(msg);
	evtimer_del(a->deadline);
	evtimer_add(a->deadline, &now);
}

/* A 3xx: follow it when it stays on the same host (a new path, maybe a new
 * port or scheme), as the kubelet does; one to another host ends the
 * attempt with the 3xx as its answer (a success). */
static void redirect(struct xn_probe_attempt *a, int code, const char *loc)
{
	char host[XN_IP_STRLEN + 2] = "";
	const char *rest = loc;
	unsigned port = 0;
	bool https = a->https;

	if (strncasecmp(loc, "http://", 7) == 0 || strncasecmp(loc, "https://", 8) == 0) {
		const char *h, *end, *colon;
		https = strncasecmp(loc, "https://", 8) == 0;
		h = loc + (https ? 8 : 7);
		end = h + strcspn(h, "/?#");
		if (*h == '[') {
			const char *rb = memchr(h, ']', (size_t)(end - h));
			if (rb == NULL || (size_t)(rb - h - 1) >= sizeof(host))
				goto other;
			memcpy(host, h + 1, (size_t)(rb - h - 1));
			colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		} else {
			colon = memchr(h, ':', (size_t)(end - h));
			size_t hl = (size_t)((colon ? colon : end) - h);
			if (hl >= sizeof(host))
				goto other;
			memcpy(host, h, hl);
		}
		port = https ? 443 : 80;
		if (colon) {
			uint64_t n;
			char num[8] = "";
			size_t nl = (size_t)(end - colon - 1);
			if (nl == 0 || nl >= sizeof(num))
				goto other;
			memcpy(num, colon + 1, nl);
			if (xn_parse_u64(num, 65535, &n) < 0 || n == 0)
				goto other;
			port = (unsigned)n;
		}
		if (strcmp(host, a->ip) != 0)
			goto other;
		rest = *end ? end : "/";
	}
	if (++a->redirects > REDIRECTS_MAX) {
		finish(a, false, "%s: stopped after %d redirects", a->what, REDIRECTS_MAX);
		return;
	}
	free(a->path);
	if (rest[0] == '/') {
		a->path = xn_xstrdup(rest);
	} else { /* relative to the current path's directory */
		const char *slash = strrchr(a->path, '/');
		a->path =
		    xn_xasprintf("%.*s/%s", slash ? (int)(slash - a->path) : 0, a->path, rest);
	}
	for (char *c = a->path; *c; c++)
		if ((unsigned char)*c <= 32 || *c == 127)
			*c = '%'; /* never a header injection from a guest's Location */
	if (port)
		a->port = port;
	a->https = https;
	attempt_close(a);
	describe(a);
	connect_next(a);
	return;
other:
	log_debug("probe %s: redirect %d to another host (%.200s): not followed", a->what, code,
		  loc);
	finish(a, true, "Probe terminated redirects");
}

/* The response headers are in: the status decides (200..399 success). */
static void response(struct xn_probe_attempt *a, char *hdr)
{
	char *line_end = strstr(hdr, "\r\n"), *loc = NULL;
	int code = 0, n = 0;
	char ver[2];

	if (line_end)
		*line_end = '\0';
	if (sscanf(hdr, "HTTP/1.%1[01] %3d%n", ver, &code, &n) != 2 || n != 12 ||
	    (hdr[12] != ' ' && hdr[12] != '\0') || code < 100) {
		for (char *c = hdr; *c; c++)
			if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
				*c = '?';
		finish(a, false, "%s: malformed HTTP response: status line \"%.80s\"", a->what,
		       hdr);
		return;
	}
	if (code >= 300 && code < 400 && line_end) {
		for (char *s = line_end + 2; *s;) {
			char *e = strstr(s, "\r\n");
			if (e)
				*e = '\0';
			if (strncasecmp(s, "Location:", 9) == 0) {
				loc = s + 9;
				loc += strspn(loc, " \t");
				break;
			}
			if (e == NULL)
				break;
			s = e + 2;
		}
		if (loc && *loc) {
			redirect(a, code, loc);
			return;
		}
	}
	if (code >= 200 && code < 400)
		finish(a, true, NULL);
	else
		finish(a, false, "HTTP probe failed with statuscode: %d", code);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct xn_probe_attempt *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr end;
	char head[6] = "";
	char *hdr;

	/* garbage is told at its first bytes, not after the timeout */
	evbuffer_copyout(in, head, len < 5 ? len : 5);
	if (strncmp(head, "HTTP/", len < 5 ? len : 5) != 0) {
		for (char *c = head; *c; c++)
			if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
				*c = '?';
		finish(a, false, "%s: malformed HTTP response: starts with \"%s\", not HTTP/1.x",
		       a->what, head);
		return;
	}
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0) {
		if (len > HEADERS_LIMIT)
			finish(a, false, "%s: response headers longer than %d bytes", a->what,
			       HEADERS_LIMIT);
		return;
	}
	if ((size_t)end.pos > HEADERS_LIMIT) {
		finish(a, false, "%s: response headers longer than %d bytes", a->what,
		       HEADERS_LIMIT);
		return;
	}
	hdr = xn_xmalloc((size_t)end.pos + 3);
	evbuffer_remove(in, hdr, (size_t)end.pos + 2);
	hdr[end.pos + 2] = '\0';
	response(a, hdr);
	free(hdr);
}

static const char *ssl_error(struct bufferevent *bev, char *buf, size_t len)
{
	unsigned long e = bev ? bufferevent_get_openssl_error(bev) : 0;

	if (e == 0)
		return NULL;
	ERR_error_string_n(e, buf, len);
	return buf;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct xn_probe_attempt *a = arg;
	int e = EVUTIL_SOCKET_ERROR();
	char sslbuf[256];
	const char *se;

	if (what & BEV_EVENT_CONNECTED) {
		a->connected = true;
		if (a->pr->kind == XN_PROBE_TCP) {
			finish(a, true, NULL);
			return;
		}
		send_request(a);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (a->pr->kind == XN_PROBE_HTTP && evbuffer_get_length(bufferevent_get_input(bev)))
			finish(a, false,
			       "%s: malformed HTTP response: connection closed inside "
			       "the response headers",
			       a->what);
		else
			finish(a, false,
			       "%s: EOF (the server closed the connection without a "
			       "response)",
			       a->what);
		return;
	}
	se = ssl_error(bev, sslbuf, sizeof(sslbuf));
	if (se)
		finish(a, false, "%s: TLS: %s", a->what, se);
	else if (!a->connected)
		finish(a, false, "%s: connect: %s", a->what, e ? strerror(e) : "failed");
	else
		finish(a, false, "%s: read: %s", a->what, e ? strerror(e) : "failed");
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct xn_probe_attempt *a = arg;

	if (a->early)
		finish(a, false, "%s", a->early);
	else if (a->pr->kind == XN_PROBE_TCP)
		finish(a, false, "%s: i/o timeout (no connection within %us)", a->what,
		       a->pr->timeout_s);
	else
		finish(a, false,
		       "%s: context deadline exceeded (Client.Timeout exceeded while awaiting "
		       "headers, %us)",
		       a->what, a->pr->timeout_s);
}

static void connect_next(struct xn_probe_attempt *a)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char hp[XN_IP_STRLEN + 10];
	SSL *ssl;

	host_port(a->ip, a->port, hp, sizeof(hp));
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(hp, (struct sockaddr *)&ss, &sslen) < 0) {
		fail_soon(a, "%s: not an IP address", a->what);
		return;
	}
	if (a->https) {
		if (a->ssl_ctx == NULL) {
			a->ssl_ctx = SSL_CTX_new(TLS_client_method());
			if (a->ssl_ctx == NULL) {
				fail_soon(a, "%s: TLS: cannot make a context", a->what);
				return;
			}
			/* the kubelet does not verify a probe's certificate */
			SSL_CTX_set_verify(a->ssl_ctx, SSL_VERIFY_NONE, NULL);
		}
		ssl = SSL_new(a->ssl_ctx);
		if (ssl == NULL) {
			fail_soon(a, "%s: TLS: cannot make a session", a->what);
			return;
		}
		a->bev = bufferevent_openssl_socket_new(
		    a->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (a->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(a->bev, 1);
		else
			SSL_free(ssl);
	} else {
		a->bev = bufferevent_socket_new(a->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (a->bev == NULL) {
		fail_soon(a, "%s: out of sockets", a->what);
		return;
	}
	bufferevent_setcb(a->bev, a->pr->kind == XN_PROBE_HTTP ? on_read : NULL, NULL, on_event, a);
	bufferevent_setwatermark(a->bev, EV_READ, 0, HEADERS_LIMIT + 1);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(a->bev, (struct sockaddr *)&ss, sslen) < 0) {
		int e = EVUTIL_SOCKET_ERROR();
		fail_soon(a, "%s: connect: %s", a->what, e ? strerror(e) : "failed");
	}
}

struct xn_probe_attempt *xn_probe_attempt_start(struct event_base *base, const struct xn_probe *pr,
						const char *ip, xn_probe_attempt_cb done, void *arg)
{
	struct xn_probe_attempt *a = xn_xcalloc(1, sizeof(*a));
	struct timeval tv = {(time_t)pr->timeout_s, 0};

	a->base = base;
	a->pr = pr;
	a->done = done;
	a->arg = arg;
	a->port = pr->port;
	a->https = pr->https;
	a->path = xn_xstrdup(pr->path ? pr->path : "/");
	snprintf(a->ip, sizeof(a->ip), "%s", pr->host ? pr->host : ip ? ip : "");
	describe(a);
	a->deadline = evtimer_new(base, on_deadline, a);
	evtimer_add(a->deadline, &tv);
	if (a->ip[0] == '\0')
		fail_soon(a, "the pod has no IP address (no pod network) and the probe names no "
			     "host");
	else
		connect_next(a);
	return a;
}

/* ---- the prober of an instance ---- */

struct slot {
	struct xn_prober *owner;
	enum xn_probe_which w;
	struct xn_probe_state st;
	struct event *timer;
	struct xn_probe_attempt *inflight;
	uint64_t began_ns;
	bool started; /* scheduled at least once (ungated) */
};

struct xn_prober {
	struct event_base *base;
	struct xn_probes ps;
	char ip[XN_IP_STRLEN];
	uint64_t started_ns;
	unsigned jitter_max_ms;
	bool paused;
	unsigned in_cb; /* inside cb: a free waits until it returns */
	bool freed;
	xn_prober_cb cb;
	void *arg;
	struct slot s[XN_PROBE_N];
};

static void schedule(struct slot *sl, uint64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(sl->timer, &tv);
}

static uint64_t jitter_ms(const struct xn_prober *pr, const struct xn_probe *p)
{
	uint64_t max = p->period_s * 1000ull;
	uint32_t r;

	if (pr->jitter_max_ms < max)
		max = pr->jitter_max_ms;
	if (max == 0)
		return 0;
	evutil_secure_rng_get_bytes(&r, sizeof(r));
	return r % max;
}

static bool gated(const struct xn_prober *pr, enum xn_probe_which w)
{
	return w != XN_PROBE_STARTUP && pr->ps.p[XN_PROBE_STARTUP].kind != XN_PROBE_NONE &&
	       !pr->s[XN_PROBE_STARTUP].st.done;
}

static void start_slot(struct xn_prober *pr, enum xn_probe_which w)
{
	struct slot *sl = &pr->s[w];

	if (pr->ps.p[w].kind == XN_PROBE_NONE || sl->started || gated(pr, w))
		return;
	sl->started = true;
	schedule(sl, jitter_ms(pr, &pr->ps.p[w]));
}

static void prober_release(struct xn_prober *pr);

/* Hand a result to the owner; false when the owner freed the prober. */
static bool report(struct xn_prober *pr, enum xn_probe_which w, enum xn_probe_result r,
		   bool changed, const char *msg)
{
	pr->in_cb++;
	pr->cb(w, r, changed, msg, pr->arg);
	pr->in_cb--;
	if (pr->freed && pr->in_cb == 0) {
		prober_release(pr);
		return false;
	}
	return !pr->freed;
}

static void attempt_done(bool ok, const char *msg, void *arg)
{
	struct slot *sl = arg;
	struct xn_prober *pr = sl->owner;
	const struct xn_probe *p = &pr->ps.p[sl->w];
	uint64_t took_ms = (xn_now_mono_ns() - sl->began_ns) / 1000000,
		 period = p->period_s * 1000ull;
	bool changed;

	sl->inflight = NULL;
	xn_metric_count("xenlet_probe_attempts_total", "Probe attempts, by probe type.",
			"probe_type", xn_probe_which_name(sl->w), 1);
	if (!ok)
		xn_metric_count("xenlet_probe_failures_total",
				"Failed probe attempts, by probe type.", "probe_type",
				xn_probe_which_name(sl->w), 1);
	if (ok && msg)
		log_info("%s probe: %s", xn_probe_which_name(sl->w), msg);
	changed = xn_probe_step(p, sl->w, &sl->st, ok);
	/* every failure, as the kubelet (its Events are aggregated by the
	 * kube module's correlator: a repeat bumps the count) */
	if ((changed || !ok) &&
	    !report(pr, sl->w, ok ? XN_PROBE_SUCCESS : XN_PROBE_FAILURE, changed, msg))
		return;
	if (ok && changed && sl->w == XN_PROBE_STARTUP) {
		start_slot(pr, XN_PROBE_LIVENESS);
		start_slot(pr, XN_PROBE_READINESS);
	}
	if (sl->st.on_hold || sl->st.done || pr->paused)
		return;
	schedule(sl, took_ms >= period ? 0 : period - took_ms);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct slot *sl = arg;
	struct xn_prober *pr = sl->owner;
	const struct xn_probe *p = &pr->ps.p[sl->w];
	uint64_t now = xn_now_mono_ns(), since_ms = (now - pr->started_ns) / 1000000;

	if (pr->paused || sl->st.on_hold || sl->st.done || sl->inflight)
		return;
	if (since_ms < p->initial_delay_s * 1000ull) {
		schedule(sl, p->initial_delay_s * 1000ull - since_ms);
		return;
	}
	sl->began_ns = now;
	sl->inflight = xn_probe_attempt_start(pr->base, p, pr->ip, attempt_done, sl);
}

struct xn_prober *xn_prober_new(struct event_base *base, const struct xn_probes *ps, const char *ip,
				uint64_t started_mono_ns, unsigned jitter_max_ms, xn_prober_cb cb,
				void *arg)
{
	struct xn_prober *pr = xn_xcalloc(1, sizeof(*pr));

	pr->base = base;
	xn_probes_copy(&pr->ps, ps);
	snprintf(pr->ip, sizeof(pr->ip), "%s", ip ? ip : "");
	pr->started_ns = started_mono_ns;
	pr->jitter_max_ms = jitter_max_ms;
	pr->cb = cb;
	pr->arg = arg;
	for (int w = 0; w < XN_PROBE_N; w++) {
		struct slot *sl = &pr->s[w];
		sl->owner = pr;
		sl->w = (enum xn_probe_which)w;
		xn_probe_state_init(&sl->st, sl->w);
		sl->timer = evtimer_new(base, tick, sl);
	}
	for (int w = 0; w < XN_PROBE_N; w++)
		start_slot(pr, (enum xn_probe_which)w);
	return pr;
}

void xn_prober_pause(struct xn_prober *pr, bool paused)
{
	if (pr == NULL || pr->paused == paused)
		return;
	pr->paused = paused;
	for (int w = 0; w < XN_PROBE_N; w++) {
		struct slot *sl = &pr->s[w];
		if (paused) {
			evtimer_del(sl->timer);
			xn_probe_attempt_cancel(sl->inflight);
			sl->inflight = NULL;
		} else if (sl->started) {
			schedule(sl, jitter_ms(pr, &pr->ps.p[w]));
		}
	}
}

const struct xn_probe_state *xn_prober_state(const struct xn_prober *pr, enum xn_probe_which w)
{
	return pr && (unsigned)w < XN_PROBE_N && pr->ps.p[w].kind != XN_PROBE_NONE ? &pr->s[w].st
										   : NULL;
}

static void prober_release(struct xn_prober *pr)
{
	for (int w = 0; w < XN_PROBE_N; w++) {
		xn_probe_attempt_cancel(pr->s[w].inflight);
		if (pr->s[w].timer)
			event_free(pr->s[w].timer);
	}
	xn_probes_dispose(&pr->ps);
	free(pr);
}

void xn_prober_free(struct xn_prober *pr)
{
	if (pr == NULL)
		return;
	for (int w = 0; w < XN_PROBE_N; w++) {
		evtimer_del(pr->s[w].timer);
		xn_probe_attempt_cancel(pr->s[w].inflight);
		pr->s[w].inflight = NULL;
	}
	if (pr->in_cb) {
		pr->freed = true; /* report() frees it when the callback returns */
		return;
	}
	prober_release(pr);
}
