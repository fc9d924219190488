/* kubelet_api_server.c - the hub of the kubelet API: the TLS listener,
 * connections, and the one route table that both authorization and
 * dispatch read.  Handlers (kubelet_api.c, kubelet_api_logs.c,
 * kubelet_api_stats.c, kubelet_stream.c) are reached only through the
 * table and use only the request helpers of kubelet_api_req.c: the
 * dependency goes one way, from here to them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "kubelet_api_priv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

/* ---- the route table ----
 *
 * One row a path prefix, matched as the kubelet's isSubpath (the path
 * itself or anything below it), first match wins: a longer prefix comes
 * before the shorter one it extends, and "/" takes the rest.  The
 * subresources are what the kubelet asks a SubjectAccessReview for
 * (pkg/kubelet/server/auth.go, fine-grained authorization on: the
 * specific one first, then "proxy"), also for the paths we do not serve,
 * so that a caller learns 403 before 404 as from a kubelet.
 */
const struct kapi_route kapi_routes[] = {
    {.path = "/healthz", .sub = {"healthz", "proxy"}, .get = kapi_healthz},
    {.path = "/pods", .sub = {"pods", "proxy"}, .get = kapi_pods},
    {.path = "/runningpods", .sub = {"pods", "proxy"}, .get = kapi_running_pods},
    {.path = "/configz", .sub = {"configz", "proxy"}},
    {.path = "/statusz", .sub = {"statusz", "proxy"}},
    {.path = "/stats/summary", .sub = {"stats"}, .get = kapi_stats_summary},
    {.path = "/stats", .sub = {"stats"}},
    {.path = "/metrics/resource", .sub = {"metrics"}, .get = kapi_metrics_resource},
    {.path = "/metrics", .sub = {"metrics"}, .get = kapi_metrics},
    {.path = "/logs", .sub = {"log"}},
    {.path = "/checkpoint", .sub = {"checkpoint"}},
    {.path = "/containerLogs",
     .sub = {"proxy"},
     .nseg = 3,
     .usage = "/containerLogs/NAMESPACE/POD/CONTAINER",
     .get = kapi_container_logs},
    /* what changes a pod is "create" however it is asked for: a GET upgrade
     * runs the same verbs as a POST (read-only nodes/proxy is not enough) */
    {.path = "/exec",
     .sub = {"proxy"},
     .verb = "create",
     .nseg = 3,
     .usage = "/exec/NAMESPACE/POD/CONTAINER",
     .upgrade = kapi_exec_stream,
     .post = kapi_exec_post,
     .other = kapi_needs_upgrade},
    {.path = "/attach",
     .sub = {"proxy"},
     .verb = "create",
     .nseg = 3,
     .usage = "/attach/NAMESPACE/POD/CONTAINER",
     .upgrade = kapi_attach_stream,
     .other = kapi_needs_upgrade},
    {.path = "/portForward",
     .sub = {"proxy"},
     .verb = "create",
     .nseg = KAPI_SEG_ANY,
     .other = kapi_not_supported},
    {.path = "/run",
     .sub = {"proxy"},
     .verb = "create",
     .nseg = KAPI_SEG_ANY,
     .other = kapi_not_supported},
    {.path = "/", .sub = {"proxy"}},
};
const size_t kapi_nroutes = XN_ARRAY_SIZE(kapi_routes);

/* The kubelet's isSubpath: prefix itself, or below it. */
static bool subpath(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > 0 && prefix[n - 1] == '/')
		n--;
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

const struct kapi_route *kapi_route_find(const char *path)
{
	for (size_t i = 0; i < kapi_nroutes; i++)
		if (subpath(path, kapi_routes[i].path))
			return &kapi_routes[i];
	return &kapi_routes[kapi_nroutes - 1]; /* not absolute: still "/" */
}

static const char *verb_of(const char *method)
{
	/* HEAD reads as GET (the kubelet leaves its verb empty) */
	if (strcmp(method, "POST") == 0)
		return "create";
	if (strcmp(method, "PUT") == 0)
		return "update";
	if (strcmp(method, "PATCH") == 0)
		return "patch";
	if (strcmp(method, "DELETE") == 0)
		return "delete";
	return "get";
}

void xn_kapi_authz_attrs(const char *method, const char *path, const char **verb,
			 const char *sub[2])
{
	const struct kapi_route *rt = kapi_route_find(path);

	*verb = rt->verb ? rt->verb : verb_of(method);
	sub[0] = rt->sub[0];
	sub[1] = rt->sub[1];
}

