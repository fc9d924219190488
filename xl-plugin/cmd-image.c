/* cmd-image.c - `xl-pod image pull|list|rm|import|pack`: the node's image
 * cache through xenletd, and packing a kernel into an OCI image layout
 * (docs/images.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "xenlet/image_layout.h"
#include "xenlet/util.h"
#include "xl_pod.h"

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void no_more(int argc, char **argv, int want, const char *cmd)
{
	if (argc - optind > want)
		xlp_usage_fail(cmd, "unexpected argument '%s'", argv[optind + want]);
}

static int image_pull(int argc, char **argv)
{
	static const struct option longopts[] = {XLP_COMMON_LONG_OPTS};
	cJSON *req, *ans = NULL;
	int opt;

	SWITCH_FOREACH_OPT(opt, "", longopts, 1) {
	}
	no_more(argc, argv, 1, "image");
	/* the daemon answers when the pull ends; on a terminal say it started */
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "Pulling %s ...\n", argv[optind]);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "imagePull");
	cJSON_AddStringToObject(req, "ref", argv[optind]);
	if (xlp_call("image pull", req, &ans))
		return 1;
	printf("%s: digest %s, size %.0f bytes (%.0f fetched)\n", jstr(ans, "ref"),
	       jstr(ans, "digest"), jnum(ans, "size"), jnum(ans, "fetched"));
	cJSON_Delete(ans);
	return 0;
}

static int image_list(int argc, char **argv)
{
	static const struct option longopts[] = {{"long", no_argument, NULL, 'l'},
						 XLP_COMMON_LONG_OPTS};
	const cJSON *img, *arr;
	cJSON *req, *ans = NULL;
	bool lng = false;
	int opt;

	SWITCH_FOREACH_OPT(opt, "l", longopts, 0) {
	case 'l': lng = true; break;
	}
	no_more(argc, argv, 0, "image");
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "imageList");
	if (xlp_call("image list", req, &ans))
		return 1;
	if (lng) {
		char *s = cJSON_Print(ans);

		puts(s);
		free(s);
		cJSON_Delete(ans);
		return 0;
	}
	arr = cJSON_GetObjectItemCaseSensitive(ans, "images");
	printf("%-40s %-71s %12s\n", "REFERENCE", "DIGEST", "SIZE");
	cJSON_ArrayForEach(img, arr) {
		if (jnum(img, "size") < 0)
			printf("%-40s %-71s %12s  (%s)\n", jstr(img, "ref"), jstr(img, "digest"),
			       "-", jstr(img, "error"));
		else
			printf("%-40s %-71s %12.0f\n", jstr(img, "ref"), jstr(img, "digest"),
			       jnum(img, "size"));
	}
	cJSON_Delete(ans);
	return 0;
}

static int image_rm(int argc, char **argv)
{
	static const struct option longopts[] = {XLP_COMMON_LONG_OPTS};
	const cJSON *r;
	cJSON *req, *ans = NULL;
	int opt;

	SWITCH_FOREACH_OPT(opt, "", longopts, 1) {
	}
	no_more(argc, argv, 1, "image");
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "imageRemove");
	cJSON_AddStringToObject(req, "ref", argv[optind]);
	if (xlp_call("image rm", req, &ans))
		return 1;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(ans, "removed"))
		if (cJSON_IsString(r))
			printf("Untagged: %s\n", r->valuestring);
	cJSON_Delete(ans);
	return 0;
}

