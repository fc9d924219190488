/* pod_translate.c - Pod JSON -> runtime pod spec, admission (pure). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xenlet/image_path.h"
#include "xenlet/image_ref.h"
#include "xenlet/pod_env.h"
#include "xenlet/pod_translate.h"
#include "xenlet/probe.h"
#include "xenlet/quantity.h"
#include "xenlet/util.h"

#define CMDLINE_MAX 2048 /* Xen's PV command line limit (MAX_GUEST_CMDLINE 1024 x2 for PVH) */
/* Quantities are clamped to these before any arithmetic (issue 9, finding
 * 5: they overflowed).  All are far above what any node has, so a pod
 * asking for more is still refused by admission; and both keep the spec
 * within what pod_spec.c loads back (memoryKiB <= 1e12, cpuCap <= 12800). */
#define MEMORY_MAX    (1LL << 49) /* bytes: 512 TiB */
#define CPU_MILLI_MAX 128000	  /* 128 CPUs, the most vcpus a pod gets */
#define GRACE_MAX     (365.0 * 86400)

__attribute__((format(printf, 3, 4))) static int reject(struct xn_pod_reject *rej,
							const char *reason, const char *fmt, ...)
{
	va_list ap;

	snprintf(rej->reason, sizeof(rej->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(rej->message, sizeof(rej->message), fmt, ap);
	va_end(ap);
	return -1;
}

static const cJSON *path(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	return b && v ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = path(o, a, b);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *first_container(const cJSON *pod)
{
	const cJSON *cs = path(pod, "spec", "containers");

	return cJSON_IsArray(cs) ? cJSON_GetArrayItem(cs, 0) : NULL;
}

/* Why the last resource() failed, for the pod's status message. */
static __thread char resource_error[256];

/* resources.<kind>.<res> of the container, parsed; -1 when absent. */
static int64_t resource(const cJSON *c, const char *kind, const char *res, int scale, int *bad)
{
	const cJSON *r = path(path(c, "resources", kind), res, NULL);
	int64_t v;
	xn_err err = NULL;

	if (r == NULL)
		return -1;
	if (!cJSON_IsString(r) && !cJSON_IsNumber(r)) {
		*bad = 1;
		return -1;
	}
	if (cJSON_IsNumber(r)) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%.9g", r->valuedouble);
		if (xn_quantity_parse(buf, scale, &v, &err) < 0)
			*bad = 1;
	} else if (xn_quantity_parse(r->valuestring, scale, &v, &err) < 0) {
		*bad = 1;
	}
	if (*bad)
		snprintf(resource_error, sizeof(resource_error), "resources.%s.%s: %s", kind, res,
			 err ? xn_error_msg(err) : "not a quantity");
	xn_error_free(&err);
	return *bad ? -1 : v;
}

int64_t xn_pod_cpu_request(const cJSON *pod)
{
	const cJSON *c = first_container(pod);
	int bad = 0;
	int64_t req = c ? resource(c, "requests", "cpu", 3, &bad) : -1;

	/* As the API server defaults it: a limit without a request is the request. */
	if (req < 0 && c)
		req = resource(c, "limits", "cpu", 3, &bad);
	return req < 0 ? 0 : req;
}

const char *xn_pod_qos_class(const cJSON *pod)
{
	const cJSON *c = first_container(pod);
	int bad = 0;
	int64_t rm, rc, lm, lc;

	if (c == NULL)
		return "BestEffort";
	rm = resource(c, "requests", "memory", 0, &bad);
	rc = resource(c, "requests", "cpu", 3, &bad);
	lm = resource(c, "limits", "memory", 0, &bad);
	lc = resource(c, "limits", "cpu", 3, &bad);
	if (rm < 0 && rc < 0 && lm < 0 && lc < 0)
		return "BestEffort";
	if (lm >= 0 && lc >= 0 && (rm < 0 || rm == lm) && (rc < 0 || rc == lc))
		return "Guaranteed";
	return "Burstable";
}

/* Append s to buf (of CMDLINE_MAX) with a separating space. */
static int append_arg(char *buf, const char *s)
{
	size_t len = strlen(buf), n = strlen(s);

	if (len + n + 2 > CMDLINE_MAX)
		return -1;
	if (len)
		buf[len++] = ' ';
	memcpy(buf + len, s, n + 1);
	return 0;
}

static int build_cmdline(const cJSON *c, char *buf, struct xn_pod_reject *rej)
{
	static const char *const lists[] = {"command", "args"};

	buf[0] = '\0';
	for (size_t i = 0; i < XN_ARRAY_SIZE(lists); i++) {
		const cJSON *a = path(c, lists[i], NULL), *it;

		if (a == NULL)
			continue;
		cJSON_ArrayForEach(it, a) {
			if (!cJSON_IsString(it))
				return reject(rej, "UnsupportedPodSpec",
					      "%s: entries must be strings", lists[i]);
			for (const char *p = it->valuestring; *p; p++)
				if ((unsigned char)*p < 0x20)
					return reject(rej, "UnsupportedPodSpec",
						      "%s: control characters cannot go on a "
						      "kernel command line",
						      lists[i]);
			if (append_arg(buf, it->valuestring) < 0)
				return reject(rej, "UnsupportedPodSpec",
					      "command and args: longer than %d bytes, the kernel "
					      "command line limit",
					      CMDLINE_MAX - 1);
		}
	}
	return 0;
}

/* "30", "30s", "2m": 1 s .. 24 h. */
static int parse_seconds(const char *s, unsigned *out)
{
	uint64_t n;
	char num[16];
	size_t len = strlen(s);
	unsigned mul = 1;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	if (num[len - 1] == 's' || num[len - 1] == 'm') {
		mul = num[len - 1] == 'm' ? 60 : 1;
		num[len - 1] = '\0';
	}
	if (xn_parse_u64(num, 86400, &n) < 0 || n == 0 || n * mul > 86400)
		return -1;
	*out = (unsigned)(n * mul);
	return 0;
}

/* The image as a kernel path: "/abs/path" or "file:///abs/path", inside
 * the node's image roots (lexically here; admission and the domain build
 * open it, see image_path.h).  One message for any path outside.  Anything
 * else is a registry reference (image_ref.h): the kernel stays NULL until
 * the image is pulled (image_pod.h). */
static int image_kernel(const char *image, char **kernel, struct xn_pod_reject *rej)
{
	const char *p = image;

	if (strncmp(p, "file://", 7) == 0)
		p += 7;
	if (p[0] != '/') {
		struct xn_image_ref ref;
		xn_err err = NULL;

		if (xn_image_ref_parse(image, &ref, &err) < 0) {
			reject(rej, "InvalidImageName", "%s", xn_error_msg(err));
			xn_error_free(&err);
			return -1;
		}
		xn_image_ref_dispose(&ref);
		*kernel = NULL;
		return 0;
	}
	if (!xn_image_path_allowed(p))
		return reject(rej, "InvalidImageName", "image \"%s\": " XN_IMAGE_REFUSAL " (%s)",
			      image, xn_image_roots_text());
	*kernel = xn_xstrdup(p);
	return 0;
}

/* The service-account token volume that the API server adds to every pod
 * ("kube-api-access-xxxxx") is not the user's wish: no warning for it. */
static bool only_api_access(const cJSON *mounts)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, mounts) {
		const char *n = str(m, "name", NULL);
		if (n == NULL || strncmp(n, "kube-api-access-", 16) != 0)
			return false;
	}
	return true;
}

