/* event_correlate.c - the EventCorrelator's decisions (see event_correlate.h). */
#include <stdlib.h>
#include <string.h>

#include "xenlet/event_correlate.h"
#include "xenlet/token_bucket.h"
#include "xenlet/util.h"

/* An involved object's spam bucket. */
struct objrec {
	TAILQ_ENTRY(objrec) entry;
	char *object;
	struct xn_token_bucket tb;
};

/* The distinct messages of one object, type and reason in the window. */
struct aggr {
	TAILQ_ENTRY(aggr) entry;
	char *key; /* object \n type \n reason */
	char *msgs[XN_EVCORR_AGGR_MAX];
	unsigned nmsgs;
	uint64_t first_ns;
};

TAILQ_HEAD(ev_list, xn_evcorr_event);
TAILQ_HEAD(obj_list, objrec);
TAILQ_HEAD(aggr_list, aggr);

struct xn_evcorr {
	struct ev_list events; /* most recently used first */
	struct obj_list objs;
	struct aggr_list aggrs;
	unsigned nevents, nobjs, naggrs;
	unsigned long dropped;
	uint64_t patch_min_ns;
	void (*forget)(struct xn_evcorr_event *ev, void *arg);
	void *arg;
};

struct xn_evcorr *xn_evcorr_new(void (*forget)(struct xn_evcorr_event *ev, void *arg), void *arg)
{
	struct xn_evcorr *c = xn_xcalloc(1, sizeof(*c));

	TAILQ_INIT(&c->events);
	TAILQ_INIT(&c->objs);
	TAILQ_INIT(&c->aggrs);
	c->forget = forget;
	c->arg = arg;
	c->patch_min_ns = XN_EVCORR_PATCH_MIN_NS;
	return c;
}

void xn_evcorr_set_patch_interval(struct xn_evcorr *c, uint64_t ns)
{
	c->patch_min_ns = ns;
}

static void event_drop(struct xn_evcorr *c, struct xn_evcorr_event *e)
{
	if (c->forget)
		c->forget(e, c->arg);
	TAILQ_REMOVE(&c->events, e, entry);
	c->nevents--;
	free(e->key);
	free(e->message);
	free(e->path);
	free(e);
}

static void obj_drop(struct xn_evcorr *c, struct objrec *o)
{
	TAILQ_REMOVE(&c->objs, o, entry);
	c->nobjs--;
	free(o->object);
	free(o);
}

static void aggr_drop(struct xn_evcorr *c, struct aggr *a)
{
	TAILQ_REMOVE(&c->aggrs, a, entry);
	c->naggrs--;
	for (unsigned i = 0; i < a->nmsgs; i++)
		free(a->msgs[i]);
	free(a->key);
	free(a);
}

void xn_evcorr_free(struct xn_evcorr *c)
{
	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->events))
		event_drop(c, TAILQ_FIRST(&c->events));
	while (!TAILQ_EMPTY(&c->objs))
		obj_drop(c, TAILQ_FIRST(&c->objs));
	while (!TAILQ_EMPTY(&c->aggrs))
		aggr_drop(c, TAILQ_FIRST(&c->aggrs));
	free(c);
}

static struct objrec *obj_get(struct xn_evcorr *c, const char *object)
{
	struct objrec *o;

	TAILQ_FOREACH(o, &c->objs, entry)
		if (strcmp(o->object, object) == 0)
			break;
	if (o != NULL) {
		TAILQ_REMOVE(&c->objs, o, entry);
	} else {
		o = xn_xcalloc(1, sizeof(*o));
		o->object = xn_xstrdup(object);
		xn_token_bucket_init(&o->tb, XN_EVCORR_SPAM_BURST, 1.0 / XN_EVCORR_SPAM_EVERY_S);
		c->nobjs++;
	}
	TAILQ_INSERT_HEAD(&c->objs, o, entry);
	if (c->nobjs > XN_EVCORR_MAX)
		obj_drop(c, TAILQ_LAST(&c->objs, obj_list));
	return o;
}

