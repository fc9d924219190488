/* kube_client.c - libcurl multi on a libevent loop; requests (see include/xenlet/kube.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "kube_internal.h"
#include "xenlet/curl_loop.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

#ifndef XN_VERSION
#define XN_VERSION "0"
#endif

struct xn_kube {
	struct event_base *base;
	struct xn_curl_loop *loop; /* libcurl multi on our loop */
	CURLM *multi;
	TAILQ_HEAD(, xn_kube_req) reqs;
	TAILQ_HEAD(, xn_kube_req) waiting; /* started by us, not yet given to libcurl */
	unsigned active;		   /* easy handles in the multi handle */
	char *server;
	char *user_agent;
	char *auth_header;
	char *ca_file, *cert_file, *key_file;
	struct xn_blob ca, cert, key;
};

static void blob_copy(struct xn_blob *dst, const struct xn_blob *src)
{
	dst->len = src->len;
	dst->data = NULL;
	if (src->data != NULL) {
		dst->data = xn_xmalloc(src->len);
		memcpy(dst->data, src->data, src->len);
	}
}

static void blob_wipe(struct xn_blob *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
}

struct event_base *xn_kube_event_base(struct xn_kube *k)
{
	return k->base;
}

const char *kube_server(struct xn_kube *k)
{
	return k->server;
}

/* Take r out of libcurl's hands, or out of the waiting list. */
static void detach(struct xn_kube_req *r)
{
	struct xn_kube *k = r->k;

	if (r->attached) {
		xn_curl_loop_remove(k->loop, r->easy);
		r->attached = 0;
		k->active--;
	}
	if (r->queued) {
		TAILQ_REMOVE(&k->waiting, r, wlink);
		r->queued = 0;
	}
}

static int attach(struct xn_kube_req *r, xn_err *err)
{
	if (xn_curl_loop_add(r->k->loop, r->easy, err) < 0)
		return -1;
	r->attached = 1;
	r->k->active++;
	return 0;
}

/* Hand waiting requests to libcurl while there is room.  Never called from
 * inside libcurl (it refuses new handles there). */
static void start_waiting(struct xn_kube *k)
{
	struct xn_kube_req *r;

	while (k->active < XN_KUBE_INFLIGHT_MAX && (r = TAILQ_FIRST(&k->waiting)) != NULL) {
		xn_err err = NULL;

		TAILQ_REMOVE(&k->waiting, r, wlink);
		r->queued = 0;
		if (attach(r, &err) < 0) {
			/* as a transport error: the callback says why */
			r->werr = xn_xstrdup(xn_error_msg(err));
			xn_error_free(&err);
			r->result = CURLE_FAILED_INIT;
			r->done = 1;
			event_active(r->dispatch, EV_TIMEOUT, 0);
		}
	}
}

static void req_free(struct xn_kube_req *r)
{
	struct kube_event *e;
	struct xn_kube *k = r->k;
	int freed_slot = r->attached;

	detach(r);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	if (r->dispatch != NULL)
		event_free(r->dispatch);
	while ((e = STAILQ_FIRST(&r->events)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->events, link);
		cJSON_Delete(e->object);
		free(e);
	}
	TAILQ_REMOVE(&k->reqs, r, link);
	free(r->body_out);
	free(r->buf);
	free(r->werr);
	free(r);
	if (freed_slot)
		start_waiting(k);
}

/* The Status message of an error answer, or a short description. */
static char *error_message(struct xn_kube_req *r, cJSON *json, const char **reason)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(json, "kind");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(json, "message");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(json, "reason");

	*reason = cJSON_IsString(rs) ? rs->valuestring : NULL;
	if (r->werr != NULL)
		return xn_xstrdup(r->werr);
	if (r->result != CURLE_OK)
		return xn_xstrdup(r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result));
	if (r->status >= 200 && r->status < 300)
		return NULL;
	if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0 &&
	    cJSON_IsString(msg) && msg->valuestring[0] != '\0')
		return xn_xstrdup(msg->valuestring);
	return xn_xasprintf("HTTP %ld: %.200s", r->status, r->len ? r->buf : "(empty body)");
}

