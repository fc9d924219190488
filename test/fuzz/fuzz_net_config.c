/* fuzz_net_config.c - the network configuration the node reads from outside
 * (daemon/net_flannel.c, daemon/net_dns.c): flannel's subnet file, the
 * node's resolv.conf and a pod's spec.dnsConfig with its dnsPolicy.  Byte 1
 * picks: bit 0 = 0 the subnet file; 1 = DNS, bits 1-2 the policy, the rest
 * of the input split at the first NUL into resolv.conf and dnsConfig JSON.
 * Besides the sanitizers: a parsed subnet has a range and an MTU that fits,
 * a pod's DNS stays within the kubelet's limits, refusals have a message. */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "xenlet/net.h"

static void subnet(const uint8_t *data, size_t size)
{
	char *s = xn_fuzz_cstr(data, size);
	struct xn_flannel_subnet fs;
	xn_err err = NULL;

	if (xn_flannel_subnet_parse(s, &fs, &err) == 0) {
		if (!fs.ranges.has4 && !fs.ranges.has6)
			abort();
		if (fs.mtu > 65535)
			abort();
	} else {
		if (err == NULL || xn_error_msg(err)[0] == '\0')
			abort();
		xn_error_free(&err);
	}
	free(s);
}

static void dns(unsigned policy, const uint8_t *data, size_t size)
{
	static const char *policies[] = {"ClusterFirst", "Default", "None",
					 "ClusterFirstWithHostNet"};
	const uint8_t *nul = memchr(data, '\0', size);
	size_t rlen = nul ? (size_t)(nul - data) : size;
	char *resolv = xn_fuzz_cstr(data, rlen);
	char *json = nul ? xn_fuzz_cstr(nul + 1, size - rlen - 1) : NULL;
	cJSON *cfg = json ? cJSON_Parse(json) : NULL;
	struct xn_dns_conf host = {0};
	struct xn_dns_node node = {
	    .cluster_dns = "10.96.0.10", .cluster_domain = "cluster.local", .host = &host};
	struct xn_dns_pod pod;
	size_t chars = 0;
	xn_err err = NULL;

	xn_dns_resolv_parse(resolv, &host);
	if (xn_dns_for_pod(&node, "default", policies[policy & 3], false, cfg, &pod, &err) == 0) {
		if (pod.conf.servers.n > XN_DNS_MAX_SERVERS ||
		    pod.conf.search.n > XN_DNS_MAX_SEARCH)
			abort();
		for (size_t i = 0; i < pod.conf.search.n; i++)
			chars += strlen(pod.conf.search.v[i]) + 1;
		if (chars > XN_DNS_MAX_SEARCH_CHARS + 1)
			abort();
		xn_dns_pod_dispose(&pod);
	} else {
		if (err == NULL || xn_error_msg(err)[0] == '\0')
			abort();
		xn_error_free(&err);
	}
	xn_dns_conf_dispose(&host);
	cJSON_Delete(cfg);
	free(json);
	free(resolv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sel;

	if (size == 0)
		return 0;
	sel = data[0];
	data++, size--;
	if ((sel & 1) == 0)
		subnet(data, size);
	else
		dns(sel >> 1, data, size);
	return 0;
}
