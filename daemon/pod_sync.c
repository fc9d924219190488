/* pod_sync.c - pods bound to this node <-> the runtime (see pod_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "xenlet/crilog.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/log.h"
#include "xenlet/pod_status.h"
#include "xenlet/pod_sync.h"
#include "xenlet/util.h"

/* What we know of one pod object beyond the runtime's view. */
struct tracked {
	TAILQ_ENTRY(tracked) entry;
	struct xn_pod_sync *ps;
	char *uid;
	char *ns;
	char *name;
	char start_time[24];
	cJSON *rejected; /* the Failed status of a pod we refused, else NULL */
	bool deleting;	 /* DELETE with grace 0 is due / in flight */
	bool dirty;	 /* a status patch is due */
	struct xn_kube_req *req;
	struct event *retry;
	unsigned retry_ms;
	char *last_sent; /* the last status body that reached the API server */
};

TAILQ_HEAD(tracked_list, tracked);

struct xn_pod_sync {
	struct event_base *base;
	struct xn_kube *k;
	struct xn_kube_events *events;
	struct xn_runtime *rt;
	struct xn_pod_sync_opts opts;
	char *node_name;
	char *node_ip;
	struct xn_informer *inf;
	struct tracked_list pods;
	struct event *flush;
};

static void schedule_flush(struct xn_pod_sync *ps);

/* ---- small helpers ---- */

