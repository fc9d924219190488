/* config.c - xenletd settings from defaults, a YAML file (libyaml) and flags. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "xenlet/config.h"
#include "xenlet/image_path.h"
#include "xenlet/net.h"
#include "xenlet/quantity.h"
#include "xenlet/util.h"

#define MAX_CONFIG_BYTES (1 << 20)

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xn_dup_or_null(v);
}

static void add_taint(struct xn_config *c, const char *k, const char *v, const char *e)
{
	c->taints = xn_xrealloc(c->taints, (c->ntaints + 1) * sizeof(*c->taints));
	c->taints[c->ntaints].key = xn_xstrdup(k);
	c->taints[c->ntaints].value = xn_dup_or_null(v);
	c->taints[c->ntaints].effect = xn_xstrdup(e);
	c->ntaints++;
}

static void clear_taints(struct xn_config *c)
{
	for (size_t i = 0; i < c->ntaints; i++) {
		free(c->taints[i].key);
		free(c->taints[i].value);
		free(c->taints[i].effect);
	}
	free(c->taints);
	c->taints = NULL;
	c->ntaints = 0;
}

static void clear_registries(struct xn_config *c)
{
	for (size_t i = 0; i < c->nregistries; i++) {
		free(c->registries[i].host);
		free(c->registries[i].ca_file);
		free(c->registries[i].username);
		free(c->registries[i].password_file);
	}
	free(c->registries);
	c->registries = NULL;
	c->nregistries = 0;
}

static void clear_image_roots(struct xn_config *c)
{
	for (size_t i = 0; i < c->nimage_roots; i++)
		free(c->image_roots[i]);
	free(c->image_roots);
	c->image_roots = NULL;
	c->nimage_roots = 0;
}

/* NULL, or why root cannot be an image root (image_path.h's rules). */
static const char *add_image_root(struct xn_config *c, const char *root)
{
	const char *why = xn_image_root_check(root);
	size_t n = strlen(root);

	if (why != NULL)
		return why;
	c->image_roots = xn_xrealloc(c->image_roots, (c->nimage_roots + 1) * sizeof(char *));
	c->image_roots[c->nimage_roots] = xn_xstrdup(root);
	while (n > 1 && root[n - 1] == '/') /* "/srv/images/" is "/srv/images" */
		c->image_roots[c->nimage_roots][--n] = '\0';
	c->nimage_roots++;
	return NULL;
}

static void add_label(struct xn_config *c, const char *k, const char *v)
{
	c->labels = xn_xrealloc(c->labels, (c->nlabels + 1) * sizeof(*c->labels));
	c->labels[c->nlabels].key = xn_xstrdup(k);
	c->labels[c->nlabels].value = xn_xstrdup(v);
	c->nlabels++;
}

void xn_config_init(struct xn_config *c)
{
	memset(c, 0, sizeof(*c));
	c->backend = xn_xstrdup("libxl");
	c->root_dir = xn_xstrdup("/var/lib/xenlet");
	c->log_dir = xn_xstrdup("/var/log/pods");
	c->ctl_socket = xn_xstrdup("/run/xenlet/xenletd.sock");
	c->bridge = xn_xstrdup("xenlet0");
	c->vif_script = xn_xstrdup("/etc/xen/scripts/vif-xenlet");
	c->resolv_conf = xn_xstrdup("/etc/resolv.conf");		/* the kubelet's */
	c->flannel_subnet_file = xn_xstrdup("/run/flannel/subnet.env"); /* flanneld's */
	c->kubelet_port = 10250;
	c->address = xn_xstrdup("0.0.0.0");
	c->max_pods = 110;
	c->reserved_memory = 0;
	c->reserved_cpu_milli = 0;
	c->default_pod_memory = 64LL << 20;
	c->memory_pressure_free = 100LL << 20;
	c->container_log_max_size = 10LL << 20; /* the kubelet's defaults */
	c->container_log_max_files = 5;
	c->node_status_update_s = 60;
	c->lease_duration_s = 40;
	add_taint(c, "xenlet.io/unikernel", "true", "NoSchedule");
	add_image_root(c, XN_IMAGE_ROOT_DEFAULT);
}

void xn_config_dispose(struct xn_config *c)
{
	free(c->config_file);
	free(c->kubeconfig);
	free(c->node_name);
	free(c->node_ip);
	free(c->backend);
	free(c->store);
	free(c->root_dir);
	free(c->log_dir);
	free(c->ctl_socket);
	free(c->bridge);
	free(c->pod_cidr);
	free(c->vif_script);
	free(c->cluster_dns);
	free(c->cluster_domain);
	free(c->resolv_conf);
	free(c->flannel_subnet_file);
	free(c->address);
	free(c->tls_cert_file);
	free(c->tls_key_file);
	free(c->client_ca_file);
	clear_taints(c);
	clear_image_roots(c);
	clear_registries(c);
	for (size_t i = 0; i < c->nlabels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	memset(c, 0, sizeof(*c));
}

/* Go-style durations as the kubelet config uses them: "10s", "1m", "2h",
 * "1m30s"; a bare number is seconds. */
static int parse_duration_s(const char *s, unsigned *out)
{
	uint64_t total = 0;
	const char *p = s;

	if (*p == '\0')
		return -1;
	while (*p) {
		uint64_t n = 0;
		int digits = 0;

		for (; isdigit((unsigned char)*p); p++, digits++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > 1000000)
				return -1;
		}
		if (digits == 0)
			return -1;
		switch (*p) {
		case 'h':
			n *= 3600;
			p++;
			break;
		case 'm':
			n *= 60;
			p++;
			break;
		case 's': p++; break;
		case '\0':
			if (p != s + digits)
				return -1; /* "1m30" */
			break;
		default: return -1;
		}
		total += n;
	}
	if (total == 0 || total > 86400)
		return -1;
	*out = (unsigned)total;
	return 0;
}

