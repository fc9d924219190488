/* net_dns.c - a pod's resolver configuration as the kubelet forms it
 * (pkg/kubelet/network/dns: GetPodDNS, appendDNSConfig,
 * formDNSConfigFitsLimits), from the node's settings and the pod's
 * dnsPolicy and dnsConfig.  Pure: the caller reads resolv.conf. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenlet/net.h"
#include "xenlet/util.h"

void xn_strv_add(struct xn_strv *l, const char *s)
{
	l->v = xn_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xn_xstrdup(s);
}

void xn_strv_dispose(struct xn_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

char *xn_strv_join(const struct xn_strv *l, const char *sep)
{
	size_t len = 1;
	char *out, *p;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + strlen(sep);
	p = out = xn_xmalloc(len);
	*p = '\0';
	for (size_t i = 0; i < l->n; i++)
		p += sprintf(p, "%s%s", i ? sep : "", l->v[i]);
	return out;
}

static bool strv_has(const struct xn_strv *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* omitDuplicates: add s unless the list has it. */
static void strv_add_once(struct xn_strv *l, const char *s)
{
	if (!strv_has(l, s))
		xn_strv_add(l, s);
}

/* Keep the first n items. */
static void strv_truncate(struct xn_strv *l, size_t n)
{
	while (l->n > n)
		free(l->v[--l->n]);
}

/* Remove item i, keeping the order. */
static void strv_remove(struct xn_strv *l, size_t i)
{
	free(l->v[i]);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

void xn_dns_conf_dispose(struct xn_dns_conf *c)
{
	xn_strv_dispose(&c->servers);
	xn_strv_dispose(&c->search);
	xn_strv_dispose(&c->options);
}

void xn_dns_pod_dispose(struct xn_dns_pod *p)
{
	xn_dns_conf_dispose(&p->conf);
	for (size_t i = 0; i < p->nevents; i++)
		free(p->events[i].message);
	p->nevents = 0;
}

static void copy_strv(struct xn_strv *dst, const struct xn_strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		xn_strv_add(dst, src->v[i]);
}

/* The option's name: up to the first ':'. */
static size_t opt_name_len(const char *o)
{
	return strcspn(o, ":");
}

/* mergeDNSOptions: an option of the same name replaces the earlier one in
 * its place (the kubelet's map gives no order; this keeps the first). */
static void merge_option(struct xn_strv *opts, const char *o)
{
	size_t n = opt_name_len(o);

	for (size_t i = 0; i < opts->n; i++)
		if (opt_name_len(opts->v[i]) == n && strncmp(opts->v[i], o, n) == 0) {
			free(opts->v[i]);
			opts->v[i] = xn_xstrdup(o);
			return;
		}
	xn_strv_add(opts, o);
}

void xn_dns_resolv_parse(const char *text, struct xn_dns_conf *out)
{
	const char *line = text ? text : "";

	memset(out, 0, sizeof(*out));
	while (*line) {
		size_t len = strcspn(line, "\n");
		char *buf = xn_xmalloc(len + 1), *save = NULL, *key;

		memcpy(buf, line, len);
		buf[len] = '\0';
		line += len + (line[len] == '\n');
		buf[strcspn(buf, "#;")] = '\0'; /* comments */
		key = strtok_r(buf, " \t\r", &save);
		if (key != NULL && strcmp(key, "nameserver") == 0) {
			char *a = strtok_r(NULL, " \t\r", &save);
			if (a != NULL)
				xn_strv_add(&out->servers, a);
		} else if (key != NULL &&
			   (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0)) {
			/* the last search (or domain) line wins, as in resolv.conf(5) */
			xn_strv_dispose(&out->search);
			for (char *d; (d = strtok_r(NULL, " \t\r", &save)) != NULL;) {
				size_t dl = strlen(d);
				if (strcmp(d, ".") == 0)
					continue;
				if (dl > 1 && d[dl - 1] == '.')
					d[dl - 1] = '\0';
				xn_strv_add(&out->search, d);
			}
		} else if (key != NULL && strcmp(key, "options") == 0) {
			for (char *o; (o = strtok_r(NULL, " \t\r", &save)) != NULL;)
				merge_option(&out->options, o);
		}
		free(buf);
	}
}

static void event(struct xn_dns_pod *p, const char *reason, char *message)
{
	if (p->nevents == XN_ARRAY_SIZE(p->events)) {
		free(message);
		return;
	}
	p->events[p->nevents].reason = reason;
	p->events[p->nevents++].message = message;
}

/* The clusterDNS list ("a,b") into servers. */
static void add_cluster_dns(struct xn_strv *servers, const char *list)
{
	cleanup_free char *copy = xn_xstrdup(list);
	char *save = NULL;

	for (char *a = strtok_r(copy, ", ", &save); a != NULL; a = strtok_r(NULL, ", ", &save))
		strv_add_once(servers, a);
}

static int str_list(const cJSON *cfg, const char *key, const cJSON **out, xn_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key), *it;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return xn_error(err, EINVAL, "spec.dnsConfig.%s: must be a list", key);
	cJSON_ArrayForEach(it, v)
		if (!cJSON_IsString(it))
			return xn_error(err, EINVAL,
					"spec.dnsConfig.%s: every entry must be a string", key);
	*out = v;
	return 0;
}

