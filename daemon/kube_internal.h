/* kube_internal.h - what kube_client.c shares with kube_watch.c. */
#ifndef XENLET_KUBE_INTERNAL_H
#define XENLET_KUBE_INTERNAL_H

#include <sys/queue.h>

#include <curl/curl.h>

#include "xenlet/kube.h"

struct kube_event {
	STAILQ_ENTRY(kube_event) link;
	enum xn_kube_event_type type;
	cJSON *object;
};

struct xn_kube_req {
	struct xn_kube *k;
	TAILQ_ENTRY(xn_kube_req) link;
	CURL *easy;
	struct curl_slist *headers;
	char *body_out; /* request body; libcurl reads it in place */
	char errbuf[CURL_ERROR_SIZE];

	char *buf; /* response body, or the watch's partial line */
	size_t len, cap;
	char *werr; /* why the write callback stopped the transfer */

	struct event *dispatch;		/* runs callbacks from the loop, never inside curl */
	int attached;			/* easy handle is in the multi handle */
	int queued;			/* waiting for a slot (XN_KUBE_INFLIGHT_MAX) */
	TAILQ_ENTRY(xn_kube_req) wlink; /* in the client's waiting list */
	int done;			/* transfer finished */
	int cancelled;
	int in_dispatch;
	CURLcode result;
	long status;

	xn_kube_done_fn done_fn;
	int is_watch;
	STAILQ_HEAD(, kube_event) events;
	xn_kube_event_fn event_fn;
	xn_kube_watch_end_fn end_fn;
	void *arg;
};

/* kube_client.c: set up a request without starting it. */
struct xn_kube_req *kube_req_new(struct xn_kube *k, enum xn_kube_method method, const char *url,
				 const cJSON *body, unsigned timeout_ms, xn_err *err);
int kube_req_start(struct xn_kube_req *r, xn_err *err);
const char *kube_server(struct xn_kube *k);

/* kube_watch.c: feed response bytes to a watch; -1 with r->werr set stops it. */
int kube_watch_feed(struct xn_kube_req *r, const char *data, size_t n);
/* Split complete lines off buf[0..*len) and call line() on each; keeps the
 * tail.  -1 when line() fails or the tail exceeds max. */
int kube_lines_split(char *buf, size_t *len, size_t max,
		     int (*line)(const char *s, size_t n, void *arg), void *arg);

#endif
