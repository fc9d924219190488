/* store.c - the xenstore schema on top of a backend (see store.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "xenlet/hv.h"
#include "xenlet/store.h"
#include "xenlet/store_schema.h"
#include "xenlet/util.h"

#define PATH_MAX_XS 3072 /* XENSTORE_ABS_PATH_MAX */
#define PODS	    "/xenlet/pods"

static const struct xn_store_perm dom0_only[] = {{0, XN_STORE_NONE}};

int xn_store_path_check(const char *path, xn_err *err)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@";
	size_t len = path ? strlen(path) : 0;

	if (len == 0 || path[0] != '/')
		return xn_error(err, EINVAL, "xenstore path \"%s\": not absolute",
				path ? path : "");
	if (len > PATH_MAX_XS)
		return xn_error(err, EINVAL, "xenstore path %.40s...: longer than %d", path,
				PATH_MAX_XS);
	if (strspn(path, ok) != len)
		return xn_error(err, EINVAL, "xenstore path %s: character not in [A-Za-z0-9-/_@]",
				path);
	if (strstr(path, "//") != NULL || (len > 1 && path[len - 1] == '/'))
		return xn_error(err, EINVAL, "xenstore path %s: empty component", path);
	return 0;
}

struct xn_store *xn_store_open(const char *backend, struct event_base *base, xn_err *err)
{
	const struct xn_store_ops *ops;
	struct xn_store *st;

