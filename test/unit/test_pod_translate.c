/* test_pod_translate.c - Pod JSON -> pod spec, golden files; admission.
 * XN_UPDATE_GOLDEN=1 rewrites test/fixtures/pods/<name>.expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* A pod with resources.<kind>.<res> set to q, translated. */
static int translate_with(const char *kind, const char *res, const char *q,
			  struct xn_pod_spec *spec)
{
	struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};
	struct xn_pod_reject rej;
	char *warnings = NULL;
	cleanup_free char *json = xn_xasprintf(
	    "{\"metadata\":{\"uid\":\"u1\",\"namespace\":\"default\",\"name\":\"big\"},"
	    "\"spec\":{\"terminationGracePeriodSeconds\":1e300,\"containers\":[{\"name\":"
	    "\"app\",\"image\":\"/var/lib/xenlet/images/"
	    "img\",\"resources\":{\"%s\":{\"%s\":\"%s\"}}}]}}",
	    kind, res, q);
	cJSON *pod = cJSON_Parse(json);
	int rc;

	assert_non_null(pod);
	rc = xn_pod_translate(pod, &def, spec, &warnings, &rej);
	if (rc < 0)
		print_error("rejected %s: %s\n", rej.reason, rej.message);
	free(warnings);
	cJSON_Delete(pod);
	return rc;
}

/* The spec as the runtime stores it loads back (pod_spec.c's limits). */
static void assert_stored_spec_loads(const struct xn_pod_spec *spec)
{
	cleanup_free char *json = xn_pod_spec_to_json(spec);
	struct xn_pod_spec back;
	xn_err err = NULL;

	if (xn_pod_spec_from_json(json, &back, &err) < 0)
		fail_msg("%s: %s", json, xn_error_msg(err));
	xn_pod_spec_dispose(&back);
}

/* Issue 9, finding 5 (found again by test/fuzz/fuzz_pod_translate): huge
 * quantities overflowed in translation and admission, so a pod asking for
 * 8 EiB was admitted on a 1 GiB node; a huge CPU limit gave a cap the
 * stored spec could not load back; a huge grace period was an undefined
 * double -> unsigned conversion. */
