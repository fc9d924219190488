/* probe.c - the probes' spec (parse with the API server's defaults and
 * checks, JSON for the spec file) and the kubelet's threshold state machine.
 * Pure: no I/O (probe_run.c runs them). */
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xenlet/probe.h"
#include "xenlet/util.h"

#define SECONDS_MAX   86400u /* a day: far above any sensible probe timing */
#define THRESHOLD_MAX 1000u
#define PATH_MAX_LEN  2048
#define HEADERS_MAX   4096 /* the rendered httpHeaders */

static const char *const which_names[] = {"Startup", "Liveness", "Readiness"};
static const char *const which_fields[] = {"startupProbe", "livenessProbe", "readinessProbe"};

const char *xn_probe_which_name(enum xn_probe_which w)
{
	return (unsigned)w < XN_PROBE_N ? which_names[w] : "Unknown";
}

bool xn_probes_any(const struct xn_probes *ps)
{
	for (int i = 0; i < XN_PROBE_N; i++)
		if (ps->p[i].kind != XN_PROBE_NONE)
			return true;
	return false;
}

void xn_probes_copy(struct xn_probes *dst, const struct xn_probes *src)
{
	*dst = *src;
	for (int i = 0; i < XN_PROBE_N; i++) {
		dst->p[i].host = xn_dup_or_null(src->p[i].host);
		dst->p[i].path = xn_dup_or_null(src->p[i].path);
		dst->p[i].headers = xn_dup_or_null(src->p[i].headers);
	}
}

void xn_probes_dispose(struct xn_probes *ps)
{
	if (ps == NULL)
		return;
	for (int i = 0; i < XN_PROBE_N; i++) {
		free(ps->p[i].host);
		free(ps->p[i].path);
		free(ps->p[i].headers);
	}
	memset(ps, 0, sizeof(*ps));
}

/* ---- parsing ---- */

struct ctx {
	char *msg;
	size_t msglen;
	const char *field; /* "livenessProbe" */
};

__attribute__((format(printf, 2, 3))) static int bad(struct ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->msg, x->msglen, "containers[0].%s", x->field);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < x->msglen)
		vsnprintf(x->msg + n, x->msglen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* An integer field: absent or 0 -> def (the API server's defaulting);
 * else min..max. */
static int get_int(struct ctx *x, const cJSON *o, const char *k, unsigned min, unsigned max,
		   unsigned def, unsigned *out)
{
	const cJSON *v = get(o, k);

	*out = def;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
		return bad(x, ".%s: must be a whole number", k);
	if (v->valuedouble < 0)
		return bad(x, ".%s: %.0f: must not be negative", k, v->valuedouble);
	if (v->valuedouble == 0 && def != 0)
		return 0;
	if (v->valuedouble < min || v->valuedouble > max)
		return bad(x, ".%s: %.0f: must be %u..%u", k, v->valuedouble, min, max);
	*out = (unsigned)v->valuedouble;
	return 0;
}

/* port: a number, or a name of containers[0].ports (or a number as a
 * string, as the kubelet's last-ditch reading of one). */
static int get_port(struct ctx *x, const cJSON *c, const cJSON *h, const char *kind, unsigned *out)
{
	const cJSON *v = get(h, "port"), *p;
	uint64_t n;

	if (v == NULL || cJSON_IsNull(v))
		return bad(x, ".%s.port: missing", kind);
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
		    v->valuedouble > 65535)
			return bad(x, ".%s.port: %g: must be 1..65535", kind, v->valuedouble);
		*out = (unsigned)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return bad(x, ".%s.port: must be a number or a port name", kind);
	cJSON_ArrayForEach(p, get(c, "ports")) {
		const cJSON *name = get(p, "name"), *num = get(p, "containerPort");
		if (cJSON_IsString(name) && strcmp(name->valuestring, v->valuestring) == 0) {
			if (!cJSON_IsNumber(num) || num->valuedouble < 1 ||
			    num->valuedouble > 65535)
				return bad(x,
					   ".%s.port \"%.64s\": its containerPort is not 1..65535",
					   kind, v->valuestring);
			*out = (unsigned)num->valuedouble;
			return 0;
		}
	}
	if (xn_parse_u64(v->valuestring, 65535, &n) == 0 && n >= 1) {
		*out = (unsigned)n;
		return 0;
	}
	return bad(x, ".%s.port \"%.64s\": no such named port in containers[0].ports", kind,
		   v->valuestring);
}

static int get_host(struct ctx *x, const cJSON *h, const char *kind, char **out)
{
	const cJSON *v = get(h, "host");
	unsigned char buf[16];

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v) || (cJSON_IsString(v) && v->valuestring[0] == '\0'))
		return 0;
	if (!cJSON_IsString(v))
		return bad(x, ".%s.host: must be a string", kind);
	if (inet_pton(AF_INET, v->valuestring, buf) != 1 &&
	    inet_pton(AF_INET6, v->valuestring, buf) != 1)
		return bad(x,
			   ".%s.host \"%.64s\": must be an IP address (xenlet resolves no names "
			   "for probes; leave it out for the pod's IP)",
			   kind, v->valuestring);
	*out = xn_xstrdup(v->valuestring);
	return 0;
}

