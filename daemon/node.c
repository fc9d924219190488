/* node.c - register the Node, push its status, watch it (see node.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/event.h>

#include "xenlet/kube.h"
#include "xenlet/log.h"
#include "xenlet/node.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

struct xn_node {
	struct event_base *base;
	struct xn_kube *kube;
	struct xn_hv *hv;
	struct xn_runtime *rt;
	const struct xn_config *cfg;
	char *name;
	char *nodes_path;  /* /api/v1/nodes/<name> */
	char *status_path; /* .../status */
	char *lease_path;  /* .../leases/<name> */
	struct xn_node_info info;

	bool started, registered, pushed;
	char *uid, *pod_cidr, *taints; /* taints: JSON text, to notice changes */

	struct xn_node_sample sample;
	bool host_warned;
	struct xn_node_resources cap, alloc;
	struct xn_node_condition conds[XN_NODE_NCOND];
	char *last_pushed;     /* status without heartbeat, as last accepted */
	char *sending;	       /* the same for the patch in flight */
	uint64_t last_push_ns; /* monotonic */
	bool push_again;       /* dirty while a patch was in flight */

	struct xn_kube_req *reg_req, *status_req, *lease_req;
	struct event *reg_ev, *sample_ev, *push_ev, *lease_ev;
	unsigned reg_backoff, status_backoff, lease_backoff;
	struct xn_informer *inf;

	xn_node_change_fn change_fn;
	void *change_arg;
	xn_node_net_fn net_fn; /* the pod network's state (NetworkUnavailable) */
	void *net_arg;
	struct xn_node_stats stats;
};

static void node_register(struct xn_node *n);
static void push_status(struct xn_node *n);
static void lease_renew(struct xn_node *n);

/* ---- helpers ---- */

static void arm(struct event *ev, unsigned ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

/* The next delay of a back-off series that starts at 0 (healthy). */
static unsigned backoff_next(unsigned *b)
{
	*b = *b == 0 ? XN_NODE_BACKOFF_MIN_MS : *b * 2;
	if (*b > XN_NODE_BACKOFF_MAX_MS)
		*b = XN_NODE_BACKOFF_MAX_MS;
	return *b;
}

static void read_id(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t l;

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	l = strlen(buf);
	while (l > 0 && isspace((unsigned char)buf[l - 1]))
		buf[--l] = '\0';
}

static void first_ipv4(char *buf, size_t len)
{
	struct ifaddrs *ifa = NULL, *i;

	snprintf(buf, len, "127.0.0.1");
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, buf,
			  (socklen_t)len);
		break;
	}
	freeifaddrs(ifa);
}

static void notify(struct xn_node *n)
{
	if (n->change_fn != NULL)
		n->change_fn(n, n->change_arg);
}

/* Ask the hypervisor and the runtime; keep the previous host numbers when
 * the hypervisor does not answer. */
static void sample_host(struct xn_node *n)
{
	struct xn_host_info h;
	struct statvfs vfs;
	xn_err err = NULL;
	unsigned pods = 0, vcpus = 0;
	uint64_t kb = 0;

	memset(&h, 0, sizeof(h));
	if (n->hv->ops->host_info(n->hv, &h, &err) == 0) {
		n->sample.host = h;
		n->host_warned = false;
	} else if (!n->host_warned) {
		log_warnx("node %s: host info: %s", n->name, xn_error_msg(err));
		n->host_warned = true;
	}
	xn_error_free(&err);
	if (n->rt != NULL)
		xn_runtime_usage(n->rt, &pods, &kb, &vcpus);
	n->sample.ours_kb = kb;
	if (statvfs(n->cfg->root_dir ? n->cfg->root_dir : "/", &vfs) == 0 && vfs.f_blocks > 0)
		n->sample.disk_free_pct = (int)(vfs.f_bavail * 100 / vfs.f_blocks);
	else
		n->sample.disk_free_pct = -1;
	xn_node_compute_resources(&n->sample.host, kb, n->cfg, &n->cap, &n->alloc);
	if (n->net_fn != NULL)
		n->net_fn(&n->sample, n->net_arg);
}

static void update_conditions(struct xn_node *n, time_t now)
{
	struct xn_node_condition before[XN_NODE_NCOND];

	memcpy(before, n->conds, sizeof(before));
	if (!xn_node_conditions_update(n->conds, &n->sample, n->cfg->memory_pressure_free, now))
		return;
	for (int i = 0; i < XN_NODE_NCOND; i++)
		if (before[i].transition != n->conds[i].transition)
			log_info("node %s: %s %s -> %s (%s)", n->name, n->conds[i].type,
				 xn_cond_status_name(before[i].status),
				 xn_cond_status_name(n->conds[i].status), n->conds[i].reason);
}

