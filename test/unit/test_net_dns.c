/* test_net_dns.c - a pod's DNS as the kubelet forms it (net_dns.c): each
 * policy, dnsConfig merged in, the limits with their Events, the fallback
 * without clusterDNS, resolv.conf parsing; each case rendered as the
 * resolv.conf the kubelet would write plus its Events and compared with a
 * golden file in test/fixtures/dns/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/err.h"
#include "xenlet/net.h"
#include "xenlet/util.h"

#define HOST_RESOLV                                                                                \
	"# the node's resolver\n"                                                                  \
	"nameserver 192.0.2.53\n"                                                                  \
	"nameserver 2001:DB8::35 ; comment\n"                                                      \
	"search old.example\n"                                                                     \
	"search corp.example. lab.example .\n"                                                     \
	"options timeout:2 attempts:3\n"                                                           \
	"options timeout:1\n"

/* The result as the resolv.conf the kubelet would write. */
static char *render(const struct xn_dns_pod *p)
{
	cleanup_free char *ns = xn_strv_join(&p->conf.servers, "\nnameserver ");
	cleanup_free char *search = xn_strv_join(&p->conf.search, " ");
	cleanup_free char *opts = xn_strv_join(&p->conf.options, " ");

	return xn_xasprintf("%s%s%s%s%s%s%s%s%s", p->conf.servers.n ? "nameserver " : "", ns,
			    p->conf.servers.n ? "\n" : "", p->conf.search.n ? "search " : "",
			    search, p->conf.search.n ? "\n" : "",
			    p->conf.options.n ? "options " : "", opts,
			    p->conf.options.n ? "\n" : "");
}

static void check_case(const char *name, const struct xn_dns_node *node, const char *ns,
		       const char *policy, bool host_net, const char *dns_config_json)
{
	cJSON *cfg = dns_config_json ? cJSON_Parse(dns_config_json) : NULL;
	struct xn_dns_pod p;
	xn_err err = NULL;
	cleanup_free char *path = xn_xasprintf("test/fixtures/dns/%s.txt", name);
	cleanup_free char *text = NULL, *all = NULL;
	cleanup_free char *ev = xn_xstrdup("");

	if (dns_config_json)
		assert_non_null(cfg);
	if (xn_dns_for_pod(node, ns, policy, host_net, cfg, &p, &err) < 0)
		fail_msg("%s: %s", name, xn_error_msg(err));
	text = render(&p);
	for (size_t i = 0; i < p.nevents; i++) {
		char *n = xn_xasprintf("%sevent Warning %s: %s\n", ev, p.events[i].reason,
				       p.events[i].message);
		free(ev);
		ev = n;
	}
	all = xn_xasprintf("%s%s", text, ev);
	xn_test_golden(path, all);
	xn_dns_pod_dispose(&p);
	cJSON_Delete(cfg);
}

static void resolv_conf_is_read_as_the_kubelet_does(void **state)
{
	struct xn_dns_conf c;
	cleanup_free char *s = NULL, *o = NULL, *n = NULL;

	(void)state;
	xn_dns_resolv_parse(HOST_RESOLV, &c);
	n = xn_strv_join(&c.servers, ",");
	s = xn_strv_join(&c.search, ",");
	o = xn_strv_join(&c.options, ",");
	assert_string_equal(n, "192.0.2.53,2001:DB8::35");
	assert_string_equal(s, "corp.example,lab.example"); /* the last line wins */
	assert_string_equal(o, "timeout:1,attempts:3");	    /* same name: replaced */
	xn_dns_conf_dispose(&c);
	xn_dns_resolv_parse("", &c);
	assert_int_equal(c.servers.n + c.search.n + c.options.n, 0);
	xn_dns_conf_dispose(&c);
}

