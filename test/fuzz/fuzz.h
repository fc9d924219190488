/* fuzz.h - what the libFuzzer targets in test/fuzz/ share: copies of the
 * input as a C string or a file, and cutting the input into parts.
 *
 * Each target is one file, fuzz_<name>.c, defining LLVMFuzzerTestOneInput
 * and calling the daemon's real parser (linked from build-fuzz/libxenlet.a).
 * A target must not leak, must not keep state between inputs unless it says
 * so, and must not touch anything outside its own temporary directory.
 * docs/fuzzing.md lists the targets.
 */
#ifndef XN_FUZZ_H
#define XN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd NUL-terminated copy of the input (free it).  Parsers that take
 * C strings stop at an embedded NUL, as they would on the real input. */
static inline char *xn_fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Write the input to `name` in a private directory made once per process
 * (mkdtemp under $TMPDIR or /tmp) and return the file's path (static
 * storage, overwritten by the next call).  For parsers that only read
 * files.  The directory is left behind for the runner to remove. */
static inline const char *xn_fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static char dir[256], path[512];
	FILE *f;

	if (dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/xn-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
		abort();
	return path;
}

/* Take the first byte of the input (0 when empty) to choose a variant. */
static inline uint8_t xn_fuzz_take_byte(const uint8_t **data, size_t *size)
{
	uint8_t b = 0;

	if (*size > 0) {
		b = (*data)[0];
		(*data)++;
		(*size)--;
	}
	return b;
}

#endif
