/* test_probe.c - the probe module: the parser (defaults, named ports, bad
 * input naming its field), the spec file's JSON round trip, the kubelet's
 * threshold state machine (golden sequences), and the I/O of one attempt
 * against listeners of the test's own on 127.0.0.1 (success, status codes,
 * garbage, a hang that times out, a refused port, redirects, headers). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "testutil.h"
#include "xenlet/probe.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

/* ---- parser ---- */

static int parse(const char *container_json, struct xn_probes *ps, char *msg, char *unsup)
{
	cJSON *c = cJSON_Parse(container_json);
	int rc;

	if (c == NULL)
		fail_msg("bad test JSON: %s", container_json);
	rc = xn_probes_parse(c, ps, msg, 512, unsup, 256);
	cJSON_Delete(c);
	return rc;
}

static void defaults_and_fields(void **state)
{
	struct xn_probes ps;
	char msg[512] = "", unsup[256];

	assert_int_equal(
	    parse("{\"name\":\"main\",\"ports\":[{\"name\":\"web\",\"containerPort\":"
		  "8080}],\"readinessProbe\":{\"httpGet\":{\"port\":\"web\",\"path\":"
		  "\"healthz\",\"httpHeaders\":[{\"name\":\"X-A\",\"value\":\"b c\"}]}},"
		  "\"livenessProbe\":{\"tcpSocket\":{\"port\":81},\"periodSeconds\":2,"
		  "\"failureThreshold\":1,\"terminationGracePeriodSeconds\":3}}",
		  &ps, msg, unsup),
	    0);
	assert_string_equal(unsup, "");
	assert_int_equal(ps.p[XN_PROBE_STARTUP].kind, XN_PROBE_NONE);
	/* the API server's defaults */
	assert_int_equal(ps.p[XN_PROBE_READINESS].kind, XN_PROBE_HTTP);
	assert_int_equal(ps.p[XN_PROBE_READINESS].port, 8080);
	assert_int_equal(ps.p[XN_PROBE_READINESS].period_s, 10);
	assert_int_equal(ps.p[XN_PROBE_READINESS].timeout_s, 1);
	assert_int_equal(ps.p[XN_PROBE_READINESS].success_threshold, 1);
	assert_int_equal(ps.p[XN_PROBE_READINESS].failure_threshold, 3);
	assert_int_equal(ps.p[XN_PROBE_READINESS].initial_delay_s, 0);
	assert_int_equal(ps.p[XN_PROBE_READINESS].grace_s, -1);
	assert_string_equal(ps.p[XN_PROBE_READINESS].path, "/healthz");
	assert_null(ps.p[XN_PROBE_READINESS].host);
	assert_false(ps.p[XN_PROBE_READINESS].https);
	assert_string_equal(ps.p[XN_PROBE_READINESS].headers, "X-A: b c\r\n");
	assert_int_equal(ps.p[XN_PROBE_LIVENESS].kind, XN_PROBE_TCP);
	assert_int_equal(ps.p[XN_PROBE_LIVENESS].port, 81);
	assert_int_equal(ps.p[XN_PROBE_LIVENESS].period_s, 2);
	assert_int_equal(ps.p[XN_PROBE_LIVENESS].failure_threshold, 1);
	assert_int_equal(ps.p[XN_PROBE_LIVENESS].grace_s, 3);
	assert_true(xn_probes_any(&ps));
	xn_probes_dispose(&ps);

	assert_int_equal(parse("{\"name\":\"main\"}", &ps, msg, unsup), 0);
	assert_false(xn_probes_any(&ps));
}

static void exec_and_grpc_are_unsupported(void **state)
{
	struct xn_probes ps;
	char msg[512] = "", unsup[256];

	assert_int_equal(parse("{\"livenessProbe\":{\"exec\":{\"command\":[\"true\"]}},"
			       "\"readinessProbe\":{\"grpc\":{\"port\":9000}}}",
			       &ps, msg, unsup),
			 0);
	assert_string_equal(unsup,
			    "containers[0].livenessProbe.exec, containers[0].readinessProbe.grpc");
	assert_false(xn_probes_any(&ps));
}

