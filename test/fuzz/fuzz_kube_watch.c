/* fuzz_kube_watch.c - the API server's watch stream (kube_watch_feed in
 * daemon/kube_watch.c): newline-separated JSON events, arriving in pieces
 * as libcurl hands them over (the first byte sets their size).  The
 * request is built by hand, without libcurl or a server: only the fields
 * the feed uses.  Besides the sanitizers, checks that each event queued
 * has a known type and an object, and that a stop says why. */
#include <event2/event.h>

#include "../../daemon/kube_internal.h"
#include "fuzz.h"

static void noop(evutil_socket_t fd, short what, void *arg) {}

static void drain_events(struct xn_kube_req *r)
{
	struct kube_event *e;

	while ((e = STAILQ_FIRST(&r->events)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->events, link);
		if (!cJSON_IsObject(e->object) || strcmp(xn_kube_event_name(e->type), "?") == 0)
			abort();
		cJSON_Delete(e->object);
		free(e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	size_t piece = 1 + xn_fuzz_take_byte(&data, &size) * 16;
	struct xn_kube_req r;

	if (base == NULL && (base = event_base_new()) == NULL)
		abort();
	memset(&r, 0, sizeof(r));
	STAILQ_INIT(&r.events);
	r.is_watch = 1;
	r.dispatch = event_new(base, -1, 0, noop, NULL);
	while (size > 0) {
		size_t n = size < piece ? size : piece;

		if (kube_watch_feed(&r, (const char *)data, n) < 0) {
			if (r.werr == NULL)
				abort();
			break;
		}
		drain_events(&r);
		data += n;
		size -= n;
	}
	drain_events(&r);
	event_free(r.dispatch);
	event_base_loop(base, EVLOOP_NONBLOCK); /* nothing may be left active */
	free(r.buf);
	free(r.werr);
	return 0;
}
