/* test_pod_sync.c - pod_sync between a fake API server and a real runtime
 * (hv_sim, in-memory store) on a real libevent loop: admission and
 * translation -> runtime -> status patches (coalesced, the first one held
 * for Running, Events held behind them), rejections that end Failed with
 * the kubelet's reason, deletion (stop within the grace period, then DELETE
 * with grace 0), a pod deleted from the API server, and orphans after the
 * first list.  Loops are bounded by a deadline; nothing asserts on time.
 * The real API server path is covered by the integration tier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/hv.h"
#include "xenlet/hv_guard.h"
#include "xenlet/image_path.h"
#include "xenlet/kube_events.h"
#include "xenlet/pod_sync.h"
#include "xenlet/runtime.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

#define FIXTURES   XN_SRCDIR "/test/fixtures/sim/"
#define TIMEOUT_MS 10000 /* a bound on a hung test, not a timing check */
#define MAX_CALLS  256
#define UID	   "3f0c9a6e-5d1e-4c1b-9a59-0c2f7b1e8d42"

enum call_kind { CALL_PATCH, CALL_DELETE };

/* One request pod_sync made of the fake API server. */
struct call {
	struct t *t;
	enum call_kind kind;
	char name[64];
	char uid[48];
	cJSON *body;	  /* the patch body */
	bool events_held; /* the Event lane was held when it was sent */
	bool runtime_had; /* the runtime still had the pod when it was sent */
	bool answered, cancelled;
	xn_pod_sync_done_fn done;
	void *arg;
	struct event *ev; /* the answer, from the loop */
	long status;
};

struct t {
	char root[64];
	char logs[96];
	struct event_base *base;
	struct xn_store *store;
	struct xn_hv *hv;
	struct xn_hv *guard; /* as main wires it: the runtime's hv */
	struct xn_runtime *rt;
	struct xn_pod_sync *ps;
	cJSON *pods; /* the informer's cache: ns/name -> pod */
	bool synced;
	bool auto_answer; /* answer 200 at once (from the loop) */
	bool held;	  /* the Event lane's state */
	struct call calls[MAX_CALLS];
	int ncalls;
	char events[MAX_CALLS][96]; /* "type reason" */
	bool event_held[MAX_CALLS];
	int nevents;
	struct xn_node_resources alloc;
};

/* ---- the fake API server ---- */

static void answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;

	c->answered = true;
	c->done(c->status, c->status == 200 ? NULL : "injected", c->arg);
}

static void answer(struct call *c, long status)
{
	c->status = status;
	event_active(c->ev, EV_TIMEOUT, 0);
}

static void *new_call(struct t *t, enum call_kind kind, const char *name, xn_pod_sync_done_fn done,
		      void *arg)
{
	struct call *c;

	assert_true(t->ncalls < MAX_CALLS);
	c = &t->calls[t->ncalls++];
	c->t = t;
	c->kind = kind;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->done = done;
	c->arg = arg;
	c->events_held = t->held;
	c->ev = event_new(t->base, -1, 0, answer_cb, c);
	if (t->auto_answer)
		answer(c, 200);
	return c;
}

static void *fake_patch(void *ctx, const char *ns, const char *name, const cJSON *body,
			xn_pod_sync_done_fn done, void *arg, xn_err *err)
{
	struct t *t = ctx;
	struct call *c = new_call(t, CALL_PATCH, name, done, arg);

	c->body = cJSON_Duplicate(body, 1);
	return c;
}

static void *fake_delete(void *ctx, const char *ns, const char *name, const char *uid,
			 xn_pod_sync_done_fn done, void *arg, xn_err *err)
{
	struct t *t = ctx;
	struct call *c = new_call(t, CALL_DELETE, name, done, arg);

	snprintf(c->uid, sizeof(c->uid), "%s", uid);
	c->runtime_had = xn_runtime_status(t->rt, uid) != NULL;
	return c;
}