static void huge_quantities_clamped_and_refused(void **state)
{
	struct xn_node_resources alloc = {.memory_bytes = 1LL << 30, .cpu_milli = 2000, .pods = 3};
	struct xn_node_resources used = {0};
	struct xn_pod_reject rej;
	struct xn_pod_spec spec;

	assert_int_equal(translate_with("limits", "memory", "9223372036854775807", &spec), 0);
	assert_true(spec.memory_kb > (1ULL << 30) / 1024);
	assert_int_equal(spec.grace_s, 365 * 86400);
	assert_stored_spec_loads(&spec);
	assert_int_equal(xn_pod_admit(&spec, 0, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfmemory");
	xn_pod_spec_dispose(&spec);

	assert_int_equal(translate_with("limits", "cpu", "9223372036854775807m", &spec), 0);
	assert_int_equal(spec.vcpus, 128);
	assert_int_equal(spec.cpu_cap, 12800);
	assert_stored_spec_loads(&spec);
	xn_pod_spec_dispose(&spec);

	assert_int_equal(translate_with("requests", "cpu", "9223372036854775807m", &spec), 0);
	assert_int_equal(spec.cpu_request_milli, 128000);
	assert_true(spec.cpu_weight > 0 && spec.cpu_weight <= 65535);
	assert_stored_spec_loads(&spec);
	xn_pod_spec_dispose(&spec);

	/* admission sums do not wrap either */
	spec = (struct xn_pod_spec){.memory_kb = 1ULL << 20};
	alloc.memory_bytes = INT64_MAX;
	used.memory_bytes = INT64_MAX - 1000;
	assert_int_equal(xn_pod_admit(&spec, 0, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfmemory");
	used.memory_bytes = 0;
	alloc.cpu_milli = INT64_MAX;
	used.cpu_milli = INT64_MAX - 10;
	assert_int_equal(xn_pod_admit(&spec, 1000, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfcpu");
	assert_int_equal(xn_pod_admit(&spec, INT64_MAX, &alloc, &used, &rej), -1);
	/* a stored spec of 2^64-1 KiB on an empty 1 GiB node */
	spec.memory_kb = UINT64_MAX;
	alloc = (struct xn_node_resources){.memory_bytes = 1LL << 30, .cpu_milli = 2000, .pods = 3};
	used = (struct xn_node_resources){0};
	assert_int_equal(xn_pod_admit(&spec, 0, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfmemory");
}

/* Issue 9, finding 7: names become file names (CRI logs under
 * <ns>_<name>_<uid>/<container>/, specs under <root>/pods/<uid>.json), so the
 * daemon checks them as Kubernetes does, whoever sent the pod: a container
 * named "../../../escaped" wrote its log outside the log root. */
static void names_are_checked(void **state)
{
	static const struct {
		const char *field; /* container, name, namespace, uid */
		const char *value;
		bool ok;
	} cases[] = {
	    {"container", "app", true},
	    {"container", "a-1", true},
	    {"container", "0", true},
	    {"container", "../../../escaped", false},
	    {"container", "..", false},
	    {"container", "a/b", false},
	    {"container", "App", false},
	    {"container", "a_b", false},
	    {"container", "a.b", false},
	    {"container", "-a", false},
	    {"container", "a-", false},
	    {"container", "", false},
	    {"name", "hello", true},
	    {"name", "a.b-c.d", true},
	    {"name", "../escaped", false},
	    {"name", "a/b", false},
	    {"name", "Hello", false},
	    {"name", "", false},
	    {"namespace", "kube-system", true},
	    {"namespace", "a.b", false},
	    {"namespace", "..", false},
	    {"uid", "0b7c4f7e-1111-4222-8333-444455556666", true},
	    {"uid", "../x", false},
	    {"uid", "a/b", false},
	    {"uid", "", false},
	};
	cleanup_free char *c63 = xn_xasprintf("%063d", 0), *c64 = xn_xasprintf("%064d", 0);

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases) + 2; i++) {
		const char *field = i < XN_ARRAY_SIZE(cases) ? cases[i].field : "container";
		const char *value = i < XN_ARRAY_SIZE(cases)	? cases[i].value
				    : i == XN_ARRAY_SIZE(cases) ? c63
								: c64;
		bool want = i < XN_ARRAY_SIZE(cases) ? cases[i].ok : i == XN_ARRAY_SIZE(cases);
		bool is = !strcmp(field, "container");
		cleanup_free char *json = xn_xasprintf(
		    "{\"metadata\":{\"uid\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\"},"
		    "\"spec\":{\"containers\":[{\"name\":\"%s\",\"image\":"
		    "\"/var/lib/xenlet/images/hello.sim\"}]}}",
		    !strcmp(field, "uid") ? value : "u-1",
		    !strcmp(field, "namespace") ? value : "default",
		    !strcmp(field, "name") ? value : "p", is ? value : "main");
		struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};
		struct xn_pod_spec spec;
		struct xn_pod_reject rej;
		char *warnings = NULL;
		cJSON *pod = cJSON_Parse(json);
		int rc;

		assert_non_null(pod);
		rc = xn_pod_translate(pod, &def, &spec, &warnings, &rej);
		if ((rc == 0) != want)
			fail_msg("%s \"%s\": %s (%s)", field, value,
				 rc == 0 ? "accepted" : "refused", rc == 0 ? "" : rej.message);
		if (rc == 0) {
			assert_string_equal(is ? spec.container : "main", is ? value : "main");
			xn_pod_spec_dispose(&spec);
		} else {
			assert_string_equal(rej.reason, "UnsupportedPodSpec");
		}
		free(warnings);
		cJSON_Delete(pod);
	}
}

/* Issue 9, finding 5 as it was reported: limits.memory 2^63-1 was admitted
 * on an 8 GiB node; and once such a pod was counted, the node's used memory
 * (KiB summed by the runtime, then made bytes) wrapped and a 64 GiB pod was
 * admitted too. */
static void int64_max_memory_refused_on_8gib_node(void **state)
{
	struct xn_node_resources alloc = {
	    .memory_bytes = 8LL << 30, .cpu_milli = 4000, .pods = 110};
	struct xn_node_resources used = {0};
	struct xn_pod_reject rej;
	struct xn_pod_spec spec;

	assert_int_equal(translate_with("limits", "memory", "9223372036854775807", &spec), 0);
	assert_int_equal(xn_pod_admit(&spec, 0, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfmemory");
	assert_non_null(strstr(rej.message, "Node didn't have enough resource: memory"));
	assert_non_null(strstr(rej.message, "capacity: 8589934592"));
	xn_pod_spec_dispose(&spec);

	/* the used sum as pod_sync computes it: 2^54 KiB is 2^64 bytes */
	assert_int_equal(xn_kib_to_bytes(1ULL << 54), INT64_MAX);
	assert_int_equal(xn_kib_to_bytes(UINT64_MAX), INT64_MAX);
	assert_int_equal(xn_kib_to_bytes((uint64_t)INT64_MAX / 1024), (INT64_MAX / 1024) * 1024);
	assert_int_equal(xn_kib_to_bytes((uint64_t)INT64_MAX / 1024 + 1), INT64_MAX);
	assert_int_equal(xn_kib_to_bytes(512), 512 * 1024);
	used.memory_bytes = xn_kib_to_bytes(1ULL << 54);
	assert_int_equal(translate_with("limits", "memory", "64Gi", &spec), 0);
	assert_int_equal(xn_pod_admit(&spec, 0, &alloc, &used, &rej), -1);
	assert_string_equal(rej.reason, "OutOfmemory");
	xn_pod_spec_dispose(&spec);
}

/* Issue 11: a guest type only when the pod asks for one; otherwise the
 * kernel's Xen notes choose it when the pod runs (hv_guard.h). */
static void guest_type_asked_or_from_kernel(void **state)
{
	static const struct {
		const char *ann; /* NULL: no annotation */
		enum xn_guest_type type;
		bool from_kernel;
	} cases[] = {
	    {NULL, XN_GUEST_PVH, true}, {"pv", XN_GUEST_PV, false}, {"pvh", XN_GUEST_PVH, false}};
	struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};

	(void)state;
	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		cleanup_free char *json = xn_xasprintf(
		    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"uid\":\"u1\","
		    "\"annotations\":{%s%s%s}},\"spec\":{\"containers\":[{\"name\":\"c\","
		    "\"image\":\"/var/lib/xenlet/images/k\"}]}}",
		    cases[i].ann ? "\"xenlet.io/guest-type\":\"" : "",
		    cases[i].ann ? cases[i].ann : "", cases[i].ann ? "\"" : "");
		cJSON *pod = cJSON_Parse(json);
		struct xn_pod_spec spec;
		struct xn_pod_reject rej;
		char *warnings = NULL;

		assert_non_null(pod);
		assert_int_equal(xn_pod_translate(pod, &def, &spec, &warnings, &rej), 0);
		assert_int_equal(spec.type, cases[i].type);
		assert_int_equal(spec.type_from_kernel, cases[i].from_kernel);
		xn_pod_spec_dispose(&spec);
		free(warnings);
		cJSON_Delete(pod);
	}
}

#define GOLDEN(n) cmocka_unit_test_prestate(golden, (void *)n)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    GOLDEN("basic"),
	    GOLDEN("defaults"),
	    GOLDEN("bad-image-ref"),
	    GOLDEN("two-containers"),
	    GOLDEN("container-image"),
	    GOLDEN("bad-quantity"),
	    GOLDEN("control-char"),
	    GOLDEN("dotdot"),
	    GOLDEN("sa-token"),
	    GOLDEN("boot-timeout"),
	    GOLDEN("bad-boot-timeout"),
	    GOLDEN("bad-container-name"),
	    GOLDEN("bad-pod-name"),
	    GOLDEN("bad-namespace"),
	    GOLDEN("image-outside-roots"),
	    GOLDEN("image-sibling-root"),
	    GOLDEN("ramdisk-outside-roots"),
	    GOLDEN("ramdisk-dotdot"),
	    GOLDEN("unknown-annotation"),
	    cmocka_unit_test(names_are_checked),
	    cmocka_unit_test(guest_type_asked_or_from_kernel),
	    GOLDEN("net-config"),
	    GOLDEN("bad-net-config"),
	    GOLDEN("probes"),
	    GOLDEN("bad-probe"),
	    GOLDEN("env"),
	    GOLDEN("bad-env-name"),
	    GOLDEN("bad-env-field"),
	    GOLDEN("env-configmap"),
	    cmocka_unit_test(admission),
	    cmocka_unit_test(huge_quantities_clamped_and_refused),
	    cmocka_unit_test(int64_max_memory_refused_on_8gib_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