	if (backend != NULL && strcmp(backend, "xs") == 0)
		ops = &xn_store_ops_xs;
	else if (backend != NULL && strcmp(backend, "mem") == 0)
		ops = &xn_store_ops_mem;
	else {
		xn_error(err, EINVAL, "store backend \"%s\": unknown (want xs or mem)",
			 backend ? backend : "");
		return NULL;
	}
	if (base == NULL) {
		xn_error(err, EINVAL, "store: no event base");
		return NULL;
	}
	st = xn_xcalloc(1, sizeof(*st));
	st->ops = ops;
	st->base = base;
	if (ops->open(st, err) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

void xn_store_close(struct xn_store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st);
	for (size_t i = 0; i < st->nwatches; i++)
		free(st->watches[i].path);
	free(st->watches);
	free(st);
}

int xn_store_flush(struct xn_store *st, xn_err *err)
{
	if (st->ops->flush == NULL)
		return 0;
	if (st->ops->flush(st, err) < 0)
		return xn_error_wrap(err, "store flush");
	return 0;
}

const char *xn_store_backend_name(const struct xn_store *st)
{
	return st->ops->name;
}

/* --- raw access -------------------------------------------------------- */

int xn_store_get(struct xn_store *st, const char *path, char **val, xn_err *err)
{
	size_t len;

	if (xn_store_path_check(path, err) < 0)
		return -1;
	return st->ops->get(st, 0, path, val, &len, err);
}

int xn_store_set(struct xn_store *st, const char *path, const char *val, xn_err *err)
{
	if (xn_store_path_check(path, err) < 0)
		return -1;
	return st->ops->set(st, 0, path, val, strlen(val), err);
}

int xn_store_rm(struct xn_store *st, const char *path, xn_err *err)
{
	if (xn_store_path_check(path, err) < 0)
		return -1;
	return st->ops->rm(st, 0, path, err);
}

int xn_store_list(struct xn_store *st, const char *path, char ***names, size_t *n, xn_err *err)
{
	if (xn_store_path_check(path, err) < 0)
		return -1;
	return st->ops->list(st, 0, path, names, n, err);
}

void xn_store_list_free(char **names)
{
	if (names == NULL)
		return;
	for (char **p = names; *p != NULL; p++)
		free(*p);
	free(names);
}

int xn_store_set_perms(struct xn_store *st, const char *path, const struct xn_store_perm *perms,
		       size_t n, xn_err *err)
{
	if (xn_store_path_check(path, err) < 0)
		return -1;
	if (n == 0)
		return xn_error(err, EINVAL, "set permissions of %s: no owner given", path);
	return st->ops->set_perms(st, 0, path, perms, n, err);
}

int xn_store_get_perms(struct xn_store *st, const char *path, struct xn_store_perm **perms,
		       size_t *n, xn_err *err)
{
	if (xn_store_path_check(path, err) < 0)
		return -1;
	return st->ops->get_perms(st, 0, path, perms, n, err);
}

/* --- watches ------------------------------------------------------------ */

int xn_store_watch(struct xn_store *st, const char *path, xn_store_watch_cb cb, void *arg,
		   xn_err *err)
{
	struct xn_store_watch_ent *w;
	int id = st->next_watch_id;

	if (xn_store_path_check(path, err) < 0)
		return -1;
	st->watches = xn_xrealloc(st->watches, (st->nwatches + 1) * sizeof(*st->watches));
	w = &st->watches[st->nwatches];
	*w = (struct xn_store_watch_ent){id, xn_xstrdup(path), cb, arg};
	if (st->ops->watch(st, id, path, err) < 0) {
		free(w->path);
		return -1;
	}
	st->nwatches++;
	st->next_watch_id++;
	return id;
}

void xn_store_unwatch(struct xn_store *st, int id)
{
	for (size_t i = 0; i < st->nwatches; i++) {
		if (st->watches[i].id != id)
			continue;
		st->ops->unwatch(st, id, st->watches[i].path);
		free(st->watches[i].path);
		st->watches[i] = st->watches[--st->nwatches];
		return;
	}
}

void xn_store_watch_fire(struct xn_store *st, int id, const char *path)
{
	for (size_t i = 0; i < st->nwatches; i++)
		if (st->watches[i].id == id) {
			st->watches[i].cb(st, path, st->watches[i].arg);
			return;
		}
}

/* --- transactions ------------------------------------------------------- */

typedef int (*tx_body)(struct xn_store *st, uint32_t tx, void *arg, xn_err *err);

/* Run body in a transaction until a commit succeeds, as libxl's
 * transaction loop does: a conflicting writer makes the commit fail with
 * EAGAIN and the whole body runs again on fresh data. */
static int with_tx(struct xn_store *st, tx_body body, void *arg, xn_err *err)
{
	xn_err e = NULL;

	for (int attempt = 0; attempt < XN_STORE_TX_RETRIES; attempt++) {
		uint32_t tx;

		if (st->ops->tx_start(st, &tx, err) < 0)
			return xn_error_wrap(err, "xenstore transaction start");
		if (body(st, tx, arg, err) < 0) {
			st->ops->tx_end(st, tx, true, NULL);
			return -1;
		}
		if (st->ops->tx_end(st, tx, false, &e) == 0)
			return 0;
		if (e->status != EAGAIN) {
			xn_error(err, e->status, "xenstore transaction commit: %s",
				 xn_error_msg(e));
			xn_error_free(&e);
			return -1;
		}
		xn_error_free(&e);
	}
	return xn_error(err, EAGAIN, "xenstore transaction: still conflicting after %d attempts",
			XN_STORE_TX_RETRIES);
}

/* Write path = val after checking both against the schema. */
static int put_checked(struct xn_store *st, uint32_t tx, const char *path, const char *val,
		       xn_err *err)
{
	const struct xn_schema_key *k = xn_schema_lookup(path);

	if (k == NULL)
		return xn_error(err, EINVAL, "%s: not in the xenstore schema", path);
	if (xn_schema_check_value(k, val, strlen(val), err) < 0)
		return xn_error_wrap(err, "%s", path);
	return st->ops->set(st, tx, path, val, strlen(val), err);
}

/* Consume e: 0 when it says the node is absent (ENOENT), else -1 with the
 * error passed on in err. */
static int absent_or_fail(xn_err *e, xn_err *err)
{
	int rc = 0;

	if ((*e)->status != ENOENT)
		rc = xn_error(err, (*e)->status, "%s", xn_error_msg(*e));
	xn_error_free(e);
	return rc;
}

/* Create directory node path (if absent) and give it perms. */
static int ensure_dir(struct xn_store *st, uint32_t tx, const char *path,
		      const struct xn_store_perm *perms, size_t n, xn_err *err)
{
	char *val = NULL;
	size_t len;
	xn_err e = NULL;

	if (st->ops->get(st, tx, path, &val, &len, &e) < 0) {
		if (absent_or_fail(&e, err) < 0)
			return -1;
		if (put_checked(st, tx, path, "", err) < 0)
			return -1;
	}
	free(val);
	return st->ops->set_perms(st, tx, path, perms, n, err);
}

/* Read path: 1 with *val set, 0 when absent. */
static int get_opt(struct xn_store *st, uint32_t tx, const char *path, char **val, xn_err *err)
{
	size_t len;
	xn_err e = NULL;

	*val = NULL;
	if (st->ops->get(st, tx, path, val, &len, &e) == 0)
		return 1;
	return absent_or_fail(&e, err);
}

/* --- node records --------------------------------------------------------- */

static int node_path(const char *key, char **path, xn_err *err)
{
	const struct xn_schema_key *k;

	*path = xn_xasprintf("/xenlet/node/%s", key);
	k = xn_schema_lookup(*path);
	if (k == NULL || strcmp(k->syntax, "DIR") == 0) {
		xn_error(err, EINVAL, "node record key \"%s\": not in the xenstore schema", key);
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

struct node_set_arg {
	const char *path, *val;
};

static int node_set_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	struct node_set_arg *a = arg;

	if (ensure_dir(st, tx, "/xenlet", dom0_only, 1, err) < 0)
		return -1;
	return put_checked(st, tx, a->path, a->val, err);
}

int xn_store_node_set(struct xn_store *st, const char *key, const char *val, xn_err *err)
{
	cleanup_free char *path = NULL;
	struct node_set_arg a;

	if (node_path(key, &path, err) < 0)
		return -1;
	a = (struct node_set_arg){path, val};
	return with_tx(st, node_set_body, &a, err);
}

int xn_store_node_get(struct xn_store *st, const char *key, char **val, xn_err *err)
{
	cleanup_free char *path = NULL;
	size_t len;

	if (node_path(key, &path, err) < 0)
		return -1;
	return st->ops->get(st, 0, path, val, &len, err);
}

/* --- pod records ---------------------------------------------------------- */

void xn_pod_record_dispose(struct xn_pod_record *r)
{
	if (r == NULL)
		return;
	free(r->uid);
	free(r->ns);
	free(r->name);
	free(r->domain);
	free(r->image_digest);
	free(r->ip);
	free(r->mac);
	free(r->last_reason);
	memset(r, 0, sizeof(*r));
	r->domid = XN_DOMID_INVALID;
	r->last_exit = -1;
}

static int pod_dir(const char *uid, char **path, xn_err *err)
{
	const struct xn_schema_key *k;

	*path = xn_xasprintf(PODS "/%s", uid ? uid : "");
	k = xn_schema_lookup(*path);
	if (k == NULL || strcmp(k->syntax, "DIR") != 0) {
		xn_error(err, EINVAL, "pod uid \"%s\": not a valid uid ([A-Za-z0-9_-], max 64)",
			 uid ? uid : "");
		free(*path);
		*path = NULL;
		return -1;
	}
	return 0;
}

/* The record as key/value pairs; absent optional fields have no pair. */
#define POD_KEYS 12
static size_t pod_pairs(const struct xn_pod_record *r, const char *keys[POD_KEYS],
			char *vals[POD_KEYS])
{
	size_t n = 0;

#define PAIR(k, v) (keys[n] = (k), vals[n++] = (v))
	PAIR("namespace", xn_xstrdup(r->ns));
	PAIR("name", xn_xstrdup(r->name));
	PAIR("domain", xn_xstrdup(r->domain));
	PAIR("restart-count", xn_xasprintf("%u", r->restart_count));
	if (r->domid != XN_DOMID_INVALID)
		PAIR("domid", xn_xasprintf("%" PRIu32, r->domid));
	if (r->image_digest != NULL)
		PAIR("image-digest", xn_xstrdup(r->image_digest));
	if (r->ip != NULL)
		PAIR("ip", xn_xstrdup(r->ip));
	if (r->mac != NULL)
		PAIR("mac", xn_xstrdup(r->mac));
	if (r->last_exit != -1)
		PAIR("last-exit", xn_xasprintf("%d", r->last_exit));
	if (r->last_reason != NULL)
		PAIR("last-reason", xn_xstrdup(r->last_reason));
	if (r->started_at != 0)
		PAIR("started-at", xn_xasprintf("%" PRIu64, r->started_at));
	if (r->finished_at != 0)
		PAIR("finished-at", xn_xasprintf("%" PRIu64, r->finished_at));
#undef PAIR
	return n;
}

struct pod_put_arg {
	const char *dir;
	const char **keys;
	char **vals;
	size_t n;
};

static int pod_put_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	struct pod_put_arg *a = arg;

	if (ensure_dir(st, tx, "/xenlet", dom0_only, 1, err) < 0 ||
	    st->ops->rm(st, tx, a->dir, err) < 0 ||
	    ensure_dir(st, tx, a->dir, dom0_only, 1, err) < 0)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		cleanup_free char *path = xn_xasprintf("%s/%s", a->dir, a->keys[i]);

		if (st->ops->set(st, tx, path, a->vals[i], strlen(a->vals[i]), err) < 0)
			return -1;
	}
	return 0;
}

