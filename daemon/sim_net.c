/* sim_net.c - the network of hv_sim domains (hv_sim.h, docs/sim-scripts.md
 * "Network"): a network namespace per domain with vifs, the veth pair whose
 * Dom0 end plays the vif, Xen's hotplug protocol with the vif's own script,
 * the guest's address, and the guest's processes.
 *
 * Every step is a child process watched from the event loop, never waited
 * for (daemon/sim_net_proc.c): the wiring jobs are /bin/sh running ip(8)
 * and the hook (the scripts below, values passed as arguments, never as
 * shell text), the guest's processes are forks of the daemon that enter
 * the namespace and run daemon/sim_net_guest.c.  This file says what runs
 * when and what its end means (sim_net_proc_done). */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/event.h>

#include "xenlet/hv_sim_int.h"
#include "xenlet/log.h"
#include "xenlet/sim_net_guest.h"
#include "xenlet/util.h"

#define DEFAULT_PREFIX "xnsim"
#define DEFAULT_HOOK   "/etc/xen/scripts/vif-bridge"
#define HOOK_DIR       "/etc/xen/scripts"

/* setup: g d0 hook domid, then vif mac bridge ips per vif.  As libxl: the
 * backend directory first, then the hook with vif and XENBUS_PATH, then
 * hotplug-status decides; a failure undoes everything (the hook offline
 * for what it plugged, the netns and with it every veth). */
static const char setup_sh[] =
    "set -u\n"
    "g=$1 d0=$2 hook=$3 domid=$4\n"
    "shift 4\n"
    "in0() { if [ -n \"$d0\" ]; then ip netns exec \"$d0\" \"$@\"; else \"$@\"; fi; }\n"
    "ip0() { if [ -n \"$d0\" ]; then ip -n \"$d0\" \"$@\"; else ip \"$@\"; fi; }\n"
    "plugged=\n"
    "fail() {\n"
    "	for v in $plugged; do in0 env vif=\"$v\" \"$hook\" offline type_if=vif >/dev/null 2>&1; "
    "done\n"
    "	ip netns del \"$g\" 2>/dev/null\n"
    "	xenstore-rm \"backend/vif/$domid\" \"/local/domain/$domid\" 2>/dev/null\n"
    "	echo \"$*\"\n"
    "	exit 1\n"
    "}\n"
    "if [ -e \"/run/netns/$g\" ]; then echo \"network namespace $g exists already\"; exit 1; fi\n"
    "ip netns add \"$g\" || { echo \"cannot create network namespace $g\"; exit 1; }\n"
    "ip -n \"$g\" link set lo up || fail \"cannot set lo up in $g\"\n"
    "n=0\n"
    "while [ $# -ge 4 ]; do\n"
    "	vif=$1 mac=$2 br=$3 ips=$4\n"
    "	shift 4\n"
    "	be=backend/vif/$domid/$n fe=/local/domain/$domid/device/vif/$n\n"
    "	xenstore-rm \"$be\"\n"
    "	xenstore-write \"$be/bridge\" \"$br\" \"$be/mac\" \"$mac\" \"$be/ip\" \"$ips\" \\\n"
    "		\"$be/frontend\" \"$fe\" \"$be/script\" \"$hook\" \"$be/hotplug-status\" \"\" \\\n"
    "		\"$fe/mac\" \"$mac\" \"$fe/backend\" \"/local/domain/0/$be\" ||\n"
    "		fail \"vif $vif: cannot write its backend directory\"\n"
    "	ip0 link add \"$vif\" type veth peer name \"eth$n\" netns \"$g\" ||\n"
    "		fail \"vif $vif: cannot create the veth pair\"\n"
    "	ip -n \"$g\" link set \"eth$n\" address \"$mac\" || fail \"vif $vif: cannot set MAC "
    "$mac\"\n"
    "	plugged=\"$plugged $vif\"\n"
    "	in0 env vif=\"$vif\" XENBUS_PATH=\"$be\" \"$hook\" online type_if=vif\n"
    "	rc=$?\n"
    "	if [ \"$(xenstore-read \"$be/hotplug-status\" 2>/dev/null)\" != connected ]; then\n"
    "		e=$(xenstore-read \"$be/hotplug-error\" 2>/dev/null)\n"
    "		fail \"vif $vif: hotplug script $hook: ${e:-exit status $rc and no "
    "hotplug-status}\"\n"
    "	fi\n"
    "	n=$((n + 1))\n"
    "done\n";