static void bad_input_names_the_field(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":80},\"periodSeconds\":-1}}",
	     "containers[0].readinessProbe.periodSeconds: -1: must not be negative"},
	    {"{\"livenessProbe\":{\"tcpSocket\":{\"port\":80},\"initialDelaySeconds\":-5}}",
	     "containers[0].livenessProbe.initialDelaySeconds: -5: must not be negative"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":80},\"timeoutSeconds\":1.5}}",
	     "containers[0].readinessProbe.timeoutSeconds: must be a whole number"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":\"web\"}}}",
	     "containers[0].readinessProbe.httpGet.port \"web\": no such named port in "
	     "containers[0].ports"},
	    {"{\"ports\":[{\"name\":\"a\",\"containerPort\":1}],\"startupProbe\":{\"tcpSocket\":{"
	     "\"port\":\"b\"}}}",
	     "containers[0].startupProbe.tcpSocket.port \"b\": no such named port in "
	     "containers[0].ports"},
	    {"{\"readinessProbe\":{\"httpGet\":{}}}",
	     "containers[0].readinessProbe.httpGet.port: missing"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":70000}}}",
	     "containers[0].readinessProbe.httpGet.port: 70000: must be 1..65535"},
	    {"{\"readinessProbe\":{\"periodSeconds\":3}}",
	     "containers[0].readinessProbe: no handler (httpGet, tcpSocket, exec or grpc)"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1},\"tcpSocket\":{\"port\":1}}}",
	     "containers[0].readinessProbe: more than one handler; give exactly one"},
	    {"{\"livenessProbe\":{\"httpGet\":{\"port\":1},\"successThreshold\":2}}",
	     "containers[0].livenessProbe.successThreshold: 2: must be 1 for a liveness probe"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1,\"host\":\"example.com\"}}}",
	     "containers[0].readinessProbe.httpGet.host \"example.com\": must be an IP address"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1,\"scheme\":\"FTP\"}}}",
	     "containers[0].readinessProbe.httpGet.scheme: must be HTTP or HTTPS"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1,\"path\":\"/a b\"}}}",
	     "containers[0].readinessProbe.httpGet.path: must be at most 2048 characters"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1,\"httpHeaders\":[{\"name\":\"X\","
	     "\"value\":\"a\\r\\nEvil: 1\"}]}}}",
	     "containers[0].readinessProbe.httpGet.httpHeaders[0].value: must not hold control "
	     "characters"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1,\"httpHeaders\":[{\"name\":\"A B\"}]}}}",
	     "containers[0].readinessProbe.httpGet.httpHeaders[0].name: must be an HTTP header"},
	    {"{\"readinessProbe\":{\"httpGet\":{\"port\":1},\"terminationGracePeriodSeconds\":5}}",
	     "containers[0].readinessProbe.terminationGracePeriodSeconds: only for liveness"},
	    {"{\"readinessProbe\":\"yes\"}", "containers[0].readinessProbe: must be an object"},
	    {"{\"readinessProbe\":{\"tcpSocket\":{\"port\":80},\"failureThreshold\":5000}}",
	     "containers[0].readinessProbe.failureThreshold: 5000: must be 1..1000"},
	};
	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		struct xn_probes ps;
		char msg[512] = "", unsup[256];

		if (parse(cases[i].json, &ps, msg, unsup) != -1)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		if (strstr(msg, cases[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, msg, cases[i].msg);
		assert_false(xn_probes_any(&ps)); /* nothing half-parsed left */
	}
}