/* appendDNSConfig: the pod's dnsConfig on top of what the policy gave. */
static int append_dns_config(struct xn_dns_conf *c, const cJSON *cfg, xn_err *err)
{
	const cJSON *ns, *search, *opts, *it;

	if (!cJSON_IsObject(cfg))
		return xn_error(err, EINVAL, "spec.dnsConfig: must be an object");
	if (str_list(cfg, "nameservers", &ns, err) < 0 ||
	    str_list(cfg, "searches", &search, err) < 0)
		return -1;
	opts = cJSON_GetObjectItemCaseSensitive(cfg, "options");
	if (opts != NULL && !cJSON_IsNull(opts) && !cJSON_IsArray(opts))
		return xn_error(err, EINVAL, "spec.dnsConfig.options: must be a list");
	cJSON_ArrayForEach(it, ns)
		strv_add_once(&c->servers, it->valuestring);
	cJSON_ArrayForEach(it, search)
		strv_add_once(&c->search, it->valuestring);
	cJSON_ArrayForEach(it, opts) {
		const char *name =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));
		const char *val =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "value"));
		cleanup_free char *o = NULL;

		if (name == NULL || name[0] == '\0')
			return xn_error(err, EINVAL,
					"spec.dnsConfig.options: every entry needs a name");
		o = val && val[0] ? xn_xasprintf("%s:%s", name, val) : xn_xstrdup(name);
		merge_option(&c->options, o);
	}
	return 0;
}

/* formDNSConfigFitsLimits, with the kubelet's messages. */
static void fit_limits(struct xn_dns_pod *p)
{
	struct xn_strv *s = &p->conf.search;
	bool exceeded = false;
	size_t total;

	if (s->n > XN_DNS_MAX_SEARCH) {
		strv_truncate(s, XN_DNS_MAX_SEARCH);
		exceeded = true;
	}
	for (size_t i = 0; i < s->n;) /* glibc aborts on a search path over 255 */
		if (strlen(s->v[i]) > 253) {
			strv_remove(s, i);
			exceeded = true;
		} else {
			i++;
		}
	total = 0;
	for (size_t i = 0; i < s->n; i++)
		total += strlen(s->v[i]) + (i > 0);
	while (total > XN_DNS_MAX_SEARCH_CHARS) {
		total -= strlen(s->v[s->n - 1]) + (s->n > 1);
		strv_truncate(s, s->n - 1);
		exceeded = true;
	}
	if (exceeded) {
		cleanup_free char *line = xn_strv_join(s, " ");
		event(p, "DNSConfigForming",
		      xn_xasprintf("Search Line limits were exceeded, some search paths have been "
				   "omitted, the applied search line is: %s",
				   line));
	}
	if (p->conf.servers.n > XN_DNS_MAX_SERVERS) {
		cleanup_free char *line = NULL;

		strv_truncate(&p->conf.servers, XN_DNS_MAX_SERVERS);
		line = xn_strv_join(&p->conf.servers, " ");
		event(p, "DNSConfigForming",
		      xn_xasprintf("Nameserver limits were exceeded, some nameservers have been "
				   "omitted, the applied nameserver line is: %s",
				   line));
	}
}

/* An address in the one spelling the guest key takes (IPv6 as inet_ntop
 * writes it), or -1. */
static int canonical_ip(const char *s, char out[XN_IP_STRLEN])
{
	unsigned char b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		return inet_ntop(AF_INET, b, out, XN_IP_STRLEN) ? 0 : -1;
	if (inet_pton(AF_INET6, s, b) == 1)
		return inet_ntop(AF_INET6, b, out, XN_IP_STRLEN) ? 0 : -1;
	return -1;
}

static bool word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.:+-", *s) == NULL)
			return false;
	return true;
}

