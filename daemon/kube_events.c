/* kube_events.c - post and fold Kubernetes Events (see kube_events.h). */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <cJSON.h>
#include <event2/event.h>

#include "xenlet/event_correlate.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

#define SEND_MAX    4			   /* Event requests in flight at once */
#define HOLD_MAX_NS (2000ull * 1000000ull) /* a held Event goes after this anyway */
#define QUEUE_MAX   1000		   /* waiting Events; beyond, the oldest is dropped */

/* An Event request waiting for its turn. */
struct out {
	STAILQ_ENTRY(out) link;
	enum xn_kube_method method;
	char *path;
	cJSON *body;
	uint64_t queued_ns;	      /* monotonic */
	struct xn_evcorr_event *seen; /* the POST of a new Event: repeats update it here */
};

STAILQ_HEAD(out_list, out);

struct xn_kube_events;

struct slot {
	struct xn_kube_events *ev;
	struct xn_kube_req *req; /* NULL: free */
};

struct xn_kube_events {
	struct xn_kube *k;
	char *node;
	struct xn_evcorr *corr;
	unsigned serial;
	struct out_list queue;
	unsigned nqueued;
	struct slot slots[SEND_MAX];
	bool held;
	struct event *timer;	 /* the oldest held Event's turn */
	struct event *due_timer; /* the next due count update */
};

static void pump(struct xn_kube_events *ev);
static void due_cb(evutil_socket_t fd, short what, void *arg);

/* The correlator forgets an Event: its queued POST keeps no pointer to it. */
static void forget_cb(struct xn_evcorr_event *e, void *arg)
{
	struct out *o = e->user;

	if (o != NULL)
		o->seen = NULL;
	e->user = NULL;
}

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	pump(arg);
}

struct xn_kube_events *xn_kube_events_new(struct xn_kube *k, const char *node)
{
	struct xn_kube_events *ev = xn_xcalloc(1, sizeof(*ev));

	ev->k = k;
	ev->node = xn_xstrdup(node);
	ev->corr = xn_evcorr_new(forget_cb, ev);
	STAILQ_INIT(&ev->queue);
	for (size_t i = 0; i < SEND_MAX; i++)
		ev->slots[i].ev = ev;
	ev->timer = evtimer_new(xn_kube_event_base(k), pump_cb, ev);
	ev->due_timer = evtimer_new(xn_kube_event_base(k), due_cb, ev);
	return ev;
}

static void out_free(struct out *o)
{
	if (o->seen)
		o->seen->user = NULL;
	free(o->path);
	cJSON_Delete(o->body);
	free(o);
}

void xn_kube_events_free(struct xn_kube_events *ev)
{
	struct out *o;

	if (ev == NULL)
		return;
	for (size_t i = 0; i < SEND_MAX; i++)
		xn_kube_cancel(ev->slots[i].req);
	while ((o = STAILQ_FIRST(&ev->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&ev->queue, link);
		out_free(o);
	}
	xn_evcorr_free(ev->corr);
	event_free(ev->timer);
	event_free(ev->due_timer);
	free(ev->node);
	free(ev);
}

static void posted(struct xn_kube_response *resp, void *arg)
{
	struct slot *sl = arg;

	sl->req = NULL;
	if (resp->message != NULL)
		log_debug("event not recorded: %s", resp->message);
	pump(sl->ev);
}

/* Send what may go: SEND_MAX at once, none while held unless it waited long. */
static void pump(struct xn_kube_events *ev)
{
	uint64_t now = xn_now_mono_ns();

	for (size_t i = 0; i < SEND_MAX && !STAILQ_EMPTY(&ev->queue); i++) {
		struct slot *sl = &ev->slots[i];
		struct out *o = STAILQ_FIRST(&ev->queue);
		xn_err err = NULL;

		if (sl->req != NULL)
			continue;
		if (ev->held && now - o->queued_ns < HOLD_MAX_NS) {
			uint64_t left = HOLD_MAX_NS - (now - o->queued_ns);
			struct timeval tv = {(time_t)(left / 1000000000ull),
					     (suseconds_t)(left % 1000000000ull / 1000)};
			evtimer_add(ev->timer, &tv);
			return;
		}
		STAILQ_REMOVE_HEAD(&ev->queue, link);
		ev->nqueued--;
		sl->req = xn_kube_request(ev->k, o->method, o->path, o->body, 0, posted, sl, &err);
		if (sl->req == NULL) {
			log_debug("event: %s", xn_error_msg(err));
			xn_error_free(&err);
		}
		out_free(o);
	}
}

static void enqueue(struct xn_kube_events *ev, enum xn_kube_method method, char *path, cJSON *body,
		    struct xn_evcorr_event *s)
{
	struct out *o = xn_xcalloc(1, sizeof(*o));

	o->method = method;
	o->path = path;
	o->body = body;
	o->queued_ns = xn_now_mono_ns();
	o->seen = s;
	if (s)
		s->user = o;
	STAILQ_INSERT_TAIL(&ev->queue, o, link);
	if (++ev->nqueued > QUEUE_MAX) {
		struct out *old = STAILQ_FIRST(&ev->queue);
		STAILQ_REMOVE_HEAD(&ev->queue, link);
		ev->nqueued--;
		log_debug("event dropped: more than %d waiting", QUEUE_MAX);
		out_free(old);
	}
	pump(ev);
}

void xn_kube_events_set_patch_interval_ms(struct xn_kube_events *ev, unsigned ms)
{
	xn_evcorr_set_patch_interval(ev->corr, (uint64_t)ms * 1000000ull);
}

void xn_kube_events_hold(struct xn_kube_events *ev, bool hold)
{
	if (ev == NULL || ev->held == hold)
		return;
	ev->held = hold;
	if (!hold) {
		evtimer_del(ev->timer);
		pump(ev);
	}
}

static void set_number(cJSON *o, const char *key, double v)
{
	cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateNumber(v));
}

