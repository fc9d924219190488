/* fuzz_sim_script.c - hv_sim scripts (daemon/sim_script.c), the "images"
 * of the simulator backend: any file a pod names can reach this parser.
 * The input is passed as is (not NUL-terminated), as hv_sim passes a file's
 * bytes.  Besides the sanitizers, checks that a parsed program is well
 * formed and that a failure says where. */
#include <stdbool.h>

#include "fuzz.h"
#include "xenlet/sim_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xn_sim_script s;
	xn_err err = NULL;

	if (xn_sim_script_parse("fuzz.sim", (const char *)data, size, &s, &err) < 0) {
		if (err == NULL || strncmp(xn_error_msg(err), "fuzz.sim:", 9) != 0)
			abort();
		if (s.steps != NULL || s.nsteps != 0)
			abort();
		xn_error_free(&err);
		return 0;
	}
	for (size_t i = 0; i < s.nsteps; i++) {
		const struct xn_sim_step *st = &s.steps[i];

		if (xn_sim_op_name(st->op) == NULL || st->line == 0)
			abort();
		bool has_text = st->op == XN_SIM_PRINT || st->op == XN_SIM_WRITE ||
				st->op == XN_SIM_XENSTORE || st->op == XN_SIM_HTTP ||
				st->op == XN_SIM_CONNECT || st->op == XN_SIM_HTTP_GET;
		bool has_host = st->op == XN_SIM_CONNECT || st->op == XN_SIM_HTTP_GET ||
				st->op == XN_SIM_RESOLVE;
		bool has_port = st->op == XN_SIM_HTTP || st->op == XN_SIM_ECHO ||
				st->op == XN_SIM_CONNECT || st->op == XN_SIM_HTTP_GET;

		if (has_text != (st->text != NULL) || has_host != (st->host != NULL))
			abort();
		/* a host reaches getaddrinfo and messages: never option syntax */
		if (has_host && (st->host[0] == '\0' || st->host[0] == '-'))
			abort();
		if (has_port && (st->arg == 0 || st->arg > 65535))
			abort();
		if (st->op == XN_SIM_HTTP_GET && st->text[0] != '/')
			abort();
		/* xenstore: a key of [a-z0-9-] (it becomes a path), and a value */
		if ((st->op == XN_SIM_XENSTORE) != (st->value != NULL))
			abort();
		if (st->op == XN_SIM_XENSTORE &&
		    (st->text[0] == '\0' || strlen(st->text) > XN_SIM_KEY_MAX ||
		     st->text[strspn(st->text, "abcdefghijklmnopqrstuvwxyz0123456789-")] != '\0'))
			abort();
		if (st->op == XN_SIM_SLEEP && st->arg > XN_SIM_SLEEP_MAX_MS)
			abort();
		if (st->op == XN_SIM_EXIT && st->arg > 255)
			abort();
	}
	xn_sim_script_dispose(&s);
	return 0;
}