/* The path after the row's prefix as r->seg[]: exactly nseg segments. */
static bool split_segments(struct kreq *r)
{
	const struct kapi_route *rt = r->route;
	char *save = NULL, *t;
	unsigned n = 0;

	if (rt->nseg == KAPI_SEG_ANY)
		return true;
	r->segbuf = xn_xstrdup(r->path + strlen(rt->path));
	for (t = strtok_r(r->segbuf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == rt->nseg)
			return false;
		r->seg[n++] = t;
	}
	return n == rt->nseg;
}

static void dispatch(struct kreq *r)
{
	const struct kapi_route *rt = r->route;
	bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	bool up = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Upgrade");
	kapi_handler *h;

	if (!split_segments(r)) {
		if (rt->usage)
			return kreq_error(r, 400, "path must be %s", rt->usage);
		return kreq_error(r, 404, "%s %s: no such endpoint", r->method, r->path);
	}
	h = up && rt->upgrade				 ? rt->upgrade
	    : get && rt->get				 ? rt->get
	    : strcmp(r->method, "POST") == 0 && rt->post ? rt->post
							 : rt->other;
	if (h)
		return h(r);
	if (rt->get || rt->post || rt->upgrade)
		return kreq_error(r, 405, "%s %s: method not allowed", r->method, r->path);
	kreq_error(r, 404, "%s %s: no such endpoint", r->method, r->path);
}

/* ---- connections ----
 *
 * A connection is ours from new_bev (evhttp's accept asks it for the
 * bufferevent) until OpenSSL frees its SSL (the ex_data free callback): the
 * kconn rides on the SSL, so it is found from a request in O(1) and goes
 * with the connection whatever closes it.  evhttp gives no hook with the
 * descriptor at accept, so admission (the peer address, the caps) runs from
 * a timer at once after it.  Unauthenticated connections are closed by
 * shutting their socket down: evhttp then sees the end of the stream and
 * frees the connection its own way, also one that is answering a request. */

enum kconn_drop { DROP_PER_ADDR, DROP_TOTAL, DROP_DEADLINE, DROP_NOFILE };
static const char *const drop_what[] = {"over the per-address limit", "over the total limit",
					"past the handshake or header deadline",
					"to free descriptors"};

static int conn_ex_index = -1;

static void conn_log_drops(struct xn_kapi *k)
{
	unsigned held, *d = k->dropped;

	if (d[0] + d[1] + d[2] + d[3] == 0 ||
	    !kcl_ratelimit_ok(&k->drop_log, xn_now_mono_ns(), KAPI_LOG_INTERVAL_S * 1000000000ull,
			      &held))
		return;
	log_warnx("kubelet API: closed unauthenticated connections: %u %s (%u from one "
		  "address), %u %s (%u), %u %s (%u s, %u s), %u %s",
		  d[DROP_PER_ADDR], drop_what[DROP_PER_ADDR], KAPI_UNAUTH_PER_ADDR, d[DROP_TOTAL],
		  drop_what[DROP_TOTAL], k->unauth.max_total, d[DROP_DEADLINE],
		  drop_what[DROP_DEADLINE], KAPI_HANDSHAKE_S, KAPI_HEADER_S, d[DROP_NOFILE],
		  drop_what[DROP_NOFILE]);
	memset(k->dropped, 0, sizeof(k->dropped));
}

static void conn_drop(struct kconn *c, enum kconn_drop why)
{
	static const char *const label[] = {"per_address", "total", "deadline", "nofile"};
	evutil_socket_t fd = c->bev ? bufferevent_getfd(c->bev) : -1;

	if (c->dropped)
		return;
	c->dropped = true;
	kcl_remove(&c->k->unauth, &c->unauth);
	evtimer_del(c->timer);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
	c->k->dropped[why]++;
	xn_metric_count("xenlet_kubelet_api_connections_closed_total",
			"Unauthenticated kubelet API connections closed by the server, by reason.",
			"reason", label[why], 1);
	conn_log_drops(c->k);
}

static struct kconn *conn_of_node(struct kcl_node *n)
{
	return (struct kconn *)((char *)n - offsetof(struct kconn, unauth));
}

