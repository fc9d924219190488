/* node_status.c - the Node's labels, resources, conditions and status as
 * JSON: pure functions, no I/O (node.c samples the host and sends them). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xenlet/node.h"
#include "xenlet/quantity.h"
#include "xenlet/util.h"

#define MIB (1LL << 20)

void xn_node_compute_resources(const struct xn_host_info *h, uint64_t ours_kb,
			       const struct xn_config *c, struct xn_node_resources *cap,
			       struct xn_node_resources *alloc)
{
	int64_t mem = (int64_t)(h->free_kb + ours_kb) * 1024 - c->reserved_memory;
	int64_t cpu = (int64_t)h->nr_cpus * 1000 - c->reserved_cpu_milli;

	cap->memory_bytes = (int64_t)h->total_kb * 1024;
	cap->cpu_milli = (int64_t)h->nr_cpus * 1000;
	cap->pods = c->max_pods;
	/* Free memory moves by pages all the time; whole MiB keep it still. */
	alloc->memory_bytes = mem > 0 ? mem / MIB * MIB : 0;
	if (alloc->memory_bytes > cap->memory_bytes)
		alloc->memory_bytes = cap->memory_bytes / MIB * MIB;
	alloc->cpu_milli = cpu > 0 ? cpu : 0;
	alloc->pods = c->max_pods;
}

const char *xn_cond_status_name(enum xn_cond_status s)
{
	switch (s) {
	case XN_COND_TRUE: return "True";
	case XN_COND_FALSE: return "False";
	default: return "Unknown";
	}
}

bool xn_node_condition_set(struct xn_node_condition *c, enum xn_cond_status st, const char *reason,
			   const char *message, time_t now)
{
	bool changed = c->transition == 0 || c->status != st;

	if (changed)
		c->transition = now;
	c->status = st;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	snprintf(c->message, sizeof(c->message), "%s", message);
	return changed;
}

void xn_node_conditions_init(struct xn_node_condition conds[XN_NODE_NCOND])
{
	static const char *types[XN_NODE_NCOND] = {
	    [XN_NODE_COND_READY] = "Ready",
	    [XN_NODE_COND_MEMORY] = "MemoryPressure",
	    [XN_NODE_COND_DISK] = "DiskPressure",
	    [XN_NODE_COND_PID] = "PIDPressure",
	    [XN_NODE_COND_NETWORK] = "NetworkUnavailable",
	};

	memset(conds, 0, sizeof(*conds) * XN_NODE_NCOND);
	for (int i = 0; i < XN_NODE_NCOND; i++) {
		conds[i].type = types[i];
		conds[i].status = XN_COND_UNKNOWN;
	}
}