int xn_store_pod_put(struct xn_store *st, const struct xn_pod_record *r, xn_err *err)
{
	cleanup_free char *dir = NULL;
	const char *keys[POD_KEYS];
	char *vals[POD_KEYS];
	size_t n = 0;
	int rc = -1;

	if (pod_dir(r->uid, &dir, err) < 0)
		return -1;
	if (r->ns == NULL || r->name == NULL || r->domain == NULL) {
		xn_error(err, EINVAL, "pod record %s: namespace, name and domain are required",
			 r->uid);
		goto out;
	}
	n = pod_pairs(r, keys, vals);
	/* Check every value before the transaction: a bad one changes nothing. */
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *path = xn_xasprintf("%s/%s", dir, keys[i]);
		const struct xn_schema_key *k = xn_schema_lookup(path);

		if (k == NULL || xn_schema_check_value(k, vals[i], strlen(vals[i]), err) < 0) {
			if (k == NULL)
				xn_error(err, EINVAL, "not in the xenstore schema");
			xn_error_wrap(err, "pod record %s: %s", r->uid, keys[i]);
			goto out;
		}
	}
	struct pod_put_arg a = {dir, keys, vals, n};
	if (with_tx(st, pod_put_body, &a, err) < 0) {
		xn_error_wrap(err, "pod record %s", r->uid);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	return rc;
}

