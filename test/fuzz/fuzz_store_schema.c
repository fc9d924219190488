/* fuzz_store_schema.c - xenstore paths and values against the schema
 * (daemon/store_schema.c): what a guest writes under data/xenlet/ is
 * checked here before the daemon reads it.
 *
 * Input: one byte choosing a key of the table, then "PATH\nVALUE".  PATH is
 * looked up; VALUE (exactly its bytes, not NUL-terminated, as xenstore
 * reads may give them) is checked against the key PATH matched, against the
 * chosen key, and against the chosen key's syntax and a path variable's.
 * Besides the sanitizers, checks that an accepted value is within the
 * key's length limit and holds no NUL. */
#include "fuzz.h"
#include "xenlet/store_schema.h"

static void check(const struct xn_schema_key *k, const char *v, size_t len)
{
	xn_err err = NULL;

	if (xn_schema_check_value(k, v, len, &err) == 0) {
		if (len > k->max_len || memchr(v, '\0', len) != NULL)
			abort();
	} else {
		if (err == NULL)
			abort();
		xn_error_free(&err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pick = xn_fuzz_take_byte(&data, &size);
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	size_t vlen = nl ? size - plen - 1 : 0;
	char *path = xn_fuzz_cstr(data, plen);
	char *val = malloc(vlen); /* exactly the value's bytes (ASan: malloc(0) has none) */
	const struct xn_schema_key *k = xn_schema_lookup(path);
	const struct xn_schema_var *var = &xn_schema_vars[pick % xn_schema_nvars];
	const struct xn_schema_key *chosen = &xn_schema_keys[pick % xn_schema_nkeys];

	if (val == NULL)
		abort();
	if (vlen)
		memcpy(val, nl + 1, vlen);
	if (k != NULL)
		check(k, val, vlen);
	check(chosen, val, vlen);
	(void)xn_schema_check_syntax(chosen->syntax, val, vlen, NULL);
	(void)xn_schema_check_syntax(var->syntax, val, vlen, NULL);
	free(val);
	free(path);
	return 0;
}
