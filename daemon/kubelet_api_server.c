/* kubelet_api_server.c - the hub of the kubelet API: the TLS listener,
 * connections, and the one route table that both authorization and
 * dispatch read.  Handlers (kubelet_api.c, kubelet_api_logs.c,
 * kubelet_api_stats.c, kubelet_stream.c) are reached only through the
 * table and use only the request helpers of kubelet_api_req.c: the
 * dependency goes one way, from here to them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>

#include "kubelet_api_priv.h"
#include "xenlet/log.h"
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

/* ---- connections and requests ---- */

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct kconn *c = arg, **pp;
	struct xn_kapi *k = c->k;

	for (pp = &k->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			k->nconns--;
			break;
		}
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
	free(c);
}

static struct kconn *conn_of(struct xn_kapi *k, struct evhttp_connection *evcon, bool *over)
{
	struct kconn *c;

	*over = false;
	for (c = k->conns; c; c = c->next)
		if (c->evcon == evcon)
			return c;
	if (k->nconns >= k->max_conns) {
		*over = true;
		return NULL;
	}
	c = xn_xcalloc(1, sizeof(*c));
	c->k = k;
	c->evcon = evcon;
	c->next = k->conns;
	k->conns = c;
	k->nconns++;
	evhttp_connection_set_closecb(evcon, conn_closed, c);
	return c;
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

static void on_request(struct evhttp_request *req, void *arg)
{
	struct xn_kapi *k = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct kreq *r;
	struct kconn *c;
	char *path;
	bool over;

	c = conn_of(k, evcon, &over);
	if (c == NULL) {
		struct evbuffer *b = evbuffer_new();

		evbuffer_add_printf(b, "too many connections (%u); try again\n", k->max_conns);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		kreq_count(503);
		evhttp_send_reply(req, 503, "Service Unavailable", b);
		evbuffer_free(b);
		return;
	}
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
	kapi_auth(r, dispatch);
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct xn_kapi *k = arg;
	SSL *ssl = SSL_new(k->ssl);
	struct bufferevent *bev;

	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
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

	k->base = base;
	k->rt = rt;
	k->hv = hv;
	k->kube = kube;
	k->node_name = xn_xstrdup(o->node_name ? o->node_name : "");
	k->max_conns = o->max_conns ? o->max_conns : XN_KAPI_MAX_CONNS;
	k->timeout_s = o->timeout_s ? o->timeout_s : XN_KAPI_TIMEOUT_S;
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
	evhttp_set_max_headers_size(k->http, 64 * 1024);
	evhttp_set_max_body_size(k->http, 1024 * 1024);
	evhttp_set_allowed_methods(k->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	k->sock = evhttp_bind_socket_with_handle(k->http, addr, (ev_uint16_t)o->port);
	if (k->sock == NULL) {
		xn_error(err, EADDRINUSE, "kubelet API: cannot listen on %s:%u", addr, o->port);
		goto fail;
	}
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
	kapi_stats_stop(k);
	if (k->http)
		evhttp_free(k->http);
	if (k->ssl)
		SSL_CTX_free(k->ssl);
	kapi_auth_cache_clear(k);
	free(k->node_name);
	free(k);
}
