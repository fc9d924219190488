/* test_store.c - the store API on the mem backend (and xs when in a Dom0). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "testutil.h"
#include "xenlet/err.h"
#include "xenlet/hv.h"
#include "xenlet/store.h"
#include "xenlet/util.h"

struct fx {
	struct event_base *base;
	struct xn_store *st;
};

static int setup(void **state)
{
	struct fx *f = xn_xcalloc(1, sizeof(*f));
	xn_err err = NULL;

	unsetenv("XN_STORE_MEM_FILE");
	f->base = event_base_new();
	f->st = xn_store_open("mem", f->base, &err);
	if (f->st == NULL)
		fail_msg("open mem: %s", xn_error_msg(err));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	xn_store_close(f->st);
	event_base_free(f->base);
	free(f);
	return 0;
}

#define OK(call)                                                                                   \
	do {                                                                                       \
		xn_err err_ = NULL;                                                                \
		if ((call) < 0)                                                                    \
			fail_msg("%s: %s", #call, xn_error_msg(err_));                             \
	} while (0)
/* use as OK(fn(..., &err_)) */

static void assert_get(struct xn_store *st, const char *path, const char *want)
{
	char *v = NULL;
	xn_err err = NULL;

	if (xn_store_get(st, path, &v, &err) < 0)
		fail_msg("get %s: %s", path, xn_error_msg(err));
	assert_string_equal(v, want);
	free(v);
}

static void assert_absent(struct xn_store *st, const char *path)
{
	char *v = NULL;
	xn_err err = NULL;

	assert_int_equal(xn_store_get(st, path, &v, &err), -1);
	assert_int_equal(err->status, ENOENT);
	assert_null(v);
	xn_error_free(&err);
}

