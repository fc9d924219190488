/* test_hv_sim.c - the simulated hypervisor backend, driven by a real
 * libevent loop: lifecycle, console, exit codes, memory accounting, fault
 * injection, shutdown deadlines, pause, persistence across instances. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/hv.h"
#include "xenlet/hv_sim.h"
#include "xenlet/util.h"

#define FIXTURES XN_SRCDIR "/test/fixtures/sim/"
#define MAX_EVS	 16

struct t {
	struct event_base *base;
	struct xn_hv *hv;
	char dir[64];
	/* create */
	int ncreated;
	int create_rc;
	uint32_t domid;
	char create_err[256];
	/* events, done callbacks, console */
	struct xn_hv_event evs[MAX_EVS];
	int nevs;
	int ndone;
	char console[8192];
	size_t clen;
	int console_closed;
	int ready_hooks;
};

static void on_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct t *t = arg;

	assert_true(t->nevs < MAX_EVS);
	t->evs[t->nevs++] = *ev;
}

static void on_create(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct t *t = arg;

	t->ncreated++;
	t->create_rc = rc;
	t->domid = domid;
	snprintf(t->create_err, sizeof(t->create_err), "%s", rc < 0 ? xn_error_msg(err) : "");
}

static void on_done(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct t *t = arg;

	assert_int_equal(rc, 0);
	t->ndone++;
}

static void on_console(struct xn_hv *hv, uint32_t domid, const char *buf, size_t len, void *arg)
{
	struct t *t = arg;

	if (len == 0) {
		t->console_closed++;
		return;
	}
	assert_true(t->clen + len < sizeof(t->console));
	memcpy(t->console + t->clen, buf, len);
	t->clen += len;
	t->console[t->clen] = '\0';
}

static void on_ready(struct xn_hv *hv, uint32_t domid, void *arg)
{
	((struct t *)arg)->ready_hooks++;
}

static void open_hv(struct t *t)
{
	xn_err err = NULL;

	setenv("XN_SIM_STATE_DIR", t->dir, 1);
	t->hv = xn_hv_new("sim", t->base, on_event, t, &err);
	if (t->hv == NULL)
		fail_msg("xn_hv_new: %s", xn_error_msg(err));
	xn_hv_sim_set_ready_hook(t->hv, on_ready, t);
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/xn-test-sim.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	setenv("XN_SIM_MEMORY_MB", "1024", 1);
	setenv("XN_SIM_CPUS", "2", 1);
	unsetenv("XN_SIM_FAIL_CREATE");
	t->base = event_base_new();
	assert_non_null(t->base);
	open_hv(t);
	*state = t;
	return 0;
}