/* teardown: g d0 hook domid pids vif...: the guest's processes a previous
 * daemon started (killed, not ours to reap) gone or dead first, then the
 * hook offline (it needs only vif), the veths, the netns, the backend and
 * frontend directories. */
static const char teardown_sh[] =
    "set -u\n"
    "g=$1 d0=$2 hook=$3 domid=$4 pids=$5\n"
    "shift 5\n"
    "for p in $pids; do\n"
    "	i=0\n"
    "	while [ $i -lt 100 ] && [ -r /proc/$p/stat ]; do\n"
    "		st=$(sed 's/.*) \\(.\\).*/\\1/' /proc/$p/stat 2>/dev/null)\n"
    "		[ \"$st\" = Z ] && break\n"
    "		sleep 0.05\n"
    "		i=$((i + 1))\n"
    "	done\n"
    "done\n"
    "in0() { if [ -n \"$d0\" ]; then ip netns exec \"$d0\" \"$@\"; else \"$@\"; fi; }\n"
    "ip0() { if [ -n \"$d0\" ]; then ip -n \"$d0\" \"$@\"; else ip \"$@\"; fi; }\n"
    "rc=0\n"
    "for vif; do\n"
    "	in0 env vif=\"$vif\" \"$hook\" offline type_if=vif ||\n"
    "		{ echo \"vif $vif: hotplug script $hook offline failed\"; rc=1; }\n"
    "	if ip0 link show dev \"$vif\" >/dev/null 2>&1; then\n"
    "		ip0 link del \"$vif\" || { echo \"vif $vif: cannot delete it\"; rc=1; }\n"
    "	fi\n"
    "done\n"
    "if [ -e \"/run/netns/$g\" ]; then\n"
    "	ip netns del \"$g\" || { echo \"cannot delete network namespace $g\"; rc=1; }\n"
    "fi\n"
    "xenstore-rm \"backend/vif/$domid\" \"/local/domain/$domid\"\n"
    "exit $rc\n";

/* config: g ip4 prefix4 gw4 ip6 prefix6 gw6 mtu ("" where absent): what a
 * guest does with the keys it reads at boot. */
static const char config_sh[] =
    "set -u\n"
    "g=$1 ip4=$2 p4=$3 gw4=$4 ip6=$5 p6=$6 gw6=$7 mtu=$8\n"
    "n() { ip -n \"$g\" \"$@\" || { echo \"ip -n $g $*: failed\"; exit 1; }; }\n"
    "[ -z \"$mtu\" ] || n link set eth0 mtu \"$mtu\"\n"
    "[ -z \"$ip4\" ] || n addr add \"$ip4/$p4\" dev eth0\n"
    "[ -z \"$ip6\" ] || n addr add \"$ip6/$p6\" dev eth0 nodad\n"
    "n link set eth0 up\n"
    "[ -z \"$gw4\" ] || n route add default via \"$gw4\" dev eth0\n"
    "[ -z \"$gw6\" ] || n -6 route add default via \"$gw6\" dev eth0\n";

static bool valid_name(const char *s, size_t max)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

	return n > 0 && n <= max && s[n] == '\0' && s[0] != '-' && s[0] != '.';
}

static bool find_ip(void)
{
	static const char *const dirs[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};

	for (size_t i = 0; i < XN_ARRAY_SIZE(dirs); i++)
		if (access(dirs[i], X_OK) == 0)
			return true;
	return false;
}

/* The xenstore shim under the three names the hook calls. */
static int make_shim_bin(struct sim *s, const char *shim, xn_err *err)
{
	static const char *const names[] = {"xenstore-read", "xenstore-write", "xenstore-rm"};

	if (xn_mkdir_p(s->net_bin, 0700) < 0 || xn_mkdir_p(s->net_xs, 0700) < 0)
		return xn_error_errno(err, errno, "%s", s->net_bin);
	for (size_t i = 0; i < XN_ARRAY_SIZE(names); i++) {
		cleanup_free char *l = xn_xasprintf("%s/%s", s->net_bin, names[i]);

		unlink(l);
		if (symlink(shim, l) < 0)
			return xn_error_errno(err, errno, "%s", l);
	}
	return 0;
}

