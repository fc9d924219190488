/* main.c - xenletd: settings, event loop, and the wiring of the modules.
 *
 * SIGTERM and SIGINT stop the daemon but leave every domain running: pods
 * survive a daemon restart, and the next start adopts them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "xenlet/config.h"
#include "xenlet/ctl.h"
#include "xenlet/hv.h"
#include "xenlet/hv_guard.h"
#include "xenlet/hv_sim.h"
#include "xenlet/image_path.h"
#include "xenlet/image_pull.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/kubeconfig.h"
#include "xenlet/kubelet_api.h"
#include "xenlet/kubelet_csr.h"
#include "xenlet/log.h"
#include "xenlet/net.h"
#include "xenlet/node.h"
#include "xenlet/pod_sync.h"
#include "xenlet/runtime.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

struct daemon {
	struct xn_config cfg;
	struct event_base *base;
	struct xn_store *store;
	struct xn_ipam *ipam;
	struct xn_hv *hv;
	struct xn_hv *guard; /* hv as the runtime sees it: images from the roots only */
	struct xn_runtime *rt;
	struct xn_ctl *ctl;
	struct xn_kube *kube;
	struct xn_kube_events *events;
	struct xn_pod_sync *ps;
	struct xn_image_puller *puller; /* registry images, cached under <root>/image-cache */
	struct xn_node *node;
	struct xn_kapi *kapi;
	struct xn_kcsr *kcsr;
	int lock_fd;
	struct event *flannel_timer; /* re-reads flannel's subnet file */
	char *flannel_text;	     /* its last contents, to notice changes */
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_info("signal %d: stopping; domains keep running", (int)sig);
	event_base_loopbreak(d->base);
}

static void runtime_cb(struct xn_runtime *rt, enum xn_runtime_event ev, const char *uid,
		       const struct xn_pod_status *st, void *arg)
{
	struct daemon *d = arg;

	if (ev == XN_RT_REMOVED)
		xn_ctl_pod_removed(d->ctl, uid);
	xn_pod_sync_runtime_event(d->ps, ev, uid, st);
	if (d->node)
		xn_node_status_dirty(d->node);
}

static void node_allocatable(void *arg, struct xn_node_resources *out)
{
	xn_node_allocatable(arg, out);
}

static void runtime_note(struct xn_runtime *rt, const char *uid, const char *type,
			 const char *reason, const char *message, void *arg)
{
	struct daemon *d = arg;

	xn_pod_sync_runtime_note(d->ps, uid, type, reason, message);
}

/* The pod ranges: the Node's spec.podCIDR(s) when it has them (the
 * controller-manager's --allocate-node-cidrs), else the podCIDR setting. */
