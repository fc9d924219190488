/* test_kube.c - the watch stream's line splitting (no network). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/kube_internal.h"
#include "xenlet/util.h"

struct lines {
	char got[8][32];
	int n;
	int fail_at;
};

static int collect(const char *s, size_t n, void *arg)
{
	struct lines *l = arg;

	if (l->n == l->fail_at)
		return -1;
	assert_true(n < sizeof(l->got[0]));
	memcpy(l->got[l->n], s, n);
	l->got[l->n++][n] = '\0';
	return 0;
}

static void lines_split_across_chunks(void **state)
{
	struct lines l = {.fail_at = -1};
	char buf[64];
	size_t len = 0;

	/* "a\nbb\n" then "cc" + "c\n": the partial line waits for its end. */
	memcpy(buf, "a\nbb\ncc", 7);
	len = 7;
	assert_int_equal(kube_lines_split(buf, &len, 16, collect, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.got[0], "a");
	assert_string_equal(l.got[1], "bb");
	assert_int_equal(len, 2);
	assert_memory_equal(buf, "cc", 2);
	memcpy(buf + len, "c\n", 2);
	len += 2;
	assert_int_equal(kube_lines_split(buf, &len, 16, collect, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.got[2], "ccc");
	assert_int_equal(len, 0);
}

static void lines_too_long_fail(void **state)
{
	struct lines l = {.fail_at = -1};
	char buf[64];
	size_t len;

	memcpy(buf, "0123456789", 10); /* no newline yet, longer than max 8 */
	len = 10;
	assert_int_equal(kube_lines_split(buf, &len, 8, collect, &l), -1);
	assert_int_equal(l.n, 0);
	memcpy(buf, "ok\n0123456789\n", 14); /* a complete line longer than max */
	len = 14;
	assert_int_equal(kube_lines_split(buf, &len, 8, collect, &l), -1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.got[0], "ok");
}

static void line_callback_failure_stops(void **state)
{
	struct lines l = {.fail_at = 1};
	char buf[16];
	size_t len = 6;

	memcpy(buf, "a\nb\nc\n", 6);
	assert_int_equal(kube_lines_split(buf, &len, 8, collect, &l), -1);
	assert_int_equal(l.n, 1);
}

static void event_names(void **state)
{
	assert_string_equal(xn_kube_event_name(XN_KUBE_ADDED), "ADDED");
	assert_string_equal(xn_kube_event_name(XN_KUBE_ERROR), "ERROR");
	assert_string_equal(xn_kube_event_name((enum xn_kube_event_type)99), "?");
}

static void meta_and_escape(void **state)
{
	cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"7\"}}");
	char *e = xn_kube_escape("spec.nodeName=a b&c");

	assert_string_equal(xn_kube_meta(o, "name"), "n");
	assert_string_equal(xn_kube_meta(o, "resourceVersion"), "7");
	assert_null(xn_kube_meta(o, "namespace"));
	assert_null(xn_kube_meta(NULL, "name"));
	assert_string_equal(e, "spec.nodeName%3Da%20b%26c");
	free(e);
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lines_split_across_chunks),
	    cmocka_unit_test(lines_too_long_fail),
	    cmocka_unit_test(line_callback_failure_stops),
	    cmocka_unit_test(event_names),
	    cmocka_unit_test(meta_and_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
