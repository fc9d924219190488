/* test_node.c - the pure pieces of the node module: resources, conditions,
 * times, and the JSON sent to the API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/node.h"

#define KI 1024LL
#define MI (1024LL * 1024)

static struct xn_host_info host(uint64_t total_kb, uint64_t free_kb)
{
	struct xn_host_info h;

	memset(&h, 0, sizeof(h));
	h.nr_cpus = 4;
	h.total_kb = total_kb;
	h.free_kb = free_kb;
	strcpy(h.xen_version, "4.17.5");
	strcpy(h.arch, "amd64");
	strcpy(h.hostname, "xenhost");
	return h;
}

static void resources(void **state)
{
	struct xn_config c;
	struct xn_node_resources cap, alloc;
	struct xn_host_info h = host(8 << 20, (3 << 20) + 123); /* 3Gi + 123Ki free */

	xn_config_init(&c);
	c.reserved_memory = 512 * MI;
	c.reserved_cpu_milli = 250;
	xn_node_compute_resources(&h, 1 << 20 /* 1Gi in our domains */, &c, &cap, &alloc);
	assert_int_equal(cap.memory_bytes, 8LL << 30);
	assert_int_equal(cap.cpu_milli, 4000);
	assert_int_equal(cap.pods, 110);
	/* 3Gi + 123Ki + 1Gi - 512Mi, the 123Ki rounded away */
	assert_int_equal(alloc.memory_bytes, (4LL << 30) - 512 * MI);
	assert_int_equal(alloc.cpu_milli, 3750);
	assert_int_equal(alloc.pods, 110);

	/* a few pages more or less free does not change allocatable */
	h.free_kb += 100;
	xn_node_compute_resources(&h, 1 << 20, &c, &cap, &alloc);
	assert_int_equal(alloc.memory_bytes, (4LL << 30) - 512 * MI);

	/* reservations above what there is floor at 0 */
	c.reserved_memory = 64LL << 30;
	c.reserved_cpu_milli = 9000;
	xn_node_compute_resources(&h, 0, &c, &cap, &alloc);
	assert_int_equal(alloc.memory_bytes, 0);
	assert_int_equal(alloc.cpu_milli, 0);
	xn_config_dispose(&c);
}

static void condition_transitions(void **state)
{
	struct xn_node_condition c;

	memset(&c, 0, sizeof(c));
	c.type = "MemoryPressure";
	assert_true(
	    xn_node_condition_set(&c, XN_COND_FALSE, "KubeletHasSufficientMemory", "ok", 100));
	assert_int_equal(c.transition, 100);
	/* same status, new message: no transition */
	assert_false(
	    xn_node_condition_set(&c, XN_COND_FALSE, "KubeletHasSufficientMemory", "ok2", 200));
	assert_int_equal(c.transition, 100);
	assert_string_equal(c.message, "ok2");
	assert_true(
	    xn_node_condition_set(&c, XN_COND_TRUE, "KubeletHasInsufficientMemory", "low", 300));
	assert_int_equal(c.transition, 300);
	assert_string_equal(c.reason, "KubeletHasInsufficientMemory");
}

/* NetworkUnavailable: True with what is missing until the pod network is
 * up, then False as a CNI says it. */
static void network_unavailable_until_up(void **state)
{
	struct xn_node_condition conds[XN_NODE_NCOND];
	struct xn_node_sample s = {.host = host(8 << 20, 4 << 20), .disk_free_pct = 50};

	(void)state;
	xn_node_conditions_init(conds);
	s.net_checked = true;
	snprintf(s.net_msg, sizeof(s.net_msg), "pod bridge xenlet0 does not exist");
	xn_node_conditions_update(conds, &s, 100 * MI, 1000);
	assert_int_equal(conds[XN_NODE_COND_NETWORK].status, XN_COND_TRUE);
	assert_string_equal(conds[XN_NODE_COND_NETWORK].reason, "XenletNetworkDown");
	assert_string_equal(conds[XN_NODE_COND_NETWORK].message,
			    "pod bridge xenlet0 does not exist");
	s.net_up = true;
	snprintf(s.net_msg, sizeof(s.net_msg), "up");
	assert_true(xn_node_conditions_update(conds, &s, 100 * MI, 1010));
	assert_int_equal(conds[XN_NODE_COND_NETWORK].status, XN_COND_FALSE);
	assert_string_equal(conds[XN_NODE_COND_NETWORK].reason, "XenletIsUp");
	assert_int_equal(conds[XN_NODE_COND_NETWORK].transition, 1010);
}

