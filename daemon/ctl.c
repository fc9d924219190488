/* ctl.c - the root-only control socket that xl-pod talks to (see ctl.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "xenlet/ctl.h"
#include "xenlet/hv_guard.h"
#include "xenlet/image_cache_rm.h"
#include "xenlet/image_layout.h"
#include "xenlet/image_path.h"
#include "xenlet/image_pull.h"
#include "xenlet/image_ref.h"
#include "xenlet/log.h"
#include "xenlet/pod_translate.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

struct conn;

struct xn_ctl {
	struct event_base *base;
	struct evconnlistener *listener;
	char *path;
	struct xn_runtime *rt;
	struct xn_hv *hv;
	struct xn_image_puller *puller; /* NULL: no image commands */
	struct conn *conns;
	/* Out of descriptors, the socket root uses to look at the node must
	 * still answer: one descriptor (on /dev/null) is kept to be given up
	 * for an accept when none is left, and taken back when it can be. */
	int reserve_fd;
	struct event *resume; /* re-enables the listener after an accept error */
	uint64_t logged_ns;   /* the last accept error message */
	unsigned held;	      /* accept errors since */
};

#define CTL_ACCEPT_BACKOFF_MS 250 /* also in the message of on_accept_error */
#define CTL_LOG_INTERVAL_S    10

struct conn {
	struct conn *next;
	struct xn_ctl *ctl;
	struct bufferevent *bev;
	char *waiting_uid;	    /* a destroy waits for this pod to be gone */
	struct xn_image_pull *pull; /* an image pull answers when it ends */
	bool discarding;	    /* the rest of an overlong line, up to its newline */
};

static void take_reserve(struct xn_ctl *ctl);

static void conn_free(struct conn *c)
{
	struct xn_ctl *ctl = c->ctl;
	struct conn **pp;

	for (pp = &c->ctl->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->pull)
		xn_image_pull_cancel(c->pull);
	bufferevent_free(c->bev);
	free(c->waiting_uid);
	free(c);
	take_reserve(ctl);
}

static void take_reserve(struct xn_ctl *ctl)
{
	if (ctl->reserve_fd < 0)
		ctl->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void reply(struct conn *c, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	if (s != NULL) {
		bufferevent_write(c->bev, s, strlen(s));
		bufferevent_write(c->bev, "\n", 1);
		free(s);
	}
	cJSON_Delete(o);
}

static void reply_ok(struct conn *c, cJSON *o)
{
	if (o == NULL)
		o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	reply(c, o);
}

__attribute__((format(printf, 2, 3))) static void reply_err(struct conn *c, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(o, "error", msg);
	reply(c, o);
}

static const char *str_arg(cJSON *req, const char *k, const char *dflt)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(req, k);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* The list's coarse state: the kubelet's words, and what an operator
 * wants to see beside them: paused, stopping. */
static const char *state_name(const struct xn_pod_status *st)
{
	if (st->stopping || st->phase == XN_POD_STOPPING)
		return "stopping";
	if (st->phase == XN_POD_PAUSED)
		return "paused";
	switch (st->state) {
	case XN_INST_WAITING: return "waiting";
	case XN_INST_RUNNING: return "running";
	case XN_INST_TERMINATED: return "terminated";
	}
	return "unknown";
}

static int list_one(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	cJSON *arr = arg, *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "namespace", s->ns);
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "uid", s->uid);
	if (st->domid != XN_DOMID_INVALID)
		cJSON_AddNumberToObject(o, "domid", st->domid);
	cJSON_AddStringToObject(o, "state", state_name(st));
	cJSON_AddStringToObject(o, "phase", xn_pod_phase_name(st->phase));
	cJSON_AddStringToObject(o, "reason", st->reason);
	cJSON_AddStringToObject(o, "message", st->message);
	cJSON_AddNumberToObject(o, "restarts", st->restart_count);
	cJSON_AddBoolToObject(o, "ready", st->ready);
	if (st->has_last)
		cJSON_AddNumberToObject(o, "exitCode", st->last.exit_code);
	cJSON_AddBoolToObject(o, "local", s->local);
	cJSON_AddStringToObject(o, "image", s->image ? s->image : s->kernel);
	cJSON_AddNumberToObject(o, "memoryKiB", (double)s->memory_kb);
	cJSON_AddItemToArray(arr, o);
	return 0;
}

