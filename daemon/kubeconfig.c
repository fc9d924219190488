/* kubeconfig.c - resolve one kubeconfig context (see include/xenlet/kubeconfig.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "xenlet/kubeconfig.h"
#include "xenlet/util.h"

#define TOKEN_FILE_MAX (64 * 1024)

struct kc_parse {
	yaml_document_t doc;
	const char *path;
	char *dir; /* absolute directory of the kubeconfig */
};

static unsigned long node_line(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value under `key` in mapping `map`, or NULL. */
static yaml_node_t *map_get(struct kc_parse *p, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const char *k = scalar(yaml_document_get_node(&p->doc, pair->key));

		if (k != NULL && strcmp(k, key) == 0)
			return yaml_document_get_node(&p->doc, pair->value);
	}
	return NULL;
}

/* A string field: absent is fine (*out = NULL), a non-scalar is an error. */
static int get_str(struct kc_parse *p, yaml_node_t *map, const char *key, const char **out,
		   xn_err *err)
{
	yaml_node_t *n = map_get(p, map, key);

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return xn_error(err, EINVAL, "line %lu: %s: expected a string", node_line(n), key);
	if (n->data.scalar.length > 0 || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		*out = scalar(n);
	return 0;
}

static int is_yaml_true(const char *s)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On"};

	for (size_t i = 0; s != NULL && i < XN_ARRAY_SIZE(yes); i++)
		if (strcmp(s, yes[i]) == 0)
			return 1;
	return 0;
}

/* Find the entry `name` in the list `list_key` ("clusters") and return its
 * inner mapping under `inner_key` ("cluster"). */
static int find_named(struct kc_parse *p, yaml_node_t *root, const char *list_key,
		      const char *inner_key, const char *name, yaml_node_t **out, xn_err *err)
{
	yaml_node_t *list = map_get(p, root, list_key);
	yaml_node_item_t *it;

	*out = NULL;
	if (list == NULL)
		return xn_error(err, ENOENT, "no such %s \"%s\" (no %s)", inner_key, name,
				list_key);
	if (list->type == YAML_SCALAR_NODE && scalar(list)[0] == '\0')
		return xn_error(err, ENOENT, "no such %s \"%s\" (%s is empty)", inner_key, name,
				list_key);
	if (list->type != YAML_SEQUENCE_NODE)
		return xn_error(err, EINVAL, "line %lu: %s: expected a list", node_line(list),
				list_key);
	for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
		yaml_node_t *entry = yaml_document_get_node(&p->doc, *it);
		const char *n = NULL;
		yaml_node_t *inner;

		if (entry == NULL || entry->type != YAML_MAPPING_NODE)
			return xn_error(err, EINVAL, "line %lu: %s: expected a list of mappings",
					node_line(entry ? entry : list), list_key);
		if (get_str(p, entry, "name", &n, err) < 0)
			return -1;
		if (n == NULL)
			return xn_error(err, EINVAL, "line %lu: %s: entry without a name",
					node_line(entry), list_key);
		if (strcmp(n, name) != 0)
			continue;
		if (*out != NULL)
			return xn_error(err, EINVAL, "line %lu: %s: duplicate %s \"%s\"",
					node_line(entry), list_key, inner_key, name);
		inner = map_get(p, entry, inner_key);
		if (inner == NULL || inner->type != YAML_MAPPING_NODE)
			return xn_error(err, EINVAL, "line %lu: %s \"%s\": missing mapping \"%s\"",
					node_line(entry), inner_key, name, inner_key);
		*out = inner;
	}
	if (*out == NULL)
		return xn_error(err, ENOENT, "no such %s \"%s\"", inner_key, name);
	return 0;
}

/* As kubectl: relative paths are relative to the kubeconfig's directory. */
static char *resolve_path(struct kc_parse *p, const char *file)
{
	const char *home = getenv("HOME");

	if (file[0] == '/')
		return xn_xstrdup(file);
	if (file[0] == '~' && file[1] == '/' && home != NULL)
		return xn_xasprintf("%s%s", home, file + 1);
	return xn_xasprintf("%s/%s", p->dir, file);
}

/* One file-or-data pair: "certificate-authority" / "certificate-authority-data". */
static int get_pair(struct kc_parse *p, yaml_node_t *map, const char *key, char **file,
		    struct xn_blob *blob, xn_err *err)
{
	cleanup_free char *data_key = xn_xasprintf("%s-data", key);
	const char *f, *d;