bool xn_node_conditions_update(struct xn_node_condition conds[XN_NODE_NCOND],
			       const struct xn_node_sample *s, int64_t memory_pressure_free,
			       time_t now)
{
	bool changed = false;
	char msg[160];
	int64_t free_b = (int64_t)s->host.free_kb * 1024;

	changed |= xn_node_condition_set(&conds[XN_NODE_COND_READY], XN_COND_TRUE, "KubeletReady",
					 "xenlet is posting ready status", now);
	if (free_b < memory_pressure_free) {
		snprintf(msg, sizeof(msg),
			 "Xen free memory %" PRIu64 "Ki is below the threshold %" PRId64 "Ki",
			 s->host.free_kb, memory_pressure_free / 1024);
		changed |= xn_node_condition_set(&conds[XN_NODE_COND_MEMORY], XN_COND_TRUE,
						 "KubeletHasInsufficientMemory", msg, now);
	} else {
		changed |= xn_node_condition_set(&conds[XN_NODE_COND_MEMORY], XN_COND_FALSE,
						 "KubeletHasSufficientMemory",
						 "xenlet has sufficient memory available", now);
	}
	if (s->disk_free_pct < 0) {
		changed |= xn_node_condition_set(
		    &conds[XN_NODE_COND_DISK], XN_COND_UNKNOWN, "KubeletDiskStatusUnknown",
		    "xenlet cannot read the free space of its root dir", now);
	} else if (s->disk_free_pct < XN_NODE_DISK_PRESSURE_PCT) {
		snprintf(msg, sizeof(msg), "root dir has %d%% free, below %d%%", s->disk_free_pct,
			 XN_NODE_DISK_PRESSURE_PCT);
		changed |= xn_node_condition_set(&conds[XN_NODE_COND_DISK], XN_COND_TRUE,
						 "KubeletHasDiskPressure", msg, now);
	} else {
		changed |= xn_node_condition_set(&conds[XN_NODE_COND_DISK], XN_COND_FALSE,
						 "KubeletHasNoDiskPressure",
						 "xenlet has no disk pressure", now);
	}
	changed |= xn_node_condition_set(&conds[XN_NODE_COND_PID], XN_COND_FALSE,
					 "KubeletHasSufficientPID",
					 "xenlet has sufficient PID available", now);
	/* as the CNIs report it (flannel: False FlannelIsUp "Flannel is
	 * running on this node"); True keeps the node tainted
	 * network-unavailable until the bridge and forwarding are there */
	if (!s->net_checked)
		changed |=
		    xn_node_condition_set(&conds[XN_NODE_COND_NETWORK], XN_COND_FALSE,
					  "XenletNetworkReady", "xenlet wires pod networking", now);
	else if (s->net_up)
		changed |= xn_node_condition_set(&conds[XN_NODE_COND_NETWORK], XN_COND_FALSE,
						 "XenletIsUp", s->net_msg, now);
	else
		changed |= xn_node_condition_set(&conds[XN_NODE_COND_NETWORK], XN_COND_TRUE,
						 "XenletNetworkDown", s->net_msg, now);
	return changed;
}

void xn_node_conditions_adopt(struct xn_node_condition conds[XN_NODE_NCOND], const cJSON *node)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(node, "status"), "conditions");
	const cJSON *it;

	cJSON_ArrayForEach(it, list) {
		const char *type =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));
		const char *st =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "status"));
		const char *tt = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(it, "lastTransitionTime"));
		uint64_t ns;
		time_t t;

		if (type == NULL || st == NULL || tt == NULL ||
		    xn_rfc3339_parse(tt, strlen(tt), &ns) < 0)
			continue;
		t = (time_t)(ns / 1000000000ull);
		for (int i = 0; i < XN_NODE_NCOND; i++) {
			if (strcmp(conds[i].type, type) == 0 && conds[i].transition != 0 &&
			    strcmp(xn_cond_status_name(conds[i].status), st) == 0 &&
			    t < conds[i].transition)
				conds[i].transition = t;
		}
	}
}

void xn_node_kubelet_version(const char *xenlet_version, char *buf, size_t len)
{
	snprintf(buf, len, "%s-xenlet.%s", XN_NODE_K8S_VERSION, xenlet_version);
}

static void add_quantities(cJSON *obj, const struct xn_node_resources *r)
{
	char b[48];

	xn_quantity_format_milli(r->cpu_milli, b, sizeof(b));
	cJSON_AddStringToObject(obj, "cpu", b);
	xn_quantity_format_bytes(r->memory_bytes, b, sizeof(b));
	cJSON_AddStringToObject(obj, "memory", b);
	snprintf(b, sizeof(b), "%u", r->pods);
	cJSON_AddStringToObject(obj, "pods", b);
}

