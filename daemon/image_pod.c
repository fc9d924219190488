/* image_pod.c - a pod waiting for its image (see image_pod.h). */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "xenlet/image_pod.h"
#include "xenlet/image_ref.h"
#include "xenlet/util.h"

enum wstate { W_LOOKUP, W_PULLING, W_FAILED, W_BACKOFF, W_NEVER, W_READY };

struct xn_image_wait {
	struct event_base *base;
	struct xn_image_puller *puller;
	char *image;
	enum xn_pull_policy policy;
	const struct xn_image_wait_ops *ops;
	void *arg;
	enum wstate state;
	char reason[32];
	char *message;
	struct xn_image_pull *pull;
	struct event *timer;
	unsigned backoff_ms;
	uint64_t started_ns;
	struct xn_image_info info;
};

int xn_pull_policy_parse(const char *s, const char *image, enum xn_pull_policy *out)
{
	struct xn_image_ref r;

	if (s == NULL || s[0] == '\0') {
		*out = XN_PULL_IF_NOT_PRESENT;
		if (xn_image_ref_parse(image, &r, NULL) == 0) {
			if (r.digest == NULL && r.tag && strcmp(r.tag, "latest") == 0)
				*out = XN_PULL_ALWAYS;
			xn_image_ref_dispose(&r);
		}
		return 0;
	}
	if (strcmp(s, "Always") == 0)
		*out = XN_PULL_ALWAYS;
	else if (strcmp(s, "IfNotPresent") == 0)
		*out = XN_PULL_IF_NOT_PRESENT;
	else if (strcmp(s, "Never") == 0)
		*out = XN_PULL_NEVER;
	else
		return -1;
	return 0;
}

static void set(struct xn_image_wait *w, enum wstate st, const char *reason, const char *message)
{
	w->state = st;
	snprintf(w->reason, sizeof(w->reason), "%s", reason);
	free(w->message);
	w->message = xn_xstrdup(message ? message : "");
	w->ops->changed(w->arg);
}

static void arm(struct xn_image_wait *w, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(w->timer, &tv);
}

static void pulled(const struct xn_image_info *info, const char *err_msg, void *arg)
{
	struct xn_image_wait *w = arg;
	char msg[1024];

	w->pull = NULL;
	if (info == NULL) {
		snprintf(msg, sizeof(msg), "Failed to pull image \"%s\": %s", w->image, err_msg);
		w->ops->event(w->arg, "Warning", "Failed", msg);
		w->ops->event(w->arg, "Warning", "Failed", "Error: ErrImagePull");
		w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : XN_IMAGE_BACKOFF_BASE_MS;
		if (w->backoff_ms > XN_IMAGE_BACKOFF_MAX_MS)
			w->backoff_ms = XN_IMAGE_BACKOFF_MAX_MS;
		set(w, W_FAILED, "ErrImagePull", err_msg);
		/* the kubelet's next sync shows the back-off */
		arm(w, 1000);
		return;
	}
	{
		double s = (double)(xn_now_mono_ns() - w->started_ns) / 1e9;

		snprintf(msg, sizeof(msg),
			 "Successfully pulled image \"%s\" in %.3fs (%.3fs including waiting). "
			 "Image size: %llu bytes.",
			 w->image, s, s, (unsigned long long)info->size);
	}
	w->ops->event(w->arg, "Normal", "Pulled", msg);
	w->state = W_READY;
	w->ops->ready(w->arg, info);
}

static void start_pull(struct xn_image_wait *w)
{
	char msg[600];
	xn_err err = NULL;

	snprintf(msg, sizeof(msg), "Pulling image \"%s\"", w->image);
	w->ops->event(w->arg, "Normal", "Pulling", msg);
	w->started_ns = xn_now_mono_ns();
	w->state = W_PULLING;
	w->pull = xn_image_pull_start(w->puller, w->image, pulled, w, &err);
	if (w->pull == NULL) {
		/* cannot even start: as a failed pull, with its back-off */
		pulled(NULL, xn_error_msg(err), w);
		xn_error_free(&err);
	}
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_image_wait *w = arg;
	char msg[600];

	switch (w->state) {
	case W_LOOKUP: {
		xn_err err = NULL;

		if (w->policy != XN_PULL_ALWAYS &&
		    xn_image_cache_lookup(xn_image_puller_cache_dir(w->puller), w->image, &w->info,
					  &err) == 0) {
			snprintf(msg, sizeof(msg),
				 "Container image \"%s\" already present on machine", w->image);
			w->ops->event(w->arg, "Normal", "Pulled", msg);
			w->state = W_READY;
			w->ops->ready(w->arg, &w->info);
			return;
		}
		xn_error_free(&err);
		if (w->policy == XN_PULL_NEVER) {
			snprintf(msg, sizeof(msg),
				 "Container image \"%s\" is not present with pull policy of Never",
				 w->image);
			w->ops->event(w->arg, "Warning", "ErrImageNeverPull", msg);
			set(w, W_NEVER, "ErrImageNeverPull", msg);
			return;
		}
		start_pull(w);
		return;
	}
	case W_FAILED: {
		cleanup_free char *why = xn_xstrdup(w->message);

		snprintf(msg, sizeof(msg), "Back-off pulling image \"%s\"", w->image);
		w->ops->event(w->arg, "Normal", "BackOff", msg);
		w->ops->event(w->arg, "Warning", "Failed", "Error: ImagePullBackOff");
		snprintf(msg, sizeof(msg), "Back-off pulling image \"%s\": ErrImagePull: %s",
			 w->image, why);
		set(w, W_BACKOFF, "ImagePullBackOff", msg);
		arm(w, w->backoff_ms > 1000 ? w->backoff_ms - 1000 : 0);
		return;
	}
	case W_BACKOFF: start_pull(w); return;
	default: return;
	}
}

struct xn_image_wait *xn_image_wait_start(struct event_base *base, struct xn_image_puller *puller,
					  const char *image, enum xn_pull_policy policy,
					  const struct xn_image_wait_ops *ops, void *arg)
{
	struct xn_image_wait *w = xn_xcalloc(1, sizeof(*w));

	w->base = base;
	w->puller = puller;
	w->image = xn_xstrdup(image);
	w->policy = policy;
	w->ops = ops;
	w->arg = arg;
	w->state = W_LOOKUP;
	snprintf(w->reason, sizeof(w->reason), "ContainerCreating");
	w->message = xn_xstrdup("");
	w->timer = evtimer_new(base, timer_cb, w);
	arm(w, 0); /* from the loop: callbacks never come from inside this call */
	return w;
}

void xn_image_wait_free(struct xn_image_wait *w)
{
	if (w == NULL)
		return;
	xn_image_pull_cancel(w->pull);
	event_free(w->timer);
	xn_image_info_dispose(&w->info);
	free(w->image);
	free(w->message);
	free(w);
}

const char *xn_image_wait_reason(const struct xn_image_wait *w)
{
	return w->reason;
}

const char *xn_image_wait_message(const struct xn_image_wait *w)
{
	return w->message;
}
