/* pod_spec.c - the runtime's pod spec: copy, dispose, JSON, and its file
 * <root>/pods/<uid>.json (save, remove, load them all). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "xenlet/log.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

static const char *const policy_names[] = {"Always", "OnFailure", "Never"};

const char *xn_restart_policy_name(enum xn_restart_policy p)
{
	return (unsigned)p < XN_ARRAY_SIZE(policy_names) ? policy_names[p] : "Always";
}

int xn_restart_policy_parse(const char *s, enum xn_restart_policy *out)
{
	for (size_t i = 0; i < XN_ARRAY_SIZE(policy_names); i++)
		if (s && strcmp(s, policy_names[i]) == 0) {
			*out = (enum xn_restart_policy)i;
			return 0;
		}
	return -1;
}

void xn_pod_spec_copy(struct xn_pod_spec *d, const struct xn_pod_spec *s)
{
	*d = *s;
	d->uid = xn_dup_or_null(s->uid);
	d->ns = xn_dup_or_null(s->ns);
	d->name = xn_dup_or_null(s->name);
	d->container = xn_dup_or_null(s->container);
	d->image = xn_dup_or_null(s->image);
	d->image_id = xn_dup_or_null(s->image_id);
	d->kernel = xn_dup_or_null(s->kernel);
	d->ramdisk = xn_dup_or_null(s->ramdisk);
	d->cmdline = xn_dup_or_null(s->cmdline);
	xn_probes_copy(&d->probes, &s->probes);
	d->dns_policy = xn_dup_or_null(s->dns_policy);
	d->dns_config = xn_dup_or_null(s->dns_config);
	d->env_plan = xn_dup_or_null(s->env_plan);
}

void xn_pod_spec_dispose(struct xn_pod_spec *s)
{
	if (s == NULL)
		return;
	free(s->uid);
	free(s->ns);
	free(s->name);
	free(s->container);
	free(s->image);
	free(s->image_id);
	free(s->kernel);
	free(s->ramdisk);
	free(s->cmdline);
	xn_probes_dispose(&s->probes);
	free(s->dns_policy);
	free(s->dns_config);
	free(s->env_plan);
	memset(s, 0, sizeof(*s));
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, k, v);
}

char *xn_pod_spec_to_json(const struct xn_pod_spec *s)
{
	cJSON *o = cJSON_CreateObject();
	char *out;

	add_str(o, "uid", s->uid);
	add_str(o, "namespace", s->ns);
	add_str(o, "name", s->name);
	add_str(o, "container", s->container);
	add_str(o, "image", s->image);
	add_str(o, "imageID", s->image_id);
	add_str(o, "kernel", s->kernel);
	add_str(o, "ramdisk", s->ramdisk);
	add_str(o, "cmdline", s->cmdline);
	add_str(o, "dnsPolicy", s->dns_policy);
	add_str(o, "dnsConfig", s->dns_config);
	add_str(o, "envPlan", s->env_plan);
	cJSON_AddStringToObject(o, "type", s->type == XN_GUEST_PVH ? "pvh" : "pv");
	cJSON_AddNumberToObject(o, "memoryKiB", (double)s->memory_kb);
	cJSON_AddNumberToObject(o, "vcpus", s->vcpus);
	cJSON_AddNumberToObject(o, "cpuWeight", s->cpu_weight);
	cJSON_AddNumberToObject(o, "cpuCap", s->cpu_cap);
	cJSON_AddNumberToObject(o, "cpuRequestMilli", s->cpu_request_milli);
	cJSON_AddStringToObject(o, "restartPolicy", xn_restart_policy_name(s->restart));
	cJSON_AddNumberToObject(o, "graceSeconds", s->grace_s);
	if (s->boot_timeout_s)
		cJSON_AddNumberToObject(o, "bootTimeoutSeconds", s->boot_timeout_s);
	cJSON_AddBoolToObject(o, "guestReadiness", s->guest_readiness);
	if (s->net_config != XN_NETCONF_NONE)
		cJSON_AddStringToObject(o, "netConfig", xn_net_conv_name(s->net_config));
	cJSON_AddBoolToObject(o, "local", s->local);
	if (xn_probes_any(&s->probes))
		xn_probes_to_json(&s->probes, cJSON_AddObjectToObject(o, "probes"));
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (out == NULL)
		fatalx("out of memory formatting a pod spec");
	return out;
}

static int get_str(cJSON *o, const char *k, bool required, char **out, xn_err *err)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL || cJSON_IsNull(v)) {
		if (required)
			return xn_error(err, EINVAL, "pod spec: \"%s\" is missing", k);
		return 0;
	}
	if (!cJSON_IsString(v))
		return xn_error(err, EINVAL, "pod spec: \"%s\" must be a string", k);
	*out = xn_xstrdup(v->valuestring);
	return 0;
}

static int get_uint(cJSON *o, const char *k, double max, uint64_t *out, xn_err *err)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
		return xn_error(err, EINVAL, "pod spec: \"%s\" must be a number 0..%.0f", k, max);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

int xn_pod_spec_from_json(const char *json, struct xn_pod_spec *s, xn_err *err)
{
	cJSON *o = cJSON_Parse(json);
	cJSON *v;
	uint64_t n;
	int rc = -1;

	memset(s, 0, sizeof(*s));
	if (o == NULL || !cJSON_IsObject(o)) {
		xn_error(err, EINVAL, "pod spec: not a JSON object");
		goto out;
	}
	if (get_str(o, "uid", true, &s->uid, err) < 0 ||
	    get_str(o, "namespace", true, &s->ns, err) < 0 ||
	    get_str(o, "name", true, &s->name, err) < 0 ||
	    get_str(o, "container", true, &s->container, err) < 0 ||
	    get_str(o, "image", false, &s->image, err) < 0 ||
	    get_str(o, "imageID", false, &s->image_id, err) < 0 ||
	    get_str(o, "kernel", true, &s->kernel, err) < 0 ||
	    get_str(o, "ramdisk", false, &s->ramdisk, err) < 0 ||
	    get_str(o, "dnsPolicy", false, &s->dns_policy, err) < 0 ||
	    get_str(o, "dnsConfig", false, &s->dns_config, err) < 0 ||
	    get_str(o, "envPlan", false, &s->env_plan, err) < 0 ||
	    get_str(o, "cmdline", false, &s->cmdline, err) < 0)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(o, "type");
	s->type =
	    (cJSON_IsString(v) && strcmp(v->valuestring, "pvh") == 0) ? XN_GUEST_PVH : XN_GUEST_PV;
	n = 0;
	if (get_uint(o, "memoryKiB", 1e12, &n, err) < 0)
		goto out;
	s->memory_kb = n;
	n = 1;
	if (get_uint(o, "vcpus", 128, &n, err) < 0)
		goto out;
	s->vcpus = (unsigned)n;
	n = 0;
	if (get_uint(o, "cpuWeight", 65535, &n, err) < 0)
		goto out;
	s->cpu_weight = (unsigned)n;
	n = 0;
	if (get_uint(o, "cpuCap", 12800, &n, err) < 0)
		goto out;
	s->cpu_cap = (unsigned)n;
	n = 0;
	if (get_uint(o, "cpuRequestMilli", 128000, &n, err) < 0)
		goto out;
	s->cpu_request_milli = (unsigned)n;
	n = 30;
	if (get_uint(o, "graceSeconds", 86400 * 365, &n, err) < 0)
		goto out;
	s->grace_s = (unsigned)n;
	n = 0;
	if (get_uint(o, "bootTimeoutSeconds", 86400, &n, err) < 0)
		goto out;
	s->boot_timeout_s = (unsigned)n;
	v = cJSON_GetObjectItemCaseSensitive(o, "restartPolicy");
	if (v && (!cJSON_IsString(v) || xn_restart_policy_parse(v->valuestring, &s->restart) < 0)) {
		xn_error(err, EINVAL, "pod spec: restartPolicy must be Always, OnFailure or Never");
		goto out;
	}
	s->guest_readiness = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "guestReadiness"));
	v = cJSON_GetObjectItemCaseSensitive(o, "netConfig");
	if (v && (!cJSON_IsString(v) || xn_net_conv_parse(v->valuestring, &s->net_config) < 0)) {
		xn_error(err, EINVAL,
			 "pod spec: netConfig must be none, mirage, unikraft or linux");
		goto out;
	}
	s->local = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "local"));
	v = cJSON_GetObjectItemCaseSensitive(o, "probes");
	if (v != NULL) { /* the container's own shape: the translation's parser */
		char msg[512], unsup[256];
		if (xn_probes_parse(v, &s->probes, msg, sizeof(msg), unsup, sizeof(unsup)) < 0) {
			xn_error(err, EINVAL, "pod spec: probes: %s", msg);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(o);
	if (rc < 0)
		xn_pod_spec_dispose(s);
	return rc;
}

