/* runtime.c - the pod instance state machine: one domain per instance,
 * created paused, console to the CRI log, boot deadline, pause, exits and
 * the restart policy, kill with an enforced grace period.  The runtime is
 * the only module that changes a domain.  Phases and transitions:
 * docs/architecture.md ("The runtime's states"); recovery after a daemon
 * restart: runtime_recover.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "runtime_priv.h"
#include "xenlet/crilog.h"
#include "xenlet/hv_guard.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

/* The instance's domain is gone, but what the guest wrote just before may
 * still be on its way through xenconsoled to the pty: wait (a little) for
 * the backend's end-of-console before the log is closed. */
#define CONSOLE_DRAIN_MS 1000
/* A destroy that failed is tried again after 1 s, doubling up to this. */
#define DESTROY_RETRY_MAX_MS 30000

static const char *const phase_names[] = {
    [XN_POD_CREATING] = "creating",	[XN_POD_BOOTING] = "booting",
    [XN_POD_RUNNING] = "running",	[XN_POD_PAUSED] = "paused",
    [XN_POD_STOPPING] = "stopping",	[XN_POD_DESTROYING] = "destroying",
    [XN_POD_DRAINING] = "draining",	[XN_POD_BACKOFF] = "backoff",
    [XN_POD_TERMINATED] = "terminated",
};

const char *xn_pod_phase_name(enum xn_pod_phase ph)
{
	return (unsigned)ph < XN_ARRAY_SIZE(phase_names) ? phase_names[ph] : "unknown";
}

static void timer_fired(evutil_socket_t fd, short what, void *arg);
static void created(struct xn_hv *hv, int rc, uint32_t domid, xn_err cerr, void *arg);
static void destroy_domain(struct pod *p);
static void finish_instance(struct pod *p);
static void forget(struct pod *p);

/* ---- logs ---- */