static void new_uid(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		fatal("getrandom");
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

static cJSON *domain_json(const struct xn_domain_config *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", d->name);
	cJSON_AddStringToObject(o, "type", d->type == XN_GUEST_PVH ? "pvh" : "pv");
	cJSON_AddStringToObject(o, "kernel", d->kernel);
	if (d->ramdisk)
		cJSON_AddStringToObject(o, "ramdisk", d->ramdisk);
	if (d->cmdline)
		cJSON_AddStringToObject(o, "cmdline", d->cmdline);
	cJSON_AddNumberToObject(o, "memoryKiB", (double)d->memory_kb);
	cJSON_AddNumberToObject(o, "vcpus", d->vcpus);
	cJSON_AddNumberToObject(o, "cpuWeight", d->cpu_weight);
	cJSON_AddNumberToObject(o, "cpuCap", d->cpu_cap);
	return o;
}

/* The Pod an API server would hand us for this request: local pods go
 * through the same translation, limits and messages as API pods.
 *   memory -> limits.memory; vcpus (when given) -> limits.cpu;
 *   cmdline -> args; type, ramdisk, readiness, bootTimeout -> the
 *   xenlet.io/ annotations.
 * Only the request's own shape is checked here; NULL and *why on error. */
static cJSON *local_pod(cJSON *req, const char *uid, char *why, size_t whylen)
{
	const char *name = str_arg(req, "name", NULL), *ns = str_arg(req, "namespace", "default");
	const char *kernel = str_arg(req, "kernel", NULL), *cmdline = str_arg(req, "cmdline", NULL);
	const char *ramdisk = str_arg(req, "ramdisk", NULL), *type = str_arg(req, "type", NULL);
	cJSON *vcpus = cJSON_GetObjectItemCaseSensitive(req, "vcpus");
	cJSON *boot = cJSON_GetObjectItemCaseSensitive(req, "bootTimeout");
	cJSON *pod, *meta, *ann, *spec, *c, *limits;
	char num[32];

	if (name == NULL || kernel == NULL) {
		snprintf(why, whylen, "name and kernel are required");
		return NULL;
	}
	/* the API server's checks, which API pods have passed already */
	if (!xn_dns_subdomain(name)) {
		snprintf(why, whylen,
			 "name '%s': must be lowercase letters, digits, '-' and '.', "
			 "alphanumeric at both ends (a Kubernetes pod name)",
			 name);
		return NULL;
	}
	if (!xn_dns_label(ns)) {
		snprintf(why, whylen,
			 "namespace '%s': must be a DNS label (lowercase letters, digits, '-')",
			 ns);
		return NULL;
	}
	if (vcpus != NULL &&
	    (!cJSON_IsNumber(vcpus) || vcpus->valuedouble < 1 || vcpus->valuedouble > 128 ||
	     vcpus->valuedouble != (double)(unsigned)vcpus->valuedouble)) {
		snprintf(why, whylen, "vcpus: must be a whole number 1..128");
		return NULL;
	}
	if (boot != NULL && (!cJSON_IsNumber(boot) || boot->valuedouble < 0 ||
			     boot->valuedouble != (double)(unsigned)boot->valuedouble)) {
		snprintf(why, whylen, "bootTimeout: must be a whole number of seconds");
		return NULL;
	}
	pod = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(pod, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", ns);
	cJSON_AddStringToObject(meta, "uid", uid);
	ann = cJSON_AddObjectToObject(meta, "annotations");
	if (type)
		cJSON_AddStringToObject(ann, "xenlet.io/guest-type", type);
	if (ramdisk)
		cJSON_AddStringToObject(ann, "xenlet.io/ramdisk", ramdisk);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "readiness")))
		cJSON_AddStringToObject(ann, "xenlet.io/readiness", "guest");
	if (boot != NULL) {
		snprintf(num, sizeof(num), "%u", (unsigned)boot->valuedouble);
		cJSON_AddStringToObject(ann, "xenlet.io/boot-timeout", num);
	}
	spec = cJSON_AddObjectToObject(pod, "spec");
	cJSON_AddStringToObject(spec, "restartPolicy", str_arg(req, "restartPolicy", "Never"));
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
	cJSON_AddStringToObject(c, "name", str_arg(req, "container", "main"));
	cJSON_AddStringToObject(c, "image", kernel);
	if (cmdline && cmdline[0])
		cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "args"),
				     cJSON_CreateString(cmdline));
	limits = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
	cJSON_AddStringToObject(limits, "memory", str_arg(req, "memory", "64Mi"));
	if (vcpus != NULL) {
		snprintf(num, sizeof(num), "%u", (unsigned)vcpus->valuedouble);
		cJSON_AddStringToObject(limits, "cpu", num);
	}
	return pod;
}

