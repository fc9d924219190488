/* kube_events.c - post and fold Kubernetes Events (see kube_events.h). */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <cJSON.h>

#include "xenlet/crilog.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

#define FOLD_WINDOW_NS (600ull * 1000000000ull)
#define FOLD_MAX       256 /* remembered events; the oldest is forgotten first */

struct seen {
	TAILQ_ENTRY(seen) entry;
	char *key; /* uid + reason + message */
	char *ns;
	char *name; /* the Event object's name */
	unsigned count;
	uint64_t first_ns;
	uint64_t last_ns;
};

TAILQ_HEAD(seen_list, seen);

struct xn_kube_events {
	struct xn_kube *k;
	char *node;
	struct seen_list seen;
	unsigned nseen;
	unsigned serial;
};

struct xn_kube_events *xn_kube_events_new(struct xn_kube *k, const char *node)
{
	struct xn_kube_events *ev = xn_xcalloc(1, sizeof(*ev));

	ev->k = k;
	ev->node = xn_xstrdup(node);
	TAILQ_INIT(&ev->seen);
	return ev;
}

static void seen_free(struct seen *s)
{
	free(s->key);
	free(s->ns);
	free(s->name);
	free(s);
}

void xn_kube_events_free(struct xn_kube_events *ev)
{
	struct seen *s;

	if (ev == NULL)
		return;
	while ((s = TAILQ_FIRST(&ev->seen)) != NULL) {
		TAILQ_REMOVE(&ev->seen, s, entry);
		seen_free(s);
	}
	free(ev->node);
	free(ev);
}

static void posted(struct xn_kube_response *resp, void *arg)
{
	if (resp->message != NULL)
		log_debug("event not recorded: %s", resp->message);
}

void xn_kube_event(struct xn_kube_events *ev, const struct xn_event_object *obj, const char *type,
		   const char *reason, const char *message)
{
	uint64_t now = xn_now_real_ns();
	cleanup_free char *key = xn_xasprintf("%s\n%s\n%s", obj->uid, reason, message);
	cleanup_free char *path = NULL;
	struct seen *s;
	char first[40], last[40];
	cJSON *body, *io, *src;
	xn_err err = NULL;

	if (ev == NULL)
		return;
	TAILQ_FOREACH(s, &ev->seen, entry)
		if (strcmp(s->key, key) == 0 && now - s->first_ns < FOLD_WINDOW_NS)
			break;
	if (s != NULL) { /* a repeat: bump the count of the existing Event */
		s->count++;
		s->last_ns = now;
		xn_rfc3339(now, last);
		body = cJSON_CreateObject();
		cJSON_AddNumberToObject(body, "count", s->count);
		cJSON_AddStringToObject(body, "lastTimestamp", last);
		path = xn_xasprintf("/api/v1/namespaces/%s/events/%s", s->ns, s->name);
		if (xn_kube_request(ev->k, XN_KUBE_PATCH_MERGE, path, body, 0, posted, NULL,
				    &err) == NULL) {
			log_debug("event: %s", xn_error_msg(err));
			xn_error_free(&err);
		}
		cJSON_Delete(body);
		TAILQ_REMOVE(&ev->seen, s, entry);
		TAILQ_INSERT_HEAD(&ev->seen, s, entry);
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
	path = xn_xasprintf("/api/v1/namespaces/%s/events", s->ns);
	if (xn_kube_request(ev->k, XN_KUBE_POST, path, body, 0, posted, NULL, &err) == NULL) {
		log_debug("event: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	cJSON_Delete(body);
}
