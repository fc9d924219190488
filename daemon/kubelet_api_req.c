/* kubelet_api_req.c - the request and reply helpers every handler of the
 * kubelet API uses (declared in kubelet_api_priv.h): replies, Status
 * errors, the request counter, and freeing a request.  They call nothing
 * back: the hub (kubelet_api_server.c) and the handlers both sit above. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "kubelet_api_priv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

void kreq_count(int code)
{
	char c[8];

	snprintf(c, sizeof(c), "%d", code);
	xn_metric_count("xenlet_kubelet_api_requests_total",
			"Requests to the kubelet API by HTTP status code.", "code", c, 1);
}

void kuser_dispose(struct kuser *u)
{
	free(u->name);
	free(u->uid);
	for (char **g = u->groups; g && *g; g++)
		free(*g);
	free(u->groups);
	cJSON_Delete(u->extra);
	memset(u, 0, sizeof(*u));
}

void kuser_copy(struct kuser *dst, const struct kuser *src)
{
	size_t n = 0;

	dst->name = xn_dup_or_null(src->name);
	dst->uid = xn_dup_or_null(src->uid);
	while (src->groups && src->groups[n])
		n++;
	dst->groups = xn_xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		dst->groups[i] = xn_xstrdup(src->groups[i]);
	dst->extra = src->extra ? cJSON_Duplicate(src->extra, 1) : NULL;
}

void kreq_free(struct kreq *r)
{
	if (r->c)
		r->c->active = NULL;
	kuser_dispose(&r->user);
	free(r->segbuf);
	free(r->path);
	free(r->query);
	free(r);
}

void kreq_reply_buf(struct kreq *r, int code, const char *ctype, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	kreq_count(code);
	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	/* who did not authenticate does not keep the connection: it would
	 * hold a descriptor for nothing (docs/kubelet-api.md, "Limits") */
	if (code == 401 && evhttp_find_header(h, "Connection") == NULL)
		evhttp_add_header(h, "Connection", "close");
	evhttp_send_reply(r->req, code, NULL, body);
	kreq_free(r);
}

void kreq_reply(struct kreq *r, int code, const char *ctype, const char *fmt, ...)
{
	struct evbuffer *b = evbuffer_new();
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(b, fmt, ap);
	va_end(ap);
	kreq_reply_buf(r, code, ctype, b);
	evbuffer_free(b);
}

static const char *status_reason(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 422: return "Invalid";
	case 501: return "NotImplemented";
	case 503: return "ServiceUnavailable";
	default: return "InternalError";
	}
}

void kreq_error(struct kreq *r, int code, const char *fmt, ...)
{
	cJSON *st = cJSON_CreateObject();
	char *msg = NULL, *txt;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddObjectToObject(st, "metadata");
	cJSON_AddStringToObject(st, "status", "Failure");
	cJSON_AddStringToObject(st, "message", msg ? msg : "error");
	cJSON_AddStringToObject(st, "reason", status_reason(code));
	cJSON_AddNumberToObject(st, "code", code);
	txt = cJSON_PrintUnformatted(st);
	log_debug("kubelet api: %s %s -> %d %s", r->method, r->path, code, msg ? msg : "");
	kreq_reply(r, code, "application/json", "%s\n", txt);
	free(txt);
	free(msg);
	cJSON_Delete(st);
}