static void rm_dir(const char *dir)
{
	static const char *const files[] = {"domains.json", "domains.json.tmp", "lock", "s.sim"};

	for (size_t i = 0; i < XN_ARRAY_SIZE(files); i++) {
		char *p = xn_xasprintf("%s/%s", dir, files[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
}

static int teardown(void **state)
{
	struct t *t = *state;

	xn_hv_free(t->hv);
	event_base_free(t->base);
	rm_dir(t->dir);
	free(t);
	return 0;
}

/* The limit is far above anything the scripts need. */
#define RUN_UNTIL(t, cond) XN_TEST_RUN_UNTIL((t)->base, 10000, cond)

static char *write_script(struct t *t, const char *text)
{
	char *path = xn_xasprintf("%s/s.sim", t->dir);

	xn_test_write(path, text);
	return path;
}

/* Create a domain and wait for the callback; returns the domid. */
static uint32_t create(struct t *t, const char *name, const char *tag, const char *kernel,
		       uint64_t mem_mb)
{
	struct xn_domain_config c = {
	    .name = (char *)name,
	    .tag = (char *)tag,
	    .type = XN_GUEST_PVH,
	    .kernel = (char *)kernel,
	    .cmdline = (char *)"console=hvc0 app=1",
	    .memory_kb = mem_mb * 1024,
	    .vcpus = 1,
	};
	xn_err err = NULL;
	int n = t->ncreated;

	if (t->hv->ops->create(t->hv, &c, on_create, t, &err) < 0)
		fail_msg("create %s: %s", name, xn_error_msg(err));
	/* never from inside create() */
	assert_int_equal(t->ncreated, n);
	RUN_UNTIL(t, t->ncreated > n);
	if (t->create_rc < 0)
		fail_msg("create %s: callback: %s", name, t->create_err);
	return t->domid;
}

static int create_sync_err(struct t *t, const char *name, const char *kernel, uint64_t mem_mb,
			   char *msg, size_t msglen)
{
	struct xn_domain_config c = {.name = (char *)name,
				     .type = XN_GUEST_PV,
				     .kernel = (char *)kernel,
				     .memory_kb = mem_mb * 1024,
				     .vcpus = 1};
	xn_err err = NULL;
	int rc = t->hv->ops->create(t->hv, &c, on_create, t, &err);

	snprintf(msg, msglen, "%s", rc < 0 ? xn_error_msg(err) : "");
	xn_error_free(&err);
	return rc;
}

static struct xn_domain_info info(struct t *t, uint32_t domid)
{
	struct xn_domain_info i;
	xn_err err = NULL;

	if (t->hv->ops->domain_info(t->hv, domid, &i, &err) < 0)
		fail_msg("domain_info %u: %s", domid, xn_error_msg(err));
	return i;
}

static size_t count_domains(struct t *t)
{
	struct xn_domain_info *l;
	size_t n;

	assert_int_equal(t->hv->ops->list(t->hv, &l, &n, NULL), 0);
	free(l);
	return n;
}

static uint64_t free_kb(struct t *t)
{
	struct xn_host_info h;

	assert_int_equal(t->hv->ops->host_info(t->hv, &h, NULL), 0);
	return h.free_kb;
}

static void lifecycle(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "hello", "uid-1", FIXTURES "hello.sim", 64);
	struct xn_domain_info i;

	assert_int_equal(id, 1);
	i = info(t, id);
	assert_int_equal(i.state, XN_DOM_PAUSED);
	assert_string_equal(i.tag, "uid-1");
	assert_int_equal(i.memory_kb, 64 * 1024);
	assert_int_equal(free_kb(t), (1024 - 64) * 1024);
	/* paused: nothing runs */
	xn_test_run_for(t->base, 50);
	assert_int_equal(t->nevs, 0);
	assert_false(xn_hv_sim_ready(t->hv, id));

	assert_int_equal(t->hv->ops->console_attach(t->hv, id, on_console, t, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	assert_int_equal(info(t, id).state, XN_DOM_RUNNING);
	RUN_UNTIL(t, t->nevs >= 1);
	assert_string_equal(t->console, "hello from xenlet sim guest\nconsole=hvc0 app=1\ndone\n");
	assert_int_equal(t->evs[0].type, XN_HV_EV_SHUTDOWN);
	assert_int_equal(t->evs[0].domid, id);
	assert_int_equal(t->evs[0].reason, XN_SHUTDOWN_POWEROFF);
	assert_int_equal(t->evs[0].exit_code, 0);
	assert_true(xn_hv_sim_ready(t->hv, id));
	assert_int_equal(t->ready_hooks, 1);
	i = info(t, id);
	assert_int_equal(i.state, XN_DOM_SHUTDOWN);
	assert_int_equal(i.reason, XN_SHUTDOWN_POWEROFF);
	assert_true(i.cpu_time_ns > 0);
	/* a shut-down domain keeps its memory and name until destroyed */
	assert_int_equal(free_kb(t), (1024 - 64) * 1024);

	assert_int_equal(t->hv->ops->destroy(t->hv, id, on_done, t, NULL), 0);
	assert_int_equal(t->ndone, 0);
	RUN_UNTIL(t, t->ndone == 1);
	assert_int_equal(t->nevs, 2); /* no second SHUTDOWN: it had shut down */
	assert_int_equal(t->evs[1].type, XN_HV_EV_DEATH);
	assert_int_equal(t->evs[1].domid, id);
	assert_int_equal(t->console_closed, 1);
	assert_int_equal(count_domains(t), 0);
	assert_int_equal(free_kb(t), 1024 * 1024);
	assert_int_equal(t->hv->ops->domain_info(t->hv, id, &i, NULL), -1);
	/* domids are not reused */
	assert_int_equal(create(t, "hello", NULL, FIXTURES "hello.sim", 64), 2);
}

static void console_buffered_before_attach(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "hello", "u", FIXTURES "hello.sim", 64);

	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, t->nevs >= 1);
	assert_int_equal(t->clen, 0);
	assert_int_equal(t->hv->ops->console_attach(t->hv, id, on_console, t, NULL), 0);
	assert_int_equal(t->hv->ops->console_attach(t->hv, id, on_console, t, NULL), -1);
	assert_int_equal(t->clen, 0); /* delivered from the loop, not inside attach */
	RUN_UNTIL(t, t->clen > 0);
	assert_string_equal(t->console, "hello from xenlet sim guest\nconsole=hvc0 app=1\ndone\n");
}

static void crash_and_exit_codes(void **state)
{
	struct t *t = *state;
	uint32_t a = create(t, "crash", NULL, FIXTURES "crash.sim", 64);
	uint32_t b = create(t, "exit3", NULL, FIXTURES "exit3.sim", 64);

	assert_int_equal(t->hv->ops->unpause(t->hv, a, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, b, NULL), 0);
	RUN_UNTIL(t, t->nevs >= 2);
	for (int k = 0; k < 2; k++) {
		const struct xn_hv_event *e = &t->evs[k];

		assert_int_equal(e->type, XN_HV_EV_SHUTDOWN);
		if (e->domid == a) {
			assert_int_equal(e->reason, XN_SHUTDOWN_CRASH);
			assert_int_equal(e->exit_code, 134);
		} else {
			assert_int_equal(e->domid, b);
			assert_int_equal(e->reason, XN_SHUTDOWN_POWEROFF);
			assert_int_equal(e->exit_code, 3);
		}
	}
	assert_int_equal(info(t, a).state, XN_DOM_CRASHED);
	assert_int_equal(info(t, b).state, XN_DOM_SHUTDOWN);
}

static void reboot_and_watchdog(void **state)
{
	struct t *t = *state;
	char *p = write_script(t, "print x\nwatchdog\n");
	uint32_t id = create(t, "wd", NULL, p, 16);

	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, t->nevs >= 1);
	assert_int_equal(t->evs[0].reason, XN_SHUTDOWN_WATCHDOG);
	assert_int_equal(t->evs[0].exit_code, 142);
	free(write_script(t, "reboot\n"));
	id = create(t, "rb", NULL, p, 16);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, t->nevs >= 2);
	assert_int_equal(t->evs[1].reason, XN_SHUTDOWN_REBOOT);
	assert_int_equal(t->evs[1].exit_code, 0);
	free(p);
}

