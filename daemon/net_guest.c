/* net_guest.c - what a pod's guest and the API server are told of its
 * network (see net.h): xenstore keys, the kernel command line of each image
 * convention, the vif, podIP(s).  Pure: no I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenlet/net.h"
#include "xenlet/util.h"

static const char *const conv_names[] = {
    [XN_NETCONF_NONE] = "none",
    [XN_NETCONF_MIRAGE] = "mirage",
    [XN_NETCONF_UNIKRAFT] = "unikraft",
    [XN_NETCONF_LINUX] = "linux",
};

int xn_net_conv_parse(const char *s, enum xn_net_conv *out)
{
	for (size_t i = 0; i < XN_ARRAY_SIZE(conv_names); i++)
		if (s != NULL && strcmp(s, conv_names[i]) == 0) {
			*out = (enum xn_net_conv)i;
			return 0;
		}
	return -1;
}

const char *xn_net_conv_name(enum xn_net_conv c)
{
	return (unsigned)c < XN_ARRAY_SIZE(conv_names) ? conv_names[c] : "unknown";
}

void xn_pod_net_fill(const struct xn_net_ranges *r, const struct xn_pod_addrs *a,
		     struct xn_pod_net *out)
{
	memset(out, 0, sizeof(*out));
	out->a = *a;
	if (r->has4 && a->ip4[0]) {
		out->prefix4 = r->v4.prefix;
		xn_cidr_nth(&r->v4, 1, out->gw4);
	}
	if (r->has6 && a->ip6[0]) {
		out->prefix6 = r->v6.prefix;
		xn_cidr_nth(&r->v6, 1, out->gw6);
	}
}

/* The first IPv4 name server of a "a,b,c" list, or "": the command-line
 * conventions take one IPv4 server (lwIP's netdev.ip, Linux's ip=). */
static void first_dns(const char *dns, char out[XN_IP_STRLEN])
{
	const char *p = dns ? dns : "";

	out[0] = '\0';
	while (*p) {
		size_t n = strcspn(p, ",");
		unsigned char b[4];

		if (n < XN_IP_STRLEN) {
			memcpy(out, p, n);
			out[n] = '\0';
			if (inet_pton(AF_INET, out, b) == 1)
				return;
		}
		out[0] = '\0';
		p += n + (p[n] == ',');
	}
}

/* The convention's arguments ("" when it has nothing to say). */
static char *conv_args(enum xn_net_conv conv, const struct xn_pod_net *n)
{
	char mask[XN_IP_STRLEN], dns0[XN_IP_STRLEN];
	const char *sep;

	first_dns(n->dns, dns0);
	switch (conv) {
	case XN_NETCONF_MIRAGE:
		/* mirage-tcpip's stack options (MirageOS 4, cmdliner) */
		if (n->a.ip4[0] && n->a.ip6[0])
			return xn_xasprintf("--ipv4=%s/%u --ipv4-gateway=%s --ipv6=%s/%u "
					    "--ipv6-gateway=%s",
					    n->a.ip4, n->prefix4, n->gw4, n->a.ip6, n->prefix6,
					    n->gw6);
		if (n->a.ip4[0])
			return xn_xasprintf("--ipv4=%s/%u --ipv4-gateway=%s", n->a.ip4, n->prefix4,
					    n->gw4);
		if (n->a.ip6[0])
			return xn_xasprintf("--ipv6=%s/%u --ipv6-gateway=%s", n->a.ip6, n->prefix6,
					    n->gw6);
		break;
	case XN_NETCONF_UNIKRAFT:
		/* uknetdev's netdev.ip=cidr[:gw[:dns0]] (IPv4 only) */
		if (n->a.ip4[0])
			return xn_xasprintf("netdev.ip=%s/%u:%s%s%s", n->a.ip4, n->prefix4, n->gw4,
					    dns0[0] ? ":" : "", dns0);
		break;
	case XN_NETCONF_LINUX:
		/* Documentation/admin-guide/nfs/nfsroot.rst: ip=<client>:<server>:
		 * <gw>:<netmask>:<hostname>:<device>:<autoconf>[:<dns0>] */
		if (n->a.ip4[0]) {
			xn_net_netmask4(n->prefix4, mask);
			sep = dns0[0] ? ":" : "";
			return xn_xasprintf("ip=%s::%s:%s::eth0:off%s%s", n->a.ip4, n->gw4, mask,
					    sep, dns0);
		}
		break;
	case XN_NETCONF_NONE: break;
	}
	return xn_xstrdup("");
}

