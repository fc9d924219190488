/* kubelet_tls.c - the kubelet API's TLS side: serving certificate (files or
 * self-signed), client CA, and the user a verified client certificate names.
 */
#include <errno.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "kubelet_api_priv.h"
#include "xenlet/util.h"

static const char *ssl_errstr(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* Handshakes never fail on a client certificate: an unverified one is an
 * anonymous request and gets the kubelet's 401 from the handler. */
static int accept_any(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -1;
	X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
	return 0;
}

/* A P-256 key and a one-year self-signed serving certificate for the node
 * name, as the kubelet makes when it has none (it names the host too). */
static int self_signed(SSL_CTX *ctx, const char *node, xn_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	cleanup_free char *cn = xn_xasprintf("%s@%lld", node ? node : "xenlet",
					     (long long)(xn_now_real_ns() / 1000000000u));
	cleanup_free char *san =
	    xn_xasprintf("DNS:%s,DNS:localhost,IP:127.0.0.1", node ? node : "xenlet");
	int rc = -1;

	if (key == NULL || x == NULL) {
		xn_error(err, ENOMEM, "self-signed certificate: %s", ssl_errstr());
		goto out;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(xn_now_real_ns() & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_alt_name, san) < 0 || X509_sign(x, key, EVP_sha256()) == 0 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		xn_error(err, EINVAL, "self-signed certificate: %s", ssl_errstr());
		goto out;
	}
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

SSL_CTX *kapi_tls_ctx(const struct xn_kapi_opts *o, xn_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		xn_error(err, ENOMEM, "TLS context: %s", ssl_errstr());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* an idle connection gives its 16 KiB record buffers back (hundreds of
	 * connections may be open, most of them idle) */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if ((o->tls_cert_file == NULL) != (o->tls_key_file == NULL)) {
		xn_error(err, EINVAL, "tlsCertFile and tlsPrivateKeyFile go together (got only %s)",
			 o->tls_cert_file ? "tlsCertFile" : "tlsPrivateKeyFile");
		goto fail;
	}
	if (o->tls_cert_file) {
		if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert_file) != 1) {
			xn_error(err, EINVAL, "tlsCertFile %s: %s", o->tls_cert_file, ssl_errstr());
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key_file, SSL_FILETYPE_PEM) != 1) {
			xn_error(err, EINVAL, "tlsPrivateKeyFile %s: %s", o->tls_key_file,
				 ssl_errstr());
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			xn_error(err, EINVAL, "tlsPrivateKeyFile %s does not match tlsCertFile %s",
				 o->tls_key_file, o->tls_cert_file);
			goto fail;
		}
	} else if (self_signed(ctx, o->node_name, err) < 0) {
		goto fail;
	}
	if (o->client_ca_file) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->client_ca_file);

		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ctx, o->client_ca_file, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			xn_error(err, EINVAL, "clientCAFile %s: no usable CA certificate: %s",
				 o->client_ca_file, ssl_errstr());
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int xn_kapi_use_cert(struct xn_kapi *k, const char *cert_pem, const char *key_pem, xn_err *err)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
	X509 *leaf = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;
	int rc = -1;

	if (leaf == NULL || key == NULL || chain == NULL) {
		xn_error(err, EINVAL, "serving certificate: %s", ssl_errstr());
		goto out;
	}
	if (X509_check_private_key(leaf, key) != 1) {
		xn_error(err, EINVAL, "serving certificate: the key does not match");
		goto out;
	}
	while ((x = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL)
		sk_X509_push(chain, x);
	ERR_clear_error(); /* the end of the PEM */
	/* One thread: no handshake sees the certificate without its key. */
	if (SSL_CTX_use_certificate(k->ssl, leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(k->ssl, key) != 1 || SSL_CTX_set1_chain(k->ssl, chain) != 1) {
		xn_error(err, EINVAL, "serving certificate: %s", ssl_errstr());
		goto out;
	}
	rc = 0;
out:
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	X509_free(leaf);
	BIO_free(kb);
	BIO_free(cb);
	return rc;
}

static char *name_entry(X509_NAME *n, int nid, int *pos)
{
	X509_NAME_ENTRY *e;
	unsigned char *utf8 = NULL;
	char *s;
	int len;

	*pos = X509_NAME_get_index_by_NID(n, nid, *pos);
	if (*pos < 0)
		return NULL;
	e = X509_NAME_get_entry(n, *pos);
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
	if (len < 0)
		return NULL;
	s = xn_xasprintf("%.*s", len, utf8);
	OPENSSL_free(utf8);
	return s;
}

bool kapi_tls_peer_verified(SSL *ssl)
{
	return SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

bool kapi_tls_peer_user(struct kreq *r, struct kuser *u)
{
	struct bufferevent *bev;
	SSL *ssl;
	X509 *peer;
	X509_NAME *subj;
	size_t ng = 0;
	int pos = -1;
	char *g;

	if (!r->k->have_client_ca || r->c == NULL)
		return false;
	bev = evhttp_connection_get_bufferevent(r->c->evcon);
	ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	peer = SSL_get1_peer_certificate(ssl);
	if (peer == NULL)
		return false;
	subj = X509_get_subject_name(peer);
	u->name = name_entry(subj, NID_commonName, &pos);
	if (u->name == NULL || u->name[0] == '\0') {
		X509_free(peer);
		kuser_dispose(u);
		return false;
	}
	u->groups = xn_xcalloc(1, sizeof(char *));
	pos = -1;
	while ((g = name_entry(subj, NID_organizationName, &pos)) != NULL) {
		u->groups = xn_xrealloc(u->groups, (ng + 2) * sizeof(char *));
		u->groups[ng++] = g;
		u->groups[ng] = NULL;
	}
	X509_free(peer);
	return true;
}