static void injected_crash(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "srv", NULL, FIXTURES "server.sim", 64);
	xn_err err = NULL;

	assert_int_equal(xn_hv_sim_crash(t->hv, id, &err), 0);
	assert_int_equal(t->nevs, 0);
	RUN_UNTIL(t, t->nevs >= 1);
	assert_int_equal(t->evs[0].reason, XN_SHUTDOWN_CRASH);
	assert_int_equal(t->evs[0].exit_code, 134);
	assert_int_equal(xn_hv_sim_crash(t->hv, id, &err), -1);
	assert_string_equal(xn_error_msg(err), "domain 1: crash: domain is crashed");
	xn_error_free(&err);
}

static void memory_accounting(void **state)
{
	struct t *t = *state;
	char msg[256];

	create(t, "big", NULL, FIXTURES "server.sim", 512);
	assert_int_equal(create_sync_err(t, "bigger", FIXTURES "server.sim", 600, msg, sizeof(msg)),
			 -1);
	assert_string_equal(msg, "not enough free memory: need 600 MiB, 512 MiB free");
	assert_int_equal(count_domains(t), 1);
	assert_int_equal(free_kb(t), 512 * 1024);
	/* the rejected name is free and the memory was not taken */
	assert_int_equal(create(t, "bigger", NULL, FIXTURES "server.sim", 512), 2);
	assert_int_equal(free_kb(t), 0);
}

static void duplicate_name(void **state)
{
	struct t *t = *state;
	char msg[256];

	create(t, "web", NULL, FIXTURES "server.sim", 64);
	assert_int_equal(create_sync_err(t, "web", FIXTURES "server.sim", 64, msg, sizeof(msg)),
			 -1);
	assert_string_equal(msg, "domain name \"web\": already used by domain 1");
	assert_int_equal(count_domains(t), 1);
}