static bool known_annotation(const char *k)
{
	static const char *const known[] = {"xenlet.io/guest-type", "xenlet.io/ramdisk",
					    "xenlet.io/readiness", "xenlet.io/boot-timeout",
					    "xenlet.io/net-config"};

	for (size_t i = 0; i < XN_ARRAY_SIZE(known); i++)
		if (strcmp(k, known[i]) == 0)
			return true;
	return false;
}

/* Fields that ask for things a unikernel domain does not do: warn, run anyway. */
static void collect_warnings(const cJSON *pod, const cJSON *c, const char *probes, char **warnings)
{
	static const char *const pod_fields[] = {
	    "volumes",	      "hostNetwork",	    "hostPID", "hostIPC", "securityContext",
	    "initContainers", "ephemeralContainers"};
	/* not "ports": the pod's named ports serve its probes and the named
	 * targetPorts of its Services (the endpoint controller reads them) */
	/* not "env", "envFrom": the guest gets its environment (pod_env.h) */
	static const char *const c_fields[] = {"volumeMounts", "lifecycle", "securityContext",
					       "workingDir"};
	char buf[1024] = "";
	const cJSON *spec = path(pod, "spec", NULL), *a;

	for (size_t i = 0; i < XN_ARRAY_SIZE(pod_fields); i++) {
		const cJSON *v = path(spec, pod_fields[i], NULL);
		if (v && !cJSON_IsFalse(v) && !(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0) &&
		    !(cJSON_IsObject(v) && v->child == NULL) &&
		    strcmp(pod_fields[i], "volumes") != 0)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%sspec.%s",
				 buf[0] ? ", " : "", pod_fields[i]);
	}
	for (size_t i = 0; i < XN_ARRAY_SIZE(c_fields); i++) {
		const cJSON *v = path(c, c_fields[i], NULL);
		if (strcmp(c_fields[i], "volumeMounts") == 0 && only_api_access(v))
			continue;
		if (v && !(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0) &&
		    !(cJSON_IsObject(v) && v->child == NULL))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%scontainers[0].%s",
				 buf[0] ? ", " : "", c_fields[i]);
	}
	/* the node reads only the annotations in pod_translate.h: any other
	 * xenlet.io/ one (a cmdline, a kernel, extra arguments ...) adds
	 * nothing to the domain, and the user is told so */
	cJSON_ArrayForEach(a, path(pod, "metadata", "annotations")) {
		if (a->string == NULL || strncmp(a->string, "xenlet.io/", 10) != 0 ||
		    known_annotation(a->string))
			continue;
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "%smetadata.annotations[%.64s]", buf[0] ? ", " : "", a->string);
	}
	/* probes xenlet cannot run (exec, grpc): not run, and said so */
	if (probes[0])
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? ", " : "",
			 probes);
	*warnings = xn_xstrdup(buf);
}