/* A local pod: what `xl-pod create` asks for, translated and checked as a
 * pod from the API server is (pod_translate.c), with the same messages. */
static void op_create(struct conn *c, cJSON *req)
{
	static const struct xn_pod_defaults defaults = {.memory_bytes = 64 << 20};
	struct xn_pod_spec s = {0};
	struct xn_pod_reject rej;
	char uid[37], name[XN_NAME_MAX], why[512];
	cleanup_free char *warnings = NULL;
	cJSON *pod, *o;
	xn_err err = NULL;
	struct xn_domain_config d;
	struct stat sb;
	char detail[PATH_MAX + 64];

	new_uid(uid);
	pod = local_pod(req, uid, why, sizeof(why));
	if (pod == NULL) {
		reply_err(c, "create: %s", why);
		return;
	}
	if (xn_pod_translate(pod, &defaults, &s, &warnings, &rej) < 0) {
		cJSON_Delete(pod);
		reply_err(c, "create: %s", rej.message);
		return;
	}
	cJSON_Delete(pod);
	s.local = true;
	if (s.kernel == NULL) {
		/* a registry reference: pulled for API pods only (image_pod.h) */
		reply_err(c,
			  "create: image \"%s\": xl-pod create takes an absolute kernel path under "
			  "the image roots; registry images run as pods through the API server",
			  s.image);
		goto out;
	}
	/* the image roots hold for local pods too (image_path.h); the detail
	 * goes to the log only, the client gets the one message */
	if (xn_image_check(s.kernel, s.ramdisk, &sb, detail, sizeof(detail), &err) < 0) {
		log_info("ctl: create %s/%s: %s", s.ns, s.name, detail);
		reply_err(c, "create: %s", xn_error_msg(err));
		xn_error_free(&err);
		goto out;
	}
	/* the kernel's guest types (hv_guard.h, issue 11): the type asked for
	 * is refused here, or the kernel's chosen, so -N shows what a run builds */
	if (xn_hv_guard_kernel_type(c->ctl->hv, s.kernel, !s.type_from_kernel, &s.type, &err) < 0) {
		reply_err(c, "create: %s", xn_error_msg(err));
		xn_error_free(&err);
		goto out;
	}
	s.type_from_kernel = false;
	xn_runtime_domain_config(&s, name, &d);
	if (xn_domain_config_check(&d, &err) < 0) {
		reply_err(c, "create: %s", xn_error_msg(err));
		xn_error_free(&err);
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "dryRun"))) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "domain", domain_json(&d));
		reply_ok(c, o);
		goto out;
	}
	if (xn_runtime_run(c->ctl->rt, &s, &err) < 0) {
		reply_err(c, "create: %s", xn_error_msg(err));
		xn_error_free(&err);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "uid", uid);
	reply_ok(c, o);
out:
	xn_pod_spec_dispose(&s);
}

static const char *lookup(struct conn *c, cJSON *req, const char *op)
{
	const char *name = str_arg(req, "name", NULL);
	const char *ns = str_arg(req, "namespace", "default");
	const char *uid;

	if (name == NULL) {
		reply_err(c, "%s: name is required", op);
		return NULL;
	}
	uid = xn_runtime_find(c->ctl->rt, ns, name);
	if (uid == NULL)
		reply_err(c, "%s: pod %s/%s: not on this node", op, ns, name);
	return uid;
}