/* Read dir/key, checked against the schema: 1 found, 0 absent. */
static int pod_field(struct xn_store *st, uint32_t tx, const char *dir, const char *key,
		     bool required, char **val, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("%s/%s", dir, key);
	const struct xn_schema_key *k = xn_schema_lookup(path);
	int r = get_opt(st, tx, path, val, err);

	if (r < 0)
		return -1;
	if (r == 0) {
		if (required)
			return xn_error(err, EINVAL, "%s: missing", key);
		return 0;
	}
	if (k == NULL || xn_schema_check_value(k, *val, strlen(*val), err) < 0) {
		if (k == NULL)
			xn_error(err, EINVAL, "not in the xenstore schema");
		free(*val);
		*val = NULL;
		return xn_error_wrap(err, "%s", key);
	}
	return 1;
}

struct pod_get_arg {
	const char *dir;
	struct xn_pod_record *r;
};

static int pod_get_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	struct pod_get_arg *a = arg;
	struct xn_pod_record *r = a->r;
	char *uid = r->uid;
	cleanup_free char *rc = NULL, *domid = NULL, *lexit = NULL, *sat = NULL, *fat = NULL;
	uint64_t u;
	int64_t i;

	/* a retried attempt starts from scratch */
	r->uid = NULL;
	xn_pod_record_dispose(r);
	r->uid = uid;
	if (pod_field(st, tx, a->dir, "namespace", true, &r->ns, err) < 0 ||
	    pod_field(st, tx, a->dir, "name", true, &r->name, err) < 0 ||
	    pod_field(st, tx, a->dir, "domain", true, &r->domain, err) < 0 ||
	    pod_field(st, tx, a->dir, "restart-count", true, &rc, err) < 0 ||
	    pod_field(st, tx, a->dir, "domid", false, &domid, err) < 0 ||
	    pod_field(st, tx, a->dir, "image-digest", false, &r->image_digest, err) < 0 ||
	    pod_field(st, tx, a->dir, "ip", false, &r->ip, err) < 0 ||
	    pod_field(st, tx, a->dir, "mac", false, &r->mac, err) < 0 ||
	    pod_field(st, tx, a->dir, "last-exit", false, &lexit, err) < 0 ||
	    pod_field(st, tx, a->dir, "last-reason", false, &r->last_reason, err) < 0 ||
	    pod_field(st, tx, a->dir, "started-at", false, &sat, err) < 0 ||
	    pod_field(st, tx, a->dir, "finished-at", false, &fat, err) < 0)
		return -1;
	/* the schema has checked the ranges */
	xn_parse_u64(rc, UINT32_MAX, &u);
	r->restart_count = (unsigned)u;
	if (domid != NULL && xn_parse_u64(domid, UINT32_MAX, &u) == 0)
		r->domid = (uint32_t)u;
	if (lexit != NULL && xn_parse_i64(lexit, INT32_MIN, INT32_MAX, &i) == 0)
		r->last_exit = (int)i;
	if (sat != NULL && xn_parse_u64(sat, UINT64_MAX, &u) == 0)
		r->started_at = u;
	if (fat != NULL && xn_parse_u64(fat, UINT64_MAX, &u) == 0)
		r->finished_at = u;
	return 0;
}

