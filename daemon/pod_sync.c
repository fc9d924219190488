/* pod_sync.c - pods bound to this node <-> the runtime (see pod_sync.h).
 * The API server is reached through struct xn_pod_sync_api only
 * (pod_sync_kube.c is the real one). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "pod_sync_priv.h"
#include "xenlet/crilog.h"
#include "xenlet/image_path.h"
#include "xenlet/image_pod.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/log.h"
#include "xenlet/pod_status.h"
#include "xenlet/pod_sync.h"
#include "xenlet/util.h"

#define MS_NS 1000000ull

/* What we know of one pod object beyond the runtime's view. */
struct tracked {
	TAILQ_ENTRY(tracked) entry;
	struct xn_pod_sync *ps;
	char *uid;
	char *ns;
	char *name;
	char start_time[24];
	cJSON *rejected;	/* the Failed status of a pod we refused, else NULL */
	bool deleting;		/* deletionTimestamp seen: the pod is being stopped */
	bool gone;		/* the runtime let it go: DELETE with grace 0 due / in flight */
	bool dirty;		/* a status patch (or the DELETE) is due */
	uint64_t hold_until_ns; /* first status held until then (monotonic), 0: not held */
	void *req;		/* the patch or DELETE in flight */
	struct event *retry;
	unsigned retry_ms;
	char *last_sent; /* the last status body that reached the API server */
	/* a registry image on its way (image_pod.h): the spec waits here */
	struct xn_image_wait *image;
	struct xn_pod_spec *image_spec;
	char *image_warnings;
};

TAILQ_HEAD(tracked_list, tracked);

struct xn_pod_sync {
	struct event_base *base;
	const struct xn_pod_sync_api *api;
	void *ctx;
	void (*ctx_free)(void *ctx);
	struct xn_runtime *rt;
	struct xn_pod_sync_opts opts;
	char *node_name;
	char *node_ip;
	struct tracked_list pods;
	struct event *flush;
	bool events_held;
};

static void schedule_flush(struct xn_pod_sync *ps, uint64_t delay_ns);

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

static const char *meta(const cJSON *pod, const char *field)
{
	return jstr(pod, "metadata", field);
}

/* Stop waiting for an image (the pod goes, or the image is there). */
static void image_forget(struct tracked *t)
{
	xn_image_wait_free(t->image);
	t->image = NULL;
	if (t->image_spec)
		xn_pod_spec_dispose(t->image_spec);
	free(t->image_spec);
	t->image_spec = NULL;
	free(t->image_warnings);
	t->image_warnings = NULL;
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
	struct xn_pod_sync *ps = t->ps;

	TAILQ_REMOVE(&ps->pods, t, entry);
	if (t->req)
		ps->api->cancel(ps->ctx, t->req);
	if (t->retry)
		event_free(t->retry);
	cJSON_Delete(t->rejected);
	image_forget(t);
	free(t->last_sent);
	free(t->uid);
	free(t->ns);
	free(t->name);
	free(t);
	schedule_flush(ps, 0); /* the Events may go now */
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
	ps->api->event(ps->ctx, &obj, type, reason, message);
}

/* ---- status ---- */

/* The status body due for t, or NULL when there is nothing to say. */
static cJSON *status_for(struct tracked *t)
{
	struct xn_pod_sync *ps = t->ps;
	const struct xn_pod_spec *spec = xn_runtime_spec(ps->rt, t->uid);
	const struct xn_pod_status *st = xn_runtime_status(ps->rt, t->uid);
	const cJSON *pod = ps->api->get_pod(ps->ctx, t->ns, t->name);

	if (t->rejected)
		return cJSON_Duplicate(t->rejected, 1);
	if (t->image && pod != NULL) {
		/* waiting for the image: Pending, the pull's reason */
		struct xn_pod_status wst = {.state = XN_INST_WAITING, .phase = XN_POD_CREATING};

		snprintf(wst.reason, sizeof(wst.reason), "%s", xn_image_wait_reason(t->image));
		snprintf(wst.message, sizeof(wst.message), "%s", xn_image_wait_message(t->image));
		return xn_pod_status_json(t->image_spec, &wst, pod, ps->node_ip, t->start_time);
	}
	if (spec == NULL || st == NULL || pod == NULL)
		return NULL;
	return xn_pod_status_json(spec, st, pod, ps->node_ip, t->start_time);
}

static void send_status(struct tracked *t);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracked *t = arg;

	t->dirty = true;
	send_status(t);
}