/* Is message one too many distinct ones for its object, type and reason? */
static bool aggregated(struct xn_evcorr *c, const char *akey, const char *message, uint64_t now)
{
	struct aggr *a;

	TAILQ_FOREACH(a, &c->aggrs, entry)
		if (strcmp(a->key, akey) == 0)
			break;
	if (a != NULL && now - a->first_ns >= XN_EVCORR_WINDOW_NS) {
		aggr_drop(c, a); /* the window is over: start counting again */
		a = NULL;
	}
	if (a == NULL) {
		a = xn_xcalloc(1, sizeof(*a));
		a->key = xn_xstrdup(akey);
		a->first_ns = now;
		c->naggrs++;
	} else {
		TAILQ_REMOVE(&c->aggrs, a, entry);
	}
	TAILQ_INSERT_HEAD(&c->aggrs, a, entry);
	if (c->naggrs > XN_EVCORR_MAX)
		aggr_drop(c, TAILQ_LAST(&c->aggrs, aggr_list));
	for (unsigned i = 0; i < a->nmsgs; i++)
		if (strcmp(a->msgs[i], message) == 0)
			return false;
	if (a->nmsgs < XN_EVCORR_AGGR_MAX) {
		a->msgs[a->nmsgs++] = xn_xstrdup(message);
		return false;
	}
	return true;
}

enum xn_evcorr_verdict xn_evcorr_observe(struct xn_evcorr *c, const char *object, const char *type,
					 const char *reason, const char *message, uint64_t now,
					 struct xn_evcorr_event **evp)
{
	cleanup_free char *akey = xn_xasprintf("%s\n%s\n%s", object, type, reason);
	cleanup_free char *combined = NULL;
	cleanup_free char *key = NULL;
	struct xn_evcorr_event *e;

	*evp = NULL;
	if (aggregated(c, akey, message, now)) {
		combined = xn_xasprintf(XN_EVCORR_COMBINED "%s", message);
		key = xn_xasprintf("%s\n" XN_EVCORR_COMBINED, akey);
		message = combined;
	} else {
		key = xn_xasprintf("%s\n%s", akey, message);
	}
	TAILQ_FOREACH(e, &c->events, entry)
		if (strcmp(e->key, key) == 0)
			break;
	if (e != NULL && now - e->first_ns >= XN_EVCORR_WINDOW_NS) {
		event_drop(c, e); /* older than the window: a new Event */
		e = NULL;
	}
	if (e != NULL) {
		e->count++;
		e->last_ns = now;
		if (strcmp(e->message, message) != 0) {
			free(e->message);
			e->message = xn_xstrdup(message);
		}
		TAILQ_REMOVE(&c->events, e, entry);
		TAILQ_INSERT_HEAD(&c->events, e, entry);
		*evp = e;
		if (e->user == NULL && now - e->updated_ns >= c->patch_min_ns) {
			xn_evcorr_sent(e, now);
			return XN_EVCORR_UPDATE;
		}
		e->due = true;
		return XN_EVCORR_LATER;
	}
	if (!xn_token_bucket_take(&obj_get(c, object)->tb, now)) {
		c->dropped++;
		return XN_EVCORR_DROP;
	}
	e = xn_xcalloc(1, sizeof(*e));
	e->key = xn_xstrdup(key);
	e->message = xn_xstrdup(message);
	e->count = 1;
	e->first_ns = e->last_ns = e->updated_ns = now;
	TAILQ_INSERT_HEAD(&c->events, e, entry);
	if (++c->nevents > XN_EVCORR_MAX)
		event_drop(c, TAILQ_LAST(&c->events, ev_list));
	*evp = e;
	return XN_EVCORR_NEW;
}

void xn_evcorr_sent(struct xn_evcorr_event *ev, uint64_t now)
{
	ev->due = false;
	ev->updated_ns = now;
}

uint64_t xn_evcorr_next_due(const struct xn_evcorr *c)
{
	const struct xn_evcorr_event *e;
	uint64_t next = 0;

	TAILQ_FOREACH(e, &c->events, entry)
		if (e->due && (next == 0 || e->updated_ns + c->patch_min_ns < next))
			next = e->updated_ns + c->patch_min_ns;
	return next;
}

void xn_evcorr_flush_due(struct xn_evcorr *c, uint64_t now,
			 void (*fn)(struct xn_evcorr_event *ev, void *arg), void *arg)
{
	struct xn_evcorr_event *e;

	TAILQ_FOREACH(e, &c->events, entry)
		if (e->due && e->user == NULL && now - e->updated_ns >= c->patch_min_ns) {
			xn_evcorr_sent(e, now);
			fn(e, arg);
		}
}

unsigned long xn_evcorr_dropped(const struct xn_evcorr *c)
{
	return c->dropped;
}