/* err's message contains want; frees err */
static void assert_err(xn_err *err, const char *want)
{
	assert_non_null(*err);
	if (strstr(xn_error_msg(*err), want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", xn_error_msg(*err), want);
	xn_error_free(err);
}

static void raw_get_set_rm_list(void **state)
{
	struct xn_store *st = ((struct fx *)*state)->st;
	char **names = NULL;
	size_t n = 0;
	xn_err err = NULL;

	assert_string_equal(xn_store_backend_name(st), "mem");
	OK(xn_store_set(st, "/a/b/c", "x", &err_));
	OK(xn_store_set(st, "/a-x", "dash", &err_));
	OK(xn_store_set(st, "/a/z", "z", &err_));
	assert_get(st, "/a/b/c", "x");
	assert_get(st, "/a/b", ""); /* created as parent, like xenstored */
	OK(xn_store_list(st, "/a", &names, &n, &err_));
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "b");
	assert_string_equal(names[1], "z");
	assert_null(names[2]);
	xn_store_list_free(names);
	OK(xn_store_rm(st, "/a", &err_));
	assert_absent(st, "/a/b/c");
	assert_absent(st, "/a");
	assert_get(st, "/a-x", "dash");	  /* a sibling sharing the prefix survives */
	OK(xn_store_rm(st, "/a", &err_)); /* already gone: fine */
	assert_int_equal(xn_store_list(st, "/a", &names, &n, &err), -1);
	assert_int_equal(err->status, ENOENT);
	xn_error_free(&err);

	assert_int_equal(xn_store_set(st, "a/b", "x", &err), -1);
	assert_err(&err, "not absolute");
	assert_int_equal(xn_store_set(st, "/a//b", "x", &err), -1);
	assert_err(&err, "empty component");
	assert_int_equal(xn_store_set(st, "/a/", "x", &err), -1);
	assert_err(&err, "empty component");
	assert_int_equal(xn_store_set(st, "/a.b", "x", &err), -1);
	assert_err(&err, "character not in");
	assert_null(xn_store_open("nope", ((struct fx *)*state)->base, &err));
	assert_err(&err, "store backend \"nope\": unknown");
}

static struct xn_pod_record full_record(const char *uid)
{
	struct xn_pod_record r = {
	    .uid = xn_xstrdup(uid),
	    .ns = xn_xstrdup("default"),
	    .name = xn_xstrdup("web.v1"),
	    .domain = xn_xstrdup("default-web-1"),
	    .domid = 12,
	    .image_digest = xn_xasprintf("sha256:%064d", 7),
	    .ip = xn_xstrdup("10.244.1.5"),
	    .mac = xn_xstrdup("00:16:3e:0a:0b:0c"),
	    .restart_count = 3,
	    .last_exit = 137,
	    .last_reason = xn_xstrdup("crash"),
	    .started_at = 1700000000,
	    .finished_at = 1699999000,
	};
	return r;
}

static void assert_record_equal(const struct xn_pod_record *a, const struct xn_pod_record *b)
{
#define S(f)                                                                                       \
	if (a->f == NULL || b->f == NULL)                                                          \
		assert_ptr_equal(a->f, b->f);                                                      \
	else                                                                                       \
		assert_string_equal(a->f, b->f)
	S(uid);
	S(ns);
	S(name);
	S(domain);
	S(image_digest);
	S(ip);
	S(mac);
	S(last_reason);
#undef S
	assert_int_equal(a->domid, b->domid);
	assert_int_equal(a->restart_count, b->restart_count);
	assert_int_equal(a->last_exit, b->last_exit);
	assert_int_equal(a->started_at, b->started_at);
	assert_int_equal(a->finished_at, b->finished_at);
}

static void pod_record_round_trip(void **state)
{
	struct xn_store *st = ((struct fx *)*state)->st;
	struct xn_pod_record a = full_record("0b1c2d3e-aaaa-bbbb-cccc-000000000001"), got;
	struct xn_pod_record b = {
	    .uid = xn_xstrdup("static-1"),
	    .ns = xn_xstrdup("kube-system"),
	    .name = xn_xstrdup("dns"),
	    .domain = xn_xstrdup("kube-system-dns"),
	    .domid = XN_DOMID_INVALID,
	    .last_exit = -1,
	};
	struct xn_pod_record *all = NULL;
	size_t n = 0;
	xn_err err = NULL;

	OK(xn_store_pod_put(st, &a, &err_));
	OK(xn_store_pod_put(st, &b, &err_));
	assert_get(st, "/xenlet/pods/0b1c2d3e-aaaa-bbbb-cccc-000000000001/domid", "12");
	assert_absent(st, "/xenlet/pods/static-1/domid"); /* optional: absent */

	OK(xn_store_pod_get(st, a.uid, &got, &err_));
	assert_record_equal(&a, &got);
	xn_pod_record_dispose(&got);
	OK(xn_store_pod_get(st, b.uid, &got, &err_));
	assert_record_equal(&b, &got);
	xn_pod_record_dispose(&got);

	/* a put replaces the record: fields cleared in it disappear */
	free(a.ip);
	a.ip = NULL;
	a.restart_count = 4;
	OK(xn_store_pod_put(st, &a, &err_));
	assert_absent(st, "/xenlet/pods/0b1c2d3e-aaaa-bbbb-cccc-000000000001/ip");

	OK(xn_store_pod_list(st, &all, &n, &err_));
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_record_equal(strcmp(all[i].uid, a.uid) == 0 ? &a : &b, &all[i]);
		xn_pod_record_dispose(&all[i]);
	}
	free(all);

	OK(xn_store_pod_del(st, b.uid, &err_));
	OK(xn_store_pod_list(st, &all, &n, &err_));
	assert_int_equal(n, 1);
	xn_pod_record_dispose(&all[0]);
	free(all);
	assert_int_equal(xn_store_pod_get(st, b.uid, &got, &err), -1);
	assert_int_equal(err->status, ENOENT);
	xn_error_free(&err);

	/* bad values are refused before anything is written */
	free(b.ns);
	b.ns = xn_xstrdup("Not_A_Label");
	assert_int_equal(xn_store_pod_put(st, &b, &err), -1);
	assert_err(&err, "pod record static-1: namespace: bad syntax");
	assert_absent(st, "/xenlet/pods/static-1");
	free(b.uid);
	b.uid = xn_xstrdup("../etc");
	assert_int_equal(xn_store_pod_put(st, &b, &err), -1);
	assert_err(&err, "pod uid \"../etc\": not a valid uid");

	/* a damaged record names the key */
	OK(xn_store_rm(st, "/xenlet/pods/0b1c2d3e-aaaa-bbbb-cccc-000000000001/domain", &err_));
	assert_int_equal(xn_store_pod_get(st, a.uid, &got, &err), -1);
	assert_err(&err, "domain: missing");
	OK(xn_store_set(st, "/xenlet/pods/0b1c2d3e-aaaa-bbbb-cccc-000000000001/domain", "d",
			&err_));
	OK(xn_store_set(st, "/xenlet/pods/0b1c2d3e-aaaa-bbbb-cccc-000000000001/domid", "99999",
			&err_));
	assert_int_equal(xn_store_pod_get(st, a.uid, &got, &err), -1);
	assert_err(&err, "domid: bad syntax");
	assert_int_equal(xn_store_pod_list(st, &all, &n, &err), -1);
	assert_err(&err, "domid: bad syntax");

	xn_pod_record_dispose(&a);
	xn_pod_record_dispose(&b);
}

static void assert_perms(struct xn_store *st, const char *path, size_t n,
			 const struct xn_store_perm *want)
{
	struct xn_store_perm *p = NULL;
	size_t np = 0;
	xn_err err = NULL;

	if (xn_store_get_perms(st, path, &p, &np, &err) < 0)
		fail_msg("perms of %s: %s", path, xn_error_msg(err));
	assert_int_equal(np, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(p[i].domid, want[i].domid);
		assert_int_equal(p[i].access, want[i].access);
	}
	free(p);
}

