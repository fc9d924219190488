/* test_image_manifest.c - OCI and Docker manifests and indexes, platform
 * selection, the limits, and our unikernel format on top. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/image_manifest.h"
#include "xenlet/util.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char oci_uk[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" XN_MEDIA_UK_CONFIG "\",\"digest\":\"" DA "\",\"size\":52},"
    "\"layers\":[{\"mediaType\":\"" XN_MEDIA_UK_KERNEL "\",\"digest\":\"" DB "\",\"size\":12345},"
    "{\"mediaType\":\"" XN_MEDIA_UK_INITRD "\",\"digest\":\"" DC "\",\"size\":7}],"
    "\"annotations\":{\"io.xenlet.unikernel.cmdline\":\"from-annotation\","
    "\"io.xenlet.unikernel.netConfig\":\"mirage\"}}";

static char *parse_err(const char *body, const char *ct)
{
	struct xn_manifest m;
	xn_err err = NULL;
	char *msg;

	if (xn_manifest_parse(body, strlen(body), ct, &m, &err) == 0) {
		xn_manifest_dispose(&m);
		return xn_xstrdup("OK");
	}
	msg = xn_xstrdup(xn_error_msg(err));
	xn_error_free(&err);
	return msg;
}

static void expect_err(const char *body, const char *ct, const char *part)
{
	cleanup_free char *msg = parse_err(body, ct);

	if (strstr(msg, part) == NULL)
		fail_msg("got \"%s\", want \"%s\"", msg, part);
}

static void oci_manifest(void **state)
{
	struct xn_manifest m;
	xn_err err = NULL;

	assert_int_equal(xn_manifest_parse(oci_uk, strlen(oci_uk), NULL, &m, &err), 0);
	assert_int_equal(m.kind, XN_MANIFEST_IMAGE);
	assert_string_equal(m.config.digest, DA);
	assert_int_equal(m.config.size, 52);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.items[0].media_type, XN_MEDIA_UK_KERNEL);
	assert_int_equal(m.items[0].size, 12345);
	xn_manifest_dispose(&m);
}

static void docker_manifest_by_content_type(void **state)
{
	static const char body[] =
	    "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
	    "vnd.docker.container.image.v1+json\",\"digest\":\"" DA "\",\"size\":1},"
	    "\"layers\":[]}";
	struct xn_manifest m;
	xn_err err = NULL;

	assert_int_equal(
	    xn_manifest_parse(body, strlen(body), XN_MEDIA_DOCKER_MANIFEST "; x=y", &m, &err), 0);
	assert_string_equal(m.media_type, XN_MEDIA_DOCKER_MANIFEST);
	assert_int_equal(m.n, 0);
	xn_manifest_dispose(&m);
	/* no mediaType, no Content-Type: OCI by its shape */
	assert_int_equal(xn_manifest_parse(body, strlen(body), NULL, &m, &err), 0);
	assert_string_equal(m.media_type, XN_MEDIA_OCI_MANIFEST);
	xn_manifest_dispose(&m);
}

#define ENTRY(os, arch, var, dg)                                                                   \
	"{\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST "\",\"digest\":\"" dg "\",\"size\":10,"          \
	"\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"" var "}}"

static void index_select(void **state)
{
	static const char body[] =
	    "{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_INDEX "\",\"manifests\":[" ENTRY(
		"windows", "amd64", "", DA) "," ENTRY("linux", "arm64", ",\"variant\":\"v8\"",
						      DB) "," ENTRY("linux", "amd64", "", DC) "]}";
	struct xn_manifest m;
	const struct xn_descriptor *d;
	xn_err err = NULL;

	assert_int_equal(xn_manifest_parse(body, strlen(body), XN_MEDIA_OCI_INDEX, &m, &err), 0);
	assert_int_equal(m.kind, XN_MANIFEST_INDEX);
	d = xn_manifest_select(&m, "linux", "amd64", &err);
	assert_non_null(d);
	assert_string_equal(d->digest, DC);
	d = xn_manifest_select(&m, "linux", "arm64", &err);
	assert_non_null(d);
	assert_string_equal(d->digest, DB);
	d = xn_manifest_select(&m, "linux", "riscv64", &err);
	assert_null(d);
	assert_string_equal(xn_error_msg(err), "no manifest for linux/riscv64 in the index (it "
					       "has: windows/amd64, linux/arm64/v8, linux/amd64)");
	xn_error_free(&err);
	xn_manifest_dispose(&m);
}

static void docker_list(void **state)
{
	static const char body[] =
	    "{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_DOCKER_LIST "\",\"manifests\":["
	    "{\"mediaType\":\"" XN_MEDIA_DOCKER_MANIFEST "\",\"digest\":\"" DA "\",\"size\":3,"
	    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v7\"}}]}";
	struct xn_manifest m;
	xn_err err = NULL;

	assert_int_equal(xn_manifest_parse(body, strlen(body), NULL, &m, &err), 0);
	assert_int_equal(m.kind, XN_MANIFEST_INDEX);
	/* arm64 with a variant that is not v8 does not match */
	assert_null(xn_manifest_select(&m, "linux", "arm64", &err));
	assert_non_null(strstr(xn_error_msg(err), "linux/arm64/v7"));
	xn_error_free(&err);
	xn_manifest_dispose(&m);
}