/* An HTTP token (RFC 9110) for header names. */
static bool token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!(*s > 32 && *s < 127 && strchr("\"(),/:;<=>?@[\\]{}", *s) == NULL))
			return false;
	return true;
}

static bool printable(const char *s, bool space)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || *s == 127 || (!space && *s == ' '))
			return false;
	return true;
}

static int parse_http(struct ctx *x, const cJSON *c, const cJSON *h, struct xn_probe *p)
{
	const cJSON *v = get(h, "scheme"), *hd;
	char buf[HEADERS_MAX] = "";
	size_t used = 0;
	int i = 0;

	if (!cJSON_IsObject(h))
		return bad(x, ".httpGet: must be an object");
	if (get_port(x, c, h, "httpGet", &p->port) < 0 || get_host(x, h, "httpGet", &p->host) < 0)
		return -1;
	if (v != NULL && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "HTTP") != 0 && strcmp(v->valuestring, "HTTPS") != 0))
			return bad(x, ".httpGet.scheme: must be HTTP or HTTPS");
		p->https = strcmp(v->valuestring, "HTTPS") == 0;
	}
	v = get(h, "path");
	if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsString(v))
		return bad(x, ".httpGet.path: must be a string");
	if (cJSON_IsString(v) && v->valuestring[0]) {
		if (strlen(v->valuestring) > PATH_MAX_LEN || !printable(v->valuestring, false))
			return bad(x,
				   ".httpGet.path: must be at most %d characters without spaces or "
				   "control characters",
				   PATH_MAX_LEN);
		p->path = v->valuestring[0] == '/' ? xn_xstrdup(v->valuestring)
						   : xn_xasprintf("/%s", v->valuestring);
	} else {
		p->path = xn_xstrdup("/");
	}
	hd = get(h, "httpHeaders");
	if (hd != NULL && !cJSON_IsNull(hd) && !cJSON_IsArray(hd))
		return bad(x, ".httpHeaders: must be a list");
	cJSON_ArrayForEach(v, hd) {
		const cJSON *n = get(v, "name"), *val = get(v, "value");
		int w;

		if (!cJSON_IsString(n) || !token(n->valuestring))
			return bad(x, ".httpGet.httpHeaders[%d].name: must be an HTTP header name",
				   i);
		if (val != NULL && !cJSON_IsString(val))
			return bad(x, ".httpGet.httpHeaders[%d].value: must be a string", i);
		if (val != NULL && !printable(val->valuestring, true))
			return bad(x,
				   ".httpGet.httpHeaders[%d].value: must not hold control "
				   "characters (CR, LF, ...)",
				   i);
		w = snprintf(buf + used, sizeof(buf) - used, "%s: %s\r\n", n->valuestring,
			     val ? val->valuestring : "");
		if (w < 0 || (size_t)w >= sizeof(buf) - used)
			return bad(x, ".httpGet.httpHeaders: more than %d bytes", HEADERS_MAX);
		used += (size_t)w;
		i++;
	}
	p->headers = used ? xn_xstrdup(buf) : NULL;
	p->kind = XN_PROBE_HTTP;
	return 0;
}