int xn_store_pod_get(struct xn_store *st, const char *uid, struct xn_pod_record *out, xn_err *err)
{
	cleanup_free char *dir = NULL;
	struct pod_get_arg a;
	char *val = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	xn_pod_record_dispose(out);
	if (pod_dir(uid, &dir, err) < 0)
		return -1;
	if (st->ops->get(st, 0, dir, &val, &len, err) < 0)
		return xn_error_wrap(err, "pod record %s", uid);
	free(val);
	out->uid = xn_xstrdup(uid);
	a = (struct pod_get_arg){dir, out};
	if (with_tx(st, pod_get_body, &a, err) < 0) {
		xn_pod_record_dispose(out);
		return xn_error_wrap(err, "pod record %s", uid);
	}
	return 0;
}

int xn_store_pod_del(struct xn_store *st, const char *uid, xn_err *err)
{
	cleanup_free char *dir = NULL;

	if (pod_dir(uid, &dir, err) < 0)
		return -1;
	return st->ops->rm(st, 0, dir, err);
}

int xn_store_pod_list(struct xn_store *st, struct xn_pod_record **out, size_t *n, xn_err *err)
{
	char **names = NULL;
	size_t nn = 0;
	xn_err e = NULL;

	*out = NULL;
	*n = 0;
	if (st->ops->list(st, 0, PODS, &names, &nn, &e) < 0)
		return absent_or_fail(&e, err);
	*out = xn_xcalloc(nn, sizeof(**out));
	for (size_t i = 0; i < nn; i++) {
		if (xn_store_pod_get(st, names[i], &(*out)[*n], &e) < 0) {
			if (absent_or_fail(&e, err) == 0)
				continue; /* removed since the listing */
			for (size_t j = 0; j < *n; j++)
				xn_pod_record_dispose(&(*out)[j]);
			free(*out);
			*out = NULL;
			*n = 0;
			xn_store_list_free(names);
			return -1;
		}
		(*n)++;
	}
	xn_store_list_free(names);
	return 0;
}

/* --- other Dom0 records (the net module's allocations) ---------------------- */

struct record_put_arg {
	const char *dir;
	const char *const *keys, *const *vals;
};

static int record_put_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	struct record_put_arg *a = arg;
	cleanup_free char *path = xn_xstrdup(a->dir);

	/* every ancestor below / is one of our Dom0-only directories */
	for (char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (ensure_dir(st, tx, path, dom0_only, 1, err) < 0)
			return -1;
		*p = '/';
	}
	if (st->ops->rm(st, tx, a->dir, err) < 0 ||
	    ensure_dir(st, tx, a->dir, dom0_only, 1, err) < 0)
		return -1;
	for (size_t i = 0; a->keys[i] != NULL; i++) {
		cleanup_free char *kp = xn_xasprintf("%s/%s", a->dir, a->keys[i]);

		if (st->ops->set(st, tx, kp, a->vals[i], strlen(a->vals[i]), err) < 0)
			return -1;
	}
	return 0;
}