static const cJSON *jget(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	return b && v ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

static const char *jstr(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = jget(o, a, b);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct tracked *find(struct xn_pod_sync *ps, const char *uid)
{
	struct tracked *t;

	TAILQ_FOREACH(t, &ps->pods, entry)
	if (strcmp(t->uid, uid) == 0)
		return t;
	return NULL;
}

static struct tracked *track(struct xn_pod_sync *ps, const char *uid, const char *ns,
			     const char *name)
{
	struct tracked *t = find(ps, uid);

	if (t != NULL)
		return t;
	t = xn_xcalloc(1, sizeof(*t));
	t->ps = ps;
	t->uid = xn_xstrdup(uid);
	t->ns = xn_xstrdup(ns);
	t->name = xn_xstrdup(name);
	TAILQ_INSERT_TAIL(&ps->pods, t, entry);
	return t;
}

static void untrack(struct tracked *t)
{
	TAILQ_REMOVE(&t->ps->pods, t, entry);
	xn_kube_cancel(t->req);
	if (t->retry)
		event_free(t->retry);
	cJSON_Delete(t->rejected);
	free(t->last_sent);
	free(t->uid);
	free(t->ns);
	free(t->name);
	free(t);
}

static void event_for(struct xn_pod_sync *ps, const char *ns, const char *name, const char *uid,
		      const char *container, const char *type, const char *reason,
		      const char *message)
{
	char field[128];
	struct xn_event_object obj = {.kind = "Pod", .ns = ns, .name = name, .uid = uid};

	if (container) {
		snprintf(field, sizeof(field), "spec.containers{%s}", container);
		obj.field_path = field;
	}
	xn_kube_event(ps->events, &obj, type, reason, message);
}

/* ---- status ---- */

/* The status body due for t, or NULL when there is nothing to say. */
static cJSON *status_for(struct tracked *t)
{
	struct xn_pod_sync *ps = t->ps;
	const struct xn_pod_spec *spec = xn_runtime_spec(ps->rt, t->uid);
	const struct xn_pod_status *st = xn_runtime_status(ps->rt, t->uid);
	const cJSON *pod = xn_informer_get(ps->inf, t->ns, t->name);

	if (t->rejected)
		return cJSON_Duplicate(t->rejected, 1);
	if (spec == NULL || st == NULL || pod == NULL)
		return NULL;
	return xn_pod_status_json(spec, st, pod, ps->node_ip, t->start_time);
}

static void send_status(struct tracked *t);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracked *t = arg;

	if (t->deleting)
		t->dirty = true;
	send_status(t);
}

static void retry_later(struct tracked *t)
{
	struct timeval tv;

	t->retry_ms = t->retry_ms ? t->retry_ms * 2 : 200;
	if (t->retry_ms > 30000)
		t->retry_ms = 30000;
	if (t->retry == NULL)
		t->retry = evtimer_new(t->ps->base, retry_cb, t);
	tv.tv_sec = t->retry_ms / 1000;
	tv.tv_usec = (t->retry_ms % 1000) * 1000;
	evtimer_add(t->retry, &tv);
}

static void deleted(struct xn_kube_response *resp, void *arg)
{
	struct tracked *t = arg;

	t->req = NULL;
	if (resp->status == 200 || resp->status == 404 || resp->status == 409) {
		/* 409: the uid precondition failed, a new pod of that name exists */
		log_info("pod %s/%s: deleted", t->ns, t->name);
		untrack(t);
		return;
	}
	log_warnx("pod %s/%s: delete: %s; retrying", t->ns, t->name,
		  resp->message ? resp->message : "?");
	retry_later(t);
}

static void patched(struct xn_kube_response *resp, void *arg)
{
	struct tracked *t = arg;
	char *sent = t->last_sent;

	t->req = NULL;
	if (resp->status >= 200 && resp->status < 300) {
		t->retry_ms = 0;
		if (t->dirty)
			send_status(t);
		return;
	}
	/* not sent after all: forget what we thought the server has */
	t->last_sent = NULL;
	free(sent);
	if (resp->status == 404) {
		log_info("pod %s/%s: gone from the API server", t->ns, t->name);
		return; /* the informer's delete handler stops the pod */
	}
	log_warnx("pod %s/%s: status: %s; retrying", t->ns, t->name,
		  resp->message ? resp->message : "?");
	t->dirty = true;
	retry_later(t);
}

static void send_status(struct tracked *t)
{
	struct xn_pod_sync *ps = t->ps;
	cJSON *status, *body;
	char *text, *path;
	xn_err err = NULL;

	if (t->req != NULL)
		return; /* patched()/deleted() come back here */
	if (t->deleting) {
		if (!t->dirty)
			return;
		t->dirty = false;
		body = cJSON_CreateObject();
		cJSON_AddNumberToObject(body, "gracePeriodSeconds", 0);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "preconditions"), "uid",
					t->uid);
		path = xn_xasprintf("/api/v1/namespaces/%s/pods/%s", t->ns, t->name);
		t->req = xn_kube_request(ps->k, XN_KUBE_DELETE, path, body, 0, deleted, t, &err);
		free(path);
		cJSON_Delete(body);
		if (t->req == NULL) {
			log_warnx("pod %s/%s: delete: %s", t->ns, t->name, xn_error_msg(err));
			xn_error_free(&err);
			t->dirty = true;
			retry_later(t);
		}
		return;
	}
	if (!t->dirty || !xn_informer_synced(ps->inf))
		return;
	t->dirty = false;
	status = status_for(t);
	if (status == NULL)
		return;
	body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "status", status);
	text = cJSON_PrintUnformatted(body);
	if (text && t->last_sent && strcmp(text, t->last_sent) == 0) {
		free(text);
		cJSON_Delete(body);
		return;
	}
	free(t->last_sent);
	t->last_sent = text;
	path = xn_xasprintf("/api/v1/namespaces/%s/pods/%s/status", t->ns, t->name);
	t->req = xn_kube_request(ps->k, XN_KUBE_PATCH_MERGE, path, body, 0, patched, t, &err);
	free(path);
	cJSON_Delete(body);
	if (t->req == NULL) {
		log_warnx("pod %s/%s: status: %s", t->ns, t->name, xn_error_msg(err));
		xn_error_free(&err);
		free(t->last_sent);
		t->last_sent = NULL;
		t->dirty = true;
		retry_later(t);
	}
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_pod_sync *ps = arg;
	struct tracked *t, *next;

	for (t = TAILQ_FIRST(&ps->pods); t; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->dirty && (t->retry == NULL || !evtimer_pending(t->retry, NULL)))
			send_status(t);
	}
}