struct yctx {
	const char *path;
	yaml_document_t *doc;
	xn_err *err;
};

__attribute__((format(printf, 3, 4))) static int yerr(struct yctx *y, yaml_node_t *n,
						      const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return xn_error(y->err, EINVAL, "config %s: line %zu: %s", y->path,
			(size_t)n->start_mark.line + 1, what);
}

static const char *scalar(yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML's null (plain null, ~ or nothing), as xn_config_print writes an unset
 * string; a quoted "null" is the text. */
static bool is_null(yaml_node_t *n)
{
	const char *s = scalar(n);

	return s != NULL && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || strcmp(s, "") == 0);
}

static int want_scalar(struct yctx *y, yaml_node_t *v, const char *key, const char **out)
{
	*out = scalar(v);
	if (*out == NULL)
		return yerr(y, v, "%s: must be a single value", key);
	return 0;
}

static int want_bool(struct yctx *y, yaml_node_t *v, const char *key, bool *out)
{
	const char *s;

	if (want_scalar(y, v, key, &s) < 0)
		return -1;
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return yerr(y, v, "%s: must be true or false", key);
	return 0;
}

static int want_uint(struct yctx *y, yaml_node_t *v, const char *key, uint64_t min, uint64_t max,
		     unsigned *out)
{
	const char *s;
	uint64_t n;

	if (want_scalar(y, v, key, &s) < 0)
		return -1;
	if (xn_parse_u64(s, max, &n) < 0 || n < min) {
		char range[48];
		snprintf(range, sizeof(range), "%" PRIu64 "..%" PRIu64, min, max);
		return yerr(y, v, "%s: must be a number in %s", key, range);
	}
	*out = (unsigned)n;
	return 0;
}

static int want_quantity(struct yctx *y, yaml_node_t *v, const char *key, int scale, int64_t *out)
{
	const char *s;
	xn_err qerr = NULL;

	if (want_scalar(y, v, key, &s) < 0)
		return -1;
	if (xn_quantity_parse(s, scale, out, &qerr) < 0) {
		yerr(y, v, "%s: %s", key, xn_error_msg(qerr));
		xn_error_free(&qerr);
		return -1;
	}
	return 0;
}

static int load_reserved(struct yctx *y, struct xn_config *c, yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE)
		return yerr(y, m, "systemReserved: must be a mapping (memory:, cpu:)");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *key = scalar(k);

		if (key && strcmp(key, "memory") == 0) {
			if (want_quantity(y, v, "systemReserved.memory", 0, &c->reserved_memory) <
			    0)
				return -1;
		} else if (key && strcmp(key, "cpu") == 0) {
			if (want_quantity(y, v, "systemReserved.cpu", 3, &c->reserved_cpu_milli) <
			    0)
				return -1;
		} else {
			return yerr(y, k, "systemReserved: unknown key '%s' (memory, cpu)",
				    key ? key : "?");
		}
	}
	return 0;
}

static int check_effect(const char *e)
{
	return strcmp(e, "NoSchedule") == 0 || strcmp(e, "PreferNoSchedule") == 0 ||
	       strcmp(e, "NoExecute") == 0;
}

static int load_taints(struct yctx *y, struct xn_config *c, yaml_node_t *s)
{
	if (s->type != YAML_SEQUENCE_NODE)
		return yerr(y, s, "registerWithTaints: must be a list of {key, value, effect}");
	clear_taints(c);
	for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *m = yaml_document_get_node(y->doc, *it);
		const char *key = NULL, *value = NULL, *effect = NULL;

		if (m->type != YAML_MAPPING_NODE)
			return yerr(y, m, "registerWithTaints: each entry is {key, value, effect}");
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
			const char *kn = scalar(k), *vs = scalar(v);

			if (kn == NULL || vs == NULL)
				return yerr(y, k,
					    "registerWithTaints: keys and values are scalars");
			if (strcmp(kn, "key") == 0)
				key = vs;
			else if (strcmp(kn, "value") == 0)
				value = vs;
			else if (strcmp(kn, "effect") == 0)
				effect = vs;
			else
				return yerr(y, k, "registerWithTaints: unknown key '%s'", kn);
		}
		if (key == NULL || *key == '\0' || effect == NULL)
			return yerr(y, m, "registerWithTaints: key and effect are required");
		if (!check_effect(effect))
			return yerr(y, m,
				    "registerWithTaints: effect '%s': must be NoSchedule, "
				    "PreferNoSchedule or NoExecute",
				    effect);
		add_taint(c, key, value, effect);
	}
	return 0;
}

