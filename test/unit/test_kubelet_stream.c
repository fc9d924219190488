/* test_kubelet_stream.c - kubectl exec and attach as the kubelet API runs
 * them after the upgrade: remotecommand v4 over SPDY/3.1 on one end of a
 * socketpair, a client made of spdy.c's codec on the other, a sim pod
 * through the real runtime.  Stream set-up and channels, the control verbs
 * and their errors, attach following the console, a client that goes
 * away.  The HTTP upgrade itself is covered by test-kubelet-stream.sh.
 * Loops are bounded by a deadline; nothing asserts on durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../../daemon/kubelet_api_priv.h"
#include "testutil.h"
#include "xenlet/hv.h"
#include "xenlet/runtime.h"
#include "xenlet/spdy.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

#define FIXTURES   XN_SRCDIR "/test/fixtures/sim/"
#define TIMEOUT_MS 10000 /* a bound on a hung test, not a timing check */
#define UID	   "0b4c5a2e-0000-4000-8000-000000000001"

struct t {
	char root[64], logs[96], sim[96], store_file[96];
	struct event_base *base;
	struct xn_hv *hv;
	struct xn_store *store;
	struct xn_runtime *rt;
	struct xn_kapi k;
	bool running;
	/* the session under test */
	struct bufferevent *srv, *cli;
	struct xn_spdy_codec codec;
	/* what the client got: per stream id, the data and whether it ended */
	char data[16][4096];
	bool fin[16], reply[16], rst[16];
	bool goaway;
};

/* ---- plumbing ---- */

static void on_status(struct xn_runtime *rt, enum xn_runtime_event ev, const char *uid,
		      const struct xn_pod_status *st, void *arg)
{
	struct t *t = arg;

	t->running = ev == XN_RT_STATUS && st->state == XN_INST_RUNNING;
}

