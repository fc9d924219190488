/* test_ctl.c - the control socket's JSON-lines protocol against a real
 * runtime on hv_sim: answers to every op, clear errors for bad requests
 * (not JSON, unknown op, overlong lines, bad fields), local pods refused
 * with the same message as the same pod from the API server, pause shown
 * in the list, destroy answered once the pod is gone, and SO_PEERCRED:
 * a non-root peer is refused.  Loops are bounded; nothing is timed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/ctl.h"
#include "xenlet/image_path.h"
#include "xenlet/hv.h"
#include "xenlet/log.h"
#include "xenlet/pod_translate.h"
#include "xenlet/runtime.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

#define FIXTURES   XN_SRCDIR "/test/fixtures/sim/"
#define TIMEOUT_MS 10000 /* a bound on a hung test, not a timing check */

struct t {
	char root[64];
	char sock[96];
	char logs[96]; /* the runtime keeps a pointer to it */
	struct event_base *base;
	struct xn_hv *hv;
	struct xn_store *store;
	struct xn_runtime *rt;
	struct xn_ctl *ctl;
	int fd;		   /* a client connection */
	char buf[1 << 17]; /* what it has read */
	size_t len;
};

static void on_status(struct xn_runtime *rt, enum xn_runtime_event ev, const char *uid,
		      const struct xn_pod_status *st, void *arg)
{
	struct t *t = arg;

	if (ev == XN_RT_REMOVED) /* what main.c does */
		xn_ctl_pod_removed(t->ctl, uid);
}

static void on_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct t *t = arg;

	xn_runtime_hv_event(hv, ev, t->rt);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	return fd;
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	struct xn_runtime_opts ro = {0};
	cleanup_free char *sim = NULL;
	const char *roots[] = {XN_SRCDIR "/test/fixtures/sim"};
	xn_err err = NULL;

	snprintf(t->root, sizeof(t->root), "/tmp/xn-test-ctl.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->sock, sizeof(t->sock), "%s/run/ctl.sock", t->root);
	sim = xn_xasprintf("%s/sim", t->root);
	snprintf(t->logs, sizeof(t->logs), "%s/logs", t->root);
	assert_int_equal(mkdir(sim, 0700), 0);
	xn_image_roots_set(roots, 1);
	setenv("XN_SIM_STATE_DIR", sim, 1);
	setenv("XN_SIM_MEMORY_MB", "1024", 1);
	unsetenv("XN_STORE_MEM_FILE");
	unsetenv("XN_SIM_FAIL_CREATE");
	t->base = event_base_new();
	t->store = xn_store_open("mem", t->base, &err);
	t->hv = xn_hv_new("sim", t->base, on_hv_event, t, &err);
	if (t->store == NULL || t->hv == NULL)
		fail_msg("store/hv: %s", xn_error_msg(err));
	ro.root_dir = t->root;
	ro.log_dir = t->logs;
	t->rt = xn_runtime_new(t->base, t->hv, t->store, &ro, on_status, NULL, t, &err);
	if (t->rt == NULL)
		fail_msg("runtime: %s", xn_error_msg(err));
	t->ctl = xn_ctl_listen(t->base, t->sock, t->rt, t->hv, &err);
	if (t->ctl == NULL)
		fail_msg("ctl: %s", xn_error_msg(err));
	t->fd = connect_to(t->sock);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->root);

	close(t->fd);
	xn_ctl_close(t->ctl);
	xn_image_roots_set(NULL, 0);
	xn_runtime_free(t->rt);
	xn_hv_free(t->hv);
	xn_store_close(t->store);
	event_base_free(t->base);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* Read what has arrived; true once a whole line is there. */
static bool have_line(struct t *t)
{
	for (;;) {
		ssize_t r = recv(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len, MSG_DONTWAIT);

		if (r <= 0)
			break;
		t->len += (size_t)r;
	}
	t->buf[t->len] = '\0';
	return memchr(t->buf, '\n', t->len) != NULL;
}

