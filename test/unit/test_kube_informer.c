/* test_kube_informer.c - the informer's state machine (list + watch, the
 * cache, bookmarks, 410 Gone -> relist, back-off) against canned answers
 * from a tiny HTTPS server on loopback inside the test: the real client
 * (libcurl, TLS) talks to it, the script decides what each list and watch
 * gets.  The real API server is tested in integration.  Loops are bounded
 * by a deadline; nothing asserts on durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "testutil.h"
#include "xenlet/kube.h"
#include "xenlet/kubeconfig.h"
#include "xenlet/util.h"

#define TIMEOUT_MS 10000 /* a bound on a hung test, not a timing check */
#define MAX_REQ	   32

/* ---- the canned server ---- */

/* What one request gets: a status and body, or for a watch the lines to
 * stream and whether to end the response after them (else it stays open). */
struct answer {
	int status;
	const char *body;
	bool end; /* watch: end the response after body */
};

struct server {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *ssl;
	unsigned port;
	char *cert_pem;
	/* the script: answers for lists and for watches, in order */
	struct answer lists[8], watches[8];
	int nlists, nwatches;
	/* what came */
	char uris[MAX_REQ][256];
	int nreq, list_calls, watch_calls;
	struct evhttp_request *open_watch;    /* the last watch left open */
	struct evhttp_request *open[MAX_REQ]; /* every response not ended */
	int nopen;
};

static void keep_open(struct server *s, struct evhttp_request *req)
{
	assert_true(s->nopen < MAX_REQ);
	s->open[s->nopen++] = req;
	s->open_watch = req;
}

static void serve(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	bool watch = strstr(uri, "watch=1") != NULL;
	struct evbuffer *b = evbuffer_new();
	const struct answer *a;

	assert_true(s->nreq < MAX_REQ);
	snprintf(s->uris[s->nreq++], sizeof(s->uris[0]), "%s", uri);
	if (watch) {
		a = s->watch_calls < s->nwatches ? &s->watches[s->watch_calls] : NULL;
		s->watch_calls++;
	} else {
		a = s->list_calls < s->nlists ? &s->lists[s->list_calls] : NULL;
		s->list_calls++;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (a == NULL) { /* beyond the script: a watch that stays quiet */
		evhttp_send_reply_start(req, 200, "OK");
		keep_open(s, req);
	} else if (watch && a->status == 200) {
		evhttp_send_reply_start(req, 200, "OK");
		evbuffer_add(b, a->body, strlen(a->body));
		evhttp_send_reply_chunk(req, b);
		if (a->end)
			evhttp_send_reply_end(req);
		else
			keep_open(s, req);
	} else {
		evbuffer_add(b, a->body, strlen(a->body));
		evhttp_send_reply(req, a->status, NULL, b);
	}
	evbuffer_free(b);
}

static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct server *s = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(s->ssl), BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

/* A P-256 key and a self-signed certificate for 127.0.0.1. */
static void make_cert(struct server *s)
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
	s->ssl = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(s->ssl, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ssl, key), 1);
	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &pem);
	s->cert_pem = xn_xasprintf("%.*s", (int)n, pem);
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void server_start(struct server *s, struct event_base *base)
{
	struct evhttp_bound_socket *h;
	struct sockaddr_storage ss;
	ev_socklen_t sl = sizeof(ss);

	s->base = base;
	make_cert(s);
	s->http = evhttp_new(base);
	evhttp_set_bevcb(s->http, new_bev, s);
	evhttp_set_gencb(s->http, serve, s);
	h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(h);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&ss, &sl),
			 0);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void server_stop(struct server *s)
{
	evhttp_free(s->http);
	SSL_CTX_free(s->ssl);
	free(s->cert_pem);
}

/* End the watch left open (as the server's timeoutSeconds would). */
static void end_open_watch(struct server *s)
{
	assert_non_null(s->open_watch);
	evhttp_send_reply_end(s->open_watch);
	for (int i = 0; i < s->nopen; i++)
		if (s->open[i] == s->open_watch)
			s->open[i] = NULL;
	s->open_watch = NULL;
}

/* ---- the informer under test ---- */

struct t {
	struct event_base *base;
	struct server srv;
	struct xn_kube *kube;
	struct xn_informer *inf;
	char log[64][48]; /* "add ns/name", "update ...", "del ...", "synced", "error 500" */
	int nlog;
};

static void note(struct t *t, const char *what, const cJSON *obj)
{
	assert_true(t->nlog < 64);
	snprintf(t->log[t->nlog++], sizeof(t->log[0]), "%s%s%s", what, obj ? " " : "",
		 obj ? xn_kube_meta(obj, "name") : "");
}

static void on_add(const cJSON *obj, void *arg)
{
	note(arg, "add", obj);
}
static void on_update(const cJSON *old, const cJSON *obj, void *arg)
{
	note(arg, "update", obj);
}
static void on_del(const cJSON *obj, void *arg)
{
	note(arg, "del", obj);
}
static void on_synced(void *arg)
{
	note(arg, "synced", NULL);
}
static void on_error(long status, const char *message, void *arg)
{
	char what[24];

	snprintf(what, sizeof(what), "error %ld", status);
	note(arg, what, NULL);
}