static void guest_area_permissions(void **state)
{
	struct xn_store *st = ((struct fx *)*state)->st;
	const char *keys[] = {"ip", "gateway", "dns", "hostname", "env/FOO", NULL};
	const char *vals[] = {"10.0.0.2", "10.0.0.1", "10.96.0.10,10.96.0.11",
			      "web",	  "a b\nc",   NULL};
	const struct xn_store_perm ro[] = {{0, XN_STORE_NONE}, {7, XN_STORE_READ}};
	const struct xn_store_perm rw[] = {{7, XN_STORE_NONE}};
	const struct xn_store_perm n0[] = {{0, XN_STORE_NONE}};
	struct xn_pod_record r = full_record("u1");
	xn_err err = NULL;

	OK(xn_store_guest_config_put(st, 7, keys, vals, &err_));
	assert_get(st, "/local/domain/7/xenlet/env/FOO", "a b\nc");
	assert_perms(st, "/local/domain/7/xenlet", 2, ro);
	assert_perms(st, "/local/domain/7/xenlet/ip", 2, ro);
	assert_perms(st, "/local/domain/7/xenlet/env", 2, ro);
	assert_perms(st, "/local/domain/7/xenlet/env/FOO", 2, ro);
	OK(xn_store_guest_data_init(st, 7, &err_));
	assert_perms(st, "/local/domain/7/data/xenlet", 1, rw);
	/* what the guest creates below inherits its ownership */
	OK(xn_store_set(st, "/local/domain/7/data/xenlet/ready", "1", &err_));
	assert_perms(st, "/local/domain/7/data/xenlet/ready", 1, rw);
	OK(xn_store_pod_put(st, &r, &err_));
	assert_perms(st, "/xenlet", 1, n0);
	assert_perms(st, "/xenlet/pods/u1", 1, n0);
	assert_perms(st, "/xenlet/pods/u1/ip", 1, n0);
	xn_pod_record_dispose(&r);

	/* config keys outside the schema or with bad values change nothing */
	const char *bad_key[] = {"ip", "shell", NULL}, *bad_key_v[] = {"10.0.0.3", "x", NULL};
	assert_int_equal(xn_store_guest_config_put(st, 7, bad_key, bad_key_v, &err), -1);
	assert_err(&err, "domain 7: xenlet/shell: not a guest config key");
	const char *bad_val[] = {"gateway", NULL}, *bad_val_v[] = {"10.0.0", NULL};
	assert_int_equal(xn_store_guest_config_put(st, 7, bad_val, bad_val_v, &err), -1);
	assert_err(&err, "domain 7: xenlet/gateway: bad syntax (want IPV4_ADDRESS)");
	assert_get(st, "/local/domain/7/xenlet/ip", "10.0.0.2");
	assert_get(st, "/local/domain/7/xenlet/gateway", "10.0.0.1");

	OK(xn_store_guest_cleanup(st, 7, &err_));
	assert_absent(st, "/local/domain/7/xenlet");
	assert_absent(st, "/local/domain/7/data/xenlet");
	assert_get(st, "/xenlet/pods/u1/ip", "10.244.1.5"); /* Dom0's record stays */
}

struct data_case {
	const char *key, *val; /* val NULL: leave unset */
	const char *want_err;  /* NULL: accepted */
};

static void guest_data_validation(void **state)
{
	struct xn_store *st = ((struct fx *)*state)->st;
	char long_msg[258];
	static const struct data_case cases[] = {
	    {"ready", "1", NULL},
	    {"ready", "0", NULL},
	    {"ready", "2", "data/xenlet/ready: bad syntax"},
	    {"ready", "yes", "data/xenlet/ready: value too long (3 bytes, max 1)"},
	    {"ready", "", "data/xenlet/ready: bad syntax"},
	    {"exit-code", "0", NULL},
	    {"exit-code", "255", NULL},
	    {"exit-code", "256", "data/xenlet/exit-code: bad syntax (want INTEGER(0..255))"},
	    {"exit-code", "-1", "data/xenlet/exit-code: bad syntax"},
	    {"exit-code", "007", "data/xenlet/exit-code: bad syntax"},
	    {"exit-code", "1000", "data/xenlet/exit-code: value too long (4 bytes, max 3)"},
	    {"status-message", "serving on :8080", NULL},
	    {"status-message", "caf\xc3\xa9 ok \xe2\x9c\x93", NULL},
	    {"status-message", "red \x1b[31m", "data/xenlet/status-message: bad syntax"},
	    {"status-message", "tab\there", "data/xenlet/status-message: bad syntax"},
	    {"status-message", "bad \xff utf8", "data/xenlet/status-message: bad syntax"},
	    {"status-message", "overlong \xc0\xaf", "data/xenlet/status-message: bad syntax"},
	    {"status-message", "c1 \xc2\x9b", "data/xenlet/status-message: bad syntax"},
	    {"metrics/requests_total", "12", NULL},
	    {"metrics/cpu_seconds", "-0.25", NULL},
	    {"metrics/cpu_seconds", "1e9", "data/xenlet/metrics/cpu_seconds: bad syntax"},
	    {"metrics/9lives", "1", "data/xenlet/metrics/9lives: not a guest data key"},
	    {"shell", "rm -rf", "data/xenlet/shell: not a guest data key"},
	    {"../xenlet/ip", "1", "not a guest data key"},
	    {"exit-code", NULL, "data/xenlet/exit-code: not set"},
	};
	xn_err err = NULL;
	char *v = NULL;

	OK(xn_store_guest_data_init(st, 9, &err_));
	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		const struct data_case *c = &cases[i];
		cleanup_free char *path = xn_xasprintf("/local/domain/9/data/xenlet/%s", c->key);
		int r;

		if (c->val != NULL)
			xn_store_set(st, path, c->val, NULL); /* as the guest would */
		else
			OK(xn_store_rm(st, path, &err_));
		r = xn_store_guest_data_get(st, 9, c->key, &v, &err);
		if (c->want_err == NULL) {
			if (r < 0)
				fail_msg("case %zu (%s=%s): %s", i, c->key, c->val,
					 xn_error_msg(err));
			assert_string_equal(v, c->val);
			free(v);
			continue;
		}
		if (r == 0)
			fail_msg("case %zu (%s): accepted, want \"%s\"", i, c->key, c->want_err);
		assert_null(v);
		assert_err(&err, c->want_err);
	}
	memset(long_msg, 'a', 257);
	long_msg[257] = '\0';
	OK(xn_store_set(st, "/local/domain/9/data/xenlet/status-message", long_msg, &err_));
	assert_int_equal(xn_store_guest_data_get(st, 9, "status-message", &v, &err), -1);
	assert_err(&err,
		   "domain 9: data/xenlet/status-message: value too long (257 bytes, max 256)");
	long_msg[256] = '\0';
	OK(xn_store_set(st, "/local/domain/9/data/xenlet/status-message", long_msg, &err_));
	OK(xn_store_guest_data_get(st, 9, "status-message", &v, &err_));
	assert_int_equal(strlen(v), 256);
	free(v);
}

