/* cmd-destroy.c - `xl-pod destroy`: stop a pod and return once xenletd has forgotten it. */
#include <stdio.h>

#include <cJSON.h>

#include "xenlet/util.h"
#include "xl_pod.h"

int main_destroy(int argc, char **argv)
{
	static const struct option longopts[] = {{"namespace", required_argument, NULL, 'n'},
						 {"grace", required_argument, NULL, 'g'},
						 XLP_COMMON_LONG_OPTS};
	const char *ns = NULL;
	uint64_t grace = 0;
	bool has_grace = false;
	cJSON *req, *ans = NULL;
	int opt;

	SWITCH_FOREACH_OPT(opt, "n:g:", longopts, 1) {
	case 'n': ns = optarg; break;
	case 'g':
		if (xn_parse_u64(optarg, 86400, &grace) < 0)
			xlp_usage_fail("destroy", "-g '%s': must be 0..86400 seconds", optarg);
		has_grace = true;
		break;
	}
	if (argc - optind > 1)
		xlp_usage_fail("destroy", "unexpected argument '%s'", argv[optind + 1]);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "destroy");
	cJSON_AddStringToObject(req, "name", argv[optind]);
	if (ns)
		cJSON_AddStringToObject(req, "namespace", ns);
	if (has_grace)
		cJSON_AddNumberToObject(req, "grace", (double)grace);
	if (xlp_call("destroy", req, &ans))
		return 1;
	cJSON_Delete(ans);
	return 0;
}
