/* pod_env.c - containers[0].env -> the guest's environment (pure). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/pod_env.h"
#include "xenlet/quantity.h"
#include "xenlet/util.h"

void xn_env_dispose(struct xn_env *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->names[i]);
		free(e->values[i]);
	}
	free(e->names);
	free(e->values);
	memset(e, 0, sizeof(*e));
}

const char *xn_env_get(const struct xn_env *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->names[i], name) == 0)
			return e->values[i];
	return NULL;
}

void xn_env_set(struct xn_env *e, const char *name, const char *value)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->names[i], name) == 0) {
			free(e->values[i]);
			e->values[i] = xn_xstrdup(value);
			return;
		}
	e->names = xn_xrealloc(e->names, (e->n + 1) * sizeof(*e->names));
	e->values = xn_xrealloc(e->values, (e->n + 1) * sizeof(*e->values));
	e->names[e->n] = xn_xstrdup(name);
	e->values[e->n++] = xn_xstrdup(value);
}

static char *dupn(const char *s, size_t n)
{
	char *d = xn_xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xn_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* expand.go's Expand and tryReadVariableName, byte for byte */
char *xn_env_expand(const char *in, const struct xn_env *e)
{
	struct buf b = {0};
	size_t len = strlen(in), checkpoint = 0;

	put(&b, "", 0);
	for (size_t cur = 0; cur < len; cur++) {
		const char *rest;

		if (in[cur] != '$' || cur + 1 >= len)
			continue;
		put(&b, in + checkpoint, cur - checkpoint);
		rest = in + cur + 1;
		if (rest[0] == '$') { /* "$$": one '$' */
			put(&b, "$", 1);
		} else if (rest[0] == '(') {
			const char *close = strchr(rest + 1, ')');

			if (close == NULL) { /* "$(" never closed: kept, and read on */
				put(&b, "$(", 2);
			} else {
				size_t n = (size_t)(close - rest - 1);
				char *name = dupn(rest + 1, n);
				const char *v = xn_env_get(e, name);

				if (v != NULL)
					put(&b, v, strlen(v));
				else /* undefined: left as written */
					put(&b, rest - 1, n + 3);
				free(name);
				cur += n + 1;
			}
		} else { /* '$' and any other byte: both kept */
			put(&b, rest - 1, 2);
		}
		cur += 1;
		checkpoint = cur + 1;
	}
	put(&b, in + checkpoint, len - checkpoint);
	return b.p;
}

