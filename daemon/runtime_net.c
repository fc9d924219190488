/* runtime_net.c - the pod network of a pod's instances: addresses from the
 * allocator, the vif and command line of the domain, the guest's keys, the
 * release when the pod will have no domain again (docs/networking.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime_priv.h"
#include "xenlet/log.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

/* The node's resolv.conf as text: "" when the setting is off; NULL with
 * the error when it cannot be read (the kubelet fails the pod then too). */
static char *read_resolv_conf(const char *path, xn_err *err)
{
	char *text = NULL;
	size_t len;

	if (path == NULL || path[0] == '\0')
		return xn_xstrdup("");
	if (xn_read_file(path, 1 << 20, &text, &len, err) < 0) {
		xn_error_wrap(err, "resolvConf");
		return NULL;
	}
	return text;
}

/* The instance's DNS (docs/networking.md, "DNS"), with the kubelet's
 * Events; into p->dns, which p->net points to. */
static int prepare_dns(struct pod *p, xn_err *err)
{
	const struct xn_runtime_opts *o = &p->rt->opts;
	cleanup_free char *text = read_resolv_conf(o->resolv_conf, err);
	cleanup_free char *servers = NULL, *search = NULL, *opts = NULL;
	struct xn_dns_conf host;
	struct xn_dns_node node = {.cluster_dns = o->cluster_dns,
				   .cluster_domain = o->cluster_domain};
	struct xn_dns_pod d;
	cJSON *cfg = NULL;
	int rc = -1;

	if (text == NULL)
		return -1;
	xn_dns_resolv_parse(text, &host);
	if (o->resolv_conf != NULL && o->resolv_conf[0])
		node.host = &host;
	node.ipv6_only = p->net.a.ip4[0] == '\0' && p->net.a.ip6[0] != '\0';
	if (p->spec.dns_config != NULL && (cfg = cJSON_Parse(p->spec.dns_config)) == NULL) {
		xn_error(err, EINVAL, "spec.dnsConfig: not JSON");
		goto out;
	}
	if (xn_dns_for_pod(&node, p->spec.ns, p->spec.dns_policy, false, cfg, &d, err) < 0)
		goto out;
	for (size_t i = 0; i < d.nevents; i++)
		xn_rt_note(p, "Warning", d.events[i].reason, "%s", d.events[i].message);
	servers = xn_strv_join(&d.conf.servers, ",");
	search = xn_strv_join(&d.conf.search, " ");
	opts = xn_strv_join(&d.conf.options, " ");
	snprintf(p->dns.servers, sizeof(p->dns.servers), "%s", servers);
	snprintf(p->dns.search, sizeof(p->dns.search), "%s", search);
	/* options longer than the key holds are cut at a word */
	if (snprintf(p->dns.options, sizeof(p->dns.options), "%s", opts) >=
	    (int)sizeof(p->dns.options)) {
		char *sp = strrchr(p->dns.options, ' ');
		if (sp != NULL)
			*sp = '\0';
		else
			p->dns.options[0] = '\0';
	}
	p->net.dns = p->dns.servers;
	p->net.search = p->dns.search;
	p->net.dns_options = p->dns.options;
	xn_dns_pod_dispose(&d);
	rc = 0;
out:
	cJSON_Delete(cfg);
	xn_dns_conf_dispose(&host);
	return rc;
}

static void set_status_ips(struct pod *p, const struct xn_pod_addrs *a)
{
	snprintf(p->st.ip, sizeof(p->st.ip), "%s", a->ip4);
	snprintf(p->st.ip6, sizeof(p->st.ip6), "%s", a->ip6);
}

int xn_rt_net_prepare(struct pod *p, char name[XN_NAME_MAX], struct xn_domain_config *c,
		      struct xn_vif *vif, char **cmdline, xn_err *err)
{
	struct xn_ipam *ipam = p->rt->opts.ipam;
	struct xn_pod_addrs a;

	*cmdline = NULL;
	p->has_net = false;
	xn_err e = NULL;