/* The next answer line, parsed (the caller deletes it). */
static cJSON *answer(struct t *t)
{
	char *nl;
	cJSON *o;

	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, have_line(t));
	nl = memchr(t->buf, '\n', t->len);
	*nl = '\0';
	o = cJSON_Parse(t->buf);
	if (o == NULL)
		fail_msg("answer is not JSON: %s", t->buf);
	t->len -= (size_t)(nl + 1 - t->buf);
	memmove(t->buf, nl + 1, t->len);
	return o;
}

static cJSON *call(struct t *t, const char *req)
{
	assert_int_equal(xn_write_all(t->fd, req, strlen(req)), 0);
	assert_int_equal(xn_write_all(t->fd, "\n", 1), 0);
	return answer(t);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The error a request gets; the request must fail. */
static char *call_err(struct t *t, const char *req)
{
	cJSON *o = call(t, req);
	char *e;

	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "ok")) || jstr(o, "error") == NULL)
		fail_msg("%s: want an error, got %s", req, cJSON_PrintUnformatted(o));
	e = xn_xstrdup(jstr(o, "error"));
	cJSON_Delete(o);
	return e;
}

static cJSON *call_ok(struct t *t, const char *req)
{
	cJSON *o = call(t, req);

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
		fail_msg("%s: %s", req, jstr(o, "error") ? jstr(o, "error") : "no ok");
	return o;
}

/* The listed pod ns/name, or NULL. */
static cJSON *listed(struct t *t, const char *ns, const char *name)
{
	cJSON *o = call_ok(t, "{\"op\":\"list\"}"), *p, *found = NULL;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(o, "pods")) {
		if (strcmp(jstr(p, "namespace"), ns) == 0 && strcmp(jstr(p, "name"), name) == 0)
			found = cJSON_Duplicate(p, 1);
	}
	cJSON_Delete(o);
	return found;
}

static bool pod_state_is(struct t *t, const char *name, const char *state)
{
	cJSON *p = listed(t, "default", name);
	bool is = p != NULL && strcmp(jstr(p, "state"), state) == 0;

	cJSON_Delete(p);
	return is;
}

/* ---- tests ---- */

static void test_version_and_node(void **state)
{
	struct t *t = *state;
	cJSON *o = call_ok(t, "{\"op\":\"version\"}");

	assert_string_equal(jstr(o, "version"), XN_VERSION);
	assert_string_equal(jstr(o, "backend"), "sim");
	cJSON_Delete(o);
	o = call_ok(t, "{\"op\":\"node\"}");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(o, "host"));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "pods")->valueint, 0);
	cJSON_Delete(o);
	/* the socket is the owner's only */
	{
		struct stat sb;
		assert_int_equal(stat(t->sock, &sb), 0);
		assert_int_equal(sb.st_mode & 077, 0);
	}
}

static void test_bad_requests(void **state)
{
	struct t *t = *state;
	char *e, *big;
	cJSON *o;

	e = call_err(t, "not json");
	assert_string_equal(e, "request: not a JSON object");
	free(e);
	e = call_err(t, "[1,2]");
	assert_string_equal(e, "request: not a JSON object");
	free(e);
	e = call_err(t, "{\"op\":\"frobnicate\"}");
	assert_string_equal(e, "request: unknown op 'frobnicate'");
	free(e);
	e = call_err(t, "{}");
	assert_string_equal(e, "request: unknown op ''");
	free(e);
	e = call_err(t, "{\"op\":\"destroy\"}");
	assert_string_equal(e, "destroy: name is required");
	free(e);
	e = call_err(t, "{\"op\":\"pause\",\"name\":\"nope\"}");
	assert_string_equal(e, "pause: pod default/nope: not on this node");
	free(e);
	e = call_err(t, "{\"op\":\"destroy\",\"name\":\"nope\",\"namespace\":\"x\"}");
	assert_string_equal(e, "destroy: pod x/nope: not on this node");
	free(e);
	/* an overlong line: one answer, and the connection still serves */
	big = xn_xmalloc(XN_CTL_LINE_MAX + 100);
	memset(big, 'x', XN_CTL_LINE_MAX + 99);
	big[XN_CTL_LINE_MAX + 99] = '\0';
	e = call_err(t, big);
	assert_non_null(strstr(e, "longer than"));
	free(e);
	free(big);
	o = call_ok(t, "{\"op\":\"version\"}");
	cJSON_Delete(o);
	assert_int_equal(t->len, 0); /* nothing more was answered */
}

