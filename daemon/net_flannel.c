/* net_flannel.c - flannel's subnet file (/run/flannel/subnet.env, written
 * by flanneld): this node's pod range and the overlay's MTU.  Pure: the
 * caller reads the file. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/net.h"
#include "xenlet/util.h"

/* "10.244.1.1/24" (an address of the range, as flannel writes the
 * gateway) into the range "10.244.1.0/24". */
static int subnet_range(const char *key, const char *v, struct xn_cidr *out, xn_err *err)
{
	char buf[XN_CIDR_STRLEN];
	const char *slash = strchr(v, '/');
	unsigned char mask[16];
	unsigned prefix;
	struct xn_cidr c;
	char addr[XN_IP_STRLEN];
	int fam, bytes;
	unsigned char a[16];

	if (slash == NULL || (size_t)(slash - v) >= sizeof(addr) ||
	    xn_parse_u64(slash + 1, 128, &(uint64_t){0}) < 0)
		return xn_error(err, EINVAL, "%s=%.64s: want ADDRESS/PREFIX", key, v);
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	prefix = (unsigned)strtoul(slash + 1, NULL, 10);
	fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	bytes = fam == AF_INET ? 4 : 16;
	if (inet_pton(fam, addr, a) != 1 || prefix > (unsigned)bytes * 8)
		return xn_error(err, EINVAL, "%s=%.64s: want ADDRESS/PREFIX", key, v);
	memset(mask, 0, sizeof(mask));
	for (unsigned i = 0; i < prefix; i++)
		mask[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	for (int i = 0; i < bytes; i++)
		a[i] &= mask[i];
	inet_ntop(fam, a, addr, sizeof(addr));
	snprintf(buf, sizeof(buf), "%s/%u", addr, prefix);
	if (xn_cidr_parse(buf, &c, err) < 0)
		return xn_error_wrap(err, "%s", key);
	*out = c;
	return 0;
}

int xn_flannel_subnet_parse(const char *text, struct xn_flannel_subnet *out, xn_err *err)
{
	const char *line = text ? text : "";

	memset(out, 0, sizeof(*out));
	while (*line) {
		size_t len = strcspn(line, "\n");
		cleanup_free char *buf = xn_xmalloc(len + 1);
		char *eq, *v;

		memcpy(buf, line, len);
		buf[len] = '\0';
		line += len + (line[len] == '\n');
		if (len && buf[len - 1] == '\r')
			buf[len - 1] = '\0';
		eq = strchr(buf, '=');
		if (buf[0] == '#' || eq == NULL)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (strcmp(buf, "FLANNEL_SUBNET") == 0) {
			if (subnet_range(buf, v, &out->ranges.v4, err) < 0)
				return -1;
			if (out->ranges.v4.family != AF_INET)
				return xn_error(err, EINVAL, "FLANNEL_SUBNET=%.64s: not IPv4", v);
			out->ranges.has4 = true;
		} else if (strcmp(buf, "FLANNEL_IPV6_SUBNET") == 0) {
			if (subnet_range(buf, v, &out->ranges.v6, err) < 0)
				return -1;
			if (out->ranges.v6.family != AF_INET6)
				return xn_error(err, EINVAL, "FLANNEL_IPV6_SUBNET=%.64s: not IPv6",
						v);
			out->ranges.has6 = true;
		} else if (strcmp(buf, "FLANNEL_NETWORK") == 0) {
			snprintf(out->network, sizeof(out->network), "%.*s",
				 (int)sizeof(out->network) - 1, v);
		} else if (strcmp(buf, "FLANNEL_MTU") == 0) {
			uint64_t m;

			if (xn_parse_u64(v, 65535, &m) < 0 || m < 68)
				return xn_error(err, EINVAL,
						"FLANNEL_MTU=%.64s: want a number 68..65535", v);
			out->mtu = (unsigned)m;
		} else if (strcmp(buf, "FLANNEL_IPMASQ") == 0) {
			out->ipmasq = strcmp(v, "true") == 0;
		}
	}
	if (!out->ranges.has4 && !out->ranges.has6)
		return xn_error(err, EINVAL, "no FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET");
	return 0;
}
