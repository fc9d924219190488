/* test_pod_translate.c - Pod JSON -> pod spec, golden files; admission.
 * XN_UPDATE_GOLDEN=1 rewrites test/fixtures/pods/<name>.expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/pod_translate.h"
#include "xenlet/util.h"

/* What a translation produced, as text: the spec JSON or the rejection. */
static char *outcome(const char *name)
{
	char path[512];
	char *json, *spec_json, *warnings = NULL, *res;
	struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};
	struct xn_pod_spec spec;
	struct xn_pod_reject rej;
	cJSON *pod;

	snprintf(path, sizeof(path), "%s/test/fixtures/pods/%s.json", XN_SRCDIR, name);
	json = xn_test_slurp(path);
	assert_non_null(json);
	pod = cJSON_Parse(json);
	assert_non_null(pod);
	if (xn_pod_translate(pod, &def, &spec, &warnings, &rej) < 0) {
		res = xn_xasprintf("rejected %s: %s\n", rej.reason, rej.message);
	} else {
		spec_json = xn_pod_spec_to_json(&spec);
		res = xn_xasprintf("spec %s\nwarnings %s\nqos %s\ncpu-request %lld\n", spec_json,
				   warnings, xn_pod_qos_class(pod),
				   (long long)xn_pod_cpu_request(pod));
		free(spec_json);
		xn_pod_spec_dispose(&spec);
	}
	free(warnings);
	cJSON_Delete(pod);
	free(json);
	return res;
}

static void golden(void **state)
{
	const char *name = *state;
	char path[512];
	cleanup_free char *got = outcome(name);

	snprintf(path, sizeof(path), "%s/test/fixtures/pods/%s.expected", XN_SRCDIR, name);
	xn_test_golden(path, got);
}

static void admission(void **state)
{
	struct xn_pod_spec s = {.memory_kb = 512 * 1024};
	struct xn_node_resources alloc = {.memory_bytes = 1LL << 30, .cpu_milli = 2000, .pods = 3};
	struct xn_node_resources used = {.memory_bytes = 600LL << 20, .cpu_milli = 1000, .pods = 1};
	struct xn_pod_reject rej;

	assert_int_equal(xn_pod_admit(&s, 500, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfmemory");
	assert_string_equal(rej.message, "Node didn't have enough resource: memory, requested: "
					 "536870912, used: 629145600, capacity: 1073741824");
	s.memory_kb = 128 * 1024;
	assert_int_equal(xn_pod_admit(&s, 500, &alloc, &used, &rej), 0);
	assert_int_equal(xn_pod_admit(&s, 1500, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfcpu");
	used.pods = 3;
	assert_int_equal(xn_pod_admit(&s, 0, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfpods");
}

#define GOLDEN(n) cmocka_unit_test_prestate(golden, (void *)n)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    GOLDEN("basic"),
	    GOLDEN("defaults"),
	    GOLDEN("two-containers"),
	    GOLDEN("container-image"),
	    GOLDEN("bad-quantity"),
	    GOLDEN("control-char"),
	    GOLDEN("dotdot"),
	    GOLDEN("sa-token"),
	    GOLDEN("boot-timeout"),
	    GOLDEN("bad-boot-timeout"),
	    cmocka_unit_test(admission),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
