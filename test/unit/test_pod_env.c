/* test_pod_env.c - env as the kubelet computes it: expansion, fieldRef,
 * resourceFieldRef, order and duplicates, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/pod_env.h"

static struct xn_env ctx(void)
{
	struct xn_env e = {0};

	xn_env_set(&e, "VAR_A", "A");
	xn_env_set(&e, "VAR_B", "B");
	xn_env_set(&e, "VAR_C", "C");
	xn_env_set(&e, "VAR_REF", "$(VAR_A)");
	xn_env_set(&e, "VAR_EMPTY", "");
	return e;
}

/* expand_test.go's table (k8s.io/kubernetes third_party/forked/golang/expansion) */
static void expansion_table(void **state)
{
	static const char *const cases[][2] = {
	    {"$(VAR_A)", "A"},
	    {"___$(VAR_B)___", "___B___"},
	    {"___$(VAR_C)", "___C"},
	    {"$(VAR_A)-$(VAR_A)", "A-A"},
	    {"$(VAR_A)-1", "A-1"},
	    {"$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
	    {"$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
	    {"$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"},
	    {"f000-$$VAR_A", "f000-$VAR_A"},
	    {"foo\\$(VAR_C)bar", "foo\\Cbar"},
	    {"foo\\\\$(VAR_C)bar", "foo\\\\Cbar"},
	    {"$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"},
	    {"$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
	    {"$(VAR_REF)", "$(VAR_A)"},
	    {"%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"},
	    {"foo$(VAR_EMPTY)bar", "foobar"},
	    {"$(VAR_DNE)", "$(VAR_DNE)"},
	    {"$(VAR_A)$(VAR_DNE)", "A$(VAR_DNE)"},
	    {"$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
	    {"$$$$$$$(BIG_MONEY)", "$$$$(BIG_MONEY)"},
	    {"$$$$$$(VAR_A)", "$$$(VAR_A)"},
	    {"$$$$$$$(VAR_A)", "$$$A"},
	    {"$VAR_A", "$VAR_A"},
	    {"$(VAR_A)$", "A$"},
	    {"$$", "$"},
	    {"$", "$"},
	    {"$)", "$)"},
	    {"$(", "$("},
	    {"$$(", "$("},
	    {"$$$(VAR_A", "$$(VAR_A"},
	    {"$()", "$()"},
	    {"$(VAR_A", "$(VAR_A"},
	    {"f00__(VAR_A)__", "f00__(VAR_A)__"},
	    {"", ""},
	};
	struct xn_env e = ctx();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = xn_env_expand(cases[i][0], &e);
		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("expand \"%s\": got \"%s\", want \"%s\"", cases[i][0], got,
				 cases[i][1]);
		free(got);
	}
	xn_env_dispose(&e);
}

static cJSON *pod_with(const char *env_json, const char *resources)
{
	size_t n = strlen(env_json) + strlen(resources) + 1024;
	char *buf = malloc(n);
	cJSON *pod;

	snprintf(buf, n,
		 "{\"metadata\":{\"name\":\"web\",\"namespace\":\"prod\",\"uid\":\"u-1\","
		 "\"labels\":{\"app\":\"shop\"},\"annotations\":{\"team\":\"blue\"}},"
		 "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"sa\",\"containers\":[{"
		 "\"name\":\"c\",\"image\":\"/k\",\"env\":%s,\"resources\":%s}]}}",
		 env_json, resources);
	pod = cJSON_Parse(buf);
	free(buf);
	return pod;
}

static const struct xn_env_facts facts = {
    .memory_bytes = 256LL << 20, .cpu_milli = 2000, .host_ip = "10.0.0.5"};

/* plan + resolve; returns the env (or fails the test) */
static int run(const char *env_json, const char *res, struct xn_env *out, char reason[64],
	       char msg[512])
{
	cJSON *pod = pod_with(env_json, res ? res : "{}");
	char *plan = NULL;
	xn_err err = NULL;
	int rc;

	assert_non_null(pod);
	rc = xn_pod_env_plan(
	    pod,
	    cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "containers"),
			       0),
	    &facts, &plan, reason, msg, 512);
	cJSON_Delete(pod);
	if (rc < 0)
		return -1;
	rc = xn_pod_env_resolve(plan, "10.244.0.7", "fd00::7", out, &err);
	if (rc < 0) {
		snprintf(msg, 512, "%s", xn_error_msg(err));
		xn_error_free(&err);
	}
	free(plan);
	return rc;
}

static void order_and_duplicates(void **state)
{
	struct xn_env e;
	char reason[64], msg[512];

	assert_int_equal(run("[{\"name\":\"A\",\"value\":\"x\"},"
			     "{\"name\":\"B\",\"value\":\"$(A)-$(C)-$$(A)\"},"
			     "{\"name\":\"C\",\"value\":\"y\"},"
			     "{\"name\":\"A\",\"value\":\"z\"},"
			     "{\"name\":\"D\",\"value\":\"$(A)\"},"
			     "{\"name\":\"E\"}]",
			     NULL, &e, reason, msg),
			 0);
	assert_int_equal(e.n, 5);
	assert_string_equal(e.names[0], "A");
	assert_string_equal(e.values[0], "z");			 /* later wins, first place kept */
	assert_string_equal(xn_env_get(&e, "B"), "x-$(C)-$(A)"); /* C not yet defined */
	assert_string_equal(xn_env_get(&e, "D"), "z");
	assert_string_equal(xn_env_get(&e, "E"), "");
	xn_env_dispose(&e);
}

static void field_refs(void **state)
{
	struct xn_env e;
	char reason[64], msg[512];

#define FR(n, p) "{\"name\":\"" n "\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"" p "\"}}}"
	assert_int_equal(
	    run("[" FR("N", "metadata.name") "," FR("NS", "metadata.namespace") "," FR(
		    "UID",
		    "meta"
		    "data"
		    ".ui"
		    "d") "," FR("APP",
				"metadata.labels['app']") "," FR("NOLABEL",
								 "metadata.labels['"
								 "none']") "," FR("TEA"
										  "M",
										  "met"
										  "ada"
										  "ta."
										  "ann"
										  "ota"
										  "tio"
										  "ns["
										  "'te"
										  "am'"
										  "]") "," FR("NOD"
											      "E",
											      "spec"
											      ".nod"
											      "eNam"
											      "e") "," FR("SA",
													  "spec."
													  "serviceAccountN"
													  "ame") "," FR("I"
															"P",
															"s"
															"t"
															"a"
															"t"
															"u"
															"s"
															"."
															"p"
															"o"
															"d"
															"I"
															"P") "," FR("IPS",
																    "status.podIPs") "," FR("HIP",
																			    "status.hostIP") "," FR("HIPS",
																						    "status.hostIPs") ","
																								      "{\"name\":\"X\",\"value\":\"$(N).$(NS)@$(IP)\"}]",
		NULL, &e, reason, msg),
	    0);
	assert_string_equal(xn_env_get(&e, "N"), "web");
	assert_string_equal(xn_env_get(&e, "NS"), "prod");
	assert_string_equal(xn_env_get(&e, "UID"), "u-1");
	assert_string_equal(xn_env_get(&e, "APP"), "shop");
	assert_string_equal(xn_env_get(&e, "NOLABEL"), "");
	assert_string_equal(xn_env_get(&e, "TEAM"), "blue");
	assert_string_equal(xn_env_get(&e, "NODE"), "n1");
	assert_string_equal(xn_env_get(&e, "SA"), "sa");
	assert_string_equal(xn_env_get(&e, "IP"), "10.244.0.7");
	assert_string_equal(xn_env_get(&e, "IPS"), "10.244.0.7,fd00::7");
	assert_string_equal(xn_env_get(&e, "HIP"), "10.0.0.5");
	assert_string_equal(xn_env_get(&e, "HIPS"), "10.0.0.5");
	assert_string_equal(xn_env_get(&e, "X"), "web.prod@10.244.0.7");
	xn_env_dispose(&e);
	/* a fieldRef value is not expanded (only `value` is) */
	assert_int_equal(
	    run("[{\"name\":\"A\",\"value\":\"1\"}," FR("L", "metadata.annotations['team']") "]",
		NULL, &e, reason, msg),
	    0);
	xn_env_dispose(&e);
	assert_int_equal(run("[" FR("BAD", "metadata.labels") "]", NULL, &e, reason, msg), -1);
	assert_string_equal(reason, "UnsupportedPodSpec");
	assert_non_null(strstr(msg, "BAD"));
	assert_non_null(strstr(msg, "metadata.labels\": not supported"));
	assert_int_equal(run("[" FR("S", "status.phase") "]", NULL, &e, reason, msg), -1);
#undef FR
}

static void resource_refs(void **state)
{
	struct xn_env e;
	char reason[64], msg[512];

#define RR(n, r, d)                                                                                \
	"{\"name\":\"" n "\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"" r "\"" d "}}}"
	assert_int_equal(
	    run("[" RR("LC", "limits.cpu", "") "," RR("LCM", "limits.cpu", ",\"divisor\":\"1m\"") "," RR(
		    "RC", "requests.cpu",
		    "") "," RR("RCM", "requests.cpu",
			       ",\"divisor\":\"1m\"") "," RR("LM", "limits.memory",
							     "") "," RR("LMI", "limits.memory",
									",\"divisor\":\"1Mi\"") "," RR("RM",
												       "requests.memory",
												       ",\"divisor\":\"1M\"") "]",
		"{\"limits\":{\"cpu\":\"1500m\",\"memory\":\"128Mi\"},\"requests\":{\"cpu\":"
		"\"250m\","
		"\"memory\":\"100Mi\"}}",
		&e, reason, msg),
	    0);
	assert_string_equal(xn_env_get(&e, "LC"), "2"); /* ceil(1.5) */
	assert_string_equal(xn_env_get(&e, "LCM"), "1500");
	assert_string_equal(xn_env_get(&e, "RC"), "1"); /* ceil(0.25) */
	assert_string_equal(xn_env_get(&e, "RCM"), "250");
	assert_string_equal(xn_env_get(&e, "LM"), "134217728");
	assert_string_equal(xn_env_get(&e, "LMI"), "128");
	assert_string_equal(xn_env_get(&e, "RM"), "105"); /* ceil(104857600 / 1e6) */
	xn_env_dispose(&e);
	/* no limits: the domain's own size; no request: 0 */
	assert_int_equal(run("[" RR("LC", "limits.cpu", "") "," RR(
				 "LM", "limits.memory",
				 ",\"divisor\":\"1Mi\"") "," RR("RC", "requests.cpu", "") "]",
			     NULL, &e, reason, msg),
			 0);
	assert_string_equal(xn_env_get(&e, "LC"), "2");
	assert_string_equal(xn_env_get(&e, "LM"), "256");
	assert_string_equal(xn_env_get(&e, "RC"), "0");
	xn_env_dispose(&e);
	assert_int_equal(
	    run("[" RR("X", "limits.ephemeral-storage", "") "]", NULL, &e, reason, msg), -1);
	assert_non_null(strstr(msg, "X: resourceFieldRef.resource"));
	assert_int_equal(
	    run("[" RR("X", "limits.cpu", ",\"divisor\":\"0\"") "]", NULL, &e, reason, msg), -1);
	assert_non_null(strstr(msg, "divisor"));
#undef RR
}

static void refused(void **state)
{
	struct xn_env e;
	char reason[64], msg[512];

	assert_int_equal(run("[{\"name\":\"a.b\",\"value\":\"1\"}]", NULL, &e, reason, msg), -1);
	assert_string_equal(reason, "UnsupportedPodSpec");
	assert_non_null(strstr(msg, "\"a.b\": must be a C identifier"));
	assert_int_equal(run("[{\"name\":\"9A\",\"value\":\"1\"}]", NULL, &e, reason, msg), -1);
	assert_int_equal(run("[{\"name\":\"DB\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"c\","
			     "\"key\":\"k\"}}}]",
			     NULL, &e, reason, msg),
			 -1);
	assert_string_equal(reason, "CreateContainerConfigError");
	assert_string_equal(
	    msg, "environment variable DB: ConfigMap/Secret references are not supported yet");
	assert_int_equal(run("[{\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\","
			     "\"key\":\"k\"}}}]",
			     NULL, &e, reason, msg),
			 -1);
	assert_string_equal(reason, "CreateContainerConfigError");
	assert_non_null(strstr(msg, "PW"));
}

static void limits(void **state)
{
	struct xn_env e;
	char reason[64], msg[512];
	size_t n = 70000;
	char *json = malloc(n), *big = malloc(XN_ENV_VALUE_MAX + 2);
	size_t len;

	/* one value: 2048 bytes fit, 2049 do not */
	memset(big, 'v', XN_ENV_VALUE_MAX);
	big[XN_ENV_VALUE_MAX] = '\0';
	snprintf(json, n, "[{\"name\":\"V\",\"value\":\"%s\"}]", big);
	assert_int_equal(run(json, NULL, &e, reason, msg), 0);
	xn_env_dispose(&e);
	big[XN_ENV_VALUE_MAX] = 'v';
	big[XN_ENV_VALUE_MAX + 1] = '\0';
	snprintf(json, n, "[{\"name\":\"V\",\"value\":\"%s\"}]", big);
	assert_int_equal(run(json, NULL, &e, reason, msg), -1);
	assert_string_equal(reason, "CreateContainerConfigError");
	assert_non_null(strstr(msg, "V: value of 2049 bytes"));
	/* expansion past the limit: refused at start */
	big[XN_ENV_VALUE_MAX - 1] = '\0';
	snprintf(json, n,
		 "[{\"name\":\"V\",\"value\":\"%s\"},{\"name\":\"W\",\"value\":\"$(V)$(V)\"}]",
		 big);
	assert_int_equal(run(json, NULL, &e, reason, msg), -1);
	assert_non_null(strstr(msg, "W: value of 4094 bytes after expansion"));
	/* count */
	len = (size_t)snprintf(json, n, "[");
	for (int i = 0; i <= XN_ENV_COUNT_MAX; i++)
		len += (size_t)snprintf(json + len, n - len, "%s{\"name\":\"V%d\",\"value\":\"\"}",
					i ? "," : "", i);
	snprintf(json + len, n - len, "]");
	assert_int_equal(run(json, NULL, &e, reason, msg), -1);
	assert_non_null(strstr(msg, "257 variables"));
	/* total: 40 values of 2000 bytes, 80000 bytes */
	big[2000] = '\0';
	free(json);
	json = malloc(100000);
	len = (size_t)snprintf(json, 100000, "[");
	for (int i = 0; i < 40; i++)
		len +=
		    (size_t)snprintf(json + len, 100000 - len,
				     "%s{\"name\":\"V%d\",\"value\":\"%s\"}", i ? "," : "", i, big);
	snprintf(json + len, 100000 - len, "]");
	{
		cJSON *pod = pod_with(json, "{}");
		char *plan = NULL;
		xn_err err = NULL;

		assert_int_equal(
		    xn_pod_env_plan(
			pod,
			cJSON_GetArrayItem(
			    cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "containers"), 0),
			&facts, &plan, reason, msg, sizeof(msg)),
		    0);
		assert_int_equal(xn_pod_env_resolve(plan, "", "", &e, &err), -1);
		assert_non_null(strstr(xn_error_msg(err), "more than the 65536"));
		xn_error_free(&err);
		free(plan);
		cJSON_Delete(pod);
	}
	free(json);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(expansion_table), cmocka_unit_test(order_and_duplicates),
	    cmocka_unit_test(field_refs),      cmocka_unit_test(resource_refs),
	    cmocka_unit_test(refused),	       cmocka_unit_test(limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
