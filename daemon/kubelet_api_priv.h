/* kubelet_api_priv.h - shared by the kubelet API's files (not a contract
 * for anyone else). */
#ifndef XENLET_KUBELET_API_PRIV_H
#define XENLET_KUBELET_API_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "kapi_connlimit.h"
#include "xenlet/kubelet_api.h"

struct bufferevent;
struct evbuffer;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;
struct event;
struct xn_kube_req;
struct kreq;
struct kapi_route;

/* The limits of docs/kubelet-api.md, "Limits" (why each number is what it
 * is is said there). */
#define KAPI_UNAUTH_MAX	       128	   /* unauthenticated connections in all */
#define KAPI_UNAUTH_PER_ADDR   16	   /* ... from one address (IPv6: one /64) */
#define KAPI_HANDSHAKE_S       5	   /* accept -> TLS handshake done */
#define KAPI_HEADER_S	       10	   /* accept -> a whole request head */
#define KAPI_MAX_HEADERS       (32 * 1024) /* request line and headers */
#define KAPI_MAX_BODY	       4096	   /* no endpoint takes a body */
#define KAPI_ACCEPT_BACKOFF_MS 250	   /* the listener rests after EMFILE & co. */
#define KAPI_LOG_INTERVAL_S    10	   /* one line per interval for each flood message */
#define KAPI_FD_RESERVE	       128	   /* descriptors left to the rest of the daemon */

/* A connection from accept (kubelet_api_server.c, new_bev) until its TLS
 * object is freed.  Until a request on it passes authentication and
 * authorization it is on k->unauth and under the deadlines; then it holds
 * one of max_conns authenticated slots. */
enum kconn_stage { KCONN_ADMIT, KCONN_HANDSHAKE, KCONN_HEADERS };
struct kconn {
	struct xn_kapi *k;
	struct evhttp_connection *evcon; /* NULL until its first request */
	struct bufferevent *bev;
	SSL *ssl;
	struct kreq *active; /* the request being answered, if any */
	struct kconn *next;  /* k->conns: all of them */
	struct kcl_node unauth;
	struct event *timer; /* the stage's deadline (admission: at once) */
	enum kconn_stage stage;
	uint64_t accepted_ns;
	bool authenticated;
	bool dropped; /* shut down by us: no longer counted anywhere */
};

/* Who is asking (from the client cert or a TokenReview). */
struct kuser {
	char *name;
	char *uid;
	char **groups; /* NULL-terminated */
	cJSON *extra;  /* TokenReview status.user.extra, or NULL */
};

/* One request from authentication until the last byte of its answer. */
struct kreq {
	struct xn_kapi *k;
	struct kconn *c; /* NULL once the client went away */
	struct evhttp_request *req;
	char *path;  /* decoded path, no query */
	char *query; /* raw query, "" if none */
	const char *method;
	const struct kapi_route *route; /* found once: authorization and dispatch read it */
	char *seg[3];			/* the route's path segments (NAMESPACE, POD, CONTAINER) */
	char *segbuf;
	struct kuser user;
	const char *verb;
	const char *sub[2];
	int sub_i;		/* which subresource is being reviewed */
	struct xn_kube_req *kr; /* a pending TokenReview / SubjectAccessReview */
	void (*auth_done)(struct kreq *r);
	char token_key[65]; /* sha256 of the bearer token under review */
	/* A streaming handler sets these: gone() must release everything and
	 * call kreq_abandon(); abort() the same when the server is freed. */
	void (*gone)(struct kreq *r);
	void *stream;
};

struct auth_cache_entry {
	char key[65]; /* sha256 hex */
	uint64_t expires_ns;
	bool allowed;
	struct kuser user; /* token cache only */
	bool used;
};

struct stats_sample {
	uint64_t at_ns;
	uint64_t node_cpu_ns;
	size_t n;
	char (*uids)[64];
	uint64_t *cpu_ns;
};

struct xn_kapi {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	SSL_CTX *ssl;
	struct xn_runtime *rt;
	struct xn_hv *hv;
	struct xn_kube *kube;
	char *node_name;
	unsigned port;
	unsigned max_conns;
	unsigned timeout_s;
	bool have_client_ca;
	struct kconn *conns;	     /* every open connection */
	unsigned nconns;	     /* all of them */
	unsigned nauth;		     /* the authenticated ones (of max_conns) */
	struct kcl unauth;	     /* the others: caps, oldest out first */
	struct event *accept_timer;  /* re-enables the listener after an accept error */
	struct xn_kapi *next_server; /* accept_error finds the server by its evhttp */
	struct kcl_ratelimit accept_log, drop_log;
	unsigned dropped[4]; /* since the last log line, by enum kconn_drop */
	uint64_t start_ns;
	struct auth_cache_entry tokens[XN_KAPI_CACHE_SIZE];
	struct auth_cache_entry decisions[XN_KAPI_CACHE_SIZE];
	struct stats_sample prev;
	struct event *sample_timer;
	const char *log_dir; /* xn_kapi_set_log_dir; NULL: no log space in stats */
};

