/* test_pod_status.c - runtime status -> pod status JSON, golden files.
 *
 * Each case is a runtime status for the pod in
 * test/fixtures/pod-status/pod.json (whose status carries the conditions of
 * an earlier patch, from 2026-03-01T10:00:0xZ); the status JSON is printed
 * with the keys of every object sorted and compared, byte for byte, with
 * test/fixtures/pod-status/<case>.json.  XN_UPDATE_GOLDEN=1 rewrites those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/pod_status.h"
#include "xenlet/pod_translate.h"
#include "xenlet/util.h"

#define SEC	  1000000000ull
#define T0	  (1772359200ull * SEC) /* 2026-03-01T10:00:00Z */
#define NOW	  (T0 + 3600 * SEC)	/* an hour later: what changes now gets this time */
#define HOST_IP	  "192.0.2.10"
#define START_AT  "2026-03-01T10:00:00Z"
#define FIXTURES  XN_SRCDIR "/test/fixtures/pod-status/"
#define POD_JSON  FIXTURES "pod.json"
#define CRASH_MSG "back-off 20s restarting failed container=app pod=web_shop(5d3c1a2b)"

struct pod_case {
	const char *name;
	struct xn_pod_status st;
	bool no_host; /* no hostIP and no startTime */
};

static const struct pod_case cases[] = {
    {.name = "waiting-creating", .st = {.state = XN_INST_WAITING}, .no_host = true},
    {.name = "running-ready",
     .st = {.state = XN_INST_RUNNING, .domid = 7, .started_at = T0 + 2 * SEC, .ready = true}},
    {.name = "running-not-ready",
     .st = {.state = XN_INST_RUNNING, .domid = 7, .started_at = T0 + 2 * SEC}},
    {.name = "running-restarted",
     .st = {.state = XN_INST_RUNNING,
	    .domid = 9,
	    .started_at = T0 + 40 * SEC,
	    .restart_count = 1,
	    .ready = true,
	    .has_last = true,
	    .last = {.exit_code = 0,
		     .reason = "Completed",
		     .started_at = T0 + 2 * SEC,
		     .finished_at = T0 + 30 * SEC}}},
    {.name = "waiting-crashloop",
     .st = {.state = XN_INST_WAITING,
	    .reason = "CrashLoopBackOff",
	    .message = CRASH_MSG,
	    .restart_count = 2,
	    .has_last = true,
	    .last = {.exit_code = 1,
		     .reason = "Error",
		     .message = "domain 12 poweroff with exit code 1",
		     .started_at = T0 + 50 * SEC,
		     .finished_at = T0 + 51 * SEC}}},
    {.name = "waiting-create-error",
     .st = {.state = XN_INST_WAITING,
	    .reason = "CreateContainerError",
	    .message = "create domain: not enough free memory: need 64 MiB, 12 MiB free"}},
    {.name = "terminated-completed",
     .st = {.state = XN_INST_TERMINATED,
	    .reason = "Completed",
	    .finished = true,
	    .has_last = true,
	    .last = {.exit_code = 0,
		     .reason = "Completed",
		     .started_at = T0 + 2 * SEC,
		     .finished_at = T0 + 9 * SEC}}},
    {.name = "terminated-error",
     .st = {.state = XN_INST_TERMINATED,
	    .reason = "Error",
	    .restart_count = 3,
	    .finished = true,
	    .has_last = true,
	    .last = {.exit_code = 137,
		     .reason = "Error",
		     .message = "domain 31 destroyed from Dom0",
		     .started_at = 0, /* never ran: startedAt null */
		     .finished_at = T0 + 99 * SEC}}},
};

