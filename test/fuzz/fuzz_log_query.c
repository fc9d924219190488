/* fuzz_log_query.c - the containerLogs query (xn_log_opts_parse,
 * daemon/kubelet_api_logs.c): PodLogOptions from what the API server (or
 * anyone who reaches the kubelet port and is allowed to) puts after "?".
 *
 * Byte 1, bit 0 picks the mode:
 *  - 0: the rest is the query, as it comes.  An accepted query gives options
 *    the reader can take (tailLines -1 or >= 0, limitBytes -1 or >= 1,
 *    since_ns not in the future unless sinceTime says so); a refused one an
 *    error message that names the problem.
 *  - 1: the rest is the value of one sinceSeconds; checked against the
 *    arithmetic done here in 128 bits: since_ns = now - N s, or 1 (the
 *    start) for anything at or before the epoch.
 */
#include <errno.h>

#include "fuzz.h"
#include "xenlet/kubelet_api.h"

#define NOW 1700000000000000000ull /* 2023-11-14T22:13:20Z */

static void any_query(const uint8_t *data, size_t size)
{
	char *q = xn_fuzz_cstr(data, size);
	struct xn_log_opts o;
	xn_err err = NULL;

	if (xn_log_opts_parse(q, NOW, &o, &err) == 0) {
		if (o.tail_lines < -1 || o.limit_bytes == 0 || o.limit_bytes < -1)
			abort();
		if (strstr(q, "sinceTime") == NULL && o.since_ns > NOW)
			abort();
	} else if (err == NULL || xn_error_msg(err)[0] == '\0') {
		abort();
	}
	xn_error_free(&err);
	free(q);
}

static void since_seconds(const uint8_t *data, size_t size)
{
	char *v = xn_fuzz_cstr(data, size), *q, *end;
	struct xn_log_opts o;
	xn_err err = NULL;
	long long n;
	int rc;

	q = malloc(size + 32);
	sprintf(q, "sinceSeconds=%s", v);
	rc = xn_log_opts_parse(q, NOW, &o, &err);
	errno = 0;
	n = strtoll(v, &end, 10);
	/* plain decimal numbers only: the query decoder would change the rest */
	if (v[0] != '\0' && *end == '\0' && errno == 0 && strspn(v, "+-0123456789") == size) {
		if (n < 1) {
			if (rc == 0)
				abort();
		} else {
			unsigned __int128 d = (unsigned __int128)n * 1000000000u;
			uint64_t want = d < NOW ? NOW - (uint64_t)d : 1;

			if (rc != 0 || o.since_ns != want)
				abort();
		}
	}
	xn_error_free(&err);
	free(q);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = xn_fuzz_take_byte(&data, &size);

	if (mode & 1)
		since_seconds(data, size);
	else
		any_query(data, size);
	return 0;
}