static void conditions_from_sample(void **state)
{
	struct xn_node_condition conds[XN_NODE_NCOND];
	struct xn_node_sample s = {.host = host(8 << 20, 50 << 10), .disk_free_pct = 50};

	xn_node_conditions_init(conds);
	assert_true(xn_node_conditions_update(conds, &s, 100 * MI, 1000));
	assert_int_equal(conds[XN_NODE_COND_READY].status, XN_COND_TRUE);
	assert_string_equal(conds[XN_NODE_COND_READY].reason, "KubeletReady");
	assert_string_equal(conds[XN_NODE_COND_READY].message, "xenlet is posting ready status");
	assert_int_equal(conds[XN_NODE_COND_MEMORY].status, XN_COND_TRUE);
	assert_string_equal(conds[XN_NODE_COND_MEMORY].reason, "KubeletHasInsufficientMemory");
	assert_int_equal(conds[XN_NODE_COND_DISK].status, XN_COND_FALSE);
	assert_string_equal(conds[XN_NODE_COND_PID].reason, "KubeletHasSufficientPID");
	assert_string_equal(conds[XN_NODE_COND_NETWORK].reason, "XenletNetworkReady");
	assert_int_equal(conds[XN_NODE_COND_NETWORK].status, XN_COND_FALSE);

	/* nothing changes: no transition, Ready keeps its time */
	assert_false(xn_node_conditions_update(conds, &s, 100 * MI, 2000));
	assert_int_equal(conds[XN_NODE_COND_READY].transition, 1000);

	/* memory back above the threshold, disk nearly full */
	s.host.free_kb = 200 << 10;
	s.disk_free_pct = 5;
	assert_true(xn_node_conditions_update(conds, &s, 100 * MI, 3000));
	assert_int_equal(conds[XN_NODE_COND_MEMORY].status, XN_COND_FALSE);
	assert_string_equal(conds[XN_NODE_COND_MEMORY].reason, "KubeletHasSufficientMemory");
	assert_int_equal(conds[XN_NODE_COND_MEMORY].transition, 3000);
	assert_int_equal(conds[XN_NODE_COND_DISK].status, XN_COND_TRUE);
	assert_string_equal(conds[XN_NODE_COND_DISK].reason, "KubeletHasDiskPressure");
	assert_int_equal(conds[XN_NODE_COND_READY].transition, 1000);

	/* exactly at the threshold is not pressure */
	s.host.free_kb = 100 << 10;
	xn_node_conditions_update(conds, &s, 100 * MI, 4000);
	assert_int_equal(conds[XN_NODE_COND_MEMORY].status, XN_COND_FALSE);
}

static void conditions_adopt(void **state)
{
	struct xn_node_condition conds[XN_NODE_NCOND];
	struct xn_node_sample s = {.host = host(8 << 20, 4 << 20), .disk_free_pct = 50};
	cJSON *node = cJSON_Parse("{\"status\":{\"conditions\":["
				  "{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":"
				  "\"1970-01-01T00:10:00Z\"},"
				  "{\"type\":\"MemoryPressure\",\"status\":\"True\","
				  "\"lastTransitionTime\":\"1970-01-01T00:05:00Z\"},"
				  "{\"type\":\"DiskPressure\",\"status\":\"False\","
				  "\"lastTransitionTime\":\"garbage\"}]}}");

	assert_non_null(node);
	xn_node_conditions_init(conds);
	xn_node_conditions_update(conds, &s, 100 * MI, 5000);
	xn_node_conditions_adopt(conds, node);
	assert_int_equal(conds[XN_NODE_COND_READY].transition, 600);   /* same status: kept */
	assert_int_equal(conds[XN_NODE_COND_MEMORY].transition, 5000); /* status differs */
	assert_int_equal(conds[XN_NODE_COND_DISK].transition, 5000);   /* unreadable time */
	cJSON_Delete(node);
}

static void version(void **state)
{
	char b[64];

	xn_node_kubelet_version("0.1.0", b, sizeof(b));
	assert_string_equal(b, "v1.34.4-xenlet.0.1.0");
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	return cJSON_GetStringValue(x);
}

