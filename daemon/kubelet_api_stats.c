/* kubelet_api_stats.c - /stats/summary, /metrics/resource and /metrics.
 *
 * CPU and memory come from the hypervisor: a pod is one domain, so the pod,
 * its one container and the domain share numbers.  Memory is the domain's
 * allocation (a VM's working set is all it was given).  The node's CPU time
 * is the sum over every domain Xen lists, Dom0 excluded; its memory is Xen's
 * total minus free.  usageNanoCores is the rate between the sample taken
 * every XN_KAPI_SAMPLE_S seconds and now, as cAdvisor's housekeeping does.
 * Disk: the node's fs is the filesystem of the CRI log dir, a container's
 * logs are the files of its log directory (crilog_retain.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "kubelet_api_priv.h"
#include "xenlet/crilog.h"
#include "xenlet/hv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

/* ---- pure pieces ---- */

static cJSON *cpu_json(uint64_t now, uint64_t cpu_ns, int64_t nano_cores)
{
	cJSON *c = cJSON_CreateObject();
	char t[40];

	xn_rfc3339(now, t);
	cJSON_AddStringToObject(c, "time", t);
	if (nano_cores >= 0)
		cJSON_AddNumberToObject(c, "usageNanoCores", (double)nano_cores);
	cJSON_AddNumberToObject(c, "usageCoreNanoSeconds", (double)cpu_ns);
	return c;
}

static cJSON *mem_json(uint64_t now, uint64_t used, int64_t available)
{
	cJSON *m = cJSON_CreateObject();
	char t[40];

	xn_rfc3339(now, t);
	cJSON_AddStringToObject(m, "time", t);
	if (available >= 0)
		cJSON_AddNumberToObject(m, "availableBytes", (double)available);
	cJSON_AddNumberToObject(m, "usageBytes", (double)used);
	cJSON_AddNumberToObject(m, "workingSetBytes", (double)used);
	cJSON_AddNumberToObject(m, "rssBytes", (double)used);
	cJSON_AddNumberToObject(m, "pageFaults", 0);
	cJSON_AddNumberToObject(m, "majorPageFaults", 0);
	return m;
}

/* FsStats of the Summary API. */
static cJSON *fs_json(uint64_t now, const struct xn_crilog_space *s)
{
	cJSON *f = cJSON_CreateObject();
	char t[40];

	xn_rfc3339(now, t);
	cJSON_AddStringToObject(f, "time", t);
	cJSON_AddNumberToObject(f, "availableBytes", (double)s->available_bytes);
	cJSON_AddNumberToObject(f, "capacityBytes", (double)s->capacity_bytes);
	cJSON_AddNumberToObject(f, "usedBytes", (double)s->used_bytes);
	cJSON_AddNumberToObject(f, "inodesFree", (double)s->inodes_free);
	cJSON_AddNumberToObject(f, "inodes", (double)s->inodes);
	cJSON_AddNumberToObject(f, "inodesUsed", (double)s->inodes_used);
	return f;
}

cJSON *xn_stats_summary_json(const struct xn_stats_node *n, const struct xn_stats_pod *pods,
			     size_t npods)
{
	cJSON *root = cJSON_CreateObject(), *node, *arr;
	uint64_t used = n->total_bytes > n->free_bytes ? n->total_bytes - n->free_bytes : 0;
	char t[40];

	node = cJSON_AddObjectToObject(root, "node");
	cJSON_AddStringToObject(node, "nodeName", n->name);
	cJSON_AddArrayToObject(node, "systemContainers");
	xn_rfc3339(n->start_ns, t);
	cJSON_AddStringToObject(node, "startTime", t);
	cJSON_AddItemToObject(node, "cpu", cpu_json(n->now_ns, n->cpu_ns, n->nano_cores));
	cJSON_AddItemToObject(node, "memory", mem_json(n->now_ns, used, (int64_t)n->free_bytes));
	if (n->has_fs)
		cJSON_AddItemToObject(node, "fs", fs_json(n->now_ns, &n->fs));
	arr = cJSON_AddArrayToObject(root, "pods");
	for (size_t i = 0; i < npods; i++) {
		const struct xn_stats_pod *p = &pods[i];
		cJSON *o = cJSON_CreateObject(), *ref, *c;

		ref = cJSON_AddObjectToObject(o, "podRef");
		cJSON_AddStringToObject(ref, "name", p->name);
		cJSON_AddStringToObject(ref, "namespace", p->ns);
		cJSON_AddStringToObject(ref, "uid", p->uid);
		xn_rfc3339(p->start_ns, t);
		cJSON_AddStringToObject(o, "startTime", t);
		c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", p->container);
		cJSON_AddStringToObject(c, "startTime", t);
		cJSON_AddItemToObject(c, "cpu", cpu_json(n->now_ns, p->cpu_ns, p->nano_cores));
		cJSON_AddItemToObject(c, "memory", mem_json(n->now_ns, p->memory_bytes, 0));
		if (p->has_logs)
			cJSON_AddItemToObject(c, "logs", fs_json(n->now_ns, &p->logs));
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "containers"), c);
		cJSON_AddItemToObject(o, "cpu", cpu_json(n->now_ns, p->cpu_ns, p->nano_cores));
		cJSON_AddItemToObject(o, "memory", mem_json(n->now_ns, p->memory_bytes, 0));
		cJSON_AddItemToArray(arr, o);
	}
	return root;
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s [STABLE] %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *out, const char *name, const char *labels, double v, uint64_t ms)
{
	char val[64];

	xn_prom_value(v, val, sizeof(val));
	fprintf(out, "%s%s %s %llu\n", name, labels, val, (unsigned long long)ms);
}