/* The same pod through the API path: the message it is refused with there. */
static char *api_rejection(const char *spec, const char *limits, const char *annotations,
			   const char *args)
{
	cleanup_free char *json =
	    xn_xasprintf("{\"metadata\":{\"uid\":\"u\",\"namespace\":\"default\",\"name\":\"p\","
			 "\"annotations\":{%s}},\"spec\":{%s\"containers\":[{\"name\":\"main\","
			 "\"image\":\"" FIXTURES "server.sim\",\"args\":[%s],"
			 "\"resources\":{\"limits\":{%s}}}]}}",
			 annotations, spec, args, limits);
	struct xn_pod_defaults def = {.memory_bytes = 64 << 20};
	cJSON *pod = cJSON_Parse(json);
	struct xn_pod_spec s;
	struct xn_pod_reject rej;
	char *warnings = NULL;

	assert_non_null(pod);
	if (xn_pod_translate(pod, &def, &s, &warnings, &rej) == 0)
		fail_msg("the API path accepts %s", json);
	cJSON_Delete(pod);
	return xn_xasprintf("create: %s", rej.message);
}

static void test_create_refused_as_api_pods_are(void **state)
{
	struct t *t = *state;
	/* the local request's field, and the same wish in an API pod */
	struct {
		const char *req, *spec, *limits, *annotations, *args;
	} cases[] = {
	    {"\"memory\":\"1Mi\"", "", "\"memory\":\"1Mi\"", "", ""},
	    {"\"memory\":\"lots\"", "", "\"memory\":\"lots\"", "", ""},
	    {"\"type\":\"hvm\"", "", "\"memory\":\"64Mi\"", "\"xenlet.io/guest-type\":\"hvm\"", ""},
	    {"\"bootTimeout\":0", "", "\"memory\":\"64Mi\"", "\"xenlet.io/boot-timeout\":\"0\"",
	     ""},
	    {"\"bootTimeout\":90000", "", "\"memory\":\"64Mi\"",
	     "\"xenlet.io/boot-timeout\":\"90000\"", ""},
	    {"\"restartPolicy\":\"Sometimes\"", "\"restartPolicy\":\"Sometimes\",",
	     "\"memory\":\"64Mi\"", "", ""},
	    {"\"cmdline\":\"a\\u0001b\"", "", "\"memory\":\"64Mi\"", "", "\"a\\u0001b\""},
	    {"\"ramdisk\":\"initrd.img\"", "", "\"memory\":\"64Mi\"",
	     "\"xenlet.io/ramdisk\":\"initrd.img\"", ""},
	};

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		cleanup_free char *req = xn_xasprintf(
		    "{\"op\":\"create\",\"name\":\"p\",\"kernel\":\"" FIXTURES "server.sim\",%s}",
		    cases[i].req);
		cleanup_free char *want = api_rejection(cases[i].spec, cases[i].limits,
							cases[i].annotations, cases[i].args);
		cleanup_free char *got = call_err(t, req);

		if (strcmp(got, want) != 0)
			fail_msg("%s:\n  local: %s\n  api:   %s", cases[i].req, got, want);
	}
	/* what only a local request can get wrong */
	{
		char *e = call_err(t, "{\"op\":\"create\",\"name\":\"p\"}");
		assert_string_equal(e, "create: name and kernel are required");
		free(e);
		e = call_err(t, "{\"op\":\"create\",\"name\":\"Bad_Name\",\"kernel\":\"/k\"}");
		assert_non_null(strstr(e, "create: name 'Bad_Name': must be lowercase"));
		free(e);
		e = call_err(t, "{\"op\":\"create\",\"name\":\"p\",\"namespace\":\"a.b\","
				"\"kernel\":\"/k\"}");
		assert_non_null(strstr(e, "create: namespace 'a.b': must be a DNS label"));
		free(e);
		e = call_err(
		    t, "{\"op\":\"create\",\"name\":\"p\",\"kernel\":\"/k\",\"vcpus\":\"two\"}");
		assert_string_equal(e, "create: vcpus: must be a whole number 1..128");
		free(e);
		e = call_err(t,
			     "{\"op\":\"create\",\"name\":\"p\",\"kernel\":\"/no/such/kernel\"}");
		/* outside the image roots: one message whether it exists or not */
		assert_non_null(strstr(e, "image \"/no/such/kernel\": not a regular file under "
					  "the node's image roots"));
		free(e);
		e = call_err(t, "{\"op\":\"create\",\"name\":\"p\",\"kernel\":\"rel/kernel\"}");
		/* a registry reference: only API pods pull */
		assert_non_null(
		    strstr(e, "xl-pod create takes an absolute kernel path under the image roots"));
		free(e);
	}
	cJSON *o = call_ok(t, "{\"op\":\"list\"}");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "pods")), 0);
	cJSON_Delete(o);
}

