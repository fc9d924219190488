/* fuzz_pod_translate.c - a Pod from the API server (JSON) -> the runtime's
 * pod spec (daemon/pod_translate.c), then admission as pod_sync.c does it,
 * on a node of 8 GiB and 4 CPUs: once empty, once with the same pod already
 * counted.  Besides the sanitizers, checks what must hold for any input:
 * an admitted pod fits the node, and the spec that would be stored in
 * <root>/pods/ loads back (daemon/pod_spec.c) to the same JSON. */
#include "fuzz.h"
#include "xenlet/image_ref.h"
#include "xenlet/pod_translate.h"

static const struct xn_node_resources node = {
    .memory_bytes = 8LL << 30, .cpu_milli = 4000, .pods = 110};

static void admit(const struct xn_pod_spec *spec, const struct xn_node_resources *used)
{
	struct xn_pod_reject rej;

	if (xn_pod_admit(spec, spec->cpu_request_milli, &node, used, &rej) == 0) {
		/* what was admitted fits next to what was used */
		if (spec->memory_kb > (uint64_t)(node.memory_bytes - used->memory_bytes) / 1024 ||
		    spec->cpu_request_milli > node.cpu_milli - used->cpu_milli)
			abort();
	} else if (rej.reason[0] == '\0' || rej.message[0] == '\0') {
		abort();
	}
}

static void check_stored(const struct xn_pod_spec *spec)
{
	char *json = xn_pod_spec_to_json(spec), *again;
	struct xn_pod_spec back;
	xn_err err = NULL;

	if (xn_pod_spec_from_json(json, &back, &err) < 0) {
		fprintf(stderr, "stored spec does not load: %s\n%s\n", xn_error_msg(err), json);
		abort();
	}
	again = xn_pod_spec_to_json(&back);
	if (strcmp(json, again) != 0)
		abort();
	free(again);
	free(json);
	xn_pod_spec_dispose(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct xn_pod_defaults def = {.memory_bytes = 64LL << 20};
	cJSON *pod = cJSON_ParseWithLength((const char *)data, size);
	struct xn_pod_spec spec;
	struct xn_pod_reject rej;
	char *warnings = NULL;

	if (pod == NULL)
		return 0;
	(void)xn_pod_cpu_request(pod);
	(void)xn_pod_qos_class(pod);
	if (xn_pod_translate(pod, &def, &spec, &warnings, &rej) == 0) {
		struct xn_node_resources used = {0};

		admit(&spec, &used);
		if (spec.memory_kb <= INT64_MAX / 1024) {
			used.memory_bytes = (int64_t)spec.memory_kb * 1024;
			used.cpu_milli = spec.cpu_request_milli;
			used.pods = 1;
			if (used.memory_bytes <= node.memory_bytes &&
			    used.cpu_milli <= node.cpu_milli)
				admit(&spec, &used);
		}
		if (spec.kernel != NULL) {
			check_stored(&spec);
		} else {
			/* a registry image: stored only once pulled; it must parse */
			struct xn_image_ref ref;

			if (xn_image_ref_parse(spec.image, &ref, NULL) < 0)
				abort();
			xn_image_ref_dispose(&ref);
		}
		xn_pod_spec_dispose(&spec);
		free(warnings);
	} else if (rej.reason[0] == '\0' || rej.message[0] == '\0' || warnings != NULL) {
		abort();
	}
	cJSON_Delete(pod);
	return 0;
}