static void fake_cancel(void *ctx, void *req)
{
	struct call *c = req;

	c->cancelled = true;
	event_del(c->ev);
}

static void fake_event(void *ctx, const struct xn_event_object *obj, const char *type,
		       const char *reason, const char *message)
{
	struct t *t = ctx;

	assert_true(t->nevents < MAX_CALLS);
	t->event_held[t->nevents] = t->held;
	snprintf(t->events[t->nevents++], sizeof(t->events[0]), "%s %s", type, reason);
}

static void fake_hold(void *ctx, bool hold)
{
	((struct t *)ctx)->held = hold;
}

static const cJSON *fake_get_pod(void *ctx, const char *ns, const char *name)
{
	struct t *t = ctx;
	cleanup_free char *key = xn_xasprintf("%s/%s", ns, name);

	return cJSON_GetObjectItemCaseSensitive(t->pods, key);
}

static bool fake_synced(void *ctx)
{
	return ((struct t *)ctx)->synced;
}

static const struct xn_pod_sync_api fake_api = {
    .patch_status = fake_patch,
    .delete_pod = fake_delete,
    .cancel = fake_cancel,
    .event = fake_event,
    .events_hold = fake_hold,
    .get_pod = fake_get_pod,
    .synced = fake_synced,
};

/* ---- plumbing: what daemon/main.c wires ---- */

static void on_status(struct xn_runtime *rt, enum xn_runtime_event ev, const char *uid,
		      const struct xn_pod_status *st, void *arg)
{
	xn_pod_sync_runtime_event(((struct t *)arg)->ps, ev, uid, st);
}

static void on_note(struct xn_runtime *rt, const char *uid, const char *type, const char *reason,
		    const char *message, void *arg)
{
	xn_pod_sync_runtime_note(((struct t *)arg)->ps, uid, type, reason, message);
}

static void on_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct t *t = arg;

	if (t->rt)
		xn_runtime_hv_event(hv, ev, t->rt);
}