/* {container="c",namespace="ns",pod="p"} or without the container. */
static void labels(char lab[1024], const struct xn_stats_pod *p, bool container)
{
	char ns[256], pod[256], c[256];

	xn_prom_escape(p->ns, ns, sizeof(ns));
	xn_prom_escape(p->name, pod, sizeof(pod));
	xn_prom_escape(p->container, c, sizeof(c));
	if (container)
		snprintf(lab, 1024, "{container=\"%s\",namespace=\"%s\",pod=\"%s\"}", c, ns, pod);
	else
		snprintf(lab, 1024, "{namespace=\"%s\",pod=\"%s\"}", ns, pod);
}

void xn_stats_resource_metrics(FILE *out, const struct xn_stats_node *n,
			       const struct xn_stats_pod *pods, size_t npods, bool scrape_error)
{
	uint64_t ms = n->now_ns / 1000000u;
	uint64_t used = n->total_bytes > n->free_bytes ? n->total_bytes - n->free_bytes : 0;
	char lab[1024];

	family(out, "container_cpu_usage_seconds_total", "counter",
	       "Cumulative cpu time consumed by the container in core-seconds");
	for (size_t i = 0; i < npods; i++) {
		labels(lab, &pods[i], true);
		sample(out, "container_cpu_usage_seconds_total", lab, (double)pods[i].cpu_ns / 1e9,
		       ms);
	}
	family(out, "container_memory_working_set_bytes", "gauge",
	       "Current working set of the container in bytes");
	for (size_t i = 0; i < npods; i++) {
		labels(lab, &pods[i], true);
		sample(out, "container_memory_working_set_bytes", lab, (double)pods[i].memory_bytes,
		       ms);
	}
	family(out, "container_start_time_seconds", "gauge",
	       "Start time of the container since unix epoch in seconds");
	for (size_t i = 0; i < npods; i++) {
		labels(lab, &pods[i], true);
		sample(out, "container_start_time_seconds", lab, (double)pods[i].start_ns / 1e9,
		       ms);
	}
	family(out, "node_cpu_usage_seconds_total", "counter",
	       "Cumulative cpu time consumed by the node in core-seconds");
	sample(out, "node_cpu_usage_seconds_total", "", (double)n->cpu_ns / 1e9, ms);
	family(out, "node_memory_working_set_bytes", "gauge",
	       "Current working set of the node in bytes");
	sample(out, "node_memory_working_set_bytes", "", (double)used, ms);
	family(out, "pod_cpu_usage_seconds_total", "counter",
	       "Cumulative cpu time consumed by the pod in core-seconds");
	for (size_t i = 0; i < npods; i++) {
		labels(lab, &pods[i], false);
		sample(out, "pod_cpu_usage_seconds_total", lab, (double)pods[i].cpu_ns / 1e9, ms);
	}
	family(out, "pod_memory_working_set_bytes", "gauge",
	       "Current working set of the pod in bytes");
	for (size_t i = 0; i < npods; i++) {
		labels(lab, &pods[i], false);
		sample(out, "pod_memory_working_set_bytes", lab, (double)pods[i].memory_bytes, ms);
	}
	family(out, "resource_scrape_error", "gauge",
	       "1 if there was an error while getting container metrics, 0 otherwise");
	fprintf(out, "resource_scrape_error %d\n", scrape_error ? 1 : 0);
}