static void json_round_trip(void **state)
{
	struct xn_probes ps, back, copy;
	char msg[512] = "", unsup[256];
	cJSON *o = cJSON_CreateObject();
	char *a, *b;

	assert_int_equal(
	    parse("{\"ports\":[{\"name\":\"h\",\"containerPort\":8443}],"
		  "\"startupProbe\":{\"httpGet\":{\"port\":\"h\",\"scheme\":\"HTTPS\","
		  "\"host\":\"10.1.2.3\",\"httpHeaders\":[{\"name\":\"A\",\"value\":"
		  "\"1\"},{\"name\":\"Host\",\"value\":\"x.example\"}]},"
		  "\"failureThreshold\":30,\"periodSeconds\":1},"
		  "\"readinessProbe\":{\"tcpSocket\":{\"port\":53},\"successThreshold\":2}}",
		  &ps, msg, unsup),
	    0);
	xn_probes_to_json(&ps, o);
	a = cJSON_PrintUnformatted(o);
	assert_int_equal(xn_probes_parse(o, &back, msg, sizeof(msg), unsup, sizeof(unsup)), 0);
	cJSON_Delete(o);
	o = cJSON_CreateObject();
	xn_probes_copy(&copy, &back);
	xn_probes_to_json(&copy, o);
	b = cJSON_PrintUnformatted(o);
	assert_string_equal(a, b);
	assert_int_equal(copy.p[XN_PROBE_STARTUP].port, 8443);
	assert_true(copy.p[XN_PROBE_STARTUP].https);
	assert_string_equal(copy.p[XN_PROBE_STARTUP].headers, "A: 1\r\nHost: x.example\r\n");
	assert_int_equal(copy.p[XN_PROBE_READINESS].success_threshold, 2);
	free(a);
	free(b);
	cJSON_Delete(o);
	xn_probes_dispose(&ps);
	xn_probes_dispose(&back);
	xn_probes_dispose(&copy);
}

/* The pod's spec file keeps the probes (a daemon restart runs them again). */
static void spec_file_keeps_probes(void **state)
{
	struct xn_pod_spec s = {.uid = "u",
				.ns = "n",
				.name = "p",
				.container = "c",
				.kernel = "/k"},
			   back;
	char msg[512], unsup[256];
	char *a, *b;
	xn_err err = NULL;

	assert_int_equal(parse("{\"livenessProbe\":{\"httpGet\":{\"port\":80,\"path\":\"/h\","
			       "\"httpHeaders\":[{\"name\":\"A\",\"value\":\"b\"}]},"
			       "\"terminationGracePeriodSeconds\":7}}",
			       &s.probes, msg, unsup),
			 0);
	a = xn_pod_spec_to_json(&s);
	if (xn_pod_spec_from_json(a, &back, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	b = xn_pod_spec_to_json(&back);
	assert_string_equal(a, b);
	assert_int_equal(back.probes.p[XN_PROBE_LIVENESS].grace_s, 7);
	assert_string_equal(back.probes.p[XN_PROBE_LIVENESS].headers, "A: b\r\n");
	xn_pod_spec_dispose(&back);
	/* a spec file with a bad probe is refused, naming it */
	assert_int_equal(xn_pod_spec_from_json("{\"uid\":\"u\",\"namespace\":\"n\",\"name\":\"p\","
					       "\"container\":\"c\",\"kernel\":\"/k\",\"probes\":{"
					       "\"readinessProbe\":{\"tcpSocket\":{}}}}",
					       &back, &err),
			 -1);
	assert_non_null(strstr(xn_error_msg(err),
			       "probes: containers[0].readinessProbe.tcpSocket.port: missing"));
	xn_error_free(&err);
	free(a);
	free(b);
	xn_probes_dispose(&s.probes);
}

/* ---- the threshold state machine ---- */

static char letter(enum xn_probe_result r)
{
	return r == XN_PROBE_SUCCESS ? 'S' : r == XN_PROBE_FAILURE ? 'F' : '?';
}

/* Attempts ("s" ok, "f" failed) -> the result after each ('S', 'F', '?'),
 * upper case where it changed, lower case where it stayed; '-' once the
 * probe is on hold or done (the attempt ignored). */
static void state_machine_golden(void **state)
{
	static const struct {
		enum xn_probe_which w;
		unsigned succ, fail;
		const char *attempts, *want;
	} cases[] = {
	    /* readiness starts not ready; one success makes it ready */
	    {XN_PROBE_READINESS, 1, 3, "sffsfff", "SsssssF"},
	    /* successThreshold 2: two in a row */
	    {XN_PROBE_READINESS, 2, 1, "sfsssf", "fffSsF"},
	    /* failureThreshold 3 counts failures in a row only */
	    {XN_PROBE_READINESS, 1, 3, "sffsffsfff", "SssssssssF"},
	    /* liveness starts healthy; the 3rd failure in a row -> failure, on hold */
	    {XN_PROBE_LIVENESS, 1, 3, "ffsfffss", "sssssF--"},
	    {XN_PROBE_LIVENESS, 1, 1, "sf", "sF"},
	    /* startup: unknown until a success (then done) or the threshold */
	    {XN_PROBE_STARTUP, 1, 3, "ffsff", "??S--"},
	    {XN_PROBE_STARTUP, 1, 2, "fff", "?F-"},
	};
	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		struct xn_probe pr = {.kind = XN_PROBE_TCP,
				      .success_threshold = cases[i].succ,
				      .failure_threshold = cases[i].fail};
		struct xn_probe_state s;
		char got[32] = "";
		size_t n = strlen(cases[i].attempts);

		xn_probe_state_init(&s, cases[i].w);
		for (size_t k = 0; k < n; k++) {
			bool held = s.on_hold || s.done;
			bool changed =
			    xn_probe_step(&pr, cases[i].w, &s, cases[i].attempts[k] == 's');
			char c = letter(s.result);
			got[k] = held ? '-' : changed ? c : (char)(c == '?' ? '?' : c + 32);
		}
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu (%s, attempts %s): got %s, want %s", i,
				 xn_probe_which_name(cases[i].w), cases[i].attempts, got,
				 cases[i].want);
	}
}

