/* hv.h - the hypervisor interface: everything above it is backend-agnostic.
 *
 * Two backends implement struct xn_hv_ops: hv_libxl (real Xen through
 * libxl 4.17, the only file that includes libxl.h) and hv_sim (in-process,
 * for fast tests and the demo on machines without Xen).  Both are driven by
 * the caller's libevent loop: no thread per domain, no polling.
 *
 * Life of a domain:
 *   create()      asynchronous; the callback gets the domid.  The domain is
 *                 left PAUSED so the caller can attach the console before
 *                 the guest writes its first byte, then calls unpause().
 *   events        XN_HV_EV_SHUTDOWN (guest powered off / rebooted / crashed
 *                 / watchdog) with its reason and exit code, then, after
 *                 destroy(), XN_HV_EV_DEATH.  Acting on a shutdown (destroy,
 *                 restart) is the caller's job, as it is xl's.
 *   shutdown()    asks the guest to power off; if it has not within the
 *                 deadline the domain is destroyed.  Completion callback.
 *   destroy()     immediate; completion callback.
 *   adopt()       after a daemon restart: start delivering events for a
 *                 domain that already runs (found through list()).
 *
 * Every domain we create carries a tag (the pod uid, or another string the
 * caller chooses) stored with the domain, so list() can tell ours apart
 * after a restart.
 */
#ifndef XENLET_HV_H
#define XENLET_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenlet/err.h"

struct event_base;

#define XN_DOMID_INVALID UINT32_MAX
#define XN_NAME_MAX	 64 /* Xen domain names: we keep them below this */

enum xn_guest_type { XN_GUEST_PV = 0, XN_GUEST_PVH = 1 };

struct xn_vif {
	char mac[18]; /* "00:16:3e:xx:xx:xx"; empty: backend picks one */
	char *bridge; /* e.g. "xenbr0"; NULL: backend default */
	char *ip;     /* dotted quad, passed to the hotplug script; may be NULL */
	char *script; /* hotplug script path; NULL: Xen's default vif script */
};

struct xn_disk {
	char *path; /* file or block device in Dom0 */
	char *vdev; /* e.g. "xvda" */
	bool readonly;
	char *format; /* "raw" (default) or "qcow2" */
};

struct xn_domain_config {
	char *name; /* Xen domain name, unique on the host */
	char *tag;  /* opaque owner tag kept with the domain (pod uid) */
	enum xn_guest_type type;
	char *kernel;	     /* path in Dom0 (hv_libxl) or sim script (hv_sim) */
	char *ramdisk;	     /* may be NULL */
	char *cmdline;	     /* may be NULL */
	uint64_t memory_kb;  /* target == max memory */
	unsigned vcpus;	     /* >= 1 */
	unsigned cpu_weight; /* credit scheduler weight 1..65535; 0 = default (256) */
	unsigned cpu_cap;    /* percent of one CPU, 0 = no cap */
	struct xn_vif *vifs;
	size_t nvifs;
	struct xn_disk *disks;
	size_t ndisks;
};

/* Check a config without side effects: names the first bad field. */
int xn_domain_config_check(const struct xn_domain_config *c, xn_err *err);
/* Free every owned member and zero the struct; idempotent. */
void xn_domain_config_dispose(struct xn_domain_config *c);
/* Deep copy (used by backends that must keep a config past the call). */
void xn_domain_config_copy(struct xn_domain_config *dst, const struct xn_domain_config *src);

enum xn_dom_state {
	XN_DOM_RUNNING = 0,
	XN_DOM_PAUSED,
	XN_DOM_SHUTDOWN, /* shut down, not yet destroyed */
	XN_DOM_CRASHED,
	XN_DOM_DYING,
};
const char *xn_dom_state_name(enum xn_dom_state s);

enum xn_shutdown_reason {
	XN_SHUTDOWN_POWEROFF = 0,
	XN_SHUTDOWN_REBOOT,
	XN_SHUTDOWN_SUSPEND,
	XN_SHUTDOWN_CRASH,
	XN_SHUTDOWN_WATCHDOG,
	XN_SHUTDOWN_SOFT_RESET,
	XN_SHUTDOWN_DESTROYED, /* destroyed from Dom0 before it shut down */
	XN_SHUTDOWN_UNKNOWN,
};
const char *xn_shutdown_reason_name(enum xn_shutdown_reason r);

/* Exit codes, documented in docs/architecture.md ("Exit codes").  A guest may
 * write its own code to data/xenlet/exit-code before powering off; that code
 * wins over these defaults when it is a valid 0..255 number. */
