/* kubelet_csr_mgr.c - serverTLSBootstrap's flow: stored certificate, CSR,
 * watch until issued, install, store, renew (see kubelet_csr.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "xenlet/kube.h"
#include "xenlet/kubelet_csr.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

struct xn_kcsr {
	struct event_base *base;
	struct xn_kube *kube;
	char *node;
	char *ip;
	char *path; /* the stored certificate + key */
	xn_kcsr_apply_fn apply;
	void *arg;
	struct event *timer; /* next request (renewal, retry) */
	struct event *drop;  /* frees a finished informer outside its callbacks */
	struct xn_kube_req *post;
	struct xn_informer *inf;
	char *csr_name; /* the CSR being waited for */
	char *key_pem;	/* its private key */
	unsigned backoff_s;
};

static void arm(struct xn_kcsr *c, int64_t secs)
{
	struct timeval tv = {.tv_sec = secs > 0 ? secs : 0};

	evtimer_add(c->timer, &tv);
}

static void retry(struct xn_kcsr *c, const char *what)
{
	c->backoff_s = c->backoff_s ? c->backoff_s * 2 : XN_KCSR_BACKOFF_MIN_S;
	if (c->backoff_s > XN_KCSR_BACKOFF_MAX_S)
		c->backoff_s = XN_KCSR_BACKOFF_MAX_S;
	log_warnx("serving certificate: %s; new CSR in %us", what, c->backoff_s);
	arm(c, c->backoff_s);
}

/* Stop waiting for the current CSR (the informer goes on the next turn). */
static void forget_csr(struct xn_kcsr *c)
{
	static const struct timeval now = {0, 0};

	free(c->csr_name);
	c->csr_name = NULL;
	free(c->key_pem);
	c->key_pem = NULL;
	if (c->inf)
		event_add(c->drop, &now);
}

static void on_drop(evutil_socket_t fd, short what, void *arg)
{
	struct xn_kcsr *c = arg;

	if (c->csr_name == NULL) {
		xn_informer_free(c->inf);
		c->inf = NULL;
	}
}

static void schedule_renewal(struct xn_kcsr *c, int64_t nb, int64_t na)
{
	int64_t at = xn_kcsr_renew_at(nb, na, (double)random() / RAND_MAX);
	int64_t now = (int64_t)(xn_now_real_ns() / 1000000000u);

	log_info("serving certificate valid until %lld; renewal in %llds", (long long)na,
		 (long long)(at - now));
	arm(c, at - now);
}