static void use_pod_cidrs(struct daemon *d, const char *cidrs, const char *from)
{
	struct xn_net_ranges r;
	char text[2 * XN_CIDR_STRLEN];
	xn_err err = NULL;

	if (xn_net_ranges_parse(cidrs, &r, &err) < 0) {
		log_warnx("%s: %s; pods keep the ranges they had", from, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	if (xn_ipam_configured(d->ipam) && xn_net_ranges_equal(&r, xn_ipam_ranges(d->ipam)))
		return;
	xn_ipam_set_ranges(d->ipam, &r);
	xn_net_ranges_format(&r, text);
	log_info("pod network: %s (from %s), gateway on bridge %s", text, from, d->cfg.bridge);
	if (d->rt != NULL)
		xn_runtime_net_changed(d->rt); /* pods waiting for it start */
}

static void node_changed(struct xn_node *n, void *arg)
{
	struct daemon *d = arg;
	const char *cidrs = xn_node_pod_cidr(n);

	if (cidrs != NULL)
		use_pod_cidrs(d, cidrs, "the Node's spec.podCIDRs");
}

/* NetworkUnavailable: on a Xen node, is the pod bridge up with its
 * gateway and forwarding on?  (hv_sim has no host network to check.) */
static void node_net(struct xn_node_sample *s, void *arg)
{
	struct daemon *d = arg;

	s->net_checked = strcmp(d->cfg.backend, "libxl") == 0;
	if (s->net_checked)
		s->net_up =
		    xn_net_host_up("/sys/class/net", "/proc/sys", d->cfg.bridge,
				   xn_ipam_configured(d->ipam) ? xn_ipam_ranges(d->ipam) : NULL,
				   s->net_msg, sizeof(s->net_msg));
}

/* flannel's subnet file (docs/networking.md, "The overlay"): the overlay's
 * MTU for every vif, and the pod range while the Node has none.  flanneld
 * may start after xenletd and rewrites the file when its lease changes,
 * so it is read again every few seconds. */
static void read_flannel(struct daemon *d)
{
	const char *path = d->cfg.flannel_subnet_file;
	struct xn_flannel_subnet f;
	char *text = NULL, r[2 * XN_CIDR_STRLEN];
	size_t len;
	xn_err err = NULL;

	if (path[0] == '\0')
		return;
	if (xn_read_file(path, 1 << 16, &text, &len, &err) < 0) {
		xn_error_free(&err); /* no flanneld (yet) */
		return;
	}
	if (d->flannel_text != NULL && strcmp(text, d->flannel_text) == 0) {
		free(text);
		return;
	}
	free(d->flannel_text);
	d->flannel_text = text;
	if (xn_flannel_subnet_parse(text, &f, &err) < 0) {
		log_warnx("flannel subnet file %s: %s; not used", path, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	xn_net_ranges_format(&f.ranges, r);
	log_info("flannel subnet file %s: subnet %s, MTU %u", path, r, f.mtu);
	if (f.mtu)
		xn_runtime_set_net_mtu(d->rt, f.mtu);
	if (d->node != NULL && xn_node_pod_cidr(d->node) != NULL) {
		if (strcmp(xn_node_pod_cidr(d->node), r) != 0)
			log_warnx("flannel's subnet %s is not the Node's podCIDR %s: the Node's "
				  "is used",
				  r, xn_node_pod_cidr(d->node));
		return;
	}
	use_pod_cidrs(d, r, "flannel's subnet file");
}

static void flannel_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = {5, 0};

	(void)fd;
	(void)what;
	read_flannel(d);
	evtimer_add(d->flannel_timer, &tv);
}

/* The API side: only with a kubeconfig; without one the node is standalone
 * (local pods through xl-pod). */
static int start_kube(struct daemon *d, xn_err *err)
{
	struct xn_kubeconfig *kc = NULL;
	struct xn_pod_sync_opts po = {
	    .node_name = d->cfg.node_name,
	    .node_ip = d->cfg.node_ip,
	    .defaults = {.memory_bytes = d->cfg.default_pod_memory},
	};

	if (d->cfg.kubeconfig == NULL)
		return 0;
	if (xn_kubeconfig_load(d->cfg.kubeconfig, NULL, &kc, err) < 0)
		return -1;
	if (xn_kube_new(d->base, kc, NULL, &d->kube, err) < 0) {
		xn_kubeconfig_free(kc);
		return -1;
	}
	xn_kubeconfig_free(kc);
	d->node = xn_node_new(d->base, d->kube, d->hv, d->rt, &d->cfg, err);
	if (d->node != NULL)
		xn_node_set_net_cb(d->node, node_net, d);
	if (d->node == NULL || xn_node_start(d->node, err) < 0)
		return xn_error_wrap(err, "node %s", d->cfg.node_name);
	xn_node_set_change_cb(d->node, node_changed, d);
	po.node_ip = xn_node_ip(d->node);
	po.allocatable = node_allocatable;
	po.allocatable_arg = d->node;
	po.puller = d->puller;
	d->events = xn_kube_events_new(d->kube, d->cfg.node_name);
	d->ps = xn_pod_sync_new(d->base, d->kube, d->events, d->rt, &po, err);
	if (d->ps == NULL)
		return -1;
	return 0;
}

/* A sim guest's `ready` directive writes the readiness flag where a real
 * guest would: its xenstore data area. */
static void sim_ready(struct xn_hv *hv, uint32_t domid, void *arg)
{
	struct daemon *d = arg;
	char path[80];
	xn_err err = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/data/xenlet/ready", domid);
	if (xn_store_set(d->store, path, "1", &err) < 0) {
		log_warnx("sim domain %u: readiness flag: %s", domid, xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* A sim guest's `xenstore KEY VALUE` writes where a real guest would: its
 * data area, whatever the value (the runtime checks what it reads). */
static void sim_xenstore(struct xn_hv *hv, uint32_t domid, const char *key, const char *value,
			 void *arg)
{
	struct daemon *d = arg;
	char path[96];
	xn_err err = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/data/xenlet/%s", domid, key);
	if (xn_store_set(d->store, path, value, &err) < 0) {
		log_warnx("sim domain %u: data/xenlet/%s: %s", domid, key, xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* A sim guest reads its configuration (its address) from xenstore, as a
 * real guest does. */
static char *sim_guest_key(struct xn_hv *hv, uint32_t domid, const char *key, void *arg)
{
	struct daemon *d = arg;
	char path[96], *val = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/xenlet/%s", domid, key);
	if (xn_store_get(d->store, path, &val, NULL) < 0)
		return NULL;
	return val;
}

/* Domain events go to the runtime.  With hv_sim, main also plays the part
 * of libxl's destroy, which removes a dead domain's /local/domain/<domid>:
 * nothing else does, and the in-memory store grew with every pod. */
static void hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct daemon *d = arg;
	char path[48];
	xn_err err = NULL;

	if (d->rt != NULL)
		xn_runtime_hv_event(hv, ev, d->rt);
	if (ev->type != XN_HV_EV_DEATH || hv->ops != &xn_hv_sim_ops)
		return;
	snprintf(path, sizeof(path), "/local/domain/%u", ev->domid);
	if (xn_store_rm(d->store, path, &err) < 0) {
		log_debug("sim domain %u: %s: %s", ev->domid, path, xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* One daemon per root dir: a second one would fight over the domains. */
static int take_lock(struct daemon *d, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("%s/xenletd.lock", d->cfg.root_dir);
	char pid[32];

	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return xn_error_errno(err, errno, "lock file %s", path);
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return xn_error(err, EBUSY, "another xenletd runs with root dir %s (lock %s)",
				d->cfg.root_dir, path);
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) < 0 || xn_write_all(d->lock_fd, pid, strlen(pid)) < 0)
		return xn_error_errno(err, errno, "lock file %s", path);
	return 0;
}

/* hv_sim and the in-memory store keep their state under the root dir, so a
 * simulated host, like a real one, outlives a daemon restart. */
static void sim_state_defaults(struct daemon *d)
{
	cleanup_free char *sim = xn_xasprintf("%s/sim", d->cfg.root_dir);
	cleanup_free char *store = xn_xasprintf("%s/store.json", d->cfg.root_dir);

	if (strcmp(d->cfg.backend, "sim") == 0)
		setenv("XN_SIM_STATE_DIR", sim, 0);
	if (strcmp(d->cfg.store, "mem") == 0)
		setenv("XN_STORE_MEM_FILE", store, 0);
}

static int kcsr_apply(const char *cert_pem, const char *key_pem, void *arg, xn_err *err)
{
	return xn_kapi_use_cert(arg, cert_pem, key_pem, err);
}

/* The kubelet API: logs, stats and metrics for the API server. */
static int start_kapi(struct daemon *d, xn_err *err)
{
	struct xn_kapi_opts o = {
	    .address = d->cfg.address,
	    .port = d->cfg.kubelet_port,
	    .tls_cert_file = d->cfg.tls_cert_file,
	    .tls_key_file = d->cfg.tls_key_file,
	    .client_ca_file = d->cfg.client_ca_file,
	    .node_name = d->cfg.node_name,
	};

	d->kapi = xn_kapi_new(d->base, &o, d->rt, d->hv, d->kube, err);
	if (d->kapi == NULL && *err && (*err)->status == EADDRINUSE) {
		/* pods still run without it; logs and stats are what is lost */
		log_warnx("%s: running without the kubelet API (no logs/stats through the API "
			  "server)",
			  xn_error_msg(*err));
		xn_error_free(err);
		return 0;
	}
	if (d->kapi == NULL)
		return xn_error_wrap(err, "kubelet API");
	xn_kapi_set_log_dir(d->kapi, d->cfg.log_dir);
	if (d->cfg.server_tls_bootstrap) {
		struct xn_kcsr_opts co = {
		    .node_name = d->cfg.node_name,
		    .node_ip = d->node ? xn_node_ip(d->node) : d->cfg.node_ip,
		    .root_dir = d->cfg.root_dir,
		};

		if (d->kube == NULL) {
			log_warnx("serverTLSBootstrap needs a kubeconfig: serving the self-signed "
				  "certificate");
			return 0;
		}
		d->kcsr = xn_kcsr_new(d->base, d->kube, &co, kcsr_apply, d->kapi, err);
		if (d->kcsr == NULL)
			return xn_error_wrap(err, "serverTLSBootstrap");
	}
	return 0;
}

static int start(struct daemon *d, xn_err *err)
{
	struct xn_runtime_opts ro = {
	    .root_dir = d->cfg.root_dir,
	    .log_dir = d->cfg.log_dir,
	    .log_max_bytes = (uint64_t)d->cfg.container_log_max_size,
	    .log_max_files = d->cfg.container_log_max_files,
	};
	const char *bo = getenv("XN_BACKOFF_BASE_MS");
	uint64_t n;
	char *warn = NULL;

	/* tests shorten the kubelet's 10 s back-off; never set in production */
	if (bo && xn_parse_u64(bo, 600000, &n) == 0 && n > 0) {
		ro.backoff_base_ms = (unsigned)n;
		ro.backoff_max_ms = (unsigned)n * 30;
	}
	if (xn_mkdir_p(d->cfg.root_dir, 0700) < 0)
		return xn_error_errno(err, errno, "root dir %s", d->cfg.root_dir);
	if (take_lock(d, err) < 0)
		return -1;
	sim_state_defaults(d);
	d->store = xn_store_open(d->cfg.store, d->base, err);
	if (d->store == NULL)
		return xn_error_wrap(err, "store %s", d->cfg.store);
	d->ipam = xn_ipam_new(d->store, &warn, err);
	if (d->ipam == NULL)
		return -1;
	if (warn != NULL)
		log_warnx("%s", warn);
	free(warn);
	if (d->cfg.pod_cidr != NULL)
		use_pod_cidrs(d, d->cfg.pod_cidr, "the podCIDR setting");
	ro.ipam = d->ipam;
	ro.bridge = d->cfg.bridge;
	ro.vif_script = d->cfg.vif_script;
	ro.check_host_net = strcmp(d->cfg.backend, "libxl") == 0; /* hv_sim has no vifs */
	ro.cluster_dns = d->cfg.cluster_dns;
	ro.cluster_domain = d->cfg.cluster_domain;
	ro.resolv_conf = d->cfg.resolv_conf;
	ro.require_net = d->cfg.kubeconfig != NULL; /* a cluster's node */
	d->hv = xn_hv_new(d->cfg.backend, d->base, hv_event, d, err);
	if (d->hv == NULL)
		return -1;
	if (d->hv->ops == &xn_hv_sim_ops) {
		xn_hv_sim_set_ready_hook(d->hv, sim_ready, d);
		xn_hv_sim_set_xenstore_hook(d->hv, sim_xenstore, d);
		xn_hv_sim_set_guest_key_reader(d->hv, sim_guest_key, d);
	}
	xn_image_roots_set((const char *const *)d->cfg.image_roots, d->cfg.nimage_roots);
	{
		cleanup_free char *cache = xn_xasprintf("%s/image-cache", d->cfg.root_dir);
		cleanup_free char *blobs = xn_xasprintf("%s/blobs", cache);
		struct xn_image_puller_opts io = {
		    .cache_dir = cache,
		    .registries = d->cfg.registries,
		    .nregistries = d->cfg.nregistries,
		};

		xn_image_roots_add_internal(blobs);
		d->puller = xn_image_puller_new(d->base, &io, err);
		if (d->puller == NULL)
			return -1;
	}
	d->guard = xn_hv_guard_new(d->hv);
	d->rt = xn_runtime_new(d->base, d->guard, d->store, &ro, runtime_cb, runtime_note, d, err);
	if (d->rt == NULL)
		return -1;
	if (start_kube(d, err) < 0)
		return -1;
	d->flannel_timer = evtimer_new(d->base, flannel_tick, d);
	flannel_tick(-1, 0, d);
	if (xn_runtime_recover(d->rt, err) < 0)
		return -1;
	/* the guard: xl-pod create checks the kernel's guest types as a run does;
	 * host info and the backend's name pass through */
	d->ctl = xn_ctl_listen(d->base, d->cfg.ctl_socket, d->rt, d->guard, err);
	if (d->ctl == NULL)
		return -1;
	xn_ctl_set_puller(d->ctl, d->puller);
	return start_kapi(d, err);
}

static void stop(struct daemon *d)
{
	xn_ctl_close(d->ctl);
	xn_kcsr_free(d->kcsr);
	d->kcsr = NULL;
	xn_kapi_free(d->kapi);
	d->kapi = NULL;
	xn_pod_sync_free(d->ps);
	d->ps = NULL;
	xn_image_puller_free(d->puller);
	d->puller = NULL;
	xn_kube_events_free(d->events);
	xn_node_free(d->node);
	d->node = NULL;
	if (d->kube)
		xn_kube_free(d->kube);
	if (d->flannel_timer != NULL)
		event_free(d->flannel_timer);
	d->flannel_timer = NULL;
	free(d->flannel_text);
	d->flannel_text = NULL;
	xn_runtime_free(d->rt);
	xn_ipam_free(d->ipam);
	xn_hv_free(d->hv);
	xn_hv_guard_free(d->guard);
	if (d->store)
		xn_store_close(d->store);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
}

/* Without -d: run in the background, but let the parent exit only once the
 * child has started, with the child's error if it could not, so that a start
 * from a shell or an init script sees start-up failures.  stdio stays open:
 * the log goes wherever stderr goes. */
static int detach(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char buf[1024];
	ssize_t n, len = 0;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("fork");
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		while (len < (ssize_t)sizeof(buf) - 1 &&
		       (n = read(p[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
			len += n;
		buf[len] = '\0';
		if (len > 0 && buf[0] == '+')
			_exit(0);
		fprintf(stderr, "xenletd: %s\n", len > 1 ? buf + 1 : "exited during start-up");
		_exit(1);
	}
	close(p[0]);
	if (setsid() < 0 || chdir("/") < 0)
		log_warn("detach");
	*ready_fd = p[1];
	return 0;
}

static void report_ready(int *fd, const char *error)
{
	ssize_t r;

	if (*fd < 0)
		return;
	if (error == NULL)
		r = write(*fd, "+", 1);
	else {
		r = write(*fd, "-", 1);
		if (r == 1)
			r = write(*fd, error, strlen(error));
	}
	(void)r;
	close(*fd);
	*fd = -1;
}

/* Every connection is a descriptor, and a soft limit of 1024 (what a shell
 * or a unit without LimitNOFILE= gives) is a few hundred idle connects away:
 * take the whole hard limit at start (docs/kubelet-api.md, "Limits"). */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (was != rl.rlim_max && setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("setrlimit(RLIMIT_NOFILE, %llu)", (unsigned long long)rl.rlim_max);
		rl.rlim_cur = was;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		log_info("open files: unlimited");
	else
		log_info("open files: %llu (soft limit was %llu)", (unsigned long long)rl.rlim_cur,
			 (unsigned long long)was);
}

int main(int argc, char **argv)
{
	struct daemon d = {.lock_fd = -1};
	struct event *sigterm = NULL, *sigint = NULL;
	xn_err err = NULL;
	int rc = 1, ready_fd = -1;

	xn_log_init("xenletd", 0);
	xn_config_init(&d.cfg);
	if (xn_config_from_args(&d.cfg, argc, argv, &err) < 0) {
		if (err && err->status == 0 && strcmp(err->msg, "help") == 0) {
			xn_config_usage(stdout);
			rc = 0;
		} else if (err && err->status == 0) {
			printf("xenletd %s\n", XN_VERSION);
			rc = 0;
		} else {
			fprintf(stderr, "xenletd: %s\n", xn_error_msg(err));
			rc = 2;
		}
		goto out;
	}
	xn_log_set_verbose(d.cfg.verbose);
	if (xn_config_check(&d.cfg, &err) < 0) {
		fprintf(stderr, "xenletd: %s\n", xn_error_msg(err));
		rc = 2;
		goto out;
	}
	if (d.cfg.check_only) {
		xn_config_print(&d.cfg, stdout);
		rc = 0;
		goto out;
	}
	if (!d.cfg.foreground && detach(&ready_fd) < 0)
		goto out;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	d.base = event_base_new();
	if (d.base == NULL) {
		log_warnx("cannot create the event loop");
		goto out;
	}
	if (start(&d, &err) < 0) {
		log_warnx("%s", xn_error_msg(err));
		report_ready(&ready_fd, xn_error_msg(err));
		goto out;
	}
	report_ready(&ready_fd, NULL);
	sigterm = evsignal_new(d.base, SIGTERM, on_signal, &d);
	sigint = evsignal_new(d.base, SIGINT, on_signal, &d);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	log_info("xenletd %s: node %s, backend %s, store %s, ctl %s", XN_VERSION, d.cfg.node_name,
		 d.cfg.backend, d.cfg.store, d.cfg.ctl_socket);
	event_base_dispatch(d.base);
	rc = 0;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	stop(&d);
	if (d.base)
		event_base_free(d.base);
	xn_config_dispose(&d.cfg);
	xn_error_free(&err);
	return rc;
}