/* Drop (with an Event) what the guest's keys cannot carry. */
static void keep_deliverable(struct xn_dns_pod *p)
{
	struct xn_dns_conf *c = &p->conf;
	char ip[XN_IP_STRLEN];

	for (size_t i = 0; i < c->servers.n;)
		if (canonical_ip(c->servers.v[i], ip) < 0) {
			event(p, "DNSConfigForming",
			      xn_xasprintf("nameserver \"%.64s\" is not an IP address: omitted",
					   c->servers.v[i]));
			strv_remove(&c->servers, i);
		} else {
			free(c->servers.v[i]);
			c->servers.v[i++] = xn_xstrdup(ip);
		}
	for (size_t i = 0; i < c->search.n;) {
		char *d = c->search.v[i];
		size_t n = strlen(d);

		if (n > 1 && d[n - 1] == '.') /* the API allows "example.com." */
			d[n - 1] = '\0';
		for (char *q = d; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (xn_dns_subdomain(d)) {
			i++;
			continue;
		}
		event(p, "DNSConfigForming",
		      xn_xasprintf("search domain \"%.64s\" is not a DNS subdomain: omitted", d));
		strv_remove(&c->search, i);
	}
	for (size_t i = 0; i < c->options.n;)
		if (word(c->options.v[i])) {
			i++;
		} else {
			event(p, "DNSConfigForming",
			      xn_xasprintf("DNS option \"%.64s\" is not one word: omitted",
					   c->options.v[i]));
			strv_remove(&c->options, i);
		}
}

/* podDNSHost: the node's resolv.conf, or the local resolver without one. */
static void host_dns(const struct xn_dns_node *node, struct xn_dns_conf *c)
{
	if (node->host != NULL) {
		copy_strv(&c->servers, &node->host->servers);
		copy_strv(&c->search, &node->host->search);
		copy_strv(&c->options, &node->host->options);
		return;
	}
	/* resolvConf "": the kubelet's "nameserver 127.0.0.1, search ." ("."
	 * is no search domain, so it is left out) */
	xn_strv_add(&c->servers, node->ipv6_only ? "::1" : "127.0.0.1");
}

int xn_dns_for_pod(const struct xn_dns_node *node, const char *ns, const char *policy,
		   bool host_network, const cJSON *dns_config, struct xn_dns_pod *out, xn_err *err)
{
	const char *pol = policy && policy[0] ? policy : "ClusterFirst";
	const char *dom = node->cluster_domain;
	bool cluster;

	memset(out, 0, sizeof(*out));
	if (strcmp(pol, "None") == 0) {
		if (dns_config == NULL)
			return xn_error(err, EINVAL,
					"spec.dnsPolicy None needs spec.dnsConfig (it gives all "
					"of the pod's DNS)");
		cluster = false;
	} else if (strcmp(pol, "ClusterFirstWithHostNet") == 0) {
		cluster = true;
	} else if (strcmp(pol, "ClusterFirst") == 0) {
		cluster = !host_network;
	} else if (strcmp(pol, "Default") == 0) {
		cluster = false;
	} else {
		return xn_error(err, EINVAL,
				"spec.dnsPolicy \"%.64s\": must be ClusterFirst, "
				"ClusterFirstWithHostNet, Default or None",
				pol);
	}
	if (cluster && (node->cluster_dns == NULL || node->cluster_dns[0] == '\0')) {
		event(out, "MissingClusterDNS",
		      xn_xasprintf("xenlet does not have ClusterDNS IP configured and "
				   "cannot create Pod using \"ClusterFirst\" policy. Falling back "
				   "to \"Default\" policy."));
		cluster = false;
	}
	if (cluster) {
		add_cluster_dns(&out->conf.servers, node->cluster_dns);
		if (dom != NULL && dom[0]) {
			cleanup_free char *nssvc = xn_xasprintf("%s.svc.%s", ns, dom);
			cleanup_free char *svc = xn_xasprintf("svc.%s", dom);

			xn_strv_add(&out->conf.search, nssvc);
			strv_add_once(&out->conf.search, svc);
			strv_add_once(&out->conf.search, dom);
		}
		if (node->host != NULL)
			for (size_t i = 0; i < node->host->search.n; i++)
				strv_add_once(&out->conf.search, node->host->search.v[i]);
		xn_strv_add(&out->conf.options, "ndots:5");
	} else if (strcmp(pol, "None") != 0) {
		host_dns(node, &out->conf);
	}
	if (dns_config != NULL && append_dns_config(&out->conf, dns_config, err) < 0) {
		xn_dns_pod_dispose(out);
		return -1;
	}
	fit_limits(out);
	keep_deliverable(out);
	return 0;
}
