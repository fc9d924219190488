/* kubelet_api.h - the kubelet's HTTPS API (port 10250): logs, stats, metrics.
 *
 * The API server reaches a node's kubelet for `kubectl logs`, `kubectl top`
 * (through metrics-server), `kubectl get --raw .../nodes/N/proxy/...`.
 * xenletd serves that API from its event loop with libevent's evhttp over
 * OpenSSL (TLS 1.2+).  Endpoints and their authorization (docs/kubelet-api.md):
 *
 *   GET  /healthz                         "ok"                 nodes/healthz, then nodes/proxy
 *   GET  /pods                            PodList of our pods  nodes/pods, then nodes/proxy
 *   GET  /runningpods/                    same, running only   nodes/proxy
 *   GET  /containerLogs/{ns}/{pod}/{c}    CRI log as text      nodes/proxy (as the kubelet)
 *   GET  /stats/summary                   Summary API JSON     nodes/stats
 *   GET  /metrics/resource                what metrics-server reads   nodes/metrics
 *   GET  /metrics                         the daemon's own metrics    nodes/metrics
 *   POST /exec/{ns}/{pod}/{c}?command=V   control verbs                  nodes/proxy
 *   /exec, /attach + Upgrade: SPDY/3.1    kubectl exec/attach streams    nodes/proxy
 *
 * Authentication as the kubelet with --anonymous-auth=false: a client
 * certificate that verifies against the client CA (user = CN, groups = O),
 * else a bearer token checked with a TokenReview; nothing else -> 401.
 * Authorization as --authorization-mode=Webhook: a SubjectAccessReview on
 * resource "nodes", name = our node, subresource and verb as above; allowed
 * decisions are cached 5 min, denials 30 s, token reviews 2 min.
 *
 * Bounded: at most max_conns authenticated connections (beyond: 503 and
 * close); unauthenticated ones have caps of their own (in all and per
 * address, the oldest closed first), handshake and header deadlines and no
 * body; a request that is not answered within timeout_s is dropped; log
 * streams read the file in 64 KiB steps and only when the client has taken
 * the last step (docs/kubelet-api.md, "Limits").
 */
#ifndef XENLET_KUBELET_API_H
#define XENLET_KUBELET_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cJSON.h>

#include "xenlet/crilog.h"
#include "xenlet/err.h"

struct event_base;
struct evbuffer;
struct xn_hv;
struct xn_kube;
struct xn_runtime;
struct xn_kapi;

#define XN_KAPI_MAX_CONNS   64
#define XN_KAPI_TIMEOUT_S   60	  /* read/write inactivity of a connection */
#define XN_KAPI_CHUNK	    65536 /* log bytes read per step */
#define XN_KAPI_FOLLOW_MS   100	  /* a followed log is checked this often */
#define XN_KAPI_AUTHN_TTL_S 120
#define XN_KAPI_ALLOW_TTL_S 300
#define XN_KAPI_DENY_TTL_S  30
#define XN_KAPI_CACHE_SIZE  256
#define XN_KAPI_SAMPLE_S    10 /* CPU usage rates are over this window */

struct xn_kapi_opts {
	const char *address;	   /* bind address; NULL: 0.0.0.0 */
	unsigned port;		   /* 0: any free port (see xn_kapi_port) */
	const char *tls_cert_file; /* NULL (both): a self-signed cert made at start */
	const char *tls_key_file;
	const char *client_ca_file; /* NULL: client certificates are not accepted */
	const char *node_name;
	unsigned max_conns; /* 0: XN_KAPI_MAX_CONNS */
	unsigned timeout_s; /* 0: XN_KAPI_TIMEOUT_S */
};

/* kube may be NULL (standalone node): then bearer tokens are refused and a
 * verified client certificate is enough (there is nobody to ask). */
struct xn_kapi *xn_kapi_new(struct event_base *base, const struct xn_kapi_opts *o,
			    struct xn_runtime *rt, struct xn_hv *hv, struct xn_kube *kube,
			    xn_err *err);
void xn_kapi_free(struct xn_kapi *k);
unsigned xn_kapi_port(const struct xn_kapi *k);
/* Serve cert_pem (leaf, then any chain) with the private key in key_pem
 * from now on: connections accepted later use it, open ones keep theirs.
 * On error the current certificate stays. */
int xn_kapi_use_cert(struct xn_kapi *k, const char *cert_pem, const char *key_pem, xn_err *err);
/* Where the CRI logs are (the runtime's log_dir; borrowed, must outlive k):
 * /stats/summary reports their space.  Unset: no log space is reported. */
void xn_kapi_set_log_dir(struct xn_kapi *k, const char *log_dir);

/* ---- pure pieces, exported for unit tests ---- */

/* PodLogOptions (struct xn_log_opts, xenlet/crilog.h) from a query string,
 * as the kubelet decodes them: a boolean is false only when absent, "0" or
 * "false" (any case); anything else, the empty value included ("?follow"),
 * is true.  tailLines >= 0; sinceSeconds
 * >= 1; limitBytes >= 1; at most one of sinceSeconds and sinceTime (RFC
 * 3339); "tail=all"/"tail=N" is the old spelling of tailLines.  since_ns is
 * absolute (now_ns - sinceSeconds).  Errors name the parameter. */
int xn_log_opts_parse(const char *query, uint64_t now_ns, struct xn_log_opts *o, xn_err *err);

/* What /stats/summary and /metrics/resource are made of. */
struct xn_stats_pod {
	const char *ns, *name, *uid, *container;
	uint64_t start_ns;     /* unix ns of the running instance */
	uint64_t cpu_ns;       /* cumulative */
	int64_t nano_cores;    /* -1: unknown (no earlier sample) */
	uint64_t memory_bytes; /* domain allocation = working set */
	bool has_logs;
	struct xn_crilog_space logs; /* the container's CRI logs */
};
struct xn_stats_node {
	const char *name;
	uint64_t start_ns; /* boot time of the host (or daemon start) */
	uint64_t now_ns;
	uint64_t cpu_ns; /* sum over the domains (Dom0 excluded) */
	int64_t nano_cores;
	uint64_t total_bytes, free_bytes;
	bool has_fs;
	struct xn_crilog_space fs; /* the filesystem of the log dir */
};
cJSON *xn_stats_summary_json(const struct xn_stats_node *n, const struct xn_stats_pod *pods,
			     size_t npods);
void xn_stats_resource_metrics(FILE *out, const struct xn_stats_node *n,
			       const struct xn_stats_pod *pods, size_t npods, bool scrape_error);

/* The kubelet's authorization attributes for a request path and method:
 * verb ("get", "create", ...) and up to two subresources to try in order
 * (the second NULL when there is only one). */
void xn_kapi_authz_attrs(const char *method, const char *path, const char **verb,
			 const char *sub[2]);

#endif
