/* fuzz_kubeconfig.c - kubeconfig files (daemon/kubeconfig.c), YAML or JSON
 * as kubectl writes them.  The parser only reads files, so the input is
 * written to a file in the target's private temporary directory, beside a
 * token file "token" (relative paths resolve there, as kubectl resolves
 * them against the kubeconfig's directory; HOME points there too).
 * Besides the sanitizers, checks what a loaded context promises: an https
 * server, a client certificate only with its key. */
#include "fuzz.h"
#include "xenlet/kubeconfig.h"

static void check(const struct xn_kubeconfig *kc)
{
	if (kc->context == NULL || kc->cluster == NULL || kc->server == NULL ||
	    strncmp(kc->server, "https://", 8) != 0)
		abort();
	if ((kc->cert_file || kc->cert_data.data) != (kc->key_file || kc->key_data.data))
		abort();
	if ((kc->ca_file && kc->ca_data.data) || (kc->cert_file && kc->cert_data.data) ||
	    (kc->key_file && kc->key_data.data))
		abort();
	if (kc->token_file != NULL && kc->token == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct xn_kubeconfig *kc = NULL;
	const char *path;
	xn_err err = NULL;

	if (!once) {
		const char *tok = xn_fuzz_file("token", (const uint8_t *)"fuzz-token\n", 11);
		char home[512];

		snprintf(home, sizeof(home), "%.*s", (int)(strrchr(tok, '/') - tok), tok);
		setenv("HOME", home, 1);
		once = 1;
	}
	path = xn_fuzz_file("kubeconfig", data, size);
	if (xn_kubeconfig_load(path, NULL, &kc, &err) == 0) {
		check(kc);
		xn_kubeconfig_free(kc);
	} else {
		if (err == NULL || kc != NULL)
			abort();
		xn_error_free(&err);
	}
	return 0;
}