/* ---- the I/O of one attempt, against the test's own listeners ---- */

struct server {
	struct event_base *base;
	struct evconnlistener *l;
	SSL_CTX *tls; /* NULL: plain HTTP */
	unsigned port;
	char last_request[2048];
};

static void srv_read(struct bufferevent *bev, void *arg)
{
	struct server *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char req[2048] = "";
	const char *resp = NULL;
	char buf[512];

	if (end.pos < 0)
		return;
	evbuffer_remove(in, req,
			(size_t)end.pos < sizeof(req) - 1 ? (size_t)end.pos : sizeof(req) - 1);
	snprintf(s->last_request, sizeof(s->last_request), "%s", req);
	if (strncmp(req, "GET /ok ", 8) == 0)
		resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	else if (strncmp(req, "GET /moved ", 11) == 0)
		resp = "HTTP/1.1 301 Moved\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n";
	else if (strncmp(req, "GET /fail ", 10) == 0)
		resp = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
	else if (strncmp(req, "GET /redir ", 11) == 0) {
		snprintf(buf, sizeof(buf),
			 "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%u/fail\r\n\r\n",
			 s->port);
		resp = buf;
	} else if (strncmp(req, "GET /away ", 10) == 0)
		resp = "HTTP/1.1 302 Found\r\nLocation: http://192.0.2.1/fail\r\n\r\n";
	else if (strncmp(req, "GET /loop ", 10) == 0)
		resp = "HTTP/1.0 302 Found\r\nLocation: /loop\r\n\r\n";
	else if (strncmp(req, "GET /garbage ", 13) == 0)
		resp = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
	else if (strncmp(req, "GET /badstatus ", 15) == 0)
		resp = "HTTP/1.1 2xx Fine\r\n\r\n";
	else if (strncmp(req, "GET /close ", 11) == 0)
		resp = "";
	else if (strncmp(req, "GET /hang ", 10) == 0)
		return; /* never answers: the attempt's timeout ends it */
	else if (strncmp(req, "GET /big ", 9) == 0) {
		struct evbuffer *out = bufferevent_get_output(bev);
		evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n");
		for (int i = 0; i < 2000; i++)
			evbuffer_add_printf(out, "X-Filler-%d: aaaaaaaaaaaa\r\n", i);
		return;
	} else
		resp = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	if (resp[0] == '\0') {
		bufferevent_free(bev);
		return;
	}
	bufferevent_write(bev, resp, strlen(resp));
}

