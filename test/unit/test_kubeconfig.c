/* test_kubeconfig.c - kubeconfig context resolution and its error messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/kubeconfig.h"
#include "xenlet/util.h"

#define FIX XN_SRCDIR "/test/fixtures/kubeconfig"

static struct xn_kubeconfig *load_ok(const char *file, const char *ctx)
{
	cleanup_free char *path = xn_xasprintf("%s/%s", FIX, file);
	struct xn_kubeconfig *kc = NULL;
	xn_err err = NULL;

	if (xn_kubeconfig_load(path, ctx, &kc, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_non_null(kc);
	return kc;
}

/* Load expecting failure; returns the message (caller frees). */
static char *load_fail(const char *file, const char *ctx)
{
	cleanup_free char *path = xn_xasprintf("%s/%s", FIX, file);
	struct xn_kubeconfig *kc = NULL;
	xn_err err = NULL;
	char *msg;

	assert_int_equal(xn_kubeconfig_load(path, ctx, &kc, &err), -1);
	assert_null(kc);
	assert_non_null(err);
	msg = xn_xasprintf("%s", xn_error_msg(err));
	xn_error_free(&err);
	return msg;
}

static void assert_blob_is_file(const struct xn_blob *b, const char *file)
{
	cleanup_free char *path = xn_xasprintf("%s/%s", FIX, file);
	cleanup_free char *text = xn_test_slurp(path);

	assert_non_null(text);
	assert_int_equal(b->len, strlen(text));
	assert_memory_equal(b->data, text, b->len);
}

static void data_forms_decode_to_blobs(void **state)
{
	struct xn_kubeconfig *kc = load_ok("data.yaml", NULL);

	assert_string_equal(kc->context, "admin");
	assert_string_equal(kc->cluster, "local");
	assert_string_equal(kc->user, "admin");
	assert_string_equal(kc->namespace, "kube-system");
	assert_string_equal(kc->server, "https://127.0.0.1:6443"); /* trailing '/' dropped */
	assert_null(kc->ca_file);
	assert_blob_is_file(&kc->ca_data, "certs/ca.crt");
	assert_blob_is_file(&kc->cert_data, "certs/client.crt");
	assert_blob_is_file(&kc->key_data, "certs/client.key");
	assert_null(kc->cert_file);
	assert_null(kc->token);
	xn_kubeconfig_free(kc);
}

static void context_override_and_token_wins(void **state)
{
	struct xn_kubeconfig *kc = load_ok("data.yaml", "robot");

	assert_string_equal(kc->context, "robot");
	assert_null(kc->namespace);
	assert_string_equal(kc->token, "sekrit-token"); /* token beats tokenFile, as kubectl */
	assert_null(kc->token_file);
	assert_null(kc->cert_data.data);
	xn_kubeconfig_free(kc);
}

static void relative_paths_resolve_against_kubeconfig_dir(void **state)
{
	struct xn_kubeconfig *kc;
	cleanup_free char *oldcwd = getcwd(NULL, 0);

	/* From elsewhere, so a cwd-relative resolution would fail. */
	assert_int_equal(chdir("/"), 0);
	kc = load_ok("paths.yaml", NULL);
	assert_string_equal(kc->ca_file, FIX "/certs/ca.crt");
	assert_string_equal(kc->cert_file, FIX "/certs/client.crt");
	assert_string_equal(kc->key_file, FIX "/./certs/client.key");
	assert_null(kc->ca_data.data);
	assert_null(kc->token);
	xn_kubeconfig_free(kc);
	assert_int_equal(chdir(oldcwd), 0);
}

static void token_file_is_read_and_trimmed(void **state)
{
	struct xn_kubeconfig *kc = load_ok("paths.yaml", "tf");

	assert_string_equal(kc->token, "file-token-123");
	assert_string_equal(kc->token_file, FIX "/token.txt");
	assert_null(kc->cert_file);
	xn_kubeconfig_free(kc);

	kc = load_ok("paths.yaml", "anon");
	assert_null(kc->user);
	assert_null(kc->token);
	xn_kubeconfig_free(kc);
}

static void missing_things_are_named(void **state)
{
	cleanup_free char *m1 = load_fail("missing.yaml", NULL);
	cleanup_free char *m2 = load_fail("missing.yaml", "nouser");
	cleanup_free char *m3 = load_fail("missing.yaml", "foo");
	cleanup_free char *m4 = load_fail("missing.yaml", "nofile");
	cleanup_free char *m5 = load_fail("missing.yaml", "halfcert");
	cleanup_free char *m6 = load_fail("absent.yaml", NULL);

	assert_string_equal(m1, "kubeconfig " FIX "/missing.yaml: context \"nocluster\": "
				"no such cluster \"bar\"");
	assert_string_equal(m2, "kubeconfig " FIX "/missing.yaml: context \"nouser\": "
				"no such user \"ghost\"");
	assert_string_equal(m3, "kubeconfig " FIX "/missing.yaml: no such context \"foo\"");
	assert_string_equal(m4, "kubeconfig " FIX "/missing.yaml: context \"nofile\": user "
				"\"nofile\": client-certificate " FIX
				"/certs/absent.crt: No such file or directory");
	assert_string_equal(m5, "kubeconfig " FIX "/missing.yaml: context \"halfcert\": user "
				"\"halfcert\": client-certificate and client-key come together");
	assert_string_equal(m6, "kubeconfig " FIX "/absent.yaml: open: No such file or directory");
}

static void bad_base64_names_field_and_line(void **state)
{
	cleanup_free char *m = load_fail("bad-base64.yaml", NULL);

	assert_string_equal(m, "kubeconfig " FIX "/bad-base64.yaml: context \"c\": cluster "
			       "\"local\": line 7: certificate-authority-data: not valid base64");
}

static void bad_yaml_names_line(void **state)
{
	cleanup_free char *m = load_fail("bad-yaml.yaml", NULL);

	/* The stray, wrongly indented key sits on line 7 of the fixture. */
	assert_non_null(strstr(m, "kubeconfig " FIX "/bad-yaml.yaml: line 7: "));
}

static void insecure_skip_tls_verify_is_refused(void **state)
{
	cleanup_free char *m = load_fail("insecure.yaml", NULL);

	assert_non_null(strstr(m, "context \"c\": cluster \"local\": insecure-skip-tls-verify is "
				  "refused: xenletd always verifies"));
}

static void plain_http_and_exec_are_refused(void **state)
{
	cleanup_free char *m1 = load_fail("http.yaml", NULL); /* JSON is YAML too */
	cleanup_free char *m2 = load_fail("exec.yaml", NULL);

	assert_non_null(strstr(m1, "server \"http://127.0.0.1:8080\": must be an https:// URL"));
	assert_non_null(strstr(m2, "user \"u\": line 14: exec: not supported by xenletd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(data_forms_decode_to_blobs),
	    cmocka_unit_test(context_override_and_token_wins),
	    cmocka_unit_test(relative_paths_resolve_against_kubeconfig_dir),
	    cmocka_unit_test(token_file_is_read_and_trimmed),
	    cmocka_unit_test(missing_things_are_named),
	    cmocka_unit_test(bad_base64_names_field_and_line),
	    cmocka_unit_test(bad_yaml_names_line),
	    cmocka_unit_test(insecure_skip_tls_verify_is_refused),
	    cmocka_unit_test(plain_http_and_exec_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