static char *status_text(struct xn_node *n, time_t heartbeat)
{
	cJSON *st = xn_node_status_json(&n->info, &n->sample, &n->cap, &n->alloc, n->conds, n->cfg,
					heartbeat);
	char *s = cJSON_PrintUnformatted(st);

	cJSON_Delete(st);
	return s;
}

/* ---- the Node seen through the informer ---- */

/* spec.podCIDRs joined with "," (dual-stack), else spec.podCIDR; NULL when
 * the Node has none yet. */
static char *pod_cidrs(const cJSON *spec)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(spec, "podCIDRs"), *it;
	const char *one = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "podCIDR"));
	char *out = NULL;

	if (!cJSON_IsArray(arr))
		arr = NULL;
	cJSON_ArrayForEach(it, arr) {
		char *next;

		if (!cJSON_IsString(it))
			continue;
		next =
		    out ? xn_xasprintf("%s,%s", out, it->valuestring) : xn_xstrdup(it->valuestring);
		free(out);
		out = next;
	}
	return out ? out : xn_dup_or_null(one);
}

static void node_seen(const cJSON *obj, void *arg)
{
	struct xn_node *n = arg;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "uid"));
	cleanup_free char *cidr = pod_cidrs(spec);
	char *taints = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(spec, "taints"));
	bool changed = false;

	if (uid != NULL && (n->uid == NULL || strcmp(uid, n->uid) != 0)) {
		free(n->uid);
		n->uid = xn_xstrdup(uid);
	}
	if (cidr != NULL && (n->pod_cidr == NULL || strcmp(cidr, n->pod_cidr) != 0)) {
		log_info("node %s: podCIDR %s", n->name, cidr);
		free(n->pod_cidr);
		n->pod_cidr = xn_xstrdup(cidr);
		changed = true;
	}
	if (taints == NULL)
		taints = xn_xstrdup("null");
	if (n->taints == NULL || strcmp(taints, n->taints) != 0) {
		if (n->taints != NULL) {
			log_info("node %s: taints now %s", n->name, taints);
			changed = true;
		}
		free(n->taints);
		n->taints = taints;
	} else {
		free(taints);
	}
	if (changed)
		notify(n);
}

static void node_updated(const cJSON *old, const cJSON *obj, void *arg)
{
	node_seen(obj, arg);
}

/* Forget the registration and start again: the Node is gone. */
static void reregister(struct xn_node *n, const char *why)
{
	if (!n->registered)
		return;
	log_warnx("node %s: %s; registering again", n->name, why);
	n->registered = false;
	n->pushed = false;
	free(n->uid);
	n->uid = NULL;
	xn_kube_cancel(n->status_req);
	n->status_req = NULL;
	free(n->sending);
	n->sending = NULL;
	xn_kube_cancel(n->lease_req);
	n->lease_req = NULL;
	evtimer_del(n->push_ev);
	evtimer_del(n->lease_ev);
	free(n->last_pushed);
	n->last_pushed = NULL;
	arm(n->reg_ev, 0);
}

static void node_deleted(const cJSON *obj, void *arg)
{
	reregister(arg, "the Node object was deleted");
}

static const struct xn_informer_ops node_inf_ops = {
    .add = node_seen,
    .update = node_updated,
    .del = node_deleted,
};

/* ---- registration ---- */

static void registered(struct xn_node *n, const cJSON *obj, bool adopted)
{
	n->registered = true;
	n->reg_backoff = 0;
	n->stats.registrations++;
	if (adopted)
		n->stats.adopted++;
	node_seen(obj, n);
	log_info("node %s: %s (uid %s)", n->name,
		 adopted ? "adopted the existing Node" : "registered", n->uid ? n->uid : "?");
	if (n->inf == NULL) {
		char *sel = xn_kube_escape(n->name);
		char *q = xn_xasprintf("fieldSelector=metadata.name%%3D%s", sel);

		n->inf = xn_informer_new(n->kube, "/api/v1/nodes", q, &node_inf_ops, n);
		free(q);
		free(sel);
	}
	arm(n->push_ev, 0);
	arm(n->lease_ev, 0);
	notify(n);
}

