/* test_quantity.c - Kubernetes quantities as apimachinery reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/quantity.h"

static int64_t q(const char *s, int scale)
{
	int64_t v = -1;
	xn_err err = NULL;

	if (xn_quantity_parse(s, scale, &v, &err) < 0) {
		xn_error_free(&err);
		return -1;
	}
	return v;
}

static void bytes(void **state)
{
	assert_int_equal(q("128Mi", 0), 128LL << 20);
	assert_int_equal(q("1.5Gi", 0), 3LL << 29);
	assert_int_equal(q("1G", 0), 1000000000LL);
	assert_int_equal(q("129e6", 0), 129000000LL);
	assert_int_equal(q("42", 0), 42);
	assert_int_equal(q("0", 0), 0);
	assert_int_equal(q("+1Ki", 0), 1024);
	/* "E" and "Ei" are suffixes (exa, exbi), "E3" and "e3" exponents; "Ei"
	 * and "E" were read as a bad exponent (found by the quantity fuzzer:
	 * 5Ei, as xn_quantity_format_bytes writes it, did not parse back) */
	assert_int_equal(q("5Ei", 0), 5LL << 60);
	assert_int_equal(q("2E", 0), 2000000000000000000LL);
	assert_int_equal(q("1E3", 0), 1000);
	assert_int_equal(q("1e-3", 3), 1);
	assert_int_equal(q("1Ex", 0), -1);
}

static void milli(void **state)
{
	assert_int_equal(q("500m", 3), 500);
	assert_int_equal(q("2", 3), 2000);
	assert_int_equal(q("0.1", 3), 100);
	assert_int_equal(q("1.0005", 3), 1001); /* rounded up like the kubelet */
	assert_int_equal(q("250000u", 3), 250);
}

static void rejects(void **state)
{
	xn_err err = NULL;
	int64_t v;

	assert_int_equal(xn_quantity_parse("12Qi", 0, &v, &err), -1);
	assert_string_equal(xn_error_msg(err), "quantity \"12Qi\": unknown suffix \"Qi\"");
	xn_error_free(&err);
	assert_int_equal(q("-1", 0), -1);
	assert_int_equal(q("", 0), -1);
	assert_int_equal(q("Mi", 0), -1);
	assert_int_equal(q("1 Mi", 0), -1);
	assert_int_equal(q("9999999Ei", 0), -1);
	assert_int_equal(q("1e999", 0), -1);
}

/* Values at and just past INT64_MAX, in every form that scales (issue 9,
 * finding 5: quantities are added and scaled later, so the parser must
 * refuse what does not fit rather than wrap; run under UBSan by make SAN=1). */
static void near_the_limits(void **state)
{
	assert_int_equal(q("9223372036854775807", 0), INT64_MAX);
	assert_int_equal(q("9223372036854775808", 0), -1);
	assert_int_equal(q("99999999999999999999999999999999999999999", 0), -1);
	assert_int_equal(q("9223372036854775807.1", 0), -1); /* rounds up past the limit */
	assert_int_equal(q("9223372036854775806.1", 0), INT64_MAX);
	assert_int_equal(q("7Ei", 0), 7LL << 60); /* "Ei" and "E" are suffixes, "E3" an exponent */
	assert_int_equal(q("1Ei", 0), 1LL << 60);
	assert_int_equal(q("1E", 0), 1000000000000000000LL);
	assert_int_equal(q("2E3", 0), 2000);
	assert_int_equal(q("2E+3", 0), 2000);
	assert_int_equal(q("8Ei", 0), -1);
	assert_int_equal(q("8191Pi", 0), 8191LL << 50);
	assert_int_equal(q("8192Pi", 0), -1);
	assert_int_equal(q("9E", 0), 9000000000000000000LL);
	assert_int_equal(q("10E", 0), -1);
	assert_int_equal(q("9.223372036854775807E", 0), INT64_MAX);
	assert_int_equal(q("9.223372036854775808E", 0), -1);
	assert_int_equal(q("1e18", 0), 1000000000000000000LL);
	assert_int_equal(q("1e19", 0), -1);
	assert_int_equal(q("1e30", 0), -1);
	assert_int_equal(q("1e-30", 0), 1); /* rounded up, never to 0 */
	/* milli-units: the limit is 1000 times lower */
	assert_int_equal(q("9223372036854775", 3), 9223372036854775000LL);
	assert_int_equal(q("9223372036854775.807", 3), INT64_MAX);
	assert_int_equal(q("9223372036854776", 3), -1);
	assert_int_equal(q("9223372036854775807m", 3), INT64_MAX);
	assert_int_equal(q("9223372036854775808m", 3), -1);
	assert_int_equal(q("9223372036854775807", 3), -1);
	assert_int_equal(q("8Ei", 3), -1);
	assert_int_equal(q("1n", 3), 1);
	/* many digits after the point are read, not counted into an overflow */
	assert_int_equal(q("0.0000000000000000000000000000000000000001", 0), 1);
	assert_int_equal(q("1.00000000000000000000000000000000000000000000", 0), 1);
}

static void format(void **state)
{
	char buf[32];

	xn_quantity_format_bytes(128LL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "128Mi");
	xn_quantity_format_bytes(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1000");
	xn_quantity_format_milli(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500m");
	xn_quantity_format_milli(4000, buf, sizeof(buf));
	assert_string_equal(buf, "4");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bytes),	       cmocka_unit_test(milli),	 cmocka_unit_test(rejects),
	    cmocka_unit_test(near_the_limits), cmocka_unit_test(format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
