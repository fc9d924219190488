/* test_hv_libxl_config.c - the libxl backend's translation of a domain
 * config, compared with libxl's own JSON checked in under
 * test/fixtures/libxl/.  XN_UPDATE_GOLDEN=1 rewrites the files (review the
 * diff before committing it).  Also: invalid configs name the bad field,
 * guest exit codes are parsed strictly, shutdown reasons map one to one, and
 * opening the backend on a machine without Xen explains itself. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <unistd.h>

#include "testutil.h"
#include "xenlet/err.h"
#include "xenlet/hv.h"
#include "xenlet/hv_libxl.h"
#include "xenlet/net.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

static void check_golden(const struct xn_domain_config *cfg, const char *name)
{
	cleanup_free char *path = xn_xasprintf("%s/test/fixtures/libxl/%s.json", XN_SRCDIR, name);
	cleanup_free char *json = NULL;
	cleanup_free char *text = NULL;
	xn_err err = NULL;

	if (xn_hv_libxl_config_json(cfg, &json, &err) < 0)
		fail_msg("%s: %s", name, xn_error_msg(err));
	/* the file ends with a newline libxl does not print */
	text = xn_xasprintf("%s\n", json);
	xn_test_golden(path, text);
}

static struct xn_domain_config base_config(const char *name, enum xn_guest_type type)
{
	struct xn_domain_config c = {
	    .name = (char *)name,
	    .tag = (char *)"6b0f1c6e-0000-4000-8000-000000000001",
	    .type = type,
	    .kernel = (char *)"/var/lib/xenlet/images/sha256-ab/kernel",
	    .memory_kb = 32 * 1024,
	    .vcpus = 1,
	};
	return c;
}

static void golden_pv_minimal(void **state)
{
	struct xn_domain_config c = base_config("pv-min", XN_GUEST_PV);

	check_golden(&c, "pv-minimal");
}

static void golden_pvh_two_vcpus(void **state)
{
	struct xn_domain_config c = base_config("pvh-2", XN_GUEST_PVH);

	c.vcpus = 2;
	c.memory_kb = 256 * 1024;
	c.ramdisk = (char *)"/var/lib/xenlet/images/sha256-ab/initrd";
	c.cmdline = (char *)"console=hvc0 xenlet.pod=default/web";
	check_golden(&c, "pvh-2vcpus");
}

static void golden_weight_cap(void **state)
{
	struct xn_domain_config c = base_config("sched", XN_GUEST_PVH);

	c.vcpus = 2;
	c.cpu_weight = 512;
	c.cpu_cap = 150;
	check_golden(&c, "weight-cap");
}

static void golden_vif(void **state)
{
	struct xn_domain_config c = base_config("net", XN_GUEST_PV);
	struct xn_vif vifs[2] = {
	    {.mac = "00:16:3e:12:34:56",
	     .bridge = (char *)"xenbr0",
	     .ip = (char *)"10.244.1.7",
	     .script = (char *)"/usr/lib/xenlet/vif-xenlet"},
	    {.mac = ""}, /* backend picks the MAC, bridge and script */
	};

	c.vifs = vifs;
	c.nvifs = 2;
	check_golden(&c, "vif");
}

/* A pod on the pod network, as the runtime builds it: its addresses from
 * the allocator's ranges, the vif on the pod bridge with the hook, MirageOS
 * options on the command line after the user's arguments. */
