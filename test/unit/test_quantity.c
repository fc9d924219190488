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
	    cmocka_unit_test(bytes),
	    cmocka_unit_test(milli),
	    cmocka_unit_test(rejects),
	    cmocka_unit_test(format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
