/* net.h - pod networking (docs/networking.md): addresses from the node's
 * pod CIDR (IPAM), a stable MAC per pod, and what the guest is told.
 *
 * Five parts, each in its own file:
 *   net_cidr.c   ranges: parsing "10.244.1.0/24,fd00:10:244:1::/64", the
 *                n-th address of a range and where an address lies in one.
 *   net_mac.c    a pod's MAC from its uid (Xen's 00:16:3e prefix).
 *   net_ipam.c   the allocator: one IPv4 and/or IPv6 address and a MAC per
 *                pod uid, recorded in the store (/xenlet/net/pods/<uid>) so
 *                a restarted daemon reuses them and never hands one out
 *                twice.
 *   net_flannel.c pure: flannel's subnet file (range and MTU).
 *   net_dns.c    pure: a pod's resolver configuration as the kubelet forms
 *                it (dnsPolicy, dnsConfig, clusterDNS, the limits).
 *   net_guest.c  pure: the guest's xenstore keys, the kernel command line
 *                of each image convention, the vif, podIP(s) in a status.
 *
 * In a range, the first address (index 0) is the network, the second
 * (index 1) the gateway on the node's pod bridge, the last the broadcast
 * address (IPv4; kept free in IPv6 too): pods get the others.
 */
#ifndef XENLET_NET_H
#define XENLET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "xenlet/err.h"
#include "xenlet/hv.h"

struct xn_store;

#define XN_IP_STRLEN   46 /* INET6_ADDRSTRLEN */
#define XN_CIDR_STRLEN 50
#define XN_MAC_STRLEN  18

/* Addresses a pool hands out at most (a /64 is used for its first ones). */
#define XN_NET_POOL_MAX 65536

/* ---- ranges (net_cidr.c) ---- */

struct xn_cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* the network address: host bits zero */
	unsigned prefix;
};

/* "10.244.1.0/24" or "fd00:10:244:1::/64".  Host bits must be zero, and the
 * range must hold at least one pod (IPv4 /30, IPv6 /126 at most).  The
 * error names the value and what is wrong with it. */
int xn_cidr_parse(const char *s, struct xn_cidr *out, xn_err *err);
void xn_cidr_format(const struct xn_cidr *c, char out[XN_CIDR_STRLEN]);
/* Addresses in the range, saturated at UINT64_MAX. */
uint64_t xn_cidr_size(const struct xn_cidr *c);
/* The address n places into the range (n < size), as text. */
void xn_cidr_nth(const struct xn_cidr *c, uint64_t n, char out[XN_IP_STRLEN]);
/* Where the address text lies in the range: 0 and *n, or -1 when it is no
 * address of c's family or lies outside (or beyond index 2^64-1). */
int xn_cidr_index(const struct xn_cidr *c, const char *addr, uint64_t *n);
/* The IPv4 netmask of a prefix ("255.255.255.0"). */
void xn_net_netmask4(unsigned prefix, char out[XN_IP_STRLEN]);

/* The node's pod ranges: at most one per family. */
struct xn_net_ranges {
	bool has4, has6;
	struct xn_cidr v4, v6;
};
/* A comma-separated list, as spec.podCIDRs joined or the podCIDR setting:
 * one or two ranges, at most one of each family. */
int xn_net_ranges_parse(const char *s, struct xn_net_ranges *out, xn_err *err);
/* Back to "a,b" (IPv4 first). */
void xn_net_ranges_format(const struct xn_net_ranges *r, char out[2 * XN_CIDR_STRLEN]);
bool xn_net_ranges_equal(const struct xn_net_ranges *a, const struct xn_net_ranges *b);

/* ---- MAC addresses (net_mac.c) ---- */

/* Xen's OUI 00:16:3e (what xl gives guests) and the first three bytes of
 * SHA-256 of the uid; attempt n > 0 hashes "<uid>/<n>" instead, the next
 * candidate when the first collides with another pod's. */
void xn_net_mac(const char *uid, unsigned attempt, char out[XN_MAC_STRLEN]);

/* ---- the allocator (net_ipam.c) ---- */

/* One pod's network identity; "" where absent. */
struct xn_pod_addrs {
	char ip4[XN_IP_STRLEN];
	char ip6[XN_IP_STRLEN];
	char mac[XN_MAC_STRLEN];
};

struct xn_ipam;

/* Read the allocations recorded in st (none is fine).  A record that breaks
 * the schema is skipped with its error in *warn (malloc'd, NULL if none). */
struct xn_ipam *xn_ipam_new(struct xn_store *st, char **warn, xn_err *err);
void xn_ipam_free(struct xn_ipam *ip);

/* The ranges new addresses come from.  Allocations made from earlier
 * ranges stay (their pods run) until those pods start again. */
