/* kube-client-check.c - drive the kube client against a real kube-apiserver.
 *
 *   kube-client-check [-k KUBECONFIG] [-c CONTEXT] [-n NS] [-o NAME] [-t SECS] CHECK
 *
 * CHECK is one of:
 *   namespaces  list namespaces: default and kube-system must be there
 *   crud        POST a ConfigMap NAME, 409 on POST again, merge and
 *               strategic-merge PATCH, PUT, GET, 404 with the Status message,
 *               DELETE
 *   watch       informer on NS's ConfigMaps; prints "synced", then needs
 *               ADDED, MODIFIED and DELETED for NAME (made by kubectl)
 *   gone        a raw watch from resourceVersion "1" (after the script compacted
 *               etcd) must get 410 "... too old"
 *               an informer rewatched from "1" must relist
 *   restart     informer; prints "synced"; needs ADDED for NAME after at
 *               least one failed watch/list (the apiserver is restarted by the
 *               script meanwhile), i.e. back-off reconnect worked
 *
 * Output: "ok - what" / "not ok - what: why" per assertion, and lines
 * starting with "# " for information.  Exit status 0 when all passed.
 * -t is a deadline for the whole check (default 60 s), not a measurement.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "xenlet/kube.h"
#include "xenlet/kubeconfig.h"
#include "xenlet/util.h"

static struct event_base *base;
static struct xn_kube *kube;
static const char *ns = "default", *name = "kc-check";
static int failures, passes, deadline_hit;

__attribute__((format(printf, 2, 3))) static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "ok - " : "not ok - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		passes++;
	else
		failures++;
}

static const char *waiting_for = "a response";

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	deadline_hit = 1;
	check(0, "deadline reached while waiting for %s", waiting_for);
	event_base_loopbreak(base);
}

/* ---- synchronous request helper on top of the async API ---- */

struct sync {
	int done;
	long status;
	cJSON *json;
	char *message, *reason;
};

static void sync_done(struct xn_kube_response *resp, void *arg)
{
	struct sync *s = arg;

	s->done = 1;
	s->status = resp->status;
	s->json = resp->json;
	resp->json = NULL; /* keep it */
	s->message = resp->message ? xn_xstrdup(resp->message) : NULL;
	s->reason = resp->reason ? xn_xstrdup(resp->reason) : NULL;
}

static void sync_free(struct sync *s)
{
	cJSON_Delete(s->json);
	free(s->message);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}

static struct sync call(enum xn_kube_method m, const char *path, const char *body)
{
	struct sync s = {0};
	cJSON *b = body ? cJSON_Parse(body) : NULL;
	xn_err err = NULL;

	if (xn_kube_request(kube, m, path, b, 0, sync_done, &s, &err) == NULL) {
		s.message = xn_xstrdup(xn_error_msg(err));
		xn_error_free(&err);
	}
	while (!s.done && s.message == NULL && !deadline_hit)
		event_base_loop(base, EVLOOP_ONCE);
	cJSON_Delete(b);
	return s;
}

static const char *json_str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* ---- checks ---- */

static void do_namespaces(void)
{
	struct sync s = call(XN_KUBE_GET, "/api/v1/namespaces", NULL);
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(s.json, "items"), *it;
	int def = 0, sys = 0, n = 0;

	check(s.status == 200, "GET /api/v1/namespaces: status %ld%s%s", s.status,
	      s.message ? ": " : "", s.message ? s.message : "");
	cJSON_ArrayForEach(it, items) {
		const char *nm = xn_kube_meta(it, "name");

		n++;
		def |= streq(nm, "default");
		sys |= streq(nm, "kube-system");
	}
	check(def && sys, "namespaces include default and kube-system (%d listed)", n);
	sync_free(&s);
}