	if (ipam != NULL && !xn_ipam_configured(ipam) && p->rt->opts.require_net) {
		/* the kubelet's: the pod stays ContainerCreating with an Event
		 * NetworkNotReady until the node has a pod network; checked
		 * again when the range comes (xn_runtime_net_changed) and at
		 * the back-off base, in case it came unnoticed */
		static const char why[] =
		    "network is not ready: the node has no pod CIDR yet (the Node has no "
		    "spec.podCIDR, and neither the podCIDR setting nor flannel's subnet "
		    "file gives one)";

		if (!p->net_wait)
			xn_rt_note(p, "Warning", "NetworkNotReady", "%s", why);
		p->net_wait = true;
		xn_rt_transition(p, XN_POD_BACKOFF, p->rt->opts.backoff_base_ms,
				 "ContainerCreating", "%s", why);
		return 1;
	}
	p->net_wait = false;
	if (ipam == NULL || !xn_ipam_configured(ipam))
		return 0; /* no pod network: a standalone node's pods start without one */
	if (p->rt->opts.check_host_net &&
	    xn_net_host_check(p->rt->opts.sys_class_net ? p->rt->opts.sys_class_net
							: "/sys/class/net",
			      p->rt->opts.bridge, p->rt->opts.vif_script, &e) < 0) {
		/* a vif that cannot be plugged would fail the domain: run it
		 * without one, as before there was a pod network, and say so */
		xn_rt_note(p, "Warning", "NetworkNotReady", "%s; the pod starts without a network",
			   xn_error_msg(e));
		xn_error_free(&e);
		return 0;
	}
	if (xn_ipam_alloc(ipam, p->spec.uid, &a, err) < 0)
		return -1;
	xn_pod_net_fill(xn_ipam_ranges(ipam), &a, &p->net);
	p->net.mtu = p->rt->opts.mtu;
	if (prepare_dns(p, err) < 0)
		return -1;
	p->has_net = true;
	set_status_ips(p, &a);
	xn_runtime_domain_config_net(&p->spec, &p->net, p->rt->opts.bridge, p->rt->opts.vif_script,
				     name, c, vif, cmdline);
	return 0;
}

int xn_rt_net_guest(struct pod *p, uint32_t domid, xn_err *err)
{
	struct xn_net_guest_keys g;

	if (!p->has_net)
		return 0;
	xn_net_guest_keys(&p->net, &g);
	return xn_store_guest_config_put(p->rt->store, domid, g.keys, g.vals, err);
}

void xn_rt_net_release(struct pod *p)
{
	xn_err err = NULL;

	p->has_net = false;
	if (p->rt->opts.ipam == NULL)
		return;
	if (xn_ipam_release(p->rt->opts.ipam, p->spec.uid, &err) < 0) {
		/* kept, so never handed out twice; the next start's sweep retries */
		log_warnx("pod %s/%s: %s", p->spec.ns, p->spec.name, xn_error_msg(err));
		xn_error_free(&err);
	}
}

void xn_rt_net_restore(struct pod *p)
{
	struct xn_pod_addrs a;

	if (p->rt->opts.ipam != NULL && xn_ipam_get(p->rt->opts.ipam, p->spec.uid, &a) == 0)
		set_status_ips(p, &a);
}

void xn_rt_net_record(struct pod *p, const char **ip, const char **mac, struct xn_pod_addrs *buf)
{
	*ip = *mac = NULL;
	if (p->rt->opts.ipam == NULL || xn_ipam_get(p->rt->opts.ipam, p->spec.uid, buf) < 0)
		return;
	*ip = buf->ip4[0] ? buf->ip4 : NULL;
	*mac = buf->mac;
}

void xn_runtime_set_net_mtu(struct xn_runtime *rt, unsigned mtu)
{
	rt->opts.mtu = mtu;
}

void xn_runtime_net_changed(struct xn_runtime *rt)
{
	struct pod *p, *next;

	if (rt->opts.ipam == NULL || !xn_ipam_configured(rt->opts.ipam))
		return;
	/* starting may not remove the pod, but take the next one first anyway */
	for (p = TAILQ_FIRST(&rt->pods); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->net_wait && p->st.phase == XN_POD_BACKOFF && !p->st.stopping)
			xn_rt_start_instance(p);
	}
}