struct hits {
	char *paths[16];
	size_t n;
};

static void on_watch(struct xn_store *st, const char *path, void *arg)
{
	struct hits *h = arg;

	if (h->n < XN_ARRAY_SIZE(h->paths))
		h->paths[h->n++] = xn_xstrdup(path);
}

static void hits_clear(struct hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->paths[i]);
	h->n = 0;
}

static void watches_fire_for_subtree_from_the_loop(void **state)
{
	struct fx *f = *state;
	struct hits h = {0};
	xn_err err = NULL;
	int id;

	OK(xn_store_guest_data_init(f->st, 5, &err_));
	id = xn_store_watch(f->st, "/local/domain/5/data/xenlet", on_watch, &h, &err);
	assert_true(id >= 0);
	assert_int_equal(h.n, 0); /* never from inside the call */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(h.n, 1); /* the initial event, as xs_watch gives */
	assert_string_equal(h.paths[0], "/local/domain/5/data/xenlet");
	hits_clear(&h);

	OK(xn_store_set(f->st, "/local/domain/5/data/xenlet/ready", "1", &err_));
	OK(xn_store_set(f->st, "/local/domain/6/data/xenlet/ready", "1", &err_));
	OK(xn_store_set(f->st, "/local/domain/5/data/xenlet-other", "1", &err_));
	OK(xn_store_set(f->st, "/local/domain/5/data/xenlet/metrics/rps", "3", &err_));
	assert_int_equal(h.n, 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.paths[0], "/local/domain/5/data/xenlet/ready");
	assert_string_equal(h.paths[1], "/local/domain/5/data/xenlet/metrics/rps");
	hits_clear(&h);

	/* removing an ancestor fires the watch with its own path */
	OK(xn_store_rm(f->st, "/local/domain/5", &err_));
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.paths[0], "/local/domain/5/data/xenlet");
	hits_clear(&h);

	xn_store_unwatch(f->st, id);
	OK(xn_store_set(f->st, "/local/domain/5/data/xenlet/ready", "0", &err_));
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(h.n, 0);
}

static void transaction_retries_on_eagain(void **state)
{
	struct fx *f = *state;
	struct xn_pod_record r = full_record("tx-1"), got;
	struct hits h = {0};
	xn_err err = NULL;

	/* conflicts below the bound: the loop retries and the commit lands */
	OK(xn_store_mem_fail_commits(f->st, XN_STORE_TX_RETRIES - 1));
	OK(xn_store_pod_put(f->st, &r, &err_));
	OK(xn_store_pod_get(f->st, "tx-1", &got, &err_));
	assert_record_equal(&r, &got);
	xn_pod_record_dispose(&got);

	/* conflicts every time: give up with EAGAIN, nothing changed, no events */
	assert_true(xn_store_watch(f->st, "/xenlet", on_watch, &h, &err) >= 0);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	hits_clear(&h);
	r.restart_count = 99;
	OK(xn_store_mem_fail_commits(f->st, XN_STORE_TX_RETRIES));
	assert_int_equal(xn_store_pod_put(f->st, &r, &err), -1);
	assert_int_equal(err->status, EAGAIN);
	assert_err(&err, "still conflicting after 16 attempts");
	assert_get(f->st, "/xenlet/pods/tx-1/restart-count", "3");
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(h.n, 0);

	/* and the next commit goes through and is seen by the watch */
	OK(xn_store_pod_put(f->st, &r, &err_));
	assert_get(f->st, "/xenlet/pods/tx-1/restart-count", "99");
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_true(h.n > 0);
	hits_clear(&h);
	xn_pod_record_dispose(&r);
}