static void retry_later(struct tracked *t)
{
	struct timeval tv;

	t->dirty = true;
	t->retry_ms = t->retry_ms ? t->retry_ms * 2 : 200;
	if (t->retry_ms > 30000)
		t->retry_ms = 30000;
	if (t->retry == NULL)
		t->retry = evtimer_new(t->ps->base, retry_cb, t);
	tv.tv_sec = t->retry_ms / 1000;
	tv.tv_usec = (t->retry_ms % 1000) * 1000;
	evtimer_add(t->retry, &tv);
}

static void deleted(long status, const char *message, void *arg)
{
	struct tracked *t = arg;

	t->req = NULL;
	if (status == 200 || status == 404 || status == 409) {
		/* 409: the uid precondition failed, a new pod of that name exists */
		log_info("pod %s/%s: deleted", t->ns, t->name);
		untrack(t);
		return;
	}
	log_warnx("pod %s/%s: delete: %s; retrying", t->ns, t->name, message ? message : "?");
	retry_later(t);
}

static void patched(long status, const char *message, void *arg)
{
	struct tracked *t = arg;

	t->req = NULL;
	if (status >= 200 && status < 300) {
		t->retry_ms = 0;
		if (t->dirty)
			send_status(t); /* what changed meanwhile, in one patch */
		schedule_flush(t->ps, 0);
		return;
	}
	/* not sent after all: forget what we thought the server has */
	free(t->last_sent);
	t->last_sent = NULL;
	if (status == 404) {
		log_info("pod %s/%s: gone from the API server", t->ns, t->name);
		schedule_flush(t->ps, 0);
		return; /* the informer's delete handler stops the pod */
	}
	log_warnx("pod %s/%s: status: %s; retrying", t->ns, t->name, message ? message : "?");
	retry_later(t);
}

static void send_delete(struct tracked *t)
{
	struct xn_pod_sync *ps = t->ps;
	xn_err err = NULL;

	t->dirty = false;
	t->req = ps->api->delete_pod(ps->ctx, t->ns, t->name, t->uid, deleted, t, &err);
	if (t->req == NULL) {
		log_warnx("pod %s/%s: delete: %s", t->ns, t->name, xn_error_msg(err));
		xn_error_free(&err);
		retry_later(t);
	}
}

static void send_status(struct tracked *t)
{
	struct xn_pod_sync *ps = t->ps;
	cJSON *status, *body;
	char *text;
	xn_err err = NULL;

	if (t->req != NULL || !t->dirty)
		return; /* patched()/deleted() come back here */
	if (t->retry != NULL && evtimer_pending(t->retry, NULL))
		return; /* retry_cb comes back here */
	if (t->gone) {
		send_delete(t);
		return;
	}
	if (!ps->api->synced(ps->ctx))
		return; /* the first list marks every pod */
	if (t->hold_until_ns && xn_now_mono_ns() < t->hold_until_ns)
		return; /* flush_cb comes back when the hold ends */
	t->dirty = false;
	t->hold_until_ns = 0;
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
	t->req = ps->api->patch_status(ps->ctx, t->ns, t->name, body, patched, t, &err);
	cJSON_Delete(body);
	if (t->req == NULL) {
		log_warnx("pod %s/%s: status: %s", t->ns, t->name, xn_error_msg(err));
		xn_error_free(&err);
		free(t->last_sent);
		t->last_sent = NULL;
		retry_later(t);
	}
}

/* Is status work due or in flight?  Then the Events wait. */
static bool status_busy(struct xn_pod_sync *ps)
{
	struct tracked *t;

	TAILQ_FOREACH(t, &ps->pods, entry)
		if ((t->req != NULL && !t->gone) || (t->dirty && !t->gone))
			return true;
	return false;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_pod_sync *ps = arg;
	struct tracked *t, *next;
	uint64_t now = xn_now_mono_ns(), next_hold = 0;
	bool busy;

	for (t = TAILQ_FIRST(&ps->pods); t; t = next) {
		next = TAILQ_NEXT(t, entry);
		send_status(t);
		if (t->dirty && t->hold_until_ns > now &&
		    (next_hold == 0 || t->hold_until_ns < next_hold))
			next_hold = t->hold_until_ns;
	}
	if (next_hold)
		schedule_flush(ps, next_hold - now);
	busy = status_busy(ps);
	if (busy != ps->events_held) {
		ps->events_held = busy;
		ps->api->events_hold(ps->ctx, busy);
	}
}