static void bad_script_leaves_nothing(void **state)
{
	struct t *t = *state;
	char *p = write_script(t, "print hi\nfoo\n");
	char msg[512], want[512];

	assert_int_equal(create_sync_err(t, "bad", p, 64, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "%s:2: unknown directive 'foo'", p);
	assert_string_equal(msg, want);
	assert_int_equal(count_domains(t), 0);
	assert_int_equal(free_kb(t), 1024 * 1024);
	xn_test_run_for(t->base, 10);
	assert_int_equal(t->ncreated, 0);
	free(p);
}

static void fail_next_create(void **state)
{
	struct t *t = *state;
	struct xn_domain_config c = {.name = (char *)"x",
				     .kernel = (char *)FIXTURES "server.sim",
				     .memory_kb = 64 * 1024,
				     .vcpus = 1};

	assert_int_equal(xn_hv_sim_inject(t->hv, XN_SIM_FAIL_NEXT_CREATE, "no more grant frames"),
			 0);
	assert_int_equal(t->hv->ops->create(t->hv, &c, on_create, t, NULL), 0);
	RUN_UNTIL(t, t->ncreated == 1);
	assert_int_equal(t->create_rc, -1);
	assert_int_equal(t->domid, XN_DOMID_INVALID);
	assert_string_equal(t->create_err, "domain x: create: no more grant frames");
	assert_int_equal(count_domains(t), 0);
	assert_int_equal(free_kb(t), 1024 * 1024);
	/* one shot: the same name works now */
	create(t, "x", NULL, FIXTURES "server.sim", 64);
	assert_int_equal(count_domains(t), 1);
}

static void fail_create_glob_from_env(void **state)
{
	struct t *t = *state;

	xn_hv_free(t->hv);
	setenv("XN_SIM_FAIL_CREATE", "bad-*", 1);
	open_hv(t);
	unsetenv("XN_SIM_FAIL_CREATE");
	create(t, "good-1", NULL, FIXTURES "server.sim", 64);
	struct xn_domain_config c = {.name = (char *)"bad-1",
				     .kernel = (char *)FIXTURES "server.sim",
				     .memory_kb = 64 * 1024,
				     .vcpus = 1};
	assert_int_equal(t->hv->ops->create(t->hv, &c, on_create, t, NULL), 0);
	RUN_UNTIL(t, t->ncreated == 2);
	assert_int_equal(t->create_rc, -1);
	assert_string_equal(t->create_err,
			    "domain bad-1: create: injected failure (XN_SIM_FAIL_CREATE=bad-*)");
	assert_int_equal(count_domains(t), 1);
}

static void other_faults_and_bad_env(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "srv", NULL, FIXTURES "server.sim", 64);
	xn_err err = NULL;

	xn_hv_sim_inject(t->hv, XN_SIM_FAIL_NEXT_UNPAUSE, "unpause broke");
	assert_int_equal(t->hv->ops->unpause(t->hv, id, &err), -1);
	assert_string_equal(xn_error_msg(err), "unpause broke");
	assert_int_equal(t->hv->ops->unpause(t->hv, id, &err), 0);
	xn_hv_sim_inject(t->hv, XN_SIM_FAIL_NEXT_DESTROY, NULL);
	assert_int_equal(t->hv->ops->destroy(t->hv, id, NULL, NULL, &err), -1);
	assert_string_equal(xn_error_msg(err), "injected failure");
	xn_error_free(&err);

	setenv("XN_SIM_MEMORY_MB", "lots", 1);
	assert_null(xn_hv_new("sim", t->base, on_event, t, &err));
	assert_string_equal(xn_error_msg(err),
			    "backend sim: XN_SIM_MEMORY_MB: 'lots' is not a number of MiB "
			    "1..1073741824");
	xn_error_free(&err);
}

static void shutdown_obeyed(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "srv", NULL, FIXTURES "server.sim", 64);

	assert_int_equal(t->hv->ops->console_attach(t->hv, id, on_console, t, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, xn_hv_sim_ready(t->hv, id));
	assert_int_equal(t->hv->ops->shutdown(t->hv, id, 60000, on_done, t, NULL), 0);
	RUN_UNTIL(t, t->ndone == 1);
	assert_int_equal(t->nevs, 1);
	assert_int_equal(t->evs[0].type, XN_HV_EV_SHUTDOWN);
	assert_int_equal(t->evs[0].reason, XN_SHUTDOWN_POWEROFF);
	assert_int_equal(t->evs[0].exit_code, 0);
	assert_int_equal(info(t, id).state, XN_DOM_SHUTDOWN);
	assert_non_null(strstr(t->console, "listening on :8080\n"));
	/* shutdown of a shut-down domain completes at once (from the loop) */
	assert_int_equal(t->hv->ops->shutdown(t->hv, id, 60000, on_done, t, NULL), 0);
	assert_int_equal(t->ndone, 1);
	RUN_UNTIL(t, t->ndone == 2);
}

