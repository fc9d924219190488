/* hv.c - backend-independent parts of the hypervisor interface. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/hv.h"
#include "xenlet/util.h"

const char *xn_dom_state_name(enum xn_dom_state s)
{
	switch (s) {
	case XN_DOM_RUNNING: return "running";
	case XN_DOM_PAUSED: return "paused";
	case XN_DOM_SHUTDOWN: return "shutdown";
	case XN_DOM_CRASHED: return "crashed";
	case XN_DOM_DYING: return "dying";
	}
	return "unknown";
}

const char *xn_shutdown_reason_name(enum xn_shutdown_reason r)
{
	switch (r) {
	case XN_SHUTDOWN_POWEROFF: return "poweroff";
	case XN_SHUTDOWN_REBOOT: return "reboot";
	case XN_SHUTDOWN_SUSPEND: return "suspend";
	case XN_SHUTDOWN_CRASH: return "crash";
	case XN_SHUTDOWN_WATCHDOG: return "watchdog";
	case XN_SHUTDOWN_SOFT_RESET: return "soft_reset";
	case XN_SHUTDOWN_DESTROYED: return "destroyed";
	case XN_SHUTDOWN_UNKNOWN: break;
	}
	return "unknown";
}

int xn_exit_code_for(enum xn_shutdown_reason r)
{
	switch (r) {
	case XN_SHUTDOWN_POWEROFF:
	case XN_SHUTDOWN_REBOOT:
	case XN_SHUTDOWN_SUSPEND:
	case XN_SHUTDOWN_SOFT_RESET: return XN_EXIT_POWEROFF;
	case XN_SHUTDOWN_CRASH: return XN_EXIT_CRASH;
	case XN_SHUTDOWN_WATCHDOG: return XN_EXIT_WATCHDOG;
	case XN_SHUTDOWN_DESTROYED: return XN_EXIT_DESTROYED;
	case XN_SHUTDOWN_UNKNOWN: break;
	}
	return XN_EXIT_CRASH;
}

/* Xen accepts almost anything as a name; we keep to what `xl` users can
 * type without quoting and what fits xenstore paths. */
static int check_name(const char *n)
{
	size_t len = n ? strlen(n) : 0;

	if (len == 0 || len >= XN_NAME_MAX)
		return -1;
	for (const char *p = n; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return -1;
	return 0;
}

static int check_mac(const char *m)
{
	if (m[0] == '\0')
		return 0;
	if (strlen(m) != 17)
		return -1;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
			return -1;
	}
	/* group bit set would make it a multicast address */
	return (strtoul(m, NULL, 16) & 1) ? -1 : 0;
}

int xn_domain_config_check(const struct xn_domain_config *c, xn_err *err)
{
	if (check_name(c->name) < 0)
		return xn_error(
		    err, EINVAL,
		    "domain config: name \"%s\": must be 1-%d characters of [A-Za-z0-9._-]",
		    c->name ? c->name : "", XN_NAME_MAX - 1);
	if (c->tag != NULL && strlen(c->tag) >= XN_NAME_MAX)
		return xn_error(err, EINVAL, "domain config %s: tag longer than %d characters",
				c->name, XN_NAME_MAX - 1);
	if (c->type != XN_GUEST_PV && c->type != XN_GUEST_PVH)
		return xn_error(err, EINVAL, "domain config %s: type %d: must be pv or pvh",
				c->name, (int)c->type);
	if (c->kernel == NULL || c->kernel[0] == '\0')
		return xn_error(err, EINVAL, "domain config %s: kernel: missing", c->name);
	if (c->memory_kb < 4096)
		return xn_error(err, EINVAL, "domain config %s: memory %llu KiB: at least 4096 KiB",
				c->name, (unsigned long long)c->memory_kb);
	if (c->vcpus < 1 || c->vcpus > 128)
		return xn_error(err, EINVAL, "domain config %s: vcpus %u: must be 1..128", c->name,
				c->vcpus);
	if (c->cpu_weight > 65535)
		return xn_error(err, EINVAL, "domain config %s: cpu weight %u: must be 1..65535",
				c->name, c->cpu_weight);
	if (c->cpu_cap > 100 * c->vcpus)
		return xn_error(err, EINVAL,
				"domain config %s: cpu cap %u%%: above %u%% (vcpus x 100)", c->name,
				c->cpu_cap, 100 * c->vcpus);
	for (size_t i = 0; i < c->nvifs; i++)
		if (check_mac(c->vifs[i].mac) < 0)
			return xn_error(err, EINVAL,
					"domain config %s: vif %zu: mac \"%s\": not a unicast MAC",
					c->name, i, c->vifs[i].mac);
	for (size_t i = 0; i < c->ndisks; i++)
		if (c->disks[i].path == NULL || c->disks[i].vdev == NULL)
			return xn_error(err, EINVAL,
					"domain config %s: disk %zu: path and vdev are required",
					c->name, i);
	return 0;
}