static void schedule_flush(struct xn_pod_sync *ps, uint64_t delay_ns)
{
	struct timeval tv = {(time_t)(delay_ns / 1000000000ull),
			     (suseconds_t)(delay_ns % 1000000000ull / 1000)};
	struct timeval left;

	/* a zero-delay flush replaces a later one; a later one never delays a sooner */
	if (evtimer_pending(ps->flush, &left) && delay_ns > 0)
		return;
	evtimer_add(ps->flush, &tv);
}

/* Only "Pending, ContainerCreating" to say about a pod never reported yet:
 * worth waiting a little for Running. */
static bool only_creating(const struct tracked *t, const struct xn_pod_status *st)
{
	return t->last_sent == NULL && t->rejected == NULL && st != NULL &&
	       st->state == XN_INST_WAITING && !st->has_last && !st->finished &&
	       st->restart_count == 0 &&
	       (st->reason[0] == '\0' || strcmp(st->reason, "ContainerCreating") == 0);
}

static void mark_dirty(struct tracked *t)
{
	struct xn_pod_sync *ps = t->ps;
	const struct xn_pod_status *st = xn_runtime_status(ps->rt, t->uid);

	t->dirty = true;
	if (!only_creating(t, st))
		t->hold_until_ns = 0;
	else if (t->hold_until_ns == 0)
		t->hold_until_ns = xn_now_mono_ns() + XN_POD_SYNC_FIRST_HOLD_MS * MS_NS;
	schedule_flush(ps, 0);
}

/* ---- admission ---- */