static void reg_retry(struct xn_node *n, const char *what, const struct xn_kube_response *r)
{
	unsigned ms = backoff_next(&n->reg_backoff);

	n->stats.failures++;
	log_warnx("node %s: %s: %s (retry in %u ms)", n->name, what,
		  r->message ? r->message : "unexpected answer", ms);
	arm(n->reg_ev, ms);
}

static void adopt_patched(struct xn_kube_response *r, void *arg)
{
	struct xn_node *n = arg;

	n->reg_req = NULL;
	if (r->status != 200 || r->json == NULL)
		return reg_retry(n, "label the existing Node", r);
	registered(n, r->json, true);
}

/* The Node exists: keep its taints (NodeRestriction forbids a node to
 * change them), set our labels, keep its condition transition times. */
static void adopt_got(struct xn_kube_response *r, void *arg)
{
	struct xn_node *n = arg;
	const cJSON *meta, *have, *it;
	cJSON *want, *patch;
	bool same = true;
	xn_err err = NULL;

	n->reg_req = NULL;
	if (r->status == 404) { /* deleted in between: create it */
		arm(n->reg_ev, 0);
		return;
	}
	if (r->status != 200 || r->json == NULL)
		return reg_retry(n, "get the existing Node", r);

	xn_node_conditions_adopt(n->conds, r->json);
	for (size_t i = 0; i < n->cfg->ntaints; i++) {
		const struct xn_taint *t = &n->cfg->taints[i];
		bool found = false;

		cJSON_ArrayForEach(
		    it, cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(r->json, "spec"), "taints")) {
			const char *k =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "key"));
			const char *e =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "effect"));

			if (k && e && strcmp(k, t->key) == 0 && strcmp(e, t->effect) == 0)
				found = true;
		}
		if (!found)
			log_warnx("node %s: existing Node lacks taint %s:%s; a node may not add "
				  "taints to itself (kubectl taint, or delete the Node)",
				  n->name, t->key, t->effect);
	}

	meta = cJSON_GetObjectItemCaseSensitive(r->json, "metadata");
	have = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	want = xn_node_labels_json(&n->info, n->sample.host.arch, n->cfg);
	cJSON_ArrayForEach(it, want) {
		const char *v =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(have, it->string));

		if (v == NULL || strcmp(v, it->valuestring) != 0)
			same = false;
	}
	if (same) {
		cJSON_Delete(want);
		registered(n, r->json, true);
		return;
	}
	patch = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(patch, "metadata"), "labels", want);
	n->reg_req = xn_kube_request(n->kube, XN_KUBE_PATCH_MERGE, n->nodes_path, patch, 0,
				     adopt_patched, n, &err);
	cJSON_Delete(patch);
	if (n->reg_req == NULL) {
		log_warnx("node %s: label the existing Node: %s", n->name, xn_error_msg(err));
		xn_error_free(&err);
		arm(n->reg_ev, backoff_next(&n->reg_backoff));
	}
}

static void reg_posted(struct xn_kube_response *r, void *arg)
{
	struct xn_node *n = arg;
	xn_err err = NULL;

	n->reg_req = NULL;
	if ((r->status == 201 || r->status == 200) && r->json != NULL) {
		registered(n, r->json, false);
		return;
	}
	if (r->status != 409)
		return reg_retry(n, "register", r);
	n->reg_req =
	    xn_kube_request(n->kube, XN_KUBE_GET, n->nodes_path, NULL, 0, adopt_got, n, &err);
	if (n->reg_req == NULL) {
		log_warnx("node %s: get the existing Node: %s", n->name, xn_error_msg(err));
		xn_error_free(&err);
		arm(n->reg_ev, backoff_next(&n->reg_backoff));
	}
}

static void node_register(struct xn_node *n)
{
	cJSON *obj;
	xn_err err = NULL;

	if (n->registered || n->reg_req != NULL)
		return;
	obj = xn_node_object_json(n->name, &n->info, n->sample.host.arch, n->cfg);
	n->reg_req =
	    xn_kube_request(n->kube, XN_KUBE_POST, "/api/v1/nodes", obj, 0, reg_posted, n, &err);
	cJSON_Delete(obj);
	if (n->reg_req == NULL) {
		log_warnx("node %s: register: %s", n->name, xn_error_msg(err));
		xn_error_free(&err);
		arm(n->reg_ev, backoff_next(&n->reg_backoff));
	}
}

