/* kube.h - Kubernetes API client: requests, watches and informers.
 *
 * One struct xn_kube per API server.  All I/O runs on the caller's libevent
 * loop through libcurl's multi interface (socket and timer callbacks feed
 * curl_multi_socket_action): no threads, no polling.  TLS verification is
 * always on; credentials come from a kubeconfig (see kubeconfig.h) and are
 * handed to libcurl from memory.
 *
 * Callbacks are never called from inside xn_kube_* calls nor from inside
 * libcurl: they run from the event loop, so a callback may start requests
 * and cancel any request, including the one it is called for.  A callback
 * must not call xn_kube_free.
 *
 * Paths are absolute API paths, e.g. "/api/v1/namespaces/default/pods/x";
 * a path may carry a query string ("...?labelSelector=a%3Db"), already
 * escaped by the caller (xn_kube_escape helps).
 */
#ifndef XENLET_KUBE_H
#define XENLET_KUBE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "xenlet/err.h"
#include "xenlet/kubeconfig.h"

struct event_base;
struct xn_kube;
struct xn_kube_req;

enum xn_kube_method {
	XN_KUBE_GET,
	XN_KUBE_POST,
	XN_KUBE_PUT,
	XN_KUBE_PATCH_MERGE,	 /* application/merge-patch+json */
	XN_KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	XN_KUBE_DELETE,
};

/* Requests and watches handed to libcurl at once; more wait (FIFO) for a
 * slot, their timeout starting then.  Kept below the 100 streams libcurl
 * puts on one HTTP/2 connection, so one connection carries everything. */
#define XN_KUBE_INFLIGHT_MAX 64
/* Default per-request timeout when 0 is given. */
#define XN_KUBE_TIMEOUT_MS_DEFAULT 30000
/* Largest response body of an ordinary request, and largest watch event. */
#define XN_KUBE_BODY_MAX  (64u << 20)
#define XN_KUBE_EVENT_MAX (16u << 20)

struct xn_kube_response {
	long status;	  /* HTTP status; 0 when no response came (see message) */
	cJSON *json;	  /* the parsed body, or NULL when it was not JSON; owned
			   * by the library: set to NULL to keep it */
	const char *body; /* raw body (NUL-terminated), for non-JSON answers */
	size_t body_len;
	const char *message; /* NULL on 2xx; else the Kubernetes Status message
			      * ("pods \"x\" not found"), the transport error
			      * ("Couldn't connect to server: ..."), or "HTTP 502: <body>" */
	const char *reason;  /* Status.reason ("NotFound", "Expired"...) or NULL */
};

typedef void (*xn_kube_done_fn)(struct xn_kube_response *resp, void *arg);

/* Create a client for the kubeconfig's server; the credentials are copied.
 * user_agent NULL means "xenletd/<version>". */
int xn_kube_new(struct event_base *base, const struct xn_kubeconfig *kc, const char *user_agent,
		struct xn_kube **out, xn_err *err);
/* Cancel every request and watch (their callbacks are not called) and free. */
void xn_kube_free(struct xn_kube *k);
struct event_base *xn_kube_event_base(struct xn_kube *k);

/* Start a request.  body (may be NULL) is serialised now.  timeout_ms 0
 * means XN_KUBE_TIMEOUT_MS_DEFAULT.  done is called exactly once unless the
 * request is cancelled; the request is freed after done returns.  Returns
 * NULL (and sets *err) only when the request could not be set up. */
struct xn_kube_req *xn_kube_request(struct xn_kube *k, enum xn_kube_method method, const char *path,
				    const cJSON *body, unsigned timeout_ms, xn_kube_done_fn done,
				    void *arg, xn_err *err);
/* Cancel a pending request or watch: no callback is called after this.
 * NULL is fine. */
void xn_kube_cancel(struct xn_kube_req *r);

/* ---- watches ---- */

