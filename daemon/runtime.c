/* runtime.c - one domain per pod instance: create, console, exit, restart,
 * kill, and recovery after a daemon restart. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "xenlet/crilog.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/runtime.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

struct pod {
	TAILQ_ENTRY(pod) entry;
	struct xn_runtime *rt;
	struct xn_pod_spec spec;
	struct xn_pod_status st;
	struct xn_crilog *log;
	struct event *timer;  /* back-off restart */
	struct event *drain;  /* bounds the wait for the console's last bytes */
	bool console_eof;     /* the backend said the console closed */
	bool draining;	      /* instance over, waiting for console_eof */
	struct event *boot;   /* boot deadline (spec.boot_timeout_s) */
	bool booted;	      /* first console byte, or ready with guest readiness */
	unsigned backoff_ms;  /* the last back-off applied; 0 = none yet */
	uint64_t run_mono_ns; /* monotonic start of the running instance */
	uint64_t create_ns;   /* create requested (metrics) */
	bool creating;	      /* a create is in flight */
	bool destroying;      /* we destroy after a shutdown: DEATH is ours */
	bool killing;
	unsigned kill_grace_s;
	int ready_watch; /* store watch id, -1 */
};

TAILQ_HEAD(pod_list, pod);

struct xn_runtime {
	struct event_base *base;
	struct xn_hv *hv;
	struct xn_store *store;
	struct xn_runtime_opts opts;
	char *spec_dir;
	xn_runtime_cb cb;
	xn_runtime_note_cb note;
	void *arg;
	struct pod_list pods;
};

static void start_instance(struct pod *p);
static void instance_ended(struct pod *p);
static void domain_name(const struct xn_pod_spec *s, char out[XN_NAME_MAX]);

static struct pod *find_uid(struct xn_runtime *rt, const char *uid)
{
	struct pod *p;

	TAILQ_FOREACH(p, &rt->pods, entry)
	if (strcmp(p->spec.uid, uid) == 0)
		return p;
	return NULL;
}

static struct pod *find_domid(struct xn_runtime *rt, uint32_t domid)
{
	struct pod *p;

	TAILQ_FOREACH(p, &rt->pods, entry)
	if (p->st.domid == domid && domid != XN_DOMID_INVALID)
		return p;
	return NULL;
}

static void notify(struct pod *p)
{
	if (p->rt->cb)
		p->rt->cb(p->rt, XN_RT_STATUS, p->spec.uid, &p->st, p->rt->arg);
}

__attribute__((format(printf, 4, 5))) static void note(struct pod *p, const char *type,
						       const char *reason, const char *fmt, ...)
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

static void set_waiting(struct pod *p, const char *reason, const char *msg)
{
	p->st.state = XN_INST_WAITING;
	snprintf(p->st.reason, sizeof(p->st.reason), "%s", reason);
	snprintf(p->st.message, sizeof(p->st.message), "%s", msg ? msg : "");
	p->st.ready = false;
}

/* ---- persistence: spec files and store records ---- */

static char *spec_path(struct xn_runtime *rt, const char *uid)
{
	return xn_xasprintf("%s/%s.json", rt->spec_dir, uid);
}

