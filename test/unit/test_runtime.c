/* test_runtime.c - pods as sim domains through the runtime, on a real
 * libevent loop: status sequence, restart policies and back-off, crash,
 * kill (obeying and stubborn guests, during create), create failures, CRI
 * logs, guest readiness through the store, and recovery after a restart of
 * the runtime.  Loops are bounded by a timeout event; nothing asserts on
 * wall-clock durations. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/hv.h"
#include "xenlet/hv_sim.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/runtime.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

#define FIXTURES   XN_SRCDIR "/test/fixtures/sim/"
#define MAX_REC	   256
#define TIMEOUT_MS 10000 /* a bound on a hung test, not a timing check */

struct rec {
	enum xn_runtime_event ev;
	char uid[40];
	struct xn_pod_status st;
	int domains; /* domains alive when the event came (REMOVED only) */
};

struct t {
	char root[64];
	char logs[96];
	char sim[96];
	char store_file[96];
	struct event_base *base;
	struct xn_hv *hv;
	struct xn_store *store;
	struct xn_runtime *rt;
	struct xn_runtime_opts opts;
	struct rec recs[MAX_REC];
	int nrecs;
	char notes[MAX_REC][64]; /* "uid reason" */
	int nnotes;
	char cidr[64];	/* "": no pod network */
	char hook[128]; /* the vif script; "": Xen's path (never checked) */
	struct xn_ipam *ipam;
};

/* ---- plumbing ---- */

static int alive_domains(struct xn_hv *hv)
{
	struct xn_domain_info *doms = NULL;
	size_t n = 0;
	int alive = 0;
	xn_err err = NULL;

	if (hv->ops->list(hv, &doms, &n, &err) < 0)
		fail_msg("list: %s", xn_error_msg(err));
	for (size_t i = 0; i < n; i++)
		if (doms[i].state != XN_DOM_DYING)
			alive++;
	free(doms);
	return alive;
}

static void on_status(struct xn_runtime *rt, enum xn_runtime_event ev, const char *uid,
		      const struct xn_pod_status *st, void *arg)
{
	struct t *t = arg;

	assert_true(t->nrecs < MAX_REC);
	t->recs[t->nrecs].domains = ev == XN_RT_REMOVED ? alive_domains(t->hv) : -1;
	t->recs[t->nrecs].ev = ev;
	snprintf(t->recs[t->nrecs].uid, sizeof(t->recs[0].uid), "%s", uid);
	t->recs[t->nrecs].st = *st;
	t->nrecs++;
}

static void on_note(struct xn_runtime *rt, const char *uid, const char *type, const char *reason,
		    const char *message, void *arg)
{
	struct t *t = arg;

	assert_true(t->nnotes < MAX_REC);
	snprintf(t->notes[t->nnotes++], sizeof(t->notes[0]), "%s %s", uid, reason);
}

/* The hv outlives runtimes in the recovery test: forward to the current one. */
static void on_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct t *t = arg;

	if (t->rt)
		xn_runtime_hv_event(hv, ev, t->rt);
}

/* What daemon/main.c does: a sim guest's `ready` lands in its data area. */
static void sim_ready(struct xn_hv *hv, uint32_t domid, void *arg)
{
	struct t *t = arg;
	char path[80];
	xn_err err = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/data/xenlet/ready", domid);
	if (xn_store_set(t->store, path, "1", &err) < 0)
		fail_msg("ready flag: %s", xn_error_msg(err));
}

/* ... and its `xenstore KEY VALUE` too, whatever the value. */
static void sim_xenstore(struct xn_hv *hv, uint32_t domid, const char *key, const char *value,
			 void *arg)
{
	struct t *t = arg;
	char path[96];
	xn_err err = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/data/xenlet/%s", domid, key);
	if (xn_store_set(t->store, path, value, &err) < 0)
		fail_msg("data/xenlet/%s: %s", key, xn_error_msg(err));
}

static void open_all(struct t *t)
{
	xn_err err = NULL;

	setenv("XN_SIM_STATE_DIR", t->sim, 1);
	setenv("XN_STORE_MEM_FILE", t->store_file, 1);
	t->store = xn_store_open("mem", t->base, &err);
	if (t->store == NULL)
		fail_msg("store: %s", xn_error_msg(err));
	t->hv = xn_hv_new("sim", t->base, on_hv_event, t, &err);
	if (t->hv == NULL)
		fail_msg("hv: %s", xn_error_msg(err));
	xn_hv_sim_set_ready_hook(t->hv, sim_ready, t);
	xn_hv_sim_set_xenstore_hook(t->hv, sim_xenstore, t);
	t->opts.ipam = NULL;
	if (t->cidr[0]) {
		struct xn_net_ranges r;
		char *warn = NULL;

		t->ipam = xn_ipam_new(t->store, &warn, &err);
		if (t->ipam == NULL || warn != NULL)
			fail_msg("ipam: %s", warn ? warn : xn_error_msg(err));
		if (xn_net_ranges_parse(t->cidr, &r, &err) < 0)
			fail_msg("%s", xn_error_msg(err));
		xn_ipam_set_ranges(t->ipam, &r);
		t->opts.ipam = t->ipam;
		t->opts.bridge = "xenlet0";
		t->opts.vif_script = t->hook[0] ? t->hook : "/etc/xen/scripts/vif-xenlet";
	}
	t->rt = xn_runtime_new(t->base, t->hv, t->store, &t->opts, on_status, on_note, t, &err);
	if (t->rt == NULL)
		fail_msg("runtime: %s", xn_error_msg(err));
}

