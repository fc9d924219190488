/* test_kube_events.c - Events as the API server receives them: the real
 * client (libcurl, TLS) posts to a tiny HTTPS server on loopback inside the
 * test, which records each request.  What a flood of Events about one pod
 * becomes: one object with a count, combined messages, a spam limit.
 * Loops are bounded by a deadline; nothing asserts on durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "testutil.h"
#include "xenlet/event_correlate.h"
#include "xenlet/kube.h"
#include "xenlet/kube_events.h"
#include "xenlet/kubeconfig.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

#define TIMEOUT_MS 10000 /* a bound on a hung test, not a timing check */
#define MAX_REQ	   2048

struct req {
	char method[8];
	char uri[256];
	cJSON *body;
};

struct t {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	char *cert_pem;
	unsigned port;
	struct req reqs[MAX_REQ];
	int nreq;
	struct xn_kube *kube;
	struct xn_kube_events *ev;
};

static void serve(struct evhttp_request *req, void *arg)
{
	struct t *t = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req), *b = evbuffer_new();
	size_t len = evbuffer_get_length(in);
	struct req *r;

	assert_true(t->nreq < MAX_REQ);
	r = &t->reqs[t->nreq++];
	snprintf(r->method, sizeof(r->method), "%s",
		 evhttp_request_get_command(req) == EVHTTP_REQ_POST    ? "POST"
		 : evhttp_request_get_command(req) == EVHTTP_REQ_PATCH ? "PATCH"
								       : "OTHER");
	snprintf(r->uri, sizeof(r->uri), "%s", evhttp_request_get_uri(req));
	r->body = cJSON_ParseWithLength((const char *)evbuffer_pullup(in, -1), len);
	evbuffer_add_printf(b, "{}");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, 201, "Created", b);
	evbuffer_free(b);
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct t *t = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(t->ssl), BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

/* A P-256 key and a self-signed certificate for 127.0.0.1. */
static void make_cert(struct t *t)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	assert_non_null(key);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(ex);
	X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	t->ssl = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(t->ssl, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(t->ssl, key), 1);
	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &pem);
	t->cert_pem = xn_xasprintf("%.*s", (int)n, pem);
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(key);
}

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	struct evhttp_bound_socket *h;
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof(ss);
	struct xn_kubeconfig kc = {0};
	xn_err err = NULL;

	t->base = event_base_new();
	make_cert(t);
	t->http = evhttp_new(t->base);
	evhttp_set_allowed_methods(t->http, EVHTTP_REQ_POST | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(t->http, new_bev, t);
	evhttp_set_gencb(t->http, serve, t);
	h = evhttp_bind_socket_with_handle(t->http, "127.0.0.1", 0);
	assert_non_null(h);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&ss, &sl),
			 0);
	t->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	kc.server = xn_xasprintf("https://127.0.0.1:%u", t->port);
	kc.ca_data.data = (unsigned char *)t->cert_pem;
	kc.ca_data.len = strlen(t->cert_pem);
	if (xn_kube_new(t->base, &kc, "test", &t->kube, &err) < 0)
		fail_msg("kube: %s", xn_error_msg(err));
	free(kc.server);
	t->ev = xn_kube_events_new(t->kube, "n1");
	xn_metrics_reset();
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	xn_kube_events_free(t->ev);
	xn_kube_free(t->kube);
	xn_test_run_for(t->base, 20);
	evhttp_free(t->http);
	SSL_CTX_free(t->ssl);
	free(t->cert_pem);
	for (int i = 0; i < t->nreq; i++)
		cJSON_Delete(t->reqs[i].body);
	event_base_free(t->base);
	free(t);
	return 0;
}

static const struct xn_event_object pod = {
    .kind = "Pod", .ns = "default", .name = "junk", .uid = "uid-1", .field_path = NULL};