static void on_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg)
{
	struct t *t = arg;

	if (t->rt)
		xn_runtime_hv_event(hv, ev, t->rt);
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	struct xn_runtime_opts opts = {
	    .backoff_base_ms = 50, .backoff_max_ms = 200, .backoff_reset_ms = 3600000};
	xn_err err = NULL;

	snprintf(t->root, sizeof(t->root), "/tmp/xn-test-stream.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->logs, sizeof(t->logs), "%s/logs", t->root);
	snprintf(t->sim, sizeof(t->sim), "%s/sim", t->root);
	snprintf(t->store_file, sizeof(t->store_file), "%s/store.json", t->root);
	assert_int_equal(mkdir(t->sim, 0700), 0);
	setenv("XN_SIM_STATE_DIR", t->sim, 1);
	setenv("XN_STORE_MEM_FILE", t->store_file, 1);
	setenv("XN_SIM_MEMORY_MB", "1024", 1);
	setenv("XN_SIM_CPUS", "2", 1);
	opts.root_dir = t->root;
	opts.log_dir = t->logs;
	t->base = event_base_new();
	t->store = xn_store_open("mem", t->base, &err);
	assert_non_null(t->store);
	t->hv = xn_hv_new("sim", t->base, on_hv_event, t, &err);
	assert_non_null(t->hv);
	t->rt = xn_runtime_new(t->base, t->hv, t->store, &opts, on_status, NULL, t, &err);
	if (t->rt == NULL)
		fail_msg("runtime: %s", xn_error_msg(err));
	/* what the handlers read of the server: the loop, runtime, hypervisor */
	t->k.base = t->base;
	t->k.rt = t->rt;
	t->k.hv = t->hv;
	t->k.timeout_s = 60;
	assert_int_equal(xn_spdy_codec_init(&t->codec, NULL), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->root);

	if (t->cli)
		bufferevent_free(t->cli);
	if (t->srv)
		bufferevent_free(t->srv);
	xn_spdy_codec_dispose(&t->codec);
	xn_runtime_free(t->rt);
	t->rt = NULL;
	xn_hv_free(t->hv);
	xn_store_close(t->store);
	event_base_free(t->base);
	unsetenv("XN_STORE_MEM_FILE");
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void run_ticker(struct t *t)
{
	struct xn_pod_spec s = {
	    .uid = UID,
	    .ns = "default",
	    .name = "ticker",
	    .container = "main",
	    .image = "sim",
	    .kernel = FIXTURES "ticker.sim",
	    .type = XN_GUEST_PVH,
	    .memory_kb = 32 * 1024,
	    .vcpus = 1,
	    .restart = XN_RESTART_NEVER,
	};
	xn_err err = NULL;

	if (xn_runtime_run(t->rt, &s, &err) < 0)
		fail_msg("run: %s", xn_error_msg(err));
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->running);
}

/* The client's frames, sorted by stream. */
static void client_read(struct bufferevent *bev, void *arg)
{
	struct t *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct xn_spdy_frame f;

	while (xn_spdy_parse(&t->codec, in, &f, NULL) == 1) {
		uint32_t id = f.stream_id < 16 ? f.stream_id : 0;

		switch (f.type) {
		case XN_SPDY_SYN_REPLY: t->reply[id] = true; break;
		case XN_SPDY_RST_STREAM: t->rst[id] = true; break;
		case XN_SPDY_GOAWAY: t->goaway = true; break;
		case XN_SPDY_DATA: {
			size_t n = strlen(t->data[id]);

			snprintf(t->data[id] + n, sizeof(t->data[0]) - n, "%.*s", (int)f.len,
				 (const char *)f.data);
			t->fin[id] = t->fin[id] || (f.flags & XN_SPDY_FLAG_FIN);
			break;
		}
		default: break;
		}
	}
}

/* The request as the hub hands it over after authorization. */
static struct kreq *request(struct t *t, const char *path, const char *query)
{
	struct kreq *r = xn_xcalloc(1, sizeof(*r));

	r->k = &t->k;
	r->path = xn_xstrdup(path);
	r->query = xn_xstrdup(query);
	r->method = "POST";
	r->user.name = xn_xstrdup("tester");
	return r;
}

/* A session on the server end of a socketpair, as after the 101. */
static void open_session(struct t *t, bool exec, const char *query)
{
	int sv[2];
	struct kreq *r =
	    request(t, exec ? "/exec/default/ticker/main" : "/attach/default/ticker/main", query);
	struct kstream *ks = kstream_new(r, exec, UID);

	assert_non_null(ks);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	t->srv = bufferevent_socket_new(t->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	t->cli = bufferevent_socket_new(t->base, sv[1], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(t->cli, client_read, NULL, NULL, t);
	bufferevent_enable(t->cli, EV_READ | EV_WRITE);
	kstream_run(ks, t->srv);
}

static void open_streams(struct t *t, const char *const *types, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *h[] = {"streamtype", types[i]};

		assert_int_equal(xn_spdy_put_syn_stream(&t->codec, bufferevent_get_output(t->cli),
							(uint32_t)(2 * i + 1), 0, h, 1, NULL),
				 0);
	}
}

/* The session has let go of the server's bufferevent (xn_spdy_sess_free):
 * the stream and its request are freed. */
static bool session_over(struct t *t)
{
	bufferevent_data_cb rcb = NULL;

	bufferevent_getcb(t->srv, &rcb, NULL, NULL, NULL);
	return rcb == NULL;
}

static void client_goes_away(struct t *t)
{
	bufferevent_free(t->cli);
	t->cli = NULL;
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, session_over(t));
}

static enum xn_dom_state domain_state(struct t *t)
{
	const struct xn_pod_status *st = xn_runtime_status(t->rt, UID);
	struct xn_domain_info di;

	assert_int_equal(t->hv->ops->domain_info(t->hv, st->domid, &di, NULL), 0);
	return di.state;
}

/* ---- tests ---- */

static void exec_verb_over_spdy(void **state)
{
	struct t *t = *state;
	static const char *const types[] = {"error", "stdout", "stderr"};

	run_ticker(t);
	open_session(t, true, "command=pause&output=1&error=1");
	open_streams(t, types, 3);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->goaway);
	/* every stream answered, the verb's output on stdout, success on error */
	assert_true(t->reply[1] && t->reply[3] && t->reply[5]);
	assert_string_equal(t->data[3], "pause: done\n");
	assert_string_equal(t->data[5], "");
	assert_non_null(strstr(t->data[1], "\"status\":\"Success\""));
	assert_true(t->fin[1] && t->fin[3] && t->fin[5]);
	assert_int_equal(domain_state(t), XN_DOM_PAUSED);
	client_goes_away(t);
}

static void exec_errors_name_the_verbs(void **state)
{
	struct t *t = *state;
	static const char *const types[] = {"error", "stdout", "stderr"};

	run_ticker(t);
	open_session(t, true, "command=sh&command=-c&output=1&error=1");
	open_streams(t, types, 3);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->goaway);
	/* a person reads stderr; kubectl reads the exit code from the Status */
	assert_non_null(strstr(t->data[5], "sh and arguments: not supported"));
	assert_non_null(strstr(t->data[5], KAPI_EXEC_VERBS));
	assert_non_null(strstr(t->data[1], "\"status\":\"Failure\""));
	assert_non_null(strstr(t->data[1], "\"reason\":\"NonZeroExitCode\""));
	assert_non_null(strstr(t->data[1], "\"message\":\"127\""));
	assert_string_equal(t->data[3], "");
	assert_int_equal(domain_state(t), XN_DOM_RUNNING);
	client_goes_away(t);
}

