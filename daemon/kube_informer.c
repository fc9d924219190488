/* kube_informer.c - list + watch with a cache, 410 relist and back-off (see include/xenlet/kube.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "xenlet/kube.h"
#include "xenlet/util.h"

#define LIST_PAGE	 500
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS	 30000
#define LIST_TIMEOUT_MS	 60000

struct entry {
	struct entry *next;
	char *key; /* "ns/name" or "name" */
	cJSON *obj;
	unsigned gen; /* last list that saw it */
};

struct xn_informer {
	struct xn_kube *k;
	char *path, *query;
	struct xn_informer_ops ops;
	void *arg;

	struct entry **buckets;
	size_t nbuckets, count;
	unsigned gen;

	char *rv;
	int synced;
	struct xn_kube_req *req; /* the list page or watch in flight */
	int listing;
	char *cont;	/* continue token of the list in progress */
	cJSON *pending; /* items of the list in progress */
	struct event *retry;
	uint64_t watch_start_ns;
	int watch_had_events;
	struct xn_informer_stats st;
};

static void start_list(struct xn_informer *inf);
static void start_watch(struct xn_informer *inf);

/* ---- cache: chained hash on "ns/name" ---- */

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static char *obj_key(const cJSON *obj)
{
	const char *ns = xn_kube_meta(obj, "namespace");
	const char *name = xn_kube_meta(obj, "name");

	if (name == NULL)
		return NULL;
	return ns && ns[0] ? xn_xasprintf("%s/%s", ns, name) : xn_xstrdup(name);
}

static struct entry **cache_slot(struct xn_informer *inf, const char *key)
{
	struct entry **p = &inf->buckets[hash(key) & (inf->nbuckets - 1)];

	while (*p != NULL && strcmp((*p)->key, key) != 0)
		p = &(*p)->next;
	return p;
}

static void cache_grow(struct xn_informer *inf)
{
	size_t n = inf->nbuckets * 2, i;
	struct entry **b = xn_xcalloc(n, sizeof(*b));

	for (i = 0; i < inf->nbuckets; i++) {
		struct entry *e, *next;

		for (e = inf->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[hash(e->key) & (n - 1)];
			b[hash(e->key) & (n - 1)] = e;
		}
	}
	free(inf->buckets);
	inf->buckets = b;
	inf->nbuckets = n;
}

/* Store obj (taking it) and tell the user: add, or update when it changed. */
static void cache_put(struct xn_informer *inf, cJSON *obj)
{
	cleanup_free char *key = obj_key(obj);
	struct entry **p, *e;
	cJSON *old;
	const char *orv, *nrv;

	if (key == NULL) {
		cJSON_Delete(obj);
		return;
	}
	p = cache_slot(inf, key);
	if (*p == NULL) {
		e = xn_xcalloc(1, sizeof(*e));
		e->key = key;
		key = NULL;
		e->obj = obj;
		e->gen = inf->gen;
		*p = e;
		if (++inf->count > inf->nbuckets)
			cache_grow(inf);
		if (inf->ops.add)
			inf->ops.add(obj, inf->arg);
		return;
	}
	e = *p;
	old = e->obj;
	e->obj = obj;
	e->gen = inf->gen;
	orv = xn_kube_meta(old, "resourceVersion");
	nrv = xn_kube_meta(obj, "resourceVersion");
	if (inf->ops.update && !(orv && nrv && strcmp(orv, nrv) == 0))
		inf->ops.update(old, obj, inf->arg);
	cJSON_Delete(old);
}

static void entry_delete(struct xn_informer *inf, struct entry **p, int notify)
{
	struct entry *e = *p;

	*p = e->next;
	inf->count--;
	if (notify && inf->ops.del)
		inf->ops.del(e->obj, inf->arg);
	cJSON_Delete(e->obj);
	free(e->key);
	free(e);
}

static void cache_del(struct xn_informer *inf, const cJSON *obj)
{
	cleanup_free char *key = obj_key(obj);
	struct entry **p;

	if (key != NULL && *(p = cache_slot(inf, key)) != NULL)
		entry_delete(inf, p, 1);
}

/* ---- retry ---- */

