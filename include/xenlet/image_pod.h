/* image_pod.h - a pod waiting for its image: imagePullPolicy, the cache,
 * the pull, and what the kubelet says meanwhile.
 *
 * One wait per pod whose image is a registry reference.  It looks in the
 * cache or pulls (image_pull.h) as the policy says, and reports through
 * its ops: Events as the kubelet words them (Pulling; Pulled with size and
 * duration, or "already present on machine"; Failed "Failed to pull image
 * ..." and "Error: ErrImagePull"; BackOff "Back-off pulling image ...";
 * ErrImageNeverPull), the container's waiting reason and message
 * (ContainerCreating, ErrImagePull, ImagePullBackOff, ErrImageNeverPull),
 * and ready() once the image is in the cache.  A failed pull is retried
 * after the kubelet's image back-off: 10 s, doubling, at most 5 min.
 * Callbacks come from the event loop, never from inside xn_image_wait_*
 * calls; a callback may free the wait.
 */
#ifndef XENLET_IMAGE_POD_H
#define XENLET_IMAGE_POD_H

#include "xenlet/image_pull.h"

struct event_base;
struct xn_image_wait;

enum xn_pull_policy { XN_PULL_ALWAYS, XN_PULL_IF_NOT_PRESENT, XN_PULL_NEVER };

/* The policy as written (NULL or "": the API server's default, Always for
 * a ":latest" or untagged image without digest, else IfNotPresent).
 * -1 on an unknown word. */
int xn_pull_policy_parse(const char *s, const char *image, enum xn_pull_policy *out);

#define XN_IMAGE_BACKOFF_BASE_MS 10000u
#define XN_IMAGE_BACKOFF_MAX_MS	 300000u

struct xn_image_wait_ops {
	void (*event)(void *arg, const char *type, const char *reason, const char *message);
	void (*changed)(void *arg); /* reason or message changed */
	void (*ready)(void *arg, const struct xn_image_info *info);
};

struct xn_image_wait *xn_image_wait_start(struct event_base *base, struct xn_image_puller *puller,
					  const char *image, enum xn_pull_policy policy,
					  const struct xn_image_wait_ops *ops, void *arg);
void xn_image_wait_free(struct xn_image_wait *w);
/* The container's waiting reason and message now ("" message: none). */
const char *xn_image_wait_reason(const struct xn_image_wait *w);
const char *xn_image_wait_message(const struct xn_image_wait *w);

#endif
