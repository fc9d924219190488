/* test_image_ref.c - image references in every legal form, normalised as
 * distribution/reference's ParseNormalizedNamed + TagNameOnly, and the bad
 * ones refused with a message that names the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/image_ref.h"
#include "xenlet/util.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The normalised string of s, or "ERR: message". */
static char *norm(const char *s)
{
	struct xn_image_ref r;
	xn_err err = NULL;
	char *out;

	if (xn_image_ref_parse(s, &r, &err) < 0) {
		out = xn_xasprintf("ERR: %s", xn_error_msg(err));
		xn_error_free(&err);
		return out;
	}
	out = xn_image_ref_string(&r);
	xn_image_ref_dispose(&r);
	return out;
}

static void expect(const char *in, const char *want)
{
	cleanup_free char *got = norm(in);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", in, got, want);
}

static void expect_err(const char *in, const char *part)
{
	cleanup_free char *got = norm(in);

	if (strncmp(got, "ERR: ", 5) != 0 || strstr(got, part) == NULL)
		fail_msg("%s: got \"%s\", want an error with \"%s\"", in, got, part);
}

static void docker_hub_defaults(void **state)
{
	expect("nginx", "docker.io/library/nginx:latest");
	expect("nginx:1.25", "docker.io/library/nginx:1.25");
	expect("library/nginx", "docker.io/library/nginx:latest");
	expect("user/app:v1", "docker.io/user/app:v1");
	expect("docker.io/nginx", "docker.io/library/nginx:latest");
	expect("index.docker.io/nginx", "docker.io/library/nginx:latest");
	expect("docker.io/a/b/c", "docker.io/a/b/c:latest");
	expect("nginx-unikernel:1.0", "docker.io/library/nginx-unikernel:1.0");
}

static void domains_and_ports(void **state)
{
	expect("127.0.0.1:5000/hello:1", "127.0.0.1:5000/hello:1");
	expect("localhost/hello", "localhost/hello:latest");
	expect("localhost:5000/a/b", "localhost:5000/a/b:latest");
	expect("ghcr.io/org/img:tag", "ghcr.io/org/img:tag");
	expect("[::1]:5000/x:y", "[::1]:5000/x:y");
	expect("[fe80::1]/x", "[fe80::1]/x:latest");
	expect("Registry.Example.COM/x", "Registry.Example.COM/x:latest");
	/* upper case in the first part makes it a domain, as reference does */
	expect("Foo/bar", "Foo/bar:latest");
	/* a name then a port-like tag: a tag, not a domain */
	expect("localhost:5000", "docker.io/library/localhost:5000");
}

static void digests(void **state)
{
	struct xn_image_ref r;
	xn_err err = NULL;

	expect("busybox@sha256:" D64, "docker.io/library/busybox@sha256:" D64);
	expect("h.io:1/a:t@sha256:" D64, "h.io:1/a:t@sha256:" D64);
	assert_int_equal(xn_image_ref_parse("h.io:1/a:t@sha256:" D64, &r, &err), 0);
	assert_string_equal(r.domain, "h.io:1");
	assert_string_equal(r.path, "a");
	assert_string_equal(r.tag, "t");
	/* the digest decides what is pulled */
	assert_string_equal(xn_image_ref_object(&r), "sha256:" D64);
	xn_image_ref_dispose(&r);
	assert_int_equal(xn_image_ref_parse("busybox", &r, &err), 0);
	assert_string_equal(xn_image_ref_object(&r), "latest");
	assert_string_equal(xn_image_ref_registry_host(&r), "registry-1.docker.io");
	xn_image_ref_dispose(&r);
	assert_true(xn_digest_valid("sha256:" D64));
	assert_false(xn_digest_valid("sha256:" D64 "0"));
	assert_false(
	    xn_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef01234567"
			    "89abcdef"));
	assert_false(xn_digest_valid(NULL));
}

static void separators(void **state)
{
	expect("a.b/c__d", "a.b/c__d:latest");
	expect("a.b/c---d", "a.b/c---d:latest");
	expect("a.b/c.d_e", "a.b/c.d_e:latest");
	expect_err("a.b/c___d", "component");
	expect_err("a.b/c._d", "component");
	expect_err("a.b/-c", "component");
	expect_err("a.b/c-", "component");
	expect_err("a.b//c", "component");
	expect_err("a.b/c/", "component");
}

static void refused(void **state)
{
	expect_err("", "empty");
	expect_err("Nginx", "must be lowercase");
	expect_err("docker.io/Library/nginx", "must be lowercase");
	expect_err("nginx:", "tag");
	expect_err("nginx:.x", "tag");
	expect_err("nginx:-x", "tag");
	expect_err("nginx:a/b", "invalid host"); /* "nginx:a" is a host with a bad port */
	expect_err("nginx@sha256:abc", "64 lowercase hex");
	expect_err("nginx@sha256:" D64 "00", "64 lowercase hex");
	expect_err("nginx@sha512:" D64 D64, "unsupported");
	expect_err("nginx@sha256", "not algorithm:hex");
	expect_err("nginx@", "not algorithm:hex");
	expect_err("nginx@SHA256:" D64, "malformed algorithm");
	expect_err("nginx with space", "blank");
	expect_err(D64, "64-byte hexadecimal");
	expect_err("h_x.io/a", "invalid host");
	expect_err("h.io:99999999/a", "invalid host");
	expect_err("h.io:/a", "invalid host");
	expect_err("[zz]:1/a", "invalid host");
	expect_err(":tag", "no repository");
	expect_err("/abs/path", "component");
}

static void name_length(void **state)
{
	char name[300];
	cleanup_free char *ok = NULL, *bad = NULL;

	/* "docker.io/library/" is 18 bytes: 237 more make 255 */
	memset(name, 'a', sizeof(name));
	name[237] = '\0';
	ok = norm(name);
	assert_int_equal(strncmp(ok, "docker.io/library/", 18), 0);
	name[237] = 'a';
	name[238] = '\0';
	bad = norm(name);
	assert_non_null(strstr(bad, "longer than 255"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(docker_hub_defaults),
	    cmocka_unit_test(domains_and_ports),
	    cmocka_unit_test(digests),
	    cmocka_unit_test(separators),
	    cmocka_unit_test(refused),
	    cmocka_unit_test(name_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
