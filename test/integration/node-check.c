/* node-check.c - run the node module against a real API server.
 *
 *   node-check -k KUBECONFIG -n NODE [-i IP] [-m FREE_FILE] [-r RESERVED_MI]
 *              [-c RESERVED_CPU_MILLI] [-l KEY=VALUE] [-t SECS]
 *
 * The hypervisor is a fake inside this driver (the sim backend is not
 * available to it yet): 2 CPUs, 8 GiB total, Xen 4.17.5, amd64, the host's
 * name; its free memory (KiB) is read from FREE_FILE at every call, so a
 * test can push the node into MemoryPressure (default 4 GiB free).
 *
 * Prints lines a script greps, as they happen:
 *   registered uid=<uid> adopted=<n>
 *   ready
 *   podcidr <cidr>
 *   allocatable memory=<bytes> cpu=<milli> pods=<n>
 * Runs until SIGTERM/SIGINT or -t seconds; the module's log goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "xenlet/config.h"
#include "xenlet/hv.h"
#include "xenlet/kube.h"
#include "xenlet/kubeconfig.h"
#include "xenlet/log.h"
#include "xenlet/node.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

static const char *free_file;

static int fake_host_info(struct xn_hv *hv, struct xn_host_info *out, xn_err *err)
{
	FILE *f;
	unsigned long long kb = 4ULL << 20;

	memset(out, 0, sizeof(*out));
	if (free_file != NULL && (f = fopen(free_file, "re")) != NULL) {
		if (fscanf(f, "%llu", &kb) != 1) {
			fclose(f);
			return xn_error(err, EINVAL, "%s: not a number of KiB", free_file);
		}
		fclose(f);
	}
	out->nr_cpus = 2;
	out->total_kb = 8ULL << 20;
	out->free_kb = kb;
	snprintf(out->xen_version, sizeof(out->xen_version), "4.17.5");
	snprintf(out->arch, sizeof(out->arch), "amd64");
	gethostname(out->hostname, sizeof(out->hostname) - 1);
	return 0;
}

static const struct xn_hv_ops fake_ops = {
    .name = "node-check-fake",
    .host_info = fake_host_info,
};

/* The driver runs without a runtime (rt NULL, never called): this keeps
 * runtime.o and the store it needs out of the link. */
void xn_runtime_usage(struct xn_runtime *rt, unsigned *pods, uint64_t *memory_kb, unsigned *vcpus)
{
	*pods = 0;
	*memory_kb = 0;
	*vcpus = 0;
}

static struct event_base *base;
static struct xn_node *node;

static void on_change(struct xn_node *n, void *arg)
{
	static char last[64];
	const char *cidr = xn_node_pod_cidr(n);

	if (cidr != NULL && strcmp(cidr, last) != 0) {
		snprintf(last, sizeof(last), "%s", cidr);
		printf("podcidr %s\n", cidr);
		fflush(stdout);
	}
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	static struct xn_node_stats prev;
	static bool was_ready;
	static struct xn_node_resources prev_alloc;
	struct xn_node_stats st;
	struct xn_node_resources a;

	xn_node_get_stats(node, &st);
	if (st.registrations != prev.registrations)
		printf("registered uid=%s adopted=%u\n",
		       xn_node_uid(node) ? xn_node_uid(node) : "?", st.adopted);
	if (xn_node_ready(node) != was_ready) {
		was_ready = xn_node_ready(node);
		printf(was_ready ? "ready\n" : "not ready\n");
	}
	xn_node_allocatable(node, &a);
	if (memcmp(&a, &prev_alloc, sizeof(a)) != 0) {
		printf("allocatable memory=%" PRId64 " cpu=%" PRId64 " pods=%u\n", a.memory_bytes,
		       a.cpu_milli, a.pods);
		prev_alloc = a;
	}
	prev = st;
	fflush(stdout);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	const char *kcpath = NULL;
	struct xn_config cfg;
	struct xn_kubeconfig *kc = NULL;
	struct xn_kube *kube = NULL;
	struct xn_hv hv = {.ops = &fake_ops};
	struct event *poll_ev, *sigterm, *sigint, *deadline;
	struct timeval one = {1, 0}, t = {0, 0};
	xn_err err = NULL;
	int c, rc = 1;

	xn_config_init(&cfg);
	free(cfg.root_dir);
	cfg.root_dir = xn_xstrdup("/tmp");
	while ((c = getopt(argc, argv, "k:n:i:m:r:c:l:t:")) != -1) {
		switch (c) {
		case 'k': kcpath = optarg; break;
		case 'n': cfg.node_name = xn_xstrdup(optarg); break;
		case 'i': cfg.node_ip = xn_xstrdup(optarg); break;
		case 'm': free_file = optarg; break;
		case 'r': cfg.reserved_memory = strtoll(optarg, NULL, 10) << 20; break;
		case 'c': cfg.reserved_cpu_milli = strtoll(optarg, NULL, 10); break;
		case 'l': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL) {
				fprintf(stderr, "-l %s: want KEY=VALUE\n", optarg);
				return 2;
			}
			cfg.labels =
			    xn_xrealloc(cfg.labels, (cfg.nlabels + 1) * sizeof(*cfg.labels));
			cfg.labels[cfg.nlabels].key = strndup(optarg, (size_t)(eq - optarg));
			cfg.labels[cfg.nlabels].value = xn_xstrdup(eq + 1);
			cfg.nlabels++;
			break;
		}
		case 't': t.tv_sec = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: see the comment at the top of node-check.c\n");
			return 2;
		}
	}
	if (kcpath == NULL || cfg.node_name == NULL) {
		fprintf(stderr, "node-check: -k and -n are required\n");
		return 2;
	}
	xn_log_init("node-check", 1);
	base = event_base_new();
	hv.base = base;
	if (xn_kubeconfig_load(kcpath, NULL, &kc, &err) < 0 ||
	    xn_kube_new(base, kc, NULL, &kube, &err) < 0)
		goto out;
	node = xn_node_new(base, kube, &hv, NULL, &cfg, &err);
	if (node == NULL)
		goto out;
	xn_node_set_change_cb(node, on_change, NULL);
	if (xn_node_start(node, &err) < 0)
		goto out;
	poll_ev = event_new(base, -1, EV_PERSIST, poll_cb, NULL);
	event_add(poll_ev, &one);
	sigterm = evsignal_new(base, SIGTERM, stop_cb, NULL);
	sigint = evsignal_new(base, SIGINT, stop_cb, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	deadline = evtimer_new(base, stop_cb, NULL);
	if (t.tv_sec > 0)
		evtimer_add(deadline, &t);
	event_base_dispatch(base);
	printf("stopped\n");
	event_free(poll_ev);
	event_free(sigterm);
	event_free(sigint);
	event_free(deadline);
	rc = 0;
out:
	if (err != NULL)
		fprintf(stderr, "node-check: %s\n", xn_error_msg(err));
	xn_error_free(&err);
	xn_node_free(node);
	xn_kube_free(kube);
	xn_kubeconfig_free(kc);
	xn_config_dispose(&cfg);
	if (base)
		event_base_free(base);
	return rc;
}