static void conn_arm(struct kconn *c, enum kconn_stage stage, uint64_t at_ns)
{
	uint64_t now = xn_now_mono_ns(), in = at_ns > now ? at_ns - now : 0;
	struct timeval tv = {(time_t)(in / 1000000000u), (suseconds_t)(in % 1000000000u / 1000)};

	c->stage = stage;
	evtimer_add(c->timer, &tv);
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kconn *c = arg;
	struct xn_kapi *k = c->k;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	evutil_socket_t sock;
	struct kcl_node *victim;
	bool same;

	if (c->authenticated || c->dropped)
		return;
	switch (c->stage) {
	case KCONN_ADMIT:
		sock = bufferevent_getfd(c->bev);
		if (sock < 0 || getpeername(sock, (struct sockaddr *)&ss, &sl) < 0)
			memset(&ss, 0, sizeof(ss));
		same = kcl_count_addr(&k->unauth, (struct sockaddr *)&ss) >= k->unauth.max_per_addr;
		victim = kcl_admit(&k->unauth, &c->unauth, (struct sockaddr *)&ss);
		if (victim)
			conn_drop(conn_of_node(victim), same ? DROP_PER_ADDR : DROP_TOTAL);
		conn_arm(c, KCONN_HANDSHAKE, c->accepted_ns + KAPI_HANDSHAKE_S * 1000000000ull);
		return;
	case KCONN_HANDSHAKE:
		if (!SSL_is_init_finished(c->ssl))
			return conn_drop(c, DROP_DEADLINE);
		conn_arm(c, KCONN_HEADERS, c->accepted_ns + KAPI_HEADER_S * 1000000000ull);
		return;
	case KCONN_HEADERS:
		/* a request in hand (authentication pending, or an answer on
		 * its way) gets the next full deadline before its successor */
		if (c->active) {
			conn_arm(c, KCONN_HEADERS,
				 xn_now_mono_ns() + KAPI_HEADER_S * 1000000000ull);
			return;
		}
		conn_drop(c, DROP_DEADLINE);
		return;
	}
}

/* The SSL is being freed: the connection is gone. */
static void conn_ssl_freed(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			   void *argp)
{
	struct kconn *c = ptr, **pp;
	struct xn_kapi *k;

	if (c == NULL)
		return;
	k = c->k;
	for (pp = &k->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	k->nconns--;
	if (c->authenticated)
		k->nauth--;
	kcl_remove(&k->unauth, &c->unauth);
	event_free(c->timer);
	free(c);
}

/* evhttp closes the connection (first): answer or drop its request. */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct kconn *c = arg;

	c->evcon = NULL;
	if (c->active) {
		struct kreq *r = c->active;

		r->c = NULL;
		c->active = NULL;
		kapi_auth_cancel(r);
		if (r->gone)
			r->gone(r);
		else /* the request is detached from the connection: this frees it */
			kreq_reply(r, 499, NULL, "client went away");
	}
}

static struct kconn *conn_of(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	struct kconn *c = ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;

	if (c && c->evcon == NULL) {
		c->evcon = evcon;
		evhttp_connection_set_closecb(evcon, conn_closed, c);
	}
	return c;
}

/* A request on c passed authentication and authorization: c takes an
 * authenticated slot if it has none.  False when they are all taken. */
static bool conn_authenticated(struct kconn *c)
{
	struct xn_kapi *k = c->k;

	if (c->authenticated)
		return true;
	if (k->nauth >= k->max_conns)
		return false;
	c->authenticated = true;
	k->nauth++;
	kcl_remove(&k->unauth, &c->unauth);
	evtimer_del(c->timer);
	return true;
}

/* The handshake is done: a client certificate that verified is an
 * authenticated connection at once, so a flood of newer connections cannot
 * push it out before its first request is in (a request that is then
 * refused authorization still came from someone the CA vouches for). */
static void conn_tls_info(const SSL *ssl, int where, int ret)
{
	struct kconn *c;

	if (!(where & SSL_CB_HANDSHAKE_DONE))
		return;
	c = SSL_get_ex_data(ssl, conn_ex_index);
	if (c && !c->dropped && c->k->have_client_ca && kapi_tls_peer_verified((SSL *)ssl))
		conn_authenticated(c);
}

/* An accept failed (EMFILE, ENFILE, ENOBUFS, ...): rest the listener
 * instead of trying again at once (libevent would, in a loop), close the
 * oldest unauthenticated connections when descriptors ran out, and say so
 * once per interval. */
static struct xn_kapi *servers; /* every server: the listener knows only its evhttp */