static void set_rv(struct xn_informer *inf, const char *rv)
{
	if (rv != NULL && rv[0] != '\0') {
		free(inf->rv);
		inf->rv = xn_xstrdup(rv);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_informer *inf = arg;

	if (inf->synced)
		start_watch(inf);
	else
		start_list(inf);
}

/* 200 ms doubling to 30 s, each wait drawn from [b/2, b] so clients spread. */
static void retry_later(struct xn_informer *inf)
{
	uint64_t b = inf->st.backoff_ms ? inf->st.backoff_ms * 2 : BACKOFF_FIRST_MS;
	uint64_t wait;
	struct timeval tv;

	if (b > BACKOFF_MAX_MS)
		b = BACKOFF_MAX_MS;
	inf->st.backoff_ms = b;
	wait = b / 2 + (uint64_t)random() % (b / 2 + 1);
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(inf->retry, &tv);
}

static void report(struct xn_informer *inf, long status, const char *msg)
{
	inf->st.errors++;
	if (inf->ops.error)
		inf->ops.error(status, msg, inf->arg);
}

/* ---- list ---- */

static void list_done(struct xn_kube_response *resp, void *arg)
{
	struct xn_informer *inf = arg;
	cJSON *items = cJSON_GetObjectItemCaseSensitive(resp->json, "items");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(resp->json, "metadata");
	const cJSON *cont = cJSON_GetObjectItemCaseSensitive(md, "continue");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	cJSON *it;
	size_t i;

	inf->req = NULL;
	if (resp->status != 200 || !cJSON_IsArray(items) || !cJSON_IsString(rv)) {
		report(inf, resp->status, resp->message ? resp->message : "list: not a List");
		/* An expired continue token: start the list over. */
		free(inf->cont);
		inf->cont = NULL;
		cJSON_Delete(inf->pending);
		inf->pending = NULL;
		if (resp->status == 410)
			start_list(inf);
		else
			retry_later(inf);
		return;
	}
	if (inf->pending == NULL)
		inf->pending = cJSON_CreateArray();
	while ((it = cJSON_DetachItemFromArray(items, 0)) != NULL)
		cJSON_AddItemToArray(inf->pending, it);
	free(inf->cont);
	inf->cont = NULL;
	if (cJSON_IsString(cont) && cont->valuestring[0] != '\0') {
		inf->cont = xn_xstrdup(cont->valuestring);
		start_list(inf);
		return;
	}

	/* Merge: put every listed object, then drop what the list did not have. */
	inf->listing = 0;
	inf->gen++;
	while ((it = cJSON_DetachItemFromArray(inf->pending, 0)) != NULL)
		cache_put(inf, it);
	cJSON_Delete(inf->pending);
	inf->pending = NULL;
	for (i = 0; i < inf->nbuckets; i++) {
		struct entry **p = &inf->buckets[i];

		while (*p != NULL) {
			if ((*p)->gen != inf->gen)
				entry_delete(inf, p, 1);
			else
				p = &(*p)->next;
		}
	}
	set_rv(inf, rv->valuestring);
	inf->st.lists++;
	inf->st.backoff_ms = 0;
	inf->synced = 1;
	if (inf->ops.synced)
		inf->ops.synced(inf->arg);
	start_watch(inf);
}

static void start_list(struct xn_informer *inf)
{
	cleanup_free char *cont = inf->cont ? xn_kube_escape(inf->cont) : NULL;
	cleanup_free char *path = NULL;
	xn_err err = NULL;

	inf->listing = 1;
	path = xn_xasprintf("%s?limit=%d%s%s%s%s", inf->path, LIST_PAGE, cont ? "&continue=" : "",
			    cont ? cont : "", inf->query ? "&" : "", inf->query ? inf->query : "");
	inf->req =
	    xn_kube_request(inf->k, XN_KUBE_GET, path, NULL, LIST_TIMEOUT_MS, list_done, inf, &err);
	if (inf->req == NULL) {
		report(inf, 0, xn_error_msg(err));
		xn_error_free(&err);
		retry_later(inf);
	}
}

/* ---- watch ---- */

static void relist(struct xn_informer *inf)
{
	inf->st.relists410++;
	inf->synced = 0;
	start_list(inf);
}

static void watch_event(enum xn_kube_event_type type, cJSON **obj, void *arg)
{
	struct xn_informer *inf = arg;
	const cJSON *code;

	switch (type) {
	case XN_KUBE_ADDED:
	case XN_KUBE_MODIFIED:
		set_rv(inf, xn_kube_meta(*obj, "resourceVersion"));
		cache_put(inf, *obj);
		*obj = NULL;
		break;
	case XN_KUBE_DELETED:
		set_rv(inf, xn_kube_meta(*obj, "resourceVersion"));
		cache_del(inf, *obj);
		break;
	case XN_KUBE_BOOKMARK: set_rv(inf, xn_kube_meta(*obj, "resourceVersion")); break;
	case XN_KUBE_ERROR:
		code = cJSON_GetObjectItemCaseSensitive(*obj, "code");
		xn_kube_cancel(inf->req);
		inf->req = NULL;
		if (cJSON_IsNumber(code) && code->valueint == 410) {
			relist(inf);
		} else {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(*obj, "message");

			report(inf, cJSON_IsNumber(code) ? code->valueint : 0,
			       cJSON_IsString(m) ? m->valuestring : "watch: ERROR event");
			retry_later(inf);
		}
		return;
	}
	inf->watch_had_events = 1;
	inf->st.backoff_ms = 0;
}

static void watch_end(long status, const char *message, void *arg)
{
	struct xn_informer *inf = arg;
	int quick = xn_now_mono_ns() - inf->watch_start_ns < 1000000000ull;

	inf->req = NULL;
	if (status == 410) {
		relist(inf);
		return;
	}
	if (status == 200 && message == NULL) {
		/* A normal end (timeoutSeconds).  One that ends at once without
		 * news is a server in trouble: do not spin on it. */
		if (quick && !inf->watch_had_events)
			retry_later(inf);
		else
			start_watch(inf);
		return;
	}
	report(inf, status, message ? message : "watch failed");
	retry_later(inf);
}

static void start_watch(struct xn_informer *inf)
{
	cleanup_free char *path =
	    xn_xasprintf("%s%s%s", inf->path, inf->query ? "?" : "", inf->query ? inf->query : "");
	xn_err err = NULL;

	inf->st.watches++;
	inf->watch_start_ns = xn_now_mono_ns();
	inf->watch_had_events = 0;
	inf->req = xn_kube_watch(inf->k, path, inf->rv, 0, watch_event, watch_end, inf, &err);
	if (inf->req == NULL) {
		report(inf, 0, xn_error_msg(err));
		xn_error_free(&err);
		retry_later(inf);
	}
}

/* ---- public ---- */

struct xn_informer *xn_informer_new(struct xn_kube *k, const char *path, const char *query,
				    const struct xn_informer_ops *ops, void *arg)
{
	struct xn_informer *inf = xn_xcalloc(1, sizeof(*inf));

	inf->k = k;
	inf->path = xn_xstrdup(path);
	inf->query = query && query[0] ? xn_xstrdup(query) : NULL;
	if (ops != NULL)
		inf->ops = *ops;
	inf->arg = arg;
	inf->nbuckets = 64;
	inf->buckets = xn_xcalloc(inf->nbuckets, sizeof(*inf->buckets));
	inf->retry = evtimer_new(xn_kube_event_base(k), retry_cb, inf);
	start_list(inf);
	return inf;
}

void xn_informer_free(struct xn_informer *inf)
{
	size_t i;

	if (inf == NULL)
		return;
	xn_kube_cancel(inf->req);
	event_free(inf->retry);
	for (i = 0; i < inf->nbuckets; i++)
		while (inf->buckets[i] != NULL)
			entry_delete(inf, &inf->buckets[i], 0);
	free(inf->buckets);
	cJSON_Delete(inf->pending);
	free(inf->cont);
	free(inf->rv);
	free(inf->path);
	free(inf->query);
	free(inf);
}

const cJSON *xn_informer_get(struct xn_informer *inf, const char *ns, const char *name)
{
	cleanup_free char *key = ns && ns[0] ? xn_xasprintf("%s/%s", ns, name) : xn_xstrdup(name);
	struct entry *e = *cache_slot(inf, key);

	return e ? e->obj : NULL;
}

size_t xn_informer_count(struct xn_informer *inf)
{
	return inf->count;
}

void xn_informer_foreach(struct xn_informer *inf, void (*fn)(const cJSON *obj, void *arg),
			 void *arg)
{
	for (size_t i = 0; i < inf->nbuckets; i++)
		for (struct entry *e = inf->buckets[i]; e != NULL; e = e->next)
			fn(e->obj, arg);
}

const char *xn_informer_rv(struct xn_informer *inf)
{
	return inf->rv ? inf->rv : "";
}

int xn_informer_synced(struct xn_informer *inf)
{
	return inf->synced;
}

void xn_informer_get_stats(struct xn_informer *inf, struct xn_informer_stats *st)
{
	*st = inf->st;
}

void xn_informer_rewatch(struct xn_informer *inf, const char *rv)
{
	xn_kube_cancel(inf->req);
	inf->req = NULL;
	evtimer_del(inf->retry);
	set_rv(inf, rv);
	if (inf->synced)
		start_watch(inf);
	else
		start_list(inf);
}