/* ---- the plan ---- */

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *sget(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > XN_ENV_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* metadata.labels['k'] / metadata.annotations['k']: the key, or NULL */
static char *subscript(const char *path, const char *prefix)
{
	size_t pl = strlen(prefix), n = strlen(path);

	if (strncmp(path, prefix, pl) != 0 || n < pl + 4 || path[pl] != '[' ||
	    path[pl + 1] != '\'' || path[n - 1] != ']' || path[n - 2] != '\'')
		return NULL;
	return dupn(path + pl + 2, n - pl - 4);
}

/* A fieldRef's value now, or NULL with *deferred set for the pod's
 * addresses (known at start), or NULL for a path the kubelet refuses. */
static char *field_value(const cJSON *pod, const char *fp, const struct xn_env_facts *f,
			 bool *deferred)
{
	const cJSON *md = get(pod, "metadata"), *spec = get(pod, "spec");
	char *key;
	const char *v;

	*deferred = false;
	if (strcmp(fp, "metadata.name") == 0 || strcmp(fp, "metadata.namespace") == 0 ||
	    strcmp(fp, "metadata.uid") == 0)
		return xn_xstrdup((v = sget(md, fp + 9)) ? v : "");
	if (strcmp(fp, "spec.nodeName") == 0 || strcmp(fp, "spec.serviceAccountName") == 0)
		return xn_xstrdup((v = sget(spec, fp + 5)) ? v : "");
	if (strcmp(fp, "status.hostIP") == 0 || strcmp(fp, "status.hostIPs") == 0)
		return xn_xstrdup(f->host_ip ? f->host_ip : "");
	if (strcmp(fp, "status.podIP") == 0 || strcmp(fp, "status.podIPs") == 0) {
		*deferred = true;
		return NULL;
	}
	/* a key that is not there reads as "" (fieldpath.ExtractFieldPathAsString) */
	if ((key = subscript(fp, "metadata.labels")) != NULL ||
	    (key = subscript(fp, "metadata.annotations")) != NULL) {
		const cJSON *m =
		    get(md, strncmp(fp, "metadata.labels", 15) == 0 ? "labels" : "annotations");
		v = sget(m, key);
		free(key);
		return xn_xstrdup(v ? v : "");
	}
	return NULL;
}

static int64_t ceil_div(int64_t a, int64_t d)
{
	return a / d + (a % d != 0);
}

/* resources.<kind>.<res>, or -1 when not set (or not a quantity: pod_translate
 * refuses those first) */
static int64_t quantity(const cJSON *c, const char *kind, const char *res, int scale)
{
	const cJSON *v = get(get(get(c, "resources"), kind), res);
	int64_t out;
	xn_err err = NULL;

	if (!cJSON_IsString(v) || xn_quantity_parse(v->valuestring, scale, &out, &err) < 0) {
		xn_error_free(&err);
		return -1;
	}
	return out;
}

/* ExtractContainerResourceValue, with the limit a domain has when none is
 * set (its memory, its vCPUs) where the kubelet uses the node's allocatable;
 * 0 on success, -1 with msg. */
static int resource_value(const cJSON *c, const cJSON *ref, const struct xn_env_facts *f, char *out,
			  size_t outlen, char *msg, size_t msglen)
{
	const char *res = sget(ref, "resource"), *dv = sget(ref, "divisor");
	const cJSON *dn = get(ref, "divisor");
	bool cpu, limit;
	int64_t v, div = 1;
	xn_err err = NULL;

	if (res == NULL) {
		snprintf(msg, msglen, "resourceFieldRef.resource: missing");
		return -1;
	}
	if (strcmp(res, "limits.cpu") == 0 || strcmp(res, "requests.cpu") == 0)
		cpu = true;
	else if (strcmp(res, "limits.memory") == 0 || strcmp(res, "requests.memory") == 0)
		cpu = false;
	else {
		snprintf(msg, msglen,
			 "resourceFieldRef.resource \"%.64s\": not supported (limits.cpu, "
			 "limits.memory, requests.cpu, requests.memory)",
			 res);
		return -1;
	}
	limit = res[0] == 'l';
	if (cJSON_IsNumber(dn)) {
		char num[64];
		snprintf(num, sizeof(num), "%.9g", dn->valuedouble);
		if (xn_quantity_parse(num, cpu ? 3 : 0, &div, &err) < 0)
			div = 0;
	} else if (dv != NULL && dv[0] && xn_quantity_parse(dv, cpu ? 3 : 0, &div, &err) < 0) {
		div = 0;
	} else if (dv == NULL || !dv[0]) {
		div = cpu ? 1000 : 1; /* no divisor: 1 */
	}
	xn_error_free(&err);
	if (div <= 0) {
		snprintf(msg, msglen, "resourceFieldRef.divisor \"%.32s\": not a positive quantity",
			 dv ? dv : "");
		return -1;
	}
	v = quantity(c, limit ? "limits" : "requests", cpu ? "cpu" : "memory", cpu ? 3 : 0);
	if (v < 0 && !limit) /* the API server: a request defaults to the limit */
		v = quantity(c, "limits", cpu ? "cpu" : "memory", cpu ? 3 : 0);
	if (v < 0)
		v = limit ? (cpu ? f->cpu_milli : f->memory_bytes) : 0;
	snprintf(out, outlen, "%" PRId64, ceil_div(v, div));
	return 0;
}

static int fail(char reason[64], const char *why, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char reason[64], const char *why, char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	snprintf(reason, 64, "%s", why);
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

#define BAD "UnsupportedPodSpec"
#define CFG "CreateContainerConfigError"

static int plan_one(const cJSON *pod, const cJSON *c, const cJSON *ev, int i,
		    const struct xn_env_facts *f, cJSON *plan, char reason[64], char *msg,
		    size_t msglen)
{
	const char *name = sget(ev, "name"), *val = sget(ev, "value");
	const cJSON *from = get(ev, "valueFrom"), *fr, *rr;
	cJSON *o;
	char rbuf[32];

	if (name == NULL)
		return fail(reason, BAD, msg, msglen, "containers[0].env[%d].name: missing", i);
	if (!name_ok(name))
		return fail(reason, BAD, msg, msglen,
			    "containers[0].env[%d].name \"%.128s\": must be a C identifier "
			    "(letters, digits and '_', not starting with a digit) of at most "
			    "%d bytes: each variable is a xenstore key, xenlet/env/NAME",
			    i, name, XN_ENV_NAME_MAX);
	if (val != NULL && strlen(val) > XN_ENV_VALUE_MAX)
		return fail(reason, CFG, msg, msglen,
			    "environment variable %s: value of %zu bytes, more than the %d a "
			    "xenstore key holds here",
			    name, strlen(val), XN_ENV_VALUE_MAX);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "n", name);
	cJSON_AddItemToArray(plan, o);
	if (from == NULL || cJSON_IsNull(from)) {
		cJSON_AddStringToObject(o, "v", val ? val : "");
		return 0;
	}
	if (val != NULL && val[0])
		return fail(reason, BAD, msg, msglen,
			    "environment variable %s: value and valueFrom are exclusive", name);
	if (get(from, "configMapKeyRef") != NULL || get(from, "secretKeyRef") != NULL)
		return fail(reason, CFG, msg, msglen,
			    "environment variable %s: ConfigMap/Secret references are not "
			    "supported yet",
			    name);
	if ((fr = get(from, "fieldRef")) != NULL) {
		const char *fp = sget(fr, "fieldPath"), *av = sget(fr, "apiVersion");
		bool deferred;
		char *v;

		if (fp == NULL)
			return fail(reason, BAD, msg, msglen,
				    "environment variable %s: fieldRef.fieldPath missing", name);
		if (av != NULL && av[0] && strcmp(av, "v1") != 0)
			return fail(reason, BAD, msg, msglen,
				    "environment variable %s: fieldRef.apiVersion \"%.32s\": "
				    "only v1",
				    name, av);
		v = field_value(pod, fp, f, &deferred);
		if (deferred) {
			cJSON_AddStringToObject(o, "f", fp);
			return 0;
		}
		if (v == NULL)
			return fail(reason, BAD, msg, msglen,
				    "environment variable %s: fieldRef.fieldPath \"%.128s\": not "
				    "supported (metadata.name, metadata.namespace, metadata.uid, "
				    "metadata.labels['KEY'], metadata.annotations['KEY'], "
				    "spec.nodeName, spec.serviceAccountName, status.podIP(s), "
				    "status.hostIP(s))",
				    name, fp);
		if (strlen(v) > XN_ENV_VALUE_MAX) {
			fail(reason, CFG, msg, msglen,
			     "environment variable %s: value of %zu bytes, more than the %d a "
			     "xenstore key holds here",
			     name, strlen(v), XN_ENV_VALUE_MAX);
			free(v);
			return -1;
		}
		cJSON_AddStringToObject(o, "l", v);
		free(v);
		return 0;
	}
	if ((rr = get(from, "resourceFieldRef")) != NULL) {
		char why[256];
		const char *cn = sget(rr, "containerName"), *me = sget(c, "name");

		if (cn != NULL && cn[0] && (me == NULL || strcmp(cn, me) != 0))
			return fail(reason, BAD, msg, msglen,
				    "environment variable %s: resourceFieldRef.containerName "
				    "\"%.64s\": no such container",
				    name, cn);
		if (resource_value(c, rr, f, rbuf, sizeof(rbuf), why, sizeof(why)) < 0)
			return fail(reason, BAD, msg, msglen, "environment variable %s: %s", name,
				    why);
		cJSON_AddStringToObject(o, "l", rbuf);
		return 0;
	}
	return fail(reason, BAD, msg, msglen,
		    "environment variable %s: valueFrom has no known source (fieldRef, "
		    "resourceFieldRef, configMapKeyRef, secretKeyRef)",
		    name);
}

int xn_pod_env_plan(const cJSON *pod, const cJSON *c, const struct xn_env_facts *f, char **plan,
		    char reason[64], char *msg, size_t msglen)
{
	const cJSON *env = get(c, "env"), *ef = get(c, "envFrom"), *ev;
	cJSON *out;
	struct xn_env names = {0};
	int i = 0;

	*plan = NULL;
	if (cJSON_IsArray(ef) && cJSON_GetArraySize(ef) > 0)
		return fail(reason, CFG, msg, msglen,
			    "containers[0].envFrom: ConfigMap/Secret references are not supported "
			    "yet");
	if (env == NULL || cJSON_IsNull(env) ||
	    (cJSON_IsArray(env) && cJSON_GetArraySize(env) == 0))
		return 0;
	if (!cJSON_IsArray(env))
		return fail(reason, BAD, msg, msglen, "containers[0].env: not a list");
	out = cJSON_CreateArray();
	cJSON_ArrayForEach(ev, env) {
		if (!cJSON_IsObject(ev) ||
		    plan_one(pod, c, ev, i, f, out, reason, msg, msglen) < 0) {
			if (!cJSON_IsObject(ev))
				fail(reason, BAD, msg, msglen,
				     "containers[0].env[%d]: not an object", i);
			cJSON_Delete(out);
			xn_env_dispose(&names);
			return -1;
		}
		xn_env_set(&names, sget(ev, "name"), "");
		i++;
	}
	if (names.n > XN_ENV_COUNT_MAX) {
		fail(reason, CFG, msg, msglen,
		     "containers[0].env: %zu variables, more than the %d a guest gets", names.n,
		     XN_ENV_COUNT_MAX);
		cJSON_Delete(out);
		xn_env_dispose(&names);
		return -1;
	}
	xn_env_dispose(&names);
	*plan = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return 0;
}

int xn_pod_env_resolve(const char *plan, const char *pod_ip, const char *pod_ip6,
		       struct xn_env *out, xn_err *err)
{
	cJSON *a = cJSON_Parse(plan ? plan : "[]"), *o;
	size_t total = 0;
	char ips[128];

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		return xn_error(err, EINVAL, "environment plan: not a JSON list");
	}
	pod_ip = pod_ip ? pod_ip : "";
	pod_ip6 = pod_ip6 ? pod_ip6 : "";
	/* podIPs: every address, IPv4 first, comma-separated (as the kubelet) */
	snprintf(ips, sizeof(ips), "%s%s%s", pod_ip[0] ? pod_ip : pod_ip6,
		 pod_ip[0] && pod_ip6[0] ? "," : "", pod_ip[0] ? pod_ip6 : "");
	cJSON_ArrayForEach(o, a) {
		const char *n = sget(o, "n"), *v = sget(o, "v"), *l = sget(o, "l"),
			   *fp = sget(o, "f");
		char *val;

		if (n == NULL || !name_ok(n) || (v == NULL && l == NULL && fp == NULL)) {
			cJSON_Delete(a);
			xn_env_dispose(out);
			return xn_error(err, EINVAL, "environment plan: bad entry");
		}
		if (v != NULL) /* only what came before: out holds just those */
			val = xn_env_expand(v, out);
		else if (l != NULL)
			val = xn_xstrdup(l);
		else
			val = xn_xstrdup(strcmp(fp, "status.podIPs") == 0 ? ips
					 : pod_ip[0]			  ? pod_ip
									  : pod_ip6);
		if (strlen(val) > XN_ENV_VALUE_MAX) {
			xn_error(
			    err, E2BIG,
			    "environment variable %s: value of %zu bytes after expansion, more "
			    "than the %d a xenstore key holds here",
			    n, strlen(val), XN_ENV_VALUE_MAX);
			free(val);
			cJSON_Delete(a);
			xn_env_dispose(out);
			return -1;
		}
		xn_env_set(out, n, val);
		free(val);
	}
	cJSON_Delete(a);
	for (size_t i = 0; i < out->n; i++)
		total += strlen(out->names[i]) + strlen(out->values[i]);
	if (total > XN_ENV_TOTAL_MAX) {
		xn_env_dispose(out);
		return xn_error(err, E2BIG,
				"environment: %zu bytes of names and values, more than the %d a "
				"guest gets",
				total, XN_ENV_TOTAL_MAX);
	}
	return 0;
}
