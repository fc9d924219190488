/* runtime_recover.c - after a daemon restart: reload the pod specs and the
 * store's records, adopt the domains of ours that still run, settle the
 * ones that ended or vanished while we were away, destroy domains of ours
 * whose pod is gone.  The state machine itself is runtime.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime_priv.h"
#include "xenlet/crilog.h"
#include "xenlet/log.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

static void add_spec(const struct xn_pod_spec *spec, void *arg)
{
	struct xn_runtime *rt = arg;

	if (xn_rt_find_uid(rt, spec->uid) == NULL)
		xn_rt_pod_new(rt, spec);
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

static void recover_with_domain(struct xn_runtime *rt, struct pod *p,
				const struct xn_domain_info *dom)
{
	xn_err err = NULL;

	if (rt->hv->ops->adopt(rt->hv, dom->domid, &err) < 0) {
		log_warnx("pod %s/%s: adopt domain %u: %s", p->spec.ns, p->spec.name, dom->domid,
			  xn_error_msg(err));
		xn_error_free(&err);
	}
	if (dom->state == XN_DOM_SHUTDOWN || dom->state == XN_DOM_CRASHED) {
		/* as if its SHUTDOWN event had just come */
		struct xn_hv_event ev = {.type = XN_HV_EV_SHUTDOWN,
					 .domid = dom->domid,
					 .reason = dom->reason,
					 .exit_code = guest_exit_code(rt, dom)};
		log_info("pod %s/%s: domain %u exited while xenletd was down", p->spec.ns,
			 p->spec.name, dom->domid);
		p->st.domid = dom->domid;
		xn_rt_transition(p, XN_POD_RUNNING, XN_RT_NO_TIMER, "", NULL);
		xn_runtime_hv_event(rt->hv, &ev, rt);
		return;
	}
	xn_rt_adopt(p, dom->domid, dom->state == XN_DOM_PAUSED);
}

static void recover_pod(struct xn_runtime *rt, struct pod *p, const struct xn_domain_info *doms,
			size_t ndoms)
{
	struct xn_pod_record rec;
	bool have_rec = false;
	xn_err err = NULL;

	if (xn_store_pod_get(rt->store, p->spec.uid, &rec, &err) == 0) {
		have_rec = true;
		restore_record(p, &rec);
	}
	xn_error_free(&err);
	for (size_t i = 0; i < ndoms; i++)
		if (strcmp(doms[i].tag, p->spec.uid) == 0) {
			recover_with_domain(rt, p, &doms[i]);
			goto out;
		}
	if (have_rec && rec.domid != XN_DOMID_INVALID) {
		/* it ran when we stopped and is gone now: killed, as the kubelet
		 * says of a container that vanished */
		xn_rt_transition(p, XN_POD_RUNNING, XN_RT_NO_TIMER, "", NULL);
		xn_rt_record_exit(p, XN_SHUTDOWN_DESTROYED, XN_EXIT_DESTROYED);
		snprintf(p->st.last.message, sizeof(p->st.last.message),
			 "domain %u vanished while xenletd was down", rec.domid);
		xn_rt_note(p, "Warning", "Exited", "%s", p->st.last.message);
		xn_rt_instance_over(p);
	} else if (p->st.has_last) {
		/* terminated before the restart: finished, or due a restart */
		xn_rt_decide(p, "restarted after xenletd restart");
	} else {
		xn_rt_start_instance(p); /* never got a domain */
	}
out:
	if (have_rec)
		xn_pod_record_dispose(&rec);
}

static bool pod_known(const char *uid, void *arg)
{
	return xn_rt_find_uid(arg, uid) != NULL;
}

int xn_runtime_recover(struct xn_runtime *rt, xn_err *err)
{
	struct xn_domain_info *doms = NULL;
	size_t ndoms = 0;
	struct pod *p, *next;
	xn_err e2 = NULL;
	size_t n;

	if (xn_pod_spec_load_dir(rt->spec_dir, add_spec, rt, err) < 0)
		return -1;
	if (rt->hv->ops->list(rt->hv, &doms, &ndoms, err) < 0)
		return xn_error_wrap(err, "recover: list domains");
	for (p = TAILQ_FIRST(&rt->pods); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		recover_pod(rt, p, doms, ndoms);
	}
	/* domains of ours whose pod is gone: deleted while we were down */
	for (size_t i = 0; i < ndoms; i++) {
		if (doms[i].tag[0] == '\0' || xn_rt_find_uid(rt, doms[i].tag) != NULL)
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
	/* addresses of pods we no longer have go back */
	if (rt->opts.ipam != NULL && (n = xn_ipam_sweep(rt->opts.ipam, pod_known, rt)) > 0)
		log_info("recover: released the addresses of %zu pods that are gone", n);
	/* log directories of pods we no longer have (deleted while we were
	 * down, or left by a lost record), as the kubelet's log GC removes */
	if (xn_crilog_sweep(rt->opts.log_dir, pod_known, rt, &e2) < 0) {
		log_warnx("recover: pod logs: %s", xn_error_msg(e2));
		xn_error_free(&e2);
	}
	return 0;
}