static int load_image_roots(struct yctx *y, struct xn_config *c, yaml_node_t *s)
{
	if (s->type != YAML_SEQUENCE_NODE)
		return yerr(y, s, "imageRoots: must be a list of directories");
	clear_image_roots(c);
	for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, *it);
		const char *root = scalar(v), *why;

		if (root == NULL)
			return yerr(y, v, "imageRoots: each entry is a directory path");
		why = add_image_root(c, root);
		if (why != NULL)
			return yerr(y, v, "imageRoots: '%s': %s", root, why);
	}
	return 0;
}

/* clusterDNS: a list of addresses, kept as "a,b" (the flag's form). */
static int load_cluster_dns(struct yctx *y, struct xn_config *c, yaml_node_t *s)
{
	char *list = NULL;

	if (is_null(s)) {
		set_str(&c->cluster_dns, NULL);
		return 0;
	}
	if (s->type != YAML_SEQUENCE_NODE)
		return yerr(y, s, "clusterDNS: must be a list of IP addresses");
	for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, *it);
		const char *a = scalar(v);
		char *n;

		if (a == NULL || a[0] == '\0' || strchr(a, ',') != NULL) {
			free(list);
			return yerr(y, v, "clusterDNS: each entry is one IP address");
		}
		n = list ? xn_xasprintf("%s,%s", list, a) : xn_xstrdup(a);
		free(list);
		list = n;
	}
	free(c->cluster_dns);
	c->cluster_dns = list;
	return 0;
}

static int load_labels(struct yctx *y, struct xn_config *c, yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE)
		return yerr(y, m, "nodeLabels: must be a mapping of label: value");
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(y->doc, p->key));
		const char *v = scalar(yaml_document_get_node(y->doc, p->value));

		if (k == NULL || v == NULL)
			return yerr(y, m, "nodeLabels: keys and values are scalars");
		add_label(c, k, v);
	}
	return 0;
}

/* registries: {"host[:port]": {plainHTTP, insecureSkipVerify, ca, username,
 * passwordFile}}, as containerd's hosts.toml per registry. */
static int load_registry(struct yctx *y, struct xn_registry_conf *r, yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE)
		return yerr(y, m, "registries.%s: must be a mapping", r->host);
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *key = scalar(k), *s;
		char **slot = NULL;

		if (key && strcmp(key, "plainHTTP") == 0) {
			if (want_bool(y, v, "registries: plainHTTP", &r->plain_http) < 0)
				return -1;
			continue;
		}
		if (key && strcmp(key, "insecureSkipVerify") == 0) {
			if (want_bool(y, v, "registries: insecureSkipVerify", &r->skip_verify) < 0)
				return -1;
			continue;
		}
		if (key && strcmp(key, "ca") == 0)
			slot = &r->ca_file;
		else if (key && strcmp(key, "username") == 0)
			slot = &r->username;
		else if (key && strcmp(key, "passwordFile") == 0)
			slot = &r->password_file;
		if (slot == NULL)
			return yerr(
			    y, k,
			    "registries.%s: unknown key '%s' (plainHTTP, insecureSkipVerify, "
			    "ca, username, passwordFile)",
			    r->host, key ? key : "?");
		if (want_scalar(y, v, key, &s) < 0)
			return -1;
		if (strcmp(key, "username") != 0 && s[0] != '/')
			return yerr(y, v, "registries.%s.%s: an absolute path", r->host, key);
		free(*slot);
		*slot = xn_xstrdup(s);
	}
	return 0;
}

static int load_registries(struct yctx *y, struct xn_config *c, yaml_node_t *m)
{
	if (m->type != YAML_MAPPING_NODE)
		return yerr(y, m, "registries: must be a mapping of host: settings");
	clear_registries(c);
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const char *host = scalar(yaml_document_get_node(y->doc, p->key));
		struct xn_registry_conf *r;

		if (host == NULL || host[0] == '\0' || strlen(host) > 255 ||
		    strpbrk(host, "/ \t@\"") != NULL)
			return yerr(y, m,
				    "registries: keys are registry hosts (host or host:port)");
		c->registries =
		    xn_xrealloc(c->registries, (c->nregistries + 1) * sizeof(*c->registries));
		r = &c->registries[c->nregistries++];
		memset(r, 0, sizeof(*r));
		r->host = xn_xstrdup(host);
		if (load_registry(y, r, yaml_document_get_node(y->doc, p->value)) < 0)
			return -1;
	}
	return 0;
}