static void reg_timer(evutil_socket_t fd, short what, void *arg)
{
	node_register(arg);
}

/* ---- status ---- */

static void status_done(struct xn_kube_response *r, void *arg)
{
	struct xn_node *n = arg;
	char *sent = n->sending;

	n->sending = NULL;
	n->status_req = NULL;
	if (r->status == 404) {
		free(sent);
		reregister(n, "status update: the Node is gone");
		return;
	}
	if (r->status != 200) {
		unsigned ms = backoff_next(&n->status_backoff);

		free(sent);
		n->stats.failures++;
		if (ms == XN_NODE_BACKOFF_MIN_MS)
			log_warnx("node %s: status update: %s (retrying)", n->name,
				  r->message ? r->message : "unexpected answer");
		arm(n->push_ev, ms);
		return;
	}
	if (n->status_backoff != 0)
		log_info("node %s: status update works again", n->name);
	n->status_backoff = 0;
	n->stats.status_pushes++;
	if (!n->pushed)
		log_info("node %s: status pushed, node is ready", n->name);
	n->pushed = true;
	free(n->last_pushed);
	n->last_pushed = sent;
	n->last_push_ns = xn_now_mono_ns();
	if (n->push_again) {
		n->push_again = false;
		arm(n->push_ev, XN_NODE_COALESCE_MS);
	}
}

static void push_status(struct xn_node *n)
{
	time_t now = time(NULL);
	cJSON *patch;
	xn_err err = NULL;

	if (!n->registered)
		return;
	if (n->status_req != NULL) {
		n->push_again = true;
		return;
	}
	sample_host(n);
	update_conditions(n, now);
	patch = cJSON_CreateObject();
	cJSON_AddItemToObject(
	    patch, "status",
	    xn_node_status_json(&n->info, &n->sample, &n->cap, &n->alloc, n->conds, n->cfg, now));
	n->sending = status_text(n, 0);
	n->status_req = xn_kube_request(n->kube, XN_KUBE_PATCH_STRATEGIC, n->status_path, patch, 0,
					status_done, n, &err);
	cJSON_Delete(patch);
	if (n->status_req == NULL) {
		log_warnx("node %s: status update: %s", n->name, xn_error_msg(err));
		xn_error_free(&err);
		free(n->sending);
		n->sending = NULL;
		arm(n->push_ev, backoff_next(&n->status_backoff));
	}
}

static void push_timer(evutil_socket_t fd, short what, void *arg)
{
	push_status(arg);
}

/* Push when the status differs from the last one accepted, or is due. */
static void sample_timer(evutil_socket_t fd, short what, void *arg)
{
	struct xn_node *n = arg;
	uint64_t due = (uint64_t)n->cfg->node_status_update_s * 1000000000u;
	char *now_text;

	if (!n->registered || n->status_req != NULL || evtimer_pending(n->push_ev, NULL))
		return;
	sample_host(n);
	update_conditions(n, time(NULL));
	now_text = status_text(n, 0);
	if (n->last_pushed == NULL || strcmp(now_text, n->last_pushed) != 0 ||
	    xn_now_mono_ns() - n->last_push_ns >= due)
		arm(n->push_ev, 0);
	free(now_text);
}

/* ---- lease ---- */

static void lease_next(struct xn_node *n, bool ok, const struct xn_kube_response *r)
{
	unsigned ms;

	if (ok) {
		if (n->lease_backoff != 0)
			log_info("node %s: lease renewed again", n->name);
		n->lease_backoff = 0;
		n->stats.lease_renewals++;
		/* A quarter of the duration, as the kubelet; never a busy loop. */
		ms = n->cfg->lease_duration_s * 1000 / 4;
		if (ms < 1000)
			ms = 1000;
	} else {
		ms = backoff_next(&n->lease_backoff);
		n->stats.failures++;
		if (ms == XN_NODE_BACKOFF_MIN_MS)
			log_warnx("node %s: lease: %s (retrying)", n->name,
				  r && r->message ? r->message : "request failed");
		else
			log_debug("node %s: lease: %s (retry in %u ms)", n->name,
				  r && r->message ? r->message : "request failed", ms);
	}
	arm(n->lease_ev, ms);
}

