/* pod_env.h - a container's environment as the kubelet computes it, for a
 * guest that reads it from xenstore (xenlet/env/<NAME>), and Kubernetes'
 * $(VAR) expansion of env values and of command/args.  Pure: no I/O.
 *
 * Two steps, because the pod's address is known only when it starts:
 *   xn_pod_env_plan (at translation): validates containers[0].env, resolves
 *     every source it can (value, fieldRef, resourceFieldRef) and returns a
 *     plan (JSON text kept in the pod spec, so a restarted daemon has it);
 *   xn_pod_env_resolve (at each start): fills in status.podIP/podIPs and
 *     expands the values in order, as the kubelet's makeEnvironmentVariables.
 * Limits (each variable is one xenstore key written in one transaction):
 *   name: a C identifier of at most XN_ENV_NAME_MAX bytes (xenstore paths
 *   take no '.', so the wider Kubernetes rule cannot be kept); value at most
 *   XN_ENV_VALUE_MAX bytes (the key's path and value must fit xenstore's
 *   4096-byte payload, XENSTORE_PAYLOAD_MAX); at most XN_ENV_COUNT_MAX
 *   variables and XN_ENV_TOTAL_MAX bytes of names and values together.
 */
#ifndef XENLET_POD_ENV_H
#define XENLET_POD_ENV_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "xenlet/err.h"

#define XN_ENV_NAME_MAX	 128
#define XN_ENV_VALUE_MAX 2048
#define XN_ENV_COUNT_MAX 256
#define XN_ENV_TOTAL_MAX 65536

/* Variables in first-definition order; a later duplicate replaces the
 * value in place (the kubelet: later wins). */
struct xn_env {
	size_t n;
	char **names;
	char **values;
};
void xn_env_dispose(struct xn_env *e);
const char *xn_env_get(const struct xn_env *e, const char *name);
void xn_env_set(struct xn_env *e, const char *name, const char *value);

/* Kubernetes' expansion (third_party/forked/golang/expansion): $(NAME) is
 * replaced by NAME's value in e, left as written when e has no NAME; "$$"
 * is one '$'; any other '$' stays.  malloc'd. */
char *xn_env_expand(const char *in, const struct xn_env *e);

/* What the plan needs besides the Pod: what a unikernel domain gets when the
 * container sets no limit (its memory and vCPUs), and the node's address. */
struct xn_env_facts {
	int64_t memory_bytes; /* the domain's memory */
	int64_t cpu_milli;    /* the domain's vCPUs x 1000 */
	const char *host_ip;  /* status.hostIP(s); NULL: "" */
};

/* containers[0].env of pod -> *plan (malloc'd JSON text; NULL when the
 * container has no env).  On a bad entry: -1, reason (CreateContainerConfigError
 * or UnsupportedPodSpec) and a message naming the variable and the problem. */
int xn_pod_env_plan(const cJSON *pod, const cJSON *container, const struct xn_env_facts *f,
		    char **plan, char reason[64], char *msg, size_t msglen);

/* The plan with the pod's addresses ("" when none) -> the environment. */
int xn_pod_env_resolve(const char *plan, const char *pod_ip, const char *pod_ip6,
		       struct xn_env *out, xn_err *err);

#endif