static void exec_waits_for_every_channel(void **state)
{
	struct t *t = *state;
	static const char *const first[] = {"error", "stdout"}, *const dup[] = {"stdout"};
	static const char *const odd[] = {"nonsense"};

	run_ticker(t);
	open_session(t, true, "command=unpause&output=1&error=1");
	open_streams(t, first, 2);
	xn_test_run_for(t->base, 100);
	/* stderr was asked for and has not come: nothing runs yet */
	assert_true(t->reply[1] && t->reply[3]);
	assert_false(t->goaway);
	assert_string_equal(t->data[3], "");
	/* a stream of an unknown type is answered and ignored; a second
	 * stdout is refused */
	xn_spdy_put_syn_stream(&t->codec, bufferevent_get_output(t->cli), 5, 0,
			       (const char *[]){"streamtype", odd[0]}, 1, NULL);
	xn_spdy_put_syn_stream(&t->codec, bufferevent_get_output(t->cli), 7, 0,
			       (const char *[]){"streamtype", dup[0]}, 1, NULL);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->rst[7]);
	assert_true(t->reply[5]);
	assert_false(t->goaway);
	xn_spdy_put_syn_stream(&t->codec, bufferevent_get_output(t->cli), 9, 0,
			       (const char *[]){"streamtype", "stderr"}, 1, NULL);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->goaway);
	assert_string_equal(t->data[3], "unpause: done\n");
	client_goes_away(t);
}

static void attach_follows_the_console(void **state)
{
	struct t *t = *state;
	static const char *const types[] = {"error", "stdout"};

	run_ticker(t);
	open_session(t, false, "output=1");
	open_streams(t, types, 2);
	/* the console from now on: ticks come, the lines before do not */
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, strstr(t->data[3], "tick\ntick\n") != NULL);
	assert_null(strstr(t->data[3], "line-a"));
	assert_null(strstr(t->data[3], " stdout F ")); /* the CRI prefix is stripped */
	assert_false(t->goaway);
	/* kubectl is interrupted: the session and the request go, the pod runs on */
	client_goes_away(t);
	assert_true(xn_runtime_status(t->rt, UID)->state == XN_INST_RUNNING);
}

static void attach_ends_with_the_instance(void **state)
{
	struct t *t = *state;
	static const char *const types[] = {"error", "stdout"};
	xn_err err = NULL;

	run_ticker(t);
	open_session(t, false, "output=1");
	open_streams(t, types, 2);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, strstr(t->data[3], "tick\n") != NULL);
	assert_int_equal(xn_runtime_kill(t->rt, UID, 0, &err), 0);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->goaway);
	assert_non_null(strstr(t->data[1], "\"status\":\"Success\""));
	client_goes_away(t);
}

static void attach_refused_when_not_running(void **state)
{
	struct t *t = *state;
	static const char *const types[] = {"error", "stdout"};

	/* no pod at all: the streams are set up, then a Status says why */
	open_session(t, false, "output=1");
	open_streams(t, types, 2);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->goaway);
	assert_non_null(strstr(t->data[1], "\"status\":\"Failure\""));
	assert_non_null(strstr(t->data[1], "the container is not running"));
	client_goes_away(t);
}

static void client_gone_before_streams(void **state)
{
	struct t *t = *state;

	run_ticker(t);
	open_session(t, true, "command=pause&output=1");
	xn_test_run_for(t->base, 50);
	client_goes_away(t); /* freed without a verb run */
	assert_int_equal(domain_state(t), XN_DOM_RUNNING);
}

static void no_channel_no_stream(void **state)
{
	struct t *t = *state;
	struct kreq *r = request(t, "/exec/default/ticker/main", "command=pause&tty=0");

	/* the caller answers 400; nothing was taken from r */
	assert_null(kstream_new(r, true, UID));
	kreq_free(r);
	r = request(t, "/attach/default/ticker/main", "tty=1&error=1");
	assert_null(kstream_new(r, false, UID)); /* a tty has no stderr of its own */
	kreq_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(exec_verb_over_spdy, setup, teardown),
	    cmocka_unit_test_setup_teardown(exec_errors_name_the_verbs, setup, teardown),
	    cmocka_unit_test_setup_teardown(exec_waits_for_every_channel, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_follows_the_console, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_ends_with_the_instance, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_refused_when_not_running, setup, teardown),
	    cmocka_unit_test_setup_teardown(client_gone_before_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_channel_no_stream, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
