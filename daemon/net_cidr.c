/* net_cidr.c - address ranges: parse, format, the n-th address, where an
 * address lies (see net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenlet/net.h"
#include "xenlet/util.h"

static unsigned addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Are the bits of a from bit `from` on all zero? */
static bool host_bits_zero(const unsigned char *a, unsigned len, unsigned from)
{
	for (unsigned bit = from; bit < len * 8; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int xn_cidr_parse(const char *s, struct xn_cidr *out, xn_err *err)
{
	char buf[XN_CIDR_STRLEN];
	const char *slash;
	uint64_t prefix;
	unsigned len, max;

	memset(out, 0, sizeof(*out));
	if (s == NULL || s[0] == '\0')
		return xn_error(err, EINVAL, "pod CIDR: empty");
	slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= sizeof(buf))
		return xn_error(err, EINVAL, "pod CIDR \"%s\": want ADDRESS/PREFIX", s);
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return xn_error(err, EINVAL, "pod CIDR \"%s\": \"%s\" is no IPv4 or IPv6 address",
				s, buf);
	len = addr_len(out->family);
	/* the range must hold the network, the gateway, a pod and (IPv4) the
	 * broadcast address */
	max = len * 8 - 2;
	if (xn_parse_u64(slash + 1, len * 8, &prefix) < 0 || (slash[1] == '0' && slash[2] != '\0'))
		return xn_error(err, EINVAL, "pod CIDR \"%s\": prefix \"%s\": want 0..%u", s,
				slash + 1, len * 8);
	if (prefix > max)
		return xn_error(err, EINVAL,
				"pod CIDR \"%s\": a /%u has no address left for a pod (at most "
				"/%u)",
				s, (unsigned)prefix, max);
	out->prefix = (unsigned)prefix;
	if (!host_bits_zero(out->addr, len, out->prefix))
		return xn_error(err, EINVAL,
				"pod CIDR \"%s\": host bits set (the range starts at its network "
				"address)",
				s);
	return 0;
}

void xn_cidr_format(const struct xn_cidr *c, char out[XN_CIDR_STRLEN])
{
	char a[XN_IP_STRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(out, XN_CIDR_STRLEN, "%s/%u", a, c->prefix);
}

uint64_t xn_cidr_size(const struct xn_cidr *c)
{
	unsigned host = addr_len(c->family) * 8 - c->prefix;

	return host >= 64 ? UINT64_MAX : 1ull << host;
}

void xn_cidr_nth(const struct xn_cidr *c, uint64_t n, char out[XN_IP_STRLEN])
{
	unsigned char a[16];
	unsigned len = addr_len(c->family);
	unsigned carry = 0;

	memcpy(a, c->addr, len);
	/* add n to the address, a big-endian number */
	for (unsigned i = len; i-- > 0;) {
		unsigned sum = a[i] + (unsigned)(n & 0xff) + carry;

		a[i] = (unsigned char)sum;
		carry = sum >> 8;
		n >>= 8;
	}
	inet_ntop(c->family, a, out, XN_IP_STRLEN);
}

int xn_cidr_index(const struct xn_cidr *c, const char *addr, uint64_t *n)
{
	unsigned char a[16];
	unsigned len = addr_len(c->family);
	uint64_t v = 0;

	if (addr == NULL || inet_pton(c->family, addr, a) != 1)
		return -1;
	for (unsigned bit = 0; bit < c->prefix; bit++)
		if ((a[bit / 8] ^ c->addr[bit / 8]) & (0x80 >> (bit % 8)))
			return -1;
	/* the offset: the host bits, which must fit in 64 */
	for (unsigned bit = 0; bit < c->prefix; bit++)
		a[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	for (unsigned i = 0; i < len; i++) {
		if (i + 8 < len && a[i] != 0)
			return -1;
		if (i + 8 >= len)
			v = (v << 8) | a[i];
	}
	*n = v;
	return 0;
}

void xn_net_netmask4(unsigned prefix, char out[XN_IP_STRLEN])
{
	uint32_t m = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);

	snprintf(out, XN_IP_STRLEN, "%u.%u.%u.%u", m >> 24, (m >> 16) & 0xff, (m >> 8) & 0xff,
		 m & 0xff);
}

int xn_net_ranges_parse(const char *s, struct xn_net_ranges *out, xn_err *err)
{
	cleanup_free char *copy = xn_xstrdup(s ? s : "");
	char *save = NULL;
	unsigned n = 0;

	memset(out, 0, sizeof(*out));
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		struct xn_cidr c;

		if (xn_cidr_parse(tok, &c, err) < 0)
			return -1;
		if (++n > 2 || (c.family == AF_INET ? out->has4 : out->has6))
			return xn_error(err, EINVAL,
					"pod CIDRs \"%s\": at most one IPv4 and one IPv6 range", s);
		if (c.family == AF_INET) {
			out->has4 = true;
			out->v4 = c;
		} else {
			out->has6 = true;
			out->v6 = c;
		}
	}
	if (n == 0)
		return xn_error(err, EINVAL, "pod CIDRs \"%s\": no range", s ? s : "");
	return 0;
}

void xn_net_ranges_format(const struct xn_net_ranges *r, char out[2 * XN_CIDR_STRLEN])
{
	char a[XN_CIDR_STRLEN] = "", b[XN_CIDR_STRLEN] = "";

	if (r->has4)
		xn_cidr_format(&r->v4, a);
	if (r->has6)
		xn_cidr_format(&r->v6, b);
	snprintf(out, 2 * XN_CIDR_STRLEN, "%s%s%s", a, a[0] && b[0] ? "," : "", b);
}

static bool cidr_equal(const struct xn_cidr *a, const struct xn_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

bool xn_net_ranges_equal(const struct xn_net_ranges *a, const struct xn_net_ranges *b)
{
	return a->has4 == b->has4 && a->has6 == b->has6 &&
	       (!a->has4 || cidr_equal(&a->v4, &b->v4)) && (!a->has6 || cidr_equal(&a->v6, &b->v6));
}
