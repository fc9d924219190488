/* cmd-node.c - `xl-pod node` and `xl-pod version`: about the host and the daemon. */
#include <stdio.h>

#include <cJSON.h>

#include "xl_pod.h"

static void kv_str(const cJSON *o, const char *label, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	printf("%-22s: %s\n", label, cJSON_IsString(v) ? v->valuestring : "-");
}

static void kv_num(const cJSON *o, const char *label, const char *k, double div)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (cJSON_IsNumber(v))
		printf("%-22s: %.0f\n", label, v->valuedouble / div);
	else
		printf("%-22s: -\n", label);
}

static int no_args(int argc, char **argv, const char *cmd)
{
	static const struct option longopts[] = {XLP_COMMON_LONG_OPTS};
	int opt;

	SWITCH_FOREACH_OPT(opt, "", longopts, 0) {
	}
	if (optind != argc)
		xlp_usage_fail(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int main_node(int argc, char **argv)
{
	cJSON *req, *ans = NULL, *host;

	no_args(argc, argv, "node");
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "node");
	if (xlp_call("node", req, &ans))
		return 1;
	host = cJSON_GetObjectItemCaseSensitive(ans, "host");
	kv_str(host, "host", "hostname");
	kv_str(host, "xen_version", "xenVersion");
	kv_str(host, "arch", "arch");
	kv_num(host, "nr_cpus", "cpus", 1);
	kv_num(host, "total_memory (MiB)", "totalKiB", 1024);
	kv_num(host, "free_memory (MiB)", "freeKiB", 1024);
	kv_str(ans, "backend", "backend");
	kv_num(ans, "pods", "pods", 1);
	kv_num(ans, "pod_memory (MiB)", "memoryKiB", 1024);
	kv_num(ans, "pod_vcpus", "vcpus", 1);
	cJSON_Delete(ans);
	return 0;
}

int main_version(int argc, char **argv)
{
	const cJSON *v, *b;
	cJSON *req, *ans = NULL;

	no_args(argc, argv, "version");
	printf("xl-pod %s\n", XN_VERSION);
	fflush(stdout);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "version");
	if (xlp_call("version", req, &ans))
		return 1;
	v = cJSON_GetObjectItemCaseSensitive(ans, "version");
	b = cJSON_GetObjectItemCaseSensitive(ans, "backend");
	printf("xenletd %s (backend %s)\n", cJSON_IsString(v) ? v->valuestring : "?",
	       cJSON_IsString(b) ? b->valuestring : "?");
	cJSON_Delete(ans);
	return 0;
}
