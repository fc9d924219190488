/* cmd-pause.c - `xl-pod pause` / `xl-pod unpause`: stop and resume a pod's vCPUs, as `xl pause`. */
#include <stdio.h>

#include <cJSON.h>

#include "xl_pod.h"

static int pause_or_unpause(const char *op, int argc, char **argv)
{
	static const struct option longopts[] = {{"namespace", required_argument, NULL, 'n'},
						 XLP_COMMON_LONG_OPTS};
	const char *ns = NULL;
	cJSON *req, *ans = NULL;
	int opt;

	SWITCH_FOREACH_OPT(opt, "n:", longopts, 1) {
	case 'n': ns = optarg; break;
	}
	if (argc - optind > 1)
		xlp_usage_fail(op, "unexpected argument '%s'", argv[optind + 1]);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", op);
	cJSON_AddStringToObject(req, "name", argv[optind]);
	if (ns)
		cJSON_AddStringToObject(req, "namespace", ns);
	if (xlp_call(op, req, &ans))
		return 1;
	cJSON_Delete(ans);
	return 0;
}

int main_pause(int argc, char **argv)
{
	return pause_or_unpause("pause", argc, argv);
}

int main_unpause(int argc, char **argv)
{
	return pause_or_unpause("unpause", argc, argv);
}
