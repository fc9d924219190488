/* net_host.c - is the node's pod network up?  The pod bridge exists and
 * carries the gateway address of each pod range, and the kernel forwards
 * (what the Node's NetworkUnavailable condition reports, node_status.c). */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "xenlet/net.h"
#include "xenlet/util.h"

/* Does interface ifname have the address text gw (of family fam)? */
static bool has_address(const char *ifname, int fam, const char *gw)
{
	struct ifaddrs *all, *i;
	unsigned char want[16];
	bool found = false;

	if (inet_pton(fam, gw, want) != 1 || getifaddrs(&all) < 0)
		return false;
	for (i = all; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != fam ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		if (fam == AF_INET)
			found = memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, want,
				       4) == 0;
		else
			found = memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
				       want, 16) == 0;
	}
	freeifaddrs(all);
	return found;
}

/* Is the sysctl file "1"? */
static bool sysctl_on(const char *proc_sys, const char *name)
{
	cleanup_free char *path = xn_xasprintf("%s/%s", proc_sys, name);
	char buf[8] = "";
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return buf[0] == '1';
}

bool xn_net_host_up(const char *sys_class_net, const char *proc_sys, const char *bridge,
		    const struct xn_net_ranges *r, char *msg, size_t len)
{
	cleanup_free char *dir = xn_xasprintf("%s/%s/bridge", sys_class_net, bridge);
	char gw[XN_IP_STRLEN];
	struct stat st;

	if (r == NULL || (!r->has4 && !r->has6)) {
		snprintf(msg, len,
			 "no pod CIDR: the Node has no spec.podCIDR and no podCIDR "
			 "setting or flannel subnet file gives one");
		return false;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(msg, len, "pod bridge %s does not exist", bridge);
		return false;
	}
	if (r->has4) {
		xn_cidr_nth(&r->v4, 1, gw);
		if (!has_address(bridge, AF_INET, gw)) {
			snprintf(msg, len, "pod bridge %s does not have the gateway address %s/%u",
				 bridge, gw, r->v4.prefix);
			return false;
		}
		if (!sysctl_on(proc_sys, "net/ipv4/ip_forward")) {
			snprintf(msg, len, "IPv4 forwarding is off (net.ipv4.ip_forward)");
			return false;
		}
	}
	if (r->has6) {
		xn_cidr_nth(&r->v6, 1, gw);
		if (!has_address(bridge, AF_INET6, gw)) {
			snprintf(msg, len, "pod bridge %s does not have the gateway address %s/%u",
				 bridge, gw, r->v6.prefix);
			return false;
		}
		if (!sysctl_on(proc_sys, "net/ipv6/conf/all/forwarding")) {
			snprintf(msg, len, "IPv6 forwarding is off (net.ipv6.conf.all.forwarding)");
			return false;
		}
	}
	if (r->has4)
		xn_cidr_nth(&r->v4, 1, gw);
	snprintf(msg, len, "xenlet's pod network is up on this node (bridge %s, gateway %s)",
		 bridge, gw);
	return true;
}