static void refused(void **state)
{
	char *big;
	size_t n;

	expect_err("not json", NULL, "not JSON");
	expect_err("[1]", NULL, "not a JSON object");
	expect_err("{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, "schema 1");
	expect_err("{\"schemaVersion\":3}", NULL, "schemaVersion");
	expect_err("{\"schemaVersion\":2,\"mediaType\":\"text/html\"}", NULL, "\"text/html\"");
	expect_err("{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST "\"}",
		   XN_MEDIA_OCI_INDEX, "but the registry says");
	expect_err("{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST
		   "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:ab\",\"size\":1},"
		   "\"layers\":[]}",
		   NULL, "config.digest");
	expect_err("{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST
		   "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA "\",\"size\":-1},"
		   "\"layers\":[]}",
		   NULL, "config.size");
	expect_err("{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST
		   "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA "\",\"size\":1},"
		   "\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" DA "\",\"size\":1.5}]}",
		   NULL, "layers[0].size");
	expect_err("{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST
		   "\",\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA "\",\"size\":1}}",
		   NULL, "layers: missing");
	/* over the size limit, refused before parsing */
	n = XN_MANIFEST_MAX + 1;
	big = xn_xmalloc(n + 1);
	memset(big, ' ', n);
	big[n] = '\0';
	expect_err(big, NULL, "larger than the 4 MiB limit");
	free(big);
}

static void too_many_entries(void **state)
{
	size_t cap = 400000, used = 0;
	char *body = xn_xmalloc(cap);

	used += (size_t)snprintf(body, cap,
				 "{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_INDEX
				 "\",\"manifests\":[");
	for (int i = 0; i <= XN_MANIFEST_ENTRIES_MAX; i++)
		used += (size_t)snprintf(body + used, cap - used, "%s%s", i ? "," : "",
					 ENTRY("linux", "amd64", "", DA));
	snprintf(body + used, cap - used, "]}");
	expect_err(body, NULL, "more than 1024");
	free(body);
}

static void unikernel_config_and_annotations(void **state)
{
	static const char cfg[] = "{\"cmdline\":\"--hello\",\"guestType\":\"pvh\","
				  "\"minMemory\":\"32Mi\"}";
	struct xn_manifest m;
	struct xn_unikernel u;
	xn_err err = NULL;

	assert_int_equal(xn_manifest_parse(oci_uk, strlen(oci_uk), NULL, &m, &err), 0);
	assert_int_equal(xn_unikernel_parse(&m, cfg, strlen(cfg), &u, &err), 0);
	assert_string_equal(u.kernel->digest, DB);
	assert_string_equal(u.ramdisk->digest, DC);
	assert_string_equal(u.cmdline, "--hello"); /* the config wins */
	assert_string_equal(u.guest_type, "pvh");
	assert_string_equal(u.net_config, "mirage"); /* from the annotation */
	assert_int_equal(u.min_memory, 32 << 20);
	xn_unikernel_dispose(&u);

	assert_int_equal(xn_unikernel_parse(&m, "{\"guestType\":\"hvm\"}", 19, &u, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "guestType \"hvm\": must be pvh or pv"));
	xn_error_free(&err);
	assert_int_equal(xn_unikernel_parse(&m, "{\"minMemory\":\"lots\"}", 20, &u, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "minMemory"));
	xn_error_free(&err);
	assert_int_equal(xn_unikernel_parse(&m, "nope", 4, &u, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "not a JSON object"));
	xn_error_free(&err);
	xn_manifest_dispose(&m);
}

static void not_a_unikernel(void **state)
{
	static const char body[] =
	    "{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\",\"digest\":\"" DA "\",\"size\":1},\"layers\":[]}";
	static const char nokernel[] =
	    "{\"schemaVersion\":2,\"mediaType\":\"" XN_MEDIA_OCI_MANIFEST "\","
	    "\"config\":{\"mediaType\":\"" XN_MEDIA_OCI_EMPTY "\",\"digest\":\"" DA
	    "\",\"size\":2},"
	    "\"layers\":[{\"mediaType\":\"text/plain\",\"digest\":\"" DB "\",\"size\":1}]}";
	struct xn_manifest m;
	struct xn_unikernel u;
	xn_err err = NULL;

	assert_int_equal(xn_manifest_parse(body, strlen(body), NULL, &m, &err), 0);
	assert_int_equal(xn_unikernel_parse(&m, "{}", 2, &u, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "not a xenlet unikernel"));
	xn_error_free(&err);
	xn_manifest_dispose(&m);
	assert_int_equal(xn_manifest_parse(nokernel, strlen(nokernel), NULL, &m, &err), 0);
	assert_int_equal(xn_unikernel_parse(&m, NULL, 0, &u, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "no layer of media type " XN_MEDIA_UK_KERNEL));
	xn_error_free(&err);
	xn_manifest_dispose(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(oci_manifest),
	    cmocka_unit_test(docker_manifest_by_content_type),
	    cmocka_unit_test(index_select),
	    cmocka_unit_test(docker_list),
	    cmocka_unit_test(refused),
	    cmocka_unit_test(too_many_entries),
	    cmocka_unit_test(unikernel_config_and_annotations),
	    cmocka_unit_test(not_a_unikernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