static void allocatable(void *arg, struct xn_node_resources *out)
{
	*out = ((struct t *)arg)->alloc;
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	char sim[96], store_file[96];
	struct xn_runtime_opts ro = {0};
	struct xn_pod_sync_opts po = {
	    .node_name = "xen-1",
	    .node_ip = "192.0.2.10",
	    .defaults = {.memory_bytes = 64LL << 20},
	    .allocatable = allocatable,
	};
	const char *roots[] = {XN_SRCDIR "/test/fixtures/sim", XN_BUILDDIR "/guests"};
	xn_err err = NULL;

	snprintf(t->root, sizeof(t->root), "/tmp/xn-test-ps.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->logs, sizeof(t->logs), "%s/logs", t->root);
	snprintf(sim, sizeof(sim), "%s/sim", t->root);
	snprintf(store_file, sizeof(store_file), "%s/store.json", t->root);
	assert_int_equal(mkdir(sim, 0700), 0);
	xn_image_roots_set(roots, 2);
	setenv("XN_SIM_STATE_DIR", sim, 1);
	setenv("XN_STORE_MEM_FILE", store_file, 1);
	setenv("XN_SIM_MEMORY_MB", "1024", 1);
	setenv("XN_SIM_CPUS", "2", 1);
	t->alloc =
	    (struct xn_node_resources){.memory_bytes = 1LL << 30, .cpu_milli = 2000, .pods = 10};
	t->base = event_base_new();
	t->pods = cJSON_CreateObject();
	t->synced = true;
	t->auto_answer = true;
	t->store = xn_store_open("mem", t->base, &err);
	assert_non_null(t->store);
	t->hv = xn_hv_new("sim", t->base, on_hv_event, t, &err);
	assert_non_null(t->hv);
	ro = (struct xn_runtime_opts){.root_dir = t->root,
				      .log_dir = t->logs,
				      .backoff_base_ms = 50,
				      .backoff_max_ms = 200,
				      .backoff_reset_ms = 3600000};
	t->guard = xn_hv_guard_new(t->hv);
	t->rt = xn_runtime_new(t->base, t->guard, t->store, &ro, on_status, on_note, t, &err);
	assert_non_null(t->rt);
	po.allocatable_arg = t;
	t->ps = xn_pod_sync_new_api(t->base, &fake_api, t, t->rt, &po);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->root);

	xn_pod_sync_free(t->ps);
	t->ps = NULL;
	xn_runtime_free(t->rt);
	t->rt = NULL;
	xn_hv_free(t->hv);
	xn_hv_guard_free(t->guard);
	xn_store_close(t->store);
	for (int i = 0; i < t->ncalls; i++) {
		cJSON_Delete(t->calls[i].body);
		event_free(t->calls[i].ev);
	}
	cJSON_Delete(t->pods);
	event_base_free(t->base);
	unsetenv("XN_STORE_MEM_FILE");
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* ---- helpers ---- */

/* A pod bound to xen-1 running the sim script `script` (a path: absolute
 * into the fixtures unless it starts with '/'), put into the fake cache
 * and handed to pod_sync as the informer would. */
static cJSON *pod_json(const char *name, const char *uid, const char *image, const char *memory)
{
	cJSON *pod = cJSON_CreateObject(), *md, *spec, *c, *res;

	md = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", "default");
	cJSON_AddStringToObject(md, "uid", uid);
	cJSON_AddStringToObject(md, "resourceVersion", "1");
	spec = cJSON_AddObjectToObject(pod, "spec");
	cJSON_AddStringToObject(spec, "nodeName", "xen-1");
	cJSON_AddStringToObject(spec, "restartPolicy", "Always");
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", "app");
	cJSON_AddStringToObject(c, "image", image);
	res = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
	cJSON_AddStringToObject(res, "memory", memory);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
	return pod;
}

static void put_pod(struct t *t, cJSON *pod)
{
	const cJSON *md = cJSON_GetObjectItem(pod, "metadata");
	cleanup_free char *key =
	    xn_xasprintf("%s/%s", cJSON_GetObjectItem(md, "namespace")->valuestring,
			 cJSON_GetObjectItem(md, "name")->valuestring);

	if (cJSON_GetObjectItemCaseSensitive(t->pods, key))
		cJSON_ReplaceItemInObjectCaseSensitive(t->pods, key, pod);
	else
		cJSON_AddItemToObject(t->pods, key, pod);
	xn_pod_sync_pod_changed(t->ps, pod);
}

static const char *phase_of(const struct call *c)
{
	const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(c->body, "status"), "phase");

	return cJSON_IsString(p) ? p->valuestring : "";
}

static const char *status_str(const struct call *c, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(c->body, "status"), key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int restarts_in(const struct call *c)
{
	const cJSON *cs = cJSON_GetArrayItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(c->body, "status"), "containerStatuses"), 0);
	const cJSON *n = cJSON_GetObjectItem(cs, "restartCount");

	return cJSON_IsNumber(n) ? n->valueint : -1;
}

static int count_calls(struct t *t, enum call_kind kind)
{
	int n = 0;

	for (int i = 0; i < t->ncalls; i++)
		n += t->calls[i].kind == kind;
	return n;
}

static struct call *last_call(struct t *t, enum call_kind kind)
{
	for (int i = t->ncalls - 1; i >= 0; i--)
		if (t->calls[i].kind == kind)
			return &t->calls[i];
	return NULL;
}

static bool last_patch_is(struct t *t, const char *phase)
{
	struct call *c = last_call(t, CALL_PATCH);

	return c && strcmp(phase_of(c), phase) == 0;
}

static int find_event(struct t *t, const char *what)
{
	for (int i = 0; i < t->nevents; i++)
		if (strcmp(t->events[i], what) == 0)
			return i;
	return -1;
}

static bool all_answered(struct t *t)
{
	for (int i = 0; i < t->ncalls; i++)
		if (!t->calls[i].answered && !t->calls[i].cancelled)
			return false;
	return true;
}

/* ---- tests ---- */

