/* kubelet_api.c - the kubelet API server: TLS listener, connections,
 * routing, and the small endpoints (healthz, pods, exec verbs).
 * Contracts in kubelet_api.h; logs, stats and auth have their own files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "kubelet_api_priv.h"
#include "xenlet/hv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/pod_sync.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

static void count_reply(int code)
{
	char c[8];

	snprintf(c, sizeof(c), "%d", code);
	xn_metric_count("xenlet_kubelet_api_requests_total",
			"Requests to the kubelet API by HTTP status code.", "code", c, 1);
}

void kuser_dispose(struct kuser *u)
{
	free(u->name);
	free(u->uid);
	for (char **g = u->groups; g && *g; g++)
		free(*g);
	free(u->groups);
	cJSON_Delete(u->extra);
	memset(u, 0, sizeof(*u));
}

void kuser_copy(struct kuser *dst, const struct kuser *src)
{
	size_t n = 0;

	dst->name = src->name ? xn_xstrdup(src->name) : NULL;
	dst->uid = src->uid ? xn_xstrdup(src->uid) : NULL;
	while (src->groups && src->groups[n])
		n++;
	dst->groups = xn_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		dst->groups[i] = xn_xstrdup(src->groups[i]);
	dst->extra = src->extra ? cJSON_Duplicate(src->extra, 1) : NULL;
}

void kreq_free(struct kreq *r)
{
	if (r->c)
		r->c->active = NULL;
	kuser_dispose(&r->user);
	free(r->path);
	free(r->query);
	free(r);
}

void kreq_reply_buf(struct kreq *r, int code, const char *ctype, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	count_reply(code);
	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	evhttp_send_reply(r->req, code, NULL, body);
	kreq_free(r);
}

void kreq_reply(struct kreq *r, int code, const char *ctype, const char *fmt, ...)
{
	struct evbuffer *b = evbuffer_new();
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	kreq_reply_buf(r, code, ctype, b);
	evbuffer_free(b);
}

static const char *status_reason(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 422: return "Invalid";
	case 501: return "NotImplemented";
	case 503: return "ServiceUnavailable";
	default: return "InternalError";
	}
}

void kreq_error(struct kreq *r, int code, const char *fmt, ...)
{
	cJSON *st = cJSON_CreateObject();
	char *msg = NULL, *txt;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddObjectToObject(st, "metadata");
	cJSON_AddStringToObject(st, "status", "Failure");
	cJSON_AddStringToObject(st, "message", msg ? msg : "error");
	cJSON_AddStringToObject(st, "reason", status_reason(code));
	cJSON_AddNumberToObject(st, "code", code);
	txt = cJSON_PrintUnformatted(st);
	log_debug("kubelet api: %s %s -> %d %s", r->method, r->path, code, msg ? msg : "");
	kreq_reply(r, code, "application/json", "%s\n", txt);
	free(txt);
	free(msg);
	cJSON_Delete(st);
}

/* ---- small endpoints ---- */

struct pods_ctx {
	struct xn_kapi *k;
	cJSON *items;
	bool running_only;
};

static int add_pod(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	struct pods_ctx *pc = arg;
	cJSON *pod, *md, *spec, *c, *status;
	char start[40] = "";

	if (pc->running_only && st->state != XN_INST_RUNNING)
		return 0;
	pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	md = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(md, "name", s->name);
	cJSON_AddStringToObject(md, "namespace", s->ns);
	cJSON_AddStringToObject(md, "uid", s->uid);
	spec = cJSON_AddObjectToObject(pod, "spec");
	cJSON_AddStringToObject(spec, "nodeName", pc->k->node_name);
	cJSON_AddStringToObject(spec, "restartPolicy", xn_restart_policy_name(s->restart));
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", s->container);
	cJSON_AddStringToObject(c, "image", s->image ? s->image : "");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
	if (st->started_at)
		xn_rfc3339nano_go(st->started_at - st->started_at % 1000000000u, start);
	status = xn_pod_status_json(s, st, pod, NULL, start[0] ? start : NULL);
	if (status)
		cJSON_AddItemToObject(pod, "status", status);
	cJSON_AddItemToArray(pc->items, pod);
	return 0;
}

