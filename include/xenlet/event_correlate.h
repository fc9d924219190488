/* event_correlate.h - which Events become API objects, and when their
 * counts go out: the kubelet's EventCorrelator (client-go
 * tools/record/events_cache.go) for xenlet.  Pure: no I/O, the caller passes
 * the time, so unit tests drive the clock; kube_events.c does the requests.
 *
 * For each Event (an involved object, type, reason and message) it decides:
 *
 *  - aggregation: once one object has had XN_EVCORR_AGGR_MAX different
 *    messages for the same type and reason within the window, further ones
 *    are one Event whose message is "(combined from similar events): MSG";
 *  - deduplication: the same object, type, reason and message within the
 *    window is the same Event object: its count grows and lastTimestamp
 *    moves, never a new object;
 *  - the spam filter: new Event objects take a token from their object's
 *    bucket (XN_EVCORR_SPAM_BURST, then one per XN_EVCORR_SPAM_EVERY_S);
 *    with none left the Event is dropped;
 *  - the pace of updates: a repeat's count goes out at once if the Event was
 *    not updated in the last XN_EVCORR_PATCH_MIN_NS, else it is marked due
 *    and goes out with the repeats after it in one update (so any number of
 *    repeats costs one PATCH per interval per Event, and the last count
 *    always arrives).
 *
 * Memory is bounded: at most XN_EVCORR_MAX Events, objects and aggregation
 * records each are remembered, the least recently used forgotten first.
 */
#ifndef XENLET_EVENT_CORRELATE_H
#define XENLET_EVENT_CORRELATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#define XN_EVCORR_WINDOW_NS    (600ull * 1000000000ull) /* as client-go: 10 minutes */
#define XN_EVCORR_MAX	       256
#define XN_EVCORR_AGGR_MAX     10  /* as client-go's defaultAggregateMaxEvents */
#define XN_EVCORR_SPAM_BURST   25  /* as client-go's defaultSpamBurst */
#define XN_EVCORR_SPAM_EVERY_S 300 /* as client-go's defaultSpamQPS 1/300 */
#define XN_EVCORR_PATCH_MIN_NS (10ull * 1000000000ull)
#define XN_EVCORR_COMBINED     "(combined from similar events): "

/* One Event object. */
struct xn_evcorr_event {
	TAILQ_ENTRY(xn_evcorr_event) entry;
	char *key;	/* object \n type \n reason \n message (after aggregation) */
	char *message;	/* the message the object carries (the latest, if combined) */
	unsigned count; /* occurrences so far */
	uint64_t first_ns, last_ns;
	uint64_t updated_ns; /* when its POST or last PATCH was handed out */
	bool due;	     /* a count not handed out yet */
	void *user;	     /* the caller's (kube_events: its POST while queued) */
	char *path;	     /* the caller's name for the object (freed with it) */
};

enum xn_evcorr_verdict {
	XN_EVCORR_NEW,	  /* post a new Event object */
	XN_EVCORR_UPDATE, /* send its count (and lastTimestamp, message) now */
	XN_EVCORR_LATER,  /* a repeat: its count goes with a later update */
	XN_EVCORR_DROP,	  /* spam: the object's bucket is empty */
};

struct xn_evcorr;

/* forget (may be NULL) is called for an Event before it is forgotten (the
 * oldest beyond XN_EVCORR_MAX, or at xn_evcorr_free), so the caller can
 * drop its `user`. */
struct xn_evcorr *xn_evcorr_new(void (*forget)(struct xn_evcorr_event *ev, void *arg), void *arg);
void xn_evcorr_free(struct xn_evcorr *c);
/* The pace of count updates (XN_EVCORR_PATCH_MIN_NS unless set; tests). */
void xn_evcorr_set_patch_interval(struct xn_evcorr *c, uint64_t ns);
/* Correlate one Event at now_ns.  object names the involved object (its
 * uid, or kind/ns/name); *ev is the Event object it belongs to (NULL for
 * DROP), valid until the next call.  The caller of a LATER whose POST is
 * still queued can update the queued body instead (then mark it sent with
 * xn_evcorr_sent). */
enum xn_evcorr_verdict xn_evcorr_observe(struct xn_evcorr *c, const char *object, const char *type,
					 const char *reason, const char *message, uint64_t now_ns,
					 struct xn_evcorr_event **ev);
/* The caller has handed out ev's count at now_ns (not due any more). */
void xn_evcorr_sent(struct xn_evcorr_event *ev, uint64_t now_ns);
/* When the earliest due update may go (0: none due). */
uint64_t xn_evcorr_next_due(const struct xn_evcorr *c);
/* Call fn for each Event whose update may go at now_ns, marking it sent. */
void xn_evcorr_flush_due(struct xn_evcorr *c, uint64_t now_ns,
			 void (*fn)(struct xn_evcorr_event *ev, void *arg), void *arg);
/* Events dropped by the spam filter so far. */
unsigned long xn_evcorr_dropped(const struct xn_evcorr *c);

#endif