/* Names become file names (the CRI log under <log>/<ns>_<name>_<uid>/
 * <container>/, the spec under <root>/pods/<uid>.json) and domain names, so
 * they are checked here as Kubernetes validates them, whoever sent the pod
 * (issue 9, finding 7: a container named "../../../escaped" wrote its log
 * outside the log root).  The uid is the API server's (a UUID) or ours. */
#define DNS_LABEL_RULE                                                                             \
	"must be a DNS label (lowercase letters, digits and '-', alphanumeric at both ends, at "   \
	"most 63 characters)"

static bool uid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static int check_names(const char *uid, const char *ns, const char *name, const char *container,
		       struct xn_pod_reject *rej)
{
	if (!xn_dns_subdomain(name))
		return reject(
		    rej, "UnsupportedPodSpec",
		    "metadata.name \"%.253s\": must be a DNS subdomain (lowercase "
		    "letters, digits, '-' and '.', alphanumeric at both ends, at most 253 "
		    "characters)",
		    name);
	if (!xn_dns_label(ns))
		return reject(rej, "UnsupportedPodSpec", "metadata.namespace \"%.64s\": %s", ns,
			      DNS_LABEL_RULE);
	if (!uid_ok(uid))
		return reject(rej, "UnsupportedPodSpec",
			      "metadata.uid \"%.64s\": must be 1-63 letters, digits and '-'", uid);
	if (container && !xn_dns_label(container))
		return reject(rej, "UnsupportedPodSpec", "containers[0].name \"%.64s\": %s",
			      container, DNS_LABEL_RULE);
	return 0;
}

/* containers[0].env: checked now, kept as a plan the runtime completes
 * with the pod's address at each start (pod_env.h) */
static int translate_env(const cJSON *pod, const cJSON *c, const struct xn_pod_defaults *def,
			 struct xn_pod_spec *out, struct xn_pod_reject *rej)
{
	struct xn_env_facts f = {
	    .memory_bytes = (int64_t)(out->memory_kb * 1024),
	    .cpu_milli = (int64_t)out->vcpus * 1000,
	    .host_ip = def->host_ip,
	};

	return xn_pod_env_plan(pod, c, &f, &out->env_plan, rej->reason, rej->message,
			       sizeof(rej->message));
}