/* ---- sampling ---- */

struct collect {
	struct xn_kapi *k;
	struct xn_stats_pod *pods;
	size_t n;
	bool error;
	bool disk; /* the log space too (only the summary has it) */
};

static int collect_pod(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	struct collect *c = arg;
	struct xn_hv *hv = c->k->hv;
	struct xn_domain_info di;
	struct xn_stats_pod *p;
	xn_err err = NULL;

	if (st->state != XN_INST_RUNNING || st->domid == XN_DOMID_INVALID)
		return 0;
	if (hv->ops->domain_info(hv, st->domid, &di, &err) < 0) {
		log_debug("stats: domain %u: %s", st->domid, xn_error_msg(err));
		xn_error_free(&err);
		c->error = true;
		return 0;
	}
	c->pods = xn_xrealloc(c->pods, (c->n + 1) * sizeof(*c->pods));
	p = &c->pods[c->n++];
	*p = (struct xn_stats_pod){
	    .ns = s->ns,
	    .name = s->name,
	    .uid = s->uid,
	    .container = s->container,
	    .start_ns = st->started_at,
	    .cpu_ns = di.cpu_time_ns,
	    .nano_cores = -1,
	    .memory_bytes = di.memory_kb * 1024,
	};
	if (c->disk && c->k->log_dir) {
		if (xn_crilog_container_space(c->k->log_dir, s->ns, s->name, s->uid, s->container,
					      &p->logs, &err) == 0)
			p->has_logs = true;
		else {
			log_debug("stats: pod %s/%s: %s", s->ns, s->name, xn_error_msg(err));
			xn_error_free(&err);
		}
	}
	return 0;
}

/* A sample of everything now; node->nano_cores and pods[].nano_cores from
 * the previous sample; with disk, the log space. */
static int take(struct xn_kapi *k, struct xn_stats_node *node, struct collect *c, bool disk)
{
	struct xn_host_info hi;
	struct xn_domain_info *doms = NULL;
	size_t nd = 0;
	xn_err err = NULL;
	uint64_t dt;

	memset(c, 0, sizeof(*c));
	c->k = k;
	c->disk = disk;
	memset(node, 0, sizeof(*node));
	node->name = k->node_name;
	node->start_ns = k->start_ns;
	node->nano_cores = -1;
	node->now_ns = xn_now_real_ns();
	if (k->hv->ops->host_info(k->hv, &hi, &err) < 0 ||
	    k->hv->ops->list(k->hv, &doms, &nd, &err) < 0) {
		log_warnx("stats: %s", xn_error_msg(err));
		xn_error_free(&err);
		return -1;
	}
	node->total_bytes = hi.total_kb * 1024;
	node->free_bytes = hi.free_kb * 1024;
	for (size_t i = 0; i < nd; i++)
		node->cpu_ns += doms[i].cpu_time_ns;
	free(doms);
	if (disk && k->log_dir) {
		if (xn_crilog_fs_space(k->log_dir, &node->fs, &err) == 0)
			node->has_fs = true;
		else {
			log_debug("stats: %s", xn_error_msg(err));
			xn_error_free(&err);
		}
	}
	xn_runtime_foreach(k->rt, collect_pod, c);
	dt = k->prev.at_ns && node->now_ns > k->prev.at_ns ? node->now_ns - k->prev.at_ns : 0;
	if (dt && node->cpu_ns >= k->prev.node_cpu_ns)
		node->nano_cores =
		    (int64_t)((double)(node->cpu_ns - k->prev.node_cpu_ns) * 1e9 / (double)dt);
	for (size_t i = 0; i < c->n; i++) {
		struct xn_stats_pod *p = &c->pods[i];
		uint64_t since = 0, base = 0;

		for (size_t j = 0; j < k->prev.n; j++)
			if (strcmp(k->prev.uids[j], p->uid) == 0 &&
			    p->cpu_ns >= k->prev.cpu_ns[j] && p->start_ns <= k->prev.at_ns) {
				since = k->prev.at_ns;
				base = k->prev.cpu_ns[j];
			}
		if (since == 0) /* started after the last sample: its average so far */
			since = p->start_ns;
		if (since && node->now_ns > since)
			p->nano_cores = (int64_t)((double)(p->cpu_ns - base) * 1e9 /
						  (double)(node->now_ns - since));
	}
	return 0;
}