int xn_store_record_put(struct xn_store *st, const char *dir, const char *const *keys,
			const char *const *vals, xn_err *err)
{
	const struct xn_schema_key *k = xn_schema_lookup(dir ? dir : "");
	struct record_put_arg a = {dir, keys, vals};

	if (k == NULL || strcmp(k->syntax, "DIR") != 0 || strcmp(k->perms, "n") != 0)
		return xn_error(err, EINVAL,
				"record %s: not a Dom0 directory of the xenstore schema",
				dir ? dir : "");
	/* every value checked before the transaction: a bad one changes nothing */
	for (size_t i = 0; keys[i] != NULL; i++) {
		cleanup_free char *path = xn_xasprintf("%s/%s", dir, keys[i]);

		k = xn_schema_lookup(path);
		if (k == NULL || strcmp(k->syntax, "DIR") == 0)
			return xn_error(err, EINVAL, "record %s: %s: not in the xenstore schema",
					dir, keys[i]);
		if (vals[i] == NULL ||
		    xn_schema_check_value(k, vals[i], strlen(vals[i]), err) < 0) {
			if (vals[i] == NULL)
				xn_error(err, EINVAL, "no value");
			return xn_error_wrap(err, "record %s: %s", dir, keys[i]);
		}
	}
	if (with_tx(st, record_put_body, &a, err) < 0)
		return xn_error_wrap(err, "record %s", dir);
	return 0;
}

int xn_store_record_get(struct xn_store *st, const char *path, char **val, xn_err *err)
{
	const struct xn_schema_key *k = xn_schema_lookup(path ? path : "");
	char *v = NULL;
	size_t len;

	*val = NULL;
	if (k == NULL || strcmp(k->perms, "n") != 0 || strcmp(k->syntax, "DIR") == 0)
		return xn_error(err, EINVAL, "%s: not a Dom0 key of the xenstore schema",
				path ? path : "");
	if (st->ops->get(st, 0, path, &v, &len, err) < 0)
		return -1;
	if (xn_schema_check_value(k, v, len, err) < 0) {
		free(v);
		return xn_error_wrap(err, "%s", path);
	}
	*val = v;
	return 0;
}

/* --- guest areas ---------------------------------------------------------- */

static char *cfg_dir(uint32_t domid)
{
	return xn_xasprintf("/local/domain/%" PRIu32 "/xenlet", domid);
}
static char *data_dir(uint32_t domid)
{
	return xn_xasprintf("/local/domain/%" PRIu32 "/data/xenlet", domid);
}

struct cfg_arg {
	uint32_t domid;
	const char *dir;
	const char *const *keys, *const *vals;
};

static int cfg_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	struct cfg_arg *a = arg;
	const struct xn_store_perm guest_ro[] = {{0, XN_STORE_NONE}, {a->domid, XN_STORE_READ}};

	if (ensure_dir(st, tx, a->dir, guest_ro, 2, err) < 0)
		return -1;
	for (size_t i = 0; a->keys[i] != NULL; i++) {
		cleanup_free char *path = xn_xasprintf("%s/%s", a->dir, a->keys[i]);
		char *slash = strrchr(path, '/');

		/* intermediate directories (env/) get the same permissions */
		for (char *p = path + strlen(a->dir) + 1; p < slash; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (ensure_dir(st, tx, path, guest_ro, 2, err) < 0)
				return -1;
			*p = '/';
		}
		*slash = '\0';
		if (strcmp(path, a->dir) != 0 && ensure_dir(st, tx, path, guest_ro, 2, err) < 0)
			return -1;
		*slash = '/';
		if (put_checked(st, tx, path, a->vals[i], err) < 0 ||
		    st->ops->set_perms(st, tx, path, guest_ro, 2, err) < 0)
			return -1;
	}
	return 0;
}