/* String-valued keys: name in the file -> field. */
/* *optional: null unsets it; else it has a default and must stay set. */
static char **str_field(struct xn_config *c, const char *key, bool *optional)
{
	static const struct {
		const char *name;
		size_t off;
		bool optional;
	} map[] = {
	    {"kubeconfig", offsetof(struct xn_config, kubeconfig), true},
	    {"nodeName", offsetof(struct xn_config, node_name), true},
	    {"nodeIP", offsetof(struct xn_config, node_ip), true},
	    {"backend", offsetof(struct xn_config, backend), false},
	    {"store", offsetof(struct xn_config, store), true},
	    {"rootDir", offsetof(struct xn_config, root_dir), false},
	    {"podLogDir", offsetof(struct xn_config, log_dir), false},
	    {"ctlSocket", offsetof(struct xn_config, ctl_socket), false},
	    {"bridge", offsetof(struct xn_config, bridge), false},
	    {"podCIDR", offsetof(struct xn_config, pod_cidr), true},
	    {"vifScript", offsetof(struct xn_config, vif_script), false},
	    {"clusterDomain", offsetof(struct xn_config, cluster_domain), true},
	    {"resolvConf", offsetof(struct xn_config, resolv_conf), false},
	    {"flannelSubnetFile", offsetof(struct xn_config, flannel_subnet_file), false},
	    {"address", offsetof(struct xn_config, address), false},
	    {"tlsCertFile", offsetof(struct xn_config, tls_cert_file), true},
	    {"tlsPrivateKeyFile", offsetof(struct xn_config, tls_key_file), true},
	    {"clientCAFile", offsetof(struct xn_config, client_ca_file), true},
	};

	for (size_t i = 0; i < XN_ARRAY_SIZE(map); i++)
		if (strcmp(map[i].name, key) == 0) {
			*optional = map[i].optional;
			return (char **)((char *)c + map[i].off);
		}
	return NULL;
}

static int load_key(struct yctx *y, struct xn_config *c, const char *key, yaml_node_t *k,
		    yaml_node_t *v)
{
	bool optional = false;
	char **sp = str_field(c, key, &optional);
	const char *s;

	if (sp != NULL) {
		if (want_scalar(y, v, key, &s) < 0)
			return -1;
		if (is_null(v) && !optional)
			return yerr(y, v, "%s: needs a value (null only unsets optional settings)",
				    key);
		set_str(sp, is_null(v) ? NULL : s);
		return 0;
	}
	if (strcmp(key, "serverTLSBootstrap") == 0)
		return want_bool(y, v, key, &c->server_tls_bootstrap);
	if (strcmp(key, "port") == 0)
		return want_uint(y, v, key, 1, 65535, &c->kubelet_port);
	if (strcmp(key, "maxPods") == 0)
		return want_uint(y, v, key, 1, 10000, &c->max_pods);
	if (strcmp(key, "verbosity") == 0) {
		unsigned n;
		if (want_uint(y, v, key, 0, 10, &n) < 0)
			return -1;
		c->verbose = (int)n;
		return 0;
	}
	if (strcmp(key, "leaseDurationSeconds") == 0)
		return want_uint(y, v, key, 10, 3600, &c->lease_duration_s);
	if (strcmp(key, "nodeStatusUpdateFrequency") == 0) {
		if (want_scalar(y, v, key, &s) < 0)
			return -1;
		if (parse_duration_s(s, &c->node_status_update_s) < 0)
			return yerr(y, v, "%s: '%s' is not a duration like 10s, 1m (max 24h)", key,
				    s);
		return 0;
	}
	if (strcmp(key, "defaultPodMemory") == 0)
		return want_quantity(y, v, key, 0, &c->default_pod_memory);
	if (strcmp(key, "memoryPressureThreshold") == 0)
		return want_quantity(y, v, key, 0, &c->memory_pressure_free);
	if (strcmp(key, "containerLogMaxSize") == 0) {
		if (want_quantity(y, v, key, 0, &c->container_log_max_size) < 0)
			return -1;
		if (c->container_log_max_size < (16LL << 10))
			return yerr(y, v, "%s: at least 16Ki (a CRI line can be 16 KiB)", key);
		return 0;
	}
	if (strcmp(key, "containerLogMaxFiles") == 0)
		return want_uint(y, v, key, 2, 100, &c->container_log_max_files);
	if (strcmp(key, "systemReserved") == 0)
		return load_reserved(y, c, v);
	if (strcmp(key, "registerWithTaints") == 0)
		return load_taints(y, c, v);
	if (strcmp(key, "nodeLabels") == 0)
		return load_labels(y, c, v);
	if (strcmp(key, "imageRoots") == 0)
		return load_image_roots(y, c, v);
	if (strcmp(key, "registries") == 0)
		return load_registries(y, c, v);
	if (strcmp(key, "clusterDNS") == 0)
		return load_cluster_dns(y, c, v);
	/* kubelet config files carry these two; accept them for familiarity */
	if (strcmp(key, "kind") == 0 || strcmp(key, "apiVersion") == 0)
		return 0;
	return yerr(y, k, "unknown key '%s'", key);
}

int xn_config_load_file(struct xn_config *c, const char *path, xn_err *err)
{
	FILE *f = NULL;
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_parser = false, have_doc = false;
	struct yctx y = {.path = path, .doc = &doc, .err = err};
	yaml_node_t *root;
	long size;
	int rc = -1;

	f = fopen(path, "r");
	if (f == NULL) {
		xn_error_errno(err, errno, "config %s", path);
		goto out;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > MAX_CONFIG_BYTES) {
		xn_error(err, EFBIG, "config %s: %ld bytes, larger than %d", path, size,
			 MAX_CONFIG_BYTES);
		goto out;
	}
	rewind(f);
	if (!yaml_parser_initialize(&parser)) {
		xn_error(err, ENOMEM, "config %s: cannot initialise the YAML parser", path);
		goto out;
	}
	have_parser = true;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		xn_error(err, EINVAL, "config %s: line %zu: %s", path,
			 (size_t)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "invalid YAML");
		goto out;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL) { /* empty file: nothing to override */
		rc = 0;
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		yerr(&y, root, "the top level must be a mapping of key: value");
		goto out;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);
		const char *key = scalar(k);

		if (key == NULL) {
			yerr(&y, k, "keys must be plain names");
			goto out;
		}
		if (load_key(&y, c, key, k, v) < 0)
			goto out;
	}
	rc = 0;