static int store(struct xn_kcsr *c, const char *pem, xn_err *err)
{
	cleanup_free char *dir = xn_xstrdup(c->path);
	cleanup_free char *tmp = xn_xasprintf("%s.tmp", c->path);
	int fd;

	*strrchr(dir, '/') = '\0';
	if (xn_mkdir_p(dir, 0700) < 0)
		return xn_error_errno(err, errno, "%s", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return xn_error_errno(err, errno, "%s", tmp);
	if (fchmod(fd, 0600) < 0 || xn_write_all(fd, pem, strlen(pem)) < 0 || fsync(fd) < 0) {
		xn_error_errno(err, errno, "%s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, c->path) < 0) {
		xn_error_errno(err, errno, "rename %s", tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void issued(struct xn_kcsr *c, const char *cert)
{
	cleanup_free char *pem =
	    xn_xasprintf("%s%s%s", cert, cert[strlen(cert) - 1] == '\n' ? "" : "\n", c->key_pem);
	int64_t nb, na;
	xn_err err = NULL;

	if (xn_kcsr_cert_times(pem, pem, &nb, &na, &err) < 0 ||
	    c->apply(pem, pem, c->arg, &err) < 0) {
		cleanup_free char *what = xn_xasprintf("CSR %s: issued certificate unusable: %s",
						       c->csr_name, xn_error_msg(err));
		xn_error_free(&err);
		forget_csr(c);
		retry(c, what);
		return;
	}
	log_info("serving certificate: CSR %s issued; new connections use it", c->csr_name);
	if (store(c, pem, &err) < 0) {
		log_warnx("serving certificate: not stored (a restart asks again): %s",
			  xn_error_msg(err));
		xn_error_free(&err);
	}
	c->backoff_s = 0;
	forget_csr(c);
	schedule_renewal(c, nb, na);
}

static void csr_seen(const cJSON *obj, void *arg)
{
	struct xn_kcsr *c = arg;
	const char *name = xn_kube_meta(obj, "name");
	cleanup_free char *cert = NULL;
	const char *why;
	enum xn_kcsr_state st;

	if (c->csr_name == NULL || name == NULL || strcmp(name, c->csr_name) != 0)
		return;
	st = xn_kcsr_status(obj, &cert, &why);
	switch (st) {
	case XN_KCSR_PENDING: return;
	case XN_KCSR_ISSUED: issued(c, cert); return;
	case XN_KCSR_DENIED:
	case XN_KCSR_FAILED:
		log_warnx("serving certificate: CSR %s was %s%s%s; the API keeps serving its "
			  "current certificate; new CSR in %ds",
			  c->csr_name, st == XN_KCSR_DENIED ? "denied" : "not signed",
			  why ? ": " : "", why ? why : "", XN_KCSR_DENIED_RETRY_S);
		forget_csr(c);
		arm(c, XN_KCSR_DENIED_RETRY_S);
		return;
	}
}

static void csr_add(const cJSON *obj, void *arg)
{
	csr_seen(obj, arg);
}

static void csr_update(const cJSON *old, const cJSON *obj, void *arg)
{
	csr_seen(obj, arg);
}

static void csr_del(const cJSON *obj, void *arg)
{
	struct xn_kcsr *c = arg;
	const char *name = xn_kube_meta(obj, "name");
	cleanup_free char *what = NULL;

	if (c->csr_name == NULL || name == NULL || strcmp(name, c->csr_name) != 0)
		return;
	what = xn_xasprintf("CSR %s was deleted before it was signed", name);
	forget_csr(c);
	retry(c, what);
}

static const struct xn_informer_ops csr_ops = {
    .add = csr_add,
    .update = csr_update,
    .del = csr_del,
};

static void posted(struct xn_kube_response *resp, void *arg)
{
	struct xn_kcsr *c = arg;
	const char *name = xn_kube_meta(resp->json, "name");
	cleanup_free char *what = NULL;
	cleanup_free char *sel = NULL;
	cleanup_free char *esc = NULL;
	cleanup_free char *q = NULL;

	c->post = NULL;
	if (resp->status != 201 || name == NULL) {
		what = xn_xasprintf("CSR not created: %s",
				    resp->message ? resp->message : "no name in the answer");
		free(c->key_pem);
		c->key_pem = NULL;
		retry(c, what);
		return;
	}
	c->csr_name = xn_xstrdup(name);
	log_info("serving certificate: created CSR %s (signer %s); waiting for approval", name,
		 XN_KCSR_SIGNER);
	sel = xn_xasprintf("metadata.name=%s", name);
	esc = xn_kube_escape(sel);
	q = xn_xasprintf("fieldSelector=%s", esc);
	if (c->inf) /* an earlier CSR's, not yet dropped */
		xn_informer_free(c->inf);
	c->inf = xn_informer_new(c->kube, "/apis/certificates.k8s.io/v1/certificatesigningrequests",
				 q, &csr_ops, c);
}

static void request(evutil_socket_t fd, short what, void *arg)
{
	struct xn_kcsr *c = arg;
	const char *ips[1] = {c->ip};
	cleanup_free char *csr_pem = NULL;
	cJSON *body;
	xn_err err = NULL;

	if (c->post || c->csr_name)
		return;
	if (xn_kcsr_make(c->node, ips, 1, &c->key_pem, &csr_pem, &err) < 0) {
		log_warnx("serving certificate: %s", xn_error_msg(err));
		xn_error_free(&err);
		arm(c, XN_KCSR_BACKOFF_MAX_S);
		return;
	}
	body = xn_kcsr_object(csr_pem, false);
	c->post = xn_kube_request(c->kube, XN_KUBE_POST,
				  "/apis/certificates.k8s.io/v1/certificatesigningrequests", body,
				  0, posted, c, &err);
	cJSON_Delete(body);
	if (c->post == NULL) {
		cleanup_free char *m = xn_xasprintf("CSR: %s", xn_error_msg(err));

		xn_error_free(&err);
		free(c->key_pem);
		c->key_pem = NULL;
		retry(c, m);
	}
}

static char *read_text(const char *path)
{
	char *buf = NULL;
	xn_err err = NULL;

	if (xn_read_file(path, 1u << 20, &buf, NULL, &err) < 0)
		xn_error_free(&err);
	return buf;
}

/* A still-valid stored certificate: install it and plan its renewal. */
static bool load_stored(struct xn_kcsr *c)
{
	cleanup_free char *pem = read_text(c->path);
	int64_t nb, na, now = (int64_t)(xn_now_real_ns() / 1000000000u);
	xn_err err = NULL;

	if (pem == NULL)
		return false;
	if (xn_kcsr_cert_times(pem, pem, &nb, &na, &err) < 0) {
		log_warnx("serving certificate %s: %s; requesting a new one", c->path,
			  xn_error_msg(err));
		xn_error_free(&err);
		return false;
	}
	/* checked before it is installed: an expired one is never served */
	if (na <= now) {
		log_warnx("serving certificate %s expired; requesting a new one", c->path);
		return false;
	}
	if (c->apply(pem, pem, c->arg, &err) < 0) {
		log_warnx("serving certificate %s: %s; requesting a new one", c->path,
			  xn_error_msg(err));
		xn_error_free(&err);
		return false;
	}
	log_info("serving certificate: using %s", c->path);
	schedule_renewal(c, nb, na);
	return true;
}

struct xn_kcsr *xn_kcsr_new(struct event_base *base, struct xn_kube *kube,
			    const struct xn_kcsr_opts *o, xn_kcsr_apply_fn apply, void *arg,
			    xn_err *err)
{
	struct xn_kcsr *c = xn_xcalloc(1, sizeof(*c));

	c->base = base;
	c->kube = kube;
	c->node = xn_xstrdup(o->node_name);
	c->ip = o->node_ip && *o->node_ip ? xn_xstrdup(o->node_ip) : NULL;
	c->path = xn_xasprintf("%s/%s", o->root_dir, XN_KCSR_FILE);
	c->apply = apply;
	c->arg = arg;
	c->timer = evtimer_new(base, request, c);
	c->drop = evtimer_new(base, on_drop, c);
	if (c->timer == NULL || c->drop == NULL) {
		xn_error(err, ENOMEM, "serving certificate: timer");
		xn_kcsr_free(c);
		return NULL;
	}
	if (!load_stored(c))
		arm(c, 0);
	return c;
}

void xn_kcsr_free(struct xn_kcsr *c)
{
	if (c == NULL)
		return;
	xn_kube_cancel(c->post);
	xn_informer_free(c->inf);
	if (c->timer)
		event_free(c->timer);
	if (c->drop)
		event_free(c->drop);
	free(c->csr_name);
	free(c->key_pem);
	free(c->node);
	free(c->ip);
	free(c->path);
	free(c);
}