static void op_destroy(struct conn *c, cJSON *req)
{
	const char *uid = lookup(c, req, "destroy");
	const struct xn_pod_spec *s;
	cJSON *g = cJSON_GetObjectItemCaseSensitive(req, "grace");
	unsigned grace;
	xn_err err = NULL;
	char *keep;

	if (uid == NULL)
		return;
	s = xn_runtime_spec(c->ctl->rt, uid);
	grace = s->grace_s;
	if (g != NULL) {
		if (!cJSON_IsNumber(g) || g->valuedouble < 0 || g->valuedouble > 86400) {
			reply_err(c, "destroy: grace: must be 0..86400 seconds");
			return;
		}
		grace = (unsigned)g->valuedouble;
	}
	keep = xn_xstrdup(uid); /* the runtime may free the pod before we return */
	free(c->waiting_uid);
	c->waiting_uid = keep;
	if (xn_runtime_kill(c->ctl->rt, keep, grace, &err) < 0) {
		reply_err(c, "destroy: %s", xn_error_msg(err));
		xn_error_free(&err);
		free(c->waiting_uid);
		c->waiting_uid = NULL;
	}
	/* the answer goes out from xn_ctl_pod_removed() */
}

void xn_ctl_pod_removed(struct xn_ctl *ctl, const char *uid)
{
	for (struct conn *c = ctl ? ctl->conns : NULL; c; c = c->next)
		if (c->waiting_uid && strcmp(c->waiting_uid, uid) == 0) {
			free(c->waiting_uid);
			c->waiting_uid = NULL;
			reply_ok(c, NULL);
		}
}