out:
	if (have_doc)
		yaml_document_delete(&doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (f != NULL)
		fclose(f);
	return rc;
}

enum {
	OPT_CONFIG = 256,
	OPT_KUBECONFIG,
	OPT_NODE_NAME,
	OPT_NODE_IP,
	OPT_BACKEND,
	OPT_STORE,
	OPT_ROOT_DIR,
	OPT_LOG_DIR,
	OPT_CTL_SOCKET,
	OPT_PORT,
	OPT_BRIDGE,
	OPT_TAINTS,
	OPT_ADDRESS,
	OPT_LOG_MAX_SIZE,
	OPT_LOG_MAX_FILES,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_CLIENT_CA,
	OPT_SERVER_TLS_BOOTSTRAP,
	OPT_IMAGE_ROOT,
	OPT_POD_CIDR,
	OPT_VIF_SCRIPT,
	OPT_CLUSTER_DNS,
	OPT_CLUSTER_DOMAIN,
	OPT_RESOLV_CONF,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"node-name", required_argument, NULL, OPT_NODE_NAME},
    {"node-ip", required_argument, NULL, OPT_NODE_IP},
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"store", required_argument, NULL, OPT_STORE},
    {"root-dir", required_argument, NULL, OPT_ROOT_DIR},
    {"pod-log-dir", required_argument, NULL, OPT_LOG_DIR},
    {"ctl-socket", required_argument, NULL, OPT_CTL_SOCKET},
    {"port", required_argument, NULL, OPT_PORT},
    {"bridge", required_argument, NULL, OPT_BRIDGE},
    {"pod-cidr", required_argument, NULL, OPT_POD_CIDR},
    {"vif-script", required_argument, NULL, OPT_VIF_SCRIPT},
    {"cluster-dns", required_argument, NULL, OPT_CLUSTER_DNS},
    {"cluster-domain", required_argument, NULL, OPT_CLUSTER_DOMAIN},
    {"resolv-conf", required_argument, NULL, OPT_RESOLV_CONF},
    {"register-with-taints", required_argument, NULL, OPT_TAINTS},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"container-log-max-size", required_argument, NULL, OPT_LOG_MAX_SIZE},
    {"container-log-max-files", required_argument, NULL, OPT_LOG_MAX_FILES},
    {"tls-cert-file", required_argument, NULL, OPT_TLS_CERT},
    {"tls-private-key-file", required_argument, NULL, OPT_TLS_KEY},
    {"client-ca-file", required_argument, NULL, OPT_CLIENT_CA},
    {"server-tls-bootstrap", no_argument, NULL, OPT_SERVER_TLS_BOOTSTRAP},
    {"image-root", required_argument, NULL, OPT_IMAGE_ROOT},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

void xn_config_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: xenletd [-dnv] [--config FILE] [--kubeconfig FILE] [--node-name NAME]\n"
	    "               [--node-ip ADDR] [--backend libxl|sim] [--store xs|mem]\n"
	    "               [--root-dir DIR] [--pod-log-dir DIR] [--ctl-socket PATH]\n"
	    "               [--port N] [--bridge NAME] [--register-with-taints K=V:EFFECT,...]\n"
	    "               [--pod-cidr CIDR[,CIDR]] [--vif-script PATH]\n"
	    "               [--cluster-dns IP[,IP]] [--cluster-domain DOMAIN]\n"
	    "               [--resolv-conf FILE]\n"
	    "               [--address ADDR] [--tls-cert-file F --tls-private-key-file F]\n"
	    "               [--client-ca-file F] [--server-tls-bootstrap]\n"
	    "               [--container-log-max-size Q] [--container-log-max-files N]\n"
	    "               [--image-root DIR]...\n"
	    "  -d  stay in the foreground (log to stderr)\n"
	    "  -n  check the configuration, print the effective settings, exit\n"
	    "  -v  more verbose (repeat for more)\n"
	    "Flags override the file named by --config (see xenletd.conf(5)).\n");
}

/* "k=v:Effect,k2:Effect" as the kubelet's --register-with-taints. */
static int parse_taint_flag(struct xn_config *c, const char *arg, xn_err *err)
{
	cleanup_free char *copy = xn_xstrdup(arg);
	char *save = NULL;

	clear_taints(c);
	if (*arg == '\0')
		return 0; /* an empty list: no taints */
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *effect = strrchr(t, ':');
		char *eq;

		if (effect == NULL)
			return xn_error(err, EINVAL,
					"--register-with-taints: '%s': missing :EFFECT", t);
		*effect++ = '\0';
		if (!check_effect(effect))
			return xn_error(err, EINVAL,
					"--register-with-taints: effect '%s': must be NoSchedule, "
					"PreferNoSchedule or NoExecute",
					effect);
		eq = strchr(t, '=');
		if (eq)
			*eq++ = '\0';
		if (*t == '\0')
			return xn_error(err, EINVAL, "--register-with-taints: empty key");
		add_taint(c, t, eq, effect);
	}
	return 0;
}