/* The pod is gone: so are its logs, as the kubelet's pod GC does. */
static void logs_pod_removed(struct pod *p)
{
	xn_err err = NULL;

	if (xn_crilog_remove_pod(p->rt->opts.log_dir, p->spec.ns, p->spec.name, p->spec.uid, &err) <
	    0) {
		log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* ---- lookup, callbacks to the owner ---- */

static struct pod *find_domid(struct xn_runtime *rt, uint32_t domid)
{
	struct pod *p;

	TAILQ_FOREACH(p, &rt->pods, entry)
		if (p->st.domid == domid && domid != XN_DOMID_INVALID)
			return p;
	return NULL;
}

void xn_rt_notify(struct pod *p)
{
	if (p->rt->cb)
		p->rt->cb(p->rt, XN_RT_STATUS, p->spec.uid, &p->st, p->rt->arg);
}

void xn_rt_note(struct pod *p, const char *type, const char *reason, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("pod %s/%s: %s: %s", p->spec.ns, p->spec.name, reason, msg);
	if (p->rt->note)
		p->rt->note(p->rt, p->spec.uid, type, reason, msg, p->rt->arg);
}

/* ---- the one transition function ---- */

/* The kubelet's view follows from the phase: waiting while an instance is
 * created or waits for its restart, running while its domain runs (paused
 * too: the kubelet has no paused state), terminated at the end; stopping,
 * destroying and draining keep the view they came from. */
static void derive_view(struct xn_pod_status *st)
{
	switch (st->phase) {
	case XN_POD_CREATING:
	case XN_POD_BACKOFF: st->state = XN_INST_WAITING; break;
	case XN_POD_BOOTING:
	case XN_POD_RUNNING:
	case XN_POD_PAUSED: st->state = XN_INST_RUNNING; break;
	case XN_POD_TERMINATED: st->state = XN_INST_TERMINATED; break;
	case XN_POD_STOPPING:
	case XN_POD_DESTROYING:
	case XN_POD_DRAINING: break;
	}
	st->finished = st->phase == XN_POD_TERMINATED;
	if (st->phase != XN_POD_BOOTING && st->phase != XN_POD_RUNNING &&
	    st->phase != XN_POD_PAUSED && st->phase != XN_POD_STOPPING &&
	    st->phase != XN_POD_DESTROYING)
		st->ready = false;
}

void xn_rt_transition(struct pod *p, enum xn_pod_phase to, uint64_t timer_ms, const char *reason,
		      const char *fmt, ...)
{
	va_list ap;

	if (p->st.phase != to)
		log_debug("pod %s/%s: %s -> %s", p->spec.ns, p->spec.name,
			  xn_pod_phase_name(p->st.phase), xn_pod_phase_name(to));
	p->st.phase = to;
	if (to != XN_POD_BOOTING && to != XN_POD_RUNNING && to != XN_POD_PAUSED)
		xn_rt_probe_stop(p); /* probes run only while the domain runs */
	derive_view(&p->st);
	if (reason != NULL) {
		snprintf(p->st.reason, sizeof(p->st.reason), "%s", reason);
		p->st.message[0] = '\0';
		if (fmt != NULL) {
			va_start(ap, fmt);
			vsnprintf(p->st.message, sizeof(p->st.message), fmt, ap);
			va_end(ap);
		}
	}
	if (p->timer == NULL)
		p->timer = evtimer_new(p->rt->base, timer_fired, p);
	evtimer_del(p->timer);
	if (timer_ms != XN_RT_NO_TIMER) {
		struct timeval tv = {(time_t)(timer_ms / 1000),
				     (suseconds_t)(timer_ms % 1000) * 1000};

		p->timer_due_ns = xn_now_mono_ns() + timer_ms * 1000000ull;
		evtimer_add(p->timer, &tv);
	}
}

/* What the phase's timer has left, in ms (0 when it is not armed). */
static uint64_t timer_left_ms(const struct pod *p)
{
	uint64_t now = xn_now_mono_ns();

	if (p->timer == NULL || !evtimer_pending(p->timer, NULL))
		return 0;
	return p->timer_due_ns > now ? (p->timer_due_ns - now + 999999) / 1000000 : 1;
}

/* ---- hv callbacks hold the pod: freed only when none is pending ---- */

static void pod_free(struct pod *p)
{
	xn_rt_probe_stop(p);
	if (p->timer)
		event_free(p->timer);
	xn_crilog_close(p->log);
	xn_rt_guest_dispose(p);
	xn_pod_spec_dispose(&p->spec);
	free(p);
}

static void hold(struct pod *p)
{
	p->pending++;
}

/* An hv callback came back: true when the pod is forgotten (it is freed
 * with the last one) and the callback must do nothing. */
static bool release(struct pod *p)
{
	p->pending--;
	if (!p->forgotten)
		return false;
	if (p->pending == 0)
		pod_free(p);
	return true;
}

/* ---- persistence: the store's record ---- */

void xn_rt_save_record(struct pod *p)
{
	struct xn_pod_record r = {
	    .uid = p->spec.uid,
	    .ns = p->spec.ns,
	    .name = p->spec.name,
	    .domid = p->st.domid,
	    /* imageID is "<repo>@<digest>" (image_pull.h); the record keeps the digest */
	    .image_digest = p->spec.image_id && strrchr(p->spec.image_id, '@')
				? strrchr(p->spec.image_id, '@') + 1
				: p->spec.image_id,
	    .restart_count = p->st.restart_count,
	    .last_exit = p->st.has_last ? p->st.last.exit_code : -1,
	    .last_reason = p->st.has_last ? p->st.last.reason : NULL,
	    .started_at = p->st.started_at / 1000000000ull,
	    .finished_at = p->st.has_last ? p->st.last.finished_at / 1000000000ull : 0,
	};
	char domain[XN_NAME_MAX];
	struct xn_pod_addrs addrs;
	const char *ip, *mac;
	xn_err err = NULL;

	xn_rt_domain_name(&p->spec, domain);
	r.domain = domain;
	xn_rt_net_record(p, &ip, &mac, &addrs);
	r.ip = (char *)ip;
	r.mac = (char *)mac;
	if (xn_store_pod_put(p->rt->store, &r, &err) < 0) {
		log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* ---- readiness from the guest's data area ---- */

static void mark_booted(struct pod *p)
{
	if (p->st.phase == XN_POD_BOOTING)
		xn_rt_transition(p, XN_POD_RUNNING, XN_RT_NO_TIMER, NULL, NULL);
	else if (p->st.phase == XN_POD_PAUSED && p->resume == XN_POD_BOOTING) {
		/* output queued before the pause, delivered now */
		p->resume = XN_POD_RUNNING;
		p->boot_left_ms = 0;
	}
}

void xn_rt_booted(struct pod *p)
{
	mark_booted(p);
}

static void ready_changed(struct xn_store *st, const char *path, void *arg)
{
	struct pod *p = arg;
	char *val = NULL;
	xn_err err = NULL;
	bool ready = false;

	if (p->st.state != XN_INST_RUNNING || p->st.domid == XN_DOMID_INVALID)
		return;
	if (xn_store_guest_data_get(st, p->st.domid, "ready", &val, &err) == 0)
		ready = strcmp(val, "1") == 0;
	else if (err && err->status != ENOENT)
		xn_rt_guest_warn(p, "Unhealthy",
				 "the guest wrote an invalid readiness flag to data/xenlet/ready "
				 "(want 0 or 1); the pod is not ready",
				 xn_error_msg(err));
	xn_error_free(&err);
	free(val);
	if (ready && p->spec.guest_readiness)
		mark_booted(p);
	xn_rt_ready_update(p, ready); /* with the probes; at most once a second */
}

static void watch_ready(struct pod *p)
{
	cleanup_free char *path = NULL;
	xn_err err = NULL;

	if (!p->spec.guest_readiness) {
		xn_rt_set_base_ready(p, true);
		return;
	}
	xn_rt_set_base_ready(p, false);
	path = xn_xasprintf("/local/domain/%u/data/xenlet/ready", p->st.domid);
	p->ready_watch = xn_store_watch(p->rt->store, path, ready_changed, p, &err);
	if (p->ready_watch < 0) {
		log_warnx("pod %s/%s: readiness watch: %s", p->spec.ns, p->spec.name,
			  xn_error_msg(err));
		xn_error_free(&err);
	}
}

static void unwatch_ready(struct pod *p)
{
	if (p->ready_watch >= 0)
		xn_store_unwatch(p->rt->store, p->ready_watch);
	p->ready_watch = -1;
}

/* ---- console ---- */

static void console_bytes(struct xn_hv *hv, uint32_t domid, const char *buf, size_t len, void *arg)
{
	struct pod *p = arg;

	if (p->log == NULL)
		return;
	if (len > 0) {
		xn_crilog_write(p->log, buf, len);
		if (!p->spec.guest_readiness)
			mark_booted(p);
		return;
	}
	/* the end of the console: everything the guest wrote is in the log */
	xn_crilog_flush(p->log);
	xn_crilog_close(p->log);
	p->log = NULL;
	if (p->st.phase == XN_POD_DRAINING)
		finish_instance(p);
}

static void open_console(struct pod *p)
{
	xn_err err = NULL;

	xn_crilog_close(p->log);
	/* the kubelet keeps the current and the previous instance's logs
	 * (pruned first: never three instances on disk) */
	if (xn_crilog_prune(p->rt->opts.log_dir, p->spec.ns, p->spec.name, p->spec.uid,
			    p->spec.container, p->st.restart_count, &err) < 0) {
		log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
	p->log = xn_crilog_open(p->rt->opts.log_dir, p->spec.ns, p->spec.name, p->spec.uid,
				p->spec.container, p->st.restart_count, &err);
	if (p->log == NULL) {
		xn_rt_note(p, "Warning", "FailedLogs", "console will not be kept: %s",
			   xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	xn_crilog_set_rotation(p->log, p->rt->opts.log_max_bytes, p->rt->opts.log_max_files);
	if (p->rt->hv->ops->console_attach(p->rt->hv, p->st.domid, console_bytes, p, &err) < 0) {
		xn_rt_note(p, "Warning", "FailedLogs", "console: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
}

static void close_console(struct pod *p)
{
	if (p->st.domid != XN_DOMID_INVALID)
		p->rt->hv->ops->console_detach(p->rt->hv, p->st.domid);
	if (p->log != NULL)
		xn_crilog_flush(p->log);
	xn_crilog_close(p->log);
	p->log = NULL;
}

/* ---- an instance starts: CREATING -> BOOTING -> RUNNING ---- */

void xn_rt_start_instance(struct pod *p)
{
	struct xn_runtime *rt = p->rt;
	char name[XN_NAME_MAX];
	struct xn_domain_config c;
	struct xn_vif vif;
	cleanup_free char *cmdline = NULL;
	xn_err err = NULL;
	int net;

	xn_runtime_domain_config(&p->spec, name, &c);
	xn_rt_transition(p, XN_POD_CREATING, XN_RT_NO_TIMER, "ContainerCreating", NULL);
	net = xn_rt_net_prepare(p, name, &c, &vif, &cmdline, &err);
	xn_rt_notify(p);
	if (net > 0)
		return; /* waits for the pod network (runtime_net.c) */
	p->create_ns = xn_now_mono_ns();
	hold(p);
	if (net < 0 || xn_rt_env_prepare(p, &c, &cmdline, &err) < 0 ||
	    xn_domain_config_check(&c, &err) < 0 ||
	    rt->hv->ops->create(rt->hv, &c, created, p, &err) < 0) {
		created(rt->hv, -1, XN_DOMID_INVALID, err, p);
		xn_error_free(&err);
	}
}

static const double create_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

static void enter_backoff(struct pod *p, const char *reason, const char *why);

static void created(struct xn_hv *hv, int rc, uint32_t domid, xn_err cerr, void *arg)
{
	struct pod *p = arg;
	struct xn_runtime *rt = p->rt;
	xn_err err = NULL;
	char dname[XN_NAME_MAX];
	const char *keys[] = {"pod-uid", "pod-namespace", "pod-name", NULL};
	const char *vals[] = {p->spec.uid, p->spec.ns, p->spec.name, NULL};

	if (release(p))
		return; /* cannot happen: a creating pod is never forgotten */
	if (rc < 0) {
		xn_rt_note(p, "Warning", "Failed", "Error: %s", xn_error_msg(cerr));
		if (p->st.stopping)
			forget(p); /* no domain: nothing left to stop */
		else
			enter_backoff(p, "CreateContainerError", xn_error_msg(cerr));
		return;
	}
	p->st.domid = domid;
	xn_metric_observe("xenlet_domain_create_duration_seconds",
			  "Time from the create request to a paused domain.", create_buckets,
			  XN_ARRAY_SIZE(create_buckets),
			  (double)(xn_now_mono_ns() - p->create_ns) / 1e9);
	if (p->st.stopping) { /* killed while it was being built: it never ran */
		destroy_domain(p);
		return;
	}
	if (xn_store_guest_data_init(rt->store, domid, &err) < 0 ||
	    xn_store_guest_config_put(rt->store, domid, keys, vals, &err) < 0 ||
	    xn_rt_net_guest(p, domid, &err) < 0 || xn_rt_env_guest(p, domid, &err) < 0) {
		xn_rt_note(p, "Warning", "Failed", "guest areas in xenstore: %s",
			   xn_error_msg(err));
		xn_error_free(&err);
	}
	xn_rt_domain_name(&p->spec, dname);
	xn_rt_note(p, "Normal", "Created", "Created domain %s (domid %u)", dname, domid);
	open_console(p); /* before the guest runs: its first byte is kept */
	if (hv->ops->unpause(hv, domid, &err) < 0) {
		xn_rt_note(p, "Warning", "Failed", "Error: unpause: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	p->st.started_at = xn_now_real_ns();
	p->run_mono_ns = xn_now_mono_ns();
	xn_rt_transition(p, XN_POD_BOOTING,
			 p->spec.boot_timeout_s ? p->spec.boot_timeout_s * 1000ull : XN_RT_NO_TIMER,
			 "", NULL);
	watch_ready(p);
	xn_rt_probe_start(p, false);
	xn_rt_save_record(p);
	xn_rt_note(p, "Normal", "Started", "Started domain %u", domid);
	xn_rt_notify(p);
}

void xn_rt_adopt(struct pod *p, uint32_t domid, bool paused)
{
	p->st.domid = domid;
	if (p->st.started_at == 0)
		p->st.started_at = xn_now_real_ns();
	p->run_mono_ns = xn_now_mono_ns();
	/* its boot is in the past or unknown: no deadline after a restart */
	p->resume = XN_POD_RUNNING;
	p->boot_left_ms = 0;
	if (paused)
		xn_rt_transition(p, XN_POD_PAUSED, XN_RT_NO_TIMER, "Paused",
				 "domain %u was paused when xenletd started", domid);
	else
		xn_rt_transition(p, XN_POD_RUNNING, XN_RT_NO_TIMER, "", NULL);
	open_console(p);
	watch_ready(p);
	xn_rt_probe_start(p, true);
	if (paused)
		xn_rt_probe_pause(p, true);
	log_info("pod %s/%s: adopted %s domain %u", p->spec.ns, p->spec.name,
		 paused ? "paused" : "running", domid);
	xn_rt_save_record(p);
	xn_rt_notify(p);
}

/* ---- an instance ends: (exit | deadline | kill) -> DESTROYING -> DRAINING ---- */

void xn_rt_record_exit(struct pod *p, enum xn_shutdown_reason reason, int code)
{
	struct xn_termination *t = &p->st.last;

	t->exit_code = code;
	t->started_at = p->st.started_at;
	t->finished_at = xn_now_real_ns();
	if (reason == XN_SHUTDOWN_CRASH)
		snprintf(t->reason, sizeof(t->reason), "Error");
	else
		snprintf(t->reason, sizeof(t->reason), "%s", code == 0 ? "Completed" : "Error");
	snprintf(t->message, sizeof(t->message), "domain %u: %s, exit code %d", p->st.domid,
		 xn_shutdown_reason_name(reason), code);
	p->st.has_last = true;
}

/* Is the instance's domain gone for sure?  Only the hypervisor can say:
 * no such domain, or a domain of that id that is not ours. */
static bool domain_gone(struct pod *p)
{
	struct xn_domain_info info;
	xn_err err = NULL;
	bool gone;

	if (p->rt->hv->ops->domain_info(p->rt->hv, p->st.domid, &info, &err) == 0)
		return strcmp(info.tag, p->spec.uid) != 0;
	gone = err != NULL && (err->status == ENOENT || err->status == ESRCH);
	xn_error_free(&err);
	return gone;
}

static void destroyed(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg);

static void destroy_failed(struct pod *p, const char *why)
{
	uint64_t delay_ms;

	if (domain_gone(p)) {
		log_debug("pod %s/%s: destroy domain %u: %s; it is gone", p->spec.ns, p->spec.name,
			  p->st.domid, why);
		xn_rt_instance_over(p);
		return;
	}
	/* never forgotten while the domain may exist: try again, say why */
	delay_ms = 1000ull << (p->destroy_failures < 5 ? p->destroy_failures : 5);
	if (delay_ms > DESTROY_RETRY_MAX_MS)
		delay_ms = DESTROY_RETRY_MAX_MS;
	p->destroy_failures++;
	xn_rt_transition(p, XN_POD_DESTROYING, delay_ms, "DestroyFailed",
			 "destroy domain %u: %s; retrying in %llus", p->st.domid, why,
			 (unsigned long long)delay_ms / 1000);
	log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, p->st.message);
	xn_rt_notify(p);
}

static void destroy_domain(struct pod *p)
{
	struct xn_hv *hv = p->rt->hv;
	xn_err err = NULL;

	xn_rt_transition(p, XN_POD_DESTROYING, XN_RT_NO_TIMER, NULL, NULL);
	hold(p);
	if (hv->ops->destroy(hv, p->st.domid, destroyed, p, &err) == 0)
		return;
	release(p);
	destroy_failed(p, xn_error_msg(err));
	xn_error_free(&err);
}

static void destroyed(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct pod *p = arg;

	if (release(p))
		return;
	if (p->st.phase != XN_POD_DESTROYING || p->st.domid != domid)
		return; /* already over (its DEATH event came first) */
	if (rc < 0)
		destroy_failed(p, xn_error_msg(err));
	else
		xn_rt_instance_over(p);
}

void xn_rt_instance_over(struct pod *p)
{
	p->destroy_failures = 0;
	unwatch_ready(p);
	if (p->log != NULL && p->st.domid != XN_DOMID_INVALID) {
		xn_rt_transition(p, XN_POD_DRAINING, CONSOLE_DRAIN_MS, NULL, NULL);
		return;
	}
	finish_instance(p);
}

/* The one teardown of an instance: console, guest areas, then forget the
 * pod (killed) or let the restart policy decide. */
static void finish_instance(struct pod *p)
{
	xn_err err = NULL;

	close_console(p);
	if (p->st.domid != XN_DOMID_INVALID &&
	    xn_store_guest_cleanup(p->rt->store, p->st.domid, &err) < 0) {
		log_debug("pod %s/%s: guest cleanup: %s", p->spec.ns, p->spec.name,
			  xn_error_msg(err));
		xn_error_free(&err);
	}
	p->st.domid = XN_DOMID_INVALID;
	p->st.ready = false;
	if (p->st.stopping) {
		/* how it ended, for the operator: no Event, the pod is going */
		if (p->st.has_last)
			log_info("pod %s/%s: stopped with exit code %d: %s", p->spec.ns,
				 p->spec.name, p->st.last.exit_code, p->st.last.message);
		forget(p);
	} else {
		xn_rt_decide(p, p->st.last.message);
	}
}

static bool restart_due(const struct pod *p)
{
	switch (p->spec.restart) {
	case XN_RESTART_NEVER: return false;
	case XN_RESTART_ON_FAILURE:
		/* the kubelet restarts a container it killed for a failed liveness
		 * or startup probe whatever its exit code (unless Never) */
		return p->probe_killed || (p->st.has_last && p->st.last.exit_code != 0);
	default: return true;
	}
}

void xn_rt_decide(struct pod *p, const char *why)
{
	bool restart = restart_due(p);

	p->probe_killed = false;
	if (restart) {
		enter_backoff(p, "CrashLoopBackOff", why);
		return;
	}
	xn_rt_transition(p, XN_POD_TERMINATED, XN_RT_NO_TIMER, p->st.last.reason, "%s",
			 p->st.last.message);
	xn_rt_net_release(p); /* no domain ever again */
	xn_rt_save_record(p);
	xn_rt_notify(p);
}

/* A delay as Go prints a time.Duration, as the kubelet's message has it:
 * "10s", "5m0s", "1m20s"; below a second "50ms" (test back-offs). */
static void go_duration(unsigned ms, char out[32])
{
	unsigned s = ms / 1000, m = s / 60;

	if (ms < 1000)
		snprintf(out, 32, "%ums", ms);
	else if (ms % 1000 != 0)
		snprintf(out, 32, "%u.%03us", s, ms % 1000);
	else if (m == 0)
		snprintf(out, 32, "%us", s);
	else if (m < 60)
		snprintf(out, 32, "%um%us", m, s % 60);
	else
		snprintf(out, 32, "%uh%um%us", m / 60, m % 60, s % 60);
}

/* BACKOFF with the kubelet's delay: 10 s doubling to 5 min, back to the
 * base after a run longer than backoff_reset_ms.  A create error keeps its
 * own reason and message (CreateContainerError). */
static void enter_backoff(struct pod *p, const char *reason, const char *why)
{
	struct xn_runtime *rt = p->rt;
	uint64_t ran_ms = p->run_mono_ns ? (xn_now_mono_ns() - p->run_mono_ns) / 1000000 : 0;
	char msg[512], delay[32];

	if (p->backoff_ms == 0 || ran_ms >= rt->opts.backoff_reset_ms)
		p->backoff_ms = rt->opts.backoff_base_ms;
	else if (p->backoff_ms < rt->opts.backoff_max_ms)
		p->backoff_ms = p->backoff_ms * 2 > rt->opts.backoff_max_ms
				    ? rt->opts.backoff_max_ms
				    : p->backoff_ms * 2;
	go_duration(p->backoff_ms, delay);
	snprintf(msg, sizeof(msg), "back-off %s restarting failed container=%s pod=%s_%s(%s)",
		 delay, p->spec.container, p->spec.name, p->spec.ns, p->spec.uid);
	xn_rt_transition(p, XN_POD_BACKOFF, p->backoff_ms, reason, "%s",
			 strcmp(reason, "CrashLoopBackOff") == 0 ? msg : why);
	xn_rt_note(p, "Warning", "BackOff", "Back-off restarting failed domain (%s)", why);
	xn_metric_count("xenlet_backoffs_total", "Restarts delayed by the crash-loop back-off.",
			NULL, NULL, 1);
	xn_rt_save_record(p);
	xn_rt_notify(p);
}

/* Forget a pod whose instance is over (never while its domain may exist). */
static void forget(struct pod *p)
{
	struct xn_runtime *rt = p->rt;
	xn_err err = NULL;

	if (p->st.domid != XN_DOMID_INVALID)
		fatalx("pod %s/%s: forgotten with domain %u", p->spec.ns, p->spec.name,
		       p->st.domid);
	if (xn_store_pod_del(rt->store, p->spec.uid, &err) < 0) {
		if (err && err->status != ENOENT)
			log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
	xn_pod_spec_remove(rt->spec_dir, p->spec.uid);
	xn_rt_net_release(p);
	logs_pod_removed(p);
	if (p->timer)
		evtimer_del(p->timer);
	unwatch_ready(p);
	TAILQ_REMOVE(&rt->pods, p, entry);
	p->forgotten = true;
	if (rt->cb)
		rt->cb(rt, XN_RT_REMOVED, p->spec.uid, &p->st, rt->arg);
	if (p->pending == 0)
		pod_free(p);
}

/* ---- the phase timers ---- */

/* A guest that never boots (hangs in its first instructions, waits for
 * something that never comes) would hold its memory for ever: past the
 * deadline it is destroyed and counts as failed, exit code 124 as timeout(1)
 * reports, and the restart policy decides. */
static void boot_deadline(struct pod *p)
{
	xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_BOOT_TIMEOUT);
	snprintf(p->st.last.reason, sizeof(p->st.last.reason), "BootTimeout");
	snprintf(p->st.last.message, sizeof(p->st.last.message),
		 "domain %u did not boot within %us (%s)", p->st.domid, p->spec.boot_timeout_s,
		 p->spec.guest_readiness ? "its readiness flag was never set"
					 : "it wrote nothing on its console");
	xn_rt_note(p, "Warning", "BootTimeout", "%s; destroying it", p->st.last.message);
	destroy_domain(p);
}

/* The grace period is over and the guest has not shut down: whatever it or
 * the backend does, the domain goes now (as the kubelet's SIGKILL). */
static void grace_over(struct pod *p)
{
	xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
	snprintf(p->st.last.message, sizeof(p->st.last.message),
		 "domain %u did not shut down within its grace period; destroyed", p->st.domid);
	log_info("pod %s/%s: %s", p->spec.ns, p->spec.name, p->st.last.message);
	destroy_domain(p);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;

	switch (p->st.phase) {
	case XN_POD_BOOTING: boot_deadline(p); break;
	case XN_POD_STOPPING: grace_over(p); break;
	case XN_POD_DESTROYING: destroy_domain(p); break;
	case XN_POD_DRAINING:
		log_debug("pod %s/%s: console of domain %u: no end-of-console; closing its log",
			  p->spec.ns, p->spec.name, p->st.domid);
		finish_instance(p);
		break;
	case XN_POD_BACKOFF:
		if (!p->net_wait) /* a wait for the network is no restart */
			p->st.restart_count++;
		xn_rt_start_instance(p);
		break;
	case XN_POD_CREATING:
	case XN_POD_RUNNING:
	case XN_POD_PAUSED:
	case XN_POD_TERMINATED: break; /* these phases arm no timer */
	}
}

/* ---- hypervisor events ---- */

static bool domain_live(const struct pod *p)
{
	return p->st.phase == XN_POD_BOOTING || p->st.phase == XN_POD_RUNNING ||
	       p->st.phase == XN_POD_PAUSED || p->st.phase == XN_POD_STOPPING;
}

void xn_runtime_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct xn_runtime *rt = arg;
	struct pod *p = find_domid(rt, ev->domid);

	if (p == NULL) {
		log_debug("event %d for domain %u: not a pod of ours", ev->type, ev->domid);
		return;
	}
	if (ev->type == XN_HV_EV_SHUTDOWN) {
		/* Once the instance is being destroyed the first report stands
		 * (recovery reports a domain that shut down while we were away,
		 * and adopt() may make the backend report it again; a destroy
		 * reports "destroyed" after the guest's own exit). */
		if (!domain_live(p))
			return;
		xn_rt_record_exit(p, ev->reason, ev->exit_code);
		if (!p->st.stopping)
			xn_rt_note(p, ev->exit_code == 0 ? "Normal" : "Warning", "Exited",
				   "domain %u %s with exit code %d", ev->domid,
				   xn_shutdown_reason_name(ev->reason), ev->exit_code);
		destroy_domain(p);
		return;
	}
	if (p->st.phase == XN_POD_DESTROYING) {
		xn_rt_instance_over(p); /* our destroy is done (its callback may follow) */
		return;
	}
	if (!domain_live(p))
		return;
	/* died without a shutdown report: destroyed behind our back (xl
	 * destroy), or by the backend at its own deadline while stopping; the
	 * kubelet calls that killed */
	xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
	if (!p->st.stopping)
		xn_rt_note(p, "Warning", "Exited", "domain %u was destroyed outside xenletd",
			   ev->domid);
	xn_rt_instance_over(p);
}

/* ---- stopping: shutdown request, grace timer, destroy ---- */

static void shutdown_done(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct pod *p = arg;
	struct xn_domain_info info;
	xn_err e2 = NULL;

	if (release(p))
		return;
	if (p->st.phase != XN_POD_STOPPING || p->st.domid != domid)
		return; /* the events got there first */
	if (rc < 0) {
		log_warnx("pod %s/%s: shutdown domain %u: %s; destroying it", p->spec.ns,
			  p->spec.name, domid, xn_error_msg(err));
		xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
		destroy_domain(p);
		return;
	}
	/* done without its events (yet): ask where the domain is */
	if (hv->ops->domain_info(hv, domid, &info, &e2) < 0) {
		bool gone = e2 && (e2->status == ENOENT || e2->status == ESRCH);
		xn_error_free(&e2);
		if (gone) {
			xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
			xn_rt_instance_over(p);
		}
		return; /* else the grace timer still holds */
	}
	if (info.state == XN_DOM_SHUTDOWN || info.state == XN_DOM_CRASHED) {
		xn_rt_record_exit(p, info.reason, xn_exit_code_for(info.reason));
		destroy_domain(p);
	}
}

/* Ask the guest to stop; the phase timer destroys it at the grace end. */
static void request_shutdown(struct pod *p, unsigned grace_s, const char *reason)
{
	struct xn_hv *hv = p->rt->hv;
	xn_err err = NULL;

	if (grace_s == 0) {
		xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
		destroy_domain(p);
		return;
	}
	/* a paused guest cannot answer */
	if (p->st.phase == XN_POD_PAUSED && hv->ops->unpause(hv, p->st.domid, &err) < 0) {
		log_warnx("pod %s/%s: unpause before shutdown: %s", p->spec.ns, p->spec.name,
			  xn_error_msg(err));
		xn_error_free(&err);
	}
	xn_rt_transition(p, XN_POD_STOPPING, grace_s * 1000ull, reason,
			 "domain %u asked to shut down (grace period %us)", p->st.domid, grace_s);
	hold(p);
	if (hv->ops->shutdown(hv, p->st.domid, grace_s * 1000, shutdown_done, p, &err) == 0)
		return;
	release(p);
	log_warnx("pod %s/%s: shutdown domain %u: %s; destroying it", p->spec.ns, p->spec.name,
		  p->st.domid, xn_error_msg(err));
	xn_error_free(&err);
	xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
	destroy_domain(p);
}

void xn_rt_probe_kill(struct pod *p, unsigned grace_s)
{
	if (p->st.phase != XN_POD_BOOTING && p->st.phase != XN_POD_RUNNING &&
	    p->st.phase != XN_POD_PAUSED)
		return;
	p->probe_killed = true;
	request_shutdown(p, grace_s, "Killing");
	xn_rt_notify(p);
}

/* ---- public API ---- */

struct xn_runtime *xn_runtime_new(struct event_base *base, struct xn_hv *hv, struct xn_store *store,
				  const struct xn_runtime_opts *opts, xn_runtime_cb cb,
				  xn_runtime_note_cb note_cb, void *arg, xn_err *err)
{
	struct xn_runtime *rt = xn_xcalloc(1, sizeof(*rt));

	rt->base = base;
	rt->hv = hv;
	rt->store = store;
	rt->opts = *opts;
	if (rt->opts.backoff_base_ms == 0)
		rt->opts.backoff_base_ms = 10000;
	if (rt->opts.backoff_max_ms == 0)
		rt->opts.backoff_max_ms = 300000;
	if (rt->opts.backoff_reset_ms == 0)
		rt->opts.backoff_reset_ms = 600000;
	rt->spec_dir = xn_xasprintf("%s/pods", opts->root_dir);
	rt->cb = cb;
	rt->note = note_cb;
	rt->arg = arg;
	TAILQ_INIT(&rt->pods);
	if (xn_mkdir_p(rt->spec_dir, 0700) < 0) {
		xn_error_errno(err, errno, "state directory %s", rt->spec_dir);
		free(rt->spec_dir);
		free(rt);
		return NULL;
	}
	return rt;
}

void xn_runtime_free(struct xn_runtime *rt)
{
	struct pod *p;

	if (rt == NULL)
		return;
	/* Domains keep running: a daemon restart adopts them.  Callbacks still
	 * pending die with the backend, which is closed after us. */
	while ((p = TAILQ_FIRST(&rt->pods)) != NULL) {
		TAILQ_REMOVE(&rt->pods, p, entry);
		unwatch_ready(p);
		if (p->st.domid != XN_DOMID_INVALID)
			rt->hv->ops->console_detach(rt->hv, p->st.domid);
		pod_free(p);
	}
	free(rt->spec_dir);
	free(rt);
}

struct pod *xn_rt_pod_new(struct xn_runtime *rt, const struct xn_pod_spec *spec)
{
	struct pod *p = xn_xcalloc(1, sizeof(*p));

	p->rt = rt;
	xn_pod_spec_copy(&p->spec, spec);
	p->st.domid = XN_DOMID_INVALID;
	p->st.phase = XN_POD_CREATING;
	p->ready_watch = -1;
	xn_rt_net_restore(p);
	TAILQ_INSERT_TAIL(&rt->pods, p, entry);
	return p;
}

int xn_runtime_run(struct xn_runtime *rt, const struct xn_pod_spec *spec, xn_err *err)
{
	struct xn_pod_spec s = *spec; /* shallow: only the type may change */

	if (spec->uid == NULL || spec->ns == NULL || spec->name == NULL ||
	    spec->container == NULL || spec->kernel == NULL)
		return xn_error(err, EINVAL,
				"pod spec: uid, namespace, name, container and kernel are "
				"required");
	if (strchr(spec->uid, '/') || strchr(spec->uid, '.') || strlen(spec->uid) >= XN_NAME_MAX)
		return xn_error(err, EINVAL, "pod uid \"%s\": not a valid uid", spec->uid);
	if (xn_rt_find_uid(rt, spec->uid) != NULL)
		return xn_error(err, EEXIST, "pod %s/%s (uid %s): already running", spec->ns,
				spec->name, spec->uid);
	if (xn_runtime_find(rt, spec->ns, spec->name) != NULL)
		return xn_error(err, EEXIST, "pod %s/%s: a pod of that name exists", spec->ns,
				spec->name);
	/* the kernel's guest types, checked before anything is built: the
	 * type asked for must be one of them, else they choose (hv_guard.h) */
	if (xn_hv_guard_kernel_type(rt->hv, s.kernel, !s.type_from_kernel, &s.type, err) < 0)
		return -1;
	s.type_from_kernel = false;
	if (xn_pod_spec_save(rt->spec_dir, &s, err) < 0)
		return -1;
	xn_rt_start_instance(xn_rt_pod_new(rt, &s));
	return 0;
}

static struct pod *lookup(struct xn_runtime *rt, const char *uid, xn_err *err)
{
	struct pod *p = xn_rt_find_uid(rt, uid);

	if (p == NULL)
		xn_error(err, ENOENT, "pod uid %s: not on this node", uid);
	return p;
}

static int no_domain(struct pod *p, xn_err *err)
{
	return xn_error(err, EBUSY, "pod %s/%s: no running domain (the pod is %s)", p->spec.ns,
			p->spec.name, xn_pod_phase_name(p->st.phase));
}

int xn_runtime_kill(struct xn_runtime *rt, const char *uid, unsigned grace_s, xn_err *err)
{
	struct pod *p = lookup(rt, uid, err);
	bool first;

	if (p == NULL)
		return -1;
	first = !p->st.stopping;
	p->st.stopping = true;
	switch (p->st.phase) {
	case XN_POD_CREATING: /* created() sees stopping and destroys */
		if (first)
			xn_rt_note(p, "Normal", "Killing",
				   "Stopping pod (its domain is being created)");
		break;
	case XN_POD_BOOTING:
	case XN_POD_RUNNING:
	case XN_POD_PAUSED:
		xn_rt_note(p, "Normal", "Killing", "Stopping domain %u (grace period %us)",
			   p->st.domid, grace_s);
		request_shutdown(p, grace_s, "Killing");
		break;
	case XN_POD_STOPPING: /* already asked (kill or the shutdown verb) */
		if (first)
			xn_rt_note(p, "Normal", "Killing", "Stopping domain %u (grace period %us)",
				   p->st.domid, grace_s);
		if (grace_s == 0)
			grace_over(p);
		else if (grace_s * 1000ull < timer_left_ms(p))
			xn_rt_transition(p, XN_POD_STOPPING, grace_s * 1000ull, "Killing",
					 "domain %u asked to shut down (grace period %us)",
					 p->st.domid, grace_s);
		break;
	case XN_POD_DESTROYING:
	case XN_POD_DRAINING: break; /* finish_instance() sees stopping and forgets */
	case XN_POD_BACKOFF:
	case XN_POD_TERMINATED: forget(p); break; /* no domain */
	}
	return 0;
}

int xn_runtime_shutdown(struct xn_runtime *rt, const char *uid, unsigned grace_s, xn_err *err)
{
	struct pod *p = lookup(rt, uid, err);

	if (p == NULL)
		return -1;
	if (p->st.phase == XN_POD_STOPPING)
		return 0;
	if (p->st.phase != XN_POD_BOOTING && p->st.phase != XN_POD_RUNNING &&
	    p->st.phase != XN_POD_PAUSED)
		return no_domain(p, err);
	log_info("pod %s/%s: shutdown of domain %u requested (grace period %us)", p->spec.ns,
		 p->spec.name, p->st.domid, grace_s);
	request_shutdown(p, grace_s, "ShuttingDown");
	return 0;
}

int xn_runtime_pause(struct xn_runtime *rt, const char *uid, xn_err *err)
{
	struct pod *p = lookup(rt, uid, err);
	uint32_t domid;

	if (p == NULL)
		return -1;
	if (p->st.phase == XN_POD_PAUSED)
		return 0;
	if (p->st.phase != XN_POD_BOOTING && p->st.phase != XN_POD_RUNNING)
		return no_domain(p, err);
	domid = p->st.domid;
	if (rt->hv->ops->pause(rt->hv, domid, err) < 0)
		return xn_error_wrap(err, "pod %s/%s", p->spec.ns, p->spec.name);
	/* the boot deadline counts the guest's time, not ours: it waits */
	p->resume = p->st.phase;
	p->boot_left_ms = p->st.phase == XN_POD_BOOTING ? timer_left_ms(p) : 0;
	xn_rt_probe_pause(p, true); /* a paused guest cannot answer: no verdicts */
	if (p->boot_left_ms)
		xn_rt_transition(p, XN_POD_PAUSED, XN_RT_NO_TIMER, "Paused",
				 "domain %u is paused (its boot deadline waits with %llu ms left)",
				 domid, (unsigned long long)p->boot_left_ms);
	else
		xn_rt_transition(p, XN_POD_PAUSED, XN_RT_NO_TIMER, "Paused", "domain %u is paused",
				 domid);
	log_info("pod %s/%s: paused domain %u", p->spec.ns, p->spec.name, domid);
	xn_rt_notify(p);
	return 0;
}

int xn_runtime_unpause(struct xn_runtime *rt, const char *uid, xn_err *err)
{
	struct pod *p = lookup(rt, uid, err);

	if (p == NULL)
		return -1;
	if (p->st.phase != XN_POD_PAUSED && p->st.phase != XN_POD_BOOTING &&
	    p->st.phase != XN_POD_RUNNING)
		return no_domain(p, err);
	/* running already: unpause anyway, for a domain paused behind our back */
	if (rt->hv->ops->unpause(rt->hv, p->st.domid, err) < 0)
		return xn_error_wrap(err, "pod %s/%s", p->spec.ns, p->spec.name);
	if (p->st.phase != XN_POD_PAUSED)
		return 0;
	xn_rt_transition(p, p->resume, p->boot_left_ms ? p->boot_left_ms : XN_RT_NO_TIMER, "",
			 NULL);
	xn_rt_probe_pause(p, false);
	p->boot_left_ms = 0;
	log_info("pod %s/%s: unpaused domain %u", p->spec.ns, p->spec.name, p->st.domid);
	xn_rt_notify(p);
	return 0;
}

int xn_runtime_console_path(struct xn_runtime *rt, const char *uid, char **path, xn_err *err)
{
	struct pod *p = lookup(rt, uid, err);

	*path = NULL;
	if (p == NULL)
		return -1;
	if (!domain_live(p))
		return no_domain(p, err);
	if (rt->hv->ops->console_path == NULL)
		return xn_error(err, ENOSYS, "pod %s/%s: backend %s has no console pty", p->spec.ns,
				p->spec.name, rt->hv->ops->name);
	if (rt->hv->ops->console_path(rt->hv, p->st.domid, path, err) < 0)
		return xn_error_wrap(err, "pod %s/%s", p->spec.ns, p->spec.name);
	return 0;
}