#define XN_EXIT_POWEROFF     0
#define XN_EXIT_CRASH	     134 /* as a process killed by SIGABRT */
#define XN_EXIT_WATCHDOG     142 /* as SIGALRM */
#define XN_EXIT_DESTROYED    137 /* as SIGKILL: what the kubelet reports */
#define XN_EXIT_BOOT_TIMEOUT 124 /* as timeout(1): destroyed for not booting in time */
int xn_exit_code_for(enum xn_shutdown_reason r);

struct xn_domain_info {
	uint32_t domid;
	char name[XN_NAME_MAX];
	char tag[XN_NAME_MAX]; /* "" when not ours */
	enum xn_dom_state state;
	enum xn_shutdown_reason reason; /* valid when state is SHUTDOWN/CRASHED */
	uint64_t cpu_time_ns;
	uint64_t memory_kb; /* current allocation */
	uint64_t max_memory_kb;
	unsigned vcpus;
};

struct xn_host_info {
	unsigned nr_cpus;
	uint64_t total_kb;
	uint64_t free_kb;
	char xen_version[32]; /* "4.17.5" */
	char arch[16];	      /* Kubernetes spelling: "amd64", "arm64" */
	char hostname[256];
};

enum xn_hv_event_type { XN_HV_EV_SHUTDOWN = 1, XN_HV_EV_DEATH = 2 };

struct xn_hv_event {
	enum xn_hv_event_type type;
	uint32_t domid;
	enum xn_shutdown_reason reason; /* SHUTDOWN only */
	int exit_code;			/* SHUTDOWN only */
};

struct xn_hv;

typedef void (*xn_hv_event_cb)(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg);
/* rc 0: domid is valid.  rc -1: err says why; nothing is left behind. */
typedef void (*xn_hv_create_cb)(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg);
typedef void (*xn_hv_done_cb)(struct xn_hv *hv, int rc, uint32_t domid, xn_err err, void *arg);
/* Console bytes as the guest wrote them; len 0 means the console closed. */
typedef void (*xn_hv_console_cb)(struct xn_hv *hv, uint32_t domid, const char *buf, size_t len,
				 void *arg);

struct xn_hv_ops {
	const char *name;
	int (*open)(struct xn_hv *hv, xn_err *err);
	void (*close)(struct xn_hv *hv);
	int (*create)(struct xn_hv *hv, const struct xn_domain_config *cfg, xn_hv_create_cb cb,
		      void *arg, xn_err *err);
	int (*shutdown)(struct xn_hv *hv, uint32_t domid, unsigned deadline_ms, xn_hv_done_cb cb,
			void *arg, xn_err *err);
	int (*destroy)(struct xn_hv *hv, uint32_t domid, xn_hv_done_cb cb, void *arg, xn_err *err);
	int (*pause)(struct xn_hv *hv, uint32_t domid, xn_err *err);
	int (*unpause)(struct xn_hv *hv, uint32_t domid, xn_err *err);
	int (*adopt)(struct xn_hv *hv, uint32_t domid, xn_err *err);
	/* *out is malloc'd, caller frees; Dom0 is not listed. */
	int (*list)(struct xn_hv *hv, struct xn_domain_info **out, size_t *n, xn_err *err);
	int (*domain_info)(struct xn_hv *hv, uint32_t domid, struct xn_domain_info *out,
			   xn_err *err);
	int (*host_info)(struct xn_hv *hv, struct xn_host_info *out, xn_err *err);
	/* Path of the guest console's pty in Dom0 (for `xl-pod console`). */
	int (*console_path)(struct xn_hv *hv, uint32_t domid, char **path, xn_err *err);
	/* Deliver console output to cb until detach or the domain dies.  Call
	 * before unpause to see the first byte.  One consumer per domain. */
	int (*console_attach)(struct xn_hv *hv, uint32_t domid, xn_hv_console_cb cb, void *arg,
			      xn_err *err);
	void (*console_detach)(struct xn_hv *hv, uint32_t domid);
};

/* Common part of every backend instance; backends keep their own state in
 * priv. */
struct xn_hv {
	const struct xn_hv_ops *ops;
	struct event_base *base;
	xn_hv_event_cb event_cb;
	void *event_arg;
	void *priv;
};

/* Backends by name: "libxl" or "sim".  NULL when unknown. */
const struct xn_hv_ops *xn_hv_backend(const char *name);
extern const struct xn_hv_ops xn_hv_sim_ops;
extern const struct xn_hv_ops xn_hv_libxl_ops;

/* Allocate and open a backend on base; events go to cb. */
struct xn_hv *xn_hv_new(const char *backend, struct event_base *base, xn_hv_event_cb cb, void *arg,
			xn_err *err);
void xn_hv_free(struct xn_hv *hv);

/* Used by backends to deliver an event to the owner. */
void xn_hv_emit(struct xn_hv *hv, const struct xn_hv_event *ev);

#endif