void xn_domain_config_copy(struct xn_domain_config *d, const struct xn_domain_config *s)
{
	*d = *s;
	d->name = xn_dup_or_null(s->name);
	d->tag = xn_dup_or_null(s->tag);
	d->kernel = xn_dup_or_null(s->kernel);
	d->ramdisk = xn_dup_or_null(s->ramdisk);
	d->cmdline = xn_dup_or_null(s->cmdline);
	d->vifs = s->nvifs ? xn_xcalloc(s->nvifs, sizeof(*d->vifs)) : NULL;
	for (size_t i = 0; i < s->nvifs; i++) {
		d->vifs[i] = s->vifs[i];
		d->vifs[i].bridge = xn_dup_or_null(s->vifs[i].bridge);
		d->vifs[i].ip = xn_dup_or_null(s->vifs[i].ip);
		d->vifs[i].script = xn_dup_or_null(s->vifs[i].script);
	}
	d->disks = s->ndisks ? xn_xcalloc(s->ndisks, sizeof(*d->disks)) : NULL;
	for (size_t i = 0; i < s->ndisks; i++) {
		d->disks[i] = s->disks[i];
		d->disks[i].path = xn_dup_or_null(s->disks[i].path);
		d->disks[i].vdev = xn_dup_or_null(s->disks[i].vdev);
		d->disks[i].format = xn_dup_or_null(s->disks[i].format);
	}
}

void xn_domain_config_dispose(struct xn_domain_config *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->tag);
	free(c->kernel);
	free(c->ramdisk);
	free(c->cmdline);
	for (size_t i = 0; i < c->nvifs; i++) {
		free(c->vifs[i].bridge);
		free(c->vifs[i].ip);
		free(c->vifs[i].script);
	}
	free(c->vifs);
	for (size_t i = 0; i < c->ndisks; i++) {
		free(c->disks[i].path);
		free(c->disks[i].vdev);
		free(c->disks[i].format);
	}
	free(c->disks);
	memset(c, 0, sizeof(*c));
}

const struct xn_hv_ops *xn_hv_backend(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "sim") == 0)
		return &xn_hv_sim_ops;
	if (strcmp(name, "libxl") == 0)
		return &xn_hv_libxl_ops;
	return NULL;
}

struct xn_hv *xn_hv_new(const char *backend, struct event_base *base, xn_hv_event_cb cb, void *arg,
			xn_err *err)
{
	const struct xn_hv_ops *ops = xn_hv_backend(backend);
	struct xn_hv *hv;

	if (ops == NULL) {
		xn_error(err, EINVAL, "backend \"%s\": unknown (use libxl or sim)",
			 backend ? backend : "");
		return NULL;
	}
	hv = xn_xcalloc(1, sizeof(*hv));
	hv->ops = ops;
	hv->base = base;
	hv->event_cb = cb;
	hv->event_arg = arg;
	if (ops->open(hv, err) < 0) {
		xn_error_wrap(err, "backend %s", ops->name);
		free(hv);
		return NULL;
	}
	return hv;
}

void xn_hv_free(struct xn_hv *hv)
{
	if (hv == NULL)
		return;
	hv->ops->close(hv);
	free(hv);
}

void xn_hv_emit(struct xn_hv *hv, const struct xn_hv_event *ev)
{
	if (hv->event_cb != NULL)
		hv->event_cb(hv, ev, hv->event_arg);
}