static void shutdown_ignored_destroyed_at_deadline(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "stubborn", NULL, FIXTURES "stubborn.sim", 64);

	assert_int_equal(t->hv->ops->console_attach(t->hv, id, on_console, t, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, t->clen > 0);
	assert_int_equal(t->hv->ops->shutdown(t->hv, id, 30, on_done, t, NULL), 0);
	RUN_UNTIL(t, t->ndone == 1);
	assert_int_equal(t->nevs, 2);
	assert_int_equal(t->evs[0].type, XN_HV_EV_SHUTDOWN);
	assert_int_equal(t->evs[0].reason, XN_SHUTDOWN_DESTROYED);
	assert_int_equal(t->evs[0].exit_code, 137);
	assert_int_equal(t->evs[1].type, XN_HV_EV_DEATH);
	assert_int_equal(count_domains(t), 0);
	assert_int_equal(t->console_closed, 1);
}

static void destroy_running(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "srv", NULL, FIXTURES "server.sim", 64);

	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	assert_int_equal(t->hv->ops->destroy(t->hv, id, on_done, t, NULL), 0);
	assert_int_equal(info(t, id).state, XN_DOM_DYING);
	assert_int_equal(t->nevs, 0);
	RUN_UNTIL(t, t->ndone == 1);
	assert_int_equal(t->nevs, 2);
	assert_int_equal(t->evs[0].reason, XN_SHUTDOWN_DESTROYED);
	assert_int_equal(t->evs[0].exit_code, 137);
	assert_int_equal(t->evs[1].type, XN_HV_EV_DEATH);
}

