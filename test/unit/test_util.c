/* test_util.c - error wrapping, strict number parsing, xn_write_all. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(error_wrap_prefixes_context),
	    cmocka_unit_test(error_errno_appends_strerror),
	    cmocka_unit_test(parse_u64_is_strict),
	    cmocka_unit_test(parse_i64_bounds),
	    cmocka_unit_test(write_all_writes_everything_or_says_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