static void node_records(void **state)
{
	struct xn_store *st = ((struct fx *)*state)->st;
	xn_err err = NULL;
	char *v = NULL;

	OK(xn_store_node_set(st, "name", "node-1.example", &err_));
	OK(xn_store_node_set(st, "boot-id", "0f4e4a4c-1b2a-4c3d-8e9f-a0b1c2d3e4f5", &err_));
	OK(xn_store_node_get(st, "name", &v, &err_));
	assert_string_equal(v, "node-1.example");
	free(v);
	assert_int_equal(xn_store_node_set(st, "boot-id", "not-a-uuid", &err), -1);
	assert_err(&err, "/xenlet/node/boot-id: bad syntax (want UUID)");
	assert_int_equal(xn_store_node_set(st, "colour", "blue", &err), -1);
	assert_err(&err, "node record key \"colour\": not in the xenstore schema");
}

static void persistence_file_round_trip(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = NULL, *journal = NULL;
	struct xn_pod_record r = full_record("persist-1"), got;
	const struct xn_store_perm rw[] = {{4, XN_STORE_NONE}};
	/* what JSON must escape, and UTF-8 */
	const char odd[] = "q\"uote \\back\nline\ttab\r\x01\x1f\x7f \xc3\xa9t\xc3\xa9 /*";
	struct xn_store *st;
	xn_err err = NULL;

	assert_non_null(mkdtemp(dir));
	file = xn_xasprintf("%s/store.json", dir);
	journal = xn_xasprintf("%s.journal", file);
	setenv("XN_STORE_MEM_FILE", file, 1);

	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	OK(xn_store_pod_put(st, &r, &err_));
	OK(xn_store_guest_data_init(st, 4, &err_));
	OK(xn_store_set(st, "/local/domain/4/data/xenlet/ready", "1", &err_));
	OK(xn_store_set(st, "/local/domain/4/xenlet/env/Q", odd, &err_));
	xn_store_close(st);
	assert_int_equal(access(journal, F_OK), 0);

	st = xn_store_open("mem", f->base, &err); /* the "restarted daemon" */
	assert_non_null(st);
	OK(xn_store_pod_get(st, "persist-1", &got, &err_));
	assert_record_equal(&r, &got);
	xn_pod_record_dispose(&got);
	assert_perms(st, "/local/domain/4/data/xenlet/ready", 1, rw);
	assert_get(st, "/local/domain/4/data/xenlet/ready", "1");
	assert_get(st, "/local/domain/4/xenlet/env/Q", odd);
	OK(xn_store_pod_del(st, "persist-1", &err_));
	xn_store_close(st);

	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	assert_absent(st, "/xenlet/pods/persist-1");
	xn_store_close(st);

	xn_test_write(file, "{\"nodes\": [");
	assert_null(xn_store_open("mem", f->base, &err));
	assert_err(&err, "store.json: not valid JSON");
	xn_test_write(file,
		      "{\"nodes\": [{\"path\": \"/x\", \"value\": \"\", \"perms\": [\"q0\"]}]}");
	assert_null(xn_store_open("mem", f->base, &err));
	assert_err(&err, "nodes[0]: bad permission");

	unsetenv("XN_STORE_MEM_FILE");
	unlink(file);
	unlink(journal);
	rmdir(dir);
	xn_pod_record_dispose(&r);
}

/* Every node below path as "path=value perms" lines, in order. */
static void dump_tree(struct xn_store *st, const char *path, char **out)
{
	struct xn_store_perm *perms = NULL;
	char **names = NULL, *val = NULL, *line;
	size_t n = 0, np = 0;
	xn_err err = NULL;

	if (xn_store_get(st, path, &val, &err) < 0 ||
	    xn_store_get_perms(st, path, &perms, &np, &err) < 0 ||
	    xn_store_list(st, path, &names, &n, &err) < 0)
		fail_msg("dump %s: %s", path, xn_error_msg(err));
	line = xn_xasprintf("%s%s=%s", *out, path, val);
	for (size_t i = 0; i < np; i++) {
		char *l2 = xn_xasprintf("%s %u:%d", line, perms[i].domid, perms[i].access);
		free(line);
		line = l2;
	}
	free(*out);
	*out = xn_xasprintf("%s\n", line);
	free(line);
	for (size_t i = 0; i < n; i++) {
		char *child = strcmp(path, "/") == 0 ? xn_xasprintf("/%s", names[i])
						     : xn_xasprintf("%s/%s", path, names[i]);
		dump_tree(st, child, out);
		free(child);
	}
	xn_store_list_free(names);
	free(perms);
	free(val);
}

