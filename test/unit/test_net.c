/* test_net.c - the net module: ranges, MACs from uids, the allocator on the
 * in-memory store (restart reuse, exhaustion, release, never twice, IPv6),
 * the command-line conventions, the guest's keys and podIPs. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/err.h"
#include "xenlet/net.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

struct fx {
	struct event_base *base;
	struct xn_store *st;
};

static int setup(void **state)
{
	struct fx *f = xn_xcalloc(1, sizeof(*f));
	xn_err err = NULL;

	unsetenv("XN_STORE_MEM_FILE");
	f->base = event_base_new();
	f->st = xn_store_open("mem", f->base, &err);
	if (f->st == NULL)
		fail_msg("open mem: %s", xn_error_msg(err));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	xn_store_close(f->st);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void expect_err(int rc, xn_err *err, int status, const char *needle)
{
	assert_int_equal(rc, -1);
	assert_non_null(*err);
	if (strstr(xn_error_msg(*err), needle) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", xn_error_msg(*err), needle);
	if (status)
		assert_int_equal((*err)->status, status);
	xn_error_free(err);
}

static struct xn_net_ranges ranges(const char *s)
{
	struct xn_net_ranges r;
	xn_err err = NULL;

	if (xn_net_ranges_parse(s, &r, &err) < 0)
		fail_msg("%s: %s", s, xn_error_msg(err));
	return r;
}

static struct xn_ipam *ipam_open(struct xn_store *st, const char *cidrs)
{
	xn_err err = NULL;
	char *warn = NULL;
	struct xn_ipam *ip = xn_ipam_new(st, &warn, &err);

	if (ip == NULL)
		fail_msg("ipam: %s", xn_error_msg(err));
	if (warn != NULL)
		fail_msg("ipam warns: %s", warn);
	if (cidrs != NULL) {
		struct xn_net_ranges r = ranges(cidrs);
		xn_ipam_set_ranges(ip, &r);
	}
	return ip;
}

static struct xn_pod_addrs alloc_ok(struct xn_ipam *ip, const char *uid)
{
	struct xn_pod_addrs a;
	xn_err err = NULL;

	if (xn_ipam_alloc(ip, uid, &a, &err) < 0)
		fail_msg("alloc %s: %s", uid, xn_error_msg(err));
	return a;
}

/* ---- ranges ---- */