static void policies(void **state)
{
	struct xn_dns_conf host;
	struct xn_dns_node node = {
	    .cluster_dns = "10.96.0.10", .cluster_domain = "cluster.local", .host = &host};
	struct xn_dns_node no_dns = {.cluster_domain = "cluster.local", .host = &host};
	struct xn_dns_node no_resolv = {.cluster_dns = "10.96.0.10",
					.cluster_domain = "cluster.local"};
	struct xn_dns_node two = {.cluster_dns = "10.96.0.10,fd00:10:96::a",
				  .cluster_domain = "k8s.test"};

	(void)state;
	xn_dns_resolv_parse(HOST_RESOLV, &host);
	check_case("cluster-first", &node, "default", NULL, false, NULL);
	check_case("cluster-first-ns", &node, "team-a", "ClusterFirst", false, NULL);
	check_case("cluster-first-two-servers", &two, "default", "ClusterFirst", false, NULL);
	check_case("cluster-first-host-network", &node, "default", "ClusterFirst", true, NULL);
	check_case("cluster-first-with-host-net", &node, "default", "ClusterFirstWithHostNet", true,
		   NULL);
	check_case("default", &node, "default", "Default", false, NULL);
	check_case("default-no-resolv-conf", &no_resolv, "default", "Default", false, NULL);
	check_case("missing-cluster-dns", &no_dns, "default", "ClusterFirst", false, NULL);
	check_case("none", &node, "default", "None", false,
		   "{\"nameservers\":[\"1.1.1.1\"],\"searches\":[\"Example.COM.\"],"
		   "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]}");
	check_case("cluster-first-dns-config", &node, "default", "ClusterFirst", false,
		   "{\"nameservers\":[\"10.96.0.10\",\"9.9.9.9\"],"
		   "\"searches\":[\"svc.cluster.local\",\"extra.example\"],"
		   "\"options\":[{\"name\":\"ndots\",\"value\":\"1\"},{\"name\":\"rotate\"}]}");
	xn_dns_conf_dispose(&host);
}

/* 3 servers, 32 domains, 2048 characters: the rest omitted with the
 * kubelet's Events. */
static void limits(void **state)
{
	struct xn_dns_node node = {.cluster_dns = "10.96.0.10", .cluster_domain = "cluster.local"};
	cleanup_free char *many = xn_xstrdup("{\"nameservers\":[\"1.1.1.1\",\"8.8.8.8\","
					     "\"9.9.9.9\"],\"searches\":[");
	cleanup_free char *longs = xn_xstrdup("{\"searches\":[");

	(void)state;
	for (int i = 0; i < 40; i++) {
		char *n = xn_xasprintf("%s%s\"d%d.example\"", many, i ? "," : "", i);
		free(many);
		many = n;
	}
	many = xn_xrealloc(many, strlen(many) + 4);
	strcat(many, "]}");
	check_case("limits-count", &node, "default", "ClusterFirst", false, many);
	/* 20 domains of 120 characters: 2419 > 2048, the last ones go */
	for (int i = 0; i < 20; i++) {
		char label[64];
		char *n;

		memset(label, 'a' + i, 58);
		label[58] = '\0';
		n = xn_xasprintf("%s%s\"%s.%s.example\"", longs, i ? "," : "", label, label);
		free(longs);
		longs = n;
	}
	longs = xn_xrealloc(longs, strlen(longs) + 4);
	strcat(longs, "]}");
	check_case("limits-chars", &node, "default", "None", false, longs);
}

/* What the guest's keys cannot carry is dropped, with an Event. */
static void undeliverable_values(void **state)
{
	struct xn_dns_conf host;
	struct xn_dns_node node = {.cluster_domain = "cluster.local", .host = &host};

	(void)state;
	xn_dns_resolv_parse("nameserver fe80::1%eth0\nnameserver 192.0.2.1\n"
			    "search bad_domain.example ok.example\noptions bad{opt}\n",
			    &host);
	check_case("undeliverable", &node, "default", "Default", false, NULL);
	xn_dns_conf_dispose(&host);
}

static void bad_input_is_named(void **state)
{
	struct xn_dns_node node = {.cluster_dns = "10.96.0.10", .cluster_domain = "cluster.local"};
	struct xn_dns_pod p;
	xn_err err = NULL;
	cJSON *cfg;

	(void)state;
	assert_int_equal(xn_dns_for_pod(&node, "default", "Sometimes", false, NULL, &p, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "spec.dnsPolicy \"Sometimes\""));
	xn_error_free(&err);
	assert_int_equal(xn_dns_for_pod(&node, "default", "None", false, NULL, &p, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "needs spec.dnsConfig"));
	xn_error_free(&err);
	cfg = cJSON_Parse("{\"nameservers\":\"1.1.1.1\"}");
	assert_int_equal(xn_dns_for_pod(&node, "default", NULL, false, cfg, &p, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "spec.dnsConfig.nameservers: must be a list"));
	xn_error_free(&err);
	cJSON_Delete(cfg);
	cfg = cJSON_Parse("{\"options\":[{\"value\":\"1\"}]}");
	assert_int_equal(xn_dns_for_pod(&node, "default", NULL, false, cfg, &p, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "needs a name"));
	xn_error_free(&err);
	cJSON_Delete(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(resolv_conf_is_read_as_the_kubelet_does),
	    cmocka_unit_test(policies),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(undeliverable_values),
	    cmocka_unit_test(bad_input_is_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
