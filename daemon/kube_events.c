/* kube_events.c - post and fold Kubernetes Events (see kube_events.h). */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <cJSON.h>
#include <event2/event.h>

#include "xenlet/crilog.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define FOLD_WINDOW_NS (600ull * 1000000000ull)
#define FOLD_MAX       256		      /* remembered events; the oldest is forgotten first */
#define SEND_MAX       4		      /* Event requests in flight at once */
#define HOLD_MAX_NS    (2000ull * 1000000ull) /* a held Event goes after this anyway */
#define QUEUE_MAX      1000		      /* waiting Events; beyond, the oldest is dropped */

struct out;

struct seen {
	TAILQ_ENTRY(seen) entry;
	char *key; /* uid + reason + message */
	char *ns;
	char *name; /* the Event object's name */
	unsigned count;
	uint64_t first_ns;
	uint64_t last_ns;
	struct out *queued; /* its POST, while not sent yet */
};

TAILQ_HEAD(seen_list, seen);

/* An Event request waiting for its turn. */
struct out {
	STAILQ_ENTRY(out) link;
	enum xn_kube_method method;
	char *path;
	cJSON *body;
	uint64_t queued_ns; /* monotonic */
	struct seen *seen;  /* the POST of a new Event: repeats update it here */
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
	struct seen_list seen;
	unsigned nseen;
	unsigned serial;
	struct out_list queue;
	unsigned nqueued;
	struct slot slots[SEND_MAX];
	bool held;
	struct event *timer; /* the oldest held Event's turn */
};

static void pump(struct xn_kube_events *ev);

static void pump_cb(evutil_socket_t fd, short what, void *arg)
{
	pump(arg);
}

struct xn_kube_events *xn_kube_events_new(struct xn_kube *k, const char *node)
{
	struct xn_kube_events *ev = xn_xcalloc(1, sizeof(*ev));

	ev->k = k;
	ev->node = xn_xstrdup(node);
	TAILQ_INIT(&ev->seen);
	STAILQ_INIT(&ev->queue);
	for (size_t i = 0; i < SEND_MAX; i++)
		ev->slots[i].ev = ev;
	ev->timer = evtimer_new(xn_kube_event_base(k), pump_cb, ev);
	return ev;
}

static void out_free(struct out *o)
{
	if (o->seen)
		o->seen->queued = NULL;
	free(o->path);
	cJSON_Delete(o->body);
	free(o);
}

static void seen_free(struct seen *s)
{
	if (s->queued)
		s->queued->seen = NULL;
	free(s->key);
	free(s->ns);
	free(s->name);
	free(s);
}

void xn_kube_events_free(struct xn_kube_events *ev)
{
	struct seen *s;
	struct out *o;

	if (ev == NULL)
		return;
	for (size_t i = 0; i < SEND_MAX; i++)
		xn_kube_cancel(ev->slots[i].req);
	while ((o = STAILQ_FIRST(&ev->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&ev->queue, link);
		out_free(o);
	}
	while ((s = TAILQ_FIRST(&ev->seen)) != NULL) {
		TAILQ_REMOVE(&ev->seen, s, entry);
		seen_free(s);
	}
	event_free(ev->timer);
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
		    struct seen *s)
{
	struct out *o = xn_xcalloc(1, sizeof(*o));

	o->method = method;
	o->path = path;
	o->body = body;
	o->queued_ns = xn_now_mono_ns();
	o->seen = s;
	if (s)
		s->queued = o;
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

void xn_kube_event(struct xn_kube_events *ev, const struct xn_event_object *obj, const char *type,
		   const char *reason, const char *message)
{
	uint64_t now = xn_now_real_ns();
	cleanup_free char *key = xn_xasprintf("%s\n%s\n%s", obj->uid, reason, message);
	struct seen *s;
	char first[40], last[40];
	cJSON *body, *io, *src;

	if (ev == NULL)
		return;
	TAILQ_FOREACH(s, &ev->seen, entry)
		if (strcmp(s->key, key) == 0 && now - s->first_ns < FOLD_WINDOW_NS)
			break;
	if (s != NULL) { /* a repeat: bump the count of the existing Event */
		s->count++;
		s->last_ns = now;
		xn_rfc3339(now, last);
		TAILQ_REMOVE(&ev->seen, s, entry);
		TAILQ_INSERT_HEAD(&ev->seen, s, entry);
		if (s->queued != NULL) { /* not posted yet: post it with the count */
			set_number(s->queued->body, "count", s->count);
			set_string(s->queued->body, "lastTimestamp", last);
			return;
		}
		body = cJSON_CreateObject();
		cJSON_AddNumberToObject(body, "count", s->count);
		cJSON_AddStringToObject(body, "lastTimestamp", last);
		enqueue(ev, XN_KUBE_PATCH_MERGE,
			xn_xasprintf("/api/v1/namespaces/%s/events/%s", s->ns, s->name), body,
			NULL);
		return;
	}
	s = xn_xcalloc(1, sizeof(*s));
	s->key = xn_xstrdup(key);
	s->ns = xn_xstrdup(obj->ns && obj->ns[0] ? obj->ns : "default");
	/* the kubelet's naming: <object>.<unique hex> */
	s->name =
	    xn_xasprintf("%s.%llx%04x", obj->name, (unsigned long long)now, ev->serial++ & 0xffff);
	s->count = 1;
	s->first_ns = s->last_ns = now;
	TAILQ_INSERT_HEAD(&ev->seen, s, entry);
	if (++ev->nseen > FOLD_MAX) {
		struct seen *old = TAILQ_LAST(&ev->seen, seen_list);
		TAILQ_REMOVE(&ev->seen, old, entry);
		seen_free(old);
		ev->nseen--;
	}

	xn_rfc3339(now, first); /* Event timestamps are metav1.Time: seconds */
	snprintf(last, sizeof(last), "%s", first);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "apiVersion", "v1");
	cJSON_AddStringToObject(body, "kind", "Event");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "metadata"), "name", s->name);
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
	cJSON_AddStringToObject(body, "message", message);
	cJSON_AddStringToObject(body, "type", type);
	src = cJSON_AddObjectToObject(body, "source");
	cJSON_AddStringToObject(src, "component", "xenlet");
	cJSON_AddStringToObject(src, "host", ev->node);
	cJSON_AddStringToObject(body, "firstTimestamp", first);
	cJSON_AddStringToObject(body, "lastTimestamp", last);
	cJSON_AddNumberToObject(body, "count", 1);
	cJSON_AddStringToObject(body, "reportingComponent", "xenlet");
	cJSON_AddStringToObject(body, "reportingInstance", ev->node);
	enqueue(ev, XN_KUBE_POST, xn_xasprintf("/api/v1/namespaces/%s/events", s->ns), body, s);
}