/* A transaction that never commits leaves the tree exactly as it was:
 * replaced and removed records, new nodes with new parents, permissions. */
static void failed_transactions_change_nothing(void **state)
{
	struct fx *f = *state;
	const char *keys[] = {"ip", "env/FOO", NULL}, *vals[] = {"10.0.0.2", "x", NULL};
	const char *keys2[] = {"ip", "env/BAR", "hostname", NULL};
	const char *vals2[] = {"10.0.0.3", "y", "web", NULL};
	struct xn_pod_record a = full_record("tx-a"), b = full_record("tx-a");
	struct xn_pod_record c = full_record("tx-new");
	char *before = xn_xstrdup(""), *after = xn_xstrdup("");
	xn_err err = NULL;

	OK(xn_store_pod_put(f->st, &a, &err_));
	OK(xn_store_guest_config_put(f->st, 5, keys, vals, &err_));
	OK(xn_store_node_set(f->st, "name", "node-1.example", &err_));
	dump_tree(f->st, "/", &before);

	free(b.ip);
	b.ip = NULL; /* the replacement drops a key */
	b.restart_count = 9;
	OK(xn_store_mem_fail_commits(f->st, 4 * XN_STORE_TX_RETRIES));
	assert_int_equal(xn_store_pod_put(f->st, &b, &err), -1);
	xn_error_free(&err);
	assert_int_equal(xn_store_pod_put(f->st, &c, &err), -1);
	xn_error_free(&err);
	assert_int_equal(xn_store_guest_config_put(f->st, 5, keys2, vals2, &err), -1);
	xn_error_free(&err);
	assert_int_equal(xn_store_guest_data_init(f->st, 6, &err), -1);
	xn_error_free(&err);
	OK(xn_store_mem_fail_commits(f->st, 0));
	dump_tree(f->st, "/", &after);
	assert_string_equal(before, after);

	/* and one that commits changes it */
	OK(xn_store_pod_put(f->st, &b, &err_));
	assert_absent(f->st, "/xenlet/pods/tx-a/ip");
	assert_get(f->st, "/xenlet/pods/tx-a/restart-count", "9");
	free(before);
	free(after);
	xn_pod_record_dispose(&a);
	xn_pod_record_dispose(&b);
	xn_pod_record_dispose(&c);
}

#define BURST 40

static char *burst_uid(int i)
{
	return xn_xasprintf("burst-%d", i);
}

static void burst_put(struct xn_store *st, int i, xn_err *err)
{
	cleanup_free char *uid = burst_uid(i);
	struct xn_pod_record r = full_record(uid);

	r.domid = (uint32_t)(100 + i);
	if (xn_store_pod_put(st, &r, err) < 0)
		fail_msg("pod_put %s: %s", uid, xn_error_msg(*err));
	xn_pod_record_dispose(&r);
}

static void assert_burst_records(struct event_base *base, int n)
{
	struct xn_store *st;
	xn_err err = NULL;

	st = xn_store_open("mem", base, &err); /* the "restarted daemon" */
	if (st == NULL)
		fail_msg("reopen: %s", xn_error_msg(err));
	for (int i = 0; i < n; i++) {
		cleanup_free char *uid = burst_uid(i);
		struct xn_pod_record got;

		if (xn_store_pod_get(st, uid, &got, &err) < 0)
			fail_msg("record %s lost: %s", uid, xn_error_msg(err));
		assert_int_equal(got.domid, 100 + i);
		xn_pod_record_dispose(&got);
	}
	xn_store_close(st);
}