static void remember(struct xn_kapi *k, const struct xn_stats_node *node, const struct collect *c)
{
	free(k->prev.uids);
	free(k->prev.cpu_ns);
	k->prev.at_ns = node->now_ns;
	k->prev.node_cpu_ns = node->cpu_ns;
	k->prev.n = c->n;
	k->prev.uids = xn_xcalloc(c->n + 1, sizeof(*k->prev.uids));
	k->prev.cpu_ns = xn_xcalloc(c->n + 1, sizeof(*k->prev.cpu_ns));
	for (size_t i = 0; i < c->n; i++) {
		snprintf(k->prev.uids[i], sizeof(k->prev.uids[i]), "%s", c->pods[i].uid);
		k->prev.cpu_ns[i] = c->pods[i].cpu_ns;
	}
}

static void sample_tick(evutil_socket_t fd, short what, void *arg)
{
	struct xn_kapi *k = arg;
	struct xn_stats_node node;
	struct collect c;

	if (take(k, &node, &c, false) == 0)
		remember(k, &node, &c);
	free(c.pods);
}

void xn_kapi_set_log_dir(struct xn_kapi *k, const char *log_dir)
{
	k->log_dir = log_dir;
}

void kapi_stats_start(struct xn_kapi *k)
{
	struct timeval tv = {XN_KAPI_SAMPLE_S, 0};

	sample_tick(-1, 0, k);
	k->sample_timer = event_new(k->base, -1, EV_PERSIST, sample_tick, k);
	event_add(k->sample_timer, &tv);
}

void kapi_stats_stop(struct xn_kapi *k)
{
	if (k->sample_timer)
		event_free(k->sample_timer);
	k->sample_timer = NULL;
	free(k->prev.uids);
	free(k->prev.cpu_ns);
	memset(&k->prev, 0, sizeof(k->prev));
}

/* ---- handlers ---- */

void kapi_stats_summary(struct kreq *r)
{
	struct xn_stats_node node;
	struct collect c;
	cJSON *j;
	char *txt;

	if (take(r->k, &node, &c, true) < 0) {
		free(c.pods);
		return kreq_error(r, 500, "failed to get node info from the hypervisor");
	}
	j = xn_stats_summary_json(&node, c.pods, c.n);
	txt = cJSON_PrintUnformatted(j);
	kreq_reply(r, 200, "application/json", "%s\n", txt);
	free(txt);
	cJSON_Delete(j);
	free(c.pods);
}

static void reply_stream(struct kreq *r, char *text, size_t len, const char *ctype)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, text, len);
	kreq_reply_buf(r, 200, ctype, b);
	evbuffer_free(b);
}

void kapi_metrics_resource(struct kreq *r)
{
	struct xn_stats_node node;
	struct collect c;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool failed = take(r->k, &node, &c, false) < 0;

	if (failed) {
		node.now_ns = xn_now_real_ns();
		c.n = 0;
	}
	if (f == NULL) {
		free(c.pods);
		return kreq_error(r, 500, "out of memory");
	}
	xn_stats_resource_metrics(f, &node, c.pods, failed ? 0 : c.n, failed || c.error);
	fclose(f);
	reply_stream(r, text, len, "text/plain; version=0.0.4; charset=utf-8");
	free(text);
	free(c.pods);
}

struct phases {
	unsigned pending, running, succeeded, failed;
};

static int count_phase(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	struct phases *ph = arg;

	if (st->state == XN_INST_RUNNING)
		ph->running++;
	else if (st->finished) {
		if (st->has_last && st->last.exit_code == 0)
			ph->succeeded++;
		else
			ph->failed++;
	} else
		ph->pending++;
	return 0;
}

void kapi_metrics(struct kreq *r)
{
	static const char *help = "Pods on this node by phase, as the runtime sees them.";
	struct phases ph = {0};
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	xn_runtime_foreach(r->k->rt, count_phase, &ph);
	xn_metric_set("xenlet_pods", help, "phase", "Pending", ph.pending);
	xn_metric_set("xenlet_pods", help, "phase", "Running", ph.running);
	xn_metric_set("xenlet_pods", help, "phase", "Succeeded", ph.succeeded);
	xn_metric_set("xenlet_pods", help, "phase", "Failed", ph.failed);
	xn_metric_set("xenlet_kubelet_api_connections", "Open kubelet API connections.", NULL, NULL,
		      r->k->nconns);
	f = open_memstream(&text, &len);
	if (f == NULL)
		return kreq_error(r, 500, "out of memory");
	xn_metrics_write(f);
	fclose(f);
	reply_stream(r, text, len, "text/plain; version=0.0.4; charset=utf-8");
	free(text);
}
