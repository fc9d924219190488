/* fuzz_config.c - the xenletd config file (daemon/config.c, format in
 * docs/xenletd.conf.md).  The parser only reads files, so the input is
 * written to a file in the target's private temporary directory.
 * Besides the sanitizers, checks the promise of `xenletd -n`: the effective
 * settings it prints load back as the same settings. */
#include "fuzz.h"
#include "xenlet/config.h"

/* The settings as `xenletd -n` prints them (malloc'd). */
static char *printed(const struct xn_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	xn_config_print(c, f);
	if (fclose(f) != 0)
		abort();
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xn_config c, back;
	xn_err err = NULL;
	char *out, *again;
	const char *path;

	xn_config_init(&c);
	path = xn_fuzz_file("xenletd.yaml", data, size);
	if (xn_config_load_file(&c, path, &err) < 0) {
		if (err == NULL)
			abort();
		xn_error_free(&err);
		xn_config_dispose(&c);
		return 0;
	}
	(void)xn_config_check(&c, NULL);
	out = printed(&c);
	xn_config_init(&back);
	path = xn_fuzz_file("printed.yaml", (const uint8_t *)out, strlen(out));
	if (xn_config_load_file(&back, path, &err) < 0) {
		fprintf(stderr, "printed settings do not load: %s\n%s", xn_error_msg(err), out);
		abort();
	}
	again = printed(&back);
	if (strcmp(out, again) != 0) {
		fprintf(stderr, "printed settings load differently:\n%s---\n%s", out, again);
		abort();
	}
	free(again);
	free(out);
	xn_config_dispose(&back);
	xn_config_dispose(&c);
	return 0;
}