static char *temp_store_file(char *dir)
{
	if (mkdtemp(dir) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	return xn_xasprintf("%s/store.json", dir);
}

static void remove_temp_store(const char *dir, const char *file)
{
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", file);
	cleanup_free char *journal = xn_xasprintf("%s.journal", file);

	unsetenv("XN_STORE_MEM_FILE");
	unlink(file);
	unlink(journal);
	rmdir(tmp);
	rmdir(journal);
	rmdir(dir);
}

/* A burst of changes in one loop turn is written once, at the end of the
 * turn, not once per key (it was: a file rewrite and an fsync per key made
 * up half of the daemon's CPU under a burst of pods). */
static void persistence_once_per_loop_turn(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = temp_store_file(dir);
	struct xn_store *st;
	xn_err err = NULL;

	setenv("XN_STORE_MEM_FILE", file, 1);
	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	for (int i = 0; i < BURST; i++) {
		burst_put(st, i, &err);
		OK(xn_store_set(st, "/xenlet/node/burst", "x", &err_));
	}
	assert_int_equal(xn_store_mem_file_writes(st), 0); /* not inside the turn */
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(xn_store_mem_file_writes(st), 1);
	assert_burst_records(f->base, BURST);	   /* what the file holds */
	event_base_loop(f->base, EVLOOP_NONBLOCK); /* nothing left to write */
	assert_int_equal(xn_store_mem_file_writes(st), 1);

	/* flush writes at once, and only what has changed */
	OK(xn_store_set(st, "/xenlet/node/burst", "y", &err_));
	OK(xn_store_flush(st, &err_));
	assert_int_equal(xn_store_mem_file_writes(st), 2);
	OK(xn_store_flush(st, &err_));
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(xn_store_mem_file_writes(st), 2);
	xn_store_close(st);
	remove_temp_store(dir, file);
}

/* A daemon killed with SIGKILL once the loop turn that created its pods'
 * records is over finds every record after its restart. */
static void persistence_survives_sigkill(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = temp_store_file(dir);
	int status;
	pid_t pid;

	setenv("XN_STORE_MEM_FILE", file, 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct event_base *b = event_base_new();
		xn_err err = NULL;
		struct xn_store *st = b ? xn_store_open("mem", b, &err) : NULL;

		if (st == NULL)
			_exit(2);
		for (int i = 0; i < BURST; i++)
			burst_put(st, i, &err);
		event_base_loop(b, EVLOOP_NONBLOCK); /* the turn ends ... */
		raise(SIGKILL);			     /* ... and the daemon is killed */
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_burst_records(f->base, BURST);
	remove_temp_store(dir, file);
}

static ino_t inode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

static off_t size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* A store opened from the files shows the same tree as the live one. */
static void assert_files_match(struct event_base *base, struct xn_store *live)
{
	char *want = xn_xstrdup(""), *got = xn_xstrdup("");
	struct xn_store *st;
	xn_err err = NULL;

	st = xn_store_open("mem", base, &err);
	if (st == NULL)
		fail_msg("reopen: %s", xn_error_msg(err));
	dump_tree(live, "/", &want);
	dump_tree(st, "/", &got);
	assert_string_equal(want, got);
	xn_store_close(st);
	free(want);
	free(got);
}

/* A turn's changes go to the journal, not into a rewrite of the whole
 * file; once the journal has outgrown the file, the file is rewritten and
 * the journal emptied. */
static void journal_appends_then_compacts(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = temp_store_file(dir);
	cleanup_free char *journal = xn_xasprintf("%s.journal", file);
	struct xn_store *st;
	xn_err err = NULL;
	ino_t ino;
	int turns = 0;

	setenv("XN_STORE_MEM_FILE", file, 1);
	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	for (int i = 0; i < 20; i++)
		burst_put(st, i, &err);
	OK(xn_store_flush(st, &err_)); /* the first write: a journal */
	xn_store_close(st);
	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	assert_int_equal(access(file, F_OK), -1); /* only read so far */
	OK(xn_store_set(st, "/xenlet/node/name", "c", &err_));
	event_base_loop(f->base, EVLOOP_NONBLOCK); /* folds the journal into the file */
	ino = inode_of(file);
	assert_true(ino != 0);
	assert_int_equal(size_of(journal), 0);

	/* small turns: appended, the file stays as it is */
	for (int i = 0; i < 5; i++) {
		off_t before = size_of(journal);

		OK(xn_store_set(st, "/xenlet/node/name", i % 2 ? "a" : "b", &err_));
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_true(size_of(journal) > before);
		assert_true(inode_of(file) == ino);
	}
	assert_files_match(f->base, st);
	/* until the journal has outgrown the file */
	while (inode_of(file) == ino && turns++ < 10000) {
		burst_put(st, turns % 20, &err);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	assert_true(inode_of(file) != ino);
	assert_true(turns > 20);
	assert_true(size_of(journal) < size_of(file));
	assert_files_match(f->base, st);
	xn_store_close(st);
	remove_temp_store(dir, file);
}

/* Random writes, removals, permissions and failed transactions over many
 * turns: what the files hold after each turn is the live tree. */
static void journal_replays_to_the_live_tree(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = temp_store_file(dir);
	static const char *const paths[] = {"/a", "/a/b", "/a/b/c", "/a/d", "/e/f/g", "/e"};
	struct xn_store *st;
	xn_err err = NULL;
	unsigned seed = 42;

	setenv("XN_STORE_MEM_FILE", file, 1);
	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	for (int i = 0; i < 2; i++) {
		struct xn_pod_record r = full_record(i ? "r1" : "r0");

		OK(xn_store_pod_put(st, &r, &err_));
		xn_pod_record_dispose(&r);
	}
	for (int turn = 0; turn < 60; turn++) {
		for (int k = 0; k < 6; k++) {
			const char *p = paths[rand_r(&seed) % XN_ARRAY_SIZE(paths)];
			struct xn_store_perm perm[] = {{rand_r(&seed) % 4, rand_r(&seed) % 4}};
			char val[16];

			snprintf(val, sizeof(val), "v%d.%d", turn, k);
			switch (rand_r(&seed) % 5) {
			case 0:
			case 1: OK(xn_store_set(st, p, val, &err_)); break;
			case 2: OK(xn_store_rm(st, p, &err_)); break;
			case 3:
				if (xn_store_set_perms(st, p, perm, 1, &err) < 0)
					xn_error_free(&err); /* absent */
				break;
			case 4: { /* a transaction that never commits (it replaces r0 or r1) */
				struct xn_pod_record r = full_record(k % 2 ? "r1" : "r0");

				OK(xn_store_mem_fail_commits(st, XN_STORE_TX_RETRIES));
				assert_int_equal(xn_store_pod_put(st, &r, &err), -1);
				xn_error_free(&err);
				xn_pod_record_dispose(&r);
				break;
			}
			}
		}
		OK(xn_store_mem_fail_commits(st, 0));
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_files_match(f->base, st);
	}
	xn_store_close(st);
	remove_temp_store(dir, file);
}

/* The last journal line cut short by a crash is ignored; a broken line
 * before others is an error that names the journal and the line. */
static void journal_cut_short(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = temp_store_file(dir);
	cleanup_free char *journal = xn_xasprintf("%s.journal", file);
	struct xn_store *st;
	xn_err err = NULL;
	FILE *j;

	setenv("XN_STORE_MEM_FILE", file, 1);
	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	burst_put(st, 0, &err);
	xn_store_close(st);
	j = fopen(journal, "a");
	assert_non_null(j);
	fputs("{\"path\": \"/xenlet/node/name\", \"val", j);
	fclose(j);
	st = xn_store_open("mem", f->base, &err);
	if (st == NULL)
		fail_msg("open: %s", xn_error_msg(err));
	assert_absent(st, "/xenlet/node/name");
	burst_put(st, 1, &err); /* written after the cut line is gone */
	xn_store_close(st);
	assert_burst_records(f->base, 2);

	j = fopen(journal, "a");
	assert_non_null(j);
	fputs("{\"rm\": \"/\"}\n{\"rm\": \"/xenlet\"}\n", j);
	fclose(j);
	assert_null(xn_store_open("mem", f->base, &err));
	assert_err(&err, "store.json.journal: line ");
	remove_temp_store(dir, file);
}

/* A write that fails keeps the tree as it is and is retried: at once by
 * flush, else by a timer. */
static void persistence_retries_a_failed_write(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/xn-store-XXXXXX";
	cleanup_free char *file = temp_store_file(dir);
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", file);
	cleanup_free char *journal = xn_xasprintf("%s.journal", file);
	struct timeval later = {1, 500000};
	struct xn_store *st;
	xn_err err = NULL;

	setenv("XN_STORE_MEM_FILE", file, 1);
	st = xn_store_open("mem", f->base, &err);
	assert_non_null(st);
	/* neither the journal nor the file's temp file can be created */
	assert_int_equal(mkdir(journal, 0700), 0);
	assert_int_equal(mkdir(tmp, 0700), 0);
	burst_put(st, 0, &err);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(xn_store_mem_file_writes(st), 0);
	assert_int_equal(xn_store_flush(st, &err), -1);
	assert_err(&err, "store.json.tmp");
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(rmdir(journal), 0);
	/* no further change: the retry timer writes it */
	event_base_loopexit(f->base, &later);
	event_base_dispatch(f->base);
	assert_int_equal(xn_store_mem_file_writes(st), 1);
	assert_burst_records(f->base, 1);
	/* and the journal takes the next change */
	burst_put(st, 1, &err);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(xn_store_mem_file_writes(st), 2);
	assert_burst_records(f->base, 2);
	xn_store_close(st);
	remove_temp_store(dir, file);
}

static void xs_backend(void **state)
{
	struct fx *f = *state;
	struct xn_store *st;
	xn_err err = NULL;

	if (access("/proc/xen/capabilities", F_OK) != 0) {
		/* what a non-Xen host must say instead */
		assert_null(xn_store_open("xs", f->base, &err));
		assert_err(&err, "xenstore: cannot connect (is xenstored running?");
		printf("skipped: no xenstore (not a Xen Dom0)\n");
		skip();
	}
	st = xn_store_open("xs", f->base, &err);
	if (st == NULL)
		fail_msg("%s", xn_error_msg(err));
	struct xn_pod_record r = full_record("xenlet-unit-test"), got;
	OK(xn_store_pod_put(st, &r, &err_));
	OK(xn_store_pod_get(st, r.uid, &got, &err_));
	assert_record_equal(&r, &got);
	xn_pod_record_dispose(&got);
	OK(xn_store_pod_del(st, r.uid, &err_));
	xn_pod_record_dispose(&r);
	xn_store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(raw_get_set_rm_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(pod_record_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_area_permissions, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_data_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(watches_fire_for_subtree_from_the_loop, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(transaction_retries_on_eagain, setup, teardown),
	    cmocka_unit_test_setup_teardown(node_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(persistence_file_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(failed_transactions_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(persistence_once_per_loop_turn, setup, teardown),
	    cmocka_unit_test_setup_teardown(persistence_survives_sigkill, setup, teardown),
	    cmocka_unit_test_setup_teardown(persistence_retries_a_failed_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(journal_appends_then_compacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(journal_replays_to_the_live_tree, setup, teardown),
	    cmocka_unit_test_setup_teardown(journal_cut_short, setup, teardown),
	    cmocka_unit_test_setup_teardown(xs_backend, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