int xn_pod_translate(const cJSON *pod, const struct xn_pod_defaults *def, struct xn_pod_spec *out,
		     char **warnings, struct xn_pod_reject *rej)
{
	const cJSON *cs = path(pod, "spec", "containers"), *c, *ics, *grace;
	const char *uid = str(pod, "metadata", "uid"), *ns = str(pod, "metadata", "namespace"),
		   *name = str(pod, "metadata", "name"), *image, *policy, *ann;
	const cJSON *anns = path(pod, "metadata", "annotations");
	char cmdline[CMDLINE_MAX], probe_msg[512], probe_unsup[256];
	int bad = 0;
	int64_t mem, cpu_lim, cpu_req;

	memset(out, 0, sizeof(*out));
	*warnings = NULL;
	if (uid == NULL || ns == NULL || name == NULL)
		return reject(rej, "UnsupportedPodSpec",
			      "metadata: uid, namespace and name required");
	if (!cJSON_IsArray(cs) || cJSON_GetArraySize(cs) == 0)
		return reject(rej, "UnsupportedPodSpec", "spec.containers: none");
	if (cJSON_GetArraySize(cs) > 1)
		return reject(rej, "UnsupportedPodSpec",
			      "pod has %d containers; xenlet runs one container per pod, as one "
			      "Xen domain",
			      cJSON_GetArraySize(cs));
	ics = path(pod, "spec", "initContainers");
	if (cJSON_IsArray(ics) && cJSON_GetArraySize(ics) > 0)
		return reject(rej, "UnsupportedPodSpec",
			      "init containers are not supported: a unikernel pod is one domain");
	c = cJSON_GetArrayItem(cs, 0);
	if (check_names(uid, ns, name, str(c, "name", NULL), rej) < 0)
		return -1;
	image = str(c, "image", NULL);
	if (image == NULL || image[0] == '\0')
		return reject(rej, "InvalidImageName", "containers[0].image: missing");
	policy = str(pod, "spec", "restartPolicy");
	if (policy && xn_restart_policy_parse(policy, &out->restart) < 0)
		return reject(rej, "UnsupportedPodSpec", "restartPolicy \"%s\": unknown", policy);
	if (build_cmdline(c, cmdline, rej) < 0)
		return -1;

	mem = resource(c, "limits", "memory", 0, &bad);
	if (mem < 0)
		mem = resource(c, "requests", "memory", 0, &bad);
	cpu_lim = resource(c, "limits", "cpu", 3, &bad);
	cpu_req = resource(c, "requests", "cpu", 3, &bad);
	if (bad)
		return reject(rej, "UnsupportedPodSpec", "containers[0].%s", resource_error);
	if (mem < 0)
		mem = def->memory_bytes;
	if (mem < (4LL << 20))
		return reject(rej, "UnsupportedPodSpec",
			      "memory %" PRId64 " bytes: a Xen domain needs at least 4Mi", mem);
	if (cpu_req < 0)
		cpu_req = cpu_lim;
	mem = mem > MEMORY_MAX ? MEMORY_MAX : mem;
	cpu_lim = cpu_lim > CPU_MILLI_MAX ? CPU_MILLI_MAX : cpu_lim;
	cpu_req = cpu_req > CPU_MILLI_MAX ? CPU_MILLI_MAX : cpu_req;

	if (image_kernel(image, &out->kernel, rej) < 0)
		return -1;
	out->uid = xn_xstrdup(uid);
	out->ns = xn_xstrdup(ns);
	out->name = xn_xstrdup(name);
	out->container = xn_xstrdup(str(c, "name", NULL) ? str(c, "name", NULL) : "main");
	out->image = xn_xstrdup(image);
	out->cmdline = cmdline[0] ? xn_xstrdup(cmdline) : NULL;
	out->memory_kb = (uint64_t)(mem + 1023) / 1024;
	out->vcpus = cpu_lim > 0 ? (unsigned)((cpu_lim + 999) / 1000)
				 : (cpu_req > 0 ? (unsigned)((cpu_req + 999) / 1000) : 1);
	if (out->vcpus > 128)
		out->vcpus = 128;
	out->cpu_weight = cpu_req > 0 ? (unsigned)(cpu_req * 256 / 1000) : 0;
	if (cpu_req > 0 && out->cpu_weight == 0)
		out->cpu_weight = 1;
	if (out->cpu_weight > 65535)
		out->cpu_weight = 65535;
	out->cpu_request_milli = cpu_req > 0 ? (unsigned)(cpu_req > 128000 ? 128000 : cpu_req) : 0;
	out->cpu_cap = cpu_lim > 0 ? (unsigned)((cpu_lim + 9) / 10) : 0;
	grace = path(pod, "spec", "terminationGracePeriodSeconds");
	out->grace_s = 30;
	if (cJSON_IsNumber(grace) && grace->valuedouble >= 0) /* clamped: no UB cast */
		out->grace_s =
		    (unsigned)(grace->valuedouble > GRACE_MAX ? GRACE_MAX : grace->valuedouble);
	out->type = XN_GUEST_PVH;
	ann = str(anns, "xenlet.io/guest-type", NULL);
	out->type_from_kernel = ann == NULL; /* the kernel's notes decide at run */
	if (ann && strcmp(ann, "pv") == 0)
		out->type = XN_GUEST_PV;
	else if (ann && strcmp(ann, "pvh") != 0) {
		xn_pod_spec_dispose(out);
		return reject(rej, "UnsupportedPodSpec",
			      "annotation xenlet.io/guest-type \"%s\": must be pv or pvh", ann);
	}
	ann = str(anns, "xenlet.io/ramdisk", NULL);
	if (ann) {
		/* a path the tenant names: the same roots as the kernel */
		if (!xn_image_path_allowed(ann)) {
			xn_pod_spec_dispose(out);
			return reject(rej, "InvalidImageName",
				      "annotation xenlet.io/ramdisk \"%s\": " XN_IMAGE_REFUSAL
				      " (%s)",
				      ann, xn_image_roots_text());
		}
		out->ramdisk = xn_xstrdup(ann);
	}
	ann = str(anns, "xenlet.io/readiness", NULL);
	out->guest_readiness = ann && strcmp(ann, "guest") == 0;
	ann = str(anns, "xenlet.io/boot-timeout", NULL);
	if (ann && parse_seconds(ann, &out->boot_timeout_s) < 0) {
		xn_pod_spec_dispose(out);
		return reject(
		    rej, "UnsupportedPodSpec",
		    "annotation xenlet.io/boot-timeout \"%s\": give seconds (30, 30s, 2m), "
		    "1s..24h",
		    ann);
	}
	ann = str(anns, "xenlet.io/net-config", NULL);
	if (ann && xn_net_conv_parse(ann, &out->net_config) < 0) {
		xn_pod_spec_dispose(out);
		return reject(rej, "UnsupportedPodSpec",
			      "annotation xenlet.io/net-config \"%s\": must be none, mirage, "
			      "unikraft or linux",
			      ann);
	}
	if (xn_probes_parse(c, &out->probes, probe_msg, sizeof(probe_msg), probe_unsup,
			    sizeof(probe_unsup)) < 0) {
		xn_pod_spec_dispose(out);
		return reject(rej, "UnsupportedPodSpec", "%s", probe_msg);
	}
	/* DNS is formed at each start (net_dns.c), with the node's settings of
	 * that moment, as the kubelet does */
	ann = str(pod, "spec", "dnsPolicy");
	out->dns_policy = ann ? xn_xstrdup(ann) : NULL;
	if (path(pod, "spec", "dnsConfig") != NULL && !cJSON_IsNull(path(pod, "spec", "dnsConfig")))
		out->dns_config = cJSON_PrintUnformatted(path(pod, "spec", "dnsConfig"));
	if (translate_env(pod, c, def, out, rej) < 0) {
		xn_pod_spec_dispose(out);
		return -1;
	}
	collect_warnings(pod, c, probe_unsup, warnings);
	return 0;
}

