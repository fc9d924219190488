/* net_ipam.c - the pod address allocator (see net.h): addresses and MACs
 * per pod uid, kept in memory and recorded under /xenlet/net/pods/<uid>. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenlet/net.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

#define NET_PODS "/xenlet/net/pods"
/* MAC candidates tried per pod before giving up (2^24 values per node). */
#define MAC_ATTEMPTS 64

struct ent {
	char *uid;
	struct xn_pod_addrs a;
};

struct xn_ipam {
	struct xn_store *st;
	struct xn_net_ranges r;
	struct ent *v;
	size_t n;
	uint64_t last4, last6; /* index of the address last handed out */
};

static struct ent *find(const struct xn_ipam *ip, const char *uid)
{
	for (size_t i = 0; i < ip->n; i++)
		if (strcmp(ip->v[i].uid, uid) == 0)
			return &ip->v[i];
	return NULL;
}

/* Read one field of a record: 0 (absent is "" and fine unless required). */
static int load_field(struct xn_store *st, const char *uid, const char *key, char *out, size_t size,
		      bool required, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf(NET_PODS "/%s/%s", uid, key);
	char *val = NULL;

	out[0] = '\0';
	if (xn_store_record_get(st, path, &val, err) < 0) {
		if (*err != NULL && (*err)->status == ENOENT && !required) {
			xn_error_free(err);
			return 0;
		}
		return -1;
	}
	snprintf(out, size, "%s", val);
	free(val);
	return 0;
}

static void add_warning(char **warn, const char *msg)
{
	char *w;

	if (warn == NULL)
		return;
	w = *warn ? xn_xasprintf("%s; %s", *warn, msg) : xn_xstrdup(msg);
	free(*warn);
	*warn = w;
}

struct xn_ipam *xn_ipam_new(struct xn_store *st, char **warn, xn_err *err)
{
	struct xn_ipam *ip = xn_xcalloc(1, sizeof(*ip));
	char **names = NULL;
	size_t nn = 0;
	xn_err e = NULL;

	if (warn)
		*warn = NULL;
	ip->st = st;
	if (xn_store_list(st, NET_PODS, &names, &nn, &e) < 0) {
		if (e->status != ENOENT) {
			xn_error(err, e->status, "pod address records: %s", xn_error_msg(e));
			xn_error_free(&e);
			free(ip);
			return NULL;
		}
		xn_error_free(&e);
	}
	ip->v = xn_xcalloc(nn ? nn : 1, sizeof(*ip->v));
	for (size_t i = 0; i < nn; i++) {
		struct ent en = {0};

		if (load_field(st, names[i], "ipv4", en.a.ip4, sizeof(en.a.ip4), false, &e) < 0 ||
		    load_field(st, names[i], "ipv6", en.a.ip6, sizeof(en.a.ip6), false, &e) < 0 ||
		    load_field(st, names[i], "mac", en.a.mac, sizeof(en.a.mac), true, &e) < 0) {
			cleanup_free char *m =
			    xn_xasprintf("pod address record %s: %s", names[i], xn_error_msg(e));
			add_warning(warn, m);
			xn_error_free(&e);
			continue;
		}
		en.uid = xn_xstrdup(names[i]);
		ip->v[ip->n++] = en;
	}
	xn_store_list_free(names);
	return ip;
}

void xn_ipam_free(struct xn_ipam *ip)
{
	if (ip == NULL)
		return;
	for (size_t i = 0; i < ip->n; i++)
		free(ip->v[i].uid);
	free(ip->v);
	free(ip);
}

static const char *addr_of(const struct xn_pod_addrs *a, int family)
{
	return family == AF_INET ? a->ip4 : a->ip6;
}

/* The last index pods may have: the one before the broadcast address,
 * within the pool's limit. */
static uint64_t last_usable(const struct xn_cidr *c)
{
	uint64_t size = xn_cidr_size(c);
	uint64_t hi = size == UINT64_MAX ? UINT64_MAX - 1 : size - 2;

	return hi > XN_NET_POOL_MAX + 1 ? XN_NET_POOL_MAX + 1 : hi;
}

/* Is addr a pod address of range c (not network, gateway or broadcast)? */
static bool usable(const struct xn_cidr *c, const char *addr, uint64_t *idx)
{
	return addr[0] != '\0' && xn_cidr_index(c, addr, idx) == 0 && *idx >= 2 &&
	       *idx <= last_usable(c);
}

/* The highest index of the range handed out, 1 when none (the cursor
 * after a restart, so a daemon restart does not rewind it). */
static uint64_t highest(const struct xn_ipam *ip, const struct xn_cidr *c)
{
	uint64_t hi = 1, idx;

	for (size_t i = 0; i < ip->n; i++)
		if (usable(c, addr_of(&ip->v[i].a, c->family), &idx) && idx > hi)
			hi = idx;
	return hi;
}

void xn_ipam_set_ranges(struct xn_ipam *ip, const struct xn_net_ranges *r)
{
	ip->r = *r;
	ip->last4 = r->has4 ? highest(ip, &r->v4) : 1;
	ip->last6 = r->has6 ? highest(ip, &r->v6) : 1;
}

bool xn_ipam_configured(const struct xn_ipam *ip)
{
	return ip->r.has4 || ip->r.has6;
}

const struct xn_net_ranges *xn_ipam_ranges(const struct xn_ipam *ip)
{
	return &ip->r;
}