/* Deliver queued watch events, then the end; runs from the event loop. */
static void dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_kube_req *r = arg;
	struct xn_kube_response resp = {0};
	struct kube_event *e;
	char *msg;

	r->in_dispatch = 1;
	while (!r->cancelled && (e = STAILQ_FIRST(&r->events)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->events, link);
		r->event_fn(e->type, &e->object, r->arg);
		cJSON_Delete(e->object);
		free(e);
	}
	if (r->cancelled || !r->done) {
		r->in_dispatch = 0;
		if (r->cancelled)
			req_free(r);
		return;
	}
	if (r->buf != NULL)
		r->buf[r->len] = '\0';
	if (r->result != CURLE_OK || r->werr != NULL)
		r->status = 0;
	if (r->status < 200 || r->status > 299) {
		char code[16];

		snprintf(code, sizeof(code), "%ld", r->status);
		xn_metric_count(
		    "xenlet_apiserver_errors_total",
		    "Requests to the API server that failed, by HTTP status (0: no answer).",
		    "code", code, 1);
	}
	if (r->is_watch) {
		/* A watch that answered 200 has no body left but a partial line. */
		cJSON *json =
		    r->status != 200 ? cJSON_ParseWithLength(r->buf ? r->buf : "", r->len) : NULL;
		msg = error_message(r, json, &resp.reason);
		if (r->status == 200 && r->result == CURLE_OK && r->len > 0 && msg == NULL)
			msg = xn_xstrdup("watch: stream ended inside an event");
		r->end_fn(r->status, msg, r->arg);
		cJSON_Delete(json);
	} else {
		resp.status = r->status;
		resp.body = r->buf ? r->buf : "";
		resp.body_len = r->len;
		resp.json = r->len ? cJSON_ParseWithLength(r->buf, r->len) : NULL;
		msg = error_message(r, resp.json, &resp.reason);
		resp.message = msg;
		r->done_fn(&resp, r->arg);
		cJSON_Delete(resp.json);
	}
	free(msg);
	req_free(r);
}

/* A transfer finished (curl_loop.h: called outside libcurl). */
static void transfer_done(CURL *easy, CURLcode result, void *arg)
{
	struct xn_kube *k = arg;
	struct xn_kube_req *r = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	r->result = result;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	detach(r);
	r->done = 1;
	event_active(r->dispatch, EV_TIMEOUT, 0);
	start_waiting(k);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xn_kube_req *r = arg;
	size_t n = size * nmemb;
	long status = 0;

	if (r->is_watch) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200)
			return kube_watch_feed(r, data, n) < 0 ? 0 : n;
	}
	if (r->len + n > XN_KUBE_BODY_MAX) {
		free(r->werr);
		r->werr = xn_xasprintf("response larger than %u MiB", XN_KUBE_BODY_MAX >> 20);
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->buf = xn_xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	return n;
}

int xn_kube_new(struct event_base *base, const struct xn_kubeconfig *kc, const char *user_agent,
		struct xn_kube **out, xn_err *err)
{
	struct xn_kube *k;

	*out = NULL;
	k = xn_xcalloc(1, sizeof(*k));
	k->base = base;
	TAILQ_INIT(&k->reqs);
	TAILQ_INIT(&k->waiting);
	k->loop = xn_curl_loop_new(base, transfer_done, k, err);
	if (k->loop == NULL) {
		free(k);
		return -1;
	}
	k->multi = xn_curl_loop_multi(k->loop);
	/* HTTP/2: every request a stream on one connection (the API server
	 * speaks h2 over TLS); HTTP/1.1 servers get a connection per transfer,
	 * never more than we let run at once */
	curl_multi_setopt(k->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(k->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)XN_KUBE_INFLIGHT_MAX);
	k->server = xn_xstrdup(kc->server);
	k->user_agent = user_agent ? xn_xstrdup(user_agent) : xn_xstrdup("xenletd/" XN_VERSION);
	if (kc->token != NULL)
		k->auth_header = xn_xasprintf("Authorization: Bearer %s", kc->token);
	k->ca_file = xn_dup_or_null(kc->ca_file);
	k->cert_file = xn_dup_or_null(kc->cert_file);
	k->key_file = xn_dup_or_null(kc->key_file);
	blob_copy(&k->ca, &kc->ca_data);
	blob_copy(&k->cert, &kc->cert_data);
	blob_copy(&k->key, &kc->key_data);
	*out = k;
	return 0;
}

void xn_kube_free(struct xn_kube *k)
{
	struct xn_kube_req *r;

	if (k == NULL)
		return;
	while ((r = TAILQ_FIRST(&k->reqs)) != NULL)
		req_free(r);
	xn_curl_loop_free(k->loop);
	free(k->server);
	free(k->user_agent);
	if (k->auth_header != NULL)
		explicit_bzero(k->auth_header, strlen(k->auth_header));
	free(k->auth_header);
	free(k->ca_file);
	free(k->cert_file);
	free(k->key_file);
	blob_wipe(&k->ca);
	blob_wipe(&k->cert);
	blob_wipe(&k->key);
	free(k);
}

static void set_blob(CURL *e, CURLoption opt, struct xn_blob *b)
{
	struct curl_blob cb = {.data = b->data, .len = b->len, .flags = CURL_BLOB_NOCOPY};

	curl_easy_setopt(e, opt, &cb);
}

/* XN_KUBE_CURL_TRACE=1: libcurl's own account of each transfer, at debug
 * level (connections, streams, pending transfers): for diagnosing stalls. */
static int curl_trace(CURL *e, curl_infotype type, char *data, size_t size, void *arg)
{
	if (type == CURLINFO_TEXT)
		log_debug("curl %p: %.*s", (void *)e,
			  (int)(size && data[size - 1] == '\n' ? size - 1 : size), data);
	return 0;
}