static void op_node(struct conn *c)
{
	struct xn_host_info hi;
	xn_err err = NULL;
	unsigned pods, vcpus;
	uint64_t mem;
	cJSON *o, *h;

	if (c->ctl->hv->ops->host_info(c->ctl->hv, &hi, &err) < 0) {
		reply_err(c, "node: %s", xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	xn_runtime_usage(c->ctl->rt, &pods, &mem, &vcpus);
	o = cJSON_CreateObject();
	h = cJSON_AddObjectToObject(o, "host");
	cJSON_AddStringToObject(h, "hostname", hi.hostname);
	cJSON_AddStringToObject(h, "xenVersion", hi.xen_version);
	cJSON_AddStringToObject(h, "arch", hi.arch);
	cJSON_AddNumberToObject(h, "cpus", hi.nr_cpus);
	cJSON_AddNumberToObject(h, "totalKiB", (double)hi.total_kb);
	cJSON_AddNumberToObject(h, "freeKiB", (double)hi.free_kb);
	cJSON_AddStringToObject(o, "backend", c->ctl->hv->ops->name);
	cJSON_AddNumberToObject(o, "pods", pods);
	cJSON_AddNumberToObject(o, "memoryKiB", (double)mem);
	cJSON_AddNumberToObject(o, "vcpus", vcpus);
	reply_ok(c, o);
}

/* pause/unpause: the vCPUs stop, the pod lists as paused (as `xl pause`;
 * Kubernetes has no paused state and still sees it running). */
static void op_pause(struct conn *c, cJSON *req, bool pause)
{
	const char *op = pause ? "pause" : "unpause";
	const char *uid = lookup(c, req, op);
	xn_err err = NULL;
	int rc;

	if (uid == NULL)
		return;
	rc = pause ? xn_runtime_pause(c->ctl->rt, uid, &err)
		   : xn_runtime_unpause(c->ctl->rt, uid, &err);
	if (rc < 0) {
		reply_err(c, "%s: %s", op, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	reply_ok(c, NULL);
}

static void op_logs(struct conn *c, cJSON *req)
{
	const char *uid = lookup(c, req, "logs");
	const struct xn_pod_status *st;
	bool previous = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "previous"));
	unsigned inst = 0;
	char *path;
	int rc;
	cJSON *o;

	if (uid == NULL)
		return;
	rc = xn_runtime_log_instance(c->ctl->rt, uid, previous, &inst);
	if (rc == -2) {
		reply_err(c, "logs: previous: no previous instance of the pod");
		return;
	}
	if (rc < 0) {
		st = xn_runtime_status(c->ctl->rt, uid);
		reply_err(c, "logs: the pod is waiting to start: %s",
			  st->reason[0] ? st->reason : "ContainerCreating");
		return;
	}
	path = xn_runtime_log_path(c->ctl->rt, uid, inst);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", path);
	free(path);
	reply_ok(c, o);
}

static void op_console(struct conn *c, cJSON *req)
{
	const char *uid = lookup(c, req, "console");
	char *tty = NULL;
	xn_err err = NULL;
	cJSON *o;

	if (uid == NULL)
		return;
	if (xn_runtime_console_path(c->ctl->rt, uid, &tty, &err) < 0) {
		reply_err(c, "console: %s", xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "tty", tty);
	free(tty);
	reply_ok(c, o);
}

/* Image commands (xl-pod image ...): the daemon's puller and cache. */
static const char *image_cache(struct conn *c)
{
	if (c->ctl->puller == NULL) {
		reply_err(c, "image: this xenletd has no image cache");
		return NULL;
	}
	return xn_image_puller_cache_dir(c->ctl->puller);
}

static void image_pulled(const struct xn_image_info *info, const char *err_msg, void *arg)
{
	struct conn *c = arg;
	cJSON *o;

	c->pull = NULL;
	if (info == NULL) {
		reply_err(c, "image pull: %s", err_msg ? err_msg : "failed");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ref", info->ref);
	cJSON_AddStringToObject(o, "digest", info->digest);
	cJSON_AddStringToObject(o, "imageID", info->image_id);
	cJSON_AddNumberToObject(o, "size", (double)info->size);
	cJSON_AddNumberToObject(o, "fetched", (double)info->fetched);
	reply_ok(c, o);
}

/* Answered when the pull ends, from the loop: the loop never waits. */
static void op_image_pull(struct conn *c, cJSON *req)
{
	const char *ref = str_arg(req, "ref", NULL);
	xn_err err = NULL;

	if (image_cache(c) == NULL)
		return;
	if (ref == NULL) {
		reply_err(c, "image pull: no ref");
		return;
	}
	if (c->pull != NULL) {
		reply_err(c, "image pull: this connection is already pulling");
		return;
	}
	c->pull = xn_image_pull_start(c->ctl->puller, ref, image_pulled, c, &err);
	if (c->pull == NULL) {
		reply_err(c, "image pull: %s", xn_error_msg(err));
		xn_error_free(&err);
	}
}

struct image_list {
	const char *cache;
	cJSON *arr;
};

static void image_list_one(const char *ref, const char *digest, void *arg)
{
	struct image_list *l = arg;
	struct xn_image_info info;
	cJSON *o = cJSON_CreateObject();
	xn_err err = NULL;

	cJSON_AddStringToObject(o, "ref", ref);
	cJSON_AddStringToObject(o, "digest", digest);
	if (xn_image_cache_lookup(l->cache, ref, &info, &err) == 0) {
		cJSON_AddNumberToObject(o, "size", (double)info.size);
		cJSON_AddStringToObject(o, "kernel", info.kernel);
		xn_image_info_dispose(&info);
	} else {
		cJSON_AddStringToObject(o, "error", xn_error_msg(err));
		xn_error_free(&err);
	}
	cJSON_AddItemToArray(l->arr, o);
}

static void op_image_list(struct conn *c)
{
	struct image_list l = {.cache = image_cache(c)};
	cJSON *o;
	xn_err err = NULL;

	if (l.cache == NULL)
		return;
	o = cJSON_CreateObject();
	l.arr = cJSON_AddArrayToObject(o, "images");
	if (xn_image_cache_list(l.cache, image_list_one, &l, &err) < 0) {
		reply_err(c, "image list: %s", xn_error_msg(err));
		xn_error_free(&err);
		cJSON_Delete(o);
		return;
	}
	reply_ok(c, o);
}

struct image_user {
	const struct xn_image_info *info;
	char pod[512];
};

/* A pod uses an image when it names the reference or runs its kernel. */
static int image_user_one(const struct xn_pod_spec *s, const struct xn_pod_status *st, void *arg)
{
	struct image_user *u = arg;
	struct xn_image_ref r;
	xn_err err = NULL;
	bool used = u->info->kernel && s->kernel && strcmp(s->kernel, u->info->kernel) == 0;

	if (!used && s->image && xn_image_ref_parse(s->image, &r, &err) == 0) {
		cleanup_free char *norm = xn_image_ref_string(&r);

		used = strcmp(norm, u->info->ref) == 0;
		xn_image_ref_dispose(&r);
	}
	xn_error_free(&err);
	if (used)
		snprintf(u->pod, sizeof(u->pod), "%s/%s", s->ns, s->name);
	return used;
}

static const char *image_in_use(const struct xn_image_info *info, void *arg)
{
	struct conn *c = arg;
	static struct image_user u;

	memset(&u, 0, sizeof(u));
	u.info = info;
	xn_runtime_foreach(c->ctl->rt, image_user_one, &u);
	return u.pod[0] ? u.pod : NULL;
}

static void op_image_remove(struct conn *c, cJSON *req)
{
	const char *cache = image_cache(c), *name = str_arg(req, "ref", NULL);
	cJSON *o, *removed;
	xn_err err = NULL;

	if (cache == NULL)
		return;
	if (name == NULL) {
		reply_err(c, "image rm: no ref or digest");
		return;
	}
	o = cJSON_CreateObject();
	removed = cJSON_AddArrayToObject(o, "removed");
	if (xn_image_cache_remove(cache, name, image_in_use, c, removed, &err) < 0) {
		reply_err(c, "image rm: %s", xn_error_msg(err));
		xn_error_free(&err);
		cJSON_Delete(o);
		return;
	}
	reply_ok(c, o);
}

/* Copies a layout's blobs on the loop: kernels are a few MiB, and import
 * is an operator's offline step, not something pods wait behind. */
static void op_image_import(struct conn *c, cJSON *req)
{
	const char *cache = image_cache(c), *path = str_arg(req, "path", NULL);
	const char *ref = str_arg(req, "ref", NULL);
	cleanup_free char *digest = NULL;
	cJSON *o;
	xn_err err = NULL;

	if (cache == NULL)
		return;
	if (path == NULL || path[0] != '/' || ref == NULL) {
		reply_err(c, "image import: needs an absolute path and a ref");
		return;
	}
	if (xn_layout_import(path, cache, ref, &digest, &err) < 0) {
		reply_err(c, "image %s", xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "digest", digest);
	reply_ok(c, o);
}

static void handle(struct conn *c, const char *line)
{
	cJSON *req = cJSON_Parse(line);
	const char *op;

	if (req == NULL || !cJSON_IsObject(req)) {
		reply_err(c, "request: not a JSON object");
		cJSON_Delete(req);
		return;
	}
	op = str_arg(req, "op", "");
	if (strcmp(op, "version") == 0) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "version", XN_VERSION);
		cJSON_AddStringToObject(o, "backend", c->ctl->hv->ops->name);
		reply_ok(c, o);
	} else if (strcmp(op, "list") == 0) {
		cJSON *o = cJSON_CreateObject();
		xn_runtime_foreach(c->ctl->rt, list_one, cJSON_AddArrayToObject(o, "pods"));
		reply_ok(c, o);
	} else if (strcmp(op, "create") == 0) {
		op_create(c, req);
	} else if (strcmp(op, "destroy") == 0) {
		op_destroy(c, req);
	} else if (strcmp(op, "node") == 0) {
		op_node(c);
	} else if (strcmp(op, "pause") == 0 || strcmp(op, "unpause") == 0) {
		op_pause(c, req, strcmp(op, "pause") == 0);
	} else if (strcmp(op, "logs") == 0) {
		op_logs(c, req);
	} else if (strcmp(op, "console") == 0) {
		op_console(c, req);
	} else if (strcmp(op, "imagePull") == 0) {
		op_image_pull(c, req);
	} else if (strcmp(op, "imageList") == 0) {
		op_image_list(c);
	} else if (strcmp(op, "imageRemove") == 0) {
		op_image_remove(c, req);
	} else if (strcmp(op, "imageImport") == 0) {
		op_image_import(c, req);
	} else {
		reply_err(c, "request: unknown op '%s'", op);
	}
	cJSON_Delete(req);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	for (;;) {
		if (c->discarding) {
			struct evbuffer_ptr eol =
			    evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);

			if (eol.pos < 0) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return;
			}
			evbuffer_drain(in, (size_t)eol.pos + 1);
			c->discarding = false;
		}
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL)
			break;
		if (len > XN_CTL_LINE_MAX)
			reply_err(c, "request: longer than %d bytes", XN_CTL_LINE_MAX);
		else
			handle(c, line);
		free(line);
	}
	/* one answer per request: the tail of an overlong line, when it comes,
	 * is dropped rather than read as a request of its own */
	if (evbuffer_get_length(in) > XN_CTL_LINE_MAX) {
		reply_err(c, "request: longer than %d bytes", XN_CTL_LINE_MAX);
		evbuffer_drain(in, evbuffer_get_length(in));
		c->discarding = true;
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	struct xn_ctl *ctl = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		static const char msg[] =
		    "{\"ok\":false,\"error\":\"permission denied: root only\"}\n";
		ssize_t r = write(fd, msg, sizeof(msg) - 1);
		(void)r;
		log_warnx("ctl: refused a connection from uid %d", clen ? (int)cred.uid : -1);
		close(fd);
		return;
	}
	c = xn_xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = ctl->conns;
	ctl->conns = c;
}

