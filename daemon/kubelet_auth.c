/* kubelet_auth.c - who may use the kubelet API: client certificates,
 * TokenReview and SubjectAccessReview, as the kubelet in Webhook mode, with
 * its caches (tokens 2 min, allowed 5 min, denied 30 s).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/evp.h>

#include "kubelet_api_priv.h"
#include "xenlet/kube.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static struct auth_cache_entry *cache_get(struct auth_cache_entry *c, const char *key)
{
	uint64_t now = xn_now_mono_ns();

	for (int i = 0; i < XN_KAPI_CACHE_SIZE; i++)
		if (c[i].used && strcmp(c[i].key, key) == 0)
			return c[i].expires_ns > now ? &c[i] : NULL;
	return NULL;
}

/* Replace the same key, else a free or expired slot, else the one closest
 * to expiry: the cache never grows. */
static struct auth_cache_entry *cache_put(struct auth_cache_entry *c, const char *key, bool allowed,
					  unsigned ttl_s)
{
	uint64_t now = xn_now_mono_ns();
	struct auth_cache_entry *e = NULL;

	for (int i = 0; i < XN_KAPI_CACHE_SIZE && e == NULL; i++)
		if (c[i].used && strcmp(c[i].key, key) == 0)
			e = &c[i];
	for (int i = 0; i < XN_KAPI_CACHE_SIZE && e == NULL; i++)
		if (!c[i].used || c[i].expires_ns <= now)
			e = &c[i];
	if (e == NULL) {
		e = &c[0];
		for (int i = 1; i < XN_KAPI_CACHE_SIZE; i++)
			if (c[i].expires_ns < e->expires_ns)
				e = &c[i];
	}
	kuser_dispose(&e->user);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->allowed = allowed;
	e->expires_ns = now + (uint64_t)ttl_s * 1000000000u;
	e->used = true;
	return e;
}

void kapi_auth_cache_clear(struct xn_kapi *k)
{
	for (int i = 0; i < XN_KAPI_CACHE_SIZE; i++) {
		kuser_dispose(&k->tokens[i].user);
		kuser_dispose(&k->decisions[i].user);
		k->tokens[i].used = k->decisions[i].used = false;
	}
}

void kapi_auth_cancel(struct kreq *r)
{
	xn_kube_cancel(r->kr);
	r->kr = NULL;
}

static void count_auth(const char *what)
{
	xn_metric_count("xenlet_kubelet_api_auth_total",
			"Authentication and authorization outcomes of the kubelet API.", "result",
			what, 1);
}

/* ---- authorization ---- */

static void authorize(struct kreq *r);

static void decision_key(struct kreq *r, const char *sub, char out[65])
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "%s%c%s%c%s%c%s", r->user.name, 0, r->user.uid ? r->user.uid : "", 0,
			    r->verb, 0, sub);
	for (char **g = r->user.groups; g && *g; g++)
		evbuffer_add_printf(b, "%c%s", 0, *g);
	if (r->user.extra) {
		char *x = cJSON_PrintUnformatted(r->user.extra);
		evbuffer_add_printf(b, "%c%s", 0, x);
		free(x);
	}
	sha256_hex(evbuffer_pullup(b, -1), evbuffer_get_length(b), out);
	evbuffer_free(b);
}

static void decided(struct kreq *r, bool allowed, const char *reason)
{
	const char *sub = r->sub[r->sub_i];

	if (allowed) {
		count_auth("allowed");
		r->auth_done(r);
		return;
	}
	if (r->sub_i == 0 && r->sub[1]) {
		r->sub_i = 1;
		authorize(r);
		return;
	}
	count_auth("forbidden");
	kreq_error(r, 403, "Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)%s%s",
		   r->user.name, r->verb, sub, reason && *reason ? ": " : "", reason ? reason : "");
}

static void sar_done(struct xn_kube_response *resp, void *arg)
{
	struct kreq *r = arg;
	cJSON *st = cJSON_GetObjectItem(resp->json, "status");
	bool allowed = cJSON_IsTrue(cJSON_GetObjectItem(st, "allowed"));
	const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(st, "reason"));
	char key[65];

	r->kr = NULL;
	if (resp->status < 200 || resp->status > 299) {
		/* no decision is cached when the API server could not answer */
		log_warnx("kubelet api: SubjectAccessReview failed: %s",
			  resp->message ? resp->message : "no answer");
		count_auth("review-error");
		kreq_error(r, 500,
			   "Authorization error (user=%s, verb=%s, resource=nodes, "
			   "subresource=%s): %s",
			   r->user.name, r->verb, r->sub[r->sub_i],
			   resp->message ? resp->message : "no answer");
		return;
	}
	decision_key(r, r->sub[r->sub_i], key);
	cache_put(r->k->decisions, key, allowed,
		  allowed ? XN_KAPI_ALLOW_TTL_S : XN_KAPI_DENY_TTL_S);
	decided(r, allowed, reason);
}

