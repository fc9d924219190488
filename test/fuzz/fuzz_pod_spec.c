/* fuzz_pod_spec.c - stored pod specs, <root>/pods/<uid>.json, as the runtime
 * reads them back at start (xn_pod_spec_from_json in daemon/pod_spec.c).
 * Besides the sanitizers, checks that a spec that loads is written out and
 * loaded again to the same JSON, and that a copy disposes cleanly. */
#include "fuzz.h"
#include "xenlet/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = xn_fuzz_cstr(data, size), *out, *again;
	struct xn_pod_spec s, back, copy;
	xn_err err = NULL;

	if (xn_pod_spec_from_json(json, &s, &err) < 0) {
		if (err == NULL)
			abort();
		xn_error_free(&err);
		free(json);
		return 0;
	}
	out = xn_pod_spec_to_json(&s);
	if (xn_pod_spec_from_json(out, &back, &err) < 0) {
		fprintf(stderr, "written spec does not load: %s\n%s\n", xn_error_msg(err), out);
		abort();
	}
	again = xn_pod_spec_to_json(&back);
	if (strcmp(out, again) != 0)
		abort();
	xn_pod_spec_copy(&copy, &back);
	xn_pod_spec_dispose(&copy);
	xn_pod_spec_dispose(&back);
	xn_pod_spec_dispose(&s);
	free(again);
	free(out);
	free(json);
	return 0;
}
