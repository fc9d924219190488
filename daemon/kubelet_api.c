/* kubelet_api.c - the small endpoints of the kubelet API: healthz, pods,
 * and exec's control verbs (POST, and the runner the SPDY exec shares).
 * Contracts in kubelet_api.h; the server and its route table are in
 * kubelet_api_server.c, logs, stats, streams and auth have their own files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "kubelet_api_priv.h"
#include "xenlet/hv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/pod_sync.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

/* ---- small endpoints ---- */

struct pods_ctx {
	struct xn_kapi *k;
	cJSON *items;
	bool running_only;
};

static int add_pod(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	struct pods_ctx *pc = arg;
	cJSON *pod, *md, *spec, *c, *status;
	char start[40] = "";

	if (pc->running_only && st->state != XN_INST_RUNNING)
		return 0;
	pod = cJSON_CreateObject();
	cJSON_AddStringToObject(pod, "kind", "Pod");
	cJSON_AddStringToObject(pod, "apiVersion", "v1");
	md = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(md, "name", s->name);
	cJSON_AddStringToObject(md, "namespace", s->ns);
	cJSON_AddStringToObject(md, "uid", s->uid);
	spec = cJSON_AddObjectToObject(pod, "spec");
	cJSON_AddStringToObject(spec, "nodeName", pc->k->node_name);
	cJSON_AddStringToObject(spec, "restartPolicy", xn_restart_policy_name(s->restart));
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", s->container);
	cJSON_AddStringToObject(c, "image", s->image ? s->image : "");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
	if (st->started_at)
		xn_rfc3339_fmt(st->started_at, 0, start);
	status = xn_pod_status_json(s, st, pod, NULL, start[0] ? start : NULL);
	if (status)
		cJSON_AddItemToObject(pod, "status", status);
	cJSON_AddItemToArray(pc->items, pod);
	return 0;
}

static void pods(struct kreq *r, bool running_only)
{
	struct pods_ctx pc = {.k = r->k, .running_only = running_only};
	cJSON *list = cJSON_CreateObject();
	char *txt;

	cJSON_AddStringToObject(list, "kind", "PodList");
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddObjectToObject(list, "metadata");
	pc.items = cJSON_AddArrayToObject(list, "items");
	xn_runtime_foreach(r->k->rt, add_pod, &pc);
	txt = cJSON_PrintUnformatted(list);
	kreq_reply(r, 200, "application/json", "%s\n", txt);
	free(txt);
	cJSON_Delete(list);
}

int kapi_exec_verb(struct xn_kapi *k, const char *who, const char *uid, const char *verb,
		   size_t nwords, struct evbuffer *out, char **msg)
{
	const struct xn_pod_spec *s = xn_runtime_spec(k->rt, uid);
	const struct xn_pod_status *st = xn_runtime_status(k->rt, uid);
	xn_err err = NULL;
	int n;

	*msg = NULL;
	if (s == NULL || st == NULL) {
		*msg = xn_xstrdup("the pod is gone");
		return 404;
	}
	if (verb == NULL || nwords != 1 ||
	    (strcmp(verb, "pause") != 0 && strcmp(verb, "unpause") != 0 &&
	     strcmp(verb, "shutdown") != 0 && strcmp(verb, "console-dump") != 0)) {
		*msg = xn_xasprintf("%s%s: not supported: unikernel pods have no shell; exec "
				    "takes one verb: " KAPI_EXEC_VERBS,
				    verb ? verb : "no command", nwords > 1 ? " and arguments" : "");
		return 400;
	}
	if (strcmp(verb, "console-dump") == 0) {
		cleanup_free char *path = xn_runtime_log_path(k->rt, uid, st->restart_count);
		FILE *f = path ? fopen(path, "r") : NULL;
		char line[512];
		int lines = 0;

		/* the raw console as the guest wrote it, last 64 KiB */
		if (f && fseek(f, -65536, SEEK_END) < 0)
			rewind(f);
		while (f && fgets(line, sizeof(line), f))
			if (lines++ > 0 || ftell(f) <= 65536)
				evbuffer_add(out, line, strlen(line));
		if (f)
			fclose(f);
		return 0;
	}
	if (st->state != XN_INST_RUNNING || st->domid == XN_DOMID_INVALID) {
		*msg = xn_xasprintf("container \"%s\" in pod \"%s\" is not running", s->container,
				    s->name);
		return 409;
	}
	/* the runtime changes the domain: its state (paused, stopping) follows */
	if (strcmp(verb, "pause") == 0)
		n = xn_runtime_pause(k->rt, uid, &err);
	else if (strcmp(verb, "unpause") == 0)
		n = xn_runtime_unpause(k->rt, uid, &err);
	else
		n = xn_runtime_shutdown(k->rt, uid, s->grace_s ? s->grace_s : 30, &err);
	if (n < 0) {
		int code = err && (err->status == EBUSY || err->status == ENOENT) ? 409 : 500;
		*msg = xn_xasprintf("%s: %s", verb, xn_error_msg(err));
		xn_error_free(&err);
		return code;
	}
	log_info("kubelet api: %s: %s pod %s/%s (domain %u)", who ? who : "?", verb, s->ns, s->name,
		 st->domid);
	evbuffer_add_printf(out, "%s: done\n", verb);
	return 0;
}

/* The POST form of exec: one verb, the answer in the body. */
static void exec_verb(struct kreq *r, const char *ns, const char *name, const char *container)
{
	struct evkeyvalq q;
	const char *uid = xn_runtime_find(r->k->rt, ns, name);
	struct evbuffer *b;
	struct evkeyval *kv;
	const char *verb = NULL;
	char *msg = NULL;
	size_t n = 0;
	int code;

	if (uid == NULL)
		return kreq_error(r, 404, "pod \"%s\" does not exist", name);
	if (strcmp(xn_runtime_spec(r->k->rt, uid)->container, container) != 0)
		return kreq_error(r, 404, "container \"%s\" not found in pod \"%s\"", container,
				  name);
	TAILQ_INIT(&q);
	evhttp_parse_query_str(r->query, &q);
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "command") == 0) {
			verb = verb ? verb : kv->value;
			n++;
		}
	}
	b = evbuffer_new();
	code = kapi_exec_verb(r->k, r->user.name, uid, verb, n, b, &msg);
	if (code == 0)
		kreq_reply_buf(r, 200, "text/plain", b);
	else
		kreq_error(r, code, "%s", msg);
	free(msg);
	evbuffer_free(b);
	evhttp_clear_headers(&q);
}

/* The endpoints the table in kubelet_api_server.c names. */

void kapi_healthz(struct kreq *r)
{
	kreq_reply(r, 200, "text/plain; charset=utf-8", "ok");
}

void kapi_pods(struct kreq *r)
{
	pods(r, false);
}

void kapi_running_pods(struct kreq *r)
{
	pods(r, true);
}

void kapi_exec_post(struct kreq *r)
{
	exec_verb(r, r->seg[0], r->seg[1], r->seg[2]);
}

void kapi_needs_upgrade(struct kreq *r)
{
	bool exec = r->route->post != NULL;

	kreq_error(r, 400,
		   "%s needs a streaming upgrade (Upgrade: SPDY/3.1)%s, see "
		   "docs/kubelet-api.md",
		   exec ? "interactive exec" : "attach",
		   exec ? "; or POST one control verb: ?command=VERB" : "");
}

void kapi_not_supported(struct kreq *r)
{
	kreq_error(r, 501,
		   "xenlet runs unikernels: port-forward and run are not supported; "
		   "see docs/kubelet-api.md");
}