static void close_all(struct t *t)
{
	xn_runtime_free(t->rt);
	t->rt = NULL;
	xn_ipam_free(t->ipam);
	t->ipam = NULL;
	xn_hv_free(t->hv);
	t->hv = NULL;
	xn_store_close(t->store);
	t->store = NULL;
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));

	snprintf(t->root, sizeof(t->root), "/tmp/xn-test-rt.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->logs, sizeof(t->logs), "%s/logs", t->root);
	snprintf(t->sim, sizeof(t->sim), "%s/sim", t->root);
	snprintf(t->store_file, sizeof(t->store_file), "%s/store.json", t->root);
	assert_int_equal(mkdir(t->sim, 0700), 0);
	setenv("XN_SIM_MEMORY_MB", "1024", 1);
	setenv("XN_SIM_CPUS", "2", 1);
	unsetenv("XN_SIM_FAIL_CREATE");
	t->opts = (struct xn_runtime_opts){
	    .root_dir = t->root,
	    .log_dir = t->logs,
	    .backoff_base_ms = 50,
	    .backoff_max_ms = 200,
	    .backoff_reset_ms = 3600000,
	};
	t->base = event_base_new();
	assert_non_null(t->base);
	open_all(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->root);

	close_all(t);
	event_base_free(t->base);
	unsetenv("XN_STORE_MEM_FILE");
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

typedef bool (*pred_fn)(struct t *t, const void *arg);

/* Run the loop until pred holds; false if the bound ran out first. */
static bool run_until(struct t *t, pred_fn pred, const void *arg)
{
	struct xn_test_deadline d;
	bool ok;

	xn_test_deadline_start(&d, t->base, TIMEOUT_MS);
	while (!(ok = pred(t, arg)) && xn_test_deadline_step(&d))
		;
	xn_test_deadline_stop(&d);
	return ok;
}

struct want {
	const char *uid;
	enum xn_runtime_event ev;
	enum xn_inst_state state;
	const char *reason; /* NULL: any */
	int min_restarts;
	int ready; /* -1: any */
};

static int find_rec(struct t *t, int from, const struct want *w)
{
	for (int i = from; i < t->nrecs; i++) {
		const struct rec *r = &t->recs[i];

		if (strcmp(r->uid, w->uid) != 0 || r->ev != w->ev)
			continue;
		if (w->ev == XN_RT_STATUS && r->st.state != w->state)
			continue;
		if (w->reason && strcmp(r->st.reason, w->reason) != 0)
			continue;
		if ((int)r->st.restart_count < w->min_restarts)
			continue;
		if (w->ready >= 0 && r->st.ready != (bool)w->ready)
			continue;
		return i;
	}
	return -1;
}

static bool have_rec(struct t *t, const void *arg)
{
	return find_rec(t, 0, arg) >= 0;
}

static int wait_rec(struct t *t, const char *uid, enum xn_runtime_event ev,
		    enum xn_inst_state state, const char *reason, int min_restarts)
{
	struct want w = {uid, ev, state, reason, min_restarts, -1};
	int i;

	if (!run_until(t, have_rec, &w))
		fail_msg("pod %s: no event %d state %d reason %s restarts >= %d in %d ms", uid, ev,
			 state, reason ? reason : "*", min_restarts, TIMEOUT_MS);
	i = find_rec(t, 0, &w);
	return i;
}

static bool has_note(struct t *t, const char *uid, const char *reason)
{
	char want[64];

	snprintf(want, sizeof(want), "%s %s", uid, reason);
	for (int i = 0; i < t->nnotes; i++)
		if (strcmp(t->notes[i], want) == 0)
			return true;
	return false;
}

static struct xn_pod_spec spec(const char *uid, const char *name, const char *kernel,
			       enum xn_restart_policy policy)
{
	return (struct xn_pod_spec){
	    .uid = (char *)uid,
	    .ns = "default",
	    .name = (char *)name,
	    .container = "main",
	    .image = "sim",
	    .kernel = (char *)kernel,
	    .cmdline = "hello=world",
	    .type = XN_GUEST_PVH,
	    .memory_kb = 32 * 1024,
	    .vcpus = 1,
	    .restart = policy,
	    .grace_s = 0,
	};
}

static void run_pod(struct t *t, const struct xn_pod_spec *s)
{
	xn_err err = NULL;

	if (xn_runtime_run(t->rt, s, &err) < 0)
		fail_msg("run %s: %s", s->name, xn_error_msg(err));
}

static char *script(struct t *t, const char *name, const char *text)
{
	char *path = xn_xasprintf("%s/%s", t->root, name);

	xn_test_write(path, text);
	return path;
}

static bool domain_exists(struct t *t, uint32_t domid)
{
	struct xn_domain_info *doms = NULL;
	size_t n = 0;
	xn_err err = NULL;
	bool found = false;

	if (t->hv->ops->list(t->hv, &doms, &n, &err) < 0)
		fail_msg("list: %s", xn_error_msg(err));
	for (size_t i = 0; i < n; i++)
		if (doms[i].domid == domid)
			found = true;
	free(doms);
	return found;
}

static size_t count_domains(struct t *t)
{
	struct xn_domain_info *doms = NULL;
	size_t n = 0;
	xn_err err = NULL;

	if (t->hv->ops->list(t->hv, &doms, &n, &err) < 0)
		fail_msg("list: %s", xn_error_msg(err));
	free(doms);
	return n;
}

/* ---- tests ---- */

static void test_run_to_completion(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-hello", "hello", FIXTURES "hello.sim", XN_RESTART_NEVER);
	int created, running, done;
	const struct xn_pod_status *st;
	cleanup_free char *spec_file = xn_xasprintf("%s/pods/uid-hello.json", t->root);
	struct xn_pod_record rec;
	xn_err err = NULL;

	run_pod(t, &s);
	/* the first callback comes at once: ContainerCreating */
	assert_true(t->nrecs >= 1);
	assert_int_equal(t->recs[0].st.state, XN_INST_WAITING);
	assert_string_equal(t->recs[0].st.reason, "ContainerCreating");
	assert_int_equal(access(spec_file, R_OK), 0);
	created = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_WAITING, "ContainerCreating", 0);
	running = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	done = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, "Completed", 0);
	assert_true(created < running && running < done);
	assert_true(t->recs[running].st.domid != XN_DOMID_INVALID);
	assert_true(t->recs[running].st.ready); /* no guest readiness: ready when running */
	st = &t->recs[done].st;
	assert_true(st->finished);
	assert_true(st->has_last);
	assert_int_equal(st->last.exit_code, 0);
	assert_string_equal(st->last.reason, "Completed");
	assert_int_equal(st->restart_count, 0);
	assert_false(st->ready);
	assert_int_equal(st->domid, XN_DOMID_INVALID);
	assert_false(domain_exists(t, t->recs[running].st.domid));
	assert_true(has_note(t, s.uid, "Created"));
	assert_true(has_note(t, s.uid, "Started"));
	/* the store keeps the finished pod's record */
	if (xn_store_pod_get(t->store, s.uid, &rec, &err) < 0)
		fail_msg("record: %s", xn_error_msg(err));
	assert_int_equal(rec.last_exit, 0);
	assert_int_equal(rec.domid, XN_DOMID_INVALID);
	xn_pod_record_dispose(&rec);
	/* a finished pod holds no resources */
	{
		unsigned pods, vcpus;
		uint64_t mem;
		xn_runtime_usage(t->rt, &pods, &mem, &vcpus);
		assert_int_equal(pods, 0);
	}
}

static void test_console_to_cri_log(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s =
	    spec("uid-log", "logger", FIXTURES "exit3.sim", XN_RESTART_ON_FAILURE);
	cleanup_free char *dir = xn_xasprintf("%s/default_logger_uid-log/main", t->logs);
	cleanup_free char *p0 = xn_xasprintf("%s/0.log", dir);
	cleanup_free char *p1 = xn_xasprintf("%s/1.log", dir);
	cleanup_free char *l0 = NULL, *l1 = NULL, *rp = NULL;
	int ended;

	run_pod(t, &s);
	wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	/* the first instance has ended: its log is complete */
	l0 = xn_test_slurp(p0);
	assert_non_null(l0);
	/* "<RFC3339NANO> stdout F text" per line */
	assert_int_equal(l0[4], '-');
	assert_int_equal(l0[29], 'Z');
	assert_memory_equal(l0 + 30, " stdout F working\n", 18);
	assert_non_null(strstr(l0, "Z stdout F failed: something went wrong\n"));
	ended = 0;
	for (const char *p = l0; (p = strchr(p, '\n')) != NULL; p++)
		ended++;
	assert_int_equal(ended, 2);
	rp = xn_runtime_log_path(t->rt, s.uid, 1);
	assert_string_equal(rp, p1);
	wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 2);
	l1 = xn_test_slurp(p1);
	assert_non_null(l1);
	assert_non_null(strstr(l1, "Z stdout F working\n"));
	assert_null(xn_runtime_log_path(t->rt, "no-such-uid", 0));
}

static void test_on_failure(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec ok =
	    spec("uid-ok", "job-ok", FIXTURES "hello.sim", XN_RESTART_ON_FAILURE);
	struct xn_pod_spec bad =
	    spec("uid-bad", "job-bad", FIXTURES "exit3.sim", XN_RESTART_ON_FAILURE);
	int i;

	run_pod(t, &ok);
	run_pod(t, &bad);
	i = wait_rec(t, ok.uid, XN_RT_STATUS, XN_INST_TERMINATED, "Completed", 0);
	assert_true(t->recs[i].st.finished);
	/* exit 3 under OnFailure: restarted (and keeps failing) */
	i = wait_rec(t, bad.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	assert_true(t->recs[i].st.has_last);
	assert_int_equal(t->recs[i].st.last.exit_code, 3);
	assert_string_equal(t->recs[i].st.last.reason, "Error");
	assert_int_equal(
	    find_rec(t, 0, &(struct want){bad.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0, -1}),
	    -1);
	/* the completed job was never restarted */
	assert_int_equal(xn_runtime_status(t->rt, ok.uid)->restart_count, 0);
}

static void test_always_backoff(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s =
	    spec("uid-loop", "crashloop", FIXTURES "crash.sim", XN_RESTART_ALWAYS);
	static const char *const want[] = {"back-off 50ms ", "back-off 100ms ", "back-off 200ms ",
					   "back-off 200ms "};
	int seen = 0, last_restarts = -1;

	run_pod(t, &s);
	/* four exits: CrashLoopBackOff each time, restarts 0,1,2,3 */
	wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_WAITING, "CrashLoopBackOff", 3);
	for (int i = 0; i < t->nrecs; i++) {
		const struct xn_pod_status *st = &t->recs[i].st;

		if (strcmp(st->reason, "CrashLoopBackOff") != 0)
			continue;
		assert_true(seen < 4);
		/* the count grows by one per exit, and the delay doubles up to the max */
		assert_int_equal((int)st->restart_count, last_restarts + 1);
		last_restarts = (int)st->restart_count;
		if (strstr(st->message, want[seen]) == NULL)
			fail_msg("back-off %d: want '%s' in: %s", seen, want[seen], st->message);
		assert_non_null(strstr(st->message, "container=main pod=crashloop_default"));
		assert_int_equal(st->last.exit_code, 134);
		assert_false(st->finished);
		seen++;
	}
	assert_int_equal(seen, 4);
	/* between two back-offs: ContainerCreating, then running again */
	{
		int b0 = find_rec(t, 0,
				  &(struct want){s.uid, XN_RT_STATUS, XN_INST_WAITING,
						 "CrashLoopBackOff", 0, -1});
		int c1 = find_rec(t, b0,
				  &(struct want){s.uid, XN_RT_STATUS, XN_INST_WAITING,
						 "ContainerCreating", 1, -1});
		int r1 = find_rec(
		    t, c1, &(struct want){s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1, -1});
		int b1 = find_rec(t, r1,
				  &(struct want){s.uid, XN_RT_STATUS, XN_INST_WAITING,
						 "CrashLoopBackOff", 1, -1});
		assert_true(b0 >= 0 && c1 > b0 && r1 > c1 && b1 > r1);
	}
	assert_true(has_note(t, s.uid, "BackOff"));
}

