/* test_kubelet_csr.c - serverTLSBootstrap's pure pieces: the CSR (subject,
 * SANs, key, PEM), the API object, a CSR's status, lifetimes, renewal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "xenlet/kubelet_csr.h"
#include "xenlet/util.h"

static X509_REQ *parse_req(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *r = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(r);
	return r;
}

static char *subject(X509_REQ *r)
{
	char buf[256];

	X509_NAME_oneline(X509_REQ_get_subject_name(r), buf, sizeof(buf));
	return xn_xstrdup(buf);
}

/* "DNS:a, IP Address:1.2.3.4" as openssl prints SANs */
static char *sans(X509_REQ *r)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(r);
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long len;

	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ex = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(ex)) == NID_subject_alt_name)
			X509V3_EXT_print(b, ex, 0, 0);
	}
	len = BIO_get_mem_data(b, &data);
	s = xn_xasprintf("%.*s", (int)len, data);
	BIO_free(b);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return s;
}

static void test_make(void **state)
{
	const char *ips[] = {"192.0.2.7", NULL, "", "2001:db8::1"};
	cleanup_free char *key = NULL, *csr = NULL, *subj = NULL, *san = NULL;
	X509_REQ *r;
	EVP_PKEY *pub;
	xn_err err = NULL;

	if (xn_kcsr_make("node-a", ips, 4, &key, &csr, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_non_null(strstr(key, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(strncmp(csr, "-----BEGIN CERTIFICATE REQUEST-----\n", 36), 0);
	r = parse_req(csr);
	subj = subject(r);
	assert_string_equal(subj, "/O=system:nodes/CN=system:node:node-a");
	san = sans(r);
	assert_string_equal(san,
			    "DNS:node-a, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:1");
	pub = X509_REQ_get0_pubkey(r);
	assert_true(EVP_PKEY_is_a(pub, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(pub), 256);
	assert_int_equal(X509_REQ_verify(r, pub), 1); /* self-signed with that key */
	{
		/* the key that came back is the CSR's */
		BIO *b = BIO_new_mem_buf(key, -1);
		EVP_PKEY *priv = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

		assert_non_null(priv);
		assert_int_equal(EVP_PKEY_eq(priv, pub), 1);
		EVP_PKEY_free(priv);
		BIO_free(b);
	}
	X509_REQ_free(r);
}

static void test_make_bad_ip(void **state)
{
	const char *ips[] = {"not-an-ip"};
	char *key = NULL, *csr = NULL;
	xn_err err = NULL;

	assert_int_equal(xn_kcsr_make("n1", ips, 1, &key, &csr, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "'not-an-ip' is not an IP address"));
	assert_null(key);
	assert_null(csr);
	xn_error_free(&err);
}

static void test_object(void **state)
{
	const char *pem = "-----BEGIN CERTIFICATE REQUEST-----\nAB\n";
	cJSON *o = xn_kcsr_object(pem, false);
	cJSON *spec = cJSON_GetObjectItem(o, "spec");
	cleanup_free char *usages = cJSON_PrintUnformatted(cJSON_GetObjectItem(spec, "usages"));
	const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "request"));
	unsigned char *back = NULL;
	size_t n = 0;

	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "apiVersion")),
			    "certificates.k8s.io/v1");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")),
			    "CertificateSigningRequest");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
				cJSON_GetObjectItem(o, "metadata"), "generateName")),
			    "csr-");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(spec, "signerName")),
			    "kubernetes.io/kubelet-serving");
	assert_string_equal(usages, "[\"digital signature\",\"server auth\"]");
	assert_int_equal(xn_base64_decode(b64, &back, &n), 0);
	assert_int_equal(n, strlen(pem));
	assert_memory_equal(back, pem, n);
	free(back);
	cJSON_Delete(o);

	o = xn_kcsr_object(pem, true);
	spec = cJSON_GetObjectItem(o, "spec");
	free(usages);
	usages = cJSON_PrintUnformatted(cJSON_GetObjectItem(spec, "usages"));
	assert_string_equal(usages, "[\"digital signature\",\"key encipherment\",\"server auth\"]");
	cJSON_Delete(o);
}