static const struct xn_informer_ops ops = {
    .add = on_add, .update = on_update, .del = on_del, .synced = on_synced, .error = on_error};

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));

	t->base = event_base_new();
	server_start(&t->srv, t->base);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	xn_informer_free(t->inf);
	xn_kube_free(t->kube);
	/* end what the server still streams (evhttp does not read during a
	 * response, so it would not see the client go) */
	for (int i = 0; i < t->srv.nopen; i++)
		if (t->srv.open[i])
			evhttp_send_reply_end(t->srv.open[i]);
	xn_test_run_for(t->base, 50);
	server_stop(&t->srv);
	event_base_free(t->base);
	free(t);
	return 0;
}

static void start(struct t *t)
{
	struct xn_kubeconfig kc = {0};
	xn_err err = NULL;

	kc.server = xn_xasprintf("https://127.0.0.1:%u", t->srv.port);
	kc.ca_data.data = (unsigned char *)t->srv.cert_pem;
	kc.ca_data.len = strlen(t->srv.cert_pem);
	if (xn_kube_new(t->base, &kc, "test", &t->kube, &err) < 0)
		fail_msg("kube: %s", xn_error_msg(err));
	free(kc.server);
	t->inf =
	    xn_informer_new(t->kube, "/api/v1/pods", "fieldSelector=spec.nodeName%3Dn1", &ops, t);
	assert_non_null(t->inf);
}

static bool logged(struct t *t, const char *what)
{
	for (int i = 0; i < t->nlog; i++)
		if (strcmp(t->log[i], what) == 0)
			return true;
	return false;
}

#define POD(name, rv)                                                                              \
	"{\"metadata\":{\"namespace\":\"default\",\"name\":\"" name "\",\"resourceVersion\":\"" rv \
	"\"}}"
#define LIST(rv, cont, ...)                                                                        \
	"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"" rv "\",\"continue\":\"" cont  \
	"\"},\"items\":[" __VA_ARGS__ "]}"
#define EVENT(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"

/* ---- tests ---- */

static void list_then_watch(void **state)
{
	struct t *t = *state;
	struct xn_informer_stats st;

	/* two pages, then a watch that streams every kind of event */
	t->srv.lists[0] = (struct answer){200, LIST("10", "page2", POD("a", "5")), true};
	t->srv.lists[1] = (struct answer){200, LIST("10", "", POD("b", "7")), true};
	t->srv.nlists = 2;
	t->srv.watches[0] =
	    (struct answer){200,
			    EVENT("ADDED", POD("c", "11")) EVENT("MODIFIED", POD("a", "12"))
				EVENT("DELETED", POD("b", "13")) EVENT("BOOKMARK", POD("", "14")),
			    false};
	t->srv.nwatches = 1;
	start(t);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, strcmp(xn_informer_rv(t->inf), "14") == 0);

	assert_true(xn_informer_synced(t->inf));
	assert_string_equal(t->log[0], "add a");
	assert_string_equal(t->log[1], "add b");
	assert_string_equal(t->log[2], "synced");
	assert_string_equal(t->log[3], "add c");
	assert_string_equal(t->log[4], "update a");
	assert_string_equal(t->log[5], "del b");
	assert_int_equal(t->nlog, 6); /* a bookmark moves the rv, nothing else */
	assert_int_equal(xn_informer_count(t->inf), 2);
	assert_non_null(xn_informer_get(t->inf, "default", "a"));
	assert_null(xn_informer_get(t->inf, "default", "b"));
	assert_string_equal(
	    xn_kube_meta(xn_informer_get(t->inf, "default", "a"), "resourceVersion"), "12");
	/* the second page asked for the continue token; the watch from the list's rv */
	assert_non_null(strstr(t->srv.uris[0], "limit=500"));
	assert_non_null(strstr(t->srv.uris[0], "fieldSelector=spec.nodeName%3Dn1"));
	assert_non_null(strstr(t->srv.uris[1], "continue=page2"));
	assert_non_null(strstr(t->srv.uris[2], "watch=1"));
	assert_non_null(strstr(t->srv.uris[2], "allowWatchBookmarks=true"));
	assert_non_null(strstr(t->srv.uris[2], "resourceVersion=10"));

	/* the server ends the watch (its timeoutSeconds): the next one starts
	 * from the bookmark's rv, without a list */
	end_open_watch(&t->srv);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->srv.watch_calls == 2);
	assert_non_null(strstr(t->srv.uris[3], "watch=1"));
	assert_non_null(strstr(t->srv.uris[3], "resourceVersion=14"));
	assert_int_equal(t->srv.list_calls, 2);
	xn_informer_get_stats(t->inf, &st);
	assert_int_equal(st.lists, 1);
	assert_int_equal(st.watches, 2);
	assert_int_equal(st.errors, 0);
}