static void do_crud(void)
{
	cleanup_free char *coll = xn_xasprintf("/api/v1/namespaces/%s/configmaps", ns);
	cleanup_free char *one = xn_xasprintf("%s/%s", coll, name);
	cleanup_free char *body = xn_xasprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},"
	    "\"data\":{\"a\":\"1\"}}",
	    name);
	cleanup_free char *want404 = xn_xasprintf("configmaps \"%s-absent\" not found", name);
	cleanup_free char *absent = xn_xasprintf("%s-absent", one);
	cleanup_free char *want409 = xn_xasprintf("configmaps \"%s\" already exists", name);
	struct sync s;
	cJSON *obj, *data;
	char *put;

	s = call(XN_KUBE_POST, coll, body);
	check(s.status == 201 && streq(xn_kube_meta(s.json, "name"), name),
	      "POST ConfigMap %s: status %ld (want 201)%s%s", name, s.status, s.message ? ": " : "",
	      s.message ? s.message : "");
	sync_free(&s);

	s = call(XN_KUBE_POST, coll, body);
	check(s.status == 409 && streq(s.message, want409) && streq(s.reason, "AlreadyExists"),
	      "POST again: status %ld, reason %s, message \"%s\"", s.status,
	      s.reason ? s.reason : "-", s.message ? s.message : "");
	sync_free(&s);

	s = call(XN_KUBE_PATCH_MERGE, one, "{\"data\":{\"b\":\"2\"}}");
	check(s.status == 200 && streq(json_str(s.json, "data", "a"), "1") &&
		  streq(json_str(s.json, "data", "b"), "2"),
	      "merge PATCH adds data.b and keeps data.a: status %ld", s.status);
	sync_free(&s);

	s = call(XN_KUBE_PATCH_STRATEGIC, one,
		 "{\"metadata\":{\"labels\":{\"xenlet\":\"check\"}}}");
	check(s.status == 200 &&
		  streq(json_str(cJSON_GetObjectItem(s.json, "metadata"), "labels", "xenlet"),
			"check"),
	      "strategic-merge PATCH sets a label: status %ld%s%s", s.status, s.message ? ": " : "",
	      s.message ? s.message : "");
	sync_free(&s);

	s = call(XN_KUBE_GET, one, NULL);
	check(s.status == 200 && streq(json_str(s.json, "data", "b"), "2"),
	      "GET shows the patched object: status %ld", s.status);
	obj = s.json;
	s.json = NULL;
	sync_free(&s);
	data = cJSON_GetObjectItem(obj, "data");
	cJSON_ReplaceItemInObject(data, "a", cJSON_CreateString("put"));
	put = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	s = call(XN_KUBE_PUT, one, put);
	free(put);
	check(s.status == 200 && streq(json_str(s.json, "data", "a"), "put"),
	      "PUT replaces data.a: status %ld%s%s", s.status, s.message ? ": " : "",
	      s.message ? s.message : "");
	sync_free(&s);

	s = call(XN_KUBE_GET, absent, NULL);
	check(s.status == 404 && streq(s.message, want404) && streq(s.reason, "NotFound"),
	      "GET absent: status %ld, reason %s, message \"%s\"", s.status,
	      s.reason ? s.reason : "-", s.message ? s.message : "");
	sync_free(&s);

	s = call(XN_KUBE_DELETE, one, "{\"gracePeriodSeconds\":0}");
	check(s.status == 200, "DELETE with DeleteOptions body: status %ld", s.status);
	sync_free(&s);
	s = call(XN_KUBE_GET, one, NULL);
	check(s.status == 404, "GET after DELETE: status %ld", s.status);
	sync_free(&s);
}

/* ---- informer checks ---- */

struct seen {
	int added, modified, deleted, synced_printed;
};
static struct seen seen;
static struct xn_informer *inf;

static int is_ours(const cJSON *obj)
{
	return streq(xn_kube_meta(obj, "name"), name);
}

static void maybe_done(void);

static void on_add(const cJSON *obj, void *arg)
{
	printf("# event ADDED %s rv %s\n", xn_kube_meta(obj, "name"),
	       xn_kube_meta(obj, "resourceVersion"));
	seen.added += is_ours(obj);
	maybe_done();
}