static void add_string_f(cJSON *obj, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_string_f(cJSON *obj, const char *key, const char *fmt, ...)
{
	char b[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(obj, key, b);
}

cJSON *xn_node_status_json(const struct xn_node_info *info, const struct xn_node_sample *s,
			   const struct xn_node_resources *cap,
			   const struct xn_node_resources *alloc,
			   const struct xn_node_condition conds[XN_NODE_NCOND],
			   const struct xn_config *c, time_t heartbeat)
{
	cJSON *st = cJSON_CreateObject();
	cJSON *list, *o, *ni;
	char b[48], kv[64];

	add_quantities(cJSON_AddObjectToObject(st, "capacity"), cap);
	add_quantities(cJSON_AddObjectToObject(st, "allocatable"), alloc);

	list = cJSON_AddArrayToObject(st, "conditions");
	for (int i = 0; i < XN_NODE_NCOND; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", conds[i].type);
		cJSON_AddStringToObject(o, "status", xn_cond_status_name(conds[i].status));
		cJSON_AddStringToObject(o, "reason", conds[i].reason);
		cJSON_AddStringToObject(o, "message", conds[i].message);
		if (heartbeat != 0) {
			xn_rfc3339((uint64_t)heartbeat * 1000000000ull, b);
			cJSON_AddStringToObject(o, "lastHeartbeatTime", b);
		}
		xn_rfc3339((uint64_t)conds[i].transition * 1000000000ull, b);
		cJSON_AddStringToObject(o, "lastTransitionTime", b);
		cJSON_AddItemToArray(list, o);
	}

	/* Addresses merge by type in a strategic patch: replace the list so a
	 * changed IP does not leave the old one behind. */
	list = cJSON_AddArrayToObject(st, "addresses");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "InternalIP");
	cJSON_AddStringToObject(o, "address", info->ip);
	cJSON_AddItemToArray(list, o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "Hostname");
	cJSON_AddStringToObject(o, "address", c->node_name);
	cJSON_AddItemToArray(list, o);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "$patch", "replace");
	cJSON_AddItemToArray(list, o);

	o = cJSON_AddObjectToObject(cJSON_AddObjectToObject(st, "daemonEndpoints"),
				    "kubeletEndpoint");
	cJSON_AddNumberToObject(o, "Port", c->kubelet_port);

	ni = cJSON_AddObjectToObject(st, "nodeInfo");
	cJSON_AddStringToObject(ni, "machineID", info->machine_id);
	cJSON_AddStringToObject(ni, "systemUUID", info->system_uuid);
	cJSON_AddStringToObject(ni, "bootID", info->boot_id);
	add_string_f(ni, "kernelVersion", "Xen %s", s->host.xen_version);
	add_string_f(ni, "osImage", "xenlet %s on Xen %s", XN_VERSION, s->host.xen_version);
	add_string_f(ni, "containerRuntimeVersion", "xen://%s", s->host.xen_version);
	xn_node_kubelet_version(XN_VERSION, kv, sizeof(kv));
	cJSON_AddStringToObject(ni, "kubeletVersion", kv);
	cJSON_AddStringToObject(ni, "operatingSystem", "linux");
	cJSON_AddStringToObject(ni, "architecture", s->host.arch);
	return st;
}

cJSON *xn_node_labels_json(const struct xn_node_info *info, const char *arch,
			   const struct xn_config *c)
{
	cJSON *l = cJSON_CreateObject();

	cJSON_AddStringToObject(l, "kubernetes.io/arch", arch);
	cJSON_AddStringToObject(l, "kubernetes.io/os", "linux");
	/* as the kubelet with --hostname-override: the node name */
	cJSON_AddStringToObject(l, "kubernetes.io/hostname", c->node_name);
	cJSON_AddStringToObject(l, "xenlet.io/runtime", "xen");
	for (size_t i = 0; i < c->nlabels; i++) {
		cJSON_DeleteItemFromObjectCaseSensitive(l, c->labels[i].key);
		cJSON_AddStringToObject(l, c->labels[i].key,
					c->labels[i].value ? c->labels[i].value : "");
	}
	return l;
}

cJSON *xn_node_object_json(const char *name, const struct xn_node_info *info, const char *arch,
			   const struct xn_config *c)
{
	cJSON *node = cJSON_CreateObject();
	cJSON *meta, *spec, *taints;

	cJSON_AddStringToObject(node, "apiVersion", "v1");
	cJSON_AddStringToObject(node, "kind", "Node");
	meta = cJSON_AddObjectToObject(node, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddItemToObject(meta, "labels", xn_node_labels_json(info, arch, c));
	spec = cJSON_AddObjectToObject(node, "spec");
	taints = cJSON_AddArrayToObject(spec, "taints");
	for (size_t i = 0; i < c->ntaints; i++) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "key", c->taints[i].key);
		if (c->taints[i].value != NULL && c->taints[i].value[0] != '\0')
			cJSON_AddStringToObject(t, "value", c->taints[i].value);
		cJSON_AddStringToObject(t, "effect", c->taints[i].effect);
		cJSON_AddItemToArray(taints, t);
	}
	return node;
}
