/* hv_guard.c - kernels and ramdisks from the image roots only, pinned by descriptor (see
 * hv_guard.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenlet/hv_guard.h"
#include "xenlet/image_elf.h"
#include "xenlet/image_path.h"
#include "xenlet/util.h"

struct pending;

struct guard {
	struct xn_hv hv; /* first: what callers hold */
	struct xn_hv_ops ops;
	struct xn_hv *inner;
	struct pending *pending;
};

/* One create in flight: the descriptors the backend reads through. */
struct pending {
	struct pending *next;
	struct guard *g;
	int fd[2]; /* kernel, ramdisk; -1 when none */
	char fdpath[2][XN_IMAGE_FD_PATH_MAX];
	char *path[2]; /* as the pod gave them, for messages */
	xn_hv_create_cb cb;
	void *arg;
};

static struct guard *guard_of(struct xn_hv *hv)
{
	return (struct guard *)hv;
}

static struct xn_hv *in(struct xn_hv *hv)
{
	return guard_of(hv)->inner;
}

static void pending_free(struct pending *p)
{
	struct pending **pp;

	for (pp = &p->g->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	for (int i = 0; i < 2; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		free(p->path[i]);
	}
	free(p);
}

/* msg with each descriptor name replaced by the path the pod gave. */
static char *readable(const struct pending *p, const char *msg)
{
	size_t cap = strlen(msg) + 1, len = 0;
	char *out;

	for (int i = 0; i < 2; i++)
		if (p->path[i])
			cap += strlen(p->path[i]) * 4; /* a few mentions at most */
	out = xn_xmalloc(cap);
	while (*msg) {
		int hit = -1;

		for (int i = 0; i < 2 && hit < 0; i++) {
			size_t n = strlen(p->fdpath[i]);

			if (p->fd[i] >= 0 && strncmp(msg, p->fdpath[i], n) == 0 &&
			    !(msg[n] >= '0' && msg[n] <= '9') && len + strlen(p->path[i]) < cap - 1)
				hit = i;
		}
		if (hit >= 0) {
			memcpy(out + len, p->path[hit], strlen(p->path[hit]));
			len += strlen(p->path[hit]);
			msg += strlen(p->fdpath[hit]);
		} else if (len < cap - 1) {
			out[len++] = *msg++;
		} else {
			break;
		}
	}
	out[len] = '\0';
	return out;
}

/* Only libxl boots real kernels; hv_sim (and test backends) read scripts,
 * so there a file that is no kernel passes, while an ELF is checked the
 * same way everywhere. */
static bool boots_kernels(const struct guard *g)
{
	return strcmp(g->inner->ops->name, "libxl") == 0;
}

/* The guest type the kernel behind fd allows (image_elf.h): *type as
 * asked when type_given, else the kernel's choice.  Errors name the path
 * the pod gave. */
static int kernel_type(const struct guard *g, int fd, const char *path, bool type_given,
		       enum xn_guest_type *type, xn_err *err)
{
	struct xn_kernel_info ki;

	if (xn_kernel_inspect(fd, &ki, err) < 0 ||
	    xn_kernel_choose_type(&ki, xn_kernel_host_arch(), type_given, *type, !boots_kernels(g),
				  type, err) < 0)
		return xn_error_wrap(err, "kernel \"%s\"", path);
	return 0;
}

static void created(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg)
{
	struct pending *p = arg;
	struct xn_hv *ghv = &p->g->hv;
	xn_hv_create_cb cb = p->cb;
	void *cb_arg = p->arg;
	xn_err mine = NULL;

	(void)hv;
	if (rc < 0 && err != NULL) {
		cleanup_free char *msg = readable(p, xn_error_msg(err));

		xn_error(&mine, err->status, "%s", msg);
	}
	pending_free(p);
	cb(ghv, rc, domid, rc < 0 ? (mine ? mine : err) : err, cb_arg);
	xn_error_free(&mine);
}

static int g_create(struct xn_hv *hv, const struct xn_domain_config *cfg, xn_hv_create_cb cb,
		    void *arg, xn_err *err)
{
	struct guard *g = guard_of(hv);
	struct pending *p;
	struct xn_domain_config c = *cfg;
	const char *what[2] = {"kernel", "ramdisk"}, *file[2] = {cfg->kernel, cfg->ramdisk};

	if (cb == NULL)
		return xn_error(err, EINVAL, "create: a completion callback is required");
	if (cfg->kernel == NULL) /* the backend's config check names it */
		return g->inner->ops->create(g->inner, cfg, cb, arg, err);
	p = xn_xcalloc(1, sizeof(*p));
	p->g = g;
	p->cb = cb;
	p->arg = arg;
	p->fd[0] = p->fd[1] = -1;
	p->next = g->pending;
	g->pending = p;
	for (int i = 0; i < 2; i++) {
		if (file[i] == NULL)
			continue;
		p->fd[i] = xn_image_open(what[i], file[i], NULL, 0, err);
		if (p->fd[i] < 0) {
			pending_free(p);
			return -1;
		}
		p->path[i] = xn_xstrdup(file[i]);
		xn_image_fd_path(p->fd[i], p->fdpath[i]);
	}
	/* what Xen cannot boot, or not as asked, never reaches the builder */
	if (kernel_type(g, p->fd[0], file[0], true, &c.type, err) < 0) {
		pending_free(p);
		return -1;
	}
	c.kernel = p->fdpath[0];
	c.ramdisk = cfg->ramdisk ? p->fdpath[1] : NULL;
	if (g->inner->ops->create(g->inner, &c, created, p, err) < 0) {
		if (err && *err) {
			cleanup_free char *msg = readable(p, xn_error_msg(*err));
			int status = (*err)->status;

			xn_error(err, status, "%s", msg);
		}
		pending_free(p);
		return -1;
	}
	return 0;
}

int xn_hv_guard_kernel_type(struct xn_hv *hv, const char *kernel, bool type_given,
			    enum xn_guest_type *type, xn_err *err)
{
	cleanup_close int fd = -1;

	if (hv->ops->create != g_create || kernel == NULL)
		return 0; /* no guard: nothing to check against */
	fd = xn_image_open("kernel", kernel, NULL, 0, err);
	if (fd < 0)
		return -1;
	return kernel_type(guard_of(hv), fd, kernel, type_given, type, err);
}

/* ---- everything else goes to the backend ---- */

static int g_open(struct xn_hv *hv, xn_err *err)
{
	(void)hv;
	(void)err;
	return 0;
}

static void g_close(struct xn_hv *hv)
{
	(void)hv;
}

static int g_shutdown(struct xn_hv *hv, uint32_t domid, unsigned deadline_ms, xn_hv_done_cb cb,
		      void *arg, xn_err *err)
{
	return in(hv)->ops->shutdown(in(hv), domid, deadline_ms, cb, arg, err);
}

static int g_destroy(struct xn_hv *hv, uint32_t domid, xn_hv_done_cb cb, void *arg, xn_err *err)
{
	return in(hv)->ops->destroy(in(hv), domid, cb, arg, err);
}

static int g_pause(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	return in(hv)->ops->pause(in(hv), domid, err);
}

static int g_unpause(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	return in(hv)->ops->unpause(in(hv), domid, err);
}

static int g_adopt(struct xn_hv *hv, uint32_t domid, xn_err *err)
{
	return in(hv)->ops->adopt(in(hv), domid, err);
}

static int g_list(struct xn_hv *hv, struct xn_domain_info **out, size_t *n, xn_err *err)
{
	return in(hv)->ops->list(in(hv), out, n, err);
}

static int g_domain_info(struct xn_hv *hv, uint32_t domid, struct xn_domain_info *out, xn_err *err)
{
	return in(hv)->ops->domain_info(in(hv), domid, out, err);
}

static int g_host_info(struct xn_hv *hv, struct xn_host_info *out, xn_err *err)
{
	return in(hv)->ops->host_info(in(hv), out, err);
}

static int g_console_path(struct xn_hv *hv, uint32_t domid, char **path, xn_err *err)
{
	return in(hv)->ops->console_path(in(hv), domid, path, err);
}

static int g_console_attach(struct xn_hv *hv, uint32_t domid, xn_hv_console_cb cb, void *arg,
			    xn_err *err)
{
	return in(hv)->ops->console_attach(in(hv), domid, cb, arg, err);
}

static void g_console_detach(struct xn_hv *hv, uint32_t domid)
{
	in(hv)->ops->console_detach(in(hv), domid);
}

struct xn_hv *xn_hv_guard_new(struct xn_hv *inner)
{
	struct guard *g = xn_xcalloc(1, sizeof(*g));
	const struct xn_hv_ops *o = inner->ops;

	g->inner = inner;
	/* the backend's name; an operation it lacks stays absent */
	g->ops = (struct xn_hv_ops){
	    .name = o->name,
	    .open = g_open,
	    .close = g_close,
	    .create = g_create,
	    .shutdown = o->shutdown ? g_shutdown : NULL,
	    .destroy = o->destroy ? g_destroy : NULL,
	    .pause = o->pause ? g_pause : NULL,
	    .unpause = o->unpause ? g_unpause : NULL,
	    .adopt = o->adopt ? g_adopt : NULL,
	    .list = o->list ? g_list : NULL,
	    .domain_info = o->domain_info ? g_domain_info : NULL,
	    .host_info = o->host_info ? g_host_info : NULL,
	    .console_path = o->console_path ? g_console_path : NULL,
	    .console_attach = o->console_attach ? g_console_attach : NULL,
	    .console_detach = o->console_detach ? g_console_detach : NULL,
	};
	g->hv = (struct xn_hv){.ops = &g->ops, .base = inner->base};
	return &g->hv;
}

void xn_hv_guard_free(struct xn_hv *hv)
{
	struct guard *g;

	if (hv == NULL)
		return;
	g = guard_of(hv);
	while (g->pending)
		pending_free(g->pending);
	free(g);
}
