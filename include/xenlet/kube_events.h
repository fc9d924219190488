/* kube_events.h - Kubernetes Events about pods, as the kubelet writes them.
 *
 * core/v1 Events with source {component: "xenlet", host: <node>}, through
 * the kubelet's EventCorrelator (event_correlate.h): a repeat of the same
 * reason and message for the same object within 10 minutes is folded into
 * one Event with a count (PATCHed at most once per 10 s), many distinct
 * messages of one reason are combined, and new Event objects about one
 * object are rate-limited, so a crash-looping or hostile pod does not flood
 * the API server.  Fire and forget: a
 * failure is logged at debug level and dropped, as the kubelet drops them.
 *
 * Events are the low-priority lane: they are queued and sent a few at a
 * time, and none starts while the owner holds the lane (pod_sync does while
 * pod status patches are due), unless it has waited 2 s.  At most 1000 wait;
 * beyond that the oldest is dropped, as client-go's recorder drops.
 */
#ifndef XENLET_KUBE_EVENTS_H
#define XENLET_KUBE_EVENTS_H

#include <stdbool.h>

struct xn_kube;
struct xn_kube_events;

struct xn_event_object {
	const char *kind; /* "Pod", "Node" */
	const char *ns;	  /* "" for cluster-scoped */
	const char *name;
	const char *uid;
	const char *field_path; /* "spec.containers{app}" or NULL */
};

struct xn_kube_events *xn_kube_events_new(struct xn_kube *k, const char *node);
void xn_kube_events_free(struct xn_kube_events *ev);
/* type: "Normal" or "Warning". */
void xn_kube_event(struct xn_kube_events *ev, const struct xn_event_object *obj, const char *type,
		   const char *reason, const char *message);
/* Count updates of one Event at most once per ms (10 s unless set; tests). */
void xn_kube_events_set_patch_interval_ms(struct xn_kube_events *ev, unsigned ms);
/* true: more important requests are due; Events wait (2 s at most). */
void xn_kube_events_hold(struct xn_kube_events *ev, bool hold);

#endif
