/* test_kapi_connlimit.c - the kubelet API's unauthenticated connections:
 * total and per-address caps with the oldest closed first, IPv6 counted by
 * /64, removal, and the once-per-interval log limiter. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/kapi_connlimit.h"

static struct sockaddr_storage v4(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void per_address_oldest_out(void **state)
{
	struct kcl l;
	struct kcl_node n[6] = {0};
	struct sockaddr_storage a = v4("10.0.0.1"), b = v4("10.0.0.2");

	kcl_init(&l, 100, 3);
	for (int i = 0; i < 3; i++)
		assert_null(kcl_admit(&l, &n[i], SA(a)));
	/* another address is not affected by a's cap */
	assert_null(kcl_admit(&l, &n[3], SA(b)));
	assert_int_equal(kcl_count_addr(&l, SA(a)), 3);
	/* the fourth from a pushes out a's oldest, not b's */
	assert_ptr_equal(kcl_admit(&l, &n[4], SA(a)), &n[0]);
	assert_false(n[0].listed);
	assert_int_equal(kcl_count_addr(&l, SA(a)), 3);
	assert_int_equal(kcl_count_addr(&l, SA(b)), 1);
	assert_ptr_equal(kcl_admit(&l, &n[5], SA(a)), &n[1]);
	assert_int_equal(l.n, 4);
}

static void total_oldest_out(void **state)
{
	struct kcl l;
	struct kcl_node n[5] = {0};
	char ip[32];

	kcl_init(&l, 3, 2);
	for (int i = 0; i < 3; i++) {
		struct sockaddr_storage s;

		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		s = v4(ip);
		assert_null(kcl_admit(&l, &n[i], SA(s)));
	}
	{
		struct sockaddr_storage s = v4("192.0.2.9");

		/* a newcomer always gets in: the oldest of all goes */
		assert_ptr_equal(kcl_admit(&l, &n[3], SA(s)), &n[0]);
		assert_ptr_equal(kcl_oldest(&l), &n[1]);
		/* authenticated: off the list, its slot is free */
		kcl_remove(&l, &n[2]);
		kcl_remove(&l, &n[2]); /* idempotent */
		assert_int_equal(l.n, 2);
		assert_null(kcl_admit(&l, &n[4], SA(s)));
		assert_ptr_equal(l.newest, &n[4]);
	}
}

static void ipv6_by_prefix(void **state)
{
	struct kcl l;
	struct kcl_node n[3] = {0};
	struct sockaddr_storage a = v6("2001:db8:1:2::1"), b = v6("2001:db8:1:2::ffff"),
				c = v6("2001:db8:1:3::1");

	kcl_init(&l, 100, 1);
	assert_null(kcl_admit(&l, &n[0], SA(a)));
	/* the same /64 counts as one source */
	assert_ptr_equal(kcl_admit(&l, &n[1], SA(b)), &n[0]);
	/* another /64 does not */
	assert_null(kcl_admit(&l, &n[2], SA(c)));
	assert_int_equal(kcl_count_addr(&l, SA(a)), 1);
}

static void ratelimit(void **state)
{
	struct kcl_ratelimit r = {0};
	unsigned held = 99;
	const uint64_t s = 1000000000ull;

	assert_true(kcl_ratelimit_ok(&r, 5 * s, 10 * s, &held));
	assert_int_equal(held, 0);
	for (int i = 0; i < 1000; i++)
		assert_false(kcl_ratelimit_ok(&r, 5 * s + (uint64_t)i * 1000, 10 * s, &held));
	assert_false(kcl_ratelimit_ok(&r, 14 * s, 10 * s, &held));
	assert_true(kcl_ratelimit_ok(&r, 15 * s, 10 * s, &held));
	assert_int_equal(held, 1001);
	assert_false(kcl_ratelimit_ok(&r, 16 * s, 10 * s, &held));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(per_address_oldest_out),
	    cmocka_unit_test(total_oldest_out),
	    cmocka_unit_test(ipv6_by_prefix),
	    cmocka_unit_test(ratelimit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
