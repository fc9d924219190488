/* token_bucket.h - a token bucket for input the node does not control.
 *
 * A bucket holds up to `burst` tokens and gains `per_s` tokens a second;
 * each permitted action takes one.  Pure: the caller passes the monotonic
 * time, so tests drive the clock.  Used per pod for what a guest can make
 * the daemon do (log lines, Events about its xenstore values) and per
 * involved object for new Event objects (kube_events.c), as the kubelet's
 * EventCorrelator spam filter does.
 */
#ifndef XENLET_TOKEN_BUCKET_H
#define XENLET_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct xn_token_bucket {
	double burst;	  /* most tokens held; also the start */
	double per_s;	  /* tokens gained per second */
	double tokens;	  /* now */
	uint64_t last_ns; /* when tokens was computed */
	bool started;	  /* false until the first take: full */
	unsigned dropped; /* takes refused since the last permitted one */
};

void xn_token_bucket_init(struct xn_token_bucket *tb, unsigned burst, double per_s);
/* Take a token at now_ns: true if one was there.  A refusal counts in
 * `dropped`; the caller may read it (and reset it) when the next one
 * succeeds, to say how many were left out. */
bool xn_token_bucket_take(struct xn_token_bucket *tb, uint64_t now_ns);

#endif