/* ---- <dir>/<uid>.json ---- */

static char *spec_path(const char *dir, const char *uid)
{
	return xn_xasprintf("%s/%s.json", dir, uid);
}

int xn_pod_spec_save(const char *dir, const struct xn_pod_spec *s, xn_err *err)
{
	cleanup_free char *path = spec_path(dir, s->uid);
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", path);
	cleanup_free char *json = xn_pod_spec_to_json(s);
	FILE *f = fopen(tmp, "w");

	if (f == NULL)
		return xn_error_errno(err, errno, "pod spec %s", tmp);
	if (fputs(json, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		return xn_error_errno(err, e, "pod spec %s", tmp);
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return xn_error_errno(err, e, "pod spec %s", path);
	}
	return 0;
}

void xn_pod_spec_remove(const char *dir, const char *uid)
{
	cleanup_free char *path = spec_path(dir, uid);

	if (unlink(path) < 0 && errno != ENOENT)
		log_warnx("pod spec %s: %s", path, strerror(errno));
}

int xn_pod_spec_load_dir(const char *dir, void (*fn)(const struct xn_pod_spec *, void *), void *arg,
			 xn_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return xn_error_errno(err, errno, "state directory %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		cleanup_free char *path = NULL, *json = NULL;
		struct xn_pod_spec spec;
		xn_err perr = NULL;

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		path = xn_xasprintf("%s/%s", dir, de->d_name);
		if (xn_read_file(path, 1 << 20, &json, NULL, &perr) < 0) {
			log_warnx("pod spec: %s; ignored", xn_error_msg(perr));
			xn_error_free(&perr);
			continue;
		}
		if (xn_pod_spec_from_json(json, &spec, &perr) < 0) {
			log_warnx("pod spec %s: %s; ignored", path, xn_error_msg(perr));
			xn_error_free(&perr);
			continue;
		}
		fn(&spec, arg);
		xn_pod_spec_dispose(&spec);
	}
	closedir(d);
	return 0;
}