static void on_update(const cJSON *old, const cJSON *obj, void *arg)
{
	printf("# event MODIFIED %s rv %s\n", xn_kube_meta(obj, "name"),
	       xn_kube_meta(obj, "resourceVersion"));
	seen.modified += is_ours(obj);
	maybe_done();
}

static void on_del(const cJSON *obj, void *arg)
{
	printf("# event DELETED %s\n", xn_kube_meta(obj, "name"));
	seen.deleted += is_ours(obj);
	maybe_done();
}

static void on_synced(void *arg)
{
	struct xn_informer_stats st;

	xn_informer_get_stats(inf, &st);
	printf("# synced rv %s, %zu objects, lists %u, relists410 %u\n", xn_informer_rv(inf),
	       xn_informer_count(inf), st.lists, st.relists410);
	if (!seen.synced_printed) {
		printf("synced\n");
		seen.synced_printed = 1;
	}
	fflush(stdout);
	maybe_done();
}

static void on_error(long status, const char *msg, void *arg)
{
	struct xn_informer_stats st;

	xn_informer_get_stats(inf, &st);
	printf("# informer error: status %ld: %s (back-off now %llu ms)\n", status, msg,
	       (unsigned long long)st.backoff_ms);
	fflush(stdout);
}

static const struct xn_informer_ops ops = {on_add, on_update, on_del, on_synced, on_error};

static enum { WATCH, GONE, RESTART } mode;

static void maybe_done(void)
{
	struct xn_informer_stats st;

	fflush(stdout);
	if (inf == NULL)
		return;
	xn_informer_get_stats(inf, &st);
	switch (mode) {
	case WATCH:
		if (seen.added && seen.modified && seen.deleted)
			event_base_loopbreak(base);
		break;
	case GONE:
		if (st.relists410 >= 1 && xn_informer_synced(inf))
			event_base_loopbreak(base);
		break;
	case RESTART:
		if (seen.added && st.errors >= 1)
			event_base_loopbreak(base);
		break;
	}
}

static struct xn_informer *informer_start(void)
{
	cleanup_free char *coll = xn_xasprintf("/api/v1/namespaces/%s/configmaps", ns);

	return xn_informer_new(kube, coll, NULL, &ops, NULL);
}

static void do_watch(void)
{
	inf = informer_start();
	waiting_for = "ADDED, MODIFIED and DELETED";
	event_base_dispatch(base);
	check(seen.added >= 1, "informer: ADDED %s", name);
	check(seen.modified >= 1, "informer: MODIFIED %s", name);
	check(seen.deleted >= 1, "informer: DELETED %s", name);
	check(xn_informer_get(inf, ns, name) == NULL, "informer cache no longer holds %s", name);
	xn_informer_free(inf);
	inf = NULL;
}

/* A raw watch from "1": how does the real apiserver say "too old"? */
struct gone {
	int got410, ended;
	char how[512];
};

static void gone_event(enum xn_kube_event_type t, cJSON **obj, void *arg)
{
	struct gone *g = arg;
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(*obj, "code");
	const char *msg = json_str(*obj, "message", NULL);

	if (t == XN_KUBE_ERROR && cJSON_IsNumber(code) && code->valueint == 410) {
		g->got410 = 1;
		snprintf(g->how, sizeof(g->how), "ERROR event code 410: %s", msg ? msg : "");
		event_base_loopbreak(base);
	}
}

static void gone_end(long status, const char *message, void *arg)
{
	struct gone *g = arg;

	g->ended = 1;
	if (g->got410) {
		/* the server closes the stream after its ERROR event */
	} else if (status == 410) {
		g->got410 = 1;
		snprintf(g->how, sizeof(g->how), "HTTP 410: %s", message ? message : "");
	} else {
		snprintf(g->how, sizeof(g->how), "watch ended: status %ld: %s", status,
			 message ? message : "(clean)");
	}
	event_base_loopbreak(base);
}