static void authorize(struct kreq *r)
{
	const char *sub = r->sub[r->sub_i];
	struct auth_cache_entry *e;
	cJSON *body, *spec, *ra, *groups;
	char key[65];
	xn_err err = NULL;

	if (r->k->kube == NULL)
		return decided(r, true, NULL); /* standalone: a verified cert is enough */
	decision_key(r, sub, key);
	e = cache_get(r->k->decisions, key);
	if (e)
		return decided(r, e->allowed, "cached decision");
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "apiVersion", "authorization.k8s.io/v1");
	cJSON_AddStringToObject(body, "kind", "SubjectAccessReview");
	spec = cJSON_AddObjectToObject(body, "spec");
	cJSON_AddStringToObject(spec, "user", r->user.name);
	if (r->user.uid)
		cJSON_AddStringToObject(spec, "uid", r->user.uid);
	groups = cJSON_AddArrayToObject(spec, "groups");
	for (char **g = r->user.groups; g && *g; g++)
		cJSON_AddItemToArray(groups, cJSON_CreateString(*g));
	if (r->user.extra)
		cJSON_AddItemToObject(spec, "extra", cJSON_Duplicate(r->user.extra, 1));
	ra = cJSON_AddObjectToObject(spec, "resourceAttributes");
	cJSON_AddStringToObject(ra, "verb", r->verb);
	cJSON_AddStringToObject(ra, "group", "");
	cJSON_AddStringToObject(ra, "version", "v1");
	cJSON_AddStringToObject(ra, "resource", "nodes");
	cJSON_AddStringToObject(ra, "subresource", sub);
	cJSON_AddStringToObject(ra, "name", r->k->node_name);
	r->kr = xn_kube_request(r->k->kube, XN_KUBE_POST,
				"/apis/authorization.k8s.io/v1/subjectaccessreviews", body, 10000,
				sar_done, r, &err);
	cJSON_Delete(body);
	if (r->kr == NULL) {
		kreq_error(r, 500, "Authorization error: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
}

/* ---- authentication ---- */

static void unauthorized(struct kreq *r)
{
	count_auth("unauthorized");
	kreq_error(r, 401, "Unauthorized");
}

static void user_from_json(const cJSON *u, struct kuser *out)
{
	const cJSON *g;
	size_t n = 0;

	out->name = xn_xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(u, "username")));
	if (cJSON_GetStringValue(cJSON_GetObjectItem(u, "uid")))
		out->uid = xn_xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(u, "uid")));
	out->groups = xn_xcalloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(u, "groups")) + 1,
				 sizeof(char *));
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(u, "groups"))
		if (cJSON_GetStringValue(g))
			out->groups[n++] = xn_xstrdup(cJSON_GetStringValue(g));
	if (cJSON_IsObject(cJSON_GetObjectItem(u, "extra")))
		out->extra = cJSON_Duplicate(cJSON_GetObjectItem(u, "extra"), 1);
}

static void tr_done(struct xn_kube_response *resp, void *arg)
{
	struct kreq *r = arg;
	cJSON *st = cJSON_GetObjectItem(resp->json, "status");
	const cJSON *u = cJSON_GetObjectItem(st, "user");
	struct auth_cache_entry *e;
	char key[65];

	r->kr = NULL;
	if (resp->status < 200 || resp->status > 299) {
		log_warnx("kubelet api: TokenReview failed: %s",
			  resp->message ? resp->message : "no answer");
		count_auth("review-error");
		return kreq_error(r, 500, "Authentication error: TokenReview: %s",
				  resp->message ? resp->message : "no answer");
	}
	memcpy(key, r->token_key, sizeof(key));
	if (!cJSON_IsTrue(cJSON_GetObjectItem(st, "authenticated")) ||
	    !cJSON_GetStringValue(cJSON_GetObjectItem(u, "username"))) {
		cache_put(r->k->tokens, key, false, XN_KAPI_DENY_TTL_S);
		return unauthorized(r);
	}
	e = cache_put(r->k->tokens, key, true, XN_KAPI_AUTHN_TTL_S);
	user_from_json(u, &e->user);
	kuser_copy(&r->user, &e->user);
	authorize(r);
}

void kapi_auth(struct kreq *r, void (*done)(struct kreq *r))
{
	const char *h =
	    evhttp_find_header(evhttp_request_get_input_headers(r->req), "Authorization");
	struct auth_cache_entry *e;
	char key[65];
	cJSON *body;
	xn_err err = NULL;

	r->auth_done = done;
	if (kapi_tls_peer_user(r, &r->user))
		return authorize(r);
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0' || r->k->kube == NULL)
		return unauthorized(r);
	h += 7;
	sha256_hex(h, strlen(h), key);
	e = cache_get(r->k->tokens, key);
	if (e && !e->allowed)
		return unauthorized(r);
	if (e) {
		kuser_copy(&r->user, &e->user);
		return authorize(r);
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "apiVersion", "authentication.k8s.io/v1");
	cJSON_AddStringToObject(body, "kind", "TokenReview");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "spec"), "token", h);
	memcpy(r->token_key, key, sizeof(key));
	r->kr =
	    xn_kube_request(r->k->kube, XN_KUBE_POST, "/apis/authentication.k8s.io/v1/tokenreviews",
			    body, 10000, tr_done, r, &err);
	cJSON_Delete(body);
	if (r->kr == NULL) {
		kreq_error(r, 500, "Authentication error: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
}
