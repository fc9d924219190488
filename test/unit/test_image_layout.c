/* test_image_layout.c - OCI image layouts of our format: pack is
 * reproducible (golden digests, and the manifest is exactly the one the
 * format in docs/images.md describes), import loads a layout into the cache
 * so that the cache lookup finds the image, and refuses blobs that do not
 * match their descriptors, unknown tags and bad pack options. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "testutil.h"
#include "xenlet/image_cache_rm.h"
#include "xenlet/image_layout.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_pull.h"
#include "xenlet/util.h"

/* Golden: the kernel "print hello\n", config {"cmdline":"-v","guestType":
 * "pvh","minMemory":"32Mi","netConfig":"mirage"}, title "hello.xen".  A
 * change here changes every image a unikernel author has packed. */
#define GOLDEN_MANIFEST "sha256:9403eb0aa9dd45c477e3af249979d7583602886f91b4ac7b5e81b1a7711d82fb"

struct t {
	char dir[64];
	char *kernel, *initrd;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	strcpy(t->dir, "/tmp/xn-layout-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	t->kernel = xn_xasprintf("%s/hello.xen", t->dir);
	t->initrd = xn_xasprintf("%s/initrd.img", t->dir);
	xn_test_write(t->kernel, "print hello\n");
	xn_test_write(t->initrd, "ramdisk bytes");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	cleanup_free char *cmd = xn_xasprintf("rm -rf '%s'", t->dir);

	assert_int_equal(system(cmd), 0);
	free(t->kernel);
	free(t->initrd);
	free(t);
	return 0;
}

static void sha(const char *data, char out[80])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_Digest(data, strlen(data), md, &n, EVP_sha256(), NULL);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static char *pack_to(struct t *t, const char *name, const char *tag, bool initrd)
{
	struct xn_pack_opts o = {.kernel = t->kernel,
				 .initrd = initrd ? t->initrd : NULL,
				 .cmdline = "-v",
				 .guest_type = "pvh",
				 .min_memory = "32Mi",
				 .net_config = "mirage",
				 .tag = tag,
				 .arch = "amd64"};
	cleanup_free char *dir = xn_xasprintf("%s/%s", t->dir, name);
	char *digest = NULL;
	uint64_t size = 0;
	xn_err err = NULL;

	if (xn_layout_pack(&o, dir, &digest, &size, &err) < 0)
		fail_msg("pack: %s", xn_error_msg(err));
	assert_true(size > 12);
	return digest;
}

static void pack_is_reproducible(void **state)
{
	struct t *t = *state;
	cleanup_free char *a = pack_to(t, "a", "1", false), *b = pack_to(t, "b", "1", false);
	cleanup_free char *path = NULL, *man = NULL, *expect = NULL, *index = NULL, *layout = NULL;
	char kd[80], cd[80], md[80];
	const char *cfg = "{\"cmdline\":\"-v\",\"guestType\":\"pvh\",\"minMemory\":\"32Mi\","
			  "\"netConfig\":\"mirage\"}";

	assert_string_equal(a, b);
	assert_string_equal(a, GOLDEN_MANIFEST);
	/* the manifest is the format docs/images.md defines, byte for byte */
	sha("print hello\n", kd);
	sha(cfg, cd);
	expect = xn_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
			      "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
			      "\"%s\",\"digest\":\"%s\",\"size\":12,\"annotations\":{\"%s\":"
			      "\"hello.xen\"}}]}",
			      XN_MEDIA_OCI_MANIFEST, XN_MEDIA_UK_CONFIG, cd, strlen(cfg),
			      XN_MEDIA_UK_KERNEL, kd, XN_LAYOUT_TITLE);
	sha(expect, md);
	assert_string_equal(a, md);
	path = xn_xasprintf("%s/a/blobs/sha256/%s", t->dir, a + 7);
	man = xn_test_slurp(path);
	assert_string_equal(man, expect);
	free(path);
	path = xn_xasprintf("%s/a/oci-layout", t->dir);
	layout = xn_test_slurp(path);
	assert_string_equal(layout, "{\"imageLayoutVersion\":\"1.0.0\"}");
	free(path);
	path = xn_xasprintf("%s/a/index.json", t->dir);
	index = xn_test_slurp(path);
	assert_non_null(strstr(index, "\"org.opencontainers.image.ref.name\":\"1\""));
	assert_non_null(strstr(index, "\"architecture\":\"amd64\",\"os\":\"linux\""));
}

