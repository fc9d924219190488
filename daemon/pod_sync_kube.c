/* pod_sync_kube.c - pod_sync's API (struct xn_pod_sync_api) on the real
 * API server: the kube client for status patches and deletes, an informer
 * of this node's pods, and the Events module. */
#include <errno.h>
#include <stdio.h>

#include "pod_sync_priv.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

struct kctx {
	struct xn_kube *k;
	struct xn_kube_events *events;
	struct xn_informer *inf;
};

/* A request whose answer goes to pod_sync's done callback; the handle
 * pod_sync holds. */
struct call {
	struct xn_kube_req *req;
	xn_pod_sync_done_fn done;
	void *arg;
};

static void answered(struct xn_kube_response *resp, void *arg)
{
	struct call *c = arg;
	xn_pod_sync_done_fn done = c->done;
	void *darg = c->arg;

	free(c);
	done(resp->status, resp->message, darg);
}

static void *request(struct kctx *kc, enum xn_kube_method m, const char *path, const cJSON *body,
		     xn_pod_sync_done_fn done, void *arg, xn_err *err)
{
	struct call *c = xn_xcalloc(1, sizeof(*c));

	c->done = done;
	c->arg = arg;
	c->req = xn_kube_request(kc->k, m, path, body, 0, answered, c, err);
	if (c->req == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void *patch_status(void *ctx, const char *ns, const char *name, const cJSON *body,
			  xn_pod_sync_done_fn done, void *arg, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);

	return request(ctx, XN_KUBE_PATCH_MERGE, path, body, done, arg, err);
}

static void *delete_pod(void *ctx, const char *ns, const char *name, const char *uid,
			xn_pod_sync_done_fn done, void *arg, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	cJSON *body = cJSON_CreateObject();
	void *r;

	cJSON_AddNumberToObject(body, "gracePeriodSeconds", 0);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "preconditions"), "uid", uid);
	r = request(ctx, XN_KUBE_DELETE, path, body, done, arg, err);
	cJSON_Delete(body);
	return r;
}

static void cancel(void *ctx, void *req)
{
	struct call *c = req;

	xn_kube_cancel(c->req); /* answered() never comes */
	free(c);
}

static void event(void *ctx, const struct xn_event_object *obj, const char *type,
		  const char *reason, const char *message)
{
	struct kctx *kc = ctx;

	xn_kube_event(kc->events, obj, type, reason, message);
}

static void events_hold(void *ctx, bool hold)
{
	struct kctx *kc = ctx;

	xn_kube_events_hold(kc->events, hold);
}

static const cJSON *get_pod(void *ctx, const char *ns, const char *name)
{
	struct kctx *kc = ctx;

	return xn_informer_get(kc->inf, ns, name);
}

static bool synced(void *ctx)
{
	struct kctx *kc = ctx;

	return xn_informer_synced(kc->inf);
}

static const struct xn_pod_sync_api kube_api = {
    .patch_status = patch_status,
    .delete_pod = delete_pod,
    .cancel = cancel,
    .event = event,
    .events_hold = events_hold,
    .get_pod = get_pod,
    .synced = synced,
};

static void inf_add(const cJSON *obj, void *arg)
{
	xn_pod_sync_pod_changed(arg, obj);
}

static void inf_update(const cJSON *old, const cJSON *obj, void *arg)
{
	xn_pod_sync_pod_changed(arg, obj);
}

static void inf_del(const cJSON *obj, void *arg)
{
	xn_pod_sync_pod_deleted(arg, obj);
}

static void inf_synced(void *arg)
{
	xn_pod_sync_synced(arg);
}

static void inf_error(long status, const char *message, void *arg)
{
	log_warnx("pods of this node: list/watch: %s (status %ld); retrying",
		  message ? message : "?", status);
}

static void kctx_free(void *ctx)
{
	struct kctx *kc = ctx;

	xn_informer_free(kc->inf);
	free(kc);
}

struct xn_pod_sync *xn_pod_sync_new(struct event_base *base, struct xn_kube *k,
				    struct xn_kube_events *events, struct xn_runtime *rt,
				    const struct xn_pod_sync_opts *opts, xn_err *err)
{
	static const struct xn_informer_ops ops = {
	    .add = inf_add,
	    .update = inf_update,
	    .del = inf_del,
	    .synced = inf_synced,
	    .error = inf_error,
	};
	struct kctx *kc = xn_xcalloc(1, sizeof(*kc));
	struct xn_pod_sync *ps = xn_pod_sync_new_api(base, &kube_api, kc, rt, opts);
	cleanup_free char *sel = xn_xasprintf("spec.nodeName=%s", opts->node_name);
	cleanup_free char *esc = xn_kube_escape(sel);
	cleanup_free char *query = xn_xasprintf("fieldSelector=%s", esc);

	kc->k = k;
	kc->events = events;
	pod_sync_set_ctx(ps, kc, kctx_free);
	kc->inf = xn_informer_new(k, "/api/v1/pods", query, &ops, ps);
	if (kc->inf == NULL) {
		xn_error(err, ENOMEM, "pods informer: cannot start");
		xn_pod_sync_free(ps);
		return NULL;
	}
	return ps;
}
