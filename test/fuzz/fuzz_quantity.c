/* fuzz_quantity.c - Kubernetes quantities (daemon/quantity.c), as pod specs
 * and the config file give them.  The first byte picks the scale (0..9);
 * the rest is the text.  Besides the sanitizers, checks that what the
 * formatters print parses back to the same value. */
#include "fuzz.h"
#include "xenlet/quantity.h"

static void check_round_trip(int64_t v)
{
	char buf[64];
	int64_t back = -1;

	xn_quantity_format_bytes(v, buf, sizeof(buf));
	if (xn_quantity_parse(buf, 0, &back, NULL) < 0 || back != v)
		abort();
	xn_quantity_format_milli(v, buf, sizeof(buf));
	if (xn_quantity_parse(buf, 3, &back, NULL) < 0 || back != v)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int scale = xn_fuzz_take_byte(&data, &size) % 10;
	char *s = xn_fuzz_cstr(data, size);
	xn_err err = NULL;
	int64_t v = -1;

	if (xn_quantity_parse(s, scale, &v, &err) == 0) {
		if (v < 0)
			abort();
		check_round_trip(v);
	} else {
		if (err == NULL || xn_error_msg(err)[0] == '\0')
			abort();
		xn_error_free(&err);
	}
	free(s);
	return 0;
}