int xn_config_from_args(struct xn_config *c, int argc, char **argv, xn_err *err)
{
	int ch;
	uint64_t n;
	bool image_root_flag = false;

	/* First pass: --config, so that the file applies before other flags.
	 * optind 0 makes glibc start over completely (also after an earlier
	 * parse that stopped inside a group like -dx). */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":dnvh", long_opts, NULL)) != -1)
		if (ch == OPT_CONFIG)
			set_str(&c->config_file, optarg);
	if (c->config_file && xn_config_load_file(c, c->config_file, err) < 0)
		return -1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":dnvh", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'd': c->foreground = true; break;
		case 'n': c->check_only = true; break;
		case 'v': c->verbose++; break;
		case OPT_CONFIG: break;
		case OPT_KUBECONFIG: set_str(&c->kubeconfig, optarg); break;
		case OPT_NODE_NAME: set_str(&c->node_name, optarg); break;
		case OPT_NODE_IP: set_str(&c->node_ip, optarg); break;
		case OPT_BACKEND: set_str(&c->backend, optarg); break;
		case OPT_STORE: set_str(&c->store, optarg); break;
		case OPT_ROOT_DIR: set_str(&c->root_dir, optarg); break;
		case OPT_LOG_DIR: set_str(&c->log_dir, optarg); break;
		case OPT_CTL_SOCKET: set_str(&c->ctl_socket, optarg); break;
		case OPT_BRIDGE: set_str(&c->bridge, optarg); break;
		case OPT_POD_CIDR: set_str(&c->pod_cidr, optarg); break;
		case OPT_VIF_SCRIPT: set_str(&c->vif_script, optarg); break;
		case OPT_CLUSTER_DNS: set_str(&c->cluster_dns, optarg[0] ? optarg : NULL); break;
		case OPT_CLUSTER_DOMAIN:
			set_str(&c->cluster_domain, optarg[0] ? optarg : NULL);
			break;
		case OPT_RESOLV_CONF: set_str(&c->resolv_conf, optarg); break;
		case OPT_ADDRESS: set_str(&c->address, optarg); break;
		case OPT_LOG_MAX_SIZE: {
			xn_err qerr = NULL;
			int64_t v;

			if (xn_quantity_parse(optarg, 0, &v, &qerr) < 0 || v < (16LL << 10)) {
				xn_error(err, EINVAL, "--container-log-max-size '%s': %s", optarg,
					 qerr ? xn_error_msg(qerr) : "at least 16Ki");
				xn_error_free(&qerr);
				return -1;
			}
			c->container_log_max_size = v;
			break;
		}
		case OPT_LOG_MAX_FILES:
			if (xn_parse_u64(optarg, 100, &n) < 0 || n < 2)
				return xn_error(
				    err, EINVAL,
				    "--container-log-max-files '%s': must be a number 2..100",
				    optarg);
			c->container_log_max_files = (unsigned)n;
			break;
		case OPT_TLS_CERT: set_str(&c->tls_cert_file, optarg); break;
		case OPT_TLS_KEY: set_str(&c->tls_key_file, optarg); break;
		case OPT_CLIENT_CA: set_str(&c->client_ca_file, optarg); break;
		case OPT_SERVER_TLS_BOOTSTRAP: c->server_tls_bootstrap = true; break;
		case OPT_IMAGE_ROOT: {
			const char *why;

			if (!image_root_flag) /* the flags' list replaces the file's */
				clear_image_roots(c);
			image_root_flag = true;
			why = add_image_root(c, optarg);
			if (why != NULL)
				return xn_error(err, EINVAL, "--image-root '%s': %s", optarg, why);
			break;
		}
		case OPT_PORT:
			if (xn_parse_u64(optarg, 65535, &n) < 0 || n == 0)
				return xn_error(err, EINVAL,
						"--port '%s': must be a port number 1..65535",
						optarg);
			c->kubelet_port = (unsigned)n;
			break;
		case OPT_TAINTS:
			if (parse_taint_flag(c, optarg, err) < 0)
				return -1;
			break;
		case 'h':
		case OPT_HELP: return xn_error(err, 0, "help");
		case OPT_VERSION: return xn_error(err, 0, "version");
		case ':':
			return xn_error(err, EINVAL, "option %s: needs a value", argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256) /* a short one, maybe inside -dx */
				return xn_error(err, EINVAL,
						"unknown option '-%c' (see xenletd --help)",
						optopt);
			return xn_error(err, EINVAL, "unknown option '%s' (see xenletd --help)",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return xn_error(err, EINVAL, "unexpected argument '%s' (see xenletd --help)",
				argv[optind]);
	return 0;
}

/* clusterDNS: one to three addresses (the kubelet's limit for a pod);
 * clusterDomain a DNS subdomain; the files absolute paths (or ""). */