void sim_net_open(struct sim *s)
{
	const char *shim = getenv("XN_SIM_XENSTORE_SHIM");
	const char *dom0 = getenv("XN_SIM_NET_DOM0");
	const char *prefix = getenv("XN_SIM_NET_PREFIX");
	xn_err err = NULL;

	s->net_prefix = xn_xstrdup(prefix && prefix[0] ? prefix : DEFAULT_PREFIX);
	s->net_dom0 = dom0 && dom0[0] ? xn_xstrdup(dom0) : NULL;
	s->net_bin = xn_xasprintf("%s/net/bin", s->state_dir);
	s->net_xs = xn_xasprintf("%s/net/xs", s->state_dir);
	if (shim == NULL || shim[0] == '\0')
		s->net_off = xn_xstrdup("XN_SIM_XENSTORE_SHIM (the xenstore shim the vif hook "
					"needs) is not set");
	else if (access(shim, X_OK) < 0)
		s->net_off = xn_xasprintf("XN_SIM_XENSTORE_SHIM %s: %s", shim, strerror(errno));
	else if (geteuid() != 0)
		s->net_off = xn_xstrdup("not running as root (network namespaces need it)");
	else if (!find_ip())
		s->net_off = xn_xstrdup("ip(8) (iproute2) not found");
	else if (!valid_name(s->net_prefix, 32))
		s->net_off = xn_xasprintf("XN_SIM_NET_PREFIX '%s' is not a name of at most 32 "
					  "characters [A-Za-z0-9_.-]",
					  s->net_prefix);
	else if (s->net_dom0 != NULL && !valid_name(s->net_dom0, 64))
		s->net_off = xn_xstrdup("XN_SIM_NET_DOM0 is not a network namespace name");
	else if (make_shim_bin(s, shim, &err) < 0)
		s->net_off = xn_xasprintf("xenstore shim: %s", xn_error_msg(err));
	xn_error_free(&err);
	if (s->net_off != NULL)
		log_info("sim network: off: %s; sim domains with a vif run without a network "
			 "(no namespace, vif or address)",
			 s->net_off);
	else
		log_info("sim network: on: domains with a vif get network namespace %s-<domid>, "
			 "their vifs live in %s%s",
			 s->net_prefix,
			 s->net_dom0 ? "network namespace " : "the daemon's network namespace",
			 s->net_dom0 ? s->net_dom0 : "");
}

void sim_net_proc_done(struct sim_proc *p)
{
	struct sim_dom *d = p->d;
	cleanup_free char *how = sim_exit_text(p->status);

	switch (p->kind) {
	case SIM_PROC_SETUP:
		/* kept in d->job for sim_net_setup_result */
		sim_kick(d);
		return;
	case SIM_PROC_CONFIG:
		if (!sim_job_ok(p))
			log_warnx("sim domain %u: guest network configuration: %s (%s)", d->domid,
				  sim_job_reason(p), how);
		d->net_configured = true;
		sim_unlink_proc(d, p);
		sim_proc_free(p);
		sim_dom_changed(d);
		sim_step_now(d);
		return;
	case SIM_PROC_TEARDOWN:
		if (!sim_job_ok(p))
			log_warnx("sim domain %u: network teardown: %s (%s)", d->domid,
				  sim_job_reason(p), how);
		d->net_down = true;
		sim_unlink_proc(d, p);
		sim_proc_free(p);
		sim_kick(d);
		return;
	case SIM_PROC_CLIENT: {
		bool waited = d->waiter == p;

		/* exit 1: the client said what went wrong itself */
		sim_guest_output(p, true);
		if (p->status < 0 || !WIFEXITED(p->status) || WEXITSTATUS(p->status) > 1) {
			cleanup_free char *line = xn_xasprintf("%s: error: %s", p->what, how);

			if (!d->dying && !sim_dom_down(d))
				sim_console_line(d, line);
		}
		sim_unlink_proc(d, p);
		sim_proc_free(p);
		if (waited) {
			d->pc++;
			sim_step_now(d);
		}
		return;
	}
	case SIM_PROC_SERVER:
		sim_guest_output(p, true);
		if (!d->dying && !sim_dom_down(d)) {
			cleanup_free char *line = xn_xasprintf("%s: ended (%s)", p->what, how);

			sim_console_line(d, line);
		}
		sim_unlink_proc(d, p);
		sim_proc_free(p);
		return;
	}
}