static void reject_pod(struct xn_pod_sync *ps, const cJSON *pod, const char *reason,
		       const char *message, const char *container)
{
	const char *uid = meta(pod, "uid"), *ns = meta(pod, "namespace"), *name = meta(pod, "name");
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

/* Admission and start of a translated pod whose kernel is known: a file
 * under the image roots (pulled: from the image cache). */
static void admit_spec(struct xn_pod_sync *ps, const cJSON *pod, struct xn_pod_spec *sp,
		       const char *warnings, bool pulled)
{
	const char *uid = meta(pod, "uid"), *ns = meta(pod, "namespace"), *name = meta(pod, "name");
	struct xn_pod_spec spec = *sp; /* fields borrowed: the caller disposes */
	struct xn_pod_reject rej;
	char msg[1024], why[PATH_MAX + 64];
	struct stat sb;
	xn_err err = NULL;
	struct tracked *t;
	const char *start;

	if (!pulled) {
		snprintf(msg, sizeof(msg), "Pulling image \"%s\"", spec.image);
		event_for(ps, ns, name, uid, spec.container, "Normal", "Pulling", msg);
	}
	/* opened as the domain build will: one message for any refusal, so
	 * nothing about files outside the image roots leaks (image_path.h) */
	if (xn_image_check(spec.kernel, spec.ramdisk, &sb, why, sizeof(why), &err) < 0) {
		log_info("pod %s/%s: %s", ns, name, why);
		snprintf(msg, sizeof(msg), "Failed to pull %s", xn_error_msg(err));
		xn_error_free(&err);
		reject_pod(ps, pod, "ErrImagePull", msg, spec.container);
		return;
	}
	if (!pulled) {
		snprintf(msg, sizeof(msg),
			 "Successfully pulled image \"%s\" (local file, %lld bytes)", spec.image,
			 (long long)sb.st_size);
		event_for(ps, ns, name, uid, spec.container, "Normal", "Pulled", msg);
	}
	if (ps->opts.allocatable) {
		struct xn_node_resources alloc, used = {0};
		uint64_t mem_kb;
		unsigned vcpus;

		ps->opts.allocatable(ps->opts.allocatable_arg, &alloc);
		xn_runtime_usage(ps->rt, &used.pods, &mem_kb, &vcpus);
		used.memory_bytes = xn_kib_to_bytes(mem_kb); /* saturates: never wraps */
		used.cpu_milli = (int64_t)xn_runtime_cpu_requests(ps->rt);
		if (xn_pod_admit(&spec, spec.cpu_request_milli, &alloc, &used, &rej) < 0) {
			reject_pod(ps, pod, rej.reason, rej.message, spec.container);
			return;
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
	}
}

/* ---- pods whose image comes from a registry (image_pod.h) ---- */

static void image_event(void *arg, const char *type, const char *reason, const char *message)
{
	struct tracked *t = arg;

	event_for(t->ps, t->ns, t->name, t->uid, t->image_spec->container, type, reason, message);
}

static void image_changed(void *arg)
{
	mark_dirty(arg);
}

/* The pod's own say first; the image's where the pod says nothing. */
static int image_defaults(struct xn_pod_spec *s, const cJSON *pod, const struct xn_image_info *in,
			  char *why, size_t whylen)
{
	const cJSON *anns = jget(pod, "metadata", "annotations");

	s->kernel = xn_xstrdup(in->kernel);
	s->ramdisk = s->ramdisk ? s->ramdisk : xn_dup_or_null(in->ramdisk);
	s->image_id = xn_xstrdup(in->image_id);
	if (s->cmdline == NULL && in->cmdline && in->cmdline[0])
		s->cmdline = xn_xstrdup(in->cmdline);
	if (!jstr(anns, "xenlet.io/guest-type", NULL) && in->guest_type) {
		s->type = strcmp(in->guest_type, "pv") == 0 ? XN_GUEST_PV : XN_GUEST_PVH;
		s->type_from_kernel = false; /* the image asked: its kernel is checked */
	}
	if (!jstr(anns, "xenlet.io/net-config", NULL) && in->net_config)
		xn_net_conv_parse(in->net_config, &s->net_config);
	if (in->min_memory > 0 && (int64_t)s->memory_kb * 1024 < in->min_memory) {
		snprintf(why, whylen,
			 "image \"%s\" needs at least %lld bytes of memory; the pod has %llu (set "
			 "resources.limits.memory)",
			 s->image, (long long)in->min_memory,
			 (unsigned long long)s->memory_kb * 1024);
		return -1;
	}
	return 0;
}

static void image_ready(void *arg, const struct xn_image_info *info)
{
	struct tracked *t = arg;
	struct xn_pod_sync *ps = t->ps;
	const cJSON *pod = ps->api->get_pod(ps->ctx, t->ns, t->name);
	struct xn_pod_spec spec = *t->image_spec;
	struct xn_image_wait *w = t->image; /* info may be its own: freed last */
	char *warnings = t->image_warnings, why[512];

	if (pod == NULL || strcmp(meta(pod, "uid") ? meta(pod, "uid") : "", t->uid) != 0) {
		untrack(t); /* gone meanwhile */
		return;
	}
	/* the wait ends here; the spec and warnings move to this frame */
	free(t->image_spec);
	t->image_spec = NULL;
	t->image_warnings = NULL;
	t->image = NULL;
	if (image_defaults(&spec, pod, info, why, sizeof(why)) < 0)
		reject_pod(ps, pod, "UnsupportedPodSpec", why, spec.container);
	else
		admit_spec(ps, pod, &spec, warnings, true);
	free(warnings);
	xn_pod_spec_dispose(&spec);
	xn_image_wait_free(w);
}

static const struct xn_image_wait_ops image_ops = {
    .event = image_event,
    .changed = image_changed,
    .ready = image_ready,
};

static void image_admit(struct xn_pod_sync *ps, const cJSON *pod, struct xn_pod_spec *spec,
			char *warnings)
{
	const cJSON *c = cJSON_GetArrayItem(jget(pod, "spec", "containers"), 0);
	const char *policy = jstr(c, "imagePullPolicy", NULL), *start;
	enum xn_pull_policy pp;
	struct tracked *t;

	if (xn_pull_policy_parse(policy, spec->image, &pp) < 0) {
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "imagePullPolicy \"%.60s\": must be Always, IfNotPresent or Never",
			 policy);
		reject_pod(ps, pod, "UnsupportedPodSpec", msg, spec->container);
		xn_pod_spec_dispose(spec);
		free(warnings);
		return;
	}
	if (ps->opts.puller == NULL) {
		reject_pod(ps, pod, "ErrImagePull",
			   "this node pulls no registry images (no image cache configured)",
			   spec->container);
		xn_pod_spec_dispose(spec);
		free(warnings);
		return;
	}
	t = track(ps, meta(pod, "uid"), meta(pod, "namespace"), meta(pod, "name"));
	start = jstr(pod, "status", "startTime");
	if (start)
		snprintf(t->start_time, sizeof(t->start_time), "%s", start);
	else
		xn_rfc3339(xn_now_real_ns(), t->start_time);
	t->image_spec = xn_xmalloc(sizeof(*t->image_spec));
	*t->image_spec = *spec; /* moved */
	t->image_warnings = warnings;
	t->image = xn_image_wait_start(ps->base, ps->opts.puller, spec->image, pp, &image_ops, t);
	mark_dirty(t);
}

static void admit(struct xn_pod_sync *ps, const cJSON *pod)
{
	struct xn_pod_spec spec;
	struct xn_pod_reject rej;
	char *warnings = NULL;

	if (xn_pod_translate(pod, &ps->opts.defaults, &spec, &warnings, &rej) < 0) {
		reject_pod(ps, pod, rej.reason, rej.message, container_name(pod));
		return;
	}
	if (spec.kernel == NULL) {
		image_admit(ps, pod, &spec, warnings); /* takes both */
		return;
	}
	admit_spec(ps, pod, &spec, warnings, false);
	free(warnings);
	xn_pod_spec_dispose(&spec);
}

/* ---- the informer's news ---- */

void xn_pod_sync_pod_changed(struct xn_pod_sync *ps, const cJSON *pod)
{
	const char *uid = meta(pod, "uid"), *ns = meta(pod, "namespace"), *name = meta(pod, "name");
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
		/* nothing runs (refused, finished and forgotten, or waiting for
		 * its image): delete it now */
		image_forget(t);
		if (!t->gone) {
			t->deleting = t->gone = true;
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
	if (t && t->image)
		return; /* its image is on the way */
	if (t && t->rejected) {
		if (!phase || strcmp(phase, "Failed") != 0)
			mark_dirty(t);
		return;
	}
	if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		return; /* finished before; nothing runs */
	admit(ps, pod);
}

void xn_pod_sync_pod_deleted(struct xn_pod_sync *ps, const cJSON *pod)
{
	const char *uid = meta(pod, "uid");
	struct tracked *t;
	xn_err err = NULL;

	if (uid && xn_runtime_status(ps->rt, uid) != NULL) {
		log_info("pod %s/%s: deleted from the API server; stopping it now",
			 meta(pod, "namespace"), meta(pod, "name"));
		if (xn_runtime_kill(ps->rt, uid, 0, &err) < 0) {
			log_warnx("%s", xn_error_msg(err));
			xn_error_free(&err);
		}
	}
	/* looked up only now: the kill may already have dropped it */
	t = uid ? find(ps, uid) : NULL;
	if (t)
		untrack(t); /* nothing left to delete */
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
	pod = o->ps->api->get_pod(o->ps->ctx, s->ns, s->name);
	if (pod == NULL || strcmp(meta(pod, "uid") ? meta(pod, "uid") : "", s->uid) != 0) {
		o->uids = xn_xrealloc(o->uids, (o->n + 1) * sizeof(char *));
		o->uids[o->n++] = xn_xstrdup(s->uid);
	}
	return 0;
}

void xn_pod_sync_synced(struct xn_pod_sync *ps)
{
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
	schedule_flush(ps, 0);
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
			t->gone = true; /* the DELETE goes after any patch in flight */
			mark_dirty(t);
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

struct xn_pod_sync *xn_pod_sync_new_api(struct event_base *base, const struct xn_pod_sync_api *api,
					void *ctx, struct xn_runtime *rt,
					const struct xn_pod_sync_opts *opts)
{
	struct xn_pod_sync *ps = xn_xcalloc(1, sizeof(*ps));

	ps->base = base;
	ps->api = api;
	ps->ctx = ctx;
	ps->rt = rt;
	ps->opts = *opts;
	ps->node_name = xn_xstrdup(opts->node_name);
	ps->node_ip = xn_dup_or_null(opts->node_ip);
	ps->opts.node_name = ps->node_name;
	ps->opts.node_ip = ps->node_ip;
	ps->opts.defaults.host_ip = ps->node_ip; /* env: status.hostIP */
	TAILQ_INIT(&ps->pods);
	ps->flush = evtimer_new(base, flush_cb, ps);
	return ps;
}

void pod_sync_set_ctx(struct xn_pod_sync *ps, void *ctx, void (*ctx_free)(void *ctx))
{
	ps->ctx = ctx;
	ps->ctx_free = ctx_free;
}

void xn_pod_sync_free(struct xn_pod_sync *ps)
{
	struct tracked *t;

	if (ps == NULL)
		return;
	while ((t = TAILQ_FIRST(&ps->pods)) != NULL)
		untrack(t);
	if (ps->flush)
		event_free(ps->flush);
	if (ps->ctx_free)
		ps->ctx_free(ps->ctx);
	free(ps->node_name);
	free(ps->node_ip);
	free(ps);
}