static void add_unsupported(char *buf, size_t len, const char *field, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%scontainers[0].%s.%s", n ? ", " : "", field, what);
}

static int parse_one(struct ctx *x, const cJSON *c, const cJSON *o, enum xn_probe_which w,
		     struct xn_probe *p, char *unsup, size_t unsuplen)
{
	const cJSON *h;
	unsigned grace;
	int handlers = 0;

	memset(p, 0, sizeof(*p));
	p->grace_s = -1;
	if (o == NULL || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o))
		return bad(x, ": must be an object");
	handlers = (get(o, "httpGet") != NULL) + (get(o, "tcpSocket") != NULL) +
		   (get(o, "exec") != NULL) + (get(o, "grpc") != NULL);
	if (handlers == 0)
		return bad(x, ": no handler (httpGet, tcpSocket, exec or grpc)");
	if (handlers > 1)
		return bad(x, ": more than one handler; give exactly one");
	if (get_int(x, o, "initialDelaySeconds", 0, SECONDS_MAX, 0, &p->initial_delay_s) < 0 ||
	    get_int(x, o, "periodSeconds", 1, SECONDS_MAX, 10, &p->period_s) < 0 ||
	    get_int(x, o, "timeoutSeconds", 1, SECONDS_MAX, 1, &p->timeout_s) < 0 ||
	    get_int(x, o, "successThreshold", 1, THRESHOLD_MAX, 1, &p->success_threshold) < 0 ||
	    get_int(x, o, "failureThreshold", 1, THRESHOLD_MAX, 3, &p->failure_threshold) < 0)
		return -1;
	if (w != XN_PROBE_READINESS && p->success_threshold != 1)
		return bad(x, ".successThreshold: %u: must be 1 for a %s probe",
			   p->success_threshold, w == XN_PROBE_LIVENESS ? "liveness" : "startup");
	if (get(o, "terminationGracePeriodSeconds") != NULL) {
		if (w == XN_PROBE_READINESS)
			return bad(x, ".terminationGracePeriodSeconds: only for liveness and "
				      "startup probes");
		if (get_int(x, o, "terminationGracePeriodSeconds", 1, 365 * SECONDS_MAX, 0,
			    &grace) < 0)
			return -1;
		if (cJSON_IsNumber(get(o, "terminationGracePeriodSeconds")))
			p->grace_s = (int)grace; /* 0 stays 0: the API server's minimum is 1 */
	}
	if ((h = get(o, "exec")) != NULL || (h = get(o, "grpc")) != NULL) {
		add_unsupported(unsup, unsuplen, x->field, get(o, "exec") ? "exec" : "grpc");
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if ((h = get(o, "httpGet")) != NULL)
		return parse_http(x, c, h, p);
	h = get(o, "tcpSocket");
	if (!cJSON_IsObject(h))
		return bad(x, ".tcpSocket: must be an object");
	if (get_port(x, c, h, "tcpSocket", &p->port) < 0 ||
	    get_host(x, h, "tcpSocket", &p->host) < 0)
		return -1;
	p->kind = XN_PROBE_TCP;
	return 0;
}

int xn_probes_parse(const cJSON *c, struct xn_probes *out, char *msg, size_t msglen,
		    char *unsupported, size_t unsuplen)
{
	memset(out, 0, sizeof(*out));
	if (unsuplen)
		unsupported[0] = '\0';
	for (int w = 0; w < XN_PROBE_N; w++) {
		struct ctx x = {msg, msglen, which_fields[w]};
		if (parse_one(&x, c, get(c, which_fields[w]), (enum xn_probe_which)w, &out->p[w],
			      unsupported, unsuplen) < 0) {
			xn_probes_dispose(out);
			return -1;
		}
	}
	return 0;
}