	if (get_str(p, map, key, &f, err) < 0 || get_str(p, map, data_key, &d, err) < 0)
		return -1;
	if (f != NULL && d != NULL)
		return xn_error(err, EINVAL, "both %s and %s given; use one", key, data_key);
	if (d != NULL) {
		if (xn_base64_decode(d, &blob->data, &blob->len) < 0)
			return xn_error(err, EINVAL, "line %lu: %s: not valid base64",
					node_line(map_get(p, map, data_key)), data_key);
		if (blob->len == 0)
			return xn_error(err, EINVAL, "%s: empty", data_key);
	}
	if (f != NULL) {
		*file = resolve_path(p, f);
		if (access(*file, R_OK) < 0)
			return xn_error_errno(err, errno, "%s %s", key, *file);
	}
	return 0;
}

static int read_token_file(const char *path, char **out, xn_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;

	if (f == NULL)
		return xn_error_errno(err, errno, "tokenFile %s", path);
	buf = xn_xmalloc(TOKEN_FILE_MAX + 1);
	n = fread(buf, 1, TOKEN_FILE_MAX + 1, f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return xn_error(err, EIO, "tokenFile %s: read error", path);
	}
	fclose(f);
	if (n > TOKEN_FILE_MAX) {
		free(buf);
		return xn_error(err, EFBIG, "tokenFile %s: larger than %d bytes", path,
				TOKEN_FILE_MAX);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\n', n) != NULL) {
		free(buf);
		return xn_error(err, EINVAL, "tokenFile %s: %s", path,
				n == 0 ? "empty" : "more than one line");
	}
	*out = buf;
	return 0;
}

static int load_cluster(struct kc_parse *p, yaml_node_t *c, struct xn_kubeconfig *kc, xn_err *err)
{
	const char *server, *v;
	size_t len;

	if (get_str(p, c, "insecure-skip-tls-verify", &v, err) < 0)
		return -1;
	if (is_yaml_true(v))
		return xn_error(err, EINVAL,
				"insecure-skip-tls-verify is refused: xenletd always verifies the "
				"API server's certificate; give certificate-authority(-data)");
	if (get_str(p, c, "proxy-url", &v, err) < 0)
		return -1;
	if (v != NULL)
		return xn_error(err, ENOTSUP, "proxy-url: not supported by xenletd");
	if (get_str(p, c, "tls-server-name", &v, err) < 0)
		return -1;
	if (v != NULL)
		return xn_error(err, ENOTSUP, "tls-server-name: not supported by xenletd");
	if (get_str(p, c, "server", &server, err) < 0)
		return -1;
	if (server == NULL)
		return xn_error(err, EINVAL, "server: missing");
	if (strncmp(server, "https://", 8) != 0 || server[8] == '\0')
		return xn_error(err, EINVAL, "server \"%s\": must be an https:// URL", server);
	kc->server = xn_xstrdup(server);
	len = strlen(kc->server);
	while (len > 8 && kc->server[len - 1] == '/')
		kc->server[--len] = '\0';
	return get_pair(p, c, "certificate-authority", &kc->ca_file, &kc->ca_data, err);
}

static int load_user(struct kc_parse *p, yaml_node_t *u, struct xn_kubeconfig *kc, xn_err *err)
{
	static const char *const unsupported[] = {"exec", "auth-provider", "username", "password",
						  "as",	  "as-groups"};
	const char *token, *token_file;

	for (size_t i = 0; i < XN_ARRAY_SIZE(unsupported); i++) {
		yaml_node_t *n = map_get(p, u, unsupported[i]);

		if (n != NULL)
			return xn_error(err, ENOTSUP, "line %lu: %s: not supported by xenletd",
					node_line(n), unsupported[i]);
	}
	if (get_pair(p, u, "client-certificate", &kc->cert_file, &kc->cert_data, err) < 0 ||
	    get_pair(p, u, "client-key", &kc->key_file, &kc->key_data, err) < 0)
		return -1;
	if ((kc->cert_file || kc->cert_data.data) != (kc->key_file || kc->key_data.data))
		return xn_error(err, EINVAL, "client-certificate and client-key come together");
	if (get_str(p, u, "token", &token, err) < 0 ||
	    get_str(p, u, "tokenFile", &token_file, err) < 0)
		return -1;
	if (token != NULL) { /* kubectl: token wins over tokenFile */
		kc->token = xn_xstrdup(token);
	} else if (token_file != NULL) {
		kc->token_file = resolve_path(p, token_file);
		if (read_token_file(kc->token_file, &kc->token, err) < 0)
			return -1;
	}
	return 0;
}