static void test_status(void **state)
{
	char *cert;
	const char *why;
	cJSON *o;

	o = cJSON_Parse("{\"metadata\":{\"name\":\"csr-x\"},\"status\":{}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_PENDING);
	cJSON_Delete(o);
	/* approved but not yet signed: still pending */
	o = cJSON_Parse("{\"status\":{\"conditions\":[{\"type\":\"Approved\"}]}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_PENDING);
	cJSON_Delete(o);
	/* "PEM\n" in base64 */
	o = cJSON_Parse("{\"status\":{\"conditions\":[{\"type\":\"Approved\"}],"
			"\"certificate\":\"UEVNCg==\"}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_ISSUED);
	assert_string_equal(cert, "PEM\n");
	free(cert);
	cJSON_Delete(o);
	/* junk, and base64 of bytes with a NUL, are no certificate */
	o = cJSON_Parse("{\"status\":{\"certificate\":\"UEV*Cg==\"}}");
	cert = NULL;
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_FAILED);
	assert_string_equal(why, "status.certificate is not base64");
	assert_null(cert);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"status\":{\"certificate\":\"UABNCg==\"}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_FAILED);
	assert_null(cert);
	cJSON_Delete(o);
	o = cJSON_Parse("{\"status\":{\"conditions\":[{\"type\":\"Denied\",\"reason\":\"R\","
			"\"message\":\"not this node\"}]}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_DENIED);
	assert_string_equal(why, "not this node");
	assert_null(cert);
	cJSON_Delete(o);
	o = cJSON_Parse(
	    "{\"status\":{\"conditions\":[{\"type\":\"Failed\",\"reason\":\"SignerError\"}]}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_FAILED);
	assert_string_equal(why, "SignerError");
	cJSON_Delete(o);
	o = cJSON_Parse("{\"status\":{\"certificate\":\"%%%\"}}");
	assert_int_equal(xn_kcsr_status(o, &cert, &why), XN_KCSR_FAILED);
	cJSON_Delete(o);
}

/* A certificate for the CSR's key, signed by itself, valid [now-100, now+1000). */
static char *cert_for(const char *key_pem, long from, long to)
{
	BIO *kb = BIO_new_mem_buf(key_pem, -1), *out = BIO_new(BIO_s_mem());
	EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	X509 *x = X509_new();
	char *data, *s;
	long len;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"t", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	PEM_write_bio_X509(out, x);
	len = BIO_get_mem_data(out, &data);
	s = xn_xasprintf("%.*s", (int)len, data);
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(kb);
	BIO_free(out);
	return s;
}

static void test_cert_times(void **state)
{
	const char *ips[] = {"127.0.0.1"};
	cleanup_free char *key = NULL, *csr = NULL, *key2 = NULL, *csr2 = NULL;
	cleanup_free char *cert = NULL, *both = NULL;
	int64_t nb, na, now = (int64_t)time(NULL);
	xn_err err = NULL;

	assert_int_equal(xn_kcsr_make("n1", ips, 1, &key, &csr, &err), 0);
	assert_int_equal(xn_kcsr_make("n1", ips, 1, &key2, &csr2, &err), 0);
	cert = cert_for(key, -100, 1000);
	both = xn_xasprintf("%s%s", cert, key);
	if (xn_kcsr_cert_times(both, both, &nb, &na, &err) < 0)
		fail_msg("%s", xn_error_msg(err));
	assert_true(nb >= now - 102 && nb <= now - 98);
	assert_int_equal(na - nb, 1100);
	assert_int_equal(xn_kcsr_cert_times(cert, key2, &nb, &na, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "does not match"));
	xn_error_free(&err);
	assert_int_equal(xn_kcsr_cert_times(key, NULL, &nb, &na, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "no PEM certificate"));
	xn_error_free(&err);
	assert_int_equal(xn_kcsr_cert_times(cert, cert, &nb, &na, &err), -1);
	assert_non_null(strstr(xn_error_msg(err), "no PEM private key"));
	xn_error_free(&err);
}

static void test_renew_at(void **state)
{
	assert_int_equal(xn_kcsr_renew_at(1000, 2000, 0), 1700);
	assert_int_equal(xn_kcsr_renew_at(1000, 2000, 1), 1900);
	assert_int_equal(xn_kcsr_renew_at(1000, 2000, 0.5), 1800);
	assert_int_equal(xn_kcsr_renew_at(1000, 2000, 7), 1900); /* clamped */
	/* a one-year certificate: between 255.5 and 328.5 days */
	assert_int_equal(xn_kcsr_renew_at(0, 365 * 86400, 0), 255 * 86400 + 43200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make),       cmocka_unit_test(test_make_bad_ip),
	    cmocka_unit_test(test_object),     cmocka_unit_test(test_status),
	    cmocka_unit_test(test_cert_times), cmocka_unit_test(test_renew_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