static bool index_taken(const struct xn_ipam *ip, const struct xn_cidr *c, uint64_t idx)
{
	uint64_t other;

	for (size_t i = 0; i < ip->n; i++)
		if (usable(c, addr_of(&ip->v[i].a, c->family), &other) && other == idx)
			return true;
	return false;
}

/* The next free address of c after *last, wrapping once round the range. */
static int pick(const struct xn_ipam *ip, const struct xn_cidr *c, uint64_t *last,
		char out[XN_IP_STRLEN], xn_err *err)
{
	uint64_t hi = last_usable(c), count = hi - 1, idx = *last;
	char range[XN_CIDR_STRLEN];

	for (uint64_t k = 0; k < count; k++) {
		idx = idx >= hi || idx < 2 ? 2 : idx + 1;
		if (!index_taken(ip, c, idx)) {
			*last = idx;
			xn_cidr_nth(c, idx, out);
			return 0;
		}
	}
	xn_cidr_format(c, range);
	return xn_error(err, ENOSPC, "pod network %s: no free address (all %llu in use)", range,
			(unsigned long long)count);
}

static bool mac_taken(const struct xn_ipam *ip, const char *uid, const char *mac)
{
	for (size_t i = 0; i < ip->n; i++)
		if (strcmp(ip->v[i].uid, uid) != 0 && strcmp(ip->v[i].a.mac, mac) == 0)
			return true;
	return false;
}

static int record(struct xn_ipam *ip, const char *uid, const struct xn_pod_addrs *a, xn_err *err)
{
	cleanup_free char *dir = xn_xasprintf(NET_PODS "/%s", uid);
	const char *keys[4], *vals[4];
	size_t n = 0;

	if (a->ip4[0]) {
		keys[n] = "ipv4";
		vals[n++] = a->ip4;
	}
	if (a->ip6[0]) {
		keys[n] = "ipv6";
		vals[n++] = a->ip6;
	}
	keys[n] = "mac";
	vals[n++] = a->mac;
	keys[n] = vals[n] = NULL;
	return xn_store_record_put(ip->st, dir, keys, vals, err);
}

int xn_ipam_alloc(struct xn_ipam *ip, const char *uid, struct xn_pod_addrs *out, xn_err *err)
{
	struct ent *e = find(ip, uid);
	struct xn_pod_addrs na;
	uint64_t last4 = ip->last4, last6 = ip->last6, idx;

	memset(&na, 0, sizeof(na));
	if (!xn_ipam_configured(ip))
		return xn_error(err, ENETDOWN,
				"pod network: no pod CIDR yet (the Node's spec.podCIDR or the "
				"podCIDR setting)");
	if (e != NULL)
		na = e->a;
	if (!ip->r.has4)
		na.ip4[0] = '\0';
	else if (!usable(&ip->r.v4, na.ip4, &idx) && pick(ip, &ip->r.v4, &last4, na.ip4, err) < 0)
		return -1;
	if (!ip->r.has6)
		na.ip6[0] = '\0';
	else if (!usable(&ip->r.v6, na.ip6, &idx) && pick(ip, &ip->r.v6, &last6, na.ip6, err) < 0)
		return -1;
	for (unsigned attempt = 0; na.mac[0] == '\0' || mac_taken(ip, uid, na.mac); attempt++) {
		if (attempt == MAC_ATTEMPTS)
			return xn_error(err, EEXIST,
					"pod %s: no MAC address free of collisions in %d attempts",
					uid, MAC_ATTEMPTS);
		xn_net_mac(uid, attempt, na.mac);
	}
	if (e == NULL || memcmp(&na, &e->a, sizeof(na)) != 0) {
		if (record(ip, uid, &na, err) < 0)
			return xn_error_wrap(err, "pod network");
	}
	if (e == NULL) {
		ip->v = xn_xrealloc(ip->v, (ip->n + 1) * sizeof(*ip->v));
		e = &ip->v[ip->n++];
		e->uid = xn_xstrdup(uid);
	}
	e->a = na;
	ip->last4 = last4;
	ip->last6 = last6;
	*out = na;
	return 0;
}

int xn_ipam_get(const struct xn_ipam *ip, const char *uid, struct xn_pod_addrs *out)
{
	const struct ent *e = find(ip, uid);

	if (e == NULL)
		return -1;
	*out = e->a;
	return 0;
}

int xn_ipam_release(struct xn_ipam *ip, const char *uid, xn_err *err)
{
	struct ent *e = find(ip, uid);
	cleanup_free char *dir = NULL;

	if (e == NULL)
		return 0;
	dir = xn_xasprintf(NET_PODS "/%s", uid);
	/* the record goes first: an address is free only once no restart can
	 * bring it back */
	if (xn_store_rm(ip->st, dir, err) < 0)
		return xn_error_wrap(err, "pod network: release %s", uid);
	free(e->uid);
	*e = ip->v[--ip->n];
	return 0;
}

size_t xn_ipam_sweep(struct xn_ipam *ip, bool (*keep)(const char *uid, void *arg), void *arg)
{
	size_t gone = 0;

	for (size_t i = 0; i < ip->n;) {
		cleanup_free char *uid = xn_xstrdup(ip->v[i].uid);
		xn_err err = NULL;

		if (keep(uid, arg)) {
			i++;
			continue;
		}
		if (xn_ipam_release(ip, uid, &err) < 0) {
			xn_error_free(&err);
			i++;
			continue;
		}
		gone++; /* the last entry moved to i: look at it next */
	}
	return gone;
}

size_t xn_ipam_count(const struct xn_ipam *ip)
{
	return ip->n;
}