static int load_context(struct kc_parse *p, const char *want, struct xn_kubeconfig *kc, xn_err *err)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	yaml_node_t *ctx, *cn, *un = NULL;
	const char *cur, *cluster, *user, *ns;

	if (root == NULL)
		return xn_error(err, EINVAL, "empty file");
	if (root->type != YAML_MAPPING_NODE)
		return xn_error(err, EINVAL, "line %lu: expected a mapping at the top",
				node_line(root));
	if (get_str(p, root, "current-context", &cur, err) < 0)
		return -1;
	if (want == NULL || want[0] == '\0')
		want = cur;
	if (want == NULL)
		return xn_error(err, EINVAL, "no current-context and no context given");
	kc->context = xn_xstrdup(want);
	if (find_named(p, root, "contexts", "context", want, &ctx, err) < 0)
		return -1;
	if (get_str(p, ctx, "cluster", &cluster, err) < 0 ||
	    get_str(p, ctx, "user", &user, err) < 0 || get_str(p, ctx, "namespace", &ns, err) < 0)
		return xn_error_wrap(err, "context \"%s\"", want);
	if (cluster == NULL)
		return xn_error(err, EINVAL, "context \"%s\": cluster: missing", want);
	kc->cluster = xn_xstrdup(cluster);
	kc->namespace = xn_dup_or_null(ns);
	if (find_named(p, root, "clusters", "cluster", cluster, &cn, err) < 0 ||
	    (user != NULL && find_named(p, root, "users", "user", user, &un, err) < 0))
		return xn_error_wrap(err, "context \"%s\"", want);
	if (load_cluster(p, cn, kc, err) < 0)
		return xn_error_wrap(err, "context \"%s\": cluster \"%s\"", want, cluster);
	if (user == NULL)
		return 0;
	kc->user = xn_xstrdup(user);
	if (load_user(p, un, kc, err) < 0)
		return xn_error_wrap(err, "context \"%s\": user \"%s\"", want, user);
	return 0;
}

static char *abs_dir(const char *path)
{
	cleanup_free char *copy = xn_xstrdup(path);
	char *slash = strrchr(copy, '/');
	char cwd[PATH_MAX];

	if (slash == copy)
		return xn_xstrdup("/");
	if (slash != NULL)
		*slash = '\0';
	if (copy[0] == '/')
		return xn_xstrdup(copy);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return xn_xstrdup(slash ? copy : ".");
	return slash ? xn_xasprintf("%s/%s", cwd, copy) : xn_xstrdup(cwd);
}

int xn_kubeconfig_load(const char *path, const char *context, struct xn_kubeconfig **out,
		       xn_err *err)
{
	struct kc_parse p = {.path = path};
	struct xn_kubeconfig *kc = xn_xcalloc(1, sizeof(*kc));
	yaml_parser_t parser;
	int have_parser = 0, have_doc = 0, rc = -1;
	FILE *f = NULL;

	*out = NULL;
	kc->path = xn_xstrdup(path);
	f = fopen(path, "re");
	if (f == NULL) {
		xn_error_errno(err, errno, "open");
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		xn_error(err, ENOMEM, "yaml parser");
		goto out;
	}
	have_parser = 1;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &p.doc)) {
		xn_error(err, EINVAL, "line %lu: %s%s%s%s",
			 (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML error", parser.context ? " (" : "",
			 parser.context ? parser.context : "", parser.context ? ")" : "");
		goto out;
	}
	have_doc = 1;
	p.dir = abs_dir(path);
	if (load_context(&p, context, kc, err) < 0)
		goto out;
	*out = kc;
	kc = NULL;
	rc = 0;
out:
	if (rc < 0)
		xn_error_wrap(err, "kubeconfig %s", path);
	if (have_doc)
		yaml_document_delete(&p.doc);
	if (have_parser)
		yaml_parser_delete(&parser);
	if (f != NULL)
		fclose(f);
	free(p.dir);
	xn_kubeconfig_free(kc);
	return rc;
}

static void blob_wipe(struct xn_blob *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void xn_kubeconfig_free(struct xn_kubeconfig *kc)
{
	if (kc == NULL)
		return;
	free(kc->path);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->namespace);
	free(kc->server);
	free(kc->ca_file);
	free(kc->cert_file);
	free(kc->key_file);
	free(kc->token_file);
	blob_wipe(&kc->ca_data);
	blob_wipe(&kc->cert_data);
	blob_wipe(&kc->key_data);
	if (kc->token != NULL)
		explicit_bzero(kc->token, strlen(kc->token));
	free(kc->token);
	free(kc);
}