static void cidrs_parse_and_refuse(void **state)
{
	struct xn_cidr c;
	char buf[XN_CIDR_STRLEN], ip[XN_IP_STRLEN];
	uint64_t n;
	xn_err err = NULL;

	assert_int_equal(xn_cidr_parse("10.244.1.0/24", &c, &err), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 24);
	xn_cidr_format(&c, buf);
	assert_string_equal(buf, "10.244.1.0/24");
	assert_int_equal(xn_cidr_size(&c), 256);
	xn_cidr_nth(&c, 1, ip);
	assert_string_equal(ip, "10.244.1.1");
	xn_cidr_nth(&c, 255, ip);
	assert_string_equal(ip, "10.244.1.255");
	assert_int_equal(xn_cidr_index(&c, "10.244.1.77", &n), 0);
	assert_int_equal(n, 77);
	assert_int_equal(xn_cidr_index(&c, "10.244.2.1", &n), -1);
	assert_int_equal(xn_cidr_index(&c, "fd00::1", &n), -1);
	assert_int_equal(xn_cidr_index(&c, "junk", &n), -1);

	/* a carry across bytes */
	assert_int_equal(xn_cidr_parse("10.244.0.0/16", &c, &err), 0);
	xn_cidr_nth(&c, 300, ip);
	assert_string_equal(ip, "10.244.1.44");
	assert_int_equal(xn_cidr_index(&c, "10.244.1.44", &n), 0);
	assert_int_equal(n, 300);

	assert_int_equal(xn_cidr_parse("fd00:10:244:1::/64", &c, &err), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(xn_cidr_size(&c), UINT64_MAX);
	xn_cidr_nth(&c, 2, ip);
	assert_string_equal(ip, "fd00:10:244:1::2");
	assert_int_equal(xn_cidr_index(&c, "fd00:10:244:1::1:0", &n), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(xn_cidr_index(&c, "fd00:10:244:2::1", &n), -1);
	/* a /48: host bits beyond the low 64 are out of reach */
	assert_int_equal(xn_cidr_parse("fd00:10::/48", &c, &err), 0);
	assert_int_equal(xn_cidr_index(&c, "fd00:10:0:1::", &n), -1);
	assert_int_equal(xn_cidr_index(&c, "fd00:10::5", &n), 0);
	assert_int_equal(n, 5);

	expect_err(xn_cidr_parse("10.244.1.5/24", &c, &err), &err, EINVAL, "host bits set");
	expect_err(xn_cidr_parse("10.244.1.0/31", &c, &err), &err, EINVAL, "at most /30");
	expect_err(xn_cidr_parse("10.244.1.0/33", &c, &err), &err, EINVAL, "want 0..32");
	expect_err(xn_cidr_parse("10.244.1.0/024", &c, &err), &err, EINVAL, "prefix");
	expect_err(xn_cidr_parse("10.244.1.0", &c, &err), &err, EINVAL, "ADDRESS/PREFIX");
	expect_err(xn_cidr_parse("10.244.1/24", &c, &err), &err, EINVAL, "no IPv4 or IPv6");
	expect_err(xn_cidr_parse("fd00::/127", &c, &err), &err, EINVAL, "at most /126");
	expect_err(xn_cidr_parse("", &c, &err), &err, EINVAL, "empty");

	xn_net_netmask4(24, ip);
	assert_string_equal(ip, "255.255.255.0");
	xn_net_netmask4(0, ip);
	assert_string_equal(ip, "0.0.0.0");
	xn_net_netmask4(19, ip);
	assert_string_equal(ip, "255.255.224.0");
}

static void ranges_one_per_family(void **state)
{
	struct xn_net_ranges r, r2;
	char buf[2 * XN_CIDR_STRLEN];
	xn_err err = NULL;

	r = ranges("fd00:1::/64,10.244.1.0/24");
	assert_true(r.has4 && r.has6);
	xn_net_ranges_format(&r, buf);
	assert_string_equal(buf, "10.244.1.0/24,fd00:1::/64");
	r2 = ranges(buf);
	assert_true(xn_net_ranges_equal(&r, &r2));
	r2 = ranges("10.244.1.0/24");
	assert_false(xn_net_ranges_equal(&r, &r2));
	expect_err(xn_net_ranges_parse("10.1.0.0/24,10.2.0.0/24", &r, &err), &err, EINVAL,
		   "at most one IPv4 and one IPv6");
	expect_err(xn_net_ranges_parse(",", &r, &err), &err, EINVAL, "no range");
	expect_err(xn_net_ranges_parse("10.1.0.0/24,bad", &r, &err), &err, EINVAL, "\"bad\"");
}

/* ---- MACs ---- */

static void macs_come_from_the_uid(void **state)
{
	char a[XN_MAC_STRLEN], b[XN_MAC_STRLEN], c[XN_MAC_STRLEN];

	xn_net_mac("0b1c2d3e-aaaa-bbbb-cccc-000000000001", 0, a);
	xn_net_mac("0b1c2d3e-aaaa-bbbb-cccc-000000000001", 0, b);
	assert_string_equal(a, b);
	assert_memory_equal(a, "00:16:3e:", 9);
	/* SHA-256("0b1c2d3e-aaaa-bbbb-cccc-000000000001") starts with these */
	assert_string_equal(a, "00:16:3e:77:cd:f6");
	xn_net_mac("0b1c2d3e-aaaa-bbbb-cccc-000000000002", 0, c);
	assert_string_not_equal(a, c);
	xn_net_mac("0b1c2d3e-aaaa-bbbb-cccc-000000000001", 1, b);
	assert_string_not_equal(a, b);
}

/* ---- the allocator ---- */

static void allocates_pod_addresses_only(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip = ipam_open(f->st, "10.244.1.0/29");
	char seen[8][XN_IP_STRLEN];
	struct xn_pod_addrs a;
	xn_err err = NULL;

	/* a /29: .0 network, .1 gateway, .7 broadcast: five pods */
	for (int i = 0; i < 5; i++) {
		char uid[16];

		snprintf(uid, sizeof(uid), "pod-%d", i);
		a = alloc_ok(ip, uid);
		snprintf(seen[i], XN_IP_STRLEN, "%s", a.ip4);
		assert_string_not_equal(a.ip4, "10.244.1.0");
		assert_string_not_equal(a.ip4, "10.244.1.1");
		assert_string_not_equal(a.ip4, "10.244.1.7");
		assert_string_equal(a.ip6, "");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[j], a.ip4);
	}
	/* the same pod asks again: the same addresses */
	a = alloc_ok(ip, "pod-3");
	assert_string_equal(a.ip4, seen[3]);
	assert_int_equal(xn_ipam_count(ip), 5);
	/* full: a clear error that names the range, and nothing changes */
	expect_err(xn_ipam_alloc(ip, "pod-5", &a, &err), &err, ENOSPC,
		   "pod network 10.244.1.0/29: no free address (all 5 in use)");
	assert_int_equal(xn_ipam_count(ip), 5);
	assert_int_equal(xn_ipam_get(ip, "pod-5", &a), -1);
	/* a release makes room: the freed address is the one left */
	assert_int_equal(xn_ipam_release(ip, "pod-2", &err), 0);
	assert_int_equal(xn_ipam_get(ip, "pod-2", &a), -1);
	a = alloc_ok(ip, "pod-5");
	assert_string_equal(a.ip4, seen[2]);
	/* releasing what is not there is no error */
	assert_int_equal(xn_ipam_release(ip, "pod-2", &err), 0);
	xn_ipam_free(ip);
}

static void no_range_no_address(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip = ipam_open(f->st, NULL);
	struct xn_pod_addrs a;
	xn_err err = NULL;

	assert_false(xn_ipam_configured(ip));
	expect_err(xn_ipam_alloc(ip, "pod-0", &a, &err), &err, ENETDOWN, "no pod CIDR yet");
	xn_ipam_free(ip);
}

static void a_released_address_waits_its_turn(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip = ipam_open(f->st, "10.244.1.0/24");
	struct xn_pod_addrs a, b, c;
	xn_err err = NULL;

	a = alloc_ok(ip, "a");
	b = alloc_ok(ip, "b");
	assert_string_equal(a.ip4, "10.244.1.2");
	assert_string_equal(b.ip4, "10.244.1.3");
	assert_int_equal(xn_ipam_release(ip, "a", &err), 0);
	c = alloc_ok(ip, "c");
	/* not .2 at once: a Service or a peer may still send to it */
	assert_string_equal(c.ip4, "10.244.1.4");
	xn_ipam_free(ip);
}

static void a_restart_reuses_the_records(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip = ipam_open(f->st, "10.244.1.0/24,fd00:10:244:1::/64");
	struct xn_pod_addrs a, b, again, c;
	xn_err err = NULL;

	a = alloc_ok(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000001");
	b = alloc_ok(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000002");
	assert_string_equal(a.ip6, "fd00:10:244:1::2");
	assert_string_equal(b.ip6, "fd00:10:244:1::3");
	xn_ipam_free(ip);

	/* a new daemon on the same store */
	ip = ipam_open(f->st, "10.244.1.0/24,fd00:10:244:1::/64");
	assert_int_equal(xn_ipam_count(ip), 2);
	assert_int_equal(xn_ipam_get(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000001", &again), 0);
	assert_memory_equal(&again, &a, sizeof(a));
	again = alloc_ok(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000002");
	assert_memory_equal(&again, &b, sizeof(b));
	/* a new pod gets neither address, nor either MAC */
	c = alloc_ok(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000003");
	assert_string_not_equal(c.ip4, a.ip4);
	assert_string_not_equal(c.ip4, b.ip4);
	assert_string_not_equal(c.ip6, a.ip6);
	assert_string_not_equal(c.ip6, b.ip6);
	assert_string_not_equal(c.mac, a.mac);
	assert_string_not_equal(c.mac, b.mac);
	xn_ipam_free(ip);

	/* the records are the schema's: released ones are gone from the store */
	ip = ipam_open(f->st, "10.244.1.0/24");
	assert_int_equal(xn_ipam_release(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000001", &err), 0);
	xn_ipam_free(ip);
	ip = ipam_open(f->st, "10.244.1.0/24");
	assert_int_equal(xn_ipam_count(ip), 2);
	assert_int_equal(xn_ipam_get(ip, "0b1c2d3e-aaaa-bbbb-cccc-000000000001", &again), -1);
	xn_ipam_free(ip);
}

static void a_new_range_moves_the_pod_at_its_next_start(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip = ipam_open(f->st, "10.244.1.0/24");
	struct xn_net_ranges r = ranges("10.244.7.0/24");
	struct xn_pod_addrs a, b;

	a = alloc_ok(ip, "p");
	xn_ipam_set_ranges(ip, &r);
	/* still recorded (its domain may run) until the pod starts again */
	assert_int_equal(xn_ipam_get(ip, "p", &b), 0);
	assert_string_equal(b.ip4, a.ip4);
	b = alloc_ok(ip, "p");
	assert_string_equal(b.ip4, "10.244.7.2");
	assert_string_equal(b.mac, a.mac);
	xn_ipam_free(ip);
}

static void mac_collisions_are_rederived(void **state)
{
	struct fx *f = *state;
	char taken[XN_MAC_STRLEN], next[XN_MAC_STRLEN];
	const char *keys[] = {"ipv4", "mac", NULL};
	const char *vals[] = {"10.244.1.9", taken, NULL};
	struct xn_ipam *ip;
	struct xn_pod_addrs a;
	xn_err err = NULL;

	/* another pod already holds the MAC the uid would get */
	xn_net_mac("victim", 0, taken);
	xn_net_mac("victim", 1, next);
	if (xn_store_record_put(f->st, "/xenlet/net/pods/other", keys, vals, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	ip = ipam_open(f->st, "10.244.1.0/24");
	a = alloc_ok(ip, "victim");
	assert_string_equal(a.mac, next);
	assert_string_not_equal(a.ip4, "10.244.1.9");
	/* and it keeps that one from now on */
	xn_ipam_free(ip);
	ip = ipam_open(f->st, "10.244.1.0/24");
	a = alloc_ok(ip, "victim");
	assert_string_equal(a.mac, next);
	xn_ipam_free(ip);
}

static bool keep_even(const char *uid, void *arg)
{
	return (uid[strlen(uid) - 1] - '0') % 2 == 0;
}

static void sweep_releases_unknown_pods(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip = ipam_open(f->st, "10.244.1.0/24");
	struct xn_pod_addrs a;

	for (int i = 0; i < 6; i++) {
		char uid[8];
		snprintf(uid, sizeof(uid), "p%d", i);
		alloc_ok(ip, uid);
	}
	assert_int_equal(xn_ipam_sweep(ip, keep_even, NULL), 3);
	assert_int_equal(xn_ipam_count(ip), 3);
	assert_int_equal(xn_ipam_get(ip, "p1", &a), -1);
	assert_int_equal(xn_ipam_get(ip, "p4", &a), 0);
	xn_ipam_free(ip);
}

static void a_broken_record_is_skipped_with_a_warning(void **state)
{
	struct fx *f = *state;
	struct xn_ipam *ip;
	char *warn = NULL;
	xn_err err = NULL;

	assert_int_equal(xn_store_set(f->st, "/xenlet/net/pods/bad/ipv4", "10.244.1.300", &err), 0);
	assert_int_equal(xn_store_set(f->st, "/xenlet/net/pods/bad/mac", "00:16:3e:00:00:01", &err),
			 0);
	assert_int_equal(xn_store_set(f->st, "/xenlet/net/pods/nomac/ipv4", "10.244.1.3", &err), 0);
	ip = xn_ipam_new(f->st, &warn, &err);
	assert_non_null(ip);
	assert_non_null(warn);
	assert_non_null(
	    strstr(warn, "pod address record bad: /xenlet/net/pods/bad/ipv4: bad syntax"));
	assert_non_null(strstr(warn, "pod address record nomac:"));
	assert_null(strstr(warn, "10.244.1.300")); /* never echoed */
	assert_int_equal(xn_ipam_count(ip), 0);
	free(warn);
	xn_ipam_free(ip);
}

/* ---- what the guest is told ---- */

static struct xn_pod_net pod_net(const char *cidrs, const char *ip4, const char *ip6)
{
	struct xn_net_ranges r = ranges(cidrs);
	struct xn_pod_addrs a;
	struct xn_pod_net n;

	memset(&a, 0, sizeof(a));
	snprintf(a.ip4, sizeof(a.ip4), "%s", ip4);
	snprintf(a.ip6, sizeof(a.ip6), "%s", ip6);
	snprintf(a.mac, sizeof(a.mac), "00:16:3e:12:34:56");
	xn_pod_net_fill(&r, &a, &n);
	return n;
}

static void cmdline_is(enum xn_net_conv conv, const struct xn_pod_net *n, const char *user,
		       const char *want)
{
	cleanup_free char *got = xn_net_cmdline(conv, n, user);

	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(got, want) != 0)
		fail_msg("%s with \"%s\": got \"%s\", want \"%s\"", xn_net_conv_name(conv),
			 user ? user : "(null)", got ? got : "(null)", want ? want : "(null)");
}

static void cmdline_conventions(void **state)
{
	struct xn_pod_net n = pod_net("10.244.1.0/24", "10.244.1.5", "");
	struct xn_pod_net d = pod_net("10.244.1.0/24,fd00:1::/64", "10.244.1.5", "fd00:1::5");
	struct xn_pod_net v6 = pod_net("fd00:1::/64", "", "fd00:1::5");
	enum xn_net_conv c;

	assert_string_equal(n.gw4, "10.244.1.1");
	assert_int_equal(n.prefix4, 24);

	/* MirageOS 4 */
	cmdline_is(XN_NETCONF_MIRAGE, &n, NULL, "--ipv4=10.244.1.5/24 --ipv4-gateway=10.244.1.1");
	cmdline_is(XN_NETCONF_MIRAGE, &n, "--hello=world",
		   "--hello=world --ipv4=10.244.1.5/24 --ipv4-gateway=10.244.1.1");
	cmdline_is(XN_NETCONF_MIRAGE, &n, "-l debug -- file",
		   "-l debug --ipv4=10.244.1.5/24 --ipv4-gateway=10.244.1.1 -- file");
	cmdline_is(XN_NETCONF_MIRAGE, &d, NULL,
		   "--ipv4=10.244.1.5/24 --ipv4-gateway=10.244.1.1 --ipv6=fd00:1::5/64 "
		   "--ipv6-gateway=fd00:1::1");
	cmdline_is(XN_NETCONF_MIRAGE, &v6, NULL, "--ipv6=fd00:1::5/64 --ipv6-gateway=fd00:1::1");

	/* Unikraft: library parameters before "--" */
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, NULL, "netdev.ip=10.244.1.5/24:10.244.1.1");
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, "/index.html 8080",
		   "netdev.ip=10.244.1.5/24:10.244.1.1 -- /index.html 8080");
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, "vfs.fstab=x -- 8080",
		   "vfs.fstab=x netdev.ip=10.244.1.5/24:10.244.1.1 -- 8080");
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, "-- 8080",
		   "netdev.ip=10.244.1.5/24:10.244.1.1 -- 8080");
	n.dns = "10.96.0.10,10.96.0.11";
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, NULL, "netdev.ip=10.244.1.5/24:10.244.1.1:10.96.0.10");
	/* lwIP's netdev.ip takes one IPv4 server: the first IPv4 one */
	n.dns = "fd00:10:96::a,10.96.0.11";
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, NULL, "netdev.ip=10.244.1.5/24:10.244.1.1:10.96.0.11");
	n.dns = "fd00:10:96::a";
	cmdline_is(XN_NETCONF_UNIKRAFT, &n, NULL, "netdev.ip=10.244.1.5/24:10.244.1.1");
	n.dns = "10.96.0.10,10.96.0.11";
	/* IPv4 only: nothing to say to a v6-only guest */
	cmdline_is(XN_NETCONF_UNIKRAFT, &v6, "8080", "8080");

	/* Linux */
	cmdline_is(XN_NETCONF_LINUX, &n, "console=hvc0",
		   "console=hvc0 ip=10.244.1.5::10.244.1.1:255.255.255.0::eth0:off:10.96.0.10");
	n.dns = NULL;
	cmdline_is(XN_NETCONF_LINUX, &n, "console=hvc0 -- --init-arg",
		   "console=hvc0 ip=10.244.1.5::10.244.1.1:255.255.255.0::eth0:off -- --init-arg");
	/* "--x" is no separator */
	cmdline_is(XN_NETCONF_LINUX, &n, "a --x",
		   "a --x ip=10.244.1.5::10.244.1.1:255.255.255.0::eth0:off");

	/* none: the user's line as it was */
	cmdline_is(XN_NETCONF_NONE, &n, "a -- b", "a -- b");
	cmdline_is(XN_NETCONF_NONE, &n, NULL, NULL);
	cmdline_is(XN_NETCONF_NONE, &n, "", NULL);

	assert_int_equal(xn_net_conv_parse("mirage", &c), 0);
	assert_int_equal(c, XN_NETCONF_MIRAGE);
	assert_int_equal(xn_net_conv_parse("unikraft", &c), 0);
	assert_int_equal(xn_net_conv_parse("linux", &c), 0);
	assert_int_equal(c, XN_NETCONF_LINUX);
	assert_int_equal(xn_net_conv_parse("none", &c), 0);
	assert_int_equal(c, XN_NETCONF_NONE);
	assert_int_equal(xn_net_conv_parse("Mirage", &c), -1);
	assert_int_equal(xn_net_conv_parse(NULL, &c), -1);
}

static const char *val_of(const struct xn_net_guest_keys *g, const char *key)
{
	for (size_t i = 0; g->keys[i] != NULL; i++)
		if (strcmp(g->keys[i], key) == 0)
			return g->vals[i];
	return NULL;
}

static void guest_keys_fit_the_schema(void **state)
{
	struct fx *f = *state;
	struct xn_pod_net d = pod_net("10.244.1.0/24,fd00:1::/64", "10.244.1.5", "fd00:1::5");
	struct xn_pod_net v4 = pod_net("10.244.1.0/24", "10.244.1.5", "");
	struct xn_net_guest_keys g;
	char *val = NULL;
	xn_err err = NULL;

	d.mtu = 1450;
	d.dns = "10.96.0.10,fd00:10:96::a";
	d.search = "default.svc.cluster.local svc.cluster.local cluster.local";
	d.dns_options = "ndots:5";
	xn_net_guest_keys(&d, &g);
	assert_string_equal(val_of(&g, "ip"), "10.244.1.5");
	assert_string_equal(val_of(&g, "prefix"), "24");
	assert_string_equal(val_of(&g, "netmask"), "255.255.255.0");
	assert_string_equal(val_of(&g, "gateway"), "10.244.1.1");
	assert_string_equal(val_of(&g, "ipv6"), "fd00:1::5");
	assert_string_equal(val_of(&g, "ipv6-prefix"), "64");
	assert_string_equal(val_of(&g, "ipv6-gateway"), "fd00:1::1");
	assert_string_equal(val_of(&g, "mac"), "00:16:3e:12:34:56");
	assert_string_equal(val_of(&g, "mtu"), "1450");
	assert_string_equal(val_of(&g, "dns"), "10.96.0.10,fd00:10:96::a");
	assert_string_equal(val_of(&g, "search"), d.search);
	assert_string_equal(val_of(&g, "dns-options"), "ndots:5");
	/* the store takes them: each is a guest config key of the schema */
	if (xn_store_guest_config_put(f->st, 7, g.keys, g.vals, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_int_equal(xn_store_get(f->st, "/local/domain/7/xenlet/ipv6-gateway", &val, &err), 0);
	assert_string_equal(val, "fd00:1::1");
	free(val);

	/* what is not known is not written */
	xn_net_guest_keys(&v4, &g);
	assert_null(val_of(&g, "ipv6"));
	assert_null(val_of(&g, "mtu"));
	assert_null(val_of(&g, "dns"));
	assert_null(val_of(&g, "search"));
	assert_null(val_of(&g, "dns-options"));
	assert_string_equal(val_of(&g, "ip"), "10.244.1.5");
}

static void vif_and_status_ips(void **state)
{
	struct xn_pod_net d = pod_net("10.244.1.0/24,fd00:1::/64", "10.244.1.5", "fd00:1::5");
	struct xn_pod_net v6 = pod_net("fd00:1::/64", "", "fd00:1::5");
	struct xn_vif vif;
	cJSON *s = cJSON_CreateObject();
	char *txt;

	xn_net_vif(&d, "xenlet0", "/etc/xen/scripts/vif-xenlet", &vif);
	assert_string_equal(vif.mac, "00:16:3e:12:34:56");
	assert_string_equal(vif.bridge, "xenlet0");
	assert_string_equal(vif.ip, "10.244.1.5");
	assert_string_equal(vif.script, "/etc/xen/scripts/vif-xenlet");
	xn_net_vif(&v6, "xenlet0", NULL, &vif);
	assert_string_equal(vif.ip, "fd00:1::5");
	assert_null(vif.script);

	xn_net_status_ips(s, "10.244.1.5", "fd00:1::5");
	txt = cJSON_PrintUnformatted(s);
	assert_string_equal(txt,
			    "{\"podIP\":\"10.244.1.5\",\"podIPs\":[{\"ip\":\"10.244.1.5\"},{\"ip\":"
			    "\"fd00:1::5\"}]}");
	free(txt);
	cJSON_Delete(s);
	s = cJSON_CreateObject();
	xn_net_status_ips(s, "", "fd00:1::5");
	txt = cJSON_PrintUnformatted(s);
	assert_string_equal(txt, "{\"podIP\":\"fd00:1::5\",\"podIPs\":[{\"ip\":\"fd00:1::5\"}]}");
	free(txt);
	cJSON_Delete(s);
	s = cJSON_CreateObject();
	xn_net_status_ips(s, "", NULL);
	assert_null(s->child);
	cJSON_Delete(s);
}

/* The host side a vif needs: the bridge (a directory "bridge" in sysfs)
 * and an executable hook; each missing piece is named. */
static void host_check_names_what_is_missing(void **state)
{
	char dir[] = "/tmp/xn-test-net.XXXXXX";
	cleanup_free char *eth = NULL, *br = NULL, *hook = NULL, *cmd = NULL;
	xn_err err = NULL;

	assert_non_null(mkdtemp(dir));
	eth = xn_xasprintf("%s/eth0", dir);
	br = xn_xasprintf("%s/xenlet0", dir);
	hook = xn_xasprintf("%s/vif-xenlet", dir);
	assert_int_equal(mkdir(eth, 0700), 0);
	expect_err(xn_net_host_check(dir, "xenlet0", NULL, &err), &err, ENODEV,
		   "pod network: bridge xenlet0 does not exist");
	expect_err(xn_net_host_check(dir, "eth0", NULL, &err), &err, ENODEV,
		   "bridge eth0 does not exist"); /* an interface, not a bridge */
	assert_int_equal(mkdir(br, 0700), 0);
	free(br);
	br = xn_xasprintf("%s/xenlet0/bridge", dir);
	assert_int_equal(mkdir(br, 0700), 0);
	assert_int_equal(xn_net_host_check(dir, "xenlet0", NULL, &err), 0);
	expect_err(xn_net_host_check(dir, "xenlet0", hook, &err), &err, ENOENT,
		   "pod network: vif hook");
	xn_test_write(hook, "#!/bin/sh\n");
	expect_err(xn_net_host_check(dir, "xenlet0", hook, &err), &err, EACCES, "vif hook");
	assert_int_equal(chmod(hook, 0700), 0);
	assert_int_equal(xn_net_host_check(dir, "xenlet0", hook, &err), 0);
	cmd = xn_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* flannel's subnet file gives the node's range and the overlay's MTU. */
static void flannel_subnet_file(void **state)
{
	struct xn_flannel_subnet f;
	char text[2 * XN_CIDR_STRLEN];
	xn_err err = NULL;

	(void)state;
	assert_int_equal(xn_flannel_subnet_parse("FLANNEL_NETWORK=10.244.0.0/16\n"
						 "FLANNEL_SUBNET=10.244.1.1/24\n"
						 "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
						 &f, &err),
			 0);
	xn_net_ranges_format(&f.ranges, text);
	assert_string_equal(text, "10.244.1.0/24");
	assert_string_equal(f.network, "10.244.0.0/16");
	assert_int_equal(f.mtu, 1450);
	assert_true(f.ipmasq);
	assert_int_equal(xn_flannel_subnet_parse("FLANNEL_SUBNET=10.244.1.1/24\r\n"
						 "FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"
						 "FLANNEL_IPMASQ=false\nOTHER=x\n",
						 &f, &err),
			 0);
	xn_net_ranges_format(&f.ranges, text);
	assert_string_equal(text, "10.244.1.0/24,fd00:10:244:1::/64");
	assert_int_equal(f.mtu, 0);
	assert_false(f.ipmasq);

	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"FLANNEL_MTU=1450\n", "no FLANNEL_SUBNET"},
	    {"FLANNEL_SUBNET=10.244.1.1\n", "FLANNEL_SUBNET=10.244.1.1: want ADDRESS/PREFIX"},
	    {"FLANNEL_SUBNET=10.244.1.1/31\n", "FLANNEL_SUBNET"},
	    {"FLANNEL_SUBNET=fd00::1/64\n", "not IPv4"},
	    {"FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=9x\n", "FLANNEL_MTU=9x"},
	    {"FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=20\n", "68..65535"},
	};
	for (size_t i = 0; i < XN_ARRAY_SIZE(bad); i++) {
		assert_int_equal(xn_flannel_subnet_parse(bad[i].text, &f, &err), -1);
		if (strstr(xn_error_msg(err), bad[i].want) == NULL)
			fail_msg("%s: got '%s', want '%s'", bad[i].text, xn_error_msg(err),
				 bad[i].want);
		xn_error_free(&err);
	}
}

/* Is the pod network up: a range, the bridge, its gateway, forwarding.  "lo"
 * plays the bridge (a fake sysfs says it is one): it has 127.0.0.1, the
 * gateway of 127.0.0.0/24. */
static void host_up_names_what_is_missing(void **state)
{
	char dir[] = "/tmp/xn-host-up.XXXXXX";
	cleanup_free char *cmd = NULL, *fwd = NULL;
	struct xn_net_ranges lo, other;
	char msg[160];
	xn_err err = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(xn_net_ranges_parse("127.0.0.0/24", &lo, &err), 0);
	assert_int_equal(xn_net_ranges_parse("10.244.1.0/24", &other, &err), 0);
	assert_false(xn_net_host_up(dir, dir, "lo", NULL, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "no pod CIDR"));
	assert_false(xn_net_host_up(dir, dir, "lo", &lo, msg, sizeof(msg)));
	assert_string_equal(msg, "pod bridge lo does not exist");
	cmd = xn_xasprintf("mkdir -p %s/lo/bridge %s/net/ipv4", dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_false(xn_net_host_up(dir, dir, "lo", &other, msg, sizeof(msg)));
	assert_string_equal(msg, "pod bridge lo does not have the gateway address 10.244.1.1/24");
	assert_false(xn_net_host_up(dir, dir, "lo", &lo, msg, sizeof(msg)));
	assert_string_equal(msg, "IPv4 forwarding is off (net.ipv4.ip_forward)");
	fwd = xn_xasprintf("%s/net/ipv4/ip_forward", dir);
	xn_test_write(fwd, "0\n");
	assert_false(xn_net_host_up(dir, dir, "lo", &lo, msg, sizeof(msg)));
	xn_test_write(fwd, "1\n");
	assert_true(xn_net_host_up(dir, dir, "lo", &lo, msg, sizeof(msg)));
	assert_non_null(strstr(msg, "up on this node (bridge lo, gateway 127.0.0.1)"));
	free(cmd);
	cmd = xn_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cidrs_parse_and_refuse),
	    cmocka_unit_test(ranges_one_per_family),
	    cmocka_unit_test(macs_come_from_the_uid),
	    cmocka_unit_test_setup_teardown(allocates_pod_addresses_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_range_no_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_released_address_waits_its_turn, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_restart_reuses_the_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_new_range_moves_the_pod_at_its_next_start, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(mac_collisions_are_rederived, setup, teardown),
	    cmocka_unit_test_setup_teardown(sweep_releases_unknown_pods, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_broken_record_is_skipped_with_a_warning, setup,
					    teardown),
	    cmocka_unit_test(cmdline_conventions),
	    cmocka_unit_test_setup_teardown(guest_keys_fit_the_schema, setup, teardown),
	    cmocka_unit_test(vif_and_status_ips),
	    cmocka_unit_test(host_check_names_what_is_missing),
	    cmocka_unit_test(flannel_subnet_file),
	    cmocka_unit_test(host_up_names_what_is_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