enum xn_kube_event_type {
	XN_KUBE_ADDED,
	XN_KUBE_MODIFIED,
	XN_KUBE_DELETED,
	XN_KUBE_BOOKMARK,
	XN_KUBE_ERROR, /* object is a Status; code 410 means "relist" */
};
const char *xn_kube_event_name(enum xn_kube_event_type t);

/* object is owned by the library: set *object to NULL to keep it. */
typedef void (*xn_kube_event_fn)(enum xn_kube_event_type type, cJSON **object, void *arg);
/* The watch ended: status 200 with message NULL is a normal end (the server's
 * timeoutSeconds); otherwise status/message as in xn_kube_response
 * (410 = resourceVersion too old).  The watch is freed after this returns. */
typedef void (*xn_kube_watch_end_fn)(long status, const char *message, void *arg);

/* GET path?watch=1&allowWatchBookmarks=true&resourceVersion=rv&timeoutSeconds=t
 * (path may already carry a query).  rv NULL or "" watches from "now".
 * timeout_s 0 picks a random 5..10 minutes, as client-go does. */
struct xn_kube_req *xn_kube_watch(struct xn_kube *k, const char *path, const char *rv,
				  unsigned timeout_s, xn_kube_event_fn on_event,
				  xn_kube_watch_end_fn on_end, void *arg, xn_err *err);

/* ---- informer: list, then watch, with a cache ---- */

struct xn_informer;

struct xn_informer_ops {
	/* The cache changed.  Objects stay owned by the cache; `old` is freed
	 * after update/del return. */
	void (*add)(const cJSON *obj, void *arg);
	void (*update)(const cJSON *old, const cJSON *obj, void *arg);
	void (*del)(const cJSON *obj, void *arg);
	/* After each complete list was merged into the cache (optional). */
	void (*synced)(void *arg);
	/* A list or watch failed; the informer retries by itself (optional). */
	void (*error)(long status, const char *message, void *arg);
};

struct xn_informer_stats {
	unsigned lists;	     /* complete lists done */
	unsigned relists410; /* lists caused by 410 Gone */
	unsigned watches;    /* watch requests started */
	unsigned errors;     /* failed lists/watches */
	uint64_t backoff_ms; /* the current back-off (0 when healthy) */
};

/* path: a collection, e.g. "/api/v1/pods"; query: extra parameters without
 * '?' ("fieldSelector=spec.nodeName%3Dn1") or NULL.  Starts immediately. */
struct xn_informer *xn_informer_new(struct xn_kube *k, const char *path, const char *query,
				    const struct xn_informer_ops *ops, void *arg);
/* Stop and free; no callback is called afterwards.  NULL is fine. */
void xn_informer_free(struct xn_informer *inf);

/* The cached object "ns/name" ("name" for cluster-scoped), or NULL. */
const cJSON *xn_informer_get(struct xn_informer *inf, const char *ns, const char *name);
size_t xn_informer_count(struct xn_informer *inf);
/* Call fn for each cached object (do not change the cache from fn). */
void xn_informer_foreach(struct xn_informer *inf, void (*fn)(const cJSON *obj, void *arg),
			 void *arg);
/* The resourceVersion the informer is in sync with ("" before the first list). */
const char *xn_informer_rv(struct xn_informer *inf);
int xn_informer_synced(struct xn_informer *inf);
void xn_informer_get_stats(struct xn_informer *inf, struct xn_informer_stats *st);
/* Drop the current list/watch and watch again from rv (NULL: the informer's
 * own).  For tests and diagnostics: a too old rv must lead to a relist. */
void xn_informer_rewatch(struct xn_informer *inf, const char *rv);

/* ---- small helpers ---- */

/* URL-escape a query value (new string). */
char *xn_kube_escape(const char *s);
/* metadata.name / metadata.namespace / metadata.resourceVersion, or NULL. */
const char *xn_kube_meta(const cJSON *obj, const char *field);

#endif