/* TLS and authentication, the same for every request. */
static void set_tls(struct xn_kube *k, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (k->ca.data != NULL)
		set_blob(e, CURLOPT_CAINFO_BLOB, &k->ca);
	else if (k->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, k->ca_file);
	if (k->cert.data != NULL)
		set_blob(e, CURLOPT_SSLCERT_BLOB, &k->cert);
	else if (k->cert_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, k->cert_file);
	if (k->key.data != NULL)
		set_blob(e, CURLOPT_SSLKEY_BLOB, &k->key);
	else if (k->key_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, k->key_file);
	if (k->cert.data != NULL || k->cert_file != NULL) {
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
}

struct xn_kube_req *kube_req_new(struct xn_kube *k, enum xn_kube_method method, const char *url,
				 const cJSON *body, unsigned timeout_ms, xn_err *err)
{
	static const char *const verbs[] = {"GET", "POST", "PUT", "PATCH", "PATCH", "DELETE"};
	struct xn_kube_req *r = xn_xcalloc(1, sizeof(*r));
	const char *ctype = "Content-Type: application/json";
	CURL *e;

	r->k = k;
	STAILQ_INIT(&r->events);
	TAILQ_INSERT_TAIL(&k->reqs, r, link);
	r->easy = e = curl_easy_init();
	r->dispatch = event_new(k->base, -1, 0, dispatch_cb, r);
	if (e == NULL || r->dispatch == NULL) {
		req_free(r);
		xn_error(err, ENOMEM, "libcurl: easy init failed");
		return NULL;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_USERAGENT, k->user_agent);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* a burst at start-up waits for the first connection's h2 instead of
	 * opening one connection per request */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	/* libcurl's smallest upload buffer: our bodies are a few KiB, and its
	 * default 64 KiB per transfer, 64 transfers in flight, was most of the
	 * heap a burst of pods needed (which stayed resident afterwards) */
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	if (timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	set_tls(k, e);
	if (getenv("XN_KUBE_CURL_TRACE") != NULL) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, curl_trace);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}

	r->headers = curl_slist_append(r->headers, "Accept: application/json");
	r->headers = curl_slist_append(r->headers, "Expect:");
	if (k->auth_header != NULL)
		r->headers = curl_slist_append(r->headers, k->auth_header);
	if (method == XN_KUBE_PATCH_MERGE)
		ctype = "Content-Type: application/merge-patch+json";
	else if (method == XN_KUBE_PATCH_STRATEGIC)
		ctype = "Content-Type: application/strategic-merge-patch+json";
	if (body != NULL || method == XN_KUBE_POST || method == XN_KUBE_PUT ||
	    method == XN_KUBE_PATCH_MERGE || method == XN_KUBE_PATCH_STRATEGIC) {
		r->body_out = body ? cJSON_PrintUnformatted(body) : xn_xstrdup("{}");
		if (r->body_out == NULL) {
			req_free(r);
			xn_error(err, ENOMEM, "request body: cannot serialise JSON");
			return NULL;
		}
		r->headers = curl_slist_append(r->headers, ctype);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_out);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body_out));
	}
	if (method != XN_KUBE_GET && method != XN_KUBE_POST)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, verbs[method]);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	return r;
}

int kube_req_start(struct xn_kube_req *r, xn_err *err)
{
	struct xn_kube *k = r->k;

	if (k->active >= XN_KUBE_INFLIGHT_MAX || !TAILQ_EMPTY(&k->waiting)) {
		r->queued = 1;
		TAILQ_INSERT_TAIL(&k->waiting, r, wlink);
		return 0;
	}
	return attach(r, err);
}

struct xn_kube_req *xn_kube_request(struct xn_kube *k, enum xn_kube_method method, const char *path,
				    const cJSON *body, unsigned timeout_ms, xn_kube_done_fn done,
				    void *arg, xn_err *err)
{
	cleanup_free char *url = xn_xasprintf("%s%s", k->server, path);
	struct xn_kube_req *r;

	if ((unsigned)method > XN_KUBE_DELETE || path[0] != '/') {
		xn_error(err, EINVAL, "request %s: bad method or path", path);
		return NULL;
	}
	r = kube_req_new(k, method, url, body, timeout_ms ? timeout_ms : XN_KUBE_TIMEOUT_MS_DEFAULT,
			 err);
	if (r == NULL)
		return NULL;
	r->done_fn = done;
	r->arg = arg;
	if (kube_req_start(r, err) < 0) {
		req_free(r);
		return NULL;
	}
	return r;
}

void xn_kube_cancel(struct xn_kube_req *r)
{
	if (r == NULL || r->cancelled)
		return;
	if (!r->in_dispatch) {
		req_free(r);
		return;
	}
	/* Our own callback is running: stop the transfer now, free on return. */
	r->cancelled = 1;
	detach(r);
}

char *xn_kube_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = xn_xstrdup(e);

	curl_free(e);
	return copy;
}

const char *xn_kube_meta(const cJSON *obj, const char *field)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}
