/* test_config.c - xenletd settings: defaults < YAML file < flags, the errors
 * for bad files and flags (one line naming file, line and key), checks,
 * and `xenletd -n` output (golden file, and print -> load round trip). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/config.h"
#include "xenlet/util.h"

#define FIX XN_SRCDIR "/test/fixtures/config/"

static char *print_str(const struct xn_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	xn_config_print(c, f);
	fclose(f);
	return buf;
}

/* Run xn_config_from_args on a NULL-terminated list of arguments. */
static int from_args(struct xn_config *c, xn_err *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	int rc;

	argv[argc++] = xn_xstrdup("xenletd");
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL;) {
		assert_true(argc < 31);
		argv[argc++] = xn_xstrdup(a);
	}
	va_end(ap);
	argv[argc] = NULL;
	rc = xn_config_from_args(c, argc, argv, err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

static void test_defaults(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	assert_string_equal(c.backend, "libxl");
	assert_null(c.store);
	assert_string_equal(c.root_dir, "/var/lib/xenlet");
	assert_string_equal(c.log_dir, "/var/log/pods");
	assert_int_equal(c.kubelet_port, 10250);
	assert_int_equal(c.max_pods, 110);
	assert_false(c.server_tls_bootstrap);
	assert_int_equal(c.node_status_update_s, 60);
	assert_int_equal(c.lease_duration_s, 40);
	assert_int_equal(c.default_pod_memory, 64LL << 20);
	assert_int_equal(c.ntaints, 1);
	assert_string_equal(c.taints[0].key, "xenlet.io/unikernel");
	assert_string_equal(c.taints[0].effect, "NoSchedule");
	assert_int_equal(c.nimage_roots, 1);
	assert_string_equal(c.image_roots[0], "/var/lib/xenlet/images");
	assert_int_equal(xn_config_check(&c, &err), 0);
	assert_string_equal(c.store, "xs"); /* derived from the libxl backend */
	assert_non_null(c.node_name);	    /* the host name, lowercased */
	for (const char *p = c.node_name; *p; p++)
		assert_false(*p >= 'A' && *p <= 'Z');
	xn_config_dispose(&c);

	xn_config_init(&c);
	free(c.backend);
	c.backend = xn_xstrdup("sim");
	c.node_name = xn_xstrdup("n1");
	assert_int_equal(xn_config_check(&c, &err), 0);
	assert_string_equal(c.store, "mem");
	xn_config_dispose(&c);
}

static void test_full_file(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	if (xn_config_load_file(&c, FIX "full.yaml", &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_string_equal(c.kubeconfig, "/etc/xenlet/kubeconfig");
	assert_string_equal(c.node_name, "dom0-a.example");
	assert_string_equal(c.node_ip, "192.0.2.10");
	assert_string_equal(c.backend, "sim");
	assert_string_equal(c.store, "mem");
	assert_string_equal(c.root_dir, "/srv/xenlet");
	assert_string_equal(c.log_dir, "/srv/pod-logs");
	assert_string_equal(c.ctl_socket, "/run/xenlet-test/ctl.sock");
	assert_string_equal(c.bridge, "br-pods");
	assert_int_equal(c.kubelet_port, 10260);
	assert_int_equal(c.max_pods, 42);
	assert_true(c.server_tls_bootstrap);
	assert_int_equal(c.verbose, 2);
	assert_int_equal(c.lease_duration_s, 30);
	assert_int_equal(c.node_status_update_s, 90);
	assert_int_equal(c.default_pod_memory, 128LL << 20);
	assert_int_equal(c.memory_pressure_free, 1LL << 30);
	assert_int_equal(c.reserved_memory, 512LL << 20);
	assert_int_equal(c.reserved_cpu_milli, 500);
	assert_int_equal(c.ntaints, 2);
	assert_string_equal(c.taints[0].key, "xenlet.io/unikernel");
	assert_string_equal(c.taints[0].value, "yes");
	assert_string_equal(c.taints[0].effect, "NoExecute");
	assert_string_equal(c.taints[1].key, "dedicated");
	assert_null(c.taints[1].value);
	assert_string_equal(c.taints[1].effect, "PreferNoSchedule");
	assert_int_equal(c.nlabels, 2);
	assert_string_equal(c.labels[0].key, "topology.kubernetes.io/zone");
	assert_string_equal(c.labels[0].value, "lab-1");
	assert_string_equal(c.labels[1].key, "xenlet.io/tier");
	assert_string_equal(c.labels[1].value, "gold");
	assert_int_equal(c.nimage_roots, 2);
	assert_string_equal(c.image_roots[0], "/srv/images");
	assert_string_equal(c.image_roots[1], "/opt/unikernels"); /* trailing '/' dropped */
	/* the kubeconfig does not exist here: check names it */
	assert_int_equal(xn_config_check(&c, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "/etc/xenlet/kubeconfig"));
	xn_error_free(&err);
	free(c.kubeconfig);
	c.kubeconfig = xn_xstrdup(FIX "full.yaml"); /* any readable file */
	if (xn_config_check(&c, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	xn_config_dispose(&c);
}

static void test_empty_file(void **state)
{
	struct xn_config c, d;
	xn_err err = NULL;
	cleanup_free char *a = NULL, *b = NULL;

	xn_config_init(&c);
	xn_config_init(&d);
	assert_int_equal(xn_config_load_file(&c, FIX "empty.yaml", &err), 0);
	a = print_str(&c);
	b = print_str(&d);
	assert_string_equal(a, b);
	xn_config_dispose(&c);
	xn_config_dispose(&d);
}

static void test_missing_file(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	assert_int_equal(from_args(&c, &err, "--config", FIX "nope.yaml", NULL), -1);
	assert_non_null(strstr(xn_error_msg(err), FIX "nope.yaml"));
	assert_int_equal(err->status, ENOENT);
	xn_error_free(&err);
	xn_config_dispose(&c);
}

static void test_flags_override_file(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	/* --port comes before --config on the command line and still wins */
	if (from_args(&c, &err, "--port", "1234", "-d", "--config", FIX "full.yaml", "--node-name",
		      "flagnode", "--register-with-taints", "a=b:NoSchedule,c:NoExecute", "-vv",
		      "--backend=libxl", "--root-dir", "/tmp/xr", NULL) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_string_equal(c.config_file, FIX "full.yaml");
	assert_int_equal(c.kubelet_port, 1234);
	assert_string_equal(c.node_name, "flagnode");
	assert_string_equal(c.backend, "libxl");
	assert_string_equal(c.root_dir, "/tmp/xr");
	assert_true(c.foreground);
	assert_false(c.check_only);
	assert_int_equal(c.verbose, 4); /* verbosity 2 from the file, then -vv */
	assert_int_equal(c.ntaints, 2);
	assert_string_equal(c.taints[0].key, "a");
	assert_string_equal(c.taints[0].value, "b");
	assert_string_equal(c.taints[0].effect, "NoSchedule");
	assert_string_equal(c.taints[1].key, "c");
	assert_null(c.taints[1].value);
	/* what the flags did not name comes from the file */
	assert_int_equal(c.max_pods, 42);
	assert_string_equal(c.bridge, "br-pods");
	assert_string_equal(c.store, "mem");
	assert_int_equal(c.nimage_roots, 2); /* from the file */
	xn_config_dispose(&c);

	/* --image-root, repeated: the flags' list replaces the file's */
	xn_config_init(&c);
	if (from_args(&c, &err, "--image-root", "/a/img", "--config", FIX "full.yaml",
		      "--image-root=/b/img/", NULL) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_int_equal(c.nimage_roots, 2);
	assert_string_equal(c.image_roots[0], "/a/img");
	assert_string_equal(c.image_roots[1], "/b/img");
	xn_config_dispose(&c);

	/* an empty taint flag means no taints at all */
	xn_config_init(&c);
	assert_int_equal(from_args(&c, &err, "--register-with-taints", "", NULL), 0);
	assert_int_equal(c.ntaints, 0);
	xn_config_dispose(&c);

	xn_config_init(&c);
	assert_int_equal(from_args(&c, &err, "--server-tls-bootstrap", NULL), 0);
	assert_true(c.server_tls_bootstrap);
	xn_config_dispose(&c);
}

static void assert_one_line(const char *msg)
{
	assert_null(strchr(msg, '\n'));
	assert_true(strlen(msg) > 10);
}

static void test_bad_files(void **state)
{
	static const struct {
		const char *file;
		int line;
		const char *key; /* must appear in the message */
	} cases[] = {
	    {"bad-unknown-key.yaml", 3, "nodeNmae"},
	    {"bad-reserved-memory.yaml", 4, "systemReserved.memory"},
	    {"bad-taint-effect.yaml", 5, "Sometimes"},
	    {"bad-list-scalar.yaml", 2, "nodeName"},
	    {"bad-syntax.yaml", 3, ""},
	    {"bad-duration.yaml", 1, "nodeStatusUpdateFrequency"},
	    {"bad-port.yaml", 3, "port"},
	    {"bad-maxpods.yaml", 1, "maxPods"},
	    {"bad-bool.yaml", 2, "serverTLSBootstrap: must be true or false"},
	    {"bad-image-root.yaml", 4, "imageRoots: 'images': must be an absolute path"},
	    {"bad-image-root-scalar.yaml", 1, "imageRoots: must be a list"},
	};

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		struct xn_config c;
		xn_err err = NULL;
		cleanup_free char *path = xn_xasprintf("%s%s", FIX, cases[i].file);
		cleanup_free char *line = xn_xasprintf("line %d:", cases[i].line);
		const char *msg;

		xn_config_init(&c);
		assert_int_equal(from_args(&c, &err, "--config", path, NULL), -1);
		msg = xn_error_msg(err);
		print_message("%s -> %s\n", cases[i].file, msg);
		assert_int_equal(err->status, EINVAL);
		assert_one_line(msg);
		if (strstr(msg, path) == NULL || strstr(msg, line) == NULL ||
		    strstr(msg, cases[i].key) == NULL)
			fail_msg("%s: want file, '%s' and '%s' in: %s", cases[i].file, line,
				 cases[i].key, msg);
		xn_error_free(&err);
		xn_config_dispose(&c);
	}
}

static void test_bad_taint_effect_names_key(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	assert_int_equal(xn_config_load_file(&c, FIX "bad-taint-effect.yaml", &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "registerWithTaints"));
	assert_non_null(strstr(xn_error_msg(err), "NoSchedule, PreferNoSchedule or NoExecute"));
	xn_error_free(&err);
	xn_config_dispose(&c);
}

static void test_bad_flags(void **state)
{
	static const struct {
		const char *a1, *a2;
		const char *want;
	} cases[] = {
	    {"--port", "0", "--port '0'"},
	    {"--port", "abc", "--port 'abc'"},
	    {"--port", "65536", "--port '65536'"},
	    {"--register-with-taints", "key=value", "missing :EFFECT"},
	    {"--register-with-taints", "k=v:Sometimes", "effect 'Sometimes'"},
	    {"--register-with-taints", "=v:NoSchedule", "empty key"},
	    {"--bogus", NULL, "unknown option '--bogus'"},
	    {"-x", NULL, "unknown option '-x'"},
	    {"-dx", NULL, "unknown option '-x'"},
	    {"stray", NULL, "unexpected argument 'stray'"},
	    {"--port", NULL, "needs a value"},
	    {"--image-root", "/", "--image-root '/': must not be /"},
	    {"--image-root", "img", "--image-root 'img': must be an absolute path"},
	    {"--image-root", "/a/../etc", "--image-root '/a/../etc'"},
	};

	for (size_t i = 0; i < XN_ARRAY_SIZE(cases); i++) {
		struct xn_config c;
		xn_err err = NULL;

		xn_config_init(&c);
		assert_int_equal(from_args(&c, &err, cases[i].a1, cases[i].a2, NULL), -1);
		print_message("%s %s -> %s\n", cases[i].a1, cases[i].a2 ? cases[i].a2 : "",
			      xn_error_msg(err));
		assert_int_equal(err->status, EINVAL);
		assert_one_line(xn_error_msg(err));
		if (strstr(xn_error_msg(err), cases[i].want) == NULL)
			fail_msg("want '%s' in: %s", cases[i].want, xn_error_msg(err));
		xn_error_free(&err);
		xn_config_dispose(&c);
	}
}

static void test_help_version(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	assert_int_equal(from_args(&c, &err, "--help", NULL), -1);
	assert_int_equal(err->status, 0);
	assert_string_equal(err->msg, "help");
	xn_error_free(&err);
	assert_int_equal(from_args(&c, &err, "--version", NULL), -1);
	assert_int_equal(err->status, 0);
	assert_string_equal(err->msg, "version");
	xn_error_free(&err);
	xn_config_dispose(&c);
}

static void check_fails(struct xn_config *c, const char *want)
{
	xn_err err = NULL;

	assert_int_equal(xn_config_check(c, &err), -1);
	assert_one_line(xn_error_msg(err));
	if (strstr(xn_error_msg(err), want) == NULL)
		fail_msg("want '%s' in: %s", want, xn_error_msg(err));
	xn_error_free(&err);
}

static void test_check(void **state)
{
	static const char *const bad_names[] = {"Node1", "-node", "node-", "node_1", "a..b.", ""};
	struct xn_config c;
	char long_name[300];
	xn_err err = NULL;

	for (size_t i = 0; i < XN_ARRAY_SIZE(bad_names); i++) {
		xn_config_init(&c);
		c.node_name = xn_xstrdup(bad_names[i]);
		check_fails(&c, "must be a DNS subdomain");
		xn_config_dispose(&c);
	}
	memset(long_name, 'a', 254);
	long_name[254] = '\0';
	xn_config_init(&c);
	c.node_name = xn_xstrdup(long_name);
	check_fails(&c, "at most 253");
	long_name[253] = '\0'; /* 253 is allowed */
	free(c.node_name);
	c.node_name = xn_xstrdup(long_name);
	assert_int_equal(xn_config_check(&c, &err), 0);
	xn_config_dispose(&c);

	xn_config_init(&c);
	c.node_name = xn_xstrdup("n1");
	free(c.root_dir);
	c.root_dir = xn_xstrdup("var/lib/xenlet");
	check_fails(&c, "root dir 'var/lib/xenlet': must be an absolute path");
	xn_config_dispose(&c);

	xn_config_init(&c);
	c.node_name = xn_xstrdup("n1");
	free(c.log_dir);
	c.log_dir = xn_xstrdup("logs");
	check_fails(&c, "pod log dir 'logs'");
	xn_config_dispose(&c);

	xn_config_init(&c);
	c.node_name = xn_xstrdup("n1");
	free(c.backend);
	c.backend = xn_xstrdup("bogus");
	check_fails(&c, "backend 'bogus': must be libxl or sim");
	xn_config_dispose(&c);

	xn_config_init(&c);
	c.node_name = xn_xstrdup("n1");
	c.store = xn_xstrdup("disk");
	check_fails(&c, "store 'disk'");
	xn_config_dispose(&c);

	xn_config_init(&c);
	c.node_name = xn_xstrdup("n1");
	c.server_tls_bootstrap = true;
	c.tls_cert_file = xn_xstrdup("/c.pem");
	c.tls_key_file = xn_xstrdup("/k.pem");
	check_fails(&c, "serverTLSBootstrap and tlsCertFile exclude each other");
	xn_config_dispose(&c);
}

static int load_text(struct xn_config *c, const char *text);

/* The pod network's settings: from the file and flags, checked at start
 * with an error that names the setting and the value. */
static void test_network_settings(void **state)
{
	static const struct {
		const char *flag, *val, *want;
	} bad[] = {
	    {"--pod-cidr", "10.244.1.5/24", "podCIDR: pod CIDR \"10.244.1.5/24\": host bits set"},
	    {"--pod-cidr", "10.244.1.0/31", "at most /30"},
	    {"--pod-cidr", "10.0.0.0/24,10.1.0.0/24", "at most one IPv4 and one IPv6"},
	    {"--pod-cidr", "pods", "podCIDR: pod CIDR \"pods\": want ADDRESS/PREFIX"},
	    {"--bridge", "a-very-long-bridge",
	     "bridge 'a-very-long-bridge': not a network "
	     "interface name"},
	    {"--bridge", "br/0", "bridge 'br/0'"},
	    {"--vif-script", "vif-xenlet", "vif script 'vif-xenlet': must be an absolute path"},
	    {"--cluster-dns", "10.96.0.300",
	     "clusterDNS '10.96.0.300': '10.96.0.300' is not an IP"},
	    {"--cluster-dns", "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", "one to three addresses"},
	    {"--cluster-domain", "Cluster_Local", "clusterDomain 'Cluster_Local': must be a DNS"},
	    {"--resolv-conf", "resolv.conf", "resolvConf 'resolv.conf': must be an absolute path"},
	};
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	assert_string_equal(c.bridge, "xenlet0");
	assert_null(c.pod_cidr);
	assert_string_equal(c.vif_script, "/etc/xen/scripts/vif-xenlet");
	if (xn_config_load_file(&c, FIX "full.yaml", &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_string_equal(c.pod_cidr, "10.244.3.0/24,fd00:10:244:3::/64");
	assert_string_equal(c.vif_script, "/usr/libexec/xenlet/vif-xenlet");
	assert_string_equal(c.cluster_dns, "10.96.0.10,fd00:10:96::a");
	assert_string_equal(c.cluster_domain, "k8s.example");
	assert_string_equal(c.resolv_conf, "/run/systemd/resolve/resolv.conf");
	assert_string_equal(c.flannel_subnet_file, "/run/flannel/other.env");
	xn_config_dispose(&c);

	/* the kubelet's defaults; flags as the kubelet's */
	xn_config_init(&c);
	assert_null(c.cluster_dns);
	assert_null(c.cluster_domain);
	assert_string_equal(c.resolv_conf, "/etc/resolv.conf");
	assert_string_equal(c.flannel_subnet_file, "/run/flannel/subnet.env");
	assert_int_equal(from_args(&c, &err, "--cluster-dns", "10.96.0.10", "--cluster-domain",
				   "cluster.local", "--resolv-conf", "", "--node-name", "n1", NULL),
			 0);
	assert_string_equal(c.cluster_dns, "10.96.0.10");
	assert_string_equal(c.cluster_domain, "cluster.local");
	assert_string_equal(c.resolv_conf, "");
	assert_int_equal(xn_config_check(&c, &err), 0);
	xn_config_dispose(&c);
	xn_config_init(&c);
	assert_int_equal(load_text(&c, "clusterDNS: 10.96.0.10\n"), -1);
	xn_config_dispose(&c);

	xn_config_init(&c);
	assert_int_equal(
	    from_args(&c, &err, "--pod-cidr", "10.244.9.0/24", "--node-name", "n1", NULL), 0);
	assert_string_equal(c.pod_cidr, "10.244.9.0/24");
	assert_int_equal(xn_config_check(&c, &err), 0);
	xn_config_dispose(&c);

	for (size_t i = 0; i < XN_ARRAY_SIZE(bad); i++) {
		xn_config_init(&c);
		assert_int_equal(
		    from_args(&c, &err, bad[i].flag, bad[i].val, "--node-name", "n1", NULL), 0);
		check_fails(&c, bad[i].want);
		xn_config_dispose(&c);
	}
}

static void test_golden_print(void **state)
{
	struct xn_config c;
	xn_err err = NULL;
	cleanup_free char *got = NULL;
	const char *golden = FIX "full.expected";

	xn_config_init(&c);
	if (xn_config_load_file(&c, FIX "full.yaml", &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	got = print_str(&c);
	xn_config_dispose(&c);
	xn_test_golden(golden, got);
}

/* Load text as a config file. */
static int load_text(struct xn_config *c, const char *text)
{
	char path[] = "/tmp/xn-test-config.XXXXXX";
	int fd = mkstemp(path), rc;
	xn_err err = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = xn_config_load_file(c, path, &err);
	if (rc < 0)
		print_message("%s\n", xn_error_msg(err));
	xn_error_free(&err);
	unlink(path);
	return rc;
}

/* print -> load gives the same settings (compared through print again). */
static void round_trip(struct xn_config *c)
{
	char path[] = "/tmp/xn-test-config.XXXXXX";
	int fd = mkstemp(path);
	cleanup_free char *first = print_str(c);
	cleanup_free char *second = NULL;
	struct xn_config d;
	xn_err err = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, first, strlen(first)), (ssize_t)strlen(first));
	close(fd);
	xn_config_init(&d);
	if (xn_config_load_file(&d, path, &err) < 0)
		fail_msg("reloading the printed settings: %s\n%s", xn_error_msg(err), first);
	unlink(path);
	second = print_str(&d);
	assert_string_equal(first, second);
	/* NULL strings stay NULL, not the text "null" */
	assert_true((c->kubeconfig == NULL) == (d.kubeconfig == NULL));
	assert_true((c->node_ip == NULL) == (d.node_ip == NULL));
	assert_true((c->store == NULL) == (d.store == NULL));
	assert_int_equal(c->ntaints, d.ntaints);
	assert_int_equal(c->nlabels, d.nlabels);
	assert_int_equal(c->nimage_roots, d.nimage_roots);
	xn_config_dispose(&d);
}

static void test_round_trip(void **state)
{
	struct xn_config c;
	xn_err err = NULL;

	xn_config_init(&c);
	if (xn_config_load_file(&c, FIX "full.yaml", &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	round_trip(&c);
	xn_config_dispose(&c);

	/* the defaults, with unset (null) strings and a quoted "null" text */
	xn_config_init(&c);
	round_trip(&c);
	c.node_name = xn_xstrdup("null");
	free(c.bridge);
	c.bridge = xn_xstrdup("we\"ird\\br");
	c.labels = xn_xcalloc(1, sizeof(*c.labels));
	c.labels[0].key = xn_xstrdup("a/b");
	c.labels[0].value = xn_xstrdup("x: y # z");
	c.nlabels = 1;
	round_trip(&c);
	xn_config_dispose(&c);

	/* no image roots print "[]", which loads back as none */
	xn_config_init(&c);
	assert_int_equal(load_text(&c, "imageRoots: []\n"), 0);
	assert_int_equal(c.nimage_roots, 0);
	round_trip(&c);
	xn_config_dispose(&c);

	/* no taints at all prints "[]", which loads back as no taints */
	xn_config_init(&c);
	assert_int_equal(from_args(&c, &err, "--register-with-taints", "", NULL), 0);
	round_trip(&c);
	xn_config_dispose(&c);
}

/* Settings that have a built-in default and no "unset" refuse YAML's null:
 * "backend:" left backend NULL and xn_config_check (xenletd -n, and every
 * start) crashed on it (found by test/fuzz/fuzz_config). */
static void test_null_only_for_optional(void **state)
{
	static const char *const required[] = {"backend",   "rootDir", "podLogDir",
					       "ctlSocket", "bridge",  "address"};
	static const char *const nulls[] = {"null", "~", ""};
	char path[] = "/tmp/xn-test-config.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	for (size_t i = 0; i < XN_ARRAY_SIZE(required); i++) {
		for (size_t j = 0; j < XN_ARRAY_SIZE(nulls); j++) {
			cleanup_free char *text = xn_xasprintf("%s: %s\n", required[i], nulls[j]);
			struct xn_config c;
			xn_err err = NULL;

			xn_test_write(path, text);
			xn_config_init(&c);
			if (xn_config_load_file(&c, path, &err) == 0)
				fail_msg("\"%s\" loaded", text);
			if (strstr(xn_error_msg(err), required[i]) == NULL)
				fail_msg("\"%s\": %s", text, xn_error_msg(err));
			assert_one_line(xn_error_msg(err));
			xn_error_free(&err);
			xn_config_dispose(&c);
		}
	}
	/* optional ones are unset by null */
	xn_test_write(path, "kubeconfig: null\nnodeName: ~\nstore:\ntlsCertFile: null\n");
	{
		struct xn_config c;
		xn_err err = NULL;

		xn_config_init(&c);
		if (xn_config_load_file(&c, path, &err) < 0)
			fail_msg("%s", xn_error_msg(err));
		assert_null(c.kubeconfig);
		assert_null(c.node_name);
		xn_config_dispose(&c);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_flags_override_file),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_bad_taint_effect_names_key),
	    cmocka_unit_test(test_bad_flags),
	    cmocka_unit_test(test_help_version),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_network_settings),
	    cmocka_unit_test(test_golden_print),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_null_only_for_optional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