static void do_gone(void)
{
	cleanup_free char *coll = xn_xasprintf("/api/v1/namespaces/%s/configmaps", ns);
	struct gone g = {0};
	struct xn_kube_req *w;
	struct xn_informer_stats st;
	xn_err err = NULL;

	w = xn_kube_watch(kube, coll, "1", 30, gone_event, gone_end, &g, &err);
	if (w == NULL) {
		check(0, "watch from resourceVersion 1: %s", xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	waiting_for = "410 on a watch from resourceVersion 1";
	event_base_dispatch(base);
	check(g.got410 && strstr(g.how, "too old") != NULL,
	      "watch from resourceVersion 1 answers 410 \"too old\": %s", g.how);
	if (!g.ended)
		xn_kube_cancel(w); /* still open after the ERROR event */

	mode = GONE;
	inf = informer_start();
	waiting_for = "the informer's first sync";
	while (!xn_informer_synced(inf) && !deadline_hit)
		event_base_loop(base, EVLOOP_ONCE);
	xn_informer_rewatch(inf, "1");
	waiting_for = "a relist after 410";
	event_base_dispatch(base);
	xn_informer_get_stats(inf, &st);
	check(st.relists410 >= 1 && xn_informer_synced(inf),
	      "informer rewatched from \"1\" relisted after 410 (relists410 %u, lists %u)",
	      st.relists410, st.lists);
	xn_informer_free(inf);
	inf = NULL;
}

static void do_restart(void)
{
	struct xn_informer_stats st;

	mode = RESTART;
	inf = informer_start();
	waiting_for = "ADDED after an apiserver restart";
	event_base_dispatch(base);
	xn_informer_get_stats(inf, &st);
	check(st.errors >= 1, "informer saw the apiserver go away (%u errors)", st.errors);
	check(seen.added >= 1,
	      "informer reconnected and saw ADDED %s (watches %u, lists %u, "
	      "relists410 %u)",
	      name, st.watches, st.lists, st.relists410);
	xn_informer_free(inf);
	inf = NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: kube-client-check [-k KUBECONFIG] [-c CONTEXT] [-n NS] [-o NAME] "
			"[-t SECS] namespaces|crud|watch|gone|restart\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *kcpath = getenv("KUBECONFIG"), *ctx = NULL, *what;
	struct xn_kubeconfig *kc = NULL;
	struct event *deadline;
	struct timeval tv = {60, 0};
	xn_err err = NULL;
	int c;

	while ((c = getopt(argc, argv, "k:c:n:o:t:")) != -1) {
		switch (c) {
		case 'k': kcpath = optarg; break;
		case 'c': ctx = optarg; break;
		case 'n': ns = optarg; break;
		case 'o': name = optarg; break;
		case 't': tv.tv_sec = atoi(optarg); break;
		default: return usage();
		}
	}
	if (optind + 1 != argc || kcpath == NULL)
		return usage();
	what = argv[optind];
	srandom((unsigned)xn_now_mono_ns());
	if (xn_kubeconfig_load(kcpath, ctx, &kc, &err) < 0 ||
	    (base = event_base_new(), xn_kube_new(base, kc, NULL, &kube, &err) < 0)) {
		printf("not ok - setup: %s\n", xn_error_msg(err));
		return 1;
	}
	printf("# server %s, context %s, user %s, auth %s\n", kc->server, kc->context,
	       kc->user ? kc->user : "-",
	       kc->token	    ? "token"
	       : kc->cert_data.data ? "client cert (data)"
	       : kc->cert_file	    ? "client cert (file)"
				    : "none");
	xn_kubeconfig_free(kc);
	deadline = evtimer_new(base, deadline_cb, NULL);
	evtimer_add(deadline, &tv);

	if (strcmp(what, "namespaces") == 0)
		do_namespaces();
	else if (strcmp(what, "crud") == 0)
		do_crud();
	else if (strcmp(what, "watch") == 0)
		do_watch();
	else if (strcmp(what, "gone") == 0)
		do_gone();
	else if (strcmp(what, "restart") == 0)
		do_restart();
	else
		return usage();

	xn_informer_free(inf);
	xn_kube_free(kube);
	event_free(deadline);
	event_base_free(base);
	printf("# %d passed, %d failed\n", passes, failures);
	return failures ? 1 : 0;
}