static void accept_error(struct evconnlistener *lev, void *arg)
{
	struct xn_kapi *k = servers;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, KAPI_ACCEPT_BACKOFF_MS * 1000};
	unsigned held;

	while (k && k->http != arg) /* evhttp made itself the listener's argument */
		k = k->next_server;
	evconnlistener_disable(lev);
	if (k == NULL) /* not ours: still no busy loop */
		return;
	evtimer_add(k->accept_timer, &tv);
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
		for (int i = 0; i < 4 && kcl_oldest(&k->unauth); i++)
			conn_drop(conn_of_node(kcl_oldest(&k->unauth)), DROP_NOFILE);
	xn_metric_count("xenlet_kubelet_api_accept_errors_total",
			"Failed accepts on the kubelet API port (the listener rests after each).",
			NULL, NULL, 1);
	if (kcl_ratelimit_ok(&k->accept_log, xn_now_mono_ns(), KAPI_LOG_INTERVAL_S * 1000000000ull,
			     &held))
		log_warnx("kubelet API: accept: %s; resting the listener %u ms each time "
			  "(%u more since the last message)",
			  strerror(e), KAPI_ACCEPT_BACKOFF_MS, held);
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct xn_kapi *k = arg;

	evconnlistener_enable(evhttp_bound_socket_get_listener(k->sock));
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "OTHER";
	}
}

/* Authentication and authorization passed: the connection takes an
 * authenticated slot (only those count toward max_conns), then the row's
 * handler answers. */
static void authorized(struct kreq *r)
{
	if (r->c && !conn_authenticated(r->c)) {
		struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

		evhttp_add_header(h, "Connection", "close");
		evhttp_add_header(h, "Retry-After", "1");
		return kreq_error(r, 503, "too many connections (%u); try again", r->k->max_conns);
	}
	dispatch(r);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct xn_kapi *k = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct kreq *r;
	struct kconn *c;
	char *path;

	c = conn_of(evcon);
	if (c == NULL || c->dropped) { /* not one of ours, or closing: never */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		kreq_count(503);
		evhttp_send_reply(req, 503, "Service Unavailable", NULL);
		return;
	}
	/* a whole request head is in: the next deadline is for the next one */
	if (!c->authenticated)
		conn_arm(c, KCONN_HEADERS, xn_now_mono_ns() + KAPI_HEADER_S * 1000000000ull);
	path = evhttp_uridecode(evhttp_uri_get_path(uri) ? evhttp_uri_get_path(uri) : "/", 0, NULL);
	r = xn_xcalloc(1, sizeof(*r));
	r->k = k;
	r->c = c;
	r->req = req;
	r->path = xn_xstrdup(path ? path : "/");
	free(path);
	r->query = xn_xstrdup(evhttp_uri_get_query(uri) ? evhttp_uri_get_query(uri) : "");
	r->method = method_name(evhttp_request_get_command(req));
	c->active = r;
	/* one lookup: authorization reads this row's attributes, dispatch
	 * runs this row's handler */
	r->route = kapi_route_find(r->path);
	xn_kapi_authz_attrs(r->method, r->path, &r->verb, r->sub);
	kapi_auth(r, authorized);
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct xn_kapi *k = arg;
	SSL *ssl = SSL_new(k->ssl);
	struct bufferevent *bev;
	struct kconn *c;
	struct timeval now = {0, 0};

	if (ssl == NULL)
		return NULL;
	c = xn_xcalloc(1, sizeof(*c));
	c->k = k;
	c->ssl = ssl;
	c->accepted_ns = xn_now_mono_ns();
	c->timer = evtimer_new(base, conn_timer, c);
	c->stage = KCONN_ADMIT;
	c->next = k->conns;
	k->conns = c;
	k->nconns++;
	/* from here on the connection ends with its SSL (conn_ssl_freed) */
	SSL_set_ex_data(ssl, conn_ex_index, c);
	SSL_set_info_callback(ssl, conn_tls_info);
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	c->bev = bev;
	/* evhttp sets the descriptor after this returns: admit it then */
	evtimer_add(c->timer, &now);
	return bev;
}

/* How many connections the descriptors allow: max_conns and the
 * unauthenticated cap both fit under the open-file limit with
 * KAPI_FD_RESERVE left for the rest of the daemon (the control socket,
 * the API server, xenstore, log files), or they are cut to fit. */
static void fit_fd_limit(struct xn_kapi *k, unsigned *unauth_max)
{
	struct rlimit rl;
	rlim_t budget;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	budget =
	    rl.rlim_cur > 2 * KAPI_FD_RESERVE ? rl.rlim_cur - KAPI_FD_RESERVE : rl.rlim_cur / 2;
	if ((rlim_t)k->max_conns + *unauth_max <= budget)
		return;
	*unauth_max = (unsigned)(budget / 3) ? (unsigned)(budget / 3) : 1;
	if ((rlim_t)k->max_conns > budget - *unauth_max)
		k->max_conns =
		    (unsigned)(budget - *unauth_max) ? (unsigned)(budget - *unauth_max) : 1;
	log_warnx("kubelet API: open-file limit %llu: at most %u authenticated and %u "
		  "unauthenticated connections (%u descriptors kept for the rest)",
		  (unsigned long long)rl.rlim_cur, k->max_conns, *unauth_max, KAPI_FD_RESERVE);
}