/* A new pod: translated, run, and its first status patch already says
 * Running (the Pending one was held and coalesced); its Events were held
 * while that patch was due or in flight. */
static void start_to_running(void **state)
{
	struct t *t = *state;
	struct call *c;
	int started;

	put_pod(t, pod_json("web", UID, FIXTURES "server.sim", "64Mi"));
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, last_patch_is(t, "Running") && all_answered(t));
	assert_int_equal(count_calls(t, CALL_PATCH), 1);
	c = last_call(t, CALL_PATCH);
	assert_string_equal(c->name, "web");
	assert_string_equal(status_str(c, "hostIP"), "192.0.2.10");
	assert_true(c->events_held);
	assert_true(find_event(t, "Normal Pulling") >= 0);
	assert_true(find_event(t, "Normal Pulled") >= 0);
	assert_true(find_event(t, "Normal Created") >= 0);
	started = find_event(t, "Normal Started");
	assert_true(started >= 0);
	assert_true(t->event_held[started]);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, !t->held);
	assert_non_null(xn_runtime_status(t->rt, UID));
	assert_int_equal(xn_runtime_status(t->rt, UID)->state, XN_INST_RUNNING);
}

/* While a patch is in flight, changes wait and go as one patch with the
 * latest state; never two patches of one pod at once. */
static void coalesced_while_in_flight(void **state)
{
	struct t *t = *state;
	struct call *first;

	t->auto_answer = false;
	put_pod(t, pod_json("crashy", UID, FIXTURES "crash.sim", "64Mi"));
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, count_calls(t, CALL_PATCH) == 1);
	first = last_call(t, CALL_PATCH);
	/* the guest crashes and restarts meanwhile: several runtime changes */
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, xn_runtime_status(t->rt, UID)->restart_count >= 2);
	assert_int_equal(count_calls(t, CALL_PATCH), 1);
	answer(first, 200);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, count_calls(t, CALL_PATCH) == 2);
	xn_test_run_for(t->base, 100);
	assert_int_equal(count_calls(t, CALL_PATCH), 2); /* the second is unanswered */
	/* the second says what is true now, not what was true in between */
	assert_true(restarts_in(last_call(t, CALL_PATCH)) >= 2);
}

struct reject_case {
	const char *image;
	const char *memory;
	const char *reason; /* the status's reason */
	const char *event;  /* "Warning <reason>" */
};

static void rejected(void **state)
{
	static const struct reject_case cases[] = {
	    {FIXTURES "no-such-kernel.xen", "64Mi", "ErrImagePull", "Warning Failed"},
	    {"/nonexistent/kernel.xen", "64Mi", "InvalidImageName", "Warning Failed"},
	    {FIXTURES "server.sim", "12Qi", "UnsupportedPodSpec", "Warning Failed"},
	    {FIXTURES "server.sim", "4Gi", "OutOfmemory", "Warning OutOfmemory"},
	};
	struct t *t = *state;

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		char name[16], uid[48];
		struct call *c;

		snprintf(name, sizeof(name), "bad-%zu", i);
		snprintf(uid, sizeof(uid), "00000000-0000-4000-8000-00000000000%zu", i);
		put_pod(t, pod_json(name, uid, cases[i].image, cases[i].memory));
		XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS,
				  (c = last_call(t, CALL_PATCH)) && strcmp(c->name, name) == 0);
		assert_string_equal(phase_of(c), "Failed");
		assert_string_equal(status_str(c, "reason"), cases[i].reason);
		assert_true(find_event(t, cases[i].event) >= 0);
		assert_null(xn_runtime_status(t->rt, uid));
	}
}

/* Issue 11: a PVH-only kernel asked to run as PV ends the pod Failed with
 * a message naming the kernel's types; nothing is built. */