static int check_dns(const struct xn_config *c, xn_err *err)
{
	if (c->cluster_dns != NULL) {
		cleanup_free char *copy = xn_xstrdup(c->cluster_dns);
		char *save = NULL;
		unsigned char b[16];
		int n = 0;

		for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			if (inet_pton(AF_INET, a, b) != 1 && inet_pton(AF_INET6, a, b) != 1)
				return xn_error(err, EINVAL,
						"clusterDNS '%s': '%s' is not an IP address",
						c->cluster_dns, a);
			n++;
		}
		if (n == 0 || n > 3)
			return xn_error(err, EINVAL,
					"clusterDNS '%s': one to three addresses (a pod has at "
					"most three name servers)",
					c->cluster_dns);
	}
	if (c->cluster_domain != NULL && !xn_dns_subdomain(c->cluster_domain))
		return xn_error(err, EINVAL,
				"clusterDomain '%s': must be a DNS subdomain like cluster.local",
				c->cluster_domain);
	if (c->resolv_conf[0] != '\0' && c->resolv_conf[0] != '/')
		return xn_error(err, EINVAL,
				"resolvConf '%s': must be an absolute path (or \"\" for none)",
				c->resolv_conf);
	if (c->flannel_subnet_file[0] != '\0' && c->flannel_subnet_file[0] != '/')
		return xn_error(
		    err, EINVAL,
		    "flannelSubnetFile '%s': must be an absolute path (or \"\" for none)",
		    c->flannel_subnet_file);
	return 0;
}

/* The pod network's settings: a bridge name the kernel takes, pod ranges
 * that parse, an absolute hook path. */
static int check_network(const struct xn_config *c, xn_err *err)
{
	struct xn_net_ranges r;

	if (c->bridge[0] == '\0' || strlen(c->bridge) >= 16 ||
	    strcspn(c->bridge, "/: \t\n") != strlen(c->bridge) || strcmp(c->bridge, ".") == 0 ||
	    strcmp(c->bridge, "..") == 0)
		return xn_error(err, EINVAL,
				"bridge '%s': not a network interface name (1..15 bytes, no '/', "
				"':' or blanks)",
				c->bridge);
	if (c->pod_cidr != NULL && xn_net_ranges_parse(c->pod_cidr, &r, err) < 0)
		return xn_error_wrap(err, "podCIDR");
	if (c->vif_script[0] != '/')
		return xn_error(err, EINVAL, "vif script '%s': must be an absolute path",
				c->vif_script);
	return check_dns(c, err);
}