/* ---- JSON for the spec file ---- */

void xn_probes_to_json(const struct xn_probes *ps, cJSON *obj)
{
	for (int w = 0; w < XN_PROBE_N; w++) {
		const struct xn_probe *p = &ps->p[w];
		cJSON *o, *h;

		if (p->kind == XN_PROBE_NONE)
			continue;
		o = cJSON_AddObjectToObject(obj, which_fields[w]);
		cJSON_AddNumberToObject(o, "initialDelaySeconds", p->initial_delay_s);
		cJSON_AddNumberToObject(o, "periodSeconds", p->period_s);
		cJSON_AddNumberToObject(o, "timeoutSeconds", p->timeout_s);
		cJSON_AddNumberToObject(o, "successThreshold", p->success_threshold);
		cJSON_AddNumberToObject(o, "failureThreshold", p->failure_threshold);
		if (p->grace_s >= 0)
			cJSON_AddNumberToObject(o, "terminationGracePeriodSeconds", p->grace_s);
		h = cJSON_AddObjectToObject(o, p->kind == XN_PROBE_HTTP ? "httpGet" : "tcpSocket");
		cJSON_AddNumberToObject(h, "port", p->port);
		if (p->host)
			cJSON_AddStringToObject(h, "host", p->host);
		if (p->kind != XN_PROBE_HTTP)
			continue;
		cJSON_AddStringToObject(h, "path", p->path ? p->path : "/");
		cJSON_AddStringToObject(h, "scheme", p->https ? "HTTPS" : "HTTP");
		if (p->headers) {
			cJSON *list = cJSON_AddArrayToObject(h, "httpHeaders");
			const char *s = p->headers;
			while (*s) {
				const char *colon = strstr(s, ": "), *end = strstr(s, "\r\n");
				cJSON *e = cJSON_CreateObject();
				char *name, *val;
				if (colon == NULL || end == NULL || colon > end) {
					cJSON_Delete(e);
					break; /* cannot happen: parse_http wrote them */
				}
				name = strndup(s, (size_t)(colon - s));
				val = strndup(colon + 2, (size_t)(end - colon - 2));
				cJSON_AddStringToObject(e, "name", name);
				cJSON_AddStringToObject(e, "value", val);
				free(name);
				free(val);
				cJSON_AddItemToArray(list, e);
				s = end + 2;
			}
		}
	}
}

/* ---- the threshold state machine (the kubelet's prober worker) ---- */

void xn_probe_state_init(struct xn_probe_state *s, enum xn_probe_which w)
{
	memset(s, 0, sizeof(*s));
	s->result = w == XN_PROBE_READINESS  ? XN_PROBE_FAILURE
		    : w == XN_PROBE_LIVENESS ? XN_PROBE_SUCCESS
					     : XN_PROBE_UNKNOWN;
}

bool xn_probe_step(const struct xn_probe *pr, enum xn_probe_which w, struct xn_probe_state *s,
		   bool ok)
{
	enum xn_probe_result r = ok ? XN_PROBE_SUCCESS : XN_PROBE_FAILURE;
	bool changed;

	if (s->on_hold || s->done)
		return false;
	if (s->last == r) {
		s->run++;
	} else {
		s->last = r;
		s->run = 1;
	}
	if ((r == XN_PROBE_FAILURE && s->run < pr->failure_threshold) ||
	    (r == XN_PROBE_SUCCESS && s->run < pr->success_threshold))
		return false;
	changed = s->result != r;
	s->result = r;
	if (r == XN_PROBE_FAILURE && w != XN_PROBE_READINESS) {
		s->on_hold = true;
		s->run = 0;
	}
	if (r == XN_PROBE_SUCCESS && w == XN_PROBE_STARTUP)
		s->done = true;
	return changed;
}