static void test_dry_run(void **state)
{
	struct t *t = *state;
	cJSON *o = call_ok(t, "{\"op\":\"create\",\"name\":\"dry\",\"kernel\":\"" FIXTURES
			      "server.sim\",\"memory\":\"32Mi\",\"vcpus\":2,\"type\":\"pv\","
			      "\"cmdline\":\"a b\",\"dryRun\":true}");
	cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "domain");

	assert_non_null(d);
	assert_string_equal(jstr(d, "type"), "pv");
	assert_string_equal(jstr(d, "cmdline"), "a b");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "memoryKiB")->valueint, 32768);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "vcpus")->valueint, 2);
	/* vcpus is limits.cpu, as for an API pod: weight 2 x 256, cap 200% */
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "cpuWeight")->valueint, 512);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(d, "cpuCap")->valueint, 200);
	cJSON_Delete(o);
	assert_null(listed(t, "default", "dry"));
}

static bool pod_gone(struct t *t)
{
	cJSON *p = listed(t, "default", "web");

	cJSON_Delete(p);
	return p == NULL;
}

static void test_pod_life(void **state)
{
	struct t *t = *state;
	cJSON *o, *p;
	char *e;

	o = call_ok(t, "{\"op\":\"create\",\"name\":\"web\",\"kernel\":\"" FIXTURES
		       "server.sim\",\"memory\":\"32Mi\"}");
	assert_int_equal(strlen(jstr(o, "uid")), 36);
	cJSON_Delete(o);
	e = call_err(t,
		     "{\"op\":\"create\",\"name\":\"web\",\"kernel\":\"" FIXTURES "server.sim\"}");
	assert_non_null(strstr(e, "default/web: a pod of that name exists"));
	free(e);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, pod_state_is(t, "web", "running"));
	p = listed(t, "default", "web");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "local")));
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "memoryKiB")->valueint, 32768);
	cJSON_Delete(p);

	/* pause: listed as paused, the runtime's phase beside it */
	cJSON_Delete(call_ok(t, "{\"op\":\"pause\",\"name\":\"web\"}"));
	p = listed(t, "default", "web");
	assert_string_equal(jstr(p, "state"), "paused");
	assert_string_equal(jstr(p, "phase"), "paused");
	cJSON_Delete(p);
	cJSON_Delete(call_ok(t, "{\"op\":\"pause\",\"name\":\"web\"}"));
	cJSON_Delete(call_ok(t, "{\"op\":\"unpause\",\"name\":\"web\"}"));
	assert_true(pod_state_is(t, "web", "running"));

	o = call_ok(t, "{\"op\":\"console\",\"name\":\"web\"}");
	assert_true(strncmp(jstr(o, "tty"), "/dev/pts/", 9) == 0);
	cJSON_Delete(o);
	o = call_ok(t, "{\"op\":\"logs\",\"name\":\"web\"}");
	assert_non_null(strstr(jstr(o, "path"), "/default_web_"));
	cJSON_Delete(o);
	e = call_err(t, "{\"op\":\"logs\",\"name\":\"web\",\"previous\":true}");
	assert_string_equal(e, "logs: previous: no previous instance of the pod");
	free(e);
	e = call_err(t, "{\"op\":\"destroy\",\"name\":\"web\",\"grace\":-1}");
	assert_string_equal(e, "destroy: grace: must be 0..86400 seconds");
	free(e);

	/* destroy answers once the pod is gone */
	o = call_ok(t, "{\"op\":\"destroy\",\"name\":\"web\",\"grace\":5}");
	cJSON_Delete(o);
	assert_true(pod_gone(t));
	e = call_err(t, "{\"op\":\"destroy\",\"name\":\"web\"}");
	assert_string_equal(e, "destroy: pod default/web: not on this node");
	free(e);
}