static void pack_same_tag_replaces(void **state)
{
	struct t *t = *state;
	cleanup_free char *a = pack_to(t, "a", "1", false), *b = pack_to(t, "a", "2", true);
	cleanup_free char *c = pack_to(t, "a", "1", true), *path = NULL, *index = NULL;

	assert_string_not_equal(a, b);
	assert_string_equal(b, c);
	path = xn_xasprintf("%s/a/index.json", t->dir);
	index = xn_test_slurp(path);
	/* tags 1 and 2, both now the image with the initrd */
	assert_null(strstr(index, a));
	assert_non_null(strstr(index, "ref.name\":\"2\""));
}

static void import_then_lookup(void **state)
{
	struct t *t = *state;
	cleanup_free char *d = pack_to(t, "lay", "1", true), *dir = NULL, *cache = NULL;
	cleanup_free char *got = NULL, *kernel = NULL, *ramdisk = NULL;
	struct xn_image_info info;
	xn_err err = NULL;

	dir = xn_xasprintf("%s/lay", t->dir);
	cache = xn_xasprintf("%s/cache", t->dir);
	if (xn_layout_import(dir, cache, "127.0.0.1:5000/hello:1", &got, &err) < 0)
		fail_msg("import: %s", xn_error_msg(err));
	assert_string_equal(got, d);
	if (xn_image_cache_lookup(cache, "127.0.0.1:5000/hello:1", &info, &err) < 0)
		fail_msg("lookup: %s", xn_error_msg(err));
	assert_string_equal(info.digest, d);
	assert_string_equal(info.cmdline, "-v");
	assert_string_equal(info.guest_type, "pvh");
	assert_string_equal(info.net_config, "mirage");
	assert_int_equal(info.min_memory, 32 << 20);
	kernel = xn_test_slurp(info.kernel);
	assert_string_equal(kernel, "print hello\n");
	assert_non_null(info.ramdisk);
	ramdisk = xn_test_slurp(info.ramdisk);
	assert_string_equal(ramdisk, "ramdisk bytes");
	xn_image_info_dispose(&info);
}

static void import_refuses_tampered_blob(void **state)
{
	struct t *t = *state;
	cleanup_free char *d = pack_to(t, "lay", "1", false), *dir = NULL, *cache = NULL;
	cleanup_free char *blob = NULL, *got = NULL, *cached = NULL;
	char kd[80];
	struct xn_image_info info;
	xn_err err = NULL;
	struct stat sb;

	assert_non_null(d);
	sha("print hello\n", kd);
	dir = xn_xasprintf("%s/lay", t->dir);
	cache = xn_xasprintf("%s/cache", t->dir);
	blob = xn_xasprintf("%s/blobs/sha256/%s", dir, kd + 7);
	xn_test_write(blob, "print HELLO\n"); /* same size, other bytes */
	assert_int_equal(xn_layout_import(dir, cache, "127.0.0.1:5000/hello:1", &got, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "digest mismatch"));
	xn_error_free(&err);
	cached = xn_xasprintf("%s/blobs/sha256/%s", cache, kd + 7);
	assert_int_equal(stat(cached, &sb), -1);
	assert_int_equal(xn_image_cache_lookup(cache, "127.0.0.1:5000/hello:1", &info, &err), -1);
	xn_error_free(&err);
	/* longer than its descriptor */
	xn_test_write(blob, "print hello, and more\n");
	assert_int_equal(xn_layout_import(dir, cache, "127.0.0.1:5000/hello:1", &got, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "longer than the 12 bytes"));
	xn_error_free(&err);
}

static void import_picks_tag(void **state)
{
	struct t *t = *state;
	cleanup_free char *one = pack_to(t, "lay", "1", false), *two = pack_to(t, "lay", "2", true);
	cleanup_free char *dir = xn_xasprintf("%s/lay", t->dir);
	cleanup_free char *cache = xn_xasprintf("%s/cache", t->dir), *got = NULL;
	xn_err err = NULL;

	assert_int_equal(xn_layout_import(dir, cache, "hello:2", &got, &err), 0);
	assert_string_equal(got, two);
	assert_string_not_equal(got, one);
	free(got);
	got = NULL;
	assert_int_equal(xn_layout_import(dir, cache, "hello:3", &got, &err), -1);
	assert_non_null(
	    strstr(xn_error_msg(err), "no image tagged \"3\" in the layout (it has: 1, 2)"));
	xn_error_free(&err);
	assert_int_equal(xn_layout_import(t->dir, cache, "hello:1", &got, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "is not an OCI image layout"));
	xn_error_free(&err);
}

