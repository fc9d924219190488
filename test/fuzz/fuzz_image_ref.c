/* fuzz_image_ref.c - image references (daemon/image_ref.c), as a pod's
 * containers[].image gives them.  Besides the sanitizers, checks that a
 * parsed reference prints as a normalised string that parses back to
 * itself, within the name limit, with a valid digest when it has one. */
#include <string.h>

#include "fuzz.h"
#include "xenlet/image_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xn_fuzz_cstr(data, size);
	struct xn_image_ref r, back;
	xn_err err = NULL;

	if (xn_image_ref_parse(s, &r, &err) == 0) {
		char *str = xn_image_ref_string(&r), *again;

		if (r.domain == NULL || r.path == NULL || (r.tag == NULL && r.digest == NULL))
			abort();
		if (strlen(r.domain) + 1 + strlen(r.path) > XN_IMAGE_NAME_MAX)
			abort();
		if (r.digest && !xn_digest_valid(r.digest))
			abort();
		if (xn_image_ref_parse(str, &back, &err) < 0)
			abort();
		again = xn_image_ref_string(&back);
		if (strcmp(str, again) != 0)
			abort();
		free(again);
		free(str);
		xn_image_ref_dispose(&back);
		xn_image_ref_dispose(&r);
	} else if (err == NULL || xn_error_msg(err)[0] == '\0') {
		abort();
	}
	xn_error_free(&err);
	free(s);
	return 0;
}
