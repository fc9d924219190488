/* runtime_guest.c - what a guest's xenstore values may make the node do.
 *
 * A guest writes its data area (data/xenlet/...) as often as it likes and
 * with whatever it likes; each write wakes a watch in the daemon.  So what
 * a write can cost is bounded here, per pod:
 *
 *  - complaints about invalid values (a log line and an Event) take a token
 *    from the pod's bucket (XN_RT_GUEST_BURST, then one per
 *    XN_RT_GUEST_EVERY_S); the ones left out are counted and the next line
 *    says how many.  The Event's message is fixed for the key (never the
 *    value nor its length), so repeats fold into one Event with a count;
 *  - readiness changes reach the owner (a status PATCH) at once after a
 *    quiet time, and otherwise at most once per XN_RT_READY_MIN_MS: a timer
 *    delivers the latest value at the end of the interval if it differs from
 *    what was last reported, so the final state always gets through.  The
 *    readiness in the pod's status is the reported one, not the live flag
 *    (the owner reads the status later than the report; see
 *    xn_rt_ready_update).
 */
#include <stdarg.h>
#include <stdio.h>

#include <event2/event.h>

#include "runtime_priv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

#define MS_NS 1000000ull

void xn_rt_guest_warn(struct pod *p, const char *reason, const char *message, const char *detail)
{
	struct xn_token_bucket *tb = &p->guest_tb;
	unsigned dropped;

	if (tb->burst == 0)
		xn_token_bucket_init(tb, XN_RT_GUEST_BURST, 1.0 / XN_RT_GUEST_EVERY_S);
	if (!xn_token_bucket_take(tb, xn_now_mono_ns())) {
		xn_metric_count("xenlet_guest_complaints_suppressed_total",
				"Log lines and Events about invalid guest values left out (over "
				"the pod's budget).",
				NULL, NULL, 1);
		return;
	}
	dropped = tb->dropped;
	tb->dropped = 0;
	if (dropped > 0)
		log_info("pod %s/%s: %s: %s (%s); %u more like it not reported", p->spec.ns,
			 p->spec.name, reason, message, detail, dropped);
	else
		log_info("pod %s/%s: %s: %s (%s)", p->spec.ns, p->spec.name, reason, message,
			 detail);
	if (p->rt->note)
		p->rt->note(p->rt, p->spec.uid, "Warning", reason, message, p->rt->arg);
}

/* The held report: whatever the guest's flag and the probes say now. */
static void ready_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;

	if (p->forgotten) /* no one to tell: the pod is gone */
		return;
	if (xn_rt_set_base_ready(p, p->base_ready)) {
		p->ready_sent_ns = xn_now_mono_ns();
		xn_rt_notify(p);
	}
}

/* st.ready is what the owner reads, and it reads when it gets round to it
 * (pod_sync patches on a later loop turn, or after the patch in flight): so
 * st.ready changes only together with a report.  Were it the live value, a
 * flip between a report and the owner's read would show the owner a value
 * never reported, and the runtime, believing the reported one shown, would
 * then hold back the guest's last word when it equals that one. */
void xn_rt_ready_update(struct pod *p, bool guest_flag)
{
	uint64_t now = xn_now_mono_ns(), next = p->ready_sent_ns + XN_RT_READY_MIN_MS * MS_NS;
	bool shown = p->st.ready;
	struct timeval tv;

	p->base_ready = guest_flag;
	if (p->ready_timer != NULL && evtimer_pending(p->ready_timer, NULL))
		return; /* the timer reports the latest value */
	if (!xn_rt_set_base_ready(p, guest_flag))
		return; /* what the owner has */
	if (p->ready_sent_ns == 0 || now >= next) {
		p->ready_sent_ns = now;
		xn_rt_notify(p);
		return;
	}
	p->st.ready = shown; /* held: the timer reports it */
	if (p->ready_timer == NULL)
		p->ready_timer = evtimer_new(p->rt->base, ready_timer_cb, p);
	tv.tv_sec = (time_t)((next - now) / 1000000000ull);
	tv.tv_usec = (suseconds_t)((next - now) % 1000000000ull / 1000);
	evtimer_add(p->ready_timer, &tv);
}

void xn_rt_guest_dispose(struct pod *p)
{
	if (p->ready_timer != NULL)
		event_free(p->ready_timer);
	p->ready_timer = NULL;
}