/* Accept errors are logged once per interval, with how many were not. */
static void log_accept_error(struct xn_ctl *ctl, int e, const char *then)
{
	uint64_t now = xn_now_mono_ns();

	if (ctl->logged_ns != 0 && now - ctl->logged_ns < CTL_LOG_INTERVAL_S * 1000000000ull) {
		ctl->held++;
		return;
	}
	log_warnx("ctl: accept: %s; %s (%u more since the last message)", strerror(e), then,
		  ctl->held);
	ctl->logged_ns = now;
	ctl->held = 0;
}

/* An accept failed.  Out of descriptors, the reserve one is given up for
 * this connection; otherwise (or with the reserve spent) the listener rests
 * a moment rather than being woken again at once by the same pending
 * connection. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct xn_ctl *ctl = arg;
	int e = EVUTIL_SOCKET_ERROR(), fd;
	struct timeval tv = {0, CTL_ACCEPT_BACKOFF_MS * 1000};

	take_reserve(ctl);
	if ((e == EMFILE || e == ENFILE) && ctl->reserve_fd >= 0) {
		close(ctl->reserve_fd);
		ctl->reserve_fd = -1;
		fd = accept4(evconnlistener_get_fd(l), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			log_accept_error(ctl, e, "answering on the reserve descriptor");
			on_accept(l, fd, NULL, 0, ctl);
			return;
		}
		e = errno;
		take_reserve(ctl);
	}
	evconnlistener_disable(l);
	evtimer_add(ctl->resume, &tv);
	log_accept_error(ctl, e, "resting the listener 250 ms each time");
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct xn_ctl *ctl = arg;

	take_reserve(ctl);
	evconnlistener_enable(ctl->listener);
}

struct xn_ctl *xn_ctl_listen(struct event_base *base, const char *path, struct xn_runtime *rt,
			     struct xn_hv *hv, xn_err *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct xn_ctl *ctl;
	cleanup_free char *dir = xn_xstrdup(path);
	char *slash = strrchr(dir, '/');
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		xn_error(err, ENAMETOOLONG, "ctl socket %s: path too long", path);
		return NULL;
	}
	if (slash && slash != dir) {
		*slash = '\0';
		if (xn_mkdir_p(dir, 0700) < 0) {
			xn_error_errno(err, errno, "ctl socket directory %s", dir);
			return NULL;
		}
	}
	strcpy(sun.sun_path, path);
	unlink(path); /* a stale socket from a previous run; the lock file guards live ones */
	ctl = xn_xcalloc(1, sizeof(*ctl));
	ctl->base = base;
	ctl->rt = rt;
	ctl->hv = hv;
	ctl->path = xn_xstrdup(path);
	old = umask(0077);
	ctl->listener = evconnlistener_new_bind(base, on_accept, ctl,
						LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
						(struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ctl->listener == NULL) {
		xn_error_errno(err, errno, "ctl socket %s", path);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	ctl->reserve_fd = -1;
	take_reserve(ctl);
	ctl->resume = evtimer_new(base, on_resume, ctl);
	evconnlistener_set_error_cb(ctl->listener, on_accept_error);
	return ctl;
}

void xn_ctl_set_puller(struct xn_ctl *ctl, struct xn_image_puller *puller)
{
	ctl->puller = puller;
}

void xn_ctl_close(struct xn_ctl *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->conns)
		conn_free(ctl->conns);
	evconnlistener_free(ctl->listener);
	event_free(ctl->resume);
	if (ctl->reserve_fd >= 0)
		close(ctl->reserve_fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}
