/* node.h - this host as a Kubernetes Node: registration, status, Lease.
 *
 * xn_node_start() registers the Node (POST /api/v1/nodes; on 409 it adopts
 * the existing object: GET, then a merge patch of our labels only, since
 * NodeRestriction forbids a node to change its own taints), then keeps it
 * alive on the caller's event loop:
 *   - status: strategic merge patch of /api/v1/nodes/<name>/status with
 *     capacity, allocatable, conditions, nodeInfo, addresses and
 *     daemonEndpoints.  The host is sampled every XN_NODE_SAMPLE_S seconds;
 *     the status is pushed when it differs from the last one pushed, on
 *     xn_node_status_dirty(), and at least every nodeStatusUpdateFrequency.
 *     Conditions are merged by type (foreign condition types are kept, as
 *     the kubelet does); addresses are replaced as a whole.
 *   - heartbeat: the Lease kube-node-lease/<name>, renewed every quarter of
 *     leaseDurationSeconds, owned by the Node; created on 404.
 *   - an informer on the Node itself (fieldSelector=metadata.name=<name>)
 *     gives the uid, spec.podCIDR and taints; when the Node is deleted it
 *     is registered again.
 * Every failed request is retried with back-off (200 ms doubling to 7 s), so
 * an unreachable API server only delays things.  Nothing blocks; no threads.
 * Decisions (registered, adopted, condition changes, failures) are logged.
 */
#ifndef XENLET_NODE_H
#define XENLET_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cJSON.h>

#include "xenlet/config.h"
#include "xenlet/err.h"
#include "xenlet/hv.h"
#include "xenlet/pod_translate.h"

struct event_base;
struct xn_kube;
struct xn_runtime;
struct xn_node;

#define XN_NODE_SAMPLE_S	  10  /* host sampled for status changes */
#define XN_NODE_COALESCE_MS	  200 /* xn_node_status_dirty() -> push delay */
#define XN_NODE_BACKOFF_MIN_MS	  200 /* retry back-off of every request */
#define XN_NODE_BACKOFF_MAX_MS	  7000
#define XN_NODE_DISK_PRESSURE_PCT 10 /* DiskPressure below this % free */

/* Kubernetes release the version string claims compatibility with. */
#define XN_NODE_K8S_VERSION "v1.34.4"

/* Spec of our Node changed (podCIDR assigned, taints edited) or the Node
 * was re-registered.  Optional. */
typedef void (*xn_node_change_fn)(struct xn_node *n, void *arg);

/* kube must outlive the node.  rt may be NULL (no pods: the memory held by
 * our domains counts as 0).  The config is read now and must stay valid
 * (taints/labels are read at registration).  Returns NULL with err set when
 * the host cannot be described (host_info fails, bad node name). */
struct xn_node *xn_node_new(struct event_base *base, struct xn_kube *kube, struct xn_hv *hv,
			    struct xn_runtime *rt, const struct xn_config *cfg, xn_err *err);
/* Register, then heartbeat.  Returns -1 only if already started. */
int xn_node_start(struct xn_node *n, xn_err *err);
/* Cancel everything; no callback afterwards.  NULL is fine. */
void xn_node_free(struct xn_node *n);

void xn_node_set_change_cb(struct xn_node *n, xn_node_change_fn fn, void *arg);
/* The pod network's state for NetworkUnavailable, asked at each sample
 * (fills net_checked, net_up, net_msg); none: not checked. */
struct xn_node_sample;
typedef void (*xn_node_net_fn)(struct xn_node_sample *s, void *arg);
void xn_node_set_net_cb(struct xn_node *n, xn_node_net_fn fn, void *arg);

/* Allocatable resources, as last computed (for pod admission). */
void xn_node_allocatable(struct xn_node *n, struct xn_node_resources *out);
/* Something in the status changed (pods started/stopped): push soon.
 * Calls within XN_NODE_COALESCE_MS become one patch. */
void xn_node_status_dirty(struct xn_node *n);
/* Registered and the status pushed at least once. */
bool xn_node_ready(struct xn_node *n);

const char *xn_node_name(struct xn_node *n);
/* The InternalIP we advertise. */
const char *xn_node_ip(struct xn_node *n);
/* spec.podCIDRs joined with "," (dual-stack), else spec.podCIDR, as the
 * controller-manager assigned them; NULL until it has. */
