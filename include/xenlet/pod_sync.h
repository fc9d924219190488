/* pod_sync.h - the pods the scheduler binds to this node, kept in step with
 * the runtime: the API side of the kubelet.
 *
 * Watches pods with fieldSelector=spec.nodeName=<node> (an informer: list,
 * watch, bookmarks, 410 -> relist).  A new pod is translated and admitted
 * (pod_translate.h) and handed to the runtime; a rejected one ends Failed
 * with the kubelet's reason and an Event.  A pod with a deletionTimestamp
 * is stopped within its grace period and then deleted with grace 0.  Status
 * follows the runtime's callbacks, never polling, through PATCH of
 * pods/<name>/status; patches to one pod are coalesced.  After the first
 * list, pods the runtime still runs but the API server no longer has (deleted
 * while the daemon was down) are stopped.
 */
#ifndef XENLET_POD_SYNC_H
#define XENLET_POD_SYNC_H

#include "xenlet/err.h"
#include "xenlet/pod_status.h"
#include "xenlet/pod_translate.h"
#include "xenlet/runtime.h"

struct event_base;
struct xn_kube;
struct xn_kube_events;
struct xn_pod_sync;

struct xn_pod_sync_opts {
	const char *node_name;
	const char *node_ip; /* hostIP of every pod */
	struct xn_pod_defaults defaults;
	/* current allocatable; NULL: admission by memory/cpu is skipped */
	void (*allocatable)(void *arg, struct xn_node_resources *out);
	void *allocatable_arg;
};

struct xn_pod_sync *xn_pod_sync_new(struct event_base *base, struct xn_kube *k,
				    struct xn_kube_events *events, struct xn_runtime *rt,
				    const struct xn_pod_sync_opts *opts, xn_err *err);
void xn_pod_sync_free(struct xn_pod_sync *ps);

/* Wire the runtime's callbacks here (main passes them through). */
void xn_pod_sync_runtime_event(struct xn_pod_sync *ps, enum xn_runtime_event ev, const char *uid,
			       const struct xn_pod_status *st);
void xn_pod_sync_runtime_note(struct xn_pod_sync *ps, const char *uid, const char *type,
			      const char *reason, const char *message);

#endif