static int by_key(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Every object's keys in byte order, recursively: a stable print. */
static void sort_keys(cJSON *item)
{
	cJSON *c, **v;
	size_t n = 0, i;

	for (c = item->child; c != NULL; c = c->next, n++)
		sort_keys(c);
	if (!cJSON_IsObject(item) || n < 2)
		return;
	v = xn_xcalloc(n, sizeof(*v));
	for (c = item->child, i = 0; c != NULL; c = c->next)
		v[i++] = c;
	qsort(v, n, sizeof(*v), by_key);
	/* cJSON's list: next ends in NULL, the first item's prev is the last */
	for (i = 0; i < n; i++) {
		v[i]->next = i + 1 < n ? v[i + 1] : NULL;
		v[i]->prev = i > 0 ? v[i - 1] : v[n - 1];
	}
	item->child = v[0];
	free(v);
}

static char *canonical(cJSON *status)
{
	char *text, *res;

	sort_keys(status);
	text = cJSON_Print(status);
	assert_non_null(text);
	res = xn_xasprintf("%s\n", text);
	free(text);
	return res;
}

static cJSON *load_pod(void)
{
	cleanup_free char *text = xn_test_slurp(POD_JSON);
	cJSON *pod;

	assert_non_null(text);
	pod = cJSON_Parse(text);
	assert_non_null(pod);
	return pod;
}

static void golden(void **state)
{
	const struct pod_case *pc = *state;
	struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};
	struct xn_pod_spec spec;
	struct xn_pod_reject rej;
	cleanup_free char *warnings = NULL, *got = NULL, *path = NULL;
	cJSON *pod = load_pod(), *status;

	assert_int_equal(xn_pod_translate(pod, &def, &spec, &warnings, &rej), 0);
	struct xn_pod_status_in in = {
	    .spec = &spec,
	    .st = &pc->st,
	    .pod = pod,
	    .host_ip = pc->no_host ? NULL : HOST_IP,
	    .start_time = pc->no_host ? NULL : START_AT,
	    .now_ns = NOW,
	};
	status = xn_pod_status_build(&in);
	got = canonical(status);
	path = xn_xasprintf("%s%s.json", FIXTURES, pc->name);
	xn_test_golden(path, got);
	cJSON_Delete(status);
	cJSON_Delete(pod);
	xn_pod_spec_dispose(&spec);
}

static void rejected(void **state)
{
	cJSON *status = xn_pod_status_rejected(
	    "OutOfmemory",
	    "Node didn't have enough resource: memory, requested: 67108864, used: "
	    "2080374784, capacity: 2147483648",
	    HOST_IP, START_AT);
	cleanup_free char *got = canonical(status);

	xn_test_golden(FIXTURES "rejected.json", got);
	cJSON_Delete(status);
}

/* Not a golden file: the rule itself.  A condition whose status stays keeps
 * the pod's lastTransitionTime; one that flips gets now; without a pod
 * object every condition is new. */
static void transition_times(void **state)
{
	struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};
	struct xn_pod_spec spec;
	struct xn_pod_reject rej;
	cleanup_free char *warnings = NULL;
	struct xn_pod_status st = {.state = XN_INST_RUNNING, .started_at = T0, .ready = true};
	cJSON *pod = load_pod(), *status, *c;
	struct xn_pod_status_in in = {.spec = &spec, .st = &st, .pod = pod, .now_ns = NOW};
	char now[24];

	xn_rfc3339(NOW, now);
	assert_int_equal(xn_pod_translate(pod, &def, &spec, &warnings, &rej), 0);
	for (int pass = 0; pass < 2; pass++) {
		status = xn_pod_status_build(&in);
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(status, "conditions")) {
			const char *type = cJSON_GetObjectItem(c, "type")->valuestring;
			const char *ltt = cJSON_GetObjectItem(c, "lastTransitionTime")->valuestring;
			bool flips =
			    strcmp(type, "Ready") == 0 || strcmp(type, "ContainersReady") == 0;

			if (pass == 1 || flips)
				assert_string_equal(ltt, now);
			else
				assert_string_not_equal(ltt, now);
		}
		cJSON_Delete(status);
		in.pod = NULL;
	}
	cJSON_Delete(pod);
	xn_pod_spec_dispose(&spec);
}

int main(void)
{
	struct CMUnitTest tests[XN_ARRAY_SIZE(cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++)
		tests[n++] =
		    (struct CMUnitTest){cases[i].name, golden, NULL, NULL, (void *)&cases[i]};
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(rejected);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(transition_times);
	return _cmocka_run_group_tests("pod_status", tests, n, NULL, NULL);
}