static int save_spec(struct xn_runtime *rt, const struct xn_pod_spec *s, xn_err *err)
{
	cleanup_free char *path = spec_path(rt, s->uid);
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", path);
	cleanup_free char *json = xn_pod_spec_to_json(s);
	FILE *f = fopen(tmp, "w");

	if (f == NULL)
		return xn_error_errno(err, errno, "pod spec %s", tmp);
	if (fputs(json, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		return xn_error_errno(err, e, "pod spec %s", tmp);
	}
	fclose(f);
	if (rename(tmp, path) < 0)
		return xn_error_errno(err, errno, "pod spec %s", path);
	return 0;
}

static void save_record(struct pod *p)
{
	struct xn_pod_record r = {
	    .uid = p->spec.uid,
	    .ns = p->spec.ns,
	    .name = p->spec.name,
	    .domid = p->st.domid,
	    .image_digest = p->spec.image_id,
	    .restart_count = p->st.restart_count,
	    .last_exit = p->st.has_last ? p->st.last.exit_code : -1,
	    .last_reason = p->st.has_last ? p->st.last.reason : NULL,
	    .started_at = p->st.started_at / 1000000000ull,
	    .finished_at = p->st.has_last ? p->st.last.finished_at / 1000000000ull : 0,
	};
	char domain[XN_NAME_MAX];
	xn_err err = NULL;

	domain_name(&p->spec, domain);
	r.domain = domain;
	if (xn_store_pod_put(p->rt->store, &r, &err) < 0) {
		log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* ---- boot deadline ---- */

static void mark_booted(struct pod *p)
{
	p->booted = true;
	if (p->boot)
		evtimer_del(p->boot);
}

static void destroyed(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg);
static void record_exit(struct pod *p, enum xn_shutdown_reason reason, int code);

/* A guest that never boots (hangs in its first instructions, waits for
 * something that never comes) would hold its memory for ever: past the
 * deadline it is destroyed and counts as failed, exit code 124 as timeout(1)
 * reports, and the restart policy decides. */
static void boot_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;
	xn_err err = NULL;

	if (p->booted || p->killing || p->destroying || p->st.state != XN_INST_RUNNING)
		return;
	record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_BOOT_TIMEOUT);
	snprintf(p->st.last.reason, sizeof(p->st.last.reason), "BootTimeout");
	snprintf(p->st.last.message, sizeof(p->st.last.message),
		 "domain %u did not boot within %us (%s)", p->st.domid, p->spec.boot_timeout_s,
		 p->spec.guest_readiness ? "its readiness flag was never set"
					 : "it wrote nothing on its console");
	note(p, "Warning", "BootTimeout", "%s; destroying it", p->st.last.message);
	p->destroying = true;
	if (p->rt->hv->ops->destroy(p->rt->hv, p->st.domid, destroyed, p, &err) < 0) {
		log_warnx("pod %s/%s: destroy: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
		instance_ended(p);
	}
}

static void arm_boot_deadline(struct pod *p)
{
	struct timeval tv = {(time_t)p->spec.boot_timeout_s, 0};

	p->booted = false;
	if (p->spec.boot_timeout_s == 0)
		return;
	if (p->boot == NULL)
		p->boot = evtimer_new(p->rt->base, boot_deadline, p);
	evtimer_add(p->boot, &tv);
}

/* ---- readiness from the guest's data area ---- */

static void ready_changed(struct xn_store *st, const char *path, void *arg)
{
	struct pod *p = arg;
	char *val = NULL;
	xn_err err = NULL;
	bool ready = false;

	if (p->st.state != XN_INST_RUNNING)
		return;
	if (xn_store_guest_data_get(st, p->st.domid, "ready", &val, &err) == 0)
		ready = strcmp(val, "1") == 0;
	else if (err && err->status != ENOENT)
		note(p, "Warning", "Unhealthy", "readiness flag from the guest: %s",
		     xn_error_msg(err));
	xn_error_free(&err);
	free(val);
	if (ready && p->spec.guest_readiness)
		mark_booted(p);
	if (ready != p->st.ready) {
		p->st.ready = ready;
		notify(p);
	}
}

static void watch_ready(struct pod *p)
{
	cleanup_free char *path = NULL;
	xn_err err = NULL;

	if (!p->spec.guest_readiness) {
		p->st.ready = true;
		return;
	}
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

static void instance_ended_now(struct pod *p);

static void drain_done(struct pod *p)
{
	p->draining = false;
	evtimer_del(p->drain);
	instance_ended_now(p);
}

static void drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;

	log_debug("pod %s/%s: console of domain %u: no end-of-console; closing its log", p->spec.ns,
		  p->spec.name, p->st.domid);
	drain_done(p);
}

static void console_bytes(struct xn_hv *hv, uint32_t domid, const char *buf, size_t len, void *arg)
{
	struct pod *p = arg;

	if (p->log == NULL)
		return;
	if (len > 0) {
		xn_crilog_write(p->log, buf, len);
		if (!p->booted && !p->spec.guest_readiness)
			mark_booted(p);
		return;
	}
	xn_crilog_flush(p->log);
	p->console_eof = true;
	if (p->draining)
		drain_done(p);
}

static void open_console(struct pod *p)
{
	xn_err err = NULL;

	p->console_eof = false;
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
	if (p->log != NULL)
		xn_crilog_set_rotation(p->log, p->rt->opts.log_max_bytes,
				       p->rt->opts.log_max_files);
	if (p->log == NULL) {
		note(p, "Warning", "FailedLogs", "console will not be kept: %s", xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	if (p->rt->hv->ops->console_attach(p->rt->hv, p->st.domid, console_bytes, p, &err) < 0) {
		note(p, "Warning", "FailedLogs", "console: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
}

static void close_console(struct pod *p)
{
	if (p->st.domid != XN_DOMID_INVALID)
		p->rt->hv->ops->console_detach(p->rt->hv, p->st.domid);
	xn_crilog_close(p->log);
	p->log = NULL;
}

/* ---- domain config from a spec ---- */

/* Xen names must be unique on the host: the pod name plus a piece of its
 * uid, characters outside [A-Za-z0-9._-] replaced. */
static void domain_name(const struct xn_pod_spec *s, char out[XN_NAME_MAX])
{
	char uid8[9];
	size_t n;

	snprintf(uid8, sizeof(uid8), "%s", s->uid);
	n = (size_t)snprintf(out, XN_NAME_MAX, "%.*s-%.*s-%s", 24, s->ns, 28, s->name, uid8);
	for (size_t i = 0; i < n && i < XN_NAME_MAX; i++) {
		char ch = out[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			out[i] = '_';
	}
}

static void created(struct xn_hv *hv, int rc, uint32_t domid, xn_err cerr, void *arg);

void xn_runtime_domain_config(const struct xn_pod_spec *s, char name[XN_NAME_MAX],
			      struct xn_domain_config *c)
{
	domain_name(s, name);
	*c = (struct xn_domain_config){
	    .name = name,
	    .tag = s->uid,
	    .type = s->type,
	    .kernel = s->kernel,
	    .ramdisk = s->ramdisk,
	    .cmdline = s->cmdline,
	    .memory_kb = s->memory_kb,
	    .vcpus = s->vcpus ? s->vcpus : 1,
	    .cpu_weight = s->cpu_weight,
	    .cpu_cap = s->cpu_cap,
	};
}

static void start_instance(struct pod *p)
{
	struct xn_runtime *rt = p->rt;
	char name[XN_NAME_MAX];
	struct xn_domain_config c;
	xn_err err = NULL;

	xn_runtime_domain_config(&p->spec, name, &c);
	set_waiting(p, "ContainerCreating", NULL);
	notify(p);
	p->creating = true;
	p->create_ns = xn_now_mono_ns();
	if (xn_domain_config_check(&c, &err) < 0 ||
	    rt->hv->ops->create(rt->hv, &c, created, p, &err) < 0) {
		p->creating = false;
		created(rt->hv, -1, XN_DOMID_INVALID, err, p);
		xn_error_free(&err);
	}
}

static void schedule_restart(struct pod *p, const char *why);

static const double create_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

static void created(struct xn_hv *hv, int rc, uint32_t domid, xn_err cerr, void *arg)
{
	struct pod *p = arg;
	struct xn_runtime *rt = p->rt;
	xn_err err = NULL;
	char sdomid[16], dname[XN_NAME_MAX];
	const char *keys[] = {"pod-uid", "pod-namespace", "pod-name", NULL};
	const char *vals[] = {p->spec.uid, p->spec.ns, p->spec.name, NULL};

	p->creating = false;
	if (rc < 0) {
		note(p, "Warning", "Failed", "Error: %s", xn_error_msg(cerr));
		if (p->killing) {
			instance_ended(p);
			return;
		}
		set_waiting(p, "CreateContainerError", xn_error_msg(cerr));
		schedule_restart(p, xn_error_msg(cerr));
		return;
	}
	p->st.domid = domid;
	xn_metric_observe("xenlet_domain_create_duration_seconds",
			  "Time from the create request to a paused domain.", create_buckets,
			  XN_ARRAY_SIZE(create_buckets),
			  (double)(xn_now_mono_ns() - p->create_ns) / 1e9);
	if (p->killing) { /* deleted while it was being built */
		p->destroying = true;
		if (hv->ops->destroy(hv, domid, destroyed, p, &err) < 0) {
			log_warnx("pod %s/%s: destroy: %s", p->spec.ns, p->spec.name,
				  xn_error_msg(err));
			xn_error_free(&err);
			instance_ended(p);
		}
		return;
	}
	snprintf(sdomid, sizeof(sdomid), "%u", domid);
	if (xn_store_guest_data_init(rt->store, domid, &err) < 0 ||
	    xn_store_guest_config_put(rt->store, domid, keys, vals, &err) < 0) {
		note(p, "Warning", "Failed", "guest areas in xenstore: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	domain_name(&p->spec, dname);
	note(p, "Normal", "Created", "Created domain %s (domid %s)", dname, sdomid);
	open_console(p);
	if (hv->ops->unpause(hv, domid, &err) < 0) {
		note(p, "Warning", "Failed", "Error: unpause: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
	p->st.state = XN_INST_RUNNING;
	p->st.reason[0] = p->st.message[0] = '\0';
	p->st.started_at = xn_now_real_ns();
	p->run_mono_ns = xn_now_mono_ns();
	arm_boot_deadline(p);
	watch_ready(p);
	save_record(p);
	note(p, "Normal", "Started", "Started domain %u", domid);
	notify(p);
}

/* ---- exits, restarts ---- */

static void record_exit(struct pod *p, enum xn_shutdown_reason reason, int code)
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

static void restart_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;

	p->st.restart_count++;
	start_instance(p);
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

static void schedule_restart(struct pod *p, const char *why)
{
	struct xn_runtime *rt = p->rt;
	uint64_t ran_ms = p->run_mono_ns ? (xn_now_mono_ns() - p->run_mono_ns) / 1000000 : 0;
	struct timeval tv;
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
	if (strcmp(p->st.reason, "CreateContainerError") != 0)
		set_waiting(p, "CrashLoopBackOff", msg);
	note(p, "Warning", "BackOff", "Back-off restarting failed domain (%s)", why);
	xn_metric_count("xenlet_backoffs_total", "Restarts delayed by the crash-loop back-off.",
			NULL, NULL, 1);
	if (p->timer == NULL)
		p->timer = evtimer_new(rt->base, restart_timer, p);
	tv.tv_sec = p->backoff_ms / 1000;
	tv.tv_usec = (p->backoff_ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	save_record(p);
	notify(p);
}

static void forget(struct pod *p)
{
	struct xn_runtime *rt = p->rt;
	cleanup_free char *path = spec_path(rt, p->spec.uid);
	xn_err err = NULL;

	if (xn_store_pod_del(rt->store, p->spec.uid, &err) < 0) {
		if (err && err->status != ENOENT)
			log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
	unlink(path);
	/* the pod is gone: so are its logs, as the kubelet's pod GC does */
	if (xn_crilog_remove_pod(rt->opts.log_dir, p->spec.ns, p->spec.name, p->spec.uid, &err)) {
		log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
	TAILQ_REMOVE(&rt->pods, p, entry);
	if (rt->cb)
		rt->cb(rt, XN_RT_REMOVED, p->spec.uid, &p->st, rt->arg);
	if (p->timer)
		event_free(p->timer);
	if (p->drain)
		event_free(p->drain);
	if (p->boot)
		event_free(p->boot);
	xn_crilog_close(p->log);
	xn_pod_spec_dispose(&p->spec);
	free(p);
}

/* The domain of the current instance is gone (destroyed): decide what next. */
/* The instance's domain is gone, but what the guest wrote just before may
 * still be on its way through xenconsoled to the pty: wait (a little) for
 * the backend's end-of-console before the log is closed and the pod moves
 * on, so a guest's last words are in its log. */
#define CONSOLE_DRAIN_MS 1000

static void instance_ended(struct pod *p)
{
	struct timeval tv = {CONSOLE_DRAIN_MS / 1000, (CONSOLE_DRAIN_MS % 1000) * 1000};

	if (p->draining)
		return;
	unwatch_ready(p);
	if (p->log == NULL || p->console_eof || p->st.domid == XN_DOMID_INVALID) {
		instance_ended_now(p);
		return;
	}
	p->draining = true;
	if (p->drain == NULL)
		p->drain = evtimer_new(p->rt->base, drain_timeout, p);
	evtimer_add(p->drain, &tv);
}

static void instance_ended_now(struct pod *p)
{
	struct xn_runtime *rt = p->rt;
	xn_err err = NULL;
	bool restart;

	if (p->boot)
		evtimer_del(p->boot);
	close_console(p);
	if (p->st.domid != XN_DOMID_INVALID &&
	    xn_store_guest_cleanup(rt->store, p->st.domid, &err) < 0) {
		log_debug("pod %s/%s: guest cleanup: %s", p->spec.ns, p->spec.name,
			  xn_error_msg(err));
		xn_error_free(&err);
	}
	p->st.domid = XN_DOMID_INVALID;
	p->destroying = false;
	p->st.ready = false;
	if (p->killing) {
		forget(p);
		return;
	}
	switch (p->spec.restart) {
	case XN_RESTART_NEVER: restart = false; break;
	case XN_RESTART_ON_FAILURE: restart = p->st.last.exit_code != 0; break;
	default: restart = true; break;
	}
	if (!restart) {
		p->st.state = XN_INST_TERMINATED;
		p->st.finished = true;
		snprintf(p->st.reason, sizeof(p->st.reason), "%s", p->st.last.reason);
		snprintf(p->st.message, sizeof(p->st.message), "%s", p->st.last.message);
		save_record(p);
		notify(p);
		return;
	}
	schedule_restart(p, p->st.last.message);
}

static void destroyed(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct pod *p = arg;

	if (rc < 0)
		log_warnx("pod %s/%s: destroy domain %u: %s", p->spec.ns, p->spec.name, domid,
			  xn_error_msg(err));
	instance_ended(p);
}

/* The exit code of a domain that shut down while we were away: what the
 * guest wrote to data/xenlet/exit-code, as the backend's SHUTDOWN event
 * would have said, else the reason's default. */
static int guest_exit_code(struct xn_runtime *rt, const struct xn_domain_info *dom)
{
	cleanup_free char *val = NULL;
	xn_err err = NULL;
	uint64_t code;

	if (xn_store_guest_data_get(rt->store, dom->domid, "exit-code", &val, &err) == 0 &&
	    val != NULL && xn_parse_u64(val, 255, &code) == 0)
		return (int)code;
	xn_error_free(&err);
	return xn_exit_code_for(dom->reason);
}

void xn_runtime_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct xn_runtime *rt = arg;
	struct pod *p = find_domid(rt, ev->domid);
	xn_err err = NULL;

	if (p == NULL) {
		log_debug("event %d for domain %u: not a pod of ours", ev->type, ev->domid);
		return;
	}
	if (ev->type == XN_HV_EV_SHUTDOWN) {
		/* Already acted on (recovery reports a domain that shut down while
		 * we were away, and adopt() makes the backend report it again,
		 * possibly after the destroy has taken the guest's exit code with
		 * its xenstore area): the first report stands. */
		if (p->destroying && !p->killing)
			return;
		record_exit(p, ev->reason, ev->exit_code);
		if (p->killing || p->destroying)
			return; /* shutdown() or our destroy completes it */
		note(p, ev->exit_code == 0 ? "Normal" : "Warning", "Exited",
		     "domain %u %s with exit code %d", ev->domid,
		     xn_shutdown_reason_name(ev->reason), ev->exit_code);
		p->destroying = true;
		if (hv->ops->destroy(hv, ev->domid, destroyed, p, &err) < 0) {
			log_warnx("pod %s/%s: destroy: %s", p->spec.ns, p->spec.name,
				  xn_error_msg(err));
			xn_error_free(&err);
			instance_ended(p);
		}
		return;
	}
	/* DEATH: ours when destroying/killing (their callbacks finish the job) */
	if (p->destroying || p->killing)
		return;
	/* destroyed behind our back (xl destroy): the kubelet calls that killed */
	record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
	note(p, "Warning", "Exited", "domain %u was destroyed outside xenletd", ev->domid);
	instance_ended(p);
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
	/* Domains keep running: a daemon restart adopts them. */
	while ((p = TAILQ_FIRST(&rt->pods)) != NULL) {
		TAILQ_REMOVE(&rt->pods, p, entry);
		unwatch_ready(p);
		if (p->st.domid != XN_DOMID_INVALID)
			rt->hv->ops->console_detach(rt->hv, p->st.domid);
		xn_crilog_close(p->log);
		if (p->timer)
			event_free(p->timer);
		if (p->drain)
			event_free(p->drain);
		if (p->boot)
			event_free(p->boot);
		xn_pod_spec_dispose(&p->spec);
		free(p);
	}
	free(rt->spec_dir);
	free(rt);
}

static struct pod *new_pod(struct xn_runtime *rt, const struct xn_pod_spec *spec)
{
	struct pod *p = xn_xcalloc(1, sizeof(*p));

	p->rt = rt;
	xn_pod_spec_copy(&p->spec, spec);
	p->st.domid = XN_DOMID_INVALID;
	p->ready_watch = -1;
	TAILQ_INSERT_TAIL(&rt->pods, p, entry);
	return p;
}

int xn_runtime_run(struct xn_runtime *rt, const struct xn_pod_spec *spec, xn_err *err)
{
	struct pod *p;

	if (spec->uid == NULL || spec->ns == NULL || spec->name == NULL ||
	    spec->container == NULL || spec->kernel == NULL)
		return xn_error(err, EINVAL,
				"pod spec: uid, namespace, name, container and kernel are "
				"required");
	if (strchr(spec->uid, '/') || strchr(spec->uid, '.') || strlen(spec->uid) >= XN_NAME_MAX)
		return xn_error(err, EINVAL, "pod uid \"%s\": not a valid uid", spec->uid);
	if (find_uid(rt, spec->uid) != NULL)
		return xn_error(err, EEXIST, "pod %s/%s (uid %s): already running", spec->ns,
				spec->name, spec->uid);
	if (xn_runtime_find(rt, spec->ns, spec->name) != NULL)
		return xn_error(err, EEXIST, "pod %s/%s: a pod of that name exists", spec->ns,
				spec->name);
	if (save_spec(rt, spec, err) < 0)
		return -1;
	p = new_pod(rt, spec);
	start_instance(p);
	return 0;
}

static void killed(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct pod *p = arg;
	struct xn_domain_info info;
	xn_err e2 = NULL;

	if (rc < 0)
		log_warnx("pod %s/%s: stop domain %u: %s", p->spec.ns, p->spec.name, domid,
			  xn_error_msg(err));
	/* A guest that obeyed may be left shut down but not destroyed (hv_sim
	 * does so; libxl destroys it): it would hold its memory forever. */
	if (hv->ops->domain_info(hv, domid, &info, &e2) == 0 && info.state != XN_DOM_DYING) {
		p->destroying = true;
		if (hv->ops->destroy(hv, domid, destroyed, p, &e2) == 0)
			return;
		log_warnx("pod %s/%s: destroy domain %u: %s", p->spec.ns, p->spec.name, domid,
			  xn_error_msg(e2));
	}
	xn_error_free(&e2);
	instance_ended(p);
}

int xn_runtime_kill(struct xn_runtime *rt, const char *uid, unsigned grace_s, xn_err *err)
{
	struct pod *p = find_uid(rt, uid);

	if (p == NULL)
		return xn_error(err, ENOENT, "pod uid %s: not on this node", uid);
	if (p->killing)
		return 0;
	p->killing = true;
	p->st.stopping = true;
	p->kill_grace_s = grace_s;
	if (p->timer)
		evtimer_del(p->timer);
	if (p->creating)
		return 0; /* created() sees killing and destroys */
	if (p->st.domid == XN_DOMID_INVALID) {
		forget(p);
		return 0;
	}
	if (p->destroying || p->draining)
		return 0; /* destroyed()/drain -> instance_ended_now() -> forget() */
	note(p, "Normal", "Killing", "Stopping domain %u (grace period %us)", p->st.domid, grace_s);
	if (rt->hv->ops->shutdown(rt->hv, p->st.domid, grace_s * 1000, killed, p, err) < 0) {
		xn_error_wrap(err, "pod %s/%s: shutdown", p->spec.ns, p->spec.name);
		instance_ended(p);
		return -1;
	}
	return 0;
}

const struct xn_pod_status *xn_runtime_status(struct xn_runtime *rt, const char *uid)
{
	struct pod *p = find_uid(rt, uid);

	return p ? &p->st : NULL;
}

const struct xn_pod_spec *xn_runtime_spec(struct xn_runtime *rt, const char *uid)
{
	struct pod *p = find_uid(rt, uid);

	return p ? &p->spec : NULL;
}

const char *xn_runtime_find(struct xn_runtime *rt, const char *ns, const char *name)
{
	struct pod *p;

	TAILQ_FOREACH(p, &rt->pods, entry)
	if (strcmp(p->spec.ns, ns) == 0 && strcmp(p->spec.name, name) == 0)
		return p->spec.uid;
	return NULL;
}

void xn_runtime_foreach(struct xn_runtime *rt,
			int (*fn)(const struct xn_pod_spec *, const struct xn_pod_status *, void *),
			void *arg)
{
	struct pod *p, *next;

	for (p = TAILQ_FIRST(&rt->pods); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (fn(&p->spec, &p->st, arg) != 0)
			break;
	}
}

char *xn_runtime_log_path(struct xn_runtime *rt, const char *uid, unsigned restart)
{
	struct pod *p = find_uid(rt, uid);

	if (p == NULL)
		return NULL;
	return xn_crilog_instance_path(rt->opts.log_dir, p->spec.ns, p->spec.name, p->spec.uid,
				       p->spec.container, restart);
}

void xn_runtime_usage(struct xn_runtime *rt, unsigned *pods, uint64_t *memory_kb, unsigned *vcpus)
{
	struct pod *p;

	*pods = 0;
	*memory_kb = 0;
	*vcpus = 0;
	TAILQ_FOREACH(p, &rt->pods, entry)
	{
		if (p->st.finished)
			continue;
		(*pods)++;
		*memory_kb += p->spec.memory_kb;
		*vcpus += p->spec.vcpus;
	}
}

uint64_t xn_runtime_cpu_requests(struct xn_runtime *rt)
{
	struct pod *p;
	uint64_t milli = 0;

	TAILQ_FOREACH(p, &rt->pods, entry)
	if (!p->st.finished)
		milli += p->spec.cpu_request_milli;
	return milli;
}

/* ---- recovery ---- */

static int load_specs(struct xn_runtime *rt, xn_err *err)
{
	DIR *d = opendir(rt->spec_dir);
	struct dirent *de;

	if (d == NULL)
		return xn_error_errno(err, errno, "state directory %s", rt->spec_dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		cleanup_free char *path = NULL, *json = NULL;
		struct xn_pod_spec spec;
		xn_err perr = NULL;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		path = xn_xasprintf("%s/%s", rt->spec_dir, de->d_name);
		if (xn_read_file(path, 1 << 20, &json, NULL, &perr) < 0) {
			log_warnx("pod spec: %s; ignored", xn_error_msg(perr));
			xn_error_free(&perr);
			continue;
		}
		if (xn_pod_spec_from_json(json, &spec, &perr) < 0) {
			log_warnx("pod spec %s: %s; ignored", path, xn_error_msg(perr));
			xn_error_free(&perr);
			continue;
		}
		if (find_uid(rt, spec.uid) == NULL)
			new_pod(rt, &spec);
		xn_pod_spec_dispose(&spec);
	}
	closedir(d);
	return 0;
}

static void restore_record(struct pod *p, const struct xn_pod_record *r)
{
	p->st.restart_count = r->restart_count;
	p->st.started_at = r->started_at * 1000000000ull;
	if (r->last_exit >= 0) {
		p->st.has_last = true;
		p->st.last.exit_code = r->last_exit;
		snprintf(p->st.last.reason, sizeof(p->st.last.reason), "%s",
			 r->last_reason ? r->last_reason : "Error");
		p->st.last.finished_at = r->finished_at * 1000000000ull;
		snprintf(p->st.last.message, sizeof(p->st.last.message), "exit code %d",
			 r->last_exit);
	}
}

int xn_runtime_recover(struct xn_runtime *rt, xn_err *err)
{
	struct xn_domain_info *doms = NULL;
	size_t ndoms = 0;
	struct pod *p, *next;
	xn_err e2 = NULL;

	if (load_specs(rt, err) < 0)
		return -1;
	if (rt->hv->ops->list(rt->hv, &doms, &ndoms, err) < 0)
		return xn_error_wrap(err, "recover: list domains");

	for (p = TAILQ_FIRST(&rt->pods); p != NULL; p = next) {
		struct xn_pod_record rec;
		bool have_rec = false;
		struct xn_domain_info *dom = NULL;

		next = TAILQ_NEXT(p, entry);
		if (xn_store_pod_get(rt->store, p->spec.uid, &rec, &e2) == 0) {
			have_rec = true;
			restore_record(p, &rec);
		}
		xn_error_free(&e2);
		for (size_t i = 0; i < ndoms; i++)
			if (strcmp(doms[i].tag, p->spec.uid) == 0)
				dom = &doms[i];
		if (dom != NULL) {
			p->st.domid = dom->domid;
			if (rt->hv->ops->adopt(rt->hv, dom->domid, &e2) < 0) {
				log_warnx("pod %s/%s: adopt domain %u: %s", p->spec.ns,
					  p->spec.name, dom->domid, xn_error_msg(e2));
				xn_error_free(&e2);
			}
			if (dom->state == XN_DOM_SHUTDOWN || dom->state == XN_DOM_CRASHED) {
				struct xn_hv_event ev = {.type = XN_HV_EV_SHUTDOWN,
							 .domid = dom->domid,
							 .reason = dom->reason,
							 .exit_code = guest_exit_code(rt, dom)};
				log_info("pod %s/%s: domain %u exited while xenletd was down",
					 p->spec.ns, p->spec.name, dom->domid);
				p->st.state = XN_INST_RUNNING;
				xn_runtime_hv_event(rt->hv, &ev, rt);
			} else {
				p->st.state = XN_INST_RUNNING;
				if (p->st.started_at == 0)
					p->st.started_at = xn_now_real_ns();
				p->run_mono_ns = xn_now_mono_ns();
				open_console(p);
				watch_ready(p);
				log_info("pod %s/%s: adopted running domain %u", p->spec.ns,
					 p->spec.name, dom->domid);
				if (dom->state == XN_DOM_PAUSED && have_rec)
					log_info("pod %s/%s: domain %u is paused", p->spec.ns,
						 p->spec.name, dom->domid);
				save_record(p);
				notify(p);
			}
		} else if (have_rec && rec.domid != XN_DOMID_INVALID) {
			/* it ran when we stopped and is gone now */
			p->st.state = XN_INST_RUNNING;
			record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
			snprintf(p->st.last.message, sizeof(p->st.last.message),
				 "domain %u vanished while xenletd was down", rec.domid);
			note(p, "Warning", "Exited", "%s", p->st.last.message);
			instance_ended(p);
		} else if (p->st.has_last) {
			/* terminated before the restart: finished, or due a restart */
			bool restart =
			    p->spec.restart == XN_RESTART_ALWAYS ||
			    (p->spec.restart == XN_RESTART_ON_FAILURE && p->st.last.exit_code != 0);
			if (restart) {
				schedule_restart(p, "restarted after xenletd restart");
			} else {
				p->st.state = XN_INST_TERMINATED;
				p->st.finished = true;
				snprintf(p->st.reason, sizeof(p->st.reason), "%s",
					 p->st.last.reason);
				notify(p);
			}
		} else {
			start_instance(p); /* never got a domain */
		}
		if (have_rec)
			xn_pod_record_dispose(&rec);
	}
	/* domains of ours whose pod is gone: deleted while we were down */
	for (size_t i = 0; i < ndoms; i++) {
		if (doms[i].tag[0] == '\0' || find_uid(rt, doms[i].tag) != NULL)
			continue;
		log_info("domain %u (%s): its pod %s is gone; destroying", doms[i].domid,
			 doms[i].name, doms[i].tag);
		if (rt->hv->ops->destroy(rt->hv, doms[i].domid, NULL, NULL, &e2) < 0) {
			log_warnx("destroy domain %u: %s", doms[i].domid, xn_error_msg(e2));
			xn_error_free(&e2);
		}
		if (xn_store_pod_del(rt->store, doms[i].tag, &e2) < 0)
			xn_error_free(&e2);
	}
	free(doms);
	return 0;
}