static void pods(struct kreq *r, bool running_only)
{
	struct pods_ctx pc = {.k = r->k, .running_only = running_only};
	cJSON *list = cJSON_CreateObject();
	char *txt;

	cJSON_AddStringToObject(list, "kind", "PodList");
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddObjectToObject(list, "metadata");
	pc.items = cJSON_AddArrayToObject(list, "items");
	xn_runtime_foreach(r->k->rt, add_pod, &pc);
	txt = cJSON_PrintUnformatted(list);
	kreq_reply(r, 200, "application/json", "%s\n", txt);
	free(txt);
	cJSON_Delete(list);
}

int kapi_exec_verb(struct xn_kapi *k, const char *who, const char *uid, const char *verb,
		   size_t nwords, struct evbuffer *out, char **msg)
{
	const struct xn_pod_spec *s = xn_runtime_spec(k->rt, uid);
	const struct xn_pod_status *st = xn_runtime_status(k->rt, uid);
	xn_err err = NULL;
	int n;

	*msg = NULL;
	if (s == NULL || st == NULL) {
		*msg = xn_xstrdup("the pod is gone");
		return 404;
	}
	if (verb == NULL || nwords != 1 ||
	    (strcmp(verb, "pause") != 0 && strcmp(verb, "unpause") != 0 &&
	     strcmp(verb, "shutdown") != 0 && strcmp(verb, "console-dump") != 0)) {
		*msg = xn_xasprintf("%s%s: not supported: unikernel pods have no shell; exec "
				    "takes one verb: " KAPI_EXEC_VERBS,
				    verb ? verb : "no command", nwords > 1 ? " and arguments" : "");
		return 400;
	}
	if (strcmp(verb, "console-dump") == 0) {
		cleanup_free char *path = xn_runtime_log_path(k->rt, uid, st->restart_count);
		FILE *f = path ? fopen(path, "r") : NULL;
		char line[512];
		int lines = 0;

		/* the raw console as the guest wrote it, last 64 KiB */
		if (f && fseek(f, -65536, SEEK_END) < 0)
			rewind(f);
		while (f && fgets(line, sizeof(line), f))
			if (lines++ > 0 || ftell(f) <= 65536)
				evbuffer_add(out, line, strlen(line));
		if (f)
			fclose(f);
		return 0;
	}
	if (st->state != XN_INST_RUNNING || st->domid == XN_DOMID_INVALID) {
		*msg = xn_xasprintf("container \"%s\" in pod \"%s\" is not running", s->container,
				    s->name);
		return 409;
	}
	/* the runtime changes the domain: its state (paused, stopping) follows */
	if (strcmp(verb, "pause") == 0)
		n = xn_runtime_pause(k->rt, uid, &err);
	else if (strcmp(verb, "unpause") == 0)
		n = xn_runtime_unpause(k->rt, uid, &err);
	else
		n = xn_runtime_shutdown(k->rt, uid, s->grace_s ? s->grace_s : 30, &err);
	if (n < 0) {
		int code = err && (err->status == EBUSY || err->status == ENOENT) ? 409 : 500;
		*msg = xn_xasprintf("%s: %s", verb, xn_error_msg(err));
		xn_error_free(&err);
		return code;
	}
	log_info("kubelet api: %s: %s pod %s/%s (domain %u)", who ? who : "?", verb, s->ns, s->name,
		 st->domid);
	evbuffer_add_printf(out, "%s: done\n", verb);
	return 0;
}

/* The POST form of exec: one verb, the answer in the body. */
static void exec_verb(struct kreq *r, const char *ns, const char *name, const char *container)
{
	struct evkeyvalq q;
	const char *uid = xn_runtime_find(r->k->rt, ns, name);
	struct evbuffer *b;
	struct evkeyval *kv;
	const char *verb = NULL;
	char *msg = NULL;
	size_t n = 0;
	int code;

	if (uid == NULL)
		return kreq_error(r, 404, "pod \"%s\" does not exist", name);
	if (strcmp(xn_runtime_spec(r->k->rt, uid)->container, container) != 0)
		return kreq_error(r, 404, "container \"%s\" not found in pod \"%s\"", container,
				  name);
	TAILQ_INIT(&q);
	evhttp_parse_query_str(r->query, &q);
	TAILQ_FOREACH(kv, &q, next)
	{
		if (strcmp(kv->key, "command") == 0) {
			verb = verb ? verb : kv->value;
			n++;
		}
	}
	b = evbuffer_new();
	code = kapi_exec_verb(r->k, r->user.name, uid, verb, n, b, &msg);
	if (code == 0)
		kreq_reply_buf(r, 200, "text/plain", b);
	else
		kreq_error(r, code, "%s", msg);
	free(msg);
	evbuffer_free(b);
	evhttp_clear_headers(&q);
}

