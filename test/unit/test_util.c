/* test_util.c - error wrapping, strict number parsing, xn_write_all, and the
 * one copy of each small helper: RFC 3339 times, DNS names, base64,
 * xn_dup_or_null. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/err.h"
#include "xenlet/util.h"

static void error_wrap_prefixes_context(void **state)
{
	xn_err err = NULL;

	assert_int_equal(xn_error(&err, EINVAL, "image %s: not an ELF", "x.img"), -1);
	assert_int_equal(xn_error_wrap(&err, "pod %s/%s", "default", "web"), -1);
	assert_string_equal(xn_error_msg(err), "pod default/web: image x.img: not an ELF");
	assert_int_equal(err->status, EINVAL);
	xn_error_free(&err);
	assert_null(err);
	xn_error_free(&err); /* idempotent */
	assert_string_equal(xn_error_msg(NULL), "(no error)");
}

static void error_errno_appends_strerror(void **state)
{
	xn_err err = NULL;

	xn_error_errno(&err, ENOENT, "open %s", "/nope");
	assert_string_equal(xn_error_msg(err), "open /nope: No such file or directory");
	xn_error_free(&err);
}

static void parse_u64_is_strict(void **state)
{
	uint64_t v;

	assert_int_equal(xn_parse_u64("42", 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(xn_parse_u64("101", 100, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(xn_parse_u64("4x", 100, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(xn_parse_u64("", 100, &v), -1);
	assert_int_equal(xn_parse_u64("-1", 100, &v), -1);
	assert_int_equal(xn_parse_u64(" 1", 100, &v), -1);
	assert_int_equal(xn_parse_u64("99999999999999999999999", UINT64_MAX, &v), -1);
}

static void parse_i64_bounds(void **state)
{
	int64_t v;

	assert_int_equal(xn_parse_i64("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(xn_parse_i64("-11", -10, 10, &v), -1);
	assert_int_equal(xn_parse_i64("--1", -10, 10, &v), -1);
}

static void write_all_writes_everything_or_says_why(void **state)
{
	char path[] = "/tmp/xn-test-util.XXXXXX";
	size_t len = 1 << 20;
	cleanup_free char *big = xn_xmalloc(len + 1);
	cleanup_free char *back = NULL;
	int fd = mkstemp(path), p[2];

	assert_true(fd >= 0);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	assert_int_equal(xn_write_all(fd, big, len), 0);
	assert_int_equal(xn_write_all(fd, "", 0), 0);
	close(fd);
	back = xn_test_slurp(path);
	unlink(path);
	assert_non_null(back);
	assert_string_equal(back, big);

	/* the read end of a pipe cannot be written: the caller gets errno */
	assert_int_equal(pipe(p), 0);
	errno = 0;
	assert_int_equal(xn_write_all(p[0], "x", 1), -1);
	assert_int_equal(errno, EBADF);
	close(p[0]);
	close(p[1]);
}

static void rfc3339_formats_every_precision(void **state)
{
	char b[XN_RFC3339_LEN], s[24];

	xn_rfc3339_fmt(0, 0, b);
	assert_string_equal(b, "1970-01-01T00:00:00Z");
	xn_rfc3339_fmt(1136214245123456789ULL, 0, b); /* metav1.Time: truncated */
	assert_string_equal(b, "2006-01-02T15:04:05Z");
	xn_rfc3339_fmt(1136214245123456789ULL, 3, b); /* our log lines */
	assert_string_equal(b, "2006-01-02T15:04:05.123Z");
	xn_rfc3339_fmt(1136214245123456789ULL, 6, b); /* metav1.MicroTime */
	assert_string_equal(b, "2006-01-02T15:04:05.123456Z");
	xn_rfc3339_fmt(1136214245000000000ULL, 6, b);
	assert_string_equal(b, "2006-01-02T15:04:05.000000Z");
	/* CRI log lines: always nine digits */
	xn_rfc3339_fmt(0, 9, b);
	assert_string_equal(b, "1970-01-01T00:00:00.000000000Z");
	xn_rfc3339_fmt(1475713029669794202ull, 9, b);
	assert_string_equal(b, "2016-10-06T00:17:09.669794202Z");
	xn_rfc3339_fmt(1475713029000000007ull, 9, b);
	assert_string_equal(b, "2016-10-06T00:17:09.000000007Z");
	/* Go's RFC3339Nano drops trailing zeros, and the dot with them */
	xn_rfc3339_fmt(1475713029669794200ull, XN_RFC3339_NANO, b);
	assert_string_equal(b, "2016-10-06T00:17:09.6697942Z");
	xn_rfc3339_fmt(1475713029000000000ull, XN_RFC3339_NANO, b);
	assert_string_equal(b, "2016-10-06T00:17:09Z");
	/* the seconds form keeps its 24-byte buffer */
	xn_rfc3339(1136214245999999999ULL, s);
	assert_string_equal(s, "2006-01-02T15:04:05Z");
}

static void rfc3339_parses_what_it_formats(void **state)
{
	const uint64_t samples[] = {0, 1136214245000000000ULL, 1475713029669794202ull,
				    4102444799999999999ULL};
	const int precisions[] = {0, 3, 6, 9, XN_RFC3339_NANO};
	char b[XN_RFC3339_LEN];
	uint64_t t;

	for (size_t i = 0; i < XN_ARRAY_SIZE(samples); i++)
		for (size_t j = 0; j < XN_ARRAY_SIZE(precisions); j++) {
			uint64_t unit = precisions[j] == 0   ? 1000000000ULL
					: precisions[j] == 3 ? 1000000ULL
					: precisions[j] == 6 ? 1000ULL
							     : 1;

			xn_rfc3339_fmt(samples[i], precisions[j], b);
			assert_int_equal(xn_rfc3339_parse(b, strlen(b), &t), 0);
			assert_int_equal(t, samples[i] - samples[i] % unit);
		}
}

static void rfc3339_parse_offsets_and_junk(void **state)
{
	uint64_t t;
	const char *bad[] = {
	    "",
	    "yesterday",
	    "2006-01-02T15:04:05",	 /* no zone */
	    "2006-01-02T15:04:05.Z",	 /* a dot without digits */
	    "2006-01-02 15:04:05Z",	 /* a blank is not a T */
	    "2006-1-02T15:04:05Z",	 /* two digits each */
	    "2006-13-02T15:04:05Z",	 /* month 13 */
	    "2006-01-02T24:04:05Z",	 /* hour 24 */
	    "2006-01-02T15:04:05+2:00",	 /* offset needs two digits */
	    "2006-01-02T15:04:05+ab:cd", /* and digits */
	    "2006-01-02T15:04:05Zjunk",
	    "1969-12-31T23:59:59Z", /* before the epoch: not a unix ns */
	};

	assert_int_equal(xn_rfc3339_parse("2006-01-02T15:04:05Z", 20, &t), 0);
	assert_int_equal(t, 1136214245000000000ULL);
	assert_int_equal(xn_rfc3339_parse("2006-01-02T17:04:05+02:00", 25, &t), 0);
	assert_int_equal(t, 1136214245000000000ULL);
	assert_int_equal(xn_rfc3339_parse("2006-01-02T10:34:05.5-04:30", 27, &t), 0);
	assert_int_equal(t, 1136214245500000000ULL);
	/* more than nine digits: the rest is below a nanosecond */
	assert_int_equal(xn_rfc3339_parse("2006-01-02T15:04:05.1234567899Z", 31, &t), 0);
	assert_int_equal(t, 1136214245123456789ULL);
	assert_int_equal(xn_rfc3339_parse("2006-01-02t15:04:05z", 20, &t), 0);
	assert_int_equal(t, 1136214245000000000ULL);
	/* len bounds the text: a CRI line goes on after the time */
	assert_int_equal(xn_rfc3339_parse("2006-01-02T15:04:05Z stdout F x", 20, &t), 0);
	assert_int_equal(t, 1136214245000000000ULL);
	assert_int_equal(xn_rfc3339_parse("2006-01-02T15:04:05Z stdout F x", 21, &t), -1);
	for (size_t i = 0; i < XN_ARRAY_SIZE(bad); i++)
		assert_int_equal(xn_rfc3339_parse(bad[i], strlen(bad[i]), &t), -1);
}

static void dns_names_as_kubernetes_checks_them(void **state)
{
	char long_label[65], long_sub[256];
	const char *bad_sub[] = {"", "-a", "a-", "A", "a_b", "a..b", "a.-b", "a-.b", ".a", "a."};

	assert_true(xn_dns_label("a"));
	assert_true(xn_dns_label("kube-system"));
	assert_true(xn_dns_label("0a9"));
	assert_false(xn_dns_label("a.b"));
	assert_false(xn_dns_label(NULL));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_false(xn_dns_label(long_label));
	long_label[63] = '\0';
	assert_true(xn_dns_label(long_label));

	assert_true(xn_dns_subdomain("a.b-c.d"));
	assert_true(xn_dns_subdomain("node-1.example.com"));
	assert_false(xn_dns_subdomain(NULL));
	for (size_t i = 0; i < XN_ARRAY_SIZE(bad_sub); i++)
		assert_false(xn_dns_subdomain(bad_sub[i]));
	/* 253 at most, each label a label */
	for (size_t i = 0; i < 254; i++)
		long_sub[i] = i % 2 ? '.' : 'a';
	long_sub[253] = '\0';
	assert_true(xn_dns_subdomain(long_sub));
	long_sub[253] = 'a';
	long_sub[254] = '\0';
	assert_false(xn_dns_subdomain(long_sub));
	/* Kubernetes bounds a subdomain's labels only by the whole */
	memset(long_sub, 'a', 100);
	long_sub[100] = '\0';
	assert_true(xn_dns_subdomain(long_sub));
	/* the length-bounded form reads only len bytes */
	assert_true(xn_dns_name("abc.def", 3, false));
	assert_false(xn_dns_name("abc.def", 7, false));
	assert_true(xn_dns_name("abc.def", 7, true));
	assert_false(xn_dns_name("abc.", 4, true));
}

static void base64_round_trip_and_junk(void **state)
{
	const unsigned char bin[] = {0, 1, 2, 0xff, 0xfe, 0, 0};
	unsigned char *d = NULL;
	size_t len = 0;
	cleanup_free char *e = xn_base64_encode("hello", 5);
	cleanup_free char *e2 = xn_base64_encode(bin, sizeof(bin));
	cleanup_free char *e0 = xn_base64_encode("", 0);

	assert_string_equal(e, "aGVsbG8=");
	assert_string_equal(e0, "");
	/* binary data keeps its trailing zero bytes */
	assert_int_equal(xn_base64_decode(e2, &d, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(d, bin, sizeof(bin));
	free(d);
	assert_int_equal(xn_base64_decode("aGVsbG8=", &d, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal((char *)d, "hello"); /* NUL-terminated: text can be used as is */
	free(d);
	assert_int_equal(xn_base64_decode("aGVs\nbG8h\n", &d, &len), 0); /* line breaks allowed */
	assert_int_equal(len, 6);
	assert_memory_equal(d, "hello!", 6);
	free(d);
	assert_int_equal(xn_base64_decode("", &d, &len), 0);
	assert_int_equal(len, 0);
	free(d);
	errno = 0;
	assert_int_equal(xn_base64_decode("aGVsbG8", &d, &len), -1); /* truncated */
	assert_int_equal(errno, EINVAL);
	assert_null(d);
	assert_int_equal(xn_base64_decode("aGV*bG8=", &d, &len), -1);
	assert_null(d);
	assert_int_equal(xn_base64_decode(" \n", &d, &len), -1); /* only blanks */
}

static void dup_or_null_keeps_null(void **state)
{
	const char *s = "x";
	cleanup_free char *d = xn_dup_or_null(s);

	assert_null(xn_dup_or_null(NULL));
	assert_string_equal(d, "x");
	assert_ptr_not_equal(d, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(error_wrap_prefixes_context),
	    cmocka_unit_test(error_errno_appends_strerror),
	    cmocka_unit_test(parse_u64_is_strict),
	    cmocka_unit_test(parse_i64_bounds),
	    cmocka_unit_test(write_all_writes_everything_or_says_why),
	    cmocka_unit_test(rfc3339_formats_every_precision),
	    cmocka_unit_test(rfc3339_parses_what_it_formats),
	    cmocka_unit_test(rfc3339_parse_offsets_and_junk),
	    cmocka_unit_test(dns_names_as_kubernetes_checks_them),
	    cmocka_unit_test(base64_round_trip_and_junk),
	    cmocka_unit_test(dup_or_null_keeps_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