const char *xn_node_pod_cidr(struct xn_node *n);
/* metadata.uid of our Node, NULL before registration. */
const char *xn_node_uid(struct xn_node *n);

struct xn_node_stats {
	unsigned registrations; /* successful POST or adopt */
	unsigned adopted;	/* registrations through 409 */
	unsigned status_pushes; /* successful status patches */
	unsigned lease_renewals;
	unsigned failures; /* failed requests of any kind */
};
void xn_node_get_stats(struct xn_node *n, struct xn_node_stats *st);

/* ---- pure pieces (no I/O), exported for unit tests ---- */

/* Capacity and allocatable from a host sample: memory allocatable is free
 * Xen memory + memory held by our domains - reserved, floored at 0 and
 * rounded down to MiB; cpu is host CPUs - reserved; pods is maxPods. */
void xn_node_compute_resources(const struct xn_host_info *h, uint64_t ours_kb,
			       const struct xn_config *c, struct xn_node_resources *cap,
			       struct xn_node_resources *alloc);

enum xn_cond_status { XN_COND_FALSE = 0, XN_COND_TRUE, XN_COND_UNKNOWN };
const char *xn_cond_status_name(enum xn_cond_status s);

struct xn_node_condition {
	const char *type; /* "Ready", "MemoryPressure", ... */
	enum xn_cond_status status;
	char reason[64];
	char message[160];
	time_t transition; /* lastTransitionTime; 0: never set */
};

/* Set a condition; lastTransitionTime moves to now only when the status
 * changes (or was never set).  Returns true when the status changed. */
bool xn_node_condition_set(struct xn_node_condition *c, enum xn_cond_status st, const char *reason,
			   const char *message, time_t now);

/* What the conditions are computed from. */
struct xn_node_sample {
	struct xn_host_info host;
	uint64_t ours_kb;  /* memory held by our domains */
	int disk_free_pct; /* of the root dir; -1: unknown */
	/* the pod network (NetworkUnavailable): checked only where there is a
	 * host network to check (libxl); net_msg says what is missing or up */
	bool net_checked, net_up;
	char net_msg[160];
};

enum {
	XN_NODE_COND_READY = 0,
	XN_NODE_COND_MEMORY,
	XN_NODE_COND_DISK,
	XN_NODE_COND_PID,
	XN_NODE_COND_NETWORK,
	XN_NODE_NCOND
};

/* Initialise the five conditions (types set, never transitioned). */
void xn_node_conditions_init(struct xn_node_condition conds[XN_NODE_NCOND]);
/* Update the five conditions from a sample; returns true when a status
 * changed. */
bool xn_node_conditions_update(struct xn_node_condition conds[XN_NODE_NCOND],
			       const struct xn_node_sample *s, int64_t memory_pressure_free,
			       time_t now);
/* Take lastTransitionTime from an existing Node's conditions where the
 * status is the one we hold, so a restart does not fake a transition. */
void xn_node_conditions_adopt(struct xn_node_condition conds[XN_NODE_NCOND], const cJSON *node);

/* "v1.34.4-xenlet.<version>" */
void xn_node_kubelet_version(const char *xenlet_version, char *buf, size_t len);

/* Static facts of the node that go into nodeInfo and addresses. */
struct xn_node_info {
	char machine_id[64];
	char system_uuid[64];
	char boot_id[64];
	char hostname[256]; /* lowercased; the Hostname address and label */
	char ip[64];	    /* InternalIP */
};

/* The status object for the patch: capacity, allocatable, conditions (with
 * lastHeartbeatTime = heartbeat), nodeInfo, addresses ($patch: replace),
 * daemonEndpoints.  heartbeat 0 leaves lastHeartbeatTime out (used to
 * compare two statuses). */
cJSON *xn_node_status_json(const struct xn_node_info *info, const struct xn_node_sample *s,
			   const struct xn_node_resources *cap,
			   const struct xn_node_resources *alloc,
			   const struct xn_node_condition conds[XN_NODE_NCOND],
			   const struct xn_config *c, time_t heartbeat);
/* Labels we set: kubernetes.io/{arch,os,hostname}, xenlet.io/runtime=xen,
 * then the configured ones (they win). */
cJSON *xn_node_labels_json(const struct xn_node_info *info, const char *arch,
			   const struct xn_config *c);
/* The Node object to POST: name, labels, taints from config. */
cJSON *xn_node_object_json(const char *name, const struct xn_node_info *info, const char *arch,
			   const struct xn_config *c);

#endif