/* Splits "/prefix/a/b/c" into exactly n segments after the prefix. */
static bool segments(const char *rest, char **seg, int n, char *buf, size_t len)
{
	char *save = NULL, *t;
	int i = 0;

	snprintf(buf, len, "%s", rest);
	for (t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (i == n)
			return false;
		seg[i++] = t;
	}
	return i == n;
}

static void dispatch(struct kreq *r)
{
	const char *p = r->path;
	char buf[1024], *seg[3];
	bool get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;

	if (strcmp(p, "/healthz") == 0 && get)
		return kreq_reply(r, 200, "text/plain; charset=utf-8", "ok");
	if (strcmp(p, "/pods") == 0 && get)
		return pods(r, false);
	if ((strcmp(p, "/runningpods/") == 0 || strcmp(p, "/runningpods") == 0) && get)
		return pods(r, true);
	if (strcmp(p, "/stats/summary") == 0 && get)
		return kapi_stats_summary(r);
	if (strcmp(p, "/metrics/resource") == 0 && get)
		return kapi_metrics_resource(r);
	if (strcmp(p, "/metrics") == 0 && get)
		return kapi_metrics(r);
	if (strncmp(p, "/containerLogs/", 15) == 0 && get) {
		if (!segments(p + 15, seg, 3, buf, sizeof(buf)))
			return kreq_error(r, 400,
					  "path must be /containerLogs/NAMESPACE/POD/CONTAINER");
		return kapi_container_logs(r, seg[0], seg[1], seg[2]);
	}
	if (strncmp(p, "/exec/", 6) == 0 || strncmp(p, "/attach/", 8) == 0) {
		bool exec = p[1] == 'e';
		bool up = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Upgrade");

		if (!segments(p + (exec ? 6 : 8), seg, 3, buf, sizeof(buf)))
			return kreq_error(r, 400, "path must be /%s/NAMESPACE/POD/CONTAINER",
					  exec ? "exec" : "attach");
		if (up)
			return kapi_stream(r, exec, seg[0], seg[1], seg[2]);
		if (exec && strcmp(r->method, "POST") == 0)
			return exec_verb(r, seg[0], seg[1], seg[2]);
		return kreq_error(r, 400,
				  "%s needs a streaming upgrade (Upgrade: SPDY/3.1)%s, see "
				  "docs/kubelet-api.md",
				  exec ? "interactive exec" : "attach",
				  exec ? "; or POST one control verb: ?command=VERB" : "");
	}
	if (strncmp(p, "/portForward/", 13) == 0 || strncmp(p, "/run/", 5) == 0)
		return kreq_error(r, 501,
				  "xenlet runs unikernels: port-forward and run are not supported; "
				  "see docs/kubelet-api.md");
	kreq_error(r, 404, "%s %s: no such endpoint", r->method, p);
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
		count_reply(503);
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

void xn_kapi_authz_attrs(const char *method, const char *path, const char **verb,
			 const char *sub[2])
{
	if (strcmp(method, "POST") == 0)
		*verb = "create";
	else if (strcmp(method, "PUT") == 0)
		*verb = "update";
	else if (strcmp(method, "PATCH") == 0)
		*verb = "patch";
	else if (strcmp(method, "DELETE") == 0)
		*verb = "delete";
	else
		*verb = "get";
	sub[0] = "proxy";
	sub[1] = NULL;
#define SUBPATH(pre) (strcmp(path, pre) == 0 || strncmp(path, pre "/", sizeof(pre)) == 0)
	if (SUBPATH("/stats"))
		sub[0] = "stats";
	else if (SUBPATH("/metrics"))
		sub[0] = "metrics";
	else if (SUBPATH("/logs"))
		sub[0] = "log";
	else if (SUBPATH("/pods") || SUBPATH("/healthz") || SUBPATH("/configz")) {
		/* fine-grained kubelet authz (KEP-2862): the specific one first */
		sub[0] = SUBPATH("/pods") ? "pods" : SUBPATH("/healthz") ? "healthz" : "configz";
		sub[1] = "proxy";
	}
#undef SUBPATH
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