static void schedule_flush(struct xn_pod_sync *ps)
{
	struct timeval zero = {0, 0};

	if (!evtimer_pending(ps->flush, NULL))
		evtimer_add(ps->flush, &zero);
}

static void mark_dirty(struct tracked *t)
{
	t->dirty = true;
	schedule_flush(t->ps);
}

/* ---- admission ---- */

static void reject_pod(struct xn_pod_sync *ps, const cJSON *pod, const char *reason,
		       const char *message, const char *container)
{
	const char *uid = xn_kube_meta(pod, "uid"), *ns = xn_kube_meta(pod, "namespace"),
		   *name = xn_kube_meta(pod, "name");
	struct tracked *t = track(ps, uid, ns, name);
	char now[24];

	xn_rfc3339(xn_now_real_ns(), now);
	cJSON_Delete(t->rejected);
	t->rejected = xn_pod_status_rejected(reason, message, ps->node_ip, now);
	log_info("pod %s/%s: rejected: %s: %s", ns, name, reason, message);
	/* as the kubelet: admission failures carry their own reason, the rest
	 * are "Failed" events whose message says why */
	event_for(ps, ns, name, uid, container, "Warning",
		  strncmp(reason, "OutOf", 5) == 0 ? reason : "Failed", message);
	mark_dirty(t);
}

static const char *container_name(const cJSON *pod)
{
	const cJSON *c = cJSON_GetArrayItem(jget(pod, "spec", "containers"), 0);

	return jstr(c, "name", NULL);
}