/* A paused pod's console and state through ctl: no domain, clear error. */
static void test_pause_without_domain(void **state)
{
	struct t *t = *state;
	char *e;

	cJSON_Delete(call_ok(t, "{\"op\":\"create\",\"name\":\"job\",\"kernel\":\"" FIXTURES
				"hello.sim\",\"memory\":\"32Mi\"}"));
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, pod_state_is(t, "job", "terminated"));
	e = call_err(t, "{\"op\":\"pause\",\"name\":\"job\"}");
	assert_string_equal(e, "pause: pod default/job: no running domain (the pod is terminated)");
	free(e);
	e = call_err(t, "{\"op\":\"console\",\"name\":\"job\"}");
	assert_non_null(strstr(e, "no running domain"));
	free(e);
}

/* SO_PEERCRED: a peer that is neither root nor the daemon's user is refused
 * with a reason, even when the socket's mode lets it connect. */
static void test_non_root_refused(void **state)
{
	struct t *t = *state;
	int pipefd[2], status = -1;
	pid_t pid;
	char got[256] = "";
	ssize_t n;

	if (geteuid() != 0) {
		printf("skipped: needs root to run a peer as another user\n");
		skip();
	}
	/* let the peer reach accept(): only SO_PEERCRED stands in its way */
	{
		cleanup_free char *run = xn_xasprintf("%s/run", t->root);
		assert_int_equal(chmod(t->root, 0711), 0);
		assert_int_equal(chmod(run, 0711), 0);
		assert_int_equal(chmod(t->sock, 0777), 0);
	}
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[256];
		size_t len = 0;
		int fd;
		ssize_t r;

		close(pipefd[0]);
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		{
			struct sockaddr_un sun = {.sun_family = AF_UNIX};
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", t->sock);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
				_exit(4);
		}
		while (len < sizeof(buf) - 1 &&
		       (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)r;
		if (write(pipefd[1], buf, len) < 0)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	/* the child's exit is no loop event: turn the loop without blocking */
	for (int i = 0; i < TIMEOUT_MS / 10 && waitpid(pid, &status, WNOHANG) != pid; i++) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		usleep(10000);
	}
	n = read(pipefd[0], got, sizeof(got) - 1);
	close(pipefd[0]);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "{\"ok\":false,\"error\":\"permission denied: root only\"}\n");
	/* and root still gets answers */
	cJSON_Delete(call_ok(t, "{\"op\":\"version\"}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_version_and_node, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_refused_as_api_pods_are, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pod_life, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_without_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_non_root_refused, setup, teardown),
	};

	xn_log_init("test_ctl", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
