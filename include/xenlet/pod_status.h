/* pod_status.h - the runtime's view of a pod -> the body of its status
 * subresource, as the kubelet writes it.  Pure: no I/O and no clock (the
 * caller passes "now"), so it is tested with golden files
 * (test/fixtures/pod-status/).
 *
 * The status object holds: phase (Pending until the first instance runs,
 * Running while instances run or restart, Succeeded/Failed once the
 * restart policy says no more: exit code 0 or not); the conditions
 * PodReadyToStartContainers, Initialized, Ready, ContainersReady and
 * PodScheduled, each keeping its lastTransitionTime from the pod object
 * while its status stays; hostIP/hostIPs, startTime, qosClass; and one
 * containerStatuses entry (state running/waiting/terminated, lastState,
 * ready, started, restartCount, image, imageID, containerID
 * "xen://<uid>/<instance>").
 */
#ifndef XENLET_POD_STATUS_H
#define XENLET_POD_STATUS_H

#include <stdint.h>

#include <cJSON.h>

#include "xenlet/runtime.h"

struct xn_pod_status_in {
	const struct xn_pod_spec *spec;
	const struct xn_pod_status *st;
	const cJSON *pod;	/* the pod object: its conditions and QoS class; may be NULL */
	const char *host_ip;	/* NULL: no hostIP */
	const char *start_time; /* RFC 3339; NULL or "": no startTime */
	uint64_t now_ns;	/* unix ns: the time of condition transitions */
};

/* The "status" object (new; cJSON_Delete it). */
cJSON *xn_pod_status_build(const struct xn_pod_status_in *in);

/* The status of a pod refused at admission, as the kubelet writes it:
 * phase Failed with the reason and message (new). */
cJSON *xn_pod_status_rejected(const char *reason, const char *message, const char *host_ip,
			      const char *start_time);

/* xn_pod_status_build at the current time (the kubelet API's /pods). */
cJSON *xn_pod_status_json(const struct xn_pod_spec *spec, const struct xn_pod_status *st,
			  const cJSON *pod, const char *host_ip, const char *start_time);

#endif