/* ---- the route table (kubelet_api_server.c, the hub) ----
 *
 * One row a path prefix: what authorization asks for and which handler
 * answers.  The hub looks the row up once per request; the handlers are
 * reached only through it and use only the kreq_ helpers below. */
typedef void kapi_handler(struct kreq *r);
#define KAPI_SEG_ANY 0xffu
struct kapi_route {
	const char *path;   /* this path and all below it (the kubelet's isSubpath) */
	const char *sub[2]; /* SubjectAccessReview subresources, tried in order */
	const char *verb;   /* the SubjectAccessReview verb whatever the method;
			     * NULL: from the method */
	unsigned nseg;	    /* path segments after path that go to r->seg (KAPI_SEG_ANY: any) */
	const char *usage;  /* a wrong number of segments: 400 "path must be <usage>" */
	kapi_handler *get;  /* GET and HEAD */
	kapi_handler *post;
	kapi_handler *upgrade; /* any method with an Upgrade: header */
	kapi_handler *other;   /* any other method; none: 405, or 404 with no handler at all */
};
extern const struct kapi_route kapi_routes[];
extern const size_t kapi_nroutes;
/* The first row whose path is path or a parent of it ("/" is the last). */
const struct kapi_route *kapi_route_find(const char *path);

/* ---- request and reply helpers (kubelet_api_req.c) ---- */
void kreq_reply(struct kreq *r, int code, const char *ctype, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A Kubernetes Status object as the body (the kubelet answers errors so). */
void kreq_error(struct kreq *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kreq_reply_buf(struct kreq *r, int code, const char *ctype, struct evbuffer *body);
/* Count an answer by its status code, for a handler that starts its reply
 * itself (a stream); the kreq_reply* helpers count theirs. */
void kreq_count(int code);
/* Free r; the connection may take its next request. */
void kreq_free(struct kreq *r);
void kuser_dispose(struct kuser *u);
void kuser_copy(struct kuser *dst, const struct kuser *src);

/* kubelet_tls.c */
SSL_CTX *kapi_tls_ctx(const struct xn_kapi_opts *o, xn_err *err);
/* The verified client certificate of the connection as a user (CN, O). */
bool kapi_tls_peer_user(struct kreq *r, struct kuser *u);
/* The handshake on ssl is done with a client certificate that verified
 * against the client CA (the connection is authenticated). */
bool kapi_tls_peer_verified(SSL *ssl);

/* kubelet_auth.c: authenticate then authorize r; calls done(r) when allowed,
 * answers 401/403 itself otherwise. */
void kapi_auth(struct kreq *r, void (*done)(struct kreq *r));
void kapi_auth_cancel(struct kreq *r);
void kapi_auth_cache_clear(struct xn_kapi *k);

/* ---- handlers, each named by a row of the table ---- */

/* kubelet_api.c */
void kapi_healthz(struct kreq *r);
void kapi_pods(struct kreq *r);
void kapi_running_pods(struct kreq *r);
void kapi_exec_post(struct kreq *r); /* one control verb, the answer in the body */
void kapi_needs_upgrade(struct kreq *r);
void kapi_not_supported(struct kreq *r);

/* kubelet_api_logs.c: GET /containerLogs/NAMESPACE/POD/CONTAINER */
void kapi_container_logs(struct kreq *r);

/* kubelet_api.c: exec on a unikernel (docs/kubelet-api.md).  Runs verb
 * (nwords: how many command words came) on the pod's domain; its output
 * ("VERB: done", or the console for console-dump) is added to out.  0, or
 * an HTTP code with *msg (malloc'd) saying why: 400 not a verb, 404 the pod
 * is gone, 409 not running, 500 the hypervisor failed. */
#define KAPI_EXEC_VERBS "pause, unpause, shutdown or console-dump"
int kapi_exec_verb(struct xn_kapi *k, const char *who, const char *uid, const char *verb,
		   size_t nwords, struct evbuffer *out, char **msg);

/* kubelet_stream.c: exec and attach over SPDY/3.1 (r carries Upgrade:). */
void kapi_exec_stream(struct kreq *r);
void kapi_attach_stream(struct kreq *r);
/* The session apart from HTTP (unit tests drive it over a socketpair):
 * kstream_new reads the channels and the command from r->query (NULL when
 * none of stdin, stdout, stderr is asked for); kstream_run speaks
 * remotecommand v4 over SPDY on bev from then on and frees r at the end
 * (and r->c's connection, if any).  bev stays the caller's. */
struct kstream;
struct bufferevent;
struct kstream *kstream_new(struct kreq *r, bool exec, const char *uid);
void kstream_run(struct kstream *ks, struct bufferevent *bev);

/* kubelet_api_stats.c: the handlers, and the sampler the server starts */
void kapi_stats_summary(struct kreq *r);
void kapi_metrics_resource(struct kreq *r);
void kapi_metrics(struct kreq *r);
void kapi_stats_start(struct xn_kapi *k);
void kapi_stats_stop(struct xn_kapi *k);

/* Following a CRI log (logs -f, attach): the pod's instance still runs, so
 * more lines may come.  (Rotations: xn_crilog_reopen_rotated.) */
bool kapi_instance_live(struct xn_kapi *k, const char *uid, unsigned instance);

#endif