static size_t count_ticks(const char *s)
{
	size_t n = 0;

	while ((s = strstr(s, "tick\n")) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void pause_stops_script(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "hb", NULL, FIXTURES "heartbeat.sim", 64);
	size_t ticks;

	assert_int_equal(t->hv->ops->console_attach(t->hv, id, on_console, t, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, count_ticks(t->console) >= 2);
	assert_int_equal(t->hv->ops->pause(t->hv, id, NULL), 0);
	assert_int_equal(info(t, id).state, XN_DOM_PAUSED);
	xn_test_run_for(t->base, 20); /* deliver what was written before the pause */
	ticks = count_ticks(t->console);
	xn_test_run_for(t->base, 200); /* four heartbeats' worth */
	assert_int_equal(count_ticks(t->console), ticks);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, count_ticks(t->console) >= ticks + 2);
	assert_string_equal(t->console + t->clen - 5, "tick\n");
}

static void host_info(void **state)
{
	struct t *t = *state;
	struct xn_host_info h;

	assert_int_equal(t->hv->ops->host_info(t->hv, &h, NULL), 0);
	assert_int_equal(h.nr_cpus, 2);
	assert_int_equal(h.total_kb, 1024 * 1024);
	assert_int_equal(h.free_kb, 1024 * 1024);
	assert_non_null(strstr(h.xen_version, "sim"));
	assert_true(h.arch[0] != '\0');
	assert_true(h.hostname[0] != '\0');
}

static void list_with_tags(void **state)
{
	struct t *t = *state;
	struct xn_domain_info *l;
	size_t n;

	create(t, "a", "uid-a", FIXTURES "server.sim", 64);
	create(t, "b", "uid-b", FIXTURES "server.sim", 128);
	create(t, "c", NULL, FIXTURES "server.sim", 64);
	assert_int_equal(t->hv->ops->list(t->hv, &l, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(l[0].domid, 1);
	assert_string_equal(l[0].name, "a");
	assert_string_equal(l[0].tag, "uid-a");
	assert_int_equal(l[1].domid, 2);
	assert_string_equal(l[1].tag, "uid-b");
	assert_int_equal(l[1].max_memory_kb, 128 * 1024);
	assert_string_equal(l[2].tag, "");
	assert_int_equal(l[2].state, XN_DOM_PAUSED);
	free(l);
}

static void console_pty(void **state)
{
	struct t *t = *state;
	uint32_t id = create(t, "hello", NULL, FIXTURES "hello.sim", 64);
	char *path = NULL, buf[256] = "";
	size_t len = 0;
	ssize_t r;
	int fd;

	assert_int_equal(t->hv->ops->console_path(t->hv, id, &path, NULL), 0);
	assert_true(strncmp(path, "/dev/pts/", 9) == 0);
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, id, NULL), 0);
	RUN_UNTIL(t, t->nevs >= 1);
	while ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	assert_string_equal(buf, "hello from xenlet sim guest\nconsole=hvc0 app=1\ndone\n");
	close(fd);
	free(path);
}

static void persistence(void **state)
{
	struct t *t = *state;
	uint32_t web = create(t, "web", "uid-web", FIXTURES "server.sim", 64);
	uint32_t job = create(t, "job", "uid-job", FIXTURES "exit3.sim", 32);
	uint32_t idle = create(t, "idle", "uid-idle", FIXTURES "server.sim", 16);
	struct xn_domain_info *l;
	size_t n;
	xn_err err = NULL;

	assert_int_equal(t->hv->ops->unpause(t->hv, web, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, job, NULL), 0);
	RUN_UNTIL(t, xn_hv_sim_ready(t->hv, web) && t->nevs == 1);
	assert_int_equal(t->evs[0].domid, job);

	/* "restart the daemon": a second instance on the same directory is
	 * refused while the first holds it */
	assert_null(xn_hv_new("sim", t->base, on_event, t, &err));
	assert_non_null(strstr(xn_error_msg(err), "in use by another sim instance"));
	xn_error_free(&err);
	xn_hv_free(t->hv);
	t->nevs = 0;
	open_hv(t);

	assert_int_equal(t->hv->ops->list(t->hv, &l, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(l[0].domid, web);
	assert_string_equal(l[0].name, "web");
	assert_string_equal(l[0].tag, "uid-web");
	assert_int_equal(l[0].state, XN_DOM_RUNNING);
	assert_true(l[0].cpu_time_ns > 0);
	assert_int_equal(l[1].domid, job);
	assert_string_equal(l[1].tag, "uid-job");
	assert_int_equal(l[1].state, XN_DOM_SHUTDOWN);
	assert_int_equal(l[1].reason, XN_SHUTDOWN_POWEROFF);
	assert_int_equal(l[2].domid, idle);
	assert_int_equal(l[2].state, XN_DOM_PAUSED);
	free(l);
	assert_true(xn_hv_sim_ready(t->hv, web));
	assert_int_equal(free_kb(t), (1024 - 64 - 32 - 16) * 1024);

	/* no events before adopt, even for the job that had exited */
	xn_test_run_for(t->base, 30);
	assert_int_equal(t->nevs, 0);
	assert_int_equal(t->hv->ops->adopt(t->hv, job, NULL), 0);
	RUN_UNTIL(t, t->nevs == 1);
	assert_int_equal(t->evs[0].domid, job);
	assert_int_equal(t->evs[0].exit_code, 3);

	assert_int_equal(t->hv->ops->adopt(t->hv, web, NULL), 0);
	assert_int_equal(xn_hv_sim_crash(t->hv, web, NULL), 0);
	RUN_UNTIL(t, t->nevs == 2);
	assert_int_equal(t->evs[1].domid, web);
	assert_int_equal(t->evs[1].exit_code, 134);
	assert_int_equal(t->hv->ops->destroy(t->hv, web, on_done, t, NULL), 0);
	RUN_UNTIL(t, t->ndone == 1);
	assert_int_equal(t->evs[2].type, XN_HV_EV_DEATH);

	/* the idle one was left paused and still runs its script when asked */
	assert_int_equal(t->hv->ops->adopt(t->hv, idle, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, idle, NULL), 0);
	RUN_UNTIL(t, xn_hv_sim_ready(t->hv, idle));

	/* new domids continue after the old ones */
	assert_int_equal(create(t, "new", NULL, FIXTURES "server.sim", 16), idle + 1);
	assert_int_equal(t->hv->ops->adopt(t->hv, 99, &err), -1);
	assert_string_equal(xn_error_msg(err), "domain 99: no such domain");
	xn_error_free(&err);
}

/* Without the xenstore shim (or root, or ip) a domain with a vif runs
 * without a network: servers are not started, clients say so on the
 * console, the script goes on; the vif is kept across a restart. */
static void network_off_runs_without_netns(void **state)
{
	struct t *t = *state;
	char *path = write_script(t, "print start\n"
				     "http 8080 hello\n"
				     "connect 10.0.0.1 80 hi\n"
				     "print after\n");
	struct xn_vif vif = {.mac = "00:16:3e:00:00:01",
			     .bridge = (char *)"xenlet0",
			     .ip = (char *)"10.244.1.2",
			     .script = (char *)"vif-xenlet"};
	struct xn_domain_config c = {.name = (char *)"net",
				     .tag = (char *)"uid-net",
				     .type = XN_GUEST_PVH,
				     .kernel = path,
				     .memory_kb = 16 * 1024,
				     .vcpus = 1,
				     .vifs = &vif,
				     .nvifs = 1};
	cleanup_free char *table = NULL;
	char *json = xn_xasprintf("%s/domains.json", t->dir);
	xn_err err = NULL;

	/* reopen without the shim: the network is off */
	xn_hv_free(t->hv);
	unsetenv("XN_SIM_XENSTORE_SHIM");
	open_hv(t);
	assert_int_equal(t->hv->ops->create(t->hv, &c, on_create, t, &err), 0);
	RUN_UNTIL(t, t->ncreated == 1);
	assert_int_equal(t->create_rc, 0);
	assert_int_equal(t->hv->ops->console_attach(t->hv, t->domid, on_console, t, NULL), 0);
	assert_int_equal(t->hv->ops->unpause(t->hv, t->domid, NULL), 0);
	RUN_UNTIL(t, strstr(t->console, "after\n") != NULL);
	assert_string_equal(t->console, "start\nhttp :8080: error: no network\n"
					"connect 10.0.0.1 80: error: no network\nafter\n");
	/* the vif is part of the domain as the state file keeps it (written at
	 * the end of the loop turn) */
	event_base_loop(t->base, EVLOOP_NONBLOCK);
	assert_int_equal(xn_read_file(json, 1 << 20, &table, NULL, NULL), 0);
	assert_non_null(strstr(table, "\"mac\":\"00:16:3e:00:00:01\""));
	assert_null(strstr(table, "\"netns\""));
	free(json);
	free(path);
}

#define BURST 12

/* Start BURST creates in one go (as a burst of pods does), without waiting;
 * -1 and *why on a refusal (no cmocka here: a forked child calls it). */
static int create_burst(struct t *t, char *why, size_t whylen)
{
	for (int i = 0; i < BURST; i++) {
		char name[16], tag[16];
		struct xn_domain_config c = {.name = name,
					     .tag = tag,
					     .type = XN_GUEST_PVH,
					     .kernel = (char *)FIXTURES "server.sim",
					     .memory_kb = 16 * 1024,
					     .vcpus = 1};
		xn_err err = NULL;

		snprintf(name, sizeof(name), "burst-%d", i);
		snprintf(tag, sizeof(tag), "uid-%d", i);
		if (t->hv->ops->create(t->hv, &c, on_create, t, &err) < 0) {
			snprintf(why, whylen, "create %s: %s", name, xn_error_msg(err));
			xn_error_free(&err);
			return -1;
		}
	}
	return 0;
}

/* Changes of one loop turn are written together, at the end of the turn:
 * a burst of creates, then unpausing them all, is two writes of the table,
 * not one per domain and change (that cost a fifth of the daemon's CPU
 * under a burst of pods). */
static void persistence_once_per_loop_turn(void **state)
{
	struct t *t = *state;
	unsigned long w0 = xn_hv_sim_state_writes(t->hv);
	struct xn_domain_info *l;
	char why[256];
	size_t n;

	if (create_burst(t, why, sizeof(why)) < 0)
		fail_msg("%s", why);
	RUN_UNTIL(t, t->ncreated == BURST);
	xn_test_run_for(t->base, 10);
	assert_int_equal(xn_hv_sim_state_writes(t->hv), w0 + 1);
	assert_int_equal(t->hv->ops->list(t->hv, &l, &n, NULL), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(t->hv->ops->unpause(t->hv, l[i].domid, NULL), 0);
	free(l);
	assert_int_equal(xn_hv_sim_state_writes(t->hv), w0 + 1); /* not inside the turn */
	event_base_loop(t->base, EVLOOP_NONBLOCK);
	assert_true(xn_hv_sim_state_writes(t->hv) >= w0 + 2);
	/* the guests run their scripts (ready: one more change each) */
	RUN_UNTIL(t, t->ready_hooks == BURST);
	assert_true(xn_hv_sim_state_writes(t->hv) <= w0 + 2 + BURST / 2);
}

/* A daemon killed with SIGKILL once the turn that created and started its
 * domains is over finds them all again, running. */
static void persistence_survives_sigkill(void **state)
{
	struct t *t = *state;
	struct xn_domain_info *l;
	int status;
	size_t n;
	pid_t pid;

	xn_hv_free(t->hv); /* the child is the daemon */
	t->hv = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct t c = {0};
		char why[256];

		c.base = event_base_new();
		c.hv = c.base ? xn_hv_new("sim", c.base, on_event, &c, NULL) : NULL;
		if (c.hv == NULL || create_burst(&c, why, sizeof(why)) < 0)
			_exit(2);
		while (c.ncreated < BURST)
			event_base_loop(c.base, EVLOOP_ONCE);
		for (uint32_t d = 1; d <= BURST; d++)
			if (c.hv->ops->unpause(c.hv, d, NULL) < 0)
				_exit(2);
		event_base_loop(c.base, EVLOOP_NONBLOCK); /* the turn ends ... */
		raise(SIGKILL);				  /* ... and the daemon is killed */
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	open_hv(t);
	assert_int_equal(t->hv->ops->list(t->hv, &l, &n, NULL), 0);
	assert_int_equal(n, BURST);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(l[i].domid, i + 1);
		assert_int_equal(l[i].state, XN_DOM_RUNNING);
	}
	free(l);
}

/* An empty table (what a crash of the host can leave of an unsynced file)
 * is a host with no domains, as real Xen after a reboot; a broken one is an
 * error that names the file. */
static void state_file_empty_or_broken(void **state)
{
	struct t *t = *state;
	char *file = xn_xasprintf("%s/domains.json", t->dir);
	xn_err err = NULL;

	assert_int_equal(create(t, "web", "uid-web", FIXTURES "server.sim", 64), 1);
	xn_hv_free(t->hv);
	xn_test_write(file, "");
	open_hv(t);
	assert_int_equal(count_domains(t), 0);
	xn_hv_free(t->hv);
	t->hv = NULL;
	xn_test_write(file, "{\"version\": 1, \"next_");
	assert_null(xn_hv_new("sim", t->base, on_event, t, &err));
	assert_non_null(strstr(xn_error_msg(err), "domains.json: not valid JSON"));
	xn_error_free(&err);
	xn_test_write(file, "\n");
	open_hv(t);
	assert_int_equal(count_domains(t), 0);
	free(file);
}

static void two_instances_independent(void **state)
{
	struct t *t = *state;
	struct t u = {.base = t->base};
	struct xn_host_info h;

	snprintf(u.dir, sizeof(u.dir), "/tmp/xn-test-sim.XXXXXX");
	assert_non_null(mkdtemp(u.dir));
	setenv("XN_SIM_MEMORY_MB", "256", 1);
	open_hv(&u);
	assert_int_equal(create(t, "same", "t", FIXTURES "server.sim", 64), 1);
	assert_int_equal(create(&u, "same", "u", FIXTURES "server.sim", 64), 1);
	assert_int_equal(count_domains(t), 1);
	assert_int_equal(count_domains(&u), 1);
	assert_int_equal(u.hv->ops->host_info(u.hv, &h, NULL), 0);
	assert_int_equal(h.free_kb, 192 * 1024);
	assert_int_equal(free_kb(t), 960 * 1024);
	assert_int_equal(u.hv->ops->unpause(u.hv, 1, NULL), 0);
	RUN_UNTIL(&u, xn_hv_sim_ready(u.hv, 1));
	assert_false(xn_hv_sim_ready(t->hv, 1));
	assert_int_equal(t->ready_hooks, 0);
	assert_int_equal(u.ready_hooks, 1);
	xn_hv_free(u.hv);
	rm_dir(u.dir);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(lifecycle),
	    T(console_buffered_before_attach),
	    T(crash_and_exit_codes),
	    T(reboot_and_watchdog),
	    T(injected_crash),
	    T(memory_accounting),
	    T(duplicate_name),
	    T(bad_script_leaves_nothing),
	    T(fail_next_create),
	    T(fail_create_glob_from_env),
	    T(other_faults_and_bad_env),
	    T(shutdown_obeyed),
	    T(shutdown_ignored_destroyed_at_deadline),
	    T(destroy_running),
	    T(pause_stops_script),
	    T(host_info),
	    T(list_with_tags),
	    T(console_pty),
	    T(persistence),
	    T(persistence_once_per_loop_turn),
	    T(persistence_survives_sigkill),
	    T(state_file_empty_or_broken),
	    T(two_instances_independent),
	    T(network_off_runs_without_netns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