static cJSON *lease_body(struct xn_node *n, bool full)
{
	cJSON *l = cJSON_CreateObject();
	cJSON *meta, *spec, *refs, *ref;
	char t[40];

	if (full) {
		cJSON_AddStringToObject(l, "apiVersion", "coordination.k8s.io/v1");
		cJSON_AddStringToObject(l, "kind", "Lease");
	}
	meta = cJSON_AddObjectToObject(l, "metadata");
	if (full) {
		cJSON_AddStringToObject(meta, "name", n->name);
		cJSON_AddStringToObject(meta, "namespace", "kube-node-lease");
	}
	if (n->uid != NULL) {
		refs = cJSON_AddArrayToObject(meta, "ownerReferences");
		ref = cJSON_CreateObject();
		cJSON_AddStringToObject(ref, "apiVersion", "v1");
		cJSON_AddStringToObject(ref, "kind", "Node");
		cJSON_AddStringToObject(ref, "name", n->name);
		cJSON_AddStringToObject(ref, "uid", n->uid);
		cJSON_AddItemToArray(refs, ref);
	}
	spec = cJSON_AddObjectToObject(l, "spec");
	cJSON_AddStringToObject(spec, "holderIdentity", n->name);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", n->cfg->lease_duration_s);
	xn_rfc3339_fmt(xn_now_real_ns(), 6, t); /* metav1.MicroTime */
	cJSON_AddStringToObject(spec, "renewTime", t);
	return l;
}

static void lease_created(struct xn_kube_response *r, void *arg)
{
	struct xn_node *n = arg;

	n->lease_req = NULL;
	if (r->status == 409) { /* someone created it meanwhile: renew it */
		arm(n->lease_ev, 0);
		return;
	}
	if (r->status == 201 || r->status == 200)
		log_info("node %s: lease created", n->name);
	lease_next(n, r->status == 201 || r->status == 200, r);
}

static void lease_patched(struct xn_kube_response *r, void *arg)
{
	struct xn_node *n = arg;
	cJSON *body;
	xn_err err = NULL;

	n->lease_req = NULL;
	if (r->status != 404)
		return lease_next(n, r->status == 200, r);
	body = lease_body(n, true);
	n->lease_req = xn_kube_request(
	    n->kube, XN_KUBE_POST, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
	    body, 0, lease_created, n, &err);
	cJSON_Delete(body);
	if (n->lease_req == NULL) {
		xn_error_free(&err);
		lease_next(n, false, NULL);
	}
}

static void lease_renew(struct xn_node *n)
{
	cJSON *body;
	xn_err err = NULL;

	if (!n->registered || n->lease_req != NULL)
		return;
	body = lease_body(n, false);
	n->lease_req = xn_kube_request(n->kube, XN_KUBE_PATCH_MERGE, n->lease_path, body, 0,
				       lease_patched, n, &err);
	cJSON_Delete(body);
	if (n->lease_req == NULL) {
		xn_error_free(&err);
		lease_next(n, false, NULL);
	}
}

static void lease_timer(evutil_socket_t fd, short what, void *arg)
{
	lease_renew(arg);
}

/* ---- public ---- */

struct xn_node *xn_node_new(struct event_base *base, struct xn_kube *kube, struct xn_hv *hv,
			    struct xn_runtime *rt, const struct xn_config *cfg, xn_err *err)
{
	struct xn_node *n = NULL;
	struct xn_host_info h;
	char *p;
	struct timeval tv;

	memset(&h, 0, sizeof(h));
	if (hv->ops->host_info == NULL) {
		xn_error(err, ENOSYS, "node: backend %s cannot describe the host", hv->ops->name);
		return NULL;
	}
	if (hv->ops->host_info(hv, &h, err) < 0) {
		xn_error_wrap(err, "node: host info");
		return NULL;
	}
	n = xn_xcalloc(1, sizeof(*n));
	n->base = base;
	n->kube = kube;
	n->hv = hv;
	n->rt = rt;
	n->cfg = cfg;
	n->sample.host = h;

