/* cmd-list.c - `xl-pod list`: the pods on this node as a table, like `xl list`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "xl_pod.h"

static const char *str(const cJSON *o, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int by_name(const void *a, const void *b)
{
	const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
	int r = strcmp(str(x, "namespace", ""), str(y, "namespace", ""));

	return r ? r : strcmp(str(x, "name", ""), str(y, "name", ""));
}

static void print_row(const cJSON *p, int width)
{
	const cJSON *domid = cJSON_GetObjectItemCaseSensitive(p, "domid");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(p, "exitCode");
	const cJSON *restarts = cJSON_GetObjectItemCaseSensitive(p, "restarts");
	const cJSON *mem = cJSON_GetObjectItemCaseSensitive(p, "memoryKiB");
	const char *reason = str(p, "reason", "");
	char name[512], id[16] = "-", state[96], ex[16] = "-";

	snprintf(name, sizeof(name), "%s/%s", str(p, "namespace", "?"), str(p, "name", "?"));
	if (cJSON_IsNumber(domid))
		snprintf(id, sizeof(id), "%d", domid->valueint);
	if (cJSON_IsNumber(code))
		snprintf(ex, sizeof(ex), "%d", code->valueint);
	snprintf(state, sizeof(state), "%s%s%s", str(p, "state", "?"), reason[0] ? "/" : "",
		 reason);
	printf("%-*s %5s %-26s %5s %8d %4s %8.0f\n", width, name, id, state,
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "ready")) ? "yes" : "no",
	       cJSON_IsNumber(restarts) ? restarts->valueint : 0, ex,
	       cJSON_IsNumber(mem) ? mem->valuedouble / 1024 : 0.0);
}

int main_list(int argc, char **argv)
{
	static const struct option longopts[] = {{"long", no_argument, NULL, 'l'},
						 XLP_COMMON_LONG_OPTS};
	cJSON *req = cJSON_CreateObject(), *ans = NULL, *pods, *p;
	cJSON **rows = NULL;
	bool json = false;
	int opt, width = 20, n = 0;

	SWITCH_FOREACH_OPT(opt, "l", longopts, 0) {
	case 'l': json = true; break;
	}
	if (optind != argc) {
		cJSON_Delete(req);
		xlp_usage_fail("list", "unexpected argument '%s'", argv[optind]);
	}
	cJSON_AddStringToObject(req, "op", "list");
	if (xlp_call("list", req, &ans))
		return 1;
	pods = cJSON_GetObjectItemCaseSensitive(ans, "pods");
	if (json) {
		char *s = cJSON_Print(pods);

		printf("%s\n", s ? s : "[]");
		free(s);
		cJSON_Delete(ans);
		return 0;
	}
	rows = calloc((size_t)cJSON_GetArraySize(pods) + 1, sizeof(*rows));
	if (rows == NULL) {
		cJSON_Delete(ans);
		return xlp_fail("list", "out of memory");
	}
	cJSON_ArrayForEach(p, pods) {
		int w = (int)(strlen(str(p, "namespace", "?")) + 1 + strlen(str(p, "name", "?")));

		if (w > width)
			width = w;
		rows[n++] = p;
	}
	qsort(rows, (size_t)n, sizeof(*rows), by_name);
	printf("%-*s %5s %-26s %5s %8s %4s %8s\n", width, "NAMESPACE/NAME", "DOMID", "STATE",
	       "READY", "RESTARTS", "EXIT", "MEM(MiB)");
	for (int i = 0; i < n; i++)
		print_row(rows[i], width);
	free(rows);
	cJSON_Delete(ans);
	return 0;
}