static void admit(struct xn_pod_sync *ps, const cJSON *pod)
{
	const char *uid = xn_kube_meta(pod, "uid"), *ns = xn_kube_meta(pod, "namespace"),
		   *name = xn_kube_meta(pod, "name");
	struct xn_pod_spec spec;
	struct xn_pod_reject rej;
	char *warnings = NULL;
	char msg[1024];
	struct stat sb;
	xn_err err = NULL;
	struct tracked *t;
	const char *start;

	if (xn_pod_translate(pod, &ps->opts.defaults, &spec, &warnings, &rej) < 0) {
		reject_pod(ps, pod, rej.reason, rej.message, container_name(pod));
		return;
	}
	snprintf(msg, sizeof(msg), "Pulling image \"%s\"", spec.image);
	event_for(ps, ns, name, uid, spec.container, "Normal", "Pulling", msg);
	if (stat(spec.kernel, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(msg, sizeof(msg), "Failed to pull image \"%s\": %s", spec.image,
			 stat(spec.kernel, &sb) < 0 ? strerror(errno) : "not a regular file");
		reject_pod(ps, pod, "ErrImagePull", msg, spec.container);
		goto out;
	}
	snprintf(msg, sizeof(msg), "Successfully pulled image \"%s\" (local file, %lld bytes)",
		 spec.image, (long long)sb.st_size);
	event_for(ps, ns, name, uid, spec.container, "Normal", "Pulled", msg);
	if (ps->opts.allocatable) {
		struct xn_node_resources alloc, used = {0};
		uint64_t mem_kb;
		unsigned vcpus;

		ps->opts.allocatable(ps->opts.allocatable_arg, &alloc);
		xn_runtime_usage(ps->rt, &used.pods, &mem_kb, &vcpus);
		used.memory_bytes = (int64_t)mem_kb * 1024;
		used.cpu_milli = (int64_t)xn_runtime_cpu_requests(ps->rt);
		if (xn_pod_admit(&spec, spec.cpu_request_milli, &alloc, &used, &rej) < 0) {
			reject_pod(ps, pod, rej.reason, rej.message, spec.container);
			goto out;
		}
	}
	if (warnings && warnings[0]) {
		snprintf(msg, sizeof(msg),
			 "ignored, a unikernel domain has no such thing: %s (see docs/pods.md)",
			 warnings);
		event_for(ps, ns, name, uid, spec.container, "Warning", "UnsupportedFields", msg);
	}
	t = track(ps, uid, ns, name);
	start = jstr(pod, "status", "startTime");
	if (start)
		snprintf(t->start_time, sizeof(t->start_time), "%s", start);
	else
		xn_rfc3339(xn_now_real_ns(), t->start_time);
	if (xn_runtime_run(ps->rt, &spec, &err) < 0) {
		reject_pod(ps, pod, "CreateContainerConfigError", xn_error_msg(err),
			   spec.container);
		xn_error_free(&err);
		goto out;
	}
out:
	free(warnings);
	xn_pod_spec_dispose(&spec);
}

/* ---- informer callbacks ---- */

static void on_pod(const cJSON *pod, struct xn_pod_sync *ps)
{
	const char *uid = xn_kube_meta(pod, "uid"), *ns = xn_kube_meta(pod, "namespace"),
		   *name = xn_kube_meta(pod, "name");
	const char *phase = jstr(pod, "status", "phase");
	const struct xn_pod_status *st;
	struct tracked *t;

	if (uid == NULL || ns == NULL || name == NULL)
		return;
	st = xn_runtime_status(ps->rt, uid);
	if (jget(pod, "metadata", "deletionTimestamp") != NULL) {
		const cJSON *g = jget(pod, "metadata", "deletionGracePeriodSeconds");
		unsigned grace =
		    cJSON_IsNumber(g) && g->valuedouble >= 0 ? (unsigned)g->valuedouble : 30;
		xn_err err = NULL;

		t = track(ps, uid, ns, name);
		if (st != NULL) {
			/* set first: the kill may forget the pod at once (no domain),
			 * and the REMOVED callback sends the DELETE when it sees this */
			t->deleting = true;
			if (!st->stopping && xn_runtime_kill(ps->rt, uid, grace, &err) < 0) {
				log_warnx("pod %s/%s: %s", ns, name, xn_error_msg(err));
				xn_error_free(&err);
			}
			return;
		}
		if (!t->deleting) {
			t->deleting = true;
			mark_dirty(t);
		}
		return;
	}
	if (st != NULL) {
		t = track(ps, uid, ns, name);
		if (t->last_sent == NULL)
			mark_dirty(t); /* e.g. after a daemon restart */
		return;
	}
	t = find(ps, uid);
	if (t && t->rejected) {
		if (!phase || strcmp(phase, "Failed") != 0)
			mark_dirty(t);
		return;
	}
	if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		return; /* finished before; nothing runs */
	admit(ps, pod);
}

static void inf_add(const cJSON *obj, void *arg)
{
	on_pod(obj, arg);
}

static void inf_update(const cJSON *old, const cJSON *obj, void *arg)
{
	on_pod(obj, arg);
}

static void inf_del(const cJSON *obj, void *arg)
{
	struct xn_pod_sync *ps = arg;
	const char *uid = xn_kube_meta(obj, "uid");
	struct tracked *t;
	xn_err err = NULL;

	if (uid && xn_runtime_status(ps->rt, uid) != NULL) {
		log_info("pod %s/%s: deleted from the API server; stopping it now",
			 xn_kube_meta(obj, "namespace"), xn_kube_meta(obj, "name"));
		if (xn_runtime_kill(ps->rt, uid, 0, &err) < 0) {
			log_warnx("%s", xn_error_msg(err));
			xn_error_free(&err);
		}
	}
	/* looked up only now: the kill may already have dropped it */
	t = uid ? find(ps, uid) : NULL;
	if (t) {
		t->deleting = false; /* nothing left to delete */
		untrack(t);
	}
}

struct orphan_ctx {
	struct xn_pod_sync *ps;
	char **uids;
	size_t n;
};

static int find_orphan(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	struct orphan_ctx *o = arg;
	const cJSON *pod;

	if (s->local || st->stopping)
		return 0;
	pod = xn_informer_get(o->ps->inf, s->ns, s->name);
	if (pod == NULL ||
	    strcmp(xn_kube_meta(pod, "uid") ? xn_kube_meta(pod, "uid") : "", s->uid) != 0) {
		o->uids = xn_xrealloc(o->uids, (o->n + 1) * sizeof(char *));
		o->uids[o->n++] = xn_xstrdup(s->uid);
	}
	return 0;
}

static void inf_synced(void *arg)
{
	struct xn_pod_sync *ps = arg;
	struct orphan_ctx o = {.ps = ps};
	xn_err err = NULL;

	/* pods deleted from the API server while we were not watching */
	xn_runtime_foreach(ps->rt, find_orphan, &o);
	for (size_t i = 0; i < o.n; i++) {
		const struct xn_pod_spec *s = xn_runtime_spec(ps->rt, o.uids[i]);
		log_info("pod %s/%s: no longer on the API server; stopping it", s->ns, s->name);
		if (xn_runtime_kill(ps->rt, o.uids[i], 0, &err) < 0) {
			log_warnx("%s", xn_error_msg(err));
			xn_error_free(&err);
		}
		free(o.uids[i]);
	}
	free(o.uids);
	schedule_flush(ps);
}

static void inf_error(long status, const char *message, void *arg)
{
	log_warnx("pods of this node: list/watch: %s (status %ld); retrying",
		  message ? message : "?", status);
}

/* ---- runtime callbacks ---- */

void xn_pod_sync_runtime_event(struct xn_pod_sync *ps, enum xn_runtime_event ev, const char *uid,
			       const struct xn_pod_status *st)
{
	const struct xn_pod_spec *spec;
	struct tracked *t;

	if (ps == NULL)
		return;
	spec = xn_runtime_spec(ps->rt, uid);
	t = find(ps, uid);
	if (ev == XN_RT_REMOVED) {
		if (t && t->deleting) {
			t->dirty = true;
			send_status(t);
		} else if (t) {
			untrack(t);
		}
		return;
	}
	if (spec == NULL || spec->local)
		return;
	if (t == NULL)
		t = track(ps, uid, spec->ns, spec->name);
	mark_dirty(t);
}

void xn_pod_sync_runtime_note(struct xn_pod_sync *ps, const char *uid, const char *type,
			      const char *reason, const char *message)
{
	const struct xn_pod_spec *spec;

	if (ps == NULL)
		return;
	spec = xn_runtime_spec(ps->rt, uid);
	if (spec == NULL || spec->local)
		return;
	event_for(ps, spec->ns, spec->name, spec->uid, spec->container, type, reason, message);
}

/* ---- life ---- */

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
	struct xn_pod_sync *ps = xn_xcalloc(1, sizeof(*ps));
	cleanup_free char *sel = xn_xasprintf("spec.nodeName=%s", opts->node_name);
	cleanup_free char *esc = xn_kube_escape(sel);
	cleanup_free char *query = xn_xasprintf("fieldSelector=%s", esc);

	ps->base = base;
	ps->k = k;
	ps->events = events;
	ps->rt = rt;
	ps->opts = *opts;
	ps->node_name = xn_xstrdup(opts->node_name);
	ps->node_ip = opts->node_ip ? xn_xstrdup(opts->node_ip) : NULL;
	ps->opts.node_name = ps->node_name;
	ps->opts.node_ip = ps->node_ip;
	TAILQ_INIT(&ps->pods);
	ps->flush = evtimer_new(base, flush_cb, ps);
	ps->inf = xn_informer_new(k, "/api/v1/pods", query, &ops, ps);
	if (ps->inf == NULL) {
		xn_error(err, ENOMEM, "pods informer: cannot start");
		xn_pod_sync_free(ps);
		return NULL;
	}
	return ps;
}

void xn_pod_sync_free(struct xn_pod_sync *ps)
{
	struct tracked *t;

	if (ps == NULL)
		return;
	xn_informer_free(ps->inf);
	while ((t = TAILQ_FIRST(&ps->pods)) != NULL)
		untrack(t);
	if (ps->flush)
		event_free(ps->flush);
	free(ps->node_name);
	free(ps->node_ip);
	free(ps);
}