/* --- the domain's network ------------------------------------------------- */

static const char *hook_of(const struct xn_vif *v, char *buf, size_t len)
{
	if (v->script == NULL || v->script[0] == '\0')
		return DEFAULT_HOOK;
	if (v->script[0] == '/')
		return v->script;
	/* libxl resolves a bare name in Xen's script directory */
	snprintf(buf, len, "%s/%s", HOOK_DIR, v->script);
	return buf;
}

int sim_net_setup(struct sim_dom *d, xn_err *err)
{
	struct sim *s = d->sim;
	const struct xn_domain_config *c = &d->cfg;
	char hookbuf[512], domid[16], **args;
	const char *hook;
	size_t n = 0;

	if (c->nvifs == 0)
		return 0;
	if (s->net_off != NULL) {
		log_info("sim domain %u (%s): no network namespace: %s", d->domid, c->name,
			 s->net_off);
		return 0;
	}
	hook = hook_of(&c->vifs[0], hookbuf, sizeof(hookbuf));
	snprintf(domid, sizeof(domid), "%u", d->domid);
	d->netns = xn_xasprintf("%s-%u", s->net_prefix, d->domid);
	args = xn_xcalloc(4 + 4 * c->nvifs, sizeof(*args));
	args[n++] = d->netns;
	args[n++] = s->net_dom0 ? s->net_dom0 : "";
	args[n++] = (char *)hook;
	args[n++] = domid;
	for (size_t i = 0; i < c->nvifs; i++) {
		const struct xn_vif *v = &c->vifs[i];

		args[n++] = xn_xasprintf("vif%u.%zu", d->domid, i);
		args[n++] = (char *)v->mac;
		args[n++] = v->bridge ? v->bridge : "xenbr0";
		args[n++] = v->ip ? v->ip : "";
	}
	if (sim_spawn_job(d, SIM_PROC_SETUP, setup_sh, args, n, err) == NULL) {
		free(d->netns);
		d->netns = NULL;
	}
	for (size_t i = 0; i < c->nvifs; i++)
		free(args[4 + 4 * i]);
	free(args);
	return d->netns != NULL ? 0 : -1;
}

int sim_net_setup_result(struct sim_dom *d, xn_err *err)
{
	struct sim_proc *p = d->job;
	int rc = 0;

	if (p == NULL || p->kind != SIM_PROC_SETUP)
		return 0;
	if (sim_job_ok(p)) {
		d->net_up = true;
		log_debug("sim domain %u: network namespace %s, vif plugged", d->domid, d->netns);
	} else {
		cleanup_free char *how = sim_exit_text(p->status);

		rc = xn_error(err, EIO, "%s", sim_job_reason(p));
		log_debug("sim domain %u: network setup failed (%s)", d->domid, how);
		free(d->netns); /* the job removed what it had made */
		d->netns = NULL;
	}
	sim_unlink_proc(d, p);
	sim_proc_free(p);
	return rc;
}

/* A key of the guest's configuration, checked as the guest would: an
 * address or a number, else absent. */
static char *guest_key(struct sim_dom *d, const char *key, bool number)
{
	struct sim *s = d->sim;
	char *v = s->key_cb ? s->key_cb(s->hv, d->domid, key, s->key_arg) : NULL;
	unsigned char buf[16];
	uint64_t n;

	if (v == NULL)
		return xn_xstrdup("");
	if (number ? xn_parse_u64(v, 65535, &n) < 0
		   : inet_pton(strchr(v, ':') ? AF_INET6 : AF_INET, v, buf) != 1) {
		log_warnx("sim domain %u: guest key %s: not %s; ignored", d->domid, key,
			  number ? "a number" : "an address");
		free(v);
		return xn_xstrdup("");
	}
	return v;
}