int xn_store_guest_config_put(struct xn_store *st, uint32_t domid, const char *const *keys,
			      const char *const *vals, xn_err *err)
{
	cleanup_free char *dir = cfg_dir(domid);
	struct cfg_arg a = {domid, dir, keys, vals};

	if (xn_schema_lookup(dir) == NULL || domid == 0)
		return xn_error(err, EINVAL, "guest config: domid %" PRIu32 " out of range", domid);
	for (size_t i = 0; keys[i] != NULL; i++) {
		cleanup_free char *path = xn_xasprintf("%s/%s", dir, keys[i]);
		const struct xn_schema_key *k = xn_schema_lookup(path);

		if (vals[i] == NULL)
			return xn_error(err, EINVAL, "domain %" PRIu32 ": xenlet/%s: no value",
					domid, keys[i]);
		if (k == NULL || strcmp(k->perms, "r") != 0 || strcmp(k->syntax, "DIR") == 0)
			return xn_error(err, EINVAL,
					"domain %" PRIu32 ": xenlet/%s: not a guest config key "
					"of the xenstore schema",
					domid, keys[i]);
		if (xn_schema_check_value(k, vals[i], strlen(vals[i]), err) < 0)
			return xn_error_wrap(err, "domain %" PRIu32 ": xenlet/%s", domid, keys[i]);
	}
	if (with_tx(st, cfg_body, &a, err) < 0)
		return xn_error_wrap(err, "domain %" PRIu32 ": guest config", domid);
	return 0;
}

struct data_arg {
	uint32_t domid;
	const char *dir;
};

static int data_init_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	struct data_arg *a = arg;
	const struct xn_store_perm guest_owned[] = {{a->domid, XN_STORE_NONE}};

	return ensure_dir(st, tx, a->dir, guest_owned, 1, err);
}

int xn_store_guest_data_init(struct xn_store *st, uint32_t domid, xn_err *err)
{
	cleanup_free char *dir = data_dir(domid);
	struct data_arg a = {domid, dir};

	if (xn_schema_lookup(dir) == NULL || domid == 0)
		return xn_error(err, EINVAL, "guest data: domid %" PRIu32 " out of range", domid);
	if (with_tx(st, data_init_body, &a, err) < 0)
		return xn_error_wrap(err, "domain %" PRIu32 ": guest data area", domid);
	return 0;
}

int xn_store_guest_data_get(struct xn_store *st, uint32_t domid, const char *key, char **val,
			    xn_err *err)
{
	cleanup_free char *dir = data_dir(domid);
	cleanup_free char *path = xn_xasprintf("%s/%s", dir, key ? key : "");
	const struct xn_schema_key *k = xn_schema_lookup(path);
	char *v = NULL;
	size_t len;
	xn_err e = NULL;

	*val = NULL;
	if (k == NULL || strcmp(k->writer, "guest") != 0)
		return xn_error(err, EINVAL,
				"domain %" PRIu32 ": data/xenlet/%s: not a guest data key "
				"of the xenstore schema",
				domid, key ? key : "");
	if (st->ops->get(st, 0, path, &v, &len, &e) < 0) {
		xn_error(err, e->status, "domain %" PRIu32 ": data/xenlet/%s: %s", domid, key,
			 e->status == ENOENT ? "not set" : xn_error_msg(e));
		xn_error_free(&e);
		return -1;
	}
	if (xn_schema_check_value(k, v, len, err) < 0) {
		free(v);
		return xn_error_wrap(err, "domain %" PRIu32 ": data/xenlet/%s", domid, key);
	}
	*val = v;
	return 0;
}

static int cleanup_body(struct xn_store *st, uint32_t tx, void *arg, xn_err *err)
{
	uint32_t domid = *(uint32_t *)arg;
	cleanup_free char *cfg = cfg_dir(domid);
	cleanup_free char *data = data_dir(domid);

	if (st->ops->rm(st, tx, cfg, err) < 0 || st->ops->rm(st, tx, data, err) < 0)
		return -1;
	return 0;
}

int xn_store_guest_cleanup(struct xn_store *st, uint32_t domid, xn_err *err)
{
	if (with_tx(st, cleanup_body, &domid, err) < 0)
		return xn_error_wrap(err, "domain %" PRIu32 ": xenstore cleanup", domid);
	return 0;
}
