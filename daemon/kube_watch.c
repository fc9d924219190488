/* kube_watch.c - streamed watch events, one JSON object per line (see include/xenlet/kube.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kube_internal.h"
#include "xenlet/util.h"

static const char *const event_names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};

const char *xn_kube_event_name(enum xn_kube_event_type t)
{
	return (unsigned)t < XN_ARRAY_SIZE(event_names) ? event_names[t] : "?";
}

int kube_lines_split(char *buf, size_t *len, size_t max,
		     int (*line)(const char *s, size_t n, void *arg), void *arg)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(buf + start, '\n', *len - start)) != NULL) {
		size_t n = (size_t)(nl - (buf + start));

		if (n > max || line(buf + start, n, arg) < 0) {
			memmove(buf, buf + start, *len - start);
			*len -= start;
			return -1;
		}
		start += n + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
	return *len > max ? -1 : 0;
}

static int watch_line(const char *s, size_t n, void *arg)
{
	struct xn_kube_req *r = arg;
	cJSON *ev, *type, *obj;
	struct kube_event *e;
	size_t i;

	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 0)
		return 0;
	ev = cJSON_ParseWithLength(s, n);
	type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	obj = cJSON_DetachItemFromObjectCaseSensitive(ev, "object");
	for (i = 0; cJSON_IsString(type) && i < XN_ARRAY_SIZE(event_names); i++)
		if (strcmp(type->valuestring, event_names[i]) == 0)
			break;
	if (ev == NULL || !cJSON_IsObject(obj) || !cJSON_IsString(type) ||
	    i == XN_ARRAY_SIZE(event_names)) {
		free(r->werr);
		/* s is not NUL-terminated: quote the line, at most 120 bytes of it */
		r->werr = xn_xasprintf("watch: bad event: %.*s", (int)(n < 120 ? n : 120), s);
		cJSON_Delete(ev);
		cJSON_Delete(obj);
		return -1;
	}
	cJSON_Delete(ev);
	e = xn_xcalloc(1, sizeof(*e));
	e->type = (enum xn_kube_event_type)i;
	e->object = obj;
	STAILQ_INSERT_TAIL(&r->events, e, link);
	return 0;
}

int kube_watch_feed(struct xn_kube_req *r, const char *data, size_t n)
{
	int rc;

	if (r->len + n > XN_KUBE_EVENT_MAX + 1 + (size_t)CURL_MAX_WRITE_SIZE) {
		free(r->werr);
		r->werr = xn_xasprintf("watch: event larger than %u MiB", XN_KUBE_EVENT_MAX >> 20);
		return -1;
	}
	if (r->len + n + 1 > r->cap) {
		r->cap = (r->len + n + 1) * 2;
		r->buf = xn_xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	rc = kube_lines_split(r->buf, &r->len, XN_KUBE_EVENT_MAX, watch_line, r);
	if (rc < 0 && r->werr == NULL)
		r->werr = xn_xasprintf("watch: event larger than %u MiB", XN_KUBE_EVENT_MAX >> 20);
	if (!STAILQ_EMPTY(&r->events))
		event_active(r->dispatch, EV_TIMEOUT, 0);
	/* Give memory back after a huge event. */
	if (r->cap > (1u << 20) && r->len < r->cap / 8) {
		r->cap = r->len + 1 > 4096 ? r->len + 1 : 4096;
		r->buf = xn_xrealloc(r->buf, r->cap);
	}
	return rc;
}

struct xn_kube_req *xn_kube_watch(struct xn_kube *k, const char *path, const char *rv,
				  unsigned timeout_s, xn_kube_event_fn on_event,
				  xn_kube_watch_end_fn on_end, void *arg, xn_err *err)
{
	cleanup_free char *erv = xn_kube_escape(rv ? rv : "");
	cleanup_free char *url = NULL;
	struct xn_kube_req *r;

	if (path[0] != '/') {
		xn_error(err, EINVAL, "watch %s: path must start with '/'", path);
		return NULL;
	}
	if (timeout_s == 0)
		timeout_s = 300 + (unsigned)(random() % 300);
	url = xn_xasprintf("%s%s%cwatch=1&allowWatchBookmarks=true&timeoutSeconds=%u%s%s",
			   kube_server(k), path, strchr(path, '?') ? '&' : '?', timeout_s,
			   erv[0] ? "&resourceVersion=" : "", erv);
	/* The server ends the watch after timeout_s; the client gives it a minute more. */
	r = kube_req_new(k, XN_KUBE_GET, url, NULL, (timeout_s + 60) * 1000, err);
	if (r == NULL)
		return NULL;
	r->is_watch = 1;
	r->event_fn = on_event;
	r->end_fn = on_end;
	r->arg = arg;
	if (kube_req_start(r, err) < 0) {
		xn_kube_cancel(r);
		return NULL;
	}
	return r;
}