static void test_crash_exit_code(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a = spec("uid-crash", "crasher", FIXTURES "crash.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b = spec("uid-hit", "hit", FIXTURES "server.sim", XN_RESTART_NEVER);
	int i;
	xn_err err = NULL;

	run_pod(t, &a);
	run_pod(t, &b);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_int_equal(t->recs[i].st.last.exit_code, 134);
	assert_string_equal(t->recs[i].st.reason, "Error");
	assert_non_null(strstr(t->recs[i].st.message, "crash"));
	/* a crash from outside (xn_hv_sim_crash), as a guest fault */
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	if (xn_hv_sim_crash(t->hv, t->recs[i].st.domid, &err) < 0)
		fail_msg("crash: %s", xn_error_msg(err));
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_int_equal(t->recs[i].st.last.exit_code, 134);
}

/* A guest that never boots is destroyed at its boot deadline: exit 124,
 * reason BootTimeout, and its memory is free again; one that writes its
 * banner in time is left alone. */
static void test_boot_timeout(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a =
	    spec("uid-silent", "silent", FIXTURES "silent.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b = spec("uid-talks", "talks", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_domain_info *doms = NULL;
	size_t n = 0;
	xn_err err = NULL;
	uint32_t domid;
	int i;

	a.boot_timeout_s = 1;
	b.boot_timeout_s = 1;
	run_pod(t, &a);
	run_pod(t, &b);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_int_equal(t->recs[i].st.last.exit_code, XN_EXIT_BOOT_TIMEOUT);
	assert_string_equal(t->recs[i].st.reason, "BootTimeout");
	assert_non_null(strstr(t->recs[i].st.message, "did not boot within 1s"));
	assert_int_equal(t->hv->ops->list(t->hv, &doms, &n, &err), 0);
	for (size_t k = 0; k < n; k++)
		assert_int_not_equal(doms[k].domid, domid);
	free(doms);
	/* the talking guest outlives the deadline */
	xn_test_run_for(t->base, 1500);
	assert_int_equal(xn_runtime_status(t->rt, b.uid)->state, XN_INST_RUNNING);
}

static void test_kill_obeying(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-srv", "server", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	cleanup_free char *spec_file = xn_xasprintf("%s/pods/uid-srv.json", t->root);
	struct xn_pod_record rec;
	xn_err err = NULL;
	uint32_t domid;
	int i;

	s.grace_s = 30;
	run_pod(t, &s);
	i = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	assert_true(domain_exists(t, domid));
	assert_int_equal(xn_runtime_kill(t->rt, s.uid, 30, &err), 0);
	assert_true(xn_runtime_status(t->rt, s.uid)->stopping);
	assert_int_equal(xn_runtime_kill(t->rt, s.uid, 30, &err), 0); /* twice is fine */
	i = wait_rec(t, s.uid, XN_RT_REMOVED, 0, NULL, 0);
	/* it powered off (exit 0) well before the grace period */
	assert_int_equal(t->recs[i].st.last.exit_code, 0);
	assert_true(has_note(t, s.uid, "Killing"));
	assert_false(domain_exists(t, domid));
	assert_null(xn_runtime_status(t->rt, s.uid));
	assert_int_equal(access(spec_file, F_OK), -1);
	assert_int_equal(xn_store_pod_get(t->store, s.uid, &rec, &err), -1);
	xn_error_free(&err);
	/* not restarted despite Always */
	assert_int_equal(count_domains(t), 0);
	assert_int_equal(xn_runtime_kill(t->rt, s.uid, 0, &err), -1);
	assert_int_equal(err->status, ENOENT);
	xn_error_free(&err);
}

static void test_kill_stubborn(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s =
	    spec("uid-stub", "stubborn", FIXTURES "stubborn.sim", XN_RESTART_ALWAYS);
	xn_err err = NULL;
	uint32_t domid;
	int i;

	run_pod(t, &s);
	i = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	/* grace 0: the deadline is now, the guest never answers: destroyed */
	assert_int_equal(xn_runtime_kill(t->rt, s.uid, 0, &err), 0);
	i = wait_rec(t, s.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_int_equal(t->recs[i].st.last.exit_code, 137);
	assert_false(domain_exists(t, domid));
	assert_int_equal(count_domains(t), 0);
}

static void test_kill_during_create(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-early", "early", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	xn_err err = NULL;

	run_pod(t, &s);
	/* the create callback has not run yet */
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->state, XN_INST_WAITING);
	assert_int_equal(xn_runtime_kill(t->rt, s.uid, 10, &err), 0);
	wait_rec(t, s.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_int_equal(
	    find_rec(t, 0, &(struct want){s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0, -1}), -1);
	assert_int_equal(count_domains(t), 0);
	assert_null(xn_runtime_find(t->rt, "default", "early"));
}

static void test_create_failure(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-cf", "flaky", FIXTURES "server.sim", XN_RESTART_NEVER);
	int e, r;

	assert_int_equal(xn_hv_sim_inject(t->hv, XN_SIM_FAIL_NEXT_CREATE, "disk on fire"), 0);
	run_pod(t, &s);
	e = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_WAITING, "CreateContainerError", 0);
	assert_non_null(strstr(t->recs[e].st.message, "disk on fire"));
	assert_true(has_note(t, s.uid, "Failed"));
	/* the retry (after the back-off, whatever the policy) succeeds */
	r = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_true(r > e);
	assert_int_equal(count_domains(t), 1);
}

static void test_bad_script_is_create_error(void **state)
{
	struct t *t = *state;
	cleanup_free char *bad = script(t, "bad.sim", "print hi\nfrobnicate\n");
	struct xn_pod_spec s = spec("uid-bs", "badscript", bad, XN_RESTART_NEVER);
	int e;

	run_pod(t, &s);
	e = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_WAITING, "CreateContainerError", 0);
	assert_non_null(strstr(t->recs[e].st.message, "bad.sim:2"));
	assert_int_equal(count_domains(t), 0);
}

static void test_guest_readiness(void **state)
{
	struct t *t = *state;
	cleanup_free char *slow = script(t, "slow-ready.sim", "print up\nsleep 100\nready\nhang\n");
	struct xn_pod_spec s = spec("uid-ready", "ready", slow, XN_RESTART_NEVER);
	int running, ready;

	s.guest_readiness = true;
	run_pod(t, &s);
	running = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_false(t->recs[running].st.ready);
	ready = find_rec(t, 0, &(struct want){s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0, 1});
	if (ready < 0) {
		struct want w = {s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0, 1};
		assert_true(run_until(t, have_rec, &w));
		ready = find_rec(t, 0, &w);
	}
	assert_true(ready > running);
	assert_true(xn_runtime_status(t->rt, s.uid)->ready);
}

/* A guest writes 100 invalid readiness values: the pod's budget of
 * complaints (XN_RT_GUEST_BURST Events), not one per write (issue 9,
 * finding 4). */
static void test_guest_junk_budget(void **state)
{
	struct t *t = *state;
	char *text = xn_xstrdup("print up\nready\n"), *next;
	cleanup_free char *path = NULL;
	struct xn_pod_spec s;
	int notes = 0;

	for (int i = 0; i < 100; i++) {
		next = xn_xasprintf("%sxenstore ready %.*s\nsleep 1\n", text, i % 7 + 2,
				    "jjjjjjjjjjjj");
		free(text);
		text = next;
	}
	next = xn_xasprintf("%sexit 0\n", text);
	free(text);
	path = script(t, "junk.sim", next);
	free(next);
	s = spec("uid-junk", "junk", path, XN_RESTART_NEVER);
	s.guest_readiness = true;
	run_pod(t, &s);
	wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	for (int i = 0; i < t->nnotes; i++)
		notes += strcmp(t->notes[i], "uid-junk Unhealthy") == 0;
	assert_int_equal(notes, 5); /* XN_RT_GUEST_BURST */
}

/* A guest flips its readiness flag 0/1 300 times a millisecond apart: a few
 * status reports (at most one readiness change a second), and the last
 * value, 1, is reported before the guest exits 1.5 s later. */
static void test_guest_ready_flapping(void **state)
{
	struct t *t = *state;
	char *text = xn_xstrdup("print up\nxenstore ready 1\n"), *next;
	cleanup_free char *path = NULL;
	struct xn_pod_spec s;
	int n = 0, end, last = -1;

	for (int i = 0; i < 300; i++) {
		next =
		    xn_xasprintf("%sxenstore ready 0\nsleep 1\nxenstore ready 1\nsleep 1\n", text);
		free(text);
		text = next;
	}
	next = xn_xasprintf("%sxenstore ready 0\nsleep 1\nxenstore ready 1\nsleep 1500\nexit 0\n",
			    text);
	free(text);
	path = script(t, "flap.sim", next);
	free(next);
	s = spec("uid-flap", "flap", path, XN_RESTART_NEVER);
	s.guest_readiness = true;
	run_pod(t, &s);
	end = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	for (int i = 0; i < end; i++) {
		if (strcmp(t->recs[i].uid, s.uid) != 0 || t->recs[i].ev != XN_RT_STATUS)
			continue;
		n++;
		if (t->recs[i].st.state == XN_INST_RUNNING && t->recs[i].st.phase == XN_POD_RUNNING)
			last = i;
	}
	assert_true(n <= 12);
	assert_true(last >= 0);
	assert_true(t->recs[last].st.ready);
}

/* An owner that reads the status when it gets round to it, as pod_sync
 * does (it marks the pod dirty on the callback and patches later): what it
 * reads is the view it reports. */
struct lazy_owner {
	const char *uid;
	int seen;   /* records looked at */
	bool shown; /* the readiness the owner read last */
};

static bool lazy_owner_read(struct t *t, struct lazy_owner *o)
{
	bool dirty = false;

	for (; o->seen < t->nrecs; o->seen++)
		if (strcmp(t->recs[o->seen].uid, o->uid) == 0)
			dirty = true;
	if (dirty)
		o->shown = xn_runtime_status(t->rt, o->uid)->ready;
	return dirty;
}

static bool lazy_owner_shows_not_ready(struct t *t, const void *arg)
{
	struct lazy_owner *o = (struct lazy_owner *)arg;

	lazy_owner_read(t, o);
	return !o->shown;
}

static void set_ready_flag(struct t *t, uint32_t domid, const char *v)
{
	char path[80];
	xn_err err = NULL;

	snprintf(path, sizeof(path), "/local/domain/%u/data/xenlet/ready", domid);
	if (xn_store_set(t->store, path, v, &err) < 0)
		fail_msg("ready flag: %s", xn_error_msg(err));
	/* the watch fires on the next loop turns */
	for (int i = 0; i < 3; i++)
		event_base_loop(t->base, EVLOOP_NONBLOCK);
}

/* The guest flips its flag between a readiness report and the owner's read
 * of the status: the owner must still end up with the guest's last word.
 * (The report of 0 went out, the owner read 1 a moment later; a runtime
 * that thinks "0 was reported" never reports the final 0.) */
static void test_guest_ready_flip_before_owner_reads(void **state)
{
	struct t *t = *state;
	cleanup_free char *path = script(t, "flip.sim", "print up\nxenstore ready 1\nhang\n");
	struct xn_pod_spec s = spec("uid-lazy", "lazy", path, XN_RESTART_NEVER);
	struct lazy_owner o = {.uid = s.uid};
	struct want ready1 = {s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0, 1};
	struct want ready0 = {s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0, 0};
	uint32_t domid;
	int i;

	s.guest_readiness = true;
	run_pod(t, &s);
	assert_true(run_until(t, have_rec, &ready1));
	lazy_owner_read(t, &o);
	assert_true(o.shown);
	domid = xn_runtime_status(t->rt, s.uid)->domid;

	/* 0: reported at once or when the pace allows */
	i = t->nrecs;
	set_ready_flag(t, domid, "0");
	while (find_rec(t, i, &ready0) < 0)
		assert_true(event_base_loop(t->base, EVLOOP_ONCE) == 0);
	/* ... but before the owner reads, the guest says 1: the owner reads now */
	set_ready_flag(t, domid, "1");
	lazy_owner_read(t, &o);
	/* the last word: 0 */
	set_ready_flag(t, domid, "0");
	assert_true(run_until(t, lazy_owner_shows_not_ready, &o));
	assert_false(xn_runtime_status(t->rt, s.uid)->ready);
}

static void test_duplicates(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a = spec("uid-dup", "dup", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b = spec("uid-dup", "other", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec c = spec("uid-dup2", "dup", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec d = spec("../x", "evil", FIXTURES "server.sim", XN_RESTART_NEVER);
	xn_err err = NULL;

	run_pod(t, &a);
	assert_int_equal(xn_runtime_run(t->rt, &b, &err), -1);
	assert_int_equal(err->status, EEXIST);
	assert_non_null(strstr(xn_error_msg(err), "uid-dup"));
	xn_error_free(&err);
	assert_int_equal(xn_runtime_run(t->rt, &c, &err), -1);
	assert_int_equal(err->status, EEXIST);
	assert_non_null(strstr(xn_error_msg(err), "default/dup"));
	xn_error_free(&err);
	assert_int_equal(xn_runtime_run(t->rt, &d, &err), -1);
	assert_int_equal(err->status, EINVAL);
	xn_error_free(&err);
	assert_string_equal(xn_runtime_find(t->rt, "default", "dup"), "uid-dup");
}

static void orphan_created(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	*(uint32_t *)arg = rc == 0 ? domid : XN_DOMID_INVALID;
}

static bool orphan_gone(struct t *t, const void *arg)
{
	return !domain_exists(t, *(const uint32_t *)arg);
}

static bool orphan_up(struct t *t, const void *arg)
{
	return *(const uint32_t *)arg != XN_DOMID_INVALID && count_domains(t) == 2;
}

static uint32_t running_domid(struct t *t, const char *uid)
{
	int i = wait_rec(t, uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);

	return t->recs[i].st.domid;
}

static void test_recovery(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec keep =
	    spec("uid-keep", "keep", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	struct xn_pod_spec gone = spec("uid-gone", "gone", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec back =
	    spec("uid-back", "back", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	struct xn_domain_config orphan;
	char oname[XN_NAME_MAX];
	struct xn_pod_spec ospec =
	    spec("uid-orphan", "orphan", FIXTURES "server.sim", XN_RESTART_NEVER);
	cleanup_free char *garbage = xn_xasprintf("%s/pods/zzz-garbage.json", t->root);
	uint32_t d_keep, d_gone, d_back, d_orphan = XN_DOMID_INVALID;
	const struct xn_pod_status *st;
	xn_err err = NULL;
	int i;

	run_pod(t, &keep);
	run_pod(t, &gone);
	run_pod(t, &back);
	d_keep = running_domid(t, keep.uid);
	d_gone = running_domid(t, gone.uid);
	d_back = running_domid(t, back.uid);

	/* the daemon goes away; its domains keep running */
	xn_runtime_free(t->rt);
	t->rt = NULL;
	assert_true(domain_exists(t, d_keep));
	/* while it is down: two domains destroyed behind its back, one domain
	 * of ours appears whose pod has no spec, a spec file gets garbled */
	assert_int_equal(t->hv->ops->destroy(t->hv, d_gone, NULL, NULL, &err), 0);
	assert_int_equal(t->hv->ops->destroy(t->hv, d_back, NULL, NULL, &err), 0);
	xn_runtime_domain_config(&ospec, oname, &orphan);
	assert_int_equal(t->hv->ops->create(t->hv, &orphan, orphan_created, &d_orphan, &err), 0);
	xn_test_write(garbage, "{\"uid\": \"zzz\", garbage");
	/* let the destroys and the create finish */
	assert_true(run_until(t, orphan_up, &d_orphan));
	xn_hv_free(t->hv);
	t->hv = NULL;
	xn_store_close(t->store);
	t->store = NULL;

	/* a new daemon on the same state */
	t->nrecs = t->nnotes = 0;
	open_all(t);
	assert_int_equal(count_domains(t), 2); /* keep, orphan */
	if (xn_runtime_recover(t->rt, &err) < 0)
		fail_msg("recover: %s", xn_error_msg(err));

	/* adopted as it was: same domid, running, no create */
	st = xn_runtime_status(t->rt, keep.uid);
	assert_non_null(st);
	assert_int_equal(st->state, XN_INST_RUNNING);
	assert_int_equal(st->domid, d_keep);
	assert_false(has_note(t, keep.uid, "Created"));
	/* gone under Never: finished with the kubelet's "killed" code */
	i = wait_rec(t, gone.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_true(t->recs[i].st.finished);
	assert_int_equal(t->recs[i].st.last.exit_code, 137);
	/* gone under Always: a new instance on a new domain */
	i = wait_rec(t, back.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	assert_true(t->recs[i].st.domid != d_back);
	/* the orphan domain is destroyed; the garbage spec is ignored */
	assert_true(run_until(t, orphan_gone, &d_orphan));
	assert_null(xn_runtime_status(t->rt, "zzz"));
	assert_null(xn_runtime_status(t->rt, "uid-orphan"));
	/* the adopted pod still works: kill it */
	assert_int_equal(xn_runtime_kill(t->rt, keep.uid, 5, &err), 0);
	wait_rec(t, keep.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_false(domain_exists(t, d_keep));
}

/* ---- the pod network ---- */

static void with_network(struct t *t, const char *cidr)
{
	close_all(t);
	snprintf(t->cidr, sizeof(t->cidr), "%s", cidr);
	open_all(t);
}

static char *store_value(struct t *t, const char *path)
{
	char *v = NULL;
	xn_err err = NULL;

	if (xn_store_get(t->store, path, &v, &err) < 0) {
		xn_error_free(&err);
		return NULL;
	}
	return v;
}

static void assert_store(struct t *t, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void assert_store(struct t *t, const char *want, const char *fmt, ...)
{
	va_list ap;
	char path[256];
	cleanup_free char *got = NULL;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	got = store_value(t, path);
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", path, got ? got : "(absent)",
			 want ? want : "(absent)");
}

/* A pod gets an address of the node's range, keeps it across restarts of
 * its domain, its guest is told (xenstore keys, the command line of its
 * convention), and the address goes back when the pod is deleted. */
static void test_pod_network(void **state)
{
	struct t *t = *state;
	cleanup_free char *flaky = script(t, "flaky.sim", "cmdline\nsleep 20\nexit 3\n");
	struct xn_pod_spec a = spec("uid-na", "na", flaky, XN_RESTART_ALWAYS);
	struct xn_pod_spec b = spec("uid-nb", "nb", FIXTURES "server.sim", XN_RESTART_NEVER);
	cleanup_free char *log0 = xn_xasprintf("%s/default_na_uid-na/main/0.log", t->logs);
	cleanup_free char *l0 = NULL;
	struct xn_pod_addrs addrs;
	char ip[XN_IP_STRLEN];
	uint32_t domid;
	xn_err err = NULL;
	int i;

	with_network(t, "10.244.1.0/29");
	a.net_config = XN_NETCONF_MIRAGE;
	run_pod(t, &a);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	snprintf(ip, sizeof(ip), "%s", t->recs[i].st.ip);
	assert_string_equal(ip, "10.244.1.2");
	assert_string_equal(t->recs[i].st.ip6, "");
	assert_int_equal(xn_ipam_get(t->ipam, a.uid, &addrs), 0);
	assert_string_equal(addrs.ip4, ip);
	/* the guest's keys, read-only for it */
	assert_store(t, ip, "/local/domain/%u/xenlet/ip", domid);
	assert_store(t, "29", "/local/domain/%u/xenlet/prefix", domid);
	assert_store(t, "255.255.255.248", "/local/domain/%u/xenlet/netmask", domid);
	assert_store(t, "10.244.1.1", "/local/domain/%u/xenlet/gateway", domid);
	assert_store(t, addrs.mac, "/local/domain/%u/xenlet/mac", domid);
	assert_store(t, NULL, "/local/domain/%u/xenlet/mtu", domid);
	/* the pod record says it too */
	assert_store(t, ip, "/xenlet/pods/%s/ip", a.uid);
	assert_store(t, addrs.mac, "/xenlet/pods/%s/mac", a.uid);

	/* restarted (exit 3, Always): the same address; the first instance
	 * saw the user's arguments, then MirageOS's */
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	assert_string_equal(t->recs[i].st.ip, ip);
	l0 = xn_test_slurp(log0);
	assert_non_null(l0);
	if (strstr(l0, " stdout F hello=world --ipv4=10.244.1.2/29 --ipv4-gateway=10.244.1.1\n") ==
	    NULL)
		fail_msg("console of instance 0: %s", l0);

	/* another pod, another address (and MAC) */
	run_pod(t, &b);
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "10.244.1.3");
	assert_store(t, NULL, "/local/domain/%u/xenlet/ipv6", t->recs[i].st.domid);

	/* deleted: the address and its record go back */
	assert_int_equal(xn_runtime_kill(t->rt, a.uid, 0, &err), 0);
	wait_rec(t, a.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_int_equal(xn_ipam_get(t->ipam, a.uid, &addrs), -1);
	assert_store(t, NULL, "/xenlet/net/pods/%s", a.uid);
	assert_int_equal(xn_ipam_count(t->ipam), 1);
}

/* env: the guest's xenlet/env/ keys hold the variables (the pod's address
 * filled in at start), and the command line is expanded with them. */
static void test_pod_env(void **state)
{
	struct t *t = *state;
	cleanup_free char *sh = script(t, "env.sim", "cmdline\nsleep 20\n");
	struct xn_pod_spec a = spec("uid-ev", "ev", sh, XN_RESTART_NEVER);
	cleanup_free char *log0 = xn_xasprintf("%s/default_ev_uid-ev/main/0.log", t->logs);
	cleanup_free char *l0 = NULL;
	uint32_t domid;
	int i;

	with_network(t, "10.244.1.0/29");
	a.cmdline = "--who $(WHO) $$(WHO) $(IP) $(NOPE)";
	a.env_plan = "[{\"n\":\"G\",\"v\":\"hi\"},{\"n\":\"WHO\",\"v\":\"$(G)-$(IP)\"},"
		     "{\"n\":\"IP\",\"f\":\"status.podIP\"},{\"n\":\"N\",\"l\":\"ev\"}]";
	run_pod(t, &a);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	assert_store(t, "hi", "/local/domain/%u/xenlet/env/G", domid);
	assert_store(t, "hi-$(IP)", "/local/domain/%u/xenlet/env/WHO", domid);
	assert_store(t, "10.244.1.2", "/local/domain/%u/xenlet/env/IP", domid);
	assert_store(t, "ev", "/local/domain/%u/xenlet/env/N", domid);
	for (int k = 0; k < 200; k++) {
		free(l0);
		l0 = xn_test_slurp(log0);
		if (l0 != NULL && strstr(l0, "--who") != NULL)
			break;
		xn_test_run_for(t->base, 10);
	}
	if (l0 == NULL ||
	    strstr(l0, " stdout F --who hi-$(IP) $(WHO) 10.244.1.2 $(NOPE)\n") == NULL)
		fail_msg("console: %s", l0 ? l0 : "(none)");
}

/* DNS: the guest is told the kubelet's resolv.conf for its dnsPolicy and
 * dnsConfig (xenstore keys, and lwIP's netdev.ip), with the node's
 * clusterDNS, clusterDomain and resolvConf read at each start. */
static void test_pod_network_dns(void **state)
{
	struct t *t = *state;
	cleanup_free char *resolv = xn_xasprintf("%s/resolv.conf", t->root);
	cleanup_free char *log0 = xn_xasprintf("%s/default_dk_uid-dk/main/0.log", t->logs);
	cleanup_free char *l0 = NULL;
	struct xn_pod_spec a = spec("uid-da", "da", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b = spec("uid-db", "db", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec c = spec("uid-dc", "dc", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec k = spec("uid-dk", "dk", FIXTURES "server.sim", XN_RESTART_NEVER);
	uint32_t domid;
	int i;

	xn_test_write(resolv, "nameserver 192.0.2.53\nsearch lab.example\n");
	t->opts.cluster_dns = "10.96.0.10";
	t->opts.cluster_domain = "cluster.local";
	t->opts.resolv_conf = resolv;
	with_network(t, "10.244.1.0/24");

	run_pod(t, &a); /* ClusterFirst, the default */
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	assert_store(t, "10.96.0.10", "/local/domain/%u/xenlet/dns", domid);
	assert_store(t, "default.svc.cluster.local svc.cluster.local cluster.local lab.example",
		     "/local/domain/%u/xenlet/search", domid);
	assert_store(t, "ndots:5", "/local/domain/%u/xenlet/dns-options", domid);

	b.dns_policy = "Default"; /* the node's resolv.conf */
	run_pod(t, &b);
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	assert_store(t, "192.0.2.53", "/local/domain/%u/xenlet/dns", domid);
	assert_store(t, "lab.example", "/local/domain/%u/xenlet/search", domid);
	assert_store(t, NULL, "/local/domain/%u/xenlet/dns-options", domid);

	c.dns_policy = "None";
	c.dns_config = "{\"nameservers\":[\"1.1.1.1\"],\"searches\":[\"a.example\"],"
		       "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"}]}";
	run_pod(t, &c);
	i = wait_rec(t, c.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	assert_store(t, "1.1.1.1", "/local/domain/%u/xenlet/dns", domid);
	assert_store(t, "a.example", "/local/domain/%u/xenlet/search", domid);
	assert_store(t, "ndots:2", "/local/domain/%u/xenlet/dns-options", domid);
	assert_false(has_note(t, a.uid, "MissingClusterDNS"));

	/* no clusterDNS: ClusterFirst falls back to Default, with the
	 * kubelet's Event; Unikraft's netdev.ip carries the first server */
	t->opts.cluster_dns = NULL;
	with_network(t, "10.244.2.0/24");
	k.net_config = XN_NETCONF_UNIKRAFT;
	run_pod(t, &k);
	i = wait_rec(t, k.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	domid = t->recs[i].st.domid;
	assert_store(t, "192.0.2.53", "/local/domain/%u/xenlet/dns", domid);
	assert_true(has_note(t, k.uid, "MissingClusterDNS"));
	for (int n = 0; n < 100; n++) { /* the console comes after the start */
		free(l0);
		l0 = xn_test_slurp(log0);
		if (l0 != NULL && strstr(l0, "netdev.ip=10.244.2.2/24:10.244.2.1:192.0.2.53"))
			break;
		xn_test_run_for(t->base, 50);
	}
	if (l0 == NULL || strstr(l0, "netdev.ip=10.244.2.2/24:10.244.2.1:192.0.2.53") == NULL)
		fail_msg("console of dk: %s", l0 ? l0 : "(none)");
}

/* A cluster's node without a pod range: the pod waits (ContainerCreating,
 * NetworkNotReady, no domain, no restart counted) and starts as soon as the
 * range comes. */
static void test_pod_network_waits_for_a_range(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a = spec("uid-nw", "nw", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_net_ranges none = {0}, r;
	const struct xn_pod_status *st;
	xn_err err = NULL;
	int i;

	t->opts.require_net = true;
	with_network(t, "10.244.1.0/24");
	xn_ipam_set_ranges(t->ipam, &none);
	run_pod(t, &a);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_WAITING, "ContainerCreating", 0);
	assert_non_null(strstr(t->recs[i].st.message, "network is not ready"));
	assert_true(has_note(t, a.uid, "NetworkNotReady"));
	xn_test_run_for(t->base, 300); /* it stays so: no domain */
	st = xn_runtime_status(t->rt, a.uid);
	assert_int_equal(st->domid, XN_DOMID_INVALID);
	assert_string_equal(st->reason, "ContainerCreating");

	if (xn_net_ranges_parse("10.244.7.0/24", &r, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	xn_ipam_set_ranges(t->ipam, &r);
	xn_runtime_net_changed(t->rt);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "10.244.7.2");
	assert_int_equal(t->recs[i].st.restart_count, 0);
	t->opts.require_net = false;
}

/* A full range: the pod waits in CreateContainerError with the reason,
 * retried with back-off, and starts once an address is free. */
static void test_pod_network_full(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a = spec("uid-fa", "fa", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b = spec("uid-fb", "fb", FIXTURES "server.sim", XN_RESTART_NEVER);
	xn_err err = NULL;
	int i;

	with_network(t, "10.244.1.0/30"); /* one pod */
	run_pod(t, &a);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "10.244.1.2");
	run_pod(t, &b);
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_WAITING, "CreateContainerError", 0);
	assert_string_equal(t->recs[i].st.message,
			    "pod network 10.244.1.0/30: no free address (all 1 in use)");
	assert_string_equal(t->recs[i].st.ip, "");
	assert_true(has_note(t, b.uid, "Failed"));
	assert_int_equal(count_domains(t), 1);
	assert_int_equal(xn_runtime_kill(t->rt, a.uid, 0, &err), 0);
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "10.244.1.2");
}

/* A pod that is over for good gives its address back; its status keeps
 * showing it, as the kubelet's does. */
static void test_pod_network_terminated(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-tn", "tn", FIXTURES "hello.sim", XN_RESTART_NEVER);
	struct xn_pod_addrs addrs;
	int i;

	with_network(t, "10.244.1.0/24");
	run_pod(t, &s);
	i = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "10.244.1.2");
	assert_int_equal(xn_ipam_get(t->ipam, s.uid, &addrs), -1);
	assert_store(t, NULL, "/xenlet/net/pods/%s", s.uid);
	assert_store(t, NULL, "/xenlet/pods/%s/ip", s.uid);
}

/* With real vifs, a host without the bridge would fail every domain: the
 * pod runs without a network and an Event says why; once the bridge is
 * there, the next pod gets its address. */
static void test_pod_network_host_not_ready(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a = spec("uid-ha", "ha", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b = spec("uid-hb", "hb", FIXTURES "server.sim", XN_RESTART_NEVER);
	cleanup_free char *sys = xn_xasprintf("%s/sys", t->root);
	cleanup_free char *br = xn_xasprintf("%s/sys/xenlet0", t->root);
	cleanup_free char *brdir = xn_xasprintf("%s/sys/xenlet0/bridge", t->root);
	int i;

	assert_int_equal(mkdir(sys, 0700), 0);
	snprintf(t->hook, sizeof(t->hook), "%s/vif-xenlet", t->root);
	xn_test_write(t->hook, "#!/bin/sh\n");
	assert_int_equal(chmod(t->hook, 0700), 0);
	t->opts.check_host_net = true;
	t->opts.sys_class_net = sys;
	with_network(t, "10.244.1.0/24");
	run_pod(t, &a);
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "");
	assert_true(has_note(t, a.uid, "NetworkNotReady"));
	assert_int_equal(xn_ipam_count(t->ipam), 0);

	assert_int_equal(mkdir(br, 0700), 0);
	assert_int_equal(mkdir(brdir, 0700), 0);
	run_pod(t, &b);
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_string_equal(t->recs[i].st.ip, "10.244.1.2");
	assert_false(has_note(t, b.uid, "NetworkNotReady"));
}

/* After a daemon restart: the adopted pod has the address it had, a pod
 * deleted while the daemon was down gives its address back. */
static void test_pod_network_recovery(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec keep = spec("uid-rk", "rk", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	struct xn_pod_spec gone = spec("uid-rg", "rg", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	cleanup_free char *gone_spec = xn_xasprintf("%s/pods/uid-rg.json", t->root);
	const struct xn_pod_status *st;
	char ip[XN_IP_STRLEN];
	xn_err err = NULL;
	int i;

	with_network(t, "10.244.1.0/24,fd00:10:244:1::/64");
	run_pod(t, &keep);
	run_pod(t, &gone);
	i = wait_rec(t, keep.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	snprintf(ip, sizeof(ip), "%s", t->recs[i].st.ip);
	assert_string_equal(t->recs[i].st.ip6, "fd00:10:244:1::2");
	wait_rec(t, gone.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 0);
	assert_int_equal(xn_ipam_count(t->ipam), 2);

	/* the daemon stops; the pod "gone" is deleted meanwhile (its spec
	 * file with it; its domain is destroyed as an orphan on recovery) */
	close_all(t);
	assert_int_equal(unlink(gone_spec), 0);
	t->nrecs = t->nnotes = 0;
	open_all(t);
	assert_int_equal(xn_ipam_count(t->ipam), 2);
	if (xn_runtime_recover(t->rt, &err) < 0)
		fail_msg("recover: %s", xn_error_msg(err));
	st = xn_runtime_status(t->rt, keep.uid);
	assert_non_null(st);
	assert_string_equal(st->ip, ip);
	assert_string_equal(st->ip6, "fd00:10:244:1::2");
	assert_false(has_note(t, keep.uid, "Created"));
	assert_int_equal(xn_ipam_count(t->ipam), 1);
	assert_store(t, NULL, "/xenlet/net/pods/%s", gone.uid);
}

/* ---- pause (fault 4: a paused pod is not destroyed by its boot deadline) ---- */

static bool log_has(struct t *t, const void *arg)
{
	cleanup_free char *l = xn_test_slurp(((const char *const *)arg)[0]);

	return l != NULL && strstr(l, ((const char *const *)arg)[1]) != NULL;
}

/* Paused before its first console byte, a guest waits past its boot
 * deadline and is still there; unpaused, it boots and stays up. */
static void test_pause_stops_boot_deadline(void **state)
{
	struct t *t = *state;
	cleanup_free char *late = script(t, "late.sim", "sleep 300\nprint booted\nhang\n");
	struct xn_pod_spec s = spec("uid-pz", "pz", late, XN_RESTART_NEVER);
	cleanup_free char *log = xn_xasprintf("%s/default_pz_uid-pz/main/0.log", t->logs);
	const char *want[] = {log, "booted"};
	const struct xn_pod_status *st;
	xn_err err = NULL;
	uint32_t domid;

	s.boot_timeout_s = 1;
	run_pod(t, &s);
	domid = running_domid(t, s.uid);
	if (xn_runtime_pause(t->rt, s.uid, &err) < 0)
		fail_msg("pause: %s", xn_error_msg(err));
	st = xn_runtime_status(t->rt, s.uid);
	assert_int_equal(st->phase, XN_POD_PAUSED);
	assert_int_equal(st->state, XN_INST_RUNNING); /* the kubelet has no paused state */
	assert_string_equal(xn_pod_phase_name(st->phase), "paused");
	assert_int_equal(xn_runtime_pause(t->rt, s.uid, &err), 0); /* twice is fine */
	/* well past the deadline: alive, paused, no exit 124 */
	xn_test_run_for(t->base, 1500);
	assert_false(has_note(t, s.uid, "BootTimeout"));
	st = xn_runtime_status(t->rt, s.uid);
	assert_non_null(st);
	assert_int_equal(st->phase, XN_POD_PAUSED);
	assert_false(st->has_last);
	assert_true(domain_exists(t, domid));
	if (xn_runtime_unpause(t->rt, s.uid, &err) < 0)
		fail_msg("unpause: %s", xn_error_msg(err));
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->phase, XN_POD_BOOTING);
	assert_true(run_until(t, log_has, want));
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->phase, XN_POD_RUNNING);
	/* booted: the deadline is gone for good */
	xn_test_run_for(t->base, 1200);
	assert_false(has_note(t, s.uid, "BootTimeout"));
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->phase, XN_POD_RUNNING);
	assert_true(domain_exists(t, domid));
}

static bool has_note_p(struct t *t, const void *arg)
{
	return has_note(t, ((const char *const *)arg)[0], ((const char *const *)arg)[1]);
}

/* A guest that never boots, paused part-way: the deadline keeps the time it
 * had left and fires only after the unpause, exit 124. */
static void test_pause_keeps_remaining_boot_time(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-pr", "pr", FIXTURES "silent.sim", XN_RESTART_NEVER);
	const char *want[] = {s.uid, "BootTimeout"};
	xn_err err = NULL;
	int unpaused, done;

	s.boot_timeout_s = 1;
	run_pod(t, &s);
	running_domid(t, s.uid);
	xn_test_run_for(t->base, 300);
	if (xn_runtime_pause(t->rt, s.uid, &err) < 0)
		fail_msg("pause: %s", xn_error_msg(err));
	xn_test_run_for(t->base, 1500);
	assert_false(has_note(t, s.uid, "BootTimeout"));
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->phase, XN_POD_PAUSED);
	unpaused = t->nrecs;
	if (xn_runtime_unpause(t->rt, s.uid, &err) < 0)
		fail_msg("unpause: %s", xn_error_msg(err));
	assert_true(run_until(t, has_note_p, want));
	done = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, "BootTimeout", 0);
	assert_true(done >= unpaused);
	assert_int_equal(t->recs[done].st.last.exit_code, XN_EXIT_BOOT_TIMEOUT);
	assert_int_equal(count_domains(t), 0);
}

static void test_pause_refused_without_domain(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-pn", "pn", FIXTURES "hello.sim", XN_RESTART_NEVER);
	char *path = NULL;
	xn_err err = NULL;

	assert_int_equal(xn_runtime_pause(t->rt, "no-such-uid", &err), -1);
	assert_int_equal(err->status, ENOENT);
	xn_error_free(&err);
	run_pod(t, &s);
	/* still being created: nothing to pause yet */
	assert_int_equal(xn_runtime_pause(t->rt, s.uid, &err), -1);
	assert_int_equal(err->status, EBUSY);
	assert_non_null(strstr(xn_error_msg(err), "default/pn"));
	xn_error_free(&err);
	running_domid(t, s.uid);
	if (xn_runtime_console_path(t->rt, s.uid, &path, &err) < 0)
		fail_msg("console path: %s", xn_error_msg(err));
	assert_true(strncmp(path, "/dev/pts/", 9) == 0);
	free(path);
	path = NULL;
	wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_int_equal(xn_runtime_unpause(t->rt, s.uid, &err), -1);
	assert_int_equal(err->status, EBUSY);
	xn_error_free(&err);
	assert_int_equal(xn_runtime_console_path(t->rt, s.uid, &path, &err), -1);
	assert_null(path);
	assert_int_equal(err->status, EBUSY);
	xn_error_free(&err);
}

/* ---- kill (fault 1: the grace period is the runtime's, the pod outlives its domain) ---- */

/* A guest that ignores shutdown on a backend that leaves the deadline to its
 * caller: the runtime destroys it at the end of the grace period, and the
 * pod is forgotten only once the domain is gone. */
static void test_kill_enforces_grace(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s =
	    spec("uid-ig", "ignorer", FIXTURES "stubborn.sim", XN_RESTART_ALWAYS);
	const struct xn_pod_status *st;
	xn_err err = NULL;
	uint32_t domid;
	int i;

	run_pod(t, &s);
	domid = running_domid(t, s.uid);
	assert_int_equal(xn_hv_sim_inject(t->hv, XN_SIM_NO_DEADLINE_NEXT_SHUTDOWN, NULL), 0);
	assert_int_equal(xn_runtime_kill(t->rt, s.uid, 1, &err), 0);
	st = xn_runtime_status(t->rt, s.uid);
	assert_int_equal(st->phase, XN_POD_STOPPING);
	assert_true(st->stopping);
	/* half-way: still listed, still running */
	xn_test_run_for(t->base, 400);
	assert_non_null(xn_runtime_status(t->rt, s.uid));
	assert_true(domain_exists(t, domid));
	i = wait_rec(t, s.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_int_equal(t->recs[i].domains, 0); /* gone before the pod was forgotten */
	assert_int_equal(t->recs[i].st.last.exit_code, XN_EXIT_DESTROYED);
	assert_false(domain_exists(t, domid));
	assert_null(xn_runtime_status(t->rt, s.uid));
	assert_int_equal(count_domains(t), 0); /* not restarted */
}

/* A shutdown request that fails: destroyed at once, then forgotten. */
static void test_kill_failed_shutdown_destroys(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-fs", "failshut", FIXTURES "server.sim", XN_RESTART_NEVER);
	xn_err err = NULL;
	uint32_t domid;
	int i;

	run_pod(t, &s);
	domid = running_domid(t, s.uid);
	assert_int_equal(xn_hv_sim_inject(t->hv, XN_SIM_FAIL_NEXT_SHUTDOWN, "xenstore is down"), 0);
	if (xn_runtime_kill(t->rt, s.uid, 30, &err) < 0)
		fail_msg("kill: %s", xn_error_msg(err));
	i = wait_rec(t, s.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_int_equal(t->recs[i].domains, 0);
	assert_int_equal(t->recs[i].st.last.exit_code, XN_EXIT_DESTROYED);
	assert_false(domain_exists(t, domid));
}

/* A destroy that fails is retried; the pod stays listed and says why. */
static void test_kill_failed_destroy_retries(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s =
	    spec("uid-fd", "faildestroy", FIXTURES "stubborn.sim", XN_RESTART_NEVER);
	const struct xn_pod_status *st;
	xn_err err = NULL;
	uint32_t domid;
	int i;

	run_pod(t, &s);
	domid = running_domid(t, s.uid);
	assert_int_equal(xn_hv_sim_inject(t->hv, XN_SIM_FAIL_NEXT_DESTROY, "hypercall failed"), 0);
	if (xn_runtime_kill(t->rt, s.uid, 0, &err) < 0)
		fail_msg("kill: %s", xn_error_msg(err));
	st = xn_runtime_status(t->rt, s.uid);
	assert_non_null(st);
	assert_int_equal(st->phase, XN_POD_DESTROYING);
	assert_string_equal(st->reason, "DestroyFailed");
	assert_non_null(strstr(st->message, "hypercall failed"));
	assert_true(domain_exists(t, domid));
	i = wait_rec(t, s.uid, XN_RT_REMOVED, 0, NULL, 0);
	assert_int_equal(t->recs[i].domains, 0);
	assert_false(domain_exists(t, domid));
}

/* The exec verb `shutdown`: the guest is asked, destroyed at the grace end
 * if it does not answer, and the restart policy decides (not forgotten). */
static void test_shutdown_verb(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec a = spec("uid-sd", "obeys", FIXTURES "server.sim", XN_RESTART_NEVER);
	struct xn_pod_spec b =
	    spec("uid-sx", "ignores", FIXTURES "stubborn.sim", XN_RESTART_ALWAYS);
	xn_err err = NULL;
	uint32_t domid;
	int i;

	run_pod(t, &a);
	running_domid(t, a.uid);
	if (xn_runtime_shutdown(t->rt, a.uid, 30, &err) < 0)
		fail_msg("shutdown: %s", xn_error_msg(err));
	i = wait_rec(t, a.uid, XN_RT_STATUS, XN_INST_TERMINATED, "Completed", 0);
	assert_int_equal(t->recs[i].st.last.exit_code, 0);
	assert_non_null(xn_runtime_status(t->rt, a.uid));
	assert_int_equal(xn_runtime_shutdown(t->rt, a.uid, 30, &err), -1);
	assert_int_equal(err->status, EBUSY);
	xn_error_free(&err);

	run_pod(t, &b);
	domid = running_domid(t, b.uid);
	assert_int_equal(xn_hv_sim_inject(t->hv, XN_SIM_NO_DEADLINE_NEXT_SHUTDOWN, NULL), 0);
	if (xn_runtime_shutdown(t->rt, b.uid, 1, &err) < 0)
		fail_msg("shutdown: %s", xn_error_msg(err));
	assert_int_equal(xn_runtime_status(t->rt, b.uid)->phase, XN_POD_STOPPING);
	i = wait_rec(t, b.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	assert_int_equal(t->recs[i].st.last.exit_code, XN_EXIT_DESTROYED);
	assert_false(domain_exists(t, domid));
}

/* ---- probes (runtime_probe.c): the hooks, against sockets on 127.0.0.1 ---- */

/* A TCP port on 127.0.0.1: listening (connects succeed: the kernel
 * completes them into the backlog) or, listen false, closed (refused). */
static unsigned loopback_port(bool listen_on, int *fd_out)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (listen_on) {
		assert_int_equal(listen(fd, 64), 0);
		*fd_out = fd;
	} else {
		close(fd);
		*fd_out = -1;
	}
	return ntohs(sin.sin_port);
}

static int count_notes(struct t *t, const char *uid, const char *reason)
{
	char want[64];
	int n = 0;

	snprintf(want, sizeof(want), "%s %s", uid, reason);
	for (int i = 0; i < t->nnotes; i++)
		n += strcmp(t->notes[i], want) == 0;
	return n;
}

static struct xn_probe tcp_probe(unsigned port, unsigned failures)
{
	return (struct xn_probe){.kind = XN_PROBE_TCP,
				 .host = "127.0.0.1",
				 .port = port,
				 .period_s = 1,
				 .timeout_s = 1,
				 .success_threshold = 1,
				 .failure_threshold = failures,
				 .grace_s = -1};
}

/* A failed liveness probe kills the instance and the policy restarts it:
 * under OnFailure too, although the guest's shutdown exits 0 (the kubelet
 * restarts a container it killed for its liveness probe unless Never). */
static void test_probe_liveness_restarts(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-lv", "lv", FIXTURES "server.sim", XN_RESTART_ON_FAILURE);
	int fd, i;

	s.grace_s = 5;
	s.probes.p[XN_PROBE_LIVENESS] = tcp_probe(loopback_port(false, &fd), 2);
	run_pod(t, &s);
	i = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	assert_true(t->recs[i].st.has_last);
	assert_int_equal(t->recs[i].st.last.exit_code, 0); /* it obeyed the shutdown */
	assert_true(has_note(t, s.uid, "Unhealthy"));
	assert_true(has_note(t, s.uid, "Killing"));
	/* the kill went through the grace period (stopping), not a destroy */
	assert_true(
	    find_rec(t, 0,
		     &(struct want){s.uid, XN_RT_STATUS, XN_INST_RUNNING, "Killing", 0, -1}) >= 0);
}

static void test_probe_liveness_never(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-ln", "ln", FIXTURES "server.sim", XN_RESTART_NEVER);
	int fd, i;

	s.probes.p[XN_PROBE_LIVENESS] = tcp_probe(loopback_port(false, &fd), 1);
	run_pod(t, &s);
	i = wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_TERMINATED, NULL, 0);
	assert_int_equal(t->recs[i].st.restart_count, 0);
	assert_true(has_note(t, s.uid, "Killing"));
}

static bool ready_is(struct t *t, const void *arg)
{
	const struct xn_pod_status *st = xn_runtime_status(t->rt, ((const char *const *)arg)[0]);

	return st && st->ready == (((const char *const *)arg)[1][0] == '1');
}

/* Readiness from the probe: not ready until it succeeds; a startup probe
 * that keeps failing holds started and ready back (and the readiness probe,
 * whose port answers, with them). */
static void test_probe_readiness_and_startup(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec r = spec("uid-rd", "rd", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	struct xn_pod_spec u = spec("uid-su", "su", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	const char *want_ready[] = {"uid-rd", "1"};
	const struct xn_pod_status *st;
	int lfd, cfd;
	unsigned open_port = loopback_port(true, &lfd);

	r.probes.p[XN_PROBE_READINESS] = tcp_probe(open_port, 1);
	u.probes.p[XN_PROBE_READINESS] = tcp_probe(open_port, 1);
	u.probes.p[XN_PROBE_STARTUP] = tcp_probe(loopback_port(false, &cfd), 100);
	run_pod(t, &r);
	run_pod(t, &u);
	running_domid(t, r.uid);
	st = xn_runtime_status(t->rt, r.uid);
	/* running, but not ready before the probe said so */
	assert_false(st->ready);
	assert_false(st->startup_pending);
	assert_true(run_until(t, ready_is, want_ready));
	/* the startup pod: two periods later still not started nor ready */
	xn_test_run_for(t->base, 2500);
	st = xn_runtime_status(t->rt, u.uid);
	assert_int_equal(st->state, XN_INST_RUNNING);
	assert_true(st->startup_pending);
	assert_false(st->ready);
	assert_true(has_note(t, u.uid, "Unhealthy"));
	assert_false(has_note(t, u.uid, "Killing")); /* threshold 100 not reached */
	/* failing the same way again and again: one Event (repeats folded) */
	assert_int_equal(count_notes(t, u.uid, "Unhealthy"), 1);
	/* ... but every attempt is counted in the metrics */
	assert_true(xn_metric_value("xenlet_probe_failures_total", "Startup") >= 2);
	assert_true(xn_metric_value("xenlet_probe_attempts_total", "Readiness") >= 1);
	close(lfd);
}

/* A paused guest cannot answer: its probes wait, no kill. */
static void test_probe_paused_no_kill(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-pp", "pp", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	xn_err err = NULL;
	int fd;

	s.probes.p[XN_PROBE_LIVENESS] = tcp_probe(loopback_port(false, &fd), 1);
	s.probes.p[XN_PROBE_LIVENESS].initial_delay_s = 1;
	run_pod(t, &s);
	running_domid(t, s.uid);
	if (xn_runtime_pause(t->rt, s.uid, &err) < 0)
		fail_msg("pause: %s", xn_error_msg(err));
	xn_test_run_for(t->base, 2500);
	assert_false(has_note(t, s.uid, "Unhealthy"));
	assert_false(has_note(t, s.uid, "Killing"));
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->phase, XN_POD_PAUSED);
	if (xn_runtime_unpause(t->rt, s.uid, &err) < 0)
		fail_msg("unpause: %s", xn_error_msg(err));
	wait_rec(t, s.uid, XN_RT_STATUS, XN_INST_RUNNING, NULL, 1);
	assert_true(has_note(t, s.uid, "Killing"));
}

/* Ready combines the guest's flag and the readiness probe: the probe alone
 * (its port answers at once) is not enough while the flag is unset. */
static void test_probe_and_guest_flag(void **state)
{
	struct t *t = *state;
	cleanup_free char *late =
	    script(t, "late-ready.sim", "print up\nsleep 1500\nready\nhang\n");
	struct xn_pod_spec s = spec("uid-pg", "pg", late, XN_RESTART_NEVER);
	const char *want_ready[] = {"uid-pg", "1"};
	const struct xn_pod_status *st;
	int lfd;

	s.guest_readiness = true;
	s.probes.p[XN_PROBE_READINESS] = tcp_probe(loopback_port(true, &lfd), 1);
	run_pod(t, &s);
	/* the probe succeeds within its first second (jitter < 1 s) */
	xn_test_run_for(t->base, 1200);
	st = xn_runtime_status(t->rt, s.uid);
	assert_int_equal(st->state, XN_INST_RUNNING);
	assert_false(st->ready); /* the guest has not set its flag */
	assert_true(run_until(t, ready_is, want_ready));
	close(lfd);
}

/* A probe that succeeds is a sign of life like a console byte: a guest that
 * writes nothing but answers its probe has booted (no BootTimeout). */
static void test_probe_success_boots(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-pb", "pb", FIXTURES "silent.sim", XN_RESTART_NEVER);
	int lfd;

	s.boot_timeout_s = 2;
	s.probes.p[XN_PROBE_READINESS] = tcp_probe(loopback_port(true, &lfd), 1);
	run_pod(t, &s);
	xn_test_run_for(t->base, 2600);
	assert_false(has_note(t, s.uid, "BootTimeout"));
	assert_int_equal(xn_runtime_status(t->rt, s.uid)->phase, XN_POD_RUNNING);
	assert_true(xn_runtime_status(t->rt, s.uid)->ready);
	close(lfd);
}

static bool started_reported(struct t *t, const void *arg)
{
	for (int i = 0; i < t->nrecs; i++)
		if (strcmp(t->recs[i].uid, arg) == 0 && t->recs[i].st.state == XN_INST_RUNNING &&
		    !t->recs[i].st.startup_pending)
			return true;
	return false;
}

/* A startup probe that succeeds while the readiness probe fails changes
 * only "started": that alone is a status change the owner hears of. */
static void test_probe_started_without_ready(void **state)
{
	struct t *t = *state;
	struct xn_pod_spec s = spec("uid-sn", "sn", FIXTURES "server.sim", XN_RESTART_ALWAYS);
	int lfd, cfd;

	s.probes.p[XN_PROBE_STARTUP] = tcp_probe(loopback_port(true, &lfd), 3);
	s.probes.p[XN_PROBE_READINESS] = tcp_probe(loopback_port(false, &cfd), 3);
	run_pod(t, &s);
	assert_true(run_until(t, started_reported, s.uid));
	assert_false(xn_runtime_status(t->rt, s.uid)->ready);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_run_to_completion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_console_to_cri_log, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_on_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_always_backoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_exit_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_obeying, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_stubborn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_during_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_script_is_create_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_readiness, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network_dns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network_waits_for_a_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network_terminated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_network_host_not_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_junk_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ready_flapping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ready_flip_before_owner_reads, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pause_stops_boot_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_keeps_remaining_boot_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_refused_without_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_enforces_grace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_failed_shutdown_destroys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill_failed_destroy_retries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_verb, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_liveness_restarts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_liveness_never, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_readiness_and_startup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_paused_no_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_and_guest_flag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_success_boots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe_started_without_ready, setup, teardown),
	};

	xn_log_init("test_runtime", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
