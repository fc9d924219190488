/* cmd-create.c - `xl-pod create`: a local pod from a kernel; with -N, the domain it would be. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "xenlet/util.h"
#include "xl_pod.h"

/* A bare number means MiB, as in xl's memory=; anything else is a
 * Kubernetes quantity that xenletd parses. */
static char *memory_arg(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && s[n] == '\0' ? xn_xasprintf("%sMi", s) : xn_xstrdup(s);
}

static char *join(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = xn_xcalloc(1, len);
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int main_create(int argc, char **argv)
{
	enum { OPT_READY = 256, OPT_BOOT_TIMEOUT };
	static const struct option longopts[] = {
	    {"namespace", required_argument, NULL, 'n'},
	    {"memory", required_argument, NULL, 'm'},
	    {"vcpus", required_argument, NULL, 'c'},
	    {"type", required_argument, NULL, 't'},
	    {"ramdisk", required_argument, NULL, 'r'},
	    {"restart", required_argument, NULL, 'p'},
	    {"ready", no_argument, NULL, OPT_READY},
	    {"boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT},
	    XLP_COMMON_LONG_OPTS};
	const char *ns = NULL, *type = NULL, *ramdisk = NULL, *policy = NULL, *mem = NULL;
	char kernel[PATH_MAX], rd[PATH_MAX];
	cJSON *req = NULL, *ans = NULL, *v;
	uint64_t vcpus = 0, boot_timeout = 0;
	bool ready = false;
	int opt, rc = 1;

	/* '+': words after KERNEL are the guest's command line, options included */
	SWITCH_FOREACH_OPT(opt, "+n:m:c:t:r:p:", longopts, 2) {
	case 'n': ns = optarg; break;
	case 'm': mem = optarg; break;
	case 'c':
		if (xn_parse_u64(optarg, 128, &vcpus) < 0 || vcpus == 0)
			xlp_usage_fail("create", "-c '%s': must be a number 1..128", optarg);
		break;
	case 't': type = optarg; break;
	case 'r': ramdisk = optarg; break;
	case 'p': policy = optarg; break;
	case OPT_READY: ready = true; break;
	case OPT_BOOT_TIMEOUT:
		if (xn_parse_u64(optarg, 86400, &boot_timeout) < 0 || boot_timeout == 0)
			xlp_usage_fail("create", "--boot-timeout '%s': must be 1..86400 seconds",
				       optarg);
		break;
	}
	if (realpath(argv[optind + 1], kernel) == NULL)
		return xlp_fail("create", "kernel %s: %s", argv[optind + 1], strerror(errno));
	if (ramdisk && realpath(ramdisk, rd) == NULL)
		return xlp_fail("create", "ramdisk %s: %s", ramdisk, strerror(errno));
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "create");
	cJSON_AddStringToObject(req, "name", argv[optind]);
	if (ns)
		cJSON_AddStringToObject(req, "namespace", ns);
	cJSON_AddStringToObject(req, "kernel", kernel);
	if (ramdisk)
		cJSON_AddStringToObject(req, "ramdisk", rd);
	if (argc - optind > 2) {
		char *cmdline = join(argc - optind - 2, argv + optind + 2);

		cJSON_AddStringToObject(req, "cmdline", cmdline);
		free(cmdline);
	}
	if (type)
		cJSON_AddStringToObject(req, "type", type);
	if (mem) {
		char *m = memory_arg(mem);

		cJSON_AddStringToObject(req, "memory", m);
		free(m);
	}
	if (vcpus)
		cJSON_AddNumberToObject(req, "vcpus", (double)vcpus);
	if (policy)
		cJSON_AddStringToObject(req, "restartPolicy", policy);
	cJSON_AddBoolToObject(req, "readiness", ready);
	if (boot_timeout)
		cJSON_AddNumberToObject(req, "bootTimeout", (double)boot_timeout);
	cJSON_AddBoolToObject(req, "dryRun", xlp_g.dry_run);
	if (xlp_call("create", req, &ans))
		return 1;
	if (xlp_g.dry_run) {
		char *s = cJSON_Print(cJSON_GetObjectItemCaseSensitive(ans, "domain"));

		if (s == NULL) {
			rc = xlp_fail("create", "xenletd's dry run answer has no domain");
			goto out;
		}
		printf("%s\n", s);
		free(s);
	} else {
		v = cJSON_GetObjectItemCaseSensitive(ans, "uid");
		if (!cJSON_IsString(v)) {
			rc = xlp_fail("create", "xenletd's answer has no uid");
			goto out;
		}
		printf("%s\n", v->valuestring);
	}
	rc = 0;
out:
	cJSON_Delete(ans);
	return rc;
}