void xn_ipam_set_ranges(struct xn_ipam *ip, const struct xn_net_ranges *r);
/* Is there a range at all?  Without one, pods start without a network. */
bool xn_ipam_configured(const struct xn_ipam *ip);
const struct xn_net_ranges *xn_ipam_ranges(const struct xn_ipam *ip);

/* The addresses of uid: its recorded ones when they lie in the current
 * ranges, else the next free address of each range after the last one
 * handed out (so a released address is not reused at once), and a MAC
 * unique among the pods; recorded before the call returns.  ENETDOWN when
 * no range is set; ENOSPC, naming the range, when it is full.  A failure
 * changes nothing. */
int xn_ipam_alloc(struct xn_ipam *ip, const char *uid, struct xn_pod_addrs *out, xn_err *err);
/* The recorded addresses of uid: 0, or -1 when it has none. */
int xn_ipam_get(const struct xn_ipam *ip, const char *uid, struct xn_pod_addrs *out);
/* Give uid's addresses back (none: no error). */
int xn_ipam_release(struct xn_ipam *ip, const char *uid, xn_err *err);
/* Release every allocation whose uid keep() does not know (pods deleted
 * while the daemon was down).  Returns how many went. */
size_t xn_ipam_sweep(struct xn_ipam *ip, bool (*keep)(const char *uid, void *arg), void *arg);
size_t xn_ipam_count(const struct xn_ipam *ip);

/* ---- the overlay (net_flannel.c, pure) ---- */

/* flannel's subnet file (flanneld writes /run/flannel/subnet.env):
 *   FLANNEL_NETWORK=10.244.0.0/16   the cluster's pod network
 *   FLANNEL_SUBNET=10.244.1.1/24    this node's range (its gateway address)
 *   FLANNEL_MTU=1450                the MTU that fits the overlay
 *   FLANNEL_IPMASQ=true             flanneld masquerades leaving traffic
 * and FLANNEL_IPV6_SUBNET for dual stack.  Unknown keys are ignored. */
struct xn_flannel_subnet {
	struct xn_net_ranges ranges; /* FLANNEL_SUBNET's range (host bits cleared) */
	char network[XN_CIDR_STRLEN];
	unsigned mtu; /* 0: not given */
	bool ipmasq;
};
/* -1 naming the key for a value that does not parse, or without any
 * subnet. */
int xn_flannel_subnet_parse(const char *text, struct xn_flannel_subnet *out, xn_err *err);

/* ---- DNS (net_dns.c, pure) ---- */

/* The kubelet's limits (k8s.io/kubernetes/pkg/apis/core/validation). */
#define XN_DNS_MAX_SERVERS	3
#define XN_DNS_MAX_SEARCH	32
#define XN_DNS_MAX_SEARCH_CHARS 2048

/* A list of malloc'd strings. */
struct xn_strv {
	char **v;
	size_t n;
};
void xn_strv_add(struct xn_strv *l, const char *s);
void xn_strv_dispose(struct xn_strv *l);
/* The items joined with sep (malloc'd; "" for none). */
char *xn_strv_join(const struct xn_strv *l, const char *sep);

/* A resolver configuration, as resolv.conf holds it. */
struct xn_dns_conf {
	struct xn_strv servers, search, options;
};
void xn_dns_conf_dispose(struct xn_dns_conf *c);
/* resolv.conf text as the kubelet reads the node's (parseResolvConf):
 * nameserver lines add addresses, the last search line wins ("." and
 * trailing dots dropped), options lines add options. */
void xn_dns_resolv_parse(const char *text, struct xn_dns_conf *out);

/* The node's DNS settings (kubelet clusterDNS, clusterDomain, resolvConf). */
struct xn_dns_node {
	const char *cluster_dns;	/* "10.96.0.10[,...]" or NULL */
	const char *cluster_domain;	/* "cluster.local" or NULL */
	const struct xn_dns_conf *host; /* the node's resolv.conf; NULL when the
					 * resolvConf setting is "" */
	bool ipv6_only;			/* the node has only IPv6 addresses */
};

/* A Warning Event the kubelet records while forming a pod's DNS. */
struct xn_dns_event {
	const char *reason; /* "MissingClusterDNS", "DNSConfigForming" */
	char *message;	    /* malloc'd */
};

/* A pod's resolver configuration and what to tell about it. */
struct xn_dns_pod {
	struct xn_dns_conf conf;
	struct xn_dns_event events[4];
	size_t nevents;
};
void xn_dns_pod_dispose(struct xn_dns_pod *p);

