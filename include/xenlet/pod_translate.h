/* pod_translate.h - a Kubernetes Pod (JSON) -> the runtime's pod spec, and
 * the kubelet's admission checks.  Pure: no I/O, so it is tested with
 * golden files (test/fixtures/pods/).
 *
 * What a pod means here (docs/pods.md has the user's view):
 *   one container = one domain; image = the kernel ("/path", "file:///path";
 *   else a registry reference, pulled by pod_sync: image_pod.h, with the
 *   kernel left NULL here); command + args = the
 *   kernel command line; memory from limits, else requests, else the
 *   node's default; vcpus from the CPU limit (rounded up), else the request,
 *   else 1; credit weight from the CPU request (1 CPU = 256, Xen's default);
 *   cap from the CPU limit (percent of one CPU).
 * Annotations: xenlet.io/guest-type (pvh | pv; without it type_from_kernel
 *   is set and the kernel's Xen notes choose when the pod runs),
 *   xenlet.io/ramdisk (path), xenlet.io/readiness (guest: Ready follows the
 *   guest's data/xenlet/ready flag; default: Ready when running),
 *   xenlet.io/boot-timeout (30, 30s, 2m: a guest that has not booted by then
 *   is destroyed, exit 124, reason BootTimeout), xenlet.io/net-config
 *   (mirage | unikraft | linux | none: how the image reads its address from
 *   the command line; docs/networking.md).
 * Probes: containers[0].{startup,liveness,readiness}Probe into spec->probes
 *   (probe.h; a bad probe rejects the pod naming its field, exec and grpc
 *   probes are listed in warnings).
 */
#ifndef XENLET_POD_TRANSLATE_H
#define XENLET_POD_TRANSLATE_H

#include <cJSON.h>
#include <stdint.h>

#include "xenlet/runtime.h"

/* Why a pod cannot run here: reason is what the kubelet would write in the
 * pod's status ("OutOfmemory", "UnsupportedPodSpec", ...). */
struct xn_pod_reject {
	char reason[64];
	char message[512];
};

struct xn_pod_defaults {
	int64_t memory_bytes; /* for pods without a memory request or limit */
	const char *host_ip;  /* the node's address: env fieldRef status.hostIP */
};

/* Translate; on failure fill rej and return -1.  Fields we cannot honour but
 * that do not stop the pod are listed in warnings (malloc'd, "" if none). */
int xn_pod_translate(const cJSON *pod, const struct xn_pod_defaults *def, struct xn_pod_spec *out,
		     char **warnings, struct xn_pod_reject *rej);

struct xn_node_resources {
	int64_t memory_bytes; /* allocatable */
	int64_t cpu_milli;
	unsigned pods;
};

/* The kubelet's resource admission: does spec fit next to `used`? */
int xn_pod_admit(const struct xn_pod_spec *spec, int64_t cpu_request_milli,
		 const struct xn_node_resources *alloc, const struct xn_node_resources *used,
		 struct xn_pod_reject *rej);
/* KiB (what the runtime sums over its pods) as bytes for a
 * struct xn_node_resources: saturates at INT64_MAX instead of wrapping, so
 * an absurd sum makes admission refuse, never admit (issue 9, finding 5). */
int64_t xn_kib_to_bytes(uint64_t kib);
/* CPU request of a pod's container in millicores (0 if none). */
int64_t xn_pod_cpu_request(const cJSON *pod);
/* QoS class as the API server computes it: Guaranteed, Burstable, BestEffort. */
const char *xn_pod_qos_class(const cJSON *pod);

#endif