struct xn_kapi *xn_kapi_new(struct event_base *base, const struct xn_kapi_opts *o,
			    struct xn_runtime *rt, struct xn_hv *hv, struct xn_kube *kube,
			    xn_err *err)
{
	struct xn_kapi *k = xn_xcalloc(1, sizeof(*k));
	const char *addr = o->address ? o->address : "0.0.0.0";
	evutil_socket_t fd;
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof(ss);
	struct evconnlistener *lev;

	k->base = base;
	k->rt = rt;
	k->hv = hv;
	k->kube = kube;
	k->node_name = xn_xstrdup(o->node_name ? o->node_name : "");
	unsigned unauth_max = KAPI_UNAUTH_MAX;

	k->max_conns = o->max_conns ? o->max_conns : XN_KAPI_MAX_CONNS;
	k->timeout_s = o->timeout_s ? o->timeout_s : XN_KAPI_TIMEOUT_S;
	fit_fd_limit(k, &unauth_max);
	kcl_init(&k->unauth, unauth_max, KAPI_UNAUTH_PER_ADDR);
	if (conn_ex_index < 0)
		conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ssl_freed);
	k->have_client_ca = o->client_ca_file != NULL;
	k->start_ns = xn_now_real_ns();
	k->ssl = kapi_tls_ctx(o, err);
	if (k->ssl == NULL)
		goto fail;
	k->http = evhttp_new(base);
	if (k->http == NULL) {
		xn_error(err, ENOMEM, "kubelet API: evhttp_new failed");
		goto fail;
	}
	evhttp_set_bevcb(k->http, new_bev, k);
	evhttp_set_gencb(k->http, on_request, k);
	evhttp_set_timeout(k->http, (int)k->timeout_s);
	/* no endpoint takes a body: a bigger one is answered 413 from its
	 * Content-Length, before any of it is read */
	evhttp_set_max_headers_size(k->http, KAPI_MAX_HEADERS);
	evhttp_set_max_body_size(k->http, KAPI_MAX_BODY);
	evhttp_set_allowed_methods(k->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	k->sock = evhttp_bind_socket_with_handle(k->http, addr, (ev_uint16_t)o->port);
	if (k->sock == NULL) {
		xn_error(err, EADDRINUSE, "kubelet API: cannot listen on %s:%u", addr, o->port);
		goto fail;
	}
	lev = evhttp_bound_socket_get_listener(k->sock);
	k->accept_timer = evtimer_new(base, accept_resume, k);
	evconnlistener_set_error_cb(lev, accept_error);
	k->next_server = servers;
	servers = k;
	fd = evhttp_bound_socket_get_fd(k->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		k->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	kapi_stats_start(k);
	log_info("kubelet API on https://%s:%u (%s certificate, client CA %s, %s)", addr, k->port,
		 o->tls_cert_file ? "configured" : "self-signed",
		 o->client_ca_file ? o->client_ca_file : "none",
		 kube ? "webhook authn/authz" : "standalone: client certificates only");
	return k;
fail:
	xn_kapi_free(k);
	return NULL;
}

unsigned xn_kapi_port(const struct xn_kapi *k)
{
	return k->port;
}

void xn_kapi_free(struct xn_kapi *k)
{
	struct kconn *c, *next;

	if (k == NULL)
		return;
	for (c = k->conns; c; c = next) {
		next = c->next;
		/* the server frees the connections below: not through us */
		SSL_set_ex_data(c->ssl, conn_ex_index, NULL);
		event_free(c->timer);
		if (c->evcon)
			evhttp_connection_set_closecb(c->evcon, NULL, NULL);
		if (c->active) {
			struct kreq *r = c->active;

			kapi_auth_cancel(r);
			if (r->gone) {
				/* the server frees the request with the connection */
				r->c = NULL;
				r->req = NULL;
				r->gone(r);
			} else {
				r->c = NULL;
				kreq_free(r);
			}
		}
		free(c);
	}
	k->conns = NULL;
	for (struct xn_kapi **pp = &servers; *pp; pp = &(*pp)->next_server)
		if (*pp == k) {
			*pp = k->next_server;
			break;
		}
	if (k->accept_timer)
		event_free(k->accept_timer);
	kapi_stats_stop(k);
	if (k->http)
		evhttp_free(k->http);
	if (k->ssl)
		SSL_CTX_free(k->ssl);
	kapi_auth_cache_clear(k);
	free(k->node_name);
	free(k);
}