static void golden_pod_vif(void **state)
{
	struct xn_pod_spec s = {
	    .uid = (char *)"6b0f1c6e-0000-4000-8000-000000000001",
	    .ns = (char *)"default",
	    .name = (char *)"web",
	    .kernel = (char *)"/var/lib/xenlet/images/sha256-ab/kernel",
	    .cmdline = (char *)"--hello=world",
	    .type = XN_GUEST_PVH,
	    .memory_kb = 32 * 1024,
	    .vcpus = 1,
	    .net_config = XN_NETCONF_MIRAGE,
	};
	struct xn_net_ranges r;
	struct xn_pod_addrs a = {.ip4 = "10.244.1.5", .mac = "00:16:3e:77:cd:f6"};
	struct xn_pod_net n;
	struct xn_domain_config c;
	struct xn_vif vif;
	char name[XN_NAME_MAX];
	cleanup_free char *cmdline = NULL;
	xn_err err = NULL;

	if (xn_net_ranges_parse("10.244.1.0/24", &r, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	xn_pod_net_fill(&r, &a, &n);
	xn_runtime_domain_config_net(&s, &n, "xenlet0", "/etc/xen/scripts/vif-xenlet", name, &c,
				     &vif, &cmdline);
	check_golden(&c, "pod-vif");
}

static void golden_disk(void **state)
{
	struct xn_domain_config c = base_config("disk", XN_GUEST_PVH);
	struct xn_disk disks[2] = {
	    {.path = (char *)"/var/lib/xenlet/images/sha256-cd/rootfs.img", .vdev = (char *)"xvda"},
	    {.path = (char *)"/var/lib/xenlet/vol/data.qcow2",
	     .vdev = (char *)"xvdb",
	     .readonly = true,
	     .format = (char *)"qcow2"},
	};

	c.disks = disks;
	c.ndisks = 2;
	check_golden(&c, "disk");
}

static void expect_invalid(const struct xn_domain_config *c, const char *needle)
{
	char *json = NULL;
	xn_err err = NULL;

	assert_int_equal(xn_hv_libxl_config_json(c, &json, &err), -1);
	assert_null(json);
	assert_non_null(err);
	if (strstr(xn_error_msg(err), needle) == NULL)
		fail_msg("error \"%s\" does not name \"%s\"", xn_error_msg(err), needle);
	assert_int_equal(err->status, EINVAL);
	xn_error_free(&err);
}

static void invalid_configs_name_the_field(void **state)
{
	struct xn_domain_config c;
	struct xn_vif bad_vif = {.mac = "01:16:3e:00:00:01"}; /* multicast */
	struct xn_disk bad_fmt = {
	    .path = (char *)"/x", .vdev = (char *)"xvda", .format = (char *)"vmdk"};
	struct xn_disk no_vdev = {.path = (char *)"/x"};

	c = base_config("bad name!", XN_GUEST_PV);
	expect_invalid(&c, "name \"bad name!\"");
	c = base_config("k", XN_GUEST_PV);
	c.kernel = NULL;
	expect_invalid(&c, "kernel: missing");
	c = base_config("m", XN_GUEST_PV);
	c.memory_kb = 1024;
	expect_invalid(&c, "memory 1024 KiB");
	c = base_config("v", XN_GUEST_PV);
	c.vcpus = 0;
	expect_invalid(&c, "vcpus 0");
	c = base_config("cap", XN_GUEST_PV);
	c.cpu_cap = 101;
	expect_invalid(&c, "cpu cap 101%");
	c = base_config("mac", XN_GUEST_PV);
	c.vifs = &bad_vif;
	c.nvifs = 1;
	expect_invalid(&c, "vif 0: mac \"01:16:3e:00:00:01\"");
	c = base_config("fmt", XN_GUEST_PV);
	c.disks = &bad_fmt;
	c.ndisks = 1;
	expect_invalid(&c, "disk 0: format \"vmdk\"");
	c = base_config("vdev", XN_GUEST_PV);
	c.disks = &no_vdev;
	c.ndisks = 1;
	expect_invalid(&c, "disk 0: path and vdev are required");
}

static void exit_code_parsing_is_strict(void **state)
{
	assert_int_equal(xn_hv_libxl_parse_exit_code("0", 1), 0);
	assert_int_equal(xn_hv_libxl_parse_exit_code("42", 2), 42);
	assert_int_equal(xn_hv_libxl_parse_exit_code("255", 3), 255);
	assert_int_equal(xn_hv_libxl_parse_exit_code("007", 3), 7);
	/* the length is what xs_read returned: bytes after it do not count */
	assert_int_equal(xn_hv_libxl_parse_exit_code("12junk", 2), 12);
	assert_int_equal(xn_hv_libxl_parse_exit_code("256", 3), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code("1000", 4), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code("-1", 2), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code("+1", 2), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code(" 1", 2), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code("1\n", 2), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code("", 0), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code(NULL, 0), -1);
	assert_int_equal(xn_hv_libxl_parse_exit_code("1\0", 2), -1);
}

static void shutdown_reasons_map(void **state)
{
	/* LIBXL_SHUTDOWN_REASON_* values are Xen's SHUTDOWN_* ABI */
	assert_int_equal(xn_hv_libxl_reason(0), XN_SHUTDOWN_POWEROFF);
	assert_int_equal(xn_hv_libxl_reason(1), XN_SHUTDOWN_REBOOT);
	assert_int_equal(xn_hv_libxl_reason(2), XN_SHUTDOWN_SUSPEND);
	assert_int_equal(xn_hv_libxl_reason(3), XN_SHUTDOWN_CRASH);
	assert_int_equal(xn_hv_libxl_reason(4), XN_SHUTDOWN_WATCHDOG);
	assert_int_equal(xn_hv_libxl_reason(5), XN_SHUTDOWN_SOFT_RESET);
	assert_int_equal(xn_hv_libxl_reason(-1), XN_SHUTDOWN_UNKNOWN);
	assert_int_equal(xn_hv_libxl_reason(200), XN_SHUTDOWN_UNKNOWN);
}

/* Without Xen, opening the backend must fail and say why. */
static void open_without_xen_says_why(void **state)
{
	struct event_base *base;
	struct xn_hv *hv;
	xn_err err = NULL;

	if (access("/proc/xen/privcmd", F_OK) == 0 || access("/dev/xen/privcmd", F_OK) == 0) {
		printf("skipped: this machine runs on Xen\n");
		skip();
	}
	base = event_base_new();
	assert_non_null(base);
	hv = xn_hv_new("libxl", base, NULL, NULL, &err);
	assert_null(hv);
	if (strstr(xn_error_msg(err), "backend libxl: libxl: cannot open the Xen control "
				      "interface (is this a Xen Dom0? /proc/xen/privcmd") == NULL)
		fail_msg("unexpected error: %s", xn_error_msg(err));
	printf("# %s\n", xn_error_msg(err));
	assert_int_equal(err->status, ENODEV);
	xn_error_free(&err);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(golden_pv_minimal),
	    cmocka_unit_test(golden_pvh_two_vcpus),
	    cmocka_unit_test(golden_weight_cap),
	    cmocka_unit_test(golden_vif),
	    cmocka_unit_test(golden_pod_vif),
	    cmocka_unit_test(golden_disk),
	    cmocka_unit_test(invalid_configs_name_the_field),
	    cmocka_unit_test(exit_code_parsing_is_strict),
	    cmocka_unit_test(shutdown_reasons_map),
	    cmocka_unit_test(open_without_xen_says_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
