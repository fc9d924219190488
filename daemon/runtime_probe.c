/* runtime_probe.c - the probes of a pod instance, as the runtime runs them
 * (docs/pods.md, "Probes"): a prober (probe_run.c) per instance from its
 * start (BOOTING) to the end of its running phases, its results turned into
 * the container's readiness, Events, and for a failed liveness or startup
 * probe a kill of the instance that the restart policy then restarts. */
#include <string.h>

#include "runtime_priv.h"
#include "xenlet/log.h"
#include "xenlet/probe.h"
#include "xenlet/util.h"

/* The first attempts of the probes of pods started together are spread
 * over this much (or the period, if shorter); after a daemon restart, when
 * every adopted pod starts probing at once, over a whole period. */
#define PROBE_JITTER_MS 1000
/* A probe that keeps failing the same way posts its Unhealthy Event again
 * at most this often (the kube module folds the repeats into the Event's
 * count); a new reason is posted at once.  The kubelet's recorder bounds
 * its Events likewise (a spam filter per object). */
#define UNHEALTHY_REPEAT_NS (60ull * 1000000000ull)

/* Ready = the instance runs, its guest says so (xenlet.io/readiness: guest;
 * else true), its startup probe (if any) has succeeded and its readiness
 * probe (if any) says success. */
static bool compute_ready(struct pod *p)
{
	const struct xn_probe_state *s;

	p->st.startup_pending = false;
	if (p->prober != NULL) {
		s = xn_prober_state(p->prober, XN_PROBE_STARTUP);
		p->st.startup_pending = s != NULL && s->result != XN_PROBE_SUCCESS;
		if (p->st.startup_pending)
			return false;
		s = xn_prober_state(p->prober, XN_PROBE_READINESS);
		if (s != NULL && s->result != XN_PROBE_SUCCESS)
			return false;
	}
	return p->base_ready;
}

bool xn_rt_set_base_ready(struct pod *p, bool ready)
{
	bool was = p->st.ready;

	p->base_ready = ready;
	p->st.ready = compute_ready(p);
	return was != p->st.ready;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Every failure is logged (a repeat at debug level); the Event only for a
 * new reason, or again after UNHEALTHY_REPEAT_NS, or when the failure
 * changes the result. */
static void unhealthy(struct pod *p, enum xn_probe_which w, bool changed, const char *msg)
{
	uint64_t h = fnv1a(msg), now = xn_now_mono_ns();

	if (!changed && p->unhealthy[w].hash == h &&
	    now - p->unhealthy[w].at_ns < UNHEALTHY_REPEAT_NS) {
		log_debug("pod %s/%s: %s probe failed: %s", p->spec.ns, p->spec.name,
			  xn_probe_which_name(w), msg);
		return;
	}
	p->unhealthy[w].hash = h;
	p->unhealthy[w].at_ns = now;
	xn_rt_note(p, "Warning", "Unhealthy", "%s probe failed: %s", xn_probe_which_name(w), msg);
}

static void probe_result(enum xn_probe_which w, enum xn_probe_result r, bool changed,
			 const char *msg, void *arg)
{
	struct pod *p = arg;

	if (r == XN_PROBE_FAILURE)
		unhealthy(p, w, changed, msg ? msg : "(no reason)");
	if (r == XN_PROBE_SUCCESS && !p->spec.guest_readiness)
		xn_rt_booted(p); /* it answers on the network: it has booted */
	if (changed && r == XN_PROBE_FAILURE && w != XN_PROBE_READINESS) {
		xn_rt_note(p, "Normal", "Killing", "Container %s failed %s probe%s",
			   p->spec.container, w == XN_PROBE_LIVENESS ? "liveness" : "startup",
			   p->spec.restart == XN_RESTART_NEVER ? "" : ", will be restarted");
		xn_rt_probe_kill(p, p->spec.probes.p[w].grace_s >= 0
					? (unsigned)p->spec.probes.p[w].grace_s
					: p->spec.grace_s);
		return; /* the prober is gone with the instance */
	}
	if (changed) {
		bool was_pending = p->st.startup_pending;
		/* ready, or started (a startup success with readiness still
		 * failing changes only that) */
		if (xn_rt_set_base_ready(p, p->base_ready) || was_pending != p->st.startup_pending)
			xn_rt_notify(p);
	}
}

void xn_rt_probe_start(struct pod *p, bool adopted)
{
	const char *ip = p->st.ip[0] ? p->st.ip : p->st.ip6;

	xn_rt_probe_stop(p);
	if (!xn_probes_any(&p->spec.probes)) {
		p->st.startup_pending = false;
		return;
	}
	log_debug("pod %s/%s: probes start against %s", p->spec.ns, p->spec.name,
		  ip[0] ? ip : "(no pod IP)");
	p->prober = xn_prober_new(p->rt->base, &p->spec.probes, ip, p->run_mono_ns,
				  adopted ? UINT32_MAX : PROBE_JITTER_MS, probe_result, p);
	xn_rt_set_base_ready(p, p->base_ready);
}

void xn_rt_probe_stop(struct pod *p)
{
	xn_prober_free(p->prober);
	p->prober = NULL;
}

void xn_rt_probe_pause(struct pod *p, bool paused)
{
	xn_prober_pause(p->prober, paused);
}
