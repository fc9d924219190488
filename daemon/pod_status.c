/* pod_status.c - runtime status -> pod status JSON (see pod_status.h). */
#include <stdio.h>
#include <string.h>

#include "xenlet/pod_status.h"
#include "xenlet/pod_translate.h"
#include "xenlet/util.h"

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The condition `type` of the pod object, or NULL. */
static const cJSON *old_condition(const cJSON *pod, const char *type)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(status, "conditions")) {
		const char *t = jstr(c, "type");
		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static void add_condition(cJSON *arr, const cJSON *pod, const char *type, bool status,
			  const char *reason, const char *now)
{
	const cJSON *old = old_condition(pod, type);
	const char *want = status ? "True" : "False";
	const char *old_status = jstr(old, "status"), *old_ltt = jstr(old, "lastTransitionTime");
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "status", want);
	cJSON_AddNullToObject(o, "lastProbeTime");
	/* the transition time stays while the status stays */
	cJSON_AddStringToObject(o, "lastTransitionTime",
				old_status && old_ltt && strcmp(old_status, want) == 0 ? old_ltt
										       : now);
	if (reason)
		cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddItemToArray(arr, o);
}

static cJSON *terminated_json(const struct xn_termination *t, const char *container_id)
{
	cJSON *o = cJSON_CreateObject();
	char ts[24];

	cJSON_AddNumberToObject(o, "exitCode", t->exit_code);
	cJSON_AddStringToObject(o, "reason", t->reason);
	if (t->message[0])
		cJSON_AddStringToObject(o, "message", t->message);
	if (t->started_at) {
		xn_rfc3339(t->started_at, ts);
		cJSON_AddStringToObject(o, "startedAt", ts);
	} else {
		cJSON_AddNullToObject(o, "startedAt");
	}
	xn_rfc3339(t->finished_at, ts);
	cJSON_AddStringToObject(o, "finishedAt", ts);
	if (container_id)
		cJSON_AddStringToObject(o, "containerID", container_id);
	return o;
}

static const char *phase_of(const struct xn_pod_status *st)
{
	if (st->finished)
		return st->last.exit_code == 0 ? "Succeeded" : "Failed";
	if (st->state == XN_INST_RUNNING || st->has_last || st->restart_count > 0)
		return "Running";
	return "Pending";
}

static void container_id(const struct xn_pod_spec *spec, unsigned instance, char out[96])
{
	snprintf(out, 96, "xen://%s/%u", spec->uid, instance);
}

static cJSON *container_status(const struct xn_pod_status_in *in)
{
	const struct xn_pod_spec *spec = in->spec;
	const struct xn_pod_status *st = in->st;
	bool running = st->state == XN_INST_RUNNING;
	cJSON *cs = cJSON_CreateObject(), *state;
	char cid[96], ts[24];

	cJSON_AddStringToObject(cs, "name", spec->container);
	cJSON_AddStringToObject(cs, "image", spec->image ? spec->image : spec->kernel);
	if (spec->image_id) {
		cJSON_AddStringToObject(cs, "imageID", spec->image_id);
	} else if (spec->kernel == NULL) {
		cJSON_AddStringToObject(cs, "imageID", ""); /* a registry image not pulled yet */
	} else {
		cleanup_free char *id = xn_xasprintf("file://%s", spec->kernel);
		cJSON_AddStringToObject(cs, "imageID", id);
	}
	container_id(spec, st->restart_count, cid);
	if (running || st->finished)
		cJSON_AddStringToObject(cs, "containerID", cid);
	cJSON_AddBoolToObject(cs, "ready", st->ready);
	cJSON_AddNumberToObject(cs, "restartCount", st->restart_count);
	cJSON_AddBoolToObject(cs, "started", running && !st->startup_pending);
	state = cJSON_AddObjectToObject(cs, "state");
	if (running) {
		cJSON *r = cJSON_AddObjectToObject(state, "running");
		xn_rfc3339(st->started_at ? st->started_at : in->now_ns, ts);
		cJSON_AddStringToObject(r, "startedAt", ts);
	} else if (st->finished) {
		cJSON_AddItemToObject(state, "terminated", terminated_json(&st->last, cid));
	} else {
		cJSON *w = cJSON_AddObjectToObject(state, "waiting");
		cJSON_AddStringToObject(w, "reason",
					st->reason[0] ? st->reason : "ContainerCreating");
		if (st->message[0])
			cJSON_AddStringToObject(w, "message", st->message);
	}
	if (st->has_last && !st->finished) {
		cJSON *l = cJSON_AddObjectToObject(cs, "lastState");
		char lcid[96];

		container_id(spec, st->restart_count ? st->restart_count - 1 : 0, lcid);
		cJSON_AddItemToObject(l, "terminated", terminated_json(&st->last, lcid));
	} else {
		cJSON_AddObjectToObject(cs, "lastState");
	}
	return cs;
}

cJSON *xn_pod_status_build(const struct xn_pod_status_in *in)
{
	const struct xn_pod_status *st = in->st;
	cJSON *s = cJSON_CreateObject(), *conds;
	const char *not_ready = st->ready ? NULL : "ContainersNotReady";
	char now[24];

	xn_rfc3339(in->now_ns, now);
	cJSON_AddStringToObject(s, "phase", phase_of(st));
	conds = cJSON_AddArrayToObject(s, "conditions");
	add_condition(conds, in->pod, "PodReadyToStartContainers", true, NULL, now);
	add_condition(conds, in->pod, "Initialized", true, NULL, now);
	add_condition(conds, in->pod, "Ready", st->ready, not_ready, now);
	add_condition(conds, in->pod, "ContainersReady", st->ready, not_ready, now);
	add_condition(conds, in->pod, "PodScheduled", true, NULL, now);
	if (in->host_ip) {
		cJSON *ips = cJSON_AddArrayToObject(s, "hostIPs"), *ip = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "hostIP", in->host_ip);
		cJSON_AddStringToObject(ip, "ip", in->host_ip);
		cJSON_AddItemToArray(ips, ip);
	}
	xn_net_status_ips(s, in->st->ip, in->st->ip6);
	if (in->start_time && in->start_time[0])
		cJSON_AddStringToObject(s, "startTime", in->start_time);
	cJSON_AddStringToObject(s, "qosClass", xn_pod_qos_class(in->pod));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(s, "containerStatuses"), container_status(in));
	return s;
}

cJSON *xn_pod_status_rejected(const char *reason, const char *message, const char *host_ip,
			      const char *start_time)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "phase", "Failed");
	cJSON_AddStringToObject(s, "reason", reason);
	cJSON_AddStringToObject(s, "message", message);
	if (host_ip)
		cJSON_AddStringToObject(s, "hostIP", host_ip);
	if (start_time && start_time[0])
		cJSON_AddStringToObject(s, "startTime", start_time);
	return s;
}

cJSON *xn_pod_status_json(const struct xn_pod_spec *spec, const struct xn_pod_status *st,
			  const cJSON *pod, const char *host_ip, const char *start_time)
{
	struct xn_pod_status_in in = {
	    .spec = spec,
	    .st = st,
	    .pod = pod,
	    .host_ip = host_ip,
	    .start_time = start_time,
	    .now_ns = xn_now_real_ns(),
	};

	return xn_pod_status_build(&in);
}