/* The guest's resolv.conf (for resolve), from its dns and search keys. */
static char *resolv_conf_path(const struct sim_dom *d)
{
	return xn_xasprintf("%s/net/%s.resolv.conf", d->sim->state_dir, d->netns);
}

static void write_resolv_conf(struct sim_dom *d)
{
	struct sim *s = d->sim;
	cleanup_free char *path = resolv_conf_path(d);
	cleanup_free char *dns = s->key_cb ? s->key_cb(s->hv, d->domid, "dns", s->key_arg) : NULL;
	cleanup_free char *search =
	    s->key_cb ? s->key_cb(s->hv, d->domid, "search", s->key_arg) : NULL;
	FILE *f;

	if (dns == NULL)
		return;
	f = fopen(path, "we");
	if (f == NULL)
		return;
	for (char *tok = strtok(dns, ", "); tok != NULL; tok = strtok(NULL, ", "))
		fprintf(f, "nameserver %s\n", tok);
	if (search != NULL)
		fprintf(f, "search %s\n", search);
	fprintf(f, "options ndots:5\n");
	fclose(f);
}

/* The MTU the hook advertised in the frontend directory (as netfront
 * reads it), or "". */
static char *frontend_mtu(const struct sim_dom *d)
{
	cleanup_free char *path =
	    xn_xasprintf("%s/local/domain/%u/device/vif/0/mtu/.value", d->sim->net_xs, d->domid);
	char *v = NULL;
	uint64_t n;

	if (xn_read_file(path, 16, &v, NULL, NULL) < 0 || xn_parse_u64(v, 65535, &n) < 0 ||
	    n < 68) {
		free(v);
		return xn_xstrdup("");
	}
	return v;
}

bool sim_net_config(struct sim_dom *d)
{
	char *vals[8];
	xn_err err = NULL;
	bool started;

	if (d->netns == NULL || !d->net_up || d->net_configured || d->job != NULL)
		return d->job != NULL;
	vals[0] = d->netns;
	vals[1] = guest_key(d, "ip", false);
	vals[2] = guest_key(d, "prefix", true);
	vals[3] = guest_key(d, "gateway", false);
	vals[4] = guest_key(d, "ipv6", false);
	vals[5] = guest_key(d, "ipv6-prefix", true);
	vals[6] = guest_key(d, "ipv6-gateway", false);
	vals[7] = frontend_mtu(d);
	if (vals[1][0] != '\0' && vals[2][0] == '\0')
		vals[1][0] = '\0';
	if (vals[4][0] != '\0' && vals[5][0] == '\0')
		vals[4][0] = '\0';
	write_resolv_conf(d);
	started = sim_spawn_job(d, SIM_PROC_CONFIG, config_sh, vals, 8, &err) != NULL;
	if (!started) {
		log_warnx("sim domain %u: guest network configuration: %s", d->domid,
			  xn_error_msg(err));
		xn_error_free(&err);
		d->net_configured = true;
	}
	for (size_t i = 1; i < 8; i++)
		free(vals[i]);
	return started;
}

bool sim_net_step(struct sim_dom *d, const struct xn_sim_step *st)
{
	cleanup_free char *rc_path = NULL;
	cleanup_free char *what = NULL;
	struct sim_guest_job j = {.op = st->op,
				  .port = (unsigned)st->arg,
				  .host = st->host,
				  .text = st->text ? st->text : ""};
	bool client = st->op != XN_SIM_HTTP && st->op != XN_SIM_ECHO;
	struct sim_proc *p;
	xn_err err = NULL;

	switch (st->op) {
	case XN_SIM_HTTP:
	case XN_SIM_ECHO: what = xn_xasprintf("%s :%u", xn_sim_op_name(st->op), j.port); break;
	case XN_SIM_CONNECT: what = xn_xasprintf("connect %s %u", j.host, j.port); break;
	case XN_SIM_HTTP_GET:
		what = xn_xasprintf("http-get %s %u %s", j.host, j.port, j.text);
		break;
	default: what = xn_xasprintf("resolve %s", j.host); break;
	}
	if (d->netns == NULL || !d->net_up) {
		cleanup_free char *line = xn_xasprintf("%s: error: no network", what);

		log_debug("sim domain %u: %s: the domain has no network namespace", d->domid, what);
		sim_console_line(d, line);
		return false;
	}
	if (st->op == XN_SIM_RESOLVE) {
		rc_path = resolv_conf_path(d);
		j.resolv_conf = rc_path;
	}
	p = sim_spawn_guest(d, client ? SIM_PROC_CLIENT : SIM_PROC_SERVER, what, &j, &err);
	if (p == NULL) {
		cleanup_free char *line = xn_xasprintf("%s: error: %s", what, xn_error_msg(err));

		sim_console_line(d, line);
		xn_error_free(&err);
		return false;
	}
	if (!client)
		return false;
	d->waiter = p;
	return true;
}

