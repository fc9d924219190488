/* kubelet_csr.c - the pure side of serverTLSBootstrap: key and CSR making,
 * the CSR API object, reading a CSR's status and a certificate's lifetime.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xenlet/kubelet_csr.h"
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

static char *bio_string(BIO *b)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	return xn_xasprintf("%.*s", (int)len, data);
}

static bool is_ip(const char *s)
{
	ASN1_OCTET_STRING *o = a2i_IPADDRESS(s);

	ASN1_OCTET_STRING_free(o);
	return o != NULL;
}

int xn_kcsr_make(const char *node, const char *const *ips, size_t nips, char **key_pem,
		 char **csr_pem, xn_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ex = NULL;
	X509_NAME *name;
	BIO *kb = BIO_new(BIO_s_mem()), *rb = BIO_new(BIO_s_mem());
	cleanup_free char *cn = xn_xasprintf("system:node:%s", node);
	char *san = xn_xasprintf("DNS:%s", node);
	int rc = -1;

	*key_pem = *csr_pem = NULL;
	if (key == NULL || req == NULL || exts == NULL || kb == NULL || rb == NULL) {
		xn_error(err, ENOMEM, "CSR: %s", ssl_errstr());
		goto out;
	}
	for (size_t i = 0; i < nips; i++) {
		char *more;

		if (ips[i] == NULL || ips[i][0] == '\0')
			continue;
		if (!is_ip(ips[i])) {
			xn_error(err, EINVAL, "CSR: node address '%s' is not an IP address",
				 ips[i]);
			goto out;
		}
		more = xn_xasprintf("%s,IP:%s", san, ips[i]);
		free(san);
		san = more;
	}
	name = X509_REQ_get_subject_name(req);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				       (const unsigned char *)"system:nodes", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
				       0) != 1) {
		xn_error(err, EINVAL, "CSR subject for node '%s': %s", node, ssl_errstr());
		goto out;
	}
	ex = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	if (ex == NULL || sk_X509_EXTENSION_push(exts, ex) == 0) {
		xn_error(err, EINVAL, "CSR subjectAltName '%s': %s", san, ssl_errstr());
		X509_EXTENSION_free(ex);
		goto out;
	}
	if (X509_REQ_set_version(req, 0) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_add_extensions(req, exts) != 1 || X509_REQ_sign(req, key, EVP_sha256()) == 0 ||
	    PEM_write_bio_X509_REQ(rb, req) != 1 ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1) {
		xn_error(err, EINVAL, "CSR: %s", ssl_errstr());
		goto out;
	}
	*key_pem = bio_string(kb);
	*csr_pem = bio_string(rb);
	rc = 0;
out:
	free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	BIO_free(kb);
	BIO_free(rb);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return rc;
}

cJSON *xn_kcsr_object(const char *csr_pem, bool rsa)
{
	char *b64 = xn_base64_encode(csr_pem, strlen(csr_pem));
	cJSON *o = cJSON_CreateObject(), *meta, *spec, *usages;

	cJSON_AddStringToObject(o, "apiVersion", "certificates.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "CertificateSigningRequest");
	meta = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(meta, "generateName", "csr-");
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "request", b64);
	cJSON_AddStringToObject(spec, "signerName", XN_KCSR_SIGNER);
	usages = cJSON_AddArrayToObject(spec, "usages");
	cJSON_AddItemToArray(usages, cJSON_CreateString("digital signature"));
	if (rsa)
		cJSON_AddItemToArray(usages, cJSON_CreateString("key encipherment"));
	cJSON_AddItemToArray(usages, cJSON_CreateString("server auth"));
	free(b64);
	return o;
}

enum xn_kcsr_state xn_kcsr_status(const cJSON *csr, char **cert_pem, const char **why)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(csr, "status");
	const cJSON *conds = cJSON_GetObjectItemCaseSensitive(st, "conditions");
	const cJSON *cert = cJSON_GetObjectItemCaseSensitive(st, "certificate");
	const cJSON *c;

	*cert_pem = NULL;
	*why = NULL;
	cJSON_ArrayForEach(c, conds) {
		const char *type =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
		const char *msg =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "message"));
		const char *reason =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "reason"));

		if (type == NULL || (strcmp(type, "Denied") != 0 && strcmp(type, "Failed") != 0))
			continue;
		*why = msg && *msg ? msg : reason;
		return strcmp(type, "Denied") == 0 ? XN_KCSR_DENIED : XN_KCSR_FAILED;
	}
	if (cJSON_IsString(cert) && cert->valuestring[0] != '\0') {
		unsigned char *pem = NULL;
		size_t len = 0;

		/* PEM is text: a NUL inside is not a certificate */
		if (xn_base64_decode(cert->valuestring, &pem, &len) < 0 || len == 0 ||
		    strlen((char *)pem) != len) {
			free(pem);
			*why = "status.certificate is not base64";
			return XN_KCSR_FAILED;
		}
		*cert_pem = (char *)pem;
		return XN_KCSR_ISSUED;
	}
	return XN_KCSR_PENDING;
}

static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

int xn_kcsr_cert_times(const char *pem, const char *key_pem, int64_t *not_before,
		       int64_t *not_after, xn_err *err)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	BIO *kb = NULL;
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	if (x == NULL) {
		xn_error(err, EINVAL, "no PEM certificate: %s", ssl_errstr());
		goto out;
	}
	*not_before = asn1_unix(X509_get0_notBefore(x));
	*not_after = asn1_unix(X509_get0_notAfter(x));
	if (*not_before < 0 || *not_after <= *not_before) {
		xn_error(err, EINVAL, "certificate has no usable validity period");
		goto out;
	}
	if (key_pem) {
		kb = BIO_new_mem_buf(key_pem, -1);
		key = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
		if (key == NULL) {
			xn_error(err, EINVAL, "no PEM private key: %s", ssl_errstr());
			goto out;
		}
		if (X509_check_private_key(x, key) != 1) {
			ERR_clear_error();
			xn_error(err, EINVAL, "the private key does not match the certificate");
			goto out;
		}
	}
	rc = 0;
out:
	EVP_PKEY_free(key);
	X509_free(x);
	BIO_free(kb);
	BIO_free(b);
	return rc;
}

int64_t xn_kcsr_renew_at(int64_t not_before, int64_t not_after, double jitter)
{
	int64_t permille;

	if (jitter < 0)
		jitter = 0;
	if (jitter > 1)
		jitter = 1;
	permille = 700 + (int64_t)(200 * jitter + 0.5);
	return not_before + (not_after - not_before) / 1000 * permille +
	       (not_after - not_before) % 1000 * permille / 1000;
}