/* Run argv; 0 when it exits 0. */
static int run(char *const *args)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(args[0], args);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int image_import(int argc, char **argv)
{
	static const struct option longopts[] = {XLP_COMMON_LONG_OPTS};
	char real[PATH_MAX], tmp[] = "/tmp/xl-pod-import-XXXXXX";
	const char *dir = real;
	cJSON *req, *ans = NULL;
	struct stat sb;
	bool extracted = false;
	int opt, rc;

	SWITCH_FOREACH_OPT(opt, "", longopts, 2) {
	}
	no_more(argc, argv, 2, "image");
	if (realpath(argv[optind], real) == NULL || stat(real, &sb) < 0)
		return xlp_fail("image import", "%s: %s", argv[optind], strerror(errno));
	if (S_ISREG(sb.st_mode)) {
		/* a tar of a layout (skopeo's oci-archive:, `tar -C DIR -cf`) */
		char *tar[] = {"tar", "-xf", real, "-C", tmp, "--no-same-owner", NULL};

		if (mkdtemp(tmp) == NULL)
			return xlp_fail("image import", "%s: %s", tmp, strerror(errno));
		extracted = true;
		if (run(tar) < 0) {
			char *rm[] = {"rm", "-rf", tmp, NULL};

			run(rm);
			return xlp_fail("image import", "%s: not a tar archive tar can read",
					argv[optind]);
		}
		dir = tmp;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "op", "imageImport");
	cJSON_AddStringToObject(req, "path", dir);
	cJSON_AddStringToObject(req, "ref", argv[optind + 1]);
	rc = xlp_call("image import", req, &ans);
	if (extracted) {
		char *rm[] = {"rm", "-rf", tmp, NULL};

		run(rm);
	}
	if (rc)
		return 1;
	printf("%s: digest %s\n", argv[optind + 1], jstr(ans, "digest"));
	cJSON_Delete(ans);
	return 0;
}

static int image_pack(int argc, char **argv)
{
	static const struct option longopts[] = {{"initrd", required_argument, NULL, 'i'},
						 {"cmdline", required_argument, NULL, 'c'},
						 {"type", required_argument, NULL, 't'},
						 {"min-memory", required_argument, NULL, 'm'},
						 {"net-config", required_argument, NULL, 'n'},
						 {"tag", required_argument, NULL, 'T'},
						 {"arch", required_argument, NULL, 'a'},
						 {"output", required_argument, NULL, 'o'},
						 XLP_COMMON_LONG_OPTS};
	struct xn_pack_opts o = {0};
	const char *out = NULL;
	char *digest = NULL;
	uint64_t size = 0;
	xn_err err = NULL;
	int opt;

	SWITCH_FOREACH_OPT(opt, "i:c:t:m:n:T:a:o:", longopts, 1) {
	case 'i': o.initrd = optarg; break;
	case 'c': o.cmdline = optarg; break;
	case 't': o.guest_type = optarg; break;
	case 'm': o.min_memory = optarg; break;
	case 'n': o.net_config = optarg; break;
	case 'T': o.tag = optarg; break;
	case 'a': o.arch = optarg; break;
	case 'o': out = optarg; break;
	}
	no_more(argc, argv, 1, "image");
	if (out == NULL)
		xlp_usage_fail("image", "pack: -o DIR is required");
	if (o.arch && strcmp(o.arch, "amd64") != 0 && strcmp(o.arch, "arm64") != 0)
		xlp_usage_fail("image", "--arch '%s': amd64 or arm64", o.arch);
	o.kernel = argv[optind];
	if (xn_layout_pack(&o, out, &digest, &size, &err) < 0) {
		xlp_fail("image pack", "%s", xn_error_msg(err));
		xn_error_free(&err);
		return 1;
	}
	printf("%s: tag %s, digest %s, size %llu bytes\n", out, o.tag ? o.tag : "latest", digest,
	       (unsigned long long)size);
	free(digest);
	return 0;
}

int main_image(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {{"pull", image_pull}, {"list", image_list},	    {"ls", image_list},
		    {"rm", image_rm},	  {"import", image_import}, {"pack", image_pack}};

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		char msg[128];
		const struct cmd_spec *c =
		    xlp_cmd_find(xlp_cmd_table, xlp_cmd_table_len, "image", msg, sizeof(msg));

		xlp_help(argc < 2 ? stderr : stdout, c);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0) {
			argv[1] = argv[0];
			optind = 0;
			return subs[i].fn(argc - 1, argv + 1);
		}
	xlp_usage_fail("image", "unknown image command '%s' (pull, list, rm, import, pack)",
		       argv[1]);
}