static int count(struct t *t, const char *method)
{
	int n = 0;

	for (int i = 0; i < t->nreq; i++)
		n += strcmp(t->reqs[i].method, method) == 0;
	return n;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The count the API server has last been told, from the POST and PATCHes. */
static int last_count(struct t *t)
{
	int c = -1;

	for (int i = 0; i < t->nreq; i++)
		if (t->reqs[i].body && num(t->reqs[i].body, "count") >= 0)
			c = (int)num(t->reqs[i].body, "count");
	return c;
}

/* 1000 identical Events, while an earlier POST is on its way: one POST and
 * a few PATCHes (one per interval), the last with the count 1000 and the
 * PATCHes addressed to the object the POST named. */
static void identical_flood(void **state)
{
	struct t *t = *state;
	cleanup_free char *path = NULL;

	xn_kube_events_set_patch_interval_ms(t->ev, 200);
	xn_kube_event(t->ev, &pod, "Warning", "Unhealthy", "bad flag");
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->nreq >= 1);
	for (int i = 1; i < 1000; i++)
		xn_kube_event(t->ev, &pod, "Warning", "Unhealthy", "bad flag");
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, last_count(t) == 1000);
	xn_test_run_for(t->base, 500); /* nothing more comes */
	assert_int_equal(count(t, "POST"), 1);
	assert_true(count(t, "PATCH") >= 1 && count(t, "PATCH") <= 2);
	assert_int_equal(last_count(t), 1000);
	path = xn_xasprintf(
	    "/api/v1/namespaces/default/events/%s",
	    str(cJSON_GetObjectItemCaseSensitive(t->reqs[0].body, "metadata"), "name"));
	for (int i = 1; i < t->nreq; i++) {
		assert_string_equal(t->reqs[i].uri, path);
		assert_string_equal(str(t->reqs[i].body, "message"), "bad flag");
	}
}

/* 50 messages that differ (a length in them): 10 Events, then one combined
 * Event with the count of the rest. */
static void distinct_messages_combined(void **state)
{
	struct t *t = *state;
	char msg[64];
	int combined = -1;

	xn_kube_events_set_patch_interval_ms(t->ev, 100);
	for (int i = 0; i < 50; i++) {
		snprintf(msg, sizeof(msg), "value too long (%d bytes, max 1)", i + 2);
		xn_kube_event(t->ev, &pod, "Warning", "Unhealthy", msg);
	}
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, count(t, "POST") == XN_EVCORR_AGGR_MAX + 1);
	for (int i = 0; i < t->nreq; i++)
		if (strncmp(str(t->reqs[i].body, "message"), XN_EVCORR_COMBINED,
			    strlen(XN_EVCORR_COMBINED)) == 0 &&
		    strcmp(t->reqs[i].method, "POST") == 0)
			combined = i;
	assert_true(combined >= 0);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, last_count(t) == 50 - XN_EVCORR_AGGR_MAX);
	assert_string_equal(str(t->reqs[t->nreq - 1].body, "message"),
			    XN_EVCORR_COMBINED "value too long (51 bytes, max 1)");
	xn_test_run_for(t->base, 300);
	assert_int_equal(count(t, "POST"), XN_EVCORR_AGGR_MAX + 1);
}

/* 100 different reasons about one pod: the spam filter's 25 objects, the
 * rest dropped and counted; another pod is not affected. */
static void spam_limited(void **state)
{
	struct t *t = *state;
	struct xn_event_object other = pod;
	char reason[32];

	for (int i = 0; i < 100; i++) {
		snprintf(reason, sizeof(reason), "Reason%d", i);
		xn_kube_event(t->ev, &pod, "Normal", reason, "m");
	}
	other.name = "other";
	other.uid = "uid-2";
	xn_kube_event(t->ev, &other, "Normal", "Started", "m");
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, count(t, "POST") == XN_EVCORR_SPAM_BURST + 1);
	xn_test_run_for(t->base, 200);
	assert_int_equal(count(t, "POST"), XN_EVCORR_SPAM_BURST + 1);
	assert_true(xn_metric_value("xenlet_events_dropped_total", NULL) ==
		    100 - XN_EVCORR_SPAM_BURST);
	assert_string_equal(
	    str(cJSON_GetObjectItemCaseSensitive(t->reqs[t->nreq - 1].body, "involvedObject"),
		"name"),
	    "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(identical_flood, setup, teardown),
	    cmocka_unit_test_setup_teardown(distinct_messages_combined, setup, teardown),
	    cmocka_unit_test_setup_teardown(spam_limited, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