/* The kubelet's GetPodDNS for a pod of namespace ns with spec.dnsPolicy
 * policy (NULL: ClusterFirst) and spec.dnsConfig dns_config (NULL: none):
 *   ClusterFirst (not host network) and ClusterFirstWithHostNet: the
 *     clusterDNS servers, search "<ns>.svc.<domain> svc.<domain> <domain>"
 *     then the node's, options ndots:5; without clusterDNS it falls back to
 *     Default with a MissingClusterDNS Event;
 *   Default: the node's resolv.conf (resolvConf "": 127.0.0.1 or ::1);
 *   None: only dnsConfig.
 * then dnsConfig's nameservers, searches and options are merged in, and the
 * result is cut to the limits (3 servers; 32 search domains, 2048 chars,
 * none longer than 253) with a DNSConfigForming Event.  Values a guest key
 * cannot carry (a server that is no IP address, a search domain that is no
 * DNS subdomain, an option that is not one word) are dropped, also with a
 * DNSConfigForming Event.  -1 with the error for a policy that is not one
 * of the four, a dnsConfig that is not an object of lists, or None without
 * dnsConfig. */
int xn_dns_for_pod(const struct xn_dns_node *node, const char *ns, const char *policy,
		   bool host_network, const cJSON *dns_config, struct xn_dns_pod *out, xn_err *err);

/* ---- what the guest is told (net_guest.c, pure) ---- */

/* How the image reads its address from the kernel command line
 * (annotation xenlet.io/net-config). */
enum xn_net_conv {
	XN_NETCONF_NONE = 0, /* nothing on the command line: xenstore only */
	XN_NETCONF_MIRAGE,   /* MirageOS 4: --ipv4=A/P --ipv4-gateway=G */
	XN_NETCONF_UNIKRAFT, /* Unikraft lwIP: netdev.ip=A/P:G[:DNS] */
	XN_NETCONF_LINUX,    /* Linux: ip=A::G:MASK::eth0:off */
};
int xn_net_conv_parse(const char *s, enum xn_net_conv *out);
const char *xn_net_conv_name(enum xn_net_conv c);

/* Everything a pod's network is, for the vif and the guest. */
struct xn_pod_net {
	struct xn_pod_addrs a;
	unsigned prefix4, prefix6;
	char gw4[XN_IP_STRLEN], gw6[XN_IP_STRLEN];
	unsigned mtu;		 /* 0: not told */
	const char *dns;	 /* "10.96.0.10[,...]" (at most 3) or NULL */
	const char *search;	 /* "ns.svc.cluster.local svc.cluster.local ..." or NULL */
	const char *dns_options; /* "ndots:5 ..." or NULL */
};
/* The pod's network from the ranges its addresses came from. */
void xn_pod_net_fill(const struct xn_net_ranges *r, const struct xn_pod_addrs *a,
		     struct xn_pod_net *out);

/* The kernel command line: the user's (unchanged) with the convention's
 * arguments where the guest reads them, before the first "--" argument (the
 * end of the kernel's, Unikraft's or cmdliner's options) or at the end.
 * Unikraft reads library parameters only before a "--", so one is added
 * when the user wrote none.  malloc'd; NULL when the result is empty. */
char *xn_net_cmdline(enum xn_net_conv conv, const struct xn_pod_net *n, const char *user);

/* The guest's keys under /local/domain/<domid>/xenlet (relative names),
 * NULL-terminated, pointing into out. */
struct xn_net_guest_keys {
	const char *keys[16];
	const char *vals[16];
	char prefix4[12], prefix6[12], mask[XN_IP_STRLEN], mtu[12];
};
void xn_net_guest_keys(const struct xn_pod_net *n, struct xn_net_guest_keys *out);

/* The vif of a pod (pointers borrow from n and the arguments). */
void xn_net_vif(const struct xn_pod_net *n, const char *bridge, const char *script,
		struct xn_vif *out);

/* Is the host ready to plug a vif?  The bridge exists as a bridge
 * (<sys_class_net>/<bridge>/bridge, sys_class_net normally
 * "/sys/class/net") and the hotplug script is executable.  The error says
 * which is missing. */
int xn_net_host_check(const char *sys_class_net, const char *bridge, const char *script,
		      xn_err *err);

/* Is the node's pod network up (net_host.c)?  A range is known, the
 * bridge exists (<sys_class_net>/<bridge>/bridge), has the gateway address
 * of each range, and forwarding is on (<proc_sys>/net/ipv4/ip_forward,
 * net/ipv6/conf/all/forwarding; proc_sys normally "/proc/sys").  msg says
 * what is missing, or what is up. */
bool xn_net_host_up(const char *sys_class_net, const char *proc_sys, const char *bridge,
		    const struct xn_net_ranges *r, char *msg, size_t len);

/* podIP and podIPs of a pod status (IPv4 first); nothing when ip4 and ip6
 * are both empty. */
void xn_net_status_ips(cJSON *status, const char *ip4, const char *ip6);

#endif
