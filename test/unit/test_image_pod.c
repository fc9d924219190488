/* test_image_pod.c - a pod waiting for its registry image: the pull
 * policies against the cache (made here by hand, as a pull leaves it), a
 * registry that refuses connections (ErrImagePull, then ImagePullBackOff,
 * with the kubelet's Events), and the cache lookup refusing an image whose
 * kernel blob is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "testutil.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_pod.h"
#include "xenlet/image_pull.h"
#include "xenlet/metrics.h"
#include "xenlet/util.h"

struct t {
	char dir[64];
	struct event_base *base;
	struct xn_image_puller *puller;
	char events[4096];
	int changed;
	bool ready;
	char *kernel, *cmdline, *image_id;
	char kernel_digest[80];
};

static void digest_of(const char *data, char out[80])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(data, strlen(data), md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* A blob of the cache; its digest in out. */
static void put_blob(struct t *t, const char *data, char out[80])
{
	cleanup_free char *path = NULL;

	digest_of(data, out);
	path = xn_xasprintf("%s/cache/blobs/sha256/%s", t->dir, out + 7);
	xn_test_write(path, data);
}

/* What a pull of 127.0.0.1:1/hello:1 leaves in the cache. */
static void fill_cache(struct t *t)
{
	char cfg_d[80], man_d[80];
	cleanup_free char *cache = xn_xasprintf("%s/cache/blobs/sha256", t->dir);
	cleanup_free char *man = NULL, *refs = NULL, *refs_path = NULL;
	const char *cfg = "{\"cmdline\":\"--from-image\"}";

	assert_int_equal(xn_mkdir_p(cache, 0755), 0);
	put_blob(t, "print hello\n", t->kernel_digest);
	put_blob(t, cfg, cfg_d);
	man = xn_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
			   "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%"
			   "s\",\"digest\":\"%s\",\"size\":12}]}",
			   XN_MEDIA_OCI_MANIFEST, XN_MEDIA_UK_CONFIG, cfg_d, strlen(cfg),
			   XN_MEDIA_UK_KERNEL, t->kernel_digest);
	put_blob(t, man, man_d);
	refs = xn_xasprintf("{\"127.0.0.1:1/hello:1\":{\"digest\":\"%s\",\"manifest\":\"%s\"}}",
			    man_d, man_d);
	refs_path = xn_xasprintf("%s/cache/refs.json", t->dir);
	xn_test_write(refs_path, refs);
}

static void on_event(void *arg, const char *type, const char *reason, const char *message)
{
	struct t *t = arg;
	size_t n = strlen(t->events);

	snprintf(t->events + n, sizeof(t->events) - n, "%s %s: %s\n", type, reason, message);
}

static void on_changed(void *arg)
{
	((struct t *)arg)->changed++;
}

static void on_ready(void *arg, const struct xn_image_info *info)
{
	struct t *t = arg;

	t->ready = true;
	t->kernel = xn_xstrdup(info->kernel);
	t->cmdline = xn_dup_or_null(info->cmdline);
	t->image_id = xn_xstrdup(info->image_id);
}

static const struct xn_image_wait_ops ops = {on_event, on_changed, on_ready};