static void kernel_cannot_boot_as_asked(void **state)
{
	struct t *t = *state;
	const char *kernel = XN_BUILDDIR "/guests/xn-test-pvh";
	cJSON *pod, *md, *ann;
	struct call *c;

	if (access(kernel, R_OK) != 0) {
		printf("skipped: %s missing (make guests)\n", kernel);
		skip();
	}
	pod = pod_json("solo5", UID, kernel, "64Mi");
	md = cJSON_GetObjectItem(pod, "metadata");
	ann = cJSON_AddObjectToObject(md, "annotations");
	cJSON_AddStringToObject(ann, "xenlet.io/guest-type", "pv");
	put_pod(t, pod);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS,
			  (c = last_call(t, CALL_PATCH)) && strcmp(c->name, "solo5") == 0);
	assert_string_equal(phase_of(c), "Failed");
	assert_string_equal(status_str(c, "reason"), "CreateContainerConfigError");
	if (strstr(status_str(c, "message"), "PVH-only kernel asked to run as PV (the kernel's "
					     "Xen ELF notes allow: pvh)") == NULL)
		fail_msg("message: %s", status_str(c, "message"));
	assert_true(find_event(t, "Warning Failed") >= 0);
	assert_null(xn_runtime_status(t->rt, UID));
}

/* deletionTimestamp: the pod is stopped within its grace period, and only
 * once the runtime has let it go is the object deleted (grace 0, uid). */
static void graceful_delete(void **state)
{
	struct t *t = *state;
	cJSON *pod = pod_json("web", UID, FIXTURES "server.sim", "64Mi"), *md;
	struct call *d;

	put_pod(t, cJSON_Duplicate(pod, 1));
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, last_patch_is(t, "Running"));
	md = cJSON_GetObjectItem(pod, "metadata");
	cJSON_AddStringToObject(md, "deletionTimestamp", "2026-03-01T10:00:00Z");
	cJSON_AddNumberToObject(md, "deletionGracePeriodSeconds", 1);
	cJSON_ReplaceItemInObject(md, "resourceVersion", cJSON_CreateString("2"));
	put_pod(t, pod);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, count_calls(t, CALL_DELETE) == 1 && all_answered(t));
	d = last_call(t, CALL_DELETE);
	assert_string_equal(d->uid, UID);
	assert_false(d->runtime_had);
	assert_null(xn_runtime_status(t->rt, UID));
}

/* Gone from the API server (DELETED): stop it now; nothing to delete. */
static void deleted_from_api(void **state)
{
	struct t *t = *state;
	cJSON *pod = pod_json("web", UID, FIXTURES "server.sim", "64Mi");

	put_pod(t, pod);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, last_patch_is(t, "Running"));
	xn_pod_sync_pod_deleted(t->ps, pod);
	cJSON_DeleteItemFromObject(t->pods, "default/web");
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, xn_runtime_status(t->rt, UID) == NULL);
	xn_test_run_for(t->base, 50);
	assert_int_equal(count_calls(t, CALL_DELETE), 0);
}

/* Nothing is patched before the first list; after it, pods the runtime
 * runs but the API server does not have are stopped. */
static void first_list(void **state)
{
	struct t *t = *state;

	t->synced = false;
	put_pod(t, pod_json("web", UID, FIXTURES "server.sim", "64Mi"));
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS,
			  xn_runtime_status(t->rt, UID) &&
			      xn_runtime_status(t->rt, UID)->state == XN_INST_RUNNING);
	xn_test_run_for(t->base, 50);
	assert_int_equal(count_calls(t, CALL_PATCH), 0);
	/* the list came without it: deleted while we were not watching */
	cJSON_DeleteItemFromObject(t->pods, "default/web");
	t->synced = true;
	xn_pod_sync_synced(t->ps);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, xn_runtime_status(t->rt, UID) == NULL);
	assert_int_equal(count_calls(t, CALL_PATCH), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(start_to_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(coalesced_while_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(kernel_cannot_boot_as_asked, setup, teardown),
	    cmocka_unit_test_setup_teardown(graceful_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(deleted_from_api, setup, teardown),
	    cmocka_unit_test_setup_teardown(first_list, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