int xn_config_check(struct xn_config *c, xn_err *err)
{
	if (strcmp(c->backend, "libxl") != 0 && strcmp(c->backend, "sim") != 0)
		return xn_error(err, EINVAL, "backend '%s': must be libxl or sim", c->backend);
	if (c->store == NULL)
		c->store = xn_xstrdup(strcmp(c->backend, "libxl") == 0 ? "xs" : "mem");
	if (strcmp(c->store, "xs") != 0 && strcmp(c->store, "mem") != 0)
		return xn_error(err, EINVAL, "store '%s': must be xs or mem", c->store);
	if ((c->tls_cert_file == NULL) != (c->tls_key_file == NULL))
		return xn_error(err, EINVAL, "%s is set but %s is not: give both or neither",
				c->tls_cert_file ? "tlsCertFile" : "tlsPrivateKeyFile",
				c->tls_cert_file ? "tlsPrivateKeyFile" : "tlsCertFile");
	if (c->server_tls_bootstrap && c->tls_cert_file)
		return xn_error(err, EINVAL,
				"serverTLSBootstrap and tlsCertFile exclude each other: the "
				"serving certificate comes from a CSR or from the files");
	if (c->node_name == NULL) {
		char host[256] = "";

		if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
			return xn_error(err, EINVAL,
					"node name: not given and no host name is set");
		for (char *p = host; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		c->node_name = xn_xstrdup(host);
	}
	if (!xn_dns_subdomain(c->node_name))
		return xn_error(
		    err, EINVAL,
		    "node name '%s': must be a DNS subdomain (lowercase letters, digits, "
		    "'-' and '.', at most 253)",
		    c->node_name);
	if (c->root_dir[0] != '/')
		return xn_error(err, EINVAL, "root dir '%s': must be an absolute path",
				c->root_dir);
	if (c->log_dir[0] != '/')
		return xn_error(err, EINVAL, "pod log dir '%s': must be an absolute path",
				c->log_dir);
	if (c->ctl_socket[0] != '/' || strlen(c->ctl_socket) >= 108)
		return xn_error(err, EINVAL,
				"ctl socket '%s': must be an absolute path shorter than 108 bytes",
				c->ctl_socket);
	if (c->default_pod_memory < (4LL << 20))
		return xn_error(err, EINVAL, "defaultPodMemory: at least 4Mi");
	if (check_network(c, err) < 0)
		return -1;
	if (c->kubeconfig != NULL && access(c->kubeconfig, R_OK) < 0)
		return xn_error_errno(err, errno, "kubeconfig %s", c->kubeconfig);
	return 0;
}

/* A double-quoted YAML scalar: any text loads back as itself. */
static void yaml_quote(FILE *out, const char *v)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void yaml_str(FILE *out, const char *key, const char *v)
{
	fprintf(out, "%s: ", key);
	if (v == NULL)
		fputs("null", out);
	else
		yaml_quote(out, v);
	fputc('\n', out);
}

void xn_config_print(const struct xn_config *c, FILE *out)
{
	char mem[32], cpu[32], dmem[32], pmem[32], lmax[32];

	xn_quantity_format_bytes(c->reserved_memory, mem, sizeof(mem));
	xn_quantity_format_milli(c->reserved_cpu_milli, cpu, sizeof(cpu));
	xn_quantity_format_bytes(c->default_pod_memory, dmem, sizeof(dmem));
	xn_quantity_format_bytes(c->memory_pressure_free, pmem, sizeof(pmem));
	fprintf(out, "# effective xenletd settings%s%s\n", c->config_file ? " from " : "",
		c->config_file ? c->config_file : "");
	yaml_str(out, "kubeconfig", c->kubeconfig);
	yaml_str(out, "nodeName", c->node_name);
	yaml_str(out, "nodeIP", c->node_ip);
	yaml_str(out, "backend", c->backend);
	yaml_str(out, "store", c->store);
	yaml_str(out, "rootDir", c->root_dir);
	yaml_str(out, "podLogDir", c->log_dir);
	yaml_str(out, "ctlSocket", c->ctl_socket);
	yaml_str(out, "bridge", c->bridge);
	fprintf(out, "imageRoots:%s\n", c->nimage_roots ? "" : " []");
	for (size_t i = 0; i < c->nimage_roots; i++) {
		fputs("  - ", out);
		yaml_quote(out, c->image_roots[i]);
		fputc('\n', out);
	}
	yaml_str(out, "podCIDR", c->pod_cidr);
	yaml_str(out, "vifScript", c->vif_script);
	fputs("clusterDNS:", out);
	if (c->cluster_dns == NULL) {
		fputs(" []\n", out);
	} else {
		cleanup_free char *copy = xn_xstrdup(c->cluster_dns);
		char *save = NULL;

		fputc('\n', out);
		for (char *a = strtok_r(copy, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
			fputs("  - ", out);
			yaml_quote(out, a);
			fputc('\n', out);
		}
	}
	yaml_str(out, "clusterDomain", c->cluster_domain);
	yaml_str(out, "resolvConf", c->resolv_conf);
	yaml_str(out, "flannelSubnetFile", c->flannel_subnet_file);
	fprintf(out, "port: %u\nmaxPods: %u\n", c->kubelet_port, c->max_pods);
	yaml_str(out, "address", c->address);
	if (c->tls_cert_file)
		yaml_str(out, "tlsCertFile", c->tls_cert_file);
	if (c->tls_key_file)
		yaml_str(out, "tlsPrivateKeyFile", c->tls_key_file);
	if (c->client_ca_file)
		yaml_str(out, "clientCAFile", c->client_ca_file);
	fprintf(out, "serverTLSBootstrap: %s\n", c->server_tls_bootstrap ? "true" : "false");
	fprintf(out, "systemReserved:\n  memory: \"%s\"\n  cpu: \"%s\"\n", mem, cpu);
	fprintf(out, "defaultPodMemory: \"%s\"\nmemoryPressureThreshold: \"%s\"\n", dmem, pmem);
	xn_quantity_format_bytes(c->container_log_max_size, lmax, sizeof(lmax));
	fprintf(out, "containerLogMaxSize: \"%s\"\ncontainerLogMaxFiles: %u\n", lmax,
		c->container_log_max_files);
	fprintf(out, "nodeStatusUpdateFrequency: \"%us\"\nleaseDurationSeconds: %u\n",
		c->node_status_update_s, c->lease_duration_s);
	fprintf(out, "registerWithTaints:%s\n", c->ntaints ? "" : " []");
	for (size_t i = 0; i < c->ntaints; i++) {
		fputs("  - key: ", out);
		yaml_quote(out, c->taints[i].key);
		if (c->taints[i].value) { /* absent, not "", when the taint has none */
			fputs("\n    value: ", out);
			yaml_quote(out, c->taints[i].value);
		}
		fputs("\n    effect: ", out);
		yaml_quote(out, c->taints[i].effect);
		fputc('\n', out);
	}
	fprintf(out, "nodeLabels:%s\n", c->nlabels ? "" : " {}");
	for (size_t i = 0; i < c->nlabels; i++) {
		fputs("  ", out);
		yaml_quote(out, c->labels[i].key);
		fputs(": ", out);
		yaml_quote(out, c->labels[i].value);
		fputc('\n', out);
	}
	for (size_t i = 0; i < c->nregistries; i++) {
		const struct xn_registry_conf *r = &c->registries[i];

		if (i == 0)
			fputs("registries:\n", out);
		fputs("  ", out);
		yaml_quote(out, r->host);
		fprintf(out, ":\n    plainHTTP: %s\n    insecureSkipVerify: %s\n",
			r->plain_http ? "true" : "false", r->skip_verify ? "true" : "false");
		if (r->ca_file) {
			fputs("    ca: ", out);
			yaml_quote(out, r->ca_file);
			fputc('\n', out);
		}
		if (r->username) {
			fputs("    username: ", out);
			yaml_quote(out, r->username);
			fputc('\n', out);
		}
		if (r->password_file) {
			fputs("    passwordFile: ", out);
			yaml_quote(out, r->password_file);
			fputc('\n', out);
		}
	}
	fprintf(out, "verbosity: %d\n", c->verbose);
}
