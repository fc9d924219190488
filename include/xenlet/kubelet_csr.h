/* kubelet_csr.h - serverTLSBootstrap: the kubelet API's serving certificate
 * from the API server's CSR API, as the kubelet's certificate manager gets it.
 *
 * At start a still-valid certificate from <rootDir>/pki/kubelet-server-current.pem
 * (certificate then key, PEM, 0600) is used; otherwise a new P-256 key and a
 * CertificateSigningRequest (signer kubernetes.io/kubelet-serving, subject
 * O=system:nodes CN=system:node:NAME, SANs DNS:NAME and IP:<node IP>) are made
 * and that one CSR is watched until it carries status.certificate (an admin
 * approved it, the controller-manager signed it) or is Denied/Failed (a
 * warning; the current certificate stays; a new CSR after XN_KCSR_DENIED_RETRY_S).
 * An issued certificate is handed to apply() (the live TLS context: new
 * connections use it) and stored atomically.  Renewal starts at a random
 * point between 70% and 90% of the certificate's lifetime.
 */
#ifndef XENLET_KUBELET_CSR_H
#define XENLET_KUBELET_CSR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "xenlet/err.h"

struct event_base;
struct xn_kube;
struct xn_kcsr;

#define XN_KCSR_SIGNER	       "kubernetes.io/kubelet-serving"
#define XN_KCSR_FILE	       "pki/kubelet-server-current.pem" /* under rootDir */
#define XN_KCSR_DENIED_RETRY_S 300
#define XN_KCSR_BACKOFF_MIN_S  2
#define XN_KCSR_BACKOFF_MAX_S  300

/* Install cert_pem (leaf first, then any chain) with the private key found
 * in key_pem (both may be the same combined PEM). */
typedef int (*xn_kcsr_apply_fn)(const char *cert_pem, const char *key_pem, void *arg, xn_err *err);

struct xn_kcsr_opts {
	const char *node_name;
	const char *node_ip; /* InternalIP; NULL or "": no IP SAN */
	const char *root_dir;
};

/* Loads a stored certificate (apply() is called before this returns when
 * one is valid) and starts the CSR flow when needed.  Errors: only setup
 * problems (the pki dir); API trouble is retried with back-off. */
struct xn_kcsr *xn_kcsr_new(struct event_base *base, struct xn_kube *kube,
			    const struct xn_kcsr_opts *o, xn_kcsr_apply_fn apply, void *arg,
			    xn_err *err);
void xn_kcsr_free(struct xn_kcsr *c);

/* ---- pure pieces, exported for unit tests ---- */

/* A new EC P-256 key and a CSR for node: PEM strings (caller frees). ips may
 * hold NULL or "" entries (skipped); an entry that is no IP address fails. */
int xn_kcsr_make(const char *node, const char *const *ips, size_t nips, char **key_pem,
		 char **csr_pem, xn_err *err);
/* The certificates.k8s.io/v1 CertificateSigningRequest to POST for csr_pem:
 * generateName "csr-", signer XN_KCSR_SIGNER, usages digital signature and
 * server auth (and key encipherment when rsa, as the kubelet does). */
cJSON *xn_kcsr_object(const char *csr_pem, bool rsa);

enum xn_kcsr_state { XN_KCSR_PENDING, XN_KCSR_ISSUED, XN_KCSR_DENIED, XN_KCSR_FAILED };
/* Where a CSR object stands.  ISSUED: *cert_pem is the decoded
 * status.certificate (caller frees).  DENIED/FAILED: *why is the condition's
 * reason/message (points into csr), else NULL. */
enum xn_kcsr_state xn_kcsr_status(const cJSON *csr, char **cert_pem, const char **why);

/* notBefore/notAfter (unix seconds) of the first certificate in pem; with
 * key_pem, also checks that the private key in it matches. */
int xn_kcsr_cert_times(const char *pem, const char *key_pem, int64_t *not_before,
		       int64_t *not_after, xn_err *err);
/* When to renew: not_before + (0.7 + 0.2 * jitter) * lifetime, jitter in [0,1]. */
int64_t xn_kcsr_renew_at(int64_t not_before, int64_t not_after, double jitter);

#endif
