/* hv_libxl_config.c - xn_domain_config -> libxl_domain_config, and the
 * other pure parts of the libxl backend (exit codes, shutdown reasons). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_libxl_priv.h"
#include "xenlet/hv_libxl.h"
#include "xenlet/util.h"

/* hv.c's check has already validated the syntax. */
static void parse_mac(const char *s, libxl_mac mac)
{
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)strtoul(s + 3 * i, NULL, 16);
}

static int build_disk(const struct xn_domain_config *cfg, size_t i, libxl_device_disk *dk,
		      xn_err *err)
{
	const struct xn_disk *s = &cfg->disks[i];
	const char *fmt = s->format ? s->format : "raw";

	libxl_device_disk_init(dk);
	dk->pdev_path = xn_xstrdup(s->path);
	dk->vdev = xn_xstrdup(s->vdev);
	dk->readwrite = !s->readonly;
	/* Pinning the backend keeps libxl from probing for one: raw goes to
	 * blkback (Linux's block script sets up a loop device for files), so
	 * no QEMU is needed in Dom0; qcow2 needs QEMU's qdisk. */
	if (strcmp(fmt, "raw") == 0) {
		dk->format = LIBXL_DISK_FORMAT_RAW;
		dk->backend = LIBXL_DISK_BACKEND_PHY;
	} else if (strcmp(fmt, "qcow2") == 0) {
		dk->format = LIBXL_DISK_FORMAT_QCOW2;
		dk->backend = LIBXL_DISK_BACKEND_QDISK;
	} else {
		return xn_error(err, EINVAL,
				"domain config %s: disk %zu: format \"%s\": must be raw or qcow2",
				cfg->name, i, fmt);
	}
	return 0;
}

int lx_config_build(libxl_ctx *ctx, const struct xn_domain_config *cfg, libxl_domain_config *d,
		    xn_err *err)
{
	libxl_domain_type type;
	libxl_domain_build_info *b = &d->b_info;

	libxl_domain_config_init(d);
	if (xn_domain_config_check(cfg, err) < 0)
		return -1;
	type = cfg->type == XN_GUEST_PVH ? LIBXL_DOMAIN_TYPE_PVH : LIBXL_DOMAIN_TYPE_PV;

	d->c_info.type = type;
	d->c_info.name = xn_xstrdup(cfg->name);

	libxl_domain_build_info_init_type(b, type);
	/* b_info.kernel & co., not the deprecated u.pv.kernel (libxl >= 4.9) */
	b->kernel = xn_xstrdup(cfg->kernel);
	b->ramdisk = xn_dup_or_null(cfg->ramdisk);
	b->cmdline = xn_dup_or_null(cfg->cmdline);
	b->max_memkb = b->target_memkb = cfg->memory_kb;
	b->max_vcpus = (int)cfg->vcpus;
	/* What libxl_bitmap_alloc does, without its ctx: that one needs a ctx
	 * (it crashes with NULL) and we want the JSON without Xen. */
	b->avail_vcpus.size = (cfg->vcpus + 7) / 8;
	b->avail_vcpus.map = xn_xcalloc(b->avail_vcpus.size, 1);
	for (unsigned i = 0; i < cfg->vcpus; i++)
		libxl_bitmap_set(&b->avail_vcpus, (int)i);
	/* sched stays UNKNOWN: libxl applies weight and cap with whatever
	 * scheduler the pool runs (credit2 is 4.17's default, credit understands
	 * both too); naming "credit" would fail on a credit2 host. */
	if (cfg->cpu_weight != 0)
		b->sched_params.weight = (int)cfg->cpu_weight;
	if (cfg->cpu_cap != 0)
		b->sched_params.cap = (int)cfg->cpu_cap;

	/* libxl only records these; acting on a shutdown is the toolstack's job
	 * (xl's, here ours: the pod state machine destroys or restarts).  We
	 * say DESTROY (libxl's default too, so its JSON omits them) so that
	 * `xl list -l` tells the truth: nothing restarts the domain behind the
	 * pod state machine's back. */
	d->on_poweroff = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	d->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	d->on_watchdog = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	d->on_crash = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;
	d->on_soft_reset = LIBXL_ACTION_ON_SHUTDOWN_DESTROY;

	/* The PV console (console 0, served by xenconsoled) is added by libxl
	 * for PV and PVH guests alike; no vfb/vkb. */
	if (cfg->nvifs > 0) {
		d->nics = xn_xcalloc(cfg->nvifs, sizeof(*d->nics));
		for (size_t i = 0; i < cfg->nvifs; i++) {
			const struct xn_vif *v = &cfg->vifs[i];
			libxl_device_nic *nic = &d->nics[i];

			libxl_device_nic_init(nic);
			d->num_nics++;
			nic->nictype = LIBXL_NIC_TYPE_VIF;
			if (v->mac[0] != '\0')
				parse_mac(v->mac, nic->mac);
			nic->bridge = xn_dup_or_null(v->bridge);
			nic->ip = xn_dup_or_null(v->ip);
			nic->script = xn_dup_or_null(v->script);
		}
	}
	if (cfg->ndisks > 0) {
		d->disks = xn_xcalloc(cfg->ndisks, sizeof(*d->disks));
		for (size_t i = 0; i < cfg->ndisks; i++) {
			d->num_disks++;
			if (build_disk(cfg, i, &d->disks[i], err) < 0)
				return -1;
		}
	}
	return 0;
}

int xn_hv_libxl_config_json(const struct xn_domain_config *cfg, char **json, xn_err *err)
{
	libxl_domain_config d;
	char *s;
	int rc = -1;

	*json = NULL;
	/* libxl_ctx_alloc needs /dev/xen/privcmd, but the generated JSON
	 * writer touches the ctx only to log a yajl failure, so NULL does. */
	if (lx_config_build(NULL, cfg, &d, err) < 0)
		goto out;
	s = libxl_domain_config_to_json(NULL, &d);
	if (s == NULL) {
		xn_error(err, ENOMEM, "domain config %s: libxl cannot render it as JSON",
			 cfg->name);
		goto out;
	}
	*json = s;
	rc = 0;
out:
	libxl_domain_config_dispose(&d);
	return rc;
}

int xn_hv_libxl_parse_exit_code(const char *s, size_t len)
{
	int v = 0;

	if (s == NULL || len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 255 ? v : -1;
}

enum xn_shutdown_reason xn_hv_libxl_reason(int r)
{
	switch (r) {
	case LIBXL_SHUTDOWN_REASON_POWEROFF: return XN_SHUTDOWN_POWEROFF;
	case LIBXL_SHUTDOWN_REASON_REBOOT: return XN_SHUTDOWN_REBOOT;
	case LIBXL_SHUTDOWN_REASON_SUSPEND: return XN_SHUTDOWN_SUSPEND;
	case LIBXL_SHUTDOWN_REASON_CRASH: return XN_SHUTDOWN_CRASH;
	case LIBXL_SHUTDOWN_REASON_WATCHDOG: return XN_SHUTDOWN_WATCHDOG;
	case LIBXL_SHUTDOWN_REASON_SOFT_RESET: return XN_SHUTDOWN_SOFT_RESET;
	}
	return XN_SHUTDOWN_UNKNOWN;
}