static void srv_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void srv_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		       void *arg)
{
	struct server *s = arg;
	struct bufferevent *bev =
	    s->tls
		? bufferevent_openssl_socket_new(s->base, fd, SSL_new(s->tls),
						 BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)
		: bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);

	bufferevent_setcb(bev, srv_read, NULL, srv_event, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void server_start(struct server *s, struct event_base *base)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->base = base;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->l =
	    evconnlistener_new_bind(base, srv_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
				    16, (struct sockaddr *)&sin, sizeof(sin));
	assert_non_null(s->l);
	getsockname(evconnlistener_get_fd(s->l), (struct sockaddr *)&sin, &len);
	s->port = ntohs(sin.sin_port);
}

struct outcome {
	bool finished, ok;
	char msg[1024];
};

static void on_done(bool ok, const char *msg, void *arg)
{
	struct outcome *o = arg;

	o->finished = true;
	o->ok = ok;
	snprintf(o->msg, sizeof(o->msg), "%s", msg ? msg : "");
}

/* One attempt of pr against 127.0.0.1; the loop is bounded far above the
 * probe's own timeout. */
static struct outcome run_attempt(struct event_base *base, struct xn_probe *pr)
{
	struct outcome o = {0};
	struct xn_test_deadline d;

	xn_probe_attempt_start(base, pr, "127.0.0.1", on_done, &o);
	xn_test_deadline_start(&d, base, 10000);
	while (!o.finished && xn_test_deadline_step(&d))
		;
	xn_test_deadline_stop(&d);
	if (!o.finished)
		fail_msg("the attempt did not finish");
	return o;
}

static struct xn_probe http(unsigned port, const char *path)
{
	struct xn_probe pr = {.kind = XN_PROBE_HTTP,
			      .port = port,
			      .timeout_s = 1,
			      .period_s = 1,
			      .success_threshold = 1,
			      .failure_threshold = 1,
			      .path = (char *)path};
	return pr;
}

static void expect(struct event_base *base, struct xn_probe pr, bool ok, const char *needle)
{
	struct outcome o = run_attempt(base, &pr);

	if (o.ok != ok || strstr(o.msg, needle) == NULL)
		fail_msg("%s %s: got %s \"%s\", want %s \"%s\"",
			 pr.kind == XN_PROBE_TCP ? "tcp" : "GET", pr.path ? pr.path : "",
			 o.ok ? "success" : "failure", o.msg, ok ? "success" : "failure", needle);
}