int xn_pod_admit(const struct xn_pod_spec *spec, int64_t cpu_request_milli,
		 const struct xn_node_resources *alloc, const struct xn_node_resources *used,
		 struct xn_pod_reject *rej)
{
	/* checked: a sum or product here must not wrap (issue 9, finding 5) */
	int64_t mem =
	    spec->memory_kb > INT64_MAX / 1024 ? INT64_MAX : (int64_t)spec->memory_kb * 1024;

	if (used->pods >= alloc->pods)
		return reject(rej, "OutOfpods",
			      "Node didn't have enough resource: pods, requested: 1, used: %u, "
			      "capacity: %u",
			      used->pods, alloc->pods);
	if (used->memory_bytes > alloc->memory_bytes ||
	    mem > alloc->memory_bytes - used->memory_bytes)
		return reject(rej, "OutOfmemory",
			      "Node didn't have enough resource: memory, requested: %" PRId64
			      ", used: %" PRId64 ", capacity: %" PRId64,
			      mem, used->memory_bytes, alloc->memory_bytes);
	if (used->cpu_milli > alloc->cpu_milli ||
	    cpu_request_milli > alloc->cpu_milli - used->cpu_milli)
		return reject(rej, "OutOfcpu",
			      "Node didn't have enough resource: cpu, requested: %" PRId64
			      ", used: %" PRId64 ", capacity: %" PRId64,
			      cpu_request_milli, used->cpu_milli, alloc->cpu_milli);
	return 0;
}

int64_t xn_kib_to_bytes(uint64_t kib)
{
	uint64_t bytes;

	if (__builtin_mul_overflow(kib, 1024, &bytes) || bytes > INT64_MAX)
		return INT64_MAX;
	return (int64_t)bytes;
}