static int setup(void **state)
{
	struct t *t = xn_xcalloc(1, sizeof(*t));
	cleanup_free char *cache = NULL;
	struct xn_image_puller_opts o = {0};
	struct xn_registry_conf reg = {.host = "127.0.0.1:1", .plain_http = true};

	snprintf(t->dir, sizeof(t->dir), "/tmp/xn-test-image-pod.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	cache = xn_xasprintf("%s/cache", t->dir);
	o.cache_dir = cache;
	o.registries = &reg;
	o.nregistries = 1;
	t->base = event_base_new();
	t->puller = xn_image_puller_new(t->base, &o, NULL);
	assert_non_null(t->puller);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->dir);

	xn_image_puller_free(t->puller);
	event_base_free(t->base);
	free(t->kernel);
	free(t->cmdline);
	free(t->image_id);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static void policy_defaults(void **state)
{
	enum xn_pull_policy p;

	assert_int_equal(xn_pull_policy_parse(NULL, "nginx", &p), 0);
	assert_int_equal(p, XN_PULL_ALWAYS);
	assert_int_equal(xn_pull_policy_parse("", "nginx:latest", &p), 0);
	assert_int_equal(p, XN_PULL_ALWAYS);
	assert_int_equal(xn_pull_policy_parse(NULL, "nginx:1", &p), 0);
	assert_int_equal(p, XN_PULL_IF_NOT_PRESENT);
	assert_int_equal(
	    xn_pull_policy_parse(NULL,
				 "nginx@sha256:0123456789abcdef0123456789abcdef01234567"
				 "89abcdef0123456789abcdef",
				 &p),
	    0);
	assert_int_equal(p, XN_PULL_IF_NOT_PRESENT);
	assert_int_equal(xn_pull_policy_parse("Never", "x", &p), 0);
	assert_int_equal(p, XN_PULL_NEVER);
	assert_int_equal(xn_pull_policy_parse("sometimes", "x", &p), -1);
}

static void never_without_image(void **state)
{
	struct t *t = *state;
	struct xn_image_wait *w =
	    xn_image_wait_start(t->base, t->puller, "127.0.0.1:1/hello:1", XN_PULL_NEVER, &ops, t);

	/* nothing happens inside the call */
	assert_int_equal(t->changed, 0);
	XN_TEST_RUN_UNTIL(t->base, 5000, t->changed > 0);
	assert_false(t->ready);
	assert_string_equal(xn_image_wait_reason(w), "ErrImageNeverPull");
	assert_non_null(strstr(t->events, "Warning ErrImageNeverPull: Container image "
					  "\"127.0.0.1:1/hello:1\" is not present with pull "
					  "policy of Never"));
	xn_image_wait_free(w);
}

static void if_not_present_cached(void **state)
{
	struct t *t = *state;
	struct xn_image_wait *w;
	cleanup_free char *want = NULL;

	fill_cache(t);
	w = xn_image_wait_start(t->base, t->puller, "127.0.0.1:1/hello:1", XN_PULL_IF_NOT_PRESENT,
				&ops, t);
	XN_TEST_RUN_UNTIL(t->base, 5000, t->ready);
	want = xn_xasprintf("%s/cache/blobs/sha256/%s", t->dir, t->kernel_digest + 7);
	assert_string_equal(t->kernel, want);
	assert_string_equal(t->cmdline, "--from-image");
	assert_non_null(strstr(t->image_id, "127.0.0.1:1/hello@sha256:"));
	assert_non_null(strstr(t->events, "Normal Pulled: Container image "
					  "\"127.0.0.1:1/hello:1\" already present on machine"));
	assert_null(strstr(t->events, "Pulling"));
	xn_image_wait_free(w);
}

static void registry_down_backs_off(void **state)
{
	struct t *t = *state;
	struct xn_image_wait *w;

	fill_cache(t); /* Always asks the registry even so */
	w = xn_image_wait_start(t->base, t->puller, "127.0.0.1:1/hello:1", XN_PULL_ALWAYS, &ops, t);
	XN_TEST_RUN_UNTIL(t->base, 20000, strcmp(xn_image_wait_reason(w), "ImagePullBackOff") == 0);
	assert_false(t->ready);
	assert_non_null(strstr(t->events, "Normal Pulling: Pulling image \"127.0.0.1:1/hello:1\""));
	assert_non_null(strstr(t->events, "Warning Failed: Failed to pull image "
					  "\"127.0.0.1:1/hello:1\": registry 127.0.0.1:1: "));
	assert_non_null(strstr(t->events, "Warning Failed: Error: ErrImagePull\n"));
	assert_non_null(strstr(t->events, "Normal BackOff: Back-off pulling image"));
	assert_non_null(strstr(xn_image_wait_message(w), "ErrImagePull: registry 127.0.0.1:1"));
	assert_true(xn_metric_value("xenlet_image_pulls_total", "error") >= 1);
	xn_image_wait_free(w);
}

static void lookup_needs_every_blob(void **state)
{
	struct t *t = *state;
	struct xn_image_info info;
	xn_err err = NULL;
	cleanup_free char *cache = xn_xasprintf("%s/cache", t->dir);
	cleanup_free char *kpath = NULL;

	assert_int_equal(xn_image_cache_lookup(cache, "127.0.0.1:1/hello:1", &info, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "is not in the node's cache"));
	xn_error_free(&err);
	fill_cache(t);
	assert_int_equal(xn_image_cache_lookup(cache, "127.0.0.1:1/hello:1", &info, &err), 0);
	xn_image_info_dispose(&info);
	kpath = xn_xasprintf("%s/blobs/sha256/%s", cache, t->kernel_digest + 7);
	assert_int_equal(unlink(kpath), 0);
	assert_int_equal(xn_image_cache_lookup(cache, "127.0.0.1:1/hello:1", &info, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "a layer is missing from the cache"));
	xn_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(policy_defaults),
	    cmocka_unit_test_setup_teardown(never_without_image, setup, teardown),
	    cmocka_unit_test_setup_teardown(if_not_present_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(registry_down_backs_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(lookup_needs_every_blob, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