	snprintf(n->info.hostname, sizeof(n->info.hostname), "%s", h.hostname);
	for (p = n->info.hostname; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n->name = xn_xstrdup(cfg->node_name ? cfg->node_name : n->info.hostname);
	if (!xn_dns_subdomain(n->name)) {
		xn_error(err, EINVAL, "node name \"%s\": not a lowercase DNS subdomain", n->name);
		xn_node_free(n);
		return NULL;
	}
	/* The hostname label is a label value: at most 63 characters. */
	if (n->info.hostname[0] == '\0' || strlen(h.hostname) > 63)
		snprintf(n->info.hostname, sizeof(n->info.hostname), "%.63s", n->name);
	if (cfg->node_ip != NULL)
		snprintf(n->info.ip, sizeof(n->info.ip), "%s", cfg->node_ip);
	else
		first_ipv4(n->info.ip, sizeof(n->info.ip));
	read_id("/etc/machine-id", n->info.machine_id, sizeof(n->info.machine_id));
	read_id("/sys/class/dmi/id/product_uuid", n->info.system_uuid, sizeof(n->info.system_uuid));
	read_id("/proc/sys/kernel/random/boot_id", n->info.boot_id, sizeof(n->info.boot_id));

	n->nodes_path = xn_xasprintf("/api/v1/nodes/%s", n->name);
	n->status_path = xn_xasprintf("/api/v1/nodes/%s/status", n->name);
	n->lease_path = xn_xasprintf(
	    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", n->name);

	n->reg_ev = evtimer_new(base, reg_timer, n);
	n->push_ev = evtimer_new(base, push_timer, n);
	n->lease_ev = evtimer_new(base, lease_timer, n);
	n->sample_ev = event_new(base, -1, EV_PERSIST, sample_timer, n);
	tv.tv_sec = XN_NODE_SAMPLE_S;
	tv.tv_usec = 0;
	if (n->cfg->node_status_update_s > 0 && n->cfg->node_status_update_s < XN_NODE_SAMPLE_S)
		tv.tv_sec = n->cfg->node_status_update_s;
	if (!n->reg_ev || !n->push_ev || !n->lease_ev || !n->sample_ev) {
		xn_error(err, ENOMEM, "node: timers");
		xn_node_free(n);
		return NULL;
	}
	evtimer_add(n->sample_ev, &tv);

	xn_node_conditions_init(n->conds);
	sample_host(n);
	xn_node_conditions_update(n->conds, &n->sample, cfg->memory_pressure_free, time(NULL));
	return n;
}

int xn_node_start(struct xn_node *n, xn_err *err)
{
	if (n->started)
		return xn_error(err, EALREADY, "node %s: already started", n->name);
	n->started = true;
	log_info("node %s: registering (InternalIP %s, %u CPUs, %" PRIu64 "Ki, Xen %s)", n->name,
		 n->info.ip, n->sample.host.nr_cpus, n->sample.host.total_kb,
		 n->sample.host.xen_version);
	arm(n->reg_ev, 0);
	return 0;
}

void xn_node_free(struct xn_node *n)
{
	if (n == NULL)
		return;
	xn_informer_free(n->inf);
	xn_kube_cancel(n->reg_req);
	xn_kube_cancel(n->status_req);
	free(n->sending);
	xn_kube_cancel(n->lease_req);
	if (n->reg_ev)
		event_free(n->reg_ev);
	if (n->push_ev)
		event_free(n->push_ev);
	if (n->lease_ev)
		event_free(n->lease_ev);
	if (n->sample_ev)
		event_free(n->sample_ev);
	free(n->name);
	free(n->nodes_path);
	free(n->status_path);
	free(n->lease_path);
	free(n->uid);
	free(n->pod_cidr);
	free(n->taints);
	free(n->last_pushed);
	free(n);
}

void xn_node_set_net_cb(struct xn_node *n, xn_node_net_fn fn, void *arg)
{
	n->net_fn = fn;
	n->net_arg = arg;
}

void xn_node_set_change_cb(struct xn_node *n, xn_node_change_fn fn, void *arg)
{
	n->change_fn = fn;
	n->change_arg = arg;
}

void xn_node_allocatable(struct xn_node *n, struct xn_node_resources *out)
{
	*out = n->alloc;
}

void xn_node_status_dirty(struct xn_node *n)
{
	if (!n->registered)
		return;
	if (n->status_req != NULL) {
		n->push_again = true;
		return;
	}
	if (!evtimer_pending(n->push_ev, NULL))
		arm(n->push_ev, XN_NODE_COALESCE_MS);
}

bool xn_node_ready(struct xn_node *n)
{
	return n->registered && n->pushed;
}

const char *xn_node_name(struct xn_node *n)
{
	return n->name;
}

const char *xn_node_ip(struct xn_node *n)
{
	return n->info.ip;
}

const char *xn_node_pod_cidr(struct xn_node *n)
{
	return n->pod_cidr;
}

const char *xn_node_uid(struct xn_node *n)
{
	return n->uid;
}

void xn_node_get_stats(struct xn_node *n, struct xn_node_stats *st)
{
	*st = n->stats;
}