void sim_net_signal(struct sim_dom *d, int sig)
{
	for (struct sim_proc *p = d->procs; p != NULL; p = p->next)
		if (p->pid > 0 && sim_proc_alive(p))
			kill(p->pid, sig);
}

/* Kill the guest's processes for good: children are reaped here (SIGKILL
 * ends them at once), adopted ones are init's; their PIDs go into *pids
 * for the teardown job to wait for. */
static void kill_procs(struct sim_dom *d, char **pids)
{
	struct sim_proc *p;

	while ((p = d->procs) != NULL) {
		if (p->pid > 0 && sim_proc_alive(p)) {
			kill(p->pid, SIGKILL);
			if (!p->child) {
				char *n = xn_xasprintf("%s %ld", *pids ? *pids : "", (long)p->pid);

				free(*pids);
				*pids = n;
			}
			if (p->child)
				while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
					;
		} else if (p->pid > 0 && p->child) {
			waitpid(p->pid, NULL, WNOHANG);
		}
		sim_unlink_proc(d, p);
		sim_proc_free(p);
	}
}

bool sim_net_teardown(struct sim_dom *d)
{
	struct sim *s = d->sim;
	char hookbuf[512], domid[16], **args;
	cleanup_free char *rc = NULL;
	cleanup_free char *pids = NULL;
	size_t n = 0, nvifs = d->cfg.nvifs;
	xn_err err = NULL;

	if (d->netns == NULL || d->net_down)
		return false;
	if (d->job != NULL) {
		if (d->job->kind == SIM_PROC_TEARDOWN)
			return true;
		/* a config job still running: it ends now */
		if (d->job->pid > 0) {
			kill(d->job->pid, SIGKILL);
			while (waitpid(d->job->pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		sim_proc_free(d->job);
		d->job = NULL;
	}
	kill_procs(d, &pids);
	rc = resolv_conf_path(d);
	unlink(rc);
	snprintf(domid, sizeof(domid), "%u", d->domid);
	args = xn_xcalloc(5 + nvifs, sizeof(*args));
	args[n++] = d->netns;
	args[n++] = s->net_dom0 ? s->net_dom0 : "";
	args[n++] =
	    nvifs ? (char *)hook_of(&d->cfg.vifs[0], hookbuf, sizeof(hookbuf)) : DEFAULT_HOOK;
	args[n++] = domid;
	args[n++] = pids ? pids : "";
	for (size_t i = 0; i < nvifs; i++)
		args[n++] = xn_xasprintf("vif%u.%zu", d->domid, i);
	if (sim_spawn_job(d, SIM_PROC_TEARDOWN, teardown_sh, args, n, &err) == NULL) {
		log_warnx("sim domain %u: network teardown: %s; network namespace %s left",
			  d->domid, xn_error_msg(err), d->netns);
		xn_error_free(&err);
		d->net_down = true;
	}
	for (size_t i = 0; i < nvifs; i++)
		free(args[5 + i]);
	free(args);
	return !d->net_down;
}

void sim_net_free(struct sim_dom *d)
{
	struct sim_proc *p;

	if (d->job != NULL) {
		sim_proc_free(d->job);
		d->job = NULL;
	}
	while ((p = d->procs) != NULL) {
		sim_unlink_proc(d, p);
		sim_proc_free(p);
	}
	free(d->netns);
	d->netns = NULL;
}

/* --- persistence ---------------------------------------------------------- */

void sim_net_to_json(const struct sim_dom *d, cJSON *o)
{
	cJSON *net, *vifs, *procs;

	if (d->cfg.nvifs > 0) {
		vifs = cJSON_AddArrayToObject(o, "vifs");
		for (size_t i = 0; i < d->cfg.nvifs; i++) {
			const struct xn_vif *v = &d->cfg.vifs[i];
			cJSON *vo = cJSON_CreateObject();

			cJSON_AddStringToObject(vo, "mac", v->mac);
			if (v->bridge)
				cJSON_AddStringToObject(vo, "bridge", v->bridge);
			if (v->ip)
				cJSON_AddStringToObject(vo, "ip", v->ip);
			if (v->script)
				cJSON_AddStringToObject(vo, "script", v->script);
			cJSON_AddItemToArray(vifs, vo);
		}
	}
	if (d->netns == NULL)
		return;
	net = cJSON_AddObjectToObject(o, "net");
	cJSON_AddStringToObject(net, "netns", d->netns);
	cJSON_AddBoolToObject(net, "configured", d->net_configured);
	procs = cJSON_AddArrayToObject(net, "procs");
	for (const struct sim_proc *p = d->procs; p != NULL; p = p->next) {
		cJSON *po;

		if (p->kind != SIM_PROC_SERVER || p->pid <= 0)
			continue;
		po = cJSON_CreateObject();
		cJSON_AddNumberToObject(po, "pid", p->pid);
		cJSON_AddNumberToObject(po, "start_time", (double)p->start_time);
		cJSON_AddStringToObject(po, "what", p->what);
		cJSON_AddItemToArray(procs, po);
	}
}

static const char *jstr_opt(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int sim_net_from_json(struct sim_dom *d, const cJSON *o, xn_err *err)
{
	const cJSON *vifs = cJSON_GetObjectItemCaseSensitive(o, "vifs");
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(o, "net");
	const cJSON *v, *procs;
	const char *netns;
	size_t i = 0;

	if (cJSON_IsArray(vifs) && cJSON_GetArraySize(vifs) > 0) {
		d->cfg.nvifs = (size_t)cJSON_GetArraySize(vifs);
		d->cfg.vifs = xn_xcalloc(d->cfg.nvifs, sizeof(*d->cfg.vifs));
		cJSON_ArrayForEach(v, vifs) {
			const char *mac = jstr_opt(v, "mac");

			snprintf(d->cfg.vifs[i].mac, sizeof(d->cfg.vifs[i].mac), "%s",
				 mac ? mac : "");
			d->cfg.vifs[i].bridge = xn_dup_or_null(jstr_opt(v, "bridge"));
			d->cfg.vifs[i].ip = xn_dup_or_null(jstr_opt(v, "ip"));
			d->cfg.vifs[i].script = xn_dup_or_null(jstr_opt(v, "script"));
			i++;
		}
	}
	if (net == NULL)
		return 0;
	netns = jstr_opt(net, "netns");
	if (netns == NULL || !valid_name(netns, 100))
		return xn_error(err, EINVAL, "net: netns missing or not a name");
	d->netns = xn_xstrdup(netns);
	d->net_up = true;
	d->net_configured = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(net, "configured"));
	procs = cJSON_GetObjectItemCaseSensitive(net, "procs");
	cJSON_ArrayForEach(v, procs) {
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(v, "pid");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(v, "start_time");
		const char *what = jstr_opt(v, "what");
		struct sim_proc *p;

		if (!cJSON_IsNumber(pid) || !cJSON_IsNumber(st) || pid->valuedouble < 2 ||
		    pid->valuedouble > 4194304)
			return xn_error(err, EINVAL, "net: procs: pid or start_time not a number");
		p = xn_xcalloc(1, sizeof(*p));
		p->d = d;
		p->kind = SIM_PROC_SERVER;
		p->pid = (pid_t)pid->valuedouble;
		p->start_time = (uint64_t)st->valuedouble;
		p->fd = -1;
		p->what = xn_xstrdup(what ? what : "server");
		p->status = -1;
		/* a process that is gone (or another one now) is forgotten */
		if (!sim_proc_alive(p)) {
			sim_proc_free(p);
			continue;
		}
		p->next = d->procs;
		d->procs = p;
	}
	return 0;
}