static void set_string(cJSON *o, const char *key, const char *v)
{
	cJSON_ReplaceItemInObjectCaseSensitive(o, key, cJSON_CreateString(v));
}

/* The Event object's name: the kubelet's <object>.<unique hex>. */
static char *event_name(struct xn_kube_events *ev, const char *obj_name, uint64_t now)
{
	return xn_xasprintf("%s.%llx%04x", obj_name, (unsigned long long)now,
			    ev->serial++ & 0xffff);
}

static void send_update(struct xn_kube_events *ev, struct xn_evcorr_event *e)
{
	char last[40];
	cJSON *body = cJSON_CreateObject();

	xn_rfc3339(e->last_ns, last);
	cJSON_AddNumberToObject(body, "count", e->count);
	cJSON_AddStringToObject(body, "lastTimestamp", last);
	cJSON_AddStringToObject(body, "message", e->message);
	enqueue(ev, XN_KUBE_PATCH_MERGE, xn_xstrdup(e->path), body, NULL);
}

static void arm_due(struct xn_kube_events *ev)
{
	uint64_t due = xn_evcorr_next_due(ev->corr), now = xn_now_real_ns();
	uint64_t left = due > now ? due - now : 0;
	struct timeval tv = {(time_t)(left / 1000000000ull),
			     (suseconds_t)(left % 1000000000ull / 1000)};

	if (due == 0)
		evtimer_del(ev->due_timer);
	else
		evtimer_add(ev->due_timer, &tv);
}

static void flush_one(struct xn_evcorr_event *e, void *arg)
{
	send_update(arg, e);
}

static void due_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_kube_events *ev = arg;

	xn_evcorr_flush_due(ev->corr, xn_now_real_ns(), flush_one, ev);
	arm_due(ev);
}

void xn_kube_event(struct xn_kube_events *ev, const struct xn_event_object *obj, const char *type,
		   const char *reason, const char *message)
{
	uint64_t now = xn_now_real_ns();
	cleanup_free char *object = NULL;
	struct xn_evcorr_event *e;
	struct out *queued;
	char first[40], last[40];
	const char *ns;
	char *name;
	cJSON *body, *io, *src;

	if (ev == NULL)
		return;
	object = obj->uid && obj->uid[0]
		     ? xn_xstrdup(obj->uid)
		     : xn_xasprintf("%s/%s/%s", obj->kind, obj->ns ? obj->ns : "", obj->name);
	switch (xn_evcorr_observe(ev->corr, object, type, reason, message, now, &e)) {
	case XN_EVCORR_DROP:
		log_debug("event %s %s about %s dropped: too many from this object", type, reason,
			  obj->name);
		xn_metric_count("xenlet_events_dropped_total",
				"Events not recorded: too many new ones about one object (the "
				"spam filter).",
				NULL, NULL, 1);
		return;
	case XN_EVCORR_UPDATE: send_update(ev, e); return;
	case XN_EVCORR_LATER:
		queued = e->user;
		if (queued != NULL) { /* not posted yet: post it with the count */
			xn_rfc3339(e->last_ns, last);
			set_number(queued->body, "count", e->count);
			set_string(queued->body, "lastTimestamp", last);
			set_string(queued->body, "message", e->message);
			xn_evcorr_sent(e, now);
		}
		arm_due(ev);
		return;
	case XN_EVCORR_NEW: break;
	}

	ns = obj->ns && obj->ns[0] ? obj->ns : "default";
	name = event_name(ev, obj->name, now);
	e->path = xn_xasprintf("/api/v1/namespaces/%s/events/%s", ns, name);
	xn_rfc3339(now, first); /* Event timestamps are metav1.Time: seconds */
	snprintf(last, sizeof(last), "%s", first);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "apiVersion", "v1");
	cJSON_AddStringToObject(body, "kind", "Event");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "metadata"), "name", name);
	free(name);
	io = cJSON_AddObjectToObject(body, "involvedObject");
	cJSON_AddStringToObject(io, "apiVersion", "v1");
	cJSON_AddStringToObject(io, "kind", obj->kind);
	if (obj->ns && obj->ns[0])
		cJSON_AddStringToObject(io, "namespace", obj->ns);
	cJSON_AddStringToObject(io, "name", obj->name);
	if (obj->uid)
		cJSON_AddStringToObject(io, "uid", obj->uid);
	if (obj->field_path)
		cJSON_AddStringToObject(io, "fieldPath", obj->field_path);
	cJSON_AddStringToObject(body, "reason", reason);
	cJSON_AddStringToObject(body, "message", e->message);
	cJSON_AddStringToObject(body, "type", type);
	src = cJSON_AddObjectToObject(body, "source");
	cJSON_AddStringToObject(src, "component", "xenlet");
	cJSON_AddStringToObject(src, "host", ev->node);
	cJSON_AddStringToObject(body, "firstTimestamp", first);
	cJSON_AddStringToObject(body, "lastTimestamp", last);
	cJSON_AddNumberToObject(body, "count", 1);
	cJSON_AddStringToObject(body, "reportingComponent", "xenlet");
	cJSON_AddStringToObject(body, "reportingInstance", ev->node);
	enqueue(ev, XN_KUBE_POST, xn_xasprintf("/api/v1/namespaces/%s/events", ns), body, e);
}