static void status_json(void **state)
{
	struct xn_config c;
	struct xn_node_info info = {.machine_id = "m",
				    .system_uuid = "u",
				    .boot_id = "b",
				    .hostname = "xenhost",
				    .ip = "10.0.0.5"};
	struct xn_node_sample s = {.host = host(8 << 20, 4 << 20), .disk_free_pct = 50};
	struct xn_node_resources cap, alloc;
	struct xn_node_condition conds[XN_NODE_NCOND];
	cJSON *st, *addr, *it;
	int n = 0;

	xn_config_init(&c);
	c.node_name = strdup("n1");
	c.kubelet_port = 10251;
	xn_node_compute_resources(&s.host, 0, &c, &cap, &alloc);
	xn_node_conditions_init(conds);
	xn_node_conditions_update(conds, &s, c.memory_pressure_free, 1136214245);
	st = xn_node_status_json(&info, &s, &cap, &alloc, conds, &c, 1136214300);
	assert_string_equal(str_at(st, "capacity", "memory"), "8Gi");
	assert_string_equal(str_at(st, "capacity", "cpu"), "4");
	assert_string_equal(str_at(st, "allocatable", "memory"), "4Gi");
	assert_string_equal(str_at(st, "allocatable", "pods"), "110");
	assert_string_equal(str_at(st, "nodeInfo", "kernelVersion"), "Xen 4.17.5");
	assert_string_equal(str_at(st, "nodeInfo", "containerRuntimeVersion"), "xen://4.17.5");
	assert_string_equal(str_at(st, "nodeInfo", "architecture"), "amd64");
	assert_string_equal(str_at(st, "nodeInfo", "machineID"), "m");
	assert_int_equal(
	    cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(st, "daemonEndpoints"), "kubeletEndpoint"),
		"Port")
		->valueint,
	    10251);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(st, "conditions")) {
		assert_string_equal(str_at(it, "lastHeartbeatTime", NULL), "2006-01-02T15:05:00Z");
		assert_string_equal(str_at(it, "lastTransitionTime", NULL), "2006-01-02T15:04:05Z");
		n++;
	}
	assert_int_equal(n, XN_NODE_NCOND);
	addr = cJSON_GetObjectItemCaseSensitive(st, "addresses");
	assert_int_equal(cJSON_GetArraySize(addr), 3);
	assert_string_equal(str_at(cJSON_GetArrayItem(addr, 0), "address", NULL), "10.0.0.5");
	assert_string_equal(str_at(cJSON_GetArrayItem(addr, 1), "type", NULL), "Hostname");
	/* as the kubelet with --hostname-override: the node name, not the host's */
	assert_string_equal(str_at(cJSON_GetArrayItem(addr, 1), "address", NULL), "n1");
	assert_string_equal(str_at(cJSON_GetArrayItem(addr, 2), "$patch", NULL), "replace");
	cJSON_Delete(st);

	/* heartbeat 0: comparable text without times that move */
	st = xn_node_status_json(&info, &s, &cap, &alloc, conds, &c, 0);
	it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(st, "conditions"), 0);
	assert_null(cJSON_GetObjectItemCaseSensitive(it, "lastHeartbeatTime"));
	cJSON_Delete(st);
	xn_config_dispose(&c);
}

static void node_object(void **state)
{
	struct xn_config c;
	struct xn_node_info info = {.hostname = "xenhost", .ip = "10.0.0.5"};
	cJSON *o, *labels, *taint;

	xn_config_init(&c);
	c.node_name = strdup("n1");
	c.labels = calloc(2, sizeof(*c.labels));
	c.labels[0].key = strdup("example.com/zone");
	c.labels[0].value = strdup("a");
	c.labels[1].key = strdup("xenlet.io/runtime");
	c.labels[1].value = strdup("xen-custom");
	c.nlabels = 2;
	o = xn_node_object_json("n1", &info, "arm64", &c);
	assert_string_equal(str_at(o, "metadata", "name"), "n1");
	labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
						  "labels");
	assert_string_equal(str_at(labels, "kubernetes.io/arch", NULL), "arm64");
	assert_string_equal(str_at(labels, "kubernetes.io/os", NULL), "linux");
	assert_string_equal(str_at(labels, "kubernetes.io/hostname", NULL), "n1");
	assert_string_equal(str_at(labels, "example.com/zone", NULL), "a");
	assert_string_equal(str_at(labels, "xenlet.io/runtime", NULL),
			    "xen-custom"); /* config wins */
	assert_int_equal(cJSON_GetArraySize(labels), 5);
	taint = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"), "taints"),
	    0);
	assert_string_equal(str_at(taint, "key", NULL), "xenlet.io/unikernel");
	assert_string_equal(str_at(taint, "value", NULL), "true");
	assert_string_equal(str_at(taint, "effect", NULL), "NoSchedule");
	cJSON_Delete(o);
	xn_config_dispose(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(resources),
	    cmocka_unit_test(condition_transitions),
	    cmocka_unit_test(conditions_from_sample),
	    cmocka_unit_test(network_unavailable_until_up),
	    cmocka_unit_test(conditions_adopt),
	    cmocka_unit_test(version),
	    cmocka_unit_test(status_json),
	    cmocka_unit_test(node_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
