/* kubeconfig.h - the credentials and server of one kubeconfig context.
 *
 * Reads a kubeconfig file (YAML or JSON, as kubectl writes it) and resolves
 * one context - the override name if given, else current-context - to its
 * cluster and user.  Only what xenletd needs is kept:
 *
 *   cluster: server, certificate-authority | certificate-authority-data
 *   user:    client-certificate | client-certificate-data,
 *            client-key | client-key-data, token | tokenFile
 *
 * File paths are resolved against the kubeconfig's own directory (as
 * kubectl does) and are not opened here except tokenFile, which is read at
 * load time.  *-data fields are base64-decoded into memory and meant for
 * libcurl's *_BLOB options, so no secret is ever written to disk.
 * insecure-skip-tls-verify: true is refused: TLS verification is always on.
 * Fields xenletd does not use (exec, auth-provider, proxy-url, ...) are
 * refused when they would change how we authenticate, ignored otherwise.
 *
 * Errors name the file and the context/cluster/user and field, or the line:
 *   kubeconfig /etc/k.yaml: context "foo": no such cluster "bar"
 *   kubeconfig /etc/k.yaml: line 7: mapping values are not allowed here
 */
#ifndef XENLET_KUBECONFIG_H
#define XENLET_KUBECONFIG_H

#include <stddef.h>

#include "xenlet/err.h"

/* Bytes in memory (PEM text from a *-data field). */
struct xn_blob {
	unsigned char *data;
	size_t len;
};

struct xn_kubeconfig {
	char *path;	 /* the file read */
	char *context;	 /* the context used */
	char *cluster;	 /* its cluster's name */
	char *user;	 /* its user's name (NULL: anonymous) */
	char *namespace; /* the context's namespace, or NULL */
	char *server;	 /* "https://host:port[/prefix]", without a trailing '/' */

	/* At most one of each pair is set; neither: system CA / no client cert. */
	char *ca_file;
	struct xn_blob ca_data;
	char *cert_file;
	struct xn_blob cert_data;
	char *key_file;
	struct xn_blob key_data;

	char *token;	  /* bearer token (from token or the tokenFile's content) */
	char *token_file; /* absolute path when the token came from tokenFile */
};

/* Load `path` and resolve `context` (NULL: the file's current-context).
 * On success *out is a new object for xn_kubeconfig_free. */
int xn_kubeconfig_load(const char *path, const char *context, struct xn_kubeconfig **out,
		       xn_err *err);

/* Free (secrets are wiped first); NULL is fine. */
void xn_kubeconfig_free(struct xn_kubeconfig *kc);

#endif