static void attempts(void **state)
{
	struct event_base *base = event_base_new();
	struct server s;
	struct xn_probe pr;
	unsigned closed;

	server_start(&s, base);
	expect(base, http(s.port, "/ok"), true, "");
	/* what the kubelet sends */
	assert_non_null(strstr(s.last_request, "GET /ok HTTP/1.1\r\n"));
	assert_non_null(strstr(s.last_request, "User-Agent: kube-probe/"));
	assert_non_null(strstr(s.last_request, "Host: 127.0.0.1:"));
	pr = http(s.port, "/ok");
	pr.headers = (char *)"Host: web.example\r\nX-Probe: 1\r\n";
	expect(base, pr, true, "");
	assert_non_null(strstr(s.last_request, "Host: web.example\r\n"));
	assert_null(strstr(s.last_request, "Host: 127.0.0.1"));
	assert_non_null(strstr(s.last_request, "X-Probe: 1\r\n"));

	expect(base, http(s.port, "/fail"), false, "HTTP probe failed with statuscode: 500");
	expect(base, http(s.port, "/nothing"), false, "statuscode: 404");
	/* redirects: same host followed (the final answer decides) */
	expect(base, http(s.port, "/moved"), true, "");
	assert_non_null(strstr(s.last_request, "GET /ok "));
	expect(base, http(s.port, "/redir"), false, "statuscode: 500");
	/* ... to another host not followed: the 3xx is the answer */
	expect(base, http(s.port, "/away"), true, "Probe terminated redirects");
	expect(base, http(s.port, "/loop"), false, "stopped after 10 redirects");
	/* garbage, an early close, oversized headers, a hang */
	expect(base, http(s.port, "/garbage"), false,
	       "malformed HTTP response: starts with \"SSH-2\", not HTTP/1.x");
	expect(base, http(s.port, "/badstatus"), false,
	       "malformed HTTP response: status line \"HTTP/1.1 2xx Fine\"");
	expect(base, http(s.port, "/close"), false, "EOF");
	expect(base, http(s.port, "/big"), false, "response headers longer than 16384 bytes");
	expect(base, http(s.port, "/hang"), false,
	       "context deadline exceeded (Client.Timeout exceeded while awaiting headers, 1s)");

	/* tcpSocket: a listener answers, a closed port refuses */
	pr = http(s.port, NULL);
	pr.kind = XN_PROBE_TCP;
	expect(base, pr, true, "");
	evconnlistener_free(s.l);
	closed = s.port;
	pr.port = closed;
	expect(base, pr, false, "dial tcp 127.0.0.1:");
	expect(base, pr, false, "connect: Connection refused");
	expect(base, http(closed, "/ok"), false, "connect: Connection refused");

	/* no pod IP and no host */
	{
		struct outcome o = {0};
		struct xn_test_deadline d;
		struct xn_probe p2 = http(closed, "/ok");
		assert_non_null(xn_probe_attempt_start(base, &p2, "", on_done, &o));
		assert_false(o.finished); /* reported from the loop, never inside start */
		xn_test_deadline_start(&d, base, 5000);
		while (!o.finished && xn_test_deadline_step(&d))
			;
		xn_test_deadline_stop(&d);
		assert_false(o.ok);
		assert_non_null(strstr(o.msg, "the pod has no IP address"));
	}
	event_base_free(base);
}

/* scheme HTTPS: TLS without verifying the certificate (the server's is
 * self-signed, for no name at all) */
static void https_attempts(void **state)
{
	struct event_base *base = event_base_new();
	struct server s;
	struct xn_probe pr;

	server_start(&s, base);
	s.tls = SSL_CTX_new(TLS_server_method());
	assert_non_null(s.tls);
	{ /* a throwaway self-signed certificate: the prober checks none */
		EVP_PKEY *k = EVP_EC_gen("P-256");
		X509 *x = X509_new();
		assert_non_null(k);
		ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
		X509_gmtime_adj(X509_getm_notBefore(x), 0);
		X509_gmtime_adj(X509_getm_notAfter(x), 3600);
		X509_set_pubkey(x, k);
		assert_true(X509_sign(x, k, EVP_sha256()) > 0);
		assert_int_equal(SSL_CTX_use_certificate(s.tls, x), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(s.tls, k), 1);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	pr = http(s.port, "/ok");
	pr.https = true;
	expect(base, pr, true, "");
	assert_non_null(strstr(s.last_request, "GET /ok HTTP/1.1\r\n"));
	pr.path = (char *)"/fail";
	expect(base, pr, false, "statuscode: 500");
	/* plain HTTP against the TLS port: the server's TLS alert is garbage */
	pr.https = false;
	pr.path = (char *)"/ok";
	expect(base, pr, false, "Get \"http://127.0.0.1:");
	evconnlistener_free(s.l);
	SSL_CTX_free(s.tls);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults_and_fields),
	    cmocka_unit_test(exec_and_grpc_are_unsupported),
	    cmocka_unit_test(bad_input_names_the_field),
	    cmocka_unit_test(json_round_trip),
	    cmocka_unit_test(spec_file_keeps_probes),
	    cmocka_unit_test(state_machine_golden),
	    cmocka_unit_test(attempts),
	    cmocka_unit_test(https_attempts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
