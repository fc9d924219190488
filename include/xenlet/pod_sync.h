/* pod_sync.h - the pods the scheduler binds to this node, kept in step with
 * the runtime: the API side of the kubelet.
 *
 * Watches pods with fieldSelector=spec.nodeName=<node> (an informer: list,
 * watch, bookmarks, 410 -> relist).  A new pod is translated and admitted
 * (pod_translate.h) and handed to the runtime; a rejected one ends Failed
 * with the kubelet's reason and an Event.  A pod with a deletionTimestamp
 * is stopped within its grace period; once the runtime has let it go it is
 * deleted with grace 0.  Status follows the runtime's callbacks, never
 * polling, through PATCH of pods/<name>/status (pod_status.h builds it).
 * After the first list, pods the runtime still runs but the API server no
 * longer has (deleted while the daemon was down) are stopped.
 *
 * Status first: the status patches are the critical path of a pod start, so
 * - one patch per pod is in flight at a time, and every change that comes
 *   meanwhile is coalesced into the next one (never two patches of one pod
 *   racing each other);
 * - a new pod's first status is held back while it only says "Pending,
 *   ContainerCreating" (XN_POD_SYNC_FIRST_HOLD_MS at most), so a pod that
 *   starts quickly goes to Running in one patch;
 * - Events (Pulling, Pulled, Created, Started, UnsupportedFields ...) wait
 *   while any status patch is due or in flight (the API's events_hold; the
 *   Events module sends them later, never more than a few at once).
 */
#ifndef XENLET_POD_SYNC_H
#define XENLET_POD_SYNC_H

#include <stdbool.h>

#include <cJSON.h>

#include "xenlet/err.h"
#include "xenlet/pod_status.h"
#include "xenlet/pod_translate.h"
#include "xenlet/runtime.h"

struct event_base;
struct xn_event_object;
struct xn_kube;
struct xn_kube_events;
struct xn_pod_sync;
struct xn_image_puller;

/* How long a new pod's first status may wait for news beyond Pending. */
#define XN_POD_SYNC_FIRST_HOLD_MS 1000

struct xn_pod_sync_opts {
	const char *node_name;
	const char *node_ip; /* hostIP of every pod */
	struct xn_pod_defaults defaults;
	/* current allocatable; NULL: admission by memory/cpu is skipped */
	void (*allocatable)(void *arg, struct xn_node_resources *out);
	void *allocatable_arg;
	/* pulls registry images (image_pull.h); NULL: a pod whose image is a
	 * registry reference waits with ErrImagePull, "no image puller" */
	struct xn_image_puller *puller;
};

/* The API server as pod_sync sees it.  xn_pod_sync_new wires the real one
 * (kube client, informer, Events); unit tests pass their own and feed the
 * pod objects through xn_pod_sync_pod_changed/_deleted/_synced. */
typedef void (*xn_pod_sync_done_fn)(long status, const char *message, void *arg);
struct xn_pod_sync_api {
	/* PATCH pods/<name>/status with the merge patch body; DELETE
	 * pods/<name> with grace 0 and the uid as precondition.  Return a
	 * handle for cancel, or NULL (and *err) when nothing was sent; done
	 * comes exactly once, later, from the event loop, unless cancelled. */
	void *(*patch_status)(void *ctx, const char *ns, const char *name, const cJSON *body,
			      xn_pod_sync_done_fn done, void *arg, xn_err *err);
	void *(*delete_pod)(void *ctx, const char *ns, const char *name, const char *uid,
			    xn_pod_sync_done_fn done, void *arg, xn_err *err);
	void (*cancel)(void *ctx, void *req);
	/* Record an Event (fire and forget). */
	void (*event)(void *ctx, const struct xn_event_object *obj, const char *type,
		      const char *reason, const char *message);
	/* true: status patches are due or in flight, Events should wait. */
	void (*events_hold)(void *ctx, bool hold);
	/* The pod object as last seen (its conditions), or NULL. */
	const cJSON *(*get_pod)(void *ctx, const char *ns, const char *name);
	/* The first complete list has arrived. */
	bool (*synced)(void *ctx);
};

struct xn_pod_sync *xn_pod_sync_new(struct event_base *base, struct xn_kube *k,
				    struct xn_kube_events *events, struct xn_runtime *rt,
				    const struct xn_pod_sync_opts *opts, xn_err *err);
/* The same over another API (tests): no informer is started. */
struct xn_pod_sync *xn_pod_sync_new_api(struct event_base *base, const struct xn_pod_sync_api *api,
					void *ctx, struct xn_runtime *rt,
					const struct xn_pod_sync_opts *opts);
void xn_pod_sync_free(struct xn_pod_sync *ps);

/* The informer's news (xn_pod_sync_new wires them itself). */
void xn_pod_sync_pod_changed(struct xn_pod_sync *ps, const cJSON *pod);
void xn_pod_sync_pod_deleted(struct xn_pod_sync *ps, const cJSON *pod);
void xn_pod_sync_synced(struct xn_pod_sync *ps);

/* Wire the runtime's callbacks here (main passes them through). */
void xn_pod_sync_runtime_event(struct xn_pod_sync *ps, enum xn_runtime_event ev, const char *uid,
			       const struct xn_pod_status *st);
void xn_pod_sync_runtime_note(struct xn_pod_sync *ps, const char *uid, const char *type,
			      const char *reason, const char *message);

#endif