static void pack_refuses_bad_options(void **state)
{
	struct t *t = *state;
	struct xn_pack_opts o = {.kernel = t->kernel, .guest_type = "hvm"};
	cleanup_free char *dir = xn_xasprintf("%s/bad", t->dir);
	char *digest = NULL;
	uint64_t size;
	xn_err err = NULL;

	assert_int_equal(xn_layout_pack(&o, dir, &digest, &size, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "guest type \"hvm\": not pv or pvh"));
	xn_error_free(&err);
	o.guest_type = NULL;
	o.min_memory = "lots";
	assert_int_equal(xn_layout_pack(&o, dir, &digest, &size, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "min memory"));
	xn_error_free(&err);
	o.min_memory = NULL;
	o.tag = "a/b";
	assert_int_equal(xn_layout_pack(&o, dir, &digest, &size, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "not a valid tag"));
	xn_error_free(&err);
	o.tag = NULL;
	o.kernel = "/nonexistent/kernel";
	assert_int_equal(xn_layout_pack(&o, dir, &digest, &size, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "/nonexistent/kernel"));
	xn_error_free(&err);
}

static const char *used_by_web(const struct xn_image_info *info, void *arg)
{
	const char *kernel = arg;

	return info->kernel && strcmp(info->kernel, kernel) == 0 ? "default/web" : NULL;
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static void rm_refuses_while_used_then_removes(void **state)
{
	struct t *t = *state;
	cleanup_free char *d = pack_to(t, "lay", "1", false), *dir = xn_xasprintf("%s/lay", t->dir);
	cleanup_free char *cache = xn_xasprintf("%s/cache", t->dir), *got = NULL, *kblob = NULL;
	cleanup_free char *mblob = NULL;
	char kd[80];
	cJSON *removed = cJSON_CreateArray();
	struct xn_image_info info;
	xn_err err = NULL;

	sha("print hello\n", kd);
	kblob = xn_xasprintf("%s/blobs/sha256/%s", cache, kd + 7);
	mblob = xn_xasprintf("%s/blobs/sha256/%s", cache, d + 7);
	assert_int_equal(xn_layout_import(dir, cache, "127.0.0.1:5000/hello:1", &got, &err), 0);
	free(got);
	assert_int_equal(xn_layout_import(dir, cache, "127.0.0.1:5000/hello:copy", &got, &err), 0);
	/* a pod runs the kernel: refused, nothing removed */
	assert_int_equal(xn_image_cache_remove(cache, "127.0.0.1:5000/hello:1", used_by_web, kblob,
					       removed, &err),
			 -1);
	assert_string_equal(xn_error_msg(err),
			    "image 127.0.0.1:5000/hello:1 is in use by pod default/web");
	assert_int_equal(err->status, EBUSY);
	xn_error_free(&err);
	assert_int_equal(cJSON_GetArraySize(removed), 0);
	/* unused: the reference goes, the blobs the other tag shares stay */
	assert_int_equal(xn_image_cache_remove(cache, "127.0.0.1:5000/hello:1", used_by_web, "none",
					       removed, &err),
			 0);
	assert_string_equal(cJSON_GetArrayItem(removed, 0)->valuestring, "127.0.0.1:5000/hello:1");
	assert_int_equal(xn_image_cache_lookup(cache, "127.0.0.1:5000/hello:1", &info, &err), -1);
	xn_error_free(&err);
	assert_true(exists(kblob));
	/* by digest: the last reference, and with it the blobs */
	assert_int_equal(xn_image_cache_remove(cache, d, NULL, NULL, removed, &err), 0);
	assert_int_equal(cJSON_GetArraySize(removed), 2);
	assert_false(exists(kblob));
	assert_false(exists(mblob));
	assert_int_equal(
	    xn_image_cache_remove(cache, "127.0.0.1:5000/hello:1", NULL, NULL, removed, &err), -1);
	assert_string_equal(xn_error_msg(err),
			    "image 127.0.0.1:5000/hello:1 is not in the node's cache");
	xn_error_free(&err);
	cJSON_Delete(removed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(pack_is_reproducible, setup, teardown),
	    cmocka_unit_test_setup_teardown(pack_same_tag_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(import_then_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(import_refuses_tampered_blob, setup, teardown),
	    cmocka_unit_test_setup_teardown(import_picks_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(pack_refuses_bad_options, setup, teardown),
	    cmocka_unit_test_setup_teardown(rm_refuses_while_used_then_removes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