/* Offset of the first argument that is exactly "--", or -1. */
static long find_dashdash(const char *s)
{
	for (const char *p = s; (p = strstr(p, "--")) != NULL; p += 2)
		if ((p == s || p[-1] == ' ') && (p[2] == '\0' || p[2] == ' '))
			return p - s;
	return -1;
}

char *xn_net_cmdline(enum xn_net_conv conv, const struct xn_pod_net *n, const char *user)
{
	cleanup_free char *args = conv_args(conv, n);
	const char *u = user ? user : "";
	long dd;

	if (args[0] == '\0')
		return u[0] ? xn_xstrdup(u) : NULL;
	dd = find_dashdash(u);
	if (dd >= 0) /* ours go before the user's "--": options, not arguments */
		return xn_xasprintf("%.*s%s%s %s", (int)dd, u,
				    dd > 0 && u[dd - 1] != ' ' ? " " : "", args, u + dd);
	if (conv == XN_NETCONF_UNIKRAFT)
		return u[0] ? xn_xasprintf("%s -- %s", args, u) : xn_xstrdup(args);
	return u[0] ? xn_xasprintf("%s %s", u, args) : xn_xstrdup(args);
}

void xn_net_guest_keys(const struct xn_pod_net *n, struct xn_net_guest_keys *out)
{
	size_t k = 0;

	memset(out, 0, sizeof(*out));
#define KEY(name, val) (out->keys[k] = (name), out->vals[k++] = (val))
	if (n->a.ip4[0]) {
		snprintf(out->prefix4, sizeof(out->prefix4), "%u", n->prefix4);
		xn_net_netmask4(n->prefix4, out->mask);
		KEY("ip", n->a.ip4);
		KEY("prefix", out->prefix4);
		KEY("netmask", out->mask);
		KEY("gateway", n->gw4);
	}
	if (n->a.ip6[0]) {
		snprintf(out->prefix6, sizeof(out->prefix6), "%u", n->prefix6);
		KEY("ipv6", n->a.ip6);
		KEY("ipv6-prefix", out->prefix6);
		KEY("ipv6-gateway", n->gw6);
	}
	if (n->a.mac[0])
		KEY("mac", n->a.mac);
	if (n->mtu) {
		snprintf(out->mtu, sizeof(out->mtu), "%u", n->mtu);
		KEY("mtu", out->mtu);
	}
	if (n->dns && n->dns[0])
		KEY("dns", n->dns);
	if (n->search && n->search[0])
		KEY("search", n->search);
	if (n->dns_options && n->dns_options[0])
		KEY("dns-options", n->dns_options);
#undef KEY
	out->keys[k] = out->vals[k] = NULL;
}

void xn_net_vif(const struct xn_pod_net *n, const char *bridge, const char *script,
		struct xn_vif *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->mac, sizeof(out->mac), "%s", n->a.mac);
	out->bridge = (char *)bridge;
	/* libxl hands ip to the hotplug script ($ip): the v4 address, as
	 * vif-bridge expects; the hook reads the rest from xenstore */
	out->ip = (char *)(n->a.ip4[0] ? n->a.ip4 : n->a.ip6[0] ? n->a.ip6 : NULL);
	out->script = (char *)script;
}

int xn_net_host_check(const char *sys_class_net, const char *bridge, const char *script,
		      xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("%s/%s/bridge", sys_class_net, bridge);
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return xn_error(err, ENODEV, "pod network: bridge %s does not exist (no %s)",
				bridge, path);
	if (script != NULL && access(script, X_OK) < 0)
		return xn_error_errno(err, errno, "pod network: vif hook %s", script);
	return 0;
}

void xn_net_status_ips(cJSON *status, const char *ip4, const char *ip6)
{
	const char *ips[2] = {ip4 && ip4[0] ? ip4 : NULL, ip6 && ip6[0] ? ip6 : NULL};
	cJSON *arr;

	if (ips[0] == NULL && ips[1] == NULL)
		return;
	cJSON_AddStringToObject(status, "podIP", ips[0] ? ips[0] : ips[1]);
	arr = cJSON_AddArrayToObject(status, "podIPs");
	for (size_t i = 0; i < 2; i++) {
		cJSON *o;

		if (ips[i] == NULL)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "ip", ips[i]);
		cJSON_AddItemToArray(arr, o);
	}
}