static void gone_relists(void **state)
{
	struct t *t = *state;
	struct xn_informer_stats st;

	t->srv.lists[0] =
	    (struct answer){200, LIST("10", "", POD("a", "5") "," POD("b", "6")), true};
	/* the relist no longer has b, has a newer a and a new d */
	t->srv.lists[1] =
	    (struct answer){200, LIST("30", "", POD("a", "25") "," POD("d", "26")), true};
	t->srv.lists[2] =
	    (struct answer){200, LIST("40", "", POD("a", "25") "," POD("d", "26")), true};
	t->srv.nlists = 3;
	/* a watch whose rv is too old: an ERROR event with a 410 Status */
	t->srv.watches[0] = (struct answer){
	    200,
	    EVENT("ERROR", "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
			   "\"message\":\"too old resource version: 10 (20)\"}"),
	    false};
	/* and one answered 410 Gone as HTTP status */
	t->srv.watches[1] = (struct answer){410, "{\"kind\":\"Status\",\"code\":410}", true};
	t->srv.nwatches = 2;
	start(t);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->srv.list_calls == 3 && t->srv.watch_calls == 3);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, strcmp(xn_informer_rv(t->inf), "40") == 0);

	xn_informer_get_stats(t->inf, &st);
	assert_int_equal(st.relists410, 2);
	assert_int_equal(st.lists, 3);
	assert_int_equal(st.backoff_ms, 0); /* a 410 is no failure to back off from */
	assert_true(logged(t, "del b"));
	assert_true(logged(t, "add d"));
	assert_true(logged(t, "update a"));
	assert_int_equal(xn_informer_count(t->inf), 2);
	/* the watch after the relists starts from the newest list */
	assert_non_null(strstr(t->srv.uris[t->srv.nreq - 1], "resourceVersion=40"));
}

static void failures_back_off(void **state)
{
	struct t *t = *state;
	struct xn_informer_stats st;

	t->srv.lists[0] =
	    (struct answer){500, "{\"kind\":\"Status\",\"message\":\"etcd down\"}", true};
	t->srv.lists[1] = (struct answer){503, "{\"kind\":\"Status\",\"message\":\"busy\"}", true};
	t->srv.lists[2] = (struct answer){200, "not json", true};
	t->srv.lists[3] = (struct answer){200, LIST("10", "", POD("a", "5")), true};
	t->srv.nlists = 4;
	start(t);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->srv.list_calls == 2);
	xn_informer_get_stats(t->inf, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.backoff_ms, 200); /* the first wait */
	assert_false(xn_informer_synced(t->inf));

	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, t->srv.list_calls == 3);
	xn_informer_get_stats(t->inf, &st);
	assert_int_equal(st.backoff_ms, 400); /* doubled */
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, xn_informer_synced(t->inf));
	xn_informer_get_stats(t->inf, &st);
	assert_int_equal(st.errors, 3);
	assert_int_equal(st.backoff_ms, 0); /* healthy again */
	assert_true(logged(t, "error 500"));
	assert_true(logged(t, "error 503"));
	assert_true(logged(t, "add a"));
	assert_int_equal(xn_informer_count(t->inf), 1);
}

static void watch_failure_backs_off_then_rewatches(void **state)
{
	struct t *t = *state;
	struct xn_informer_stats st;

	t->srv.lists[0] = (struct answer){200, LIST("10", "", POD("a", "5")), true};
	t->srv.nlists = 1;
	t->srv.watches[0] =
	    (struct answer){500, "{\"kind\":\"Status\",\"message\":\"oops\"}", true};
	/* an ERROR event that is not 410: report, back off, watch again */
	t->srv.watches[1] = (struct answer){
	    200, EVENT("ERROR", "{\"kind\":\"Status\",\"code\":500,\"message\":\"internal\"}"),
	    false};
	t->srv.watches[2] = (struct answer){200, EVENT("ADDED", POD("b", "11")), false};
	t->srv.nwatches = 3;
	start(t);
	XN_TEST_RUN_UNTIL(t->base, TIMEOUT_MS, xn_informer_get(t->inf, "default", "b") != NULL);

	xn_informer_get_stats(t->inf, &st);
	assert_int_equal(st.lists, 1); /* no relist for a failed watch */
	assert_int_equal(st.watches, 3);
	assert_int_equal(st.errors, 2);
	assert_int_equal(st.backoff_ms, 0); /* an event resets it */
	assert_true(logged(t, "error 500"));
	/* every watch resumed from the list's rv */
	for (int i = 1; i < t->srv.nreq; i++)
		assert_non_null(strstr(t->srv.uris[i], "resourceVersion=10"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(list_then_watch, setup, teardown),
	    cmocka_unit_test_setup_teardown(gone_relists, setup, teardown),
	    cmocka_unit_test_setup_teardown(failures_back_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(watch_failure_backs_off_then_rewatches, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
