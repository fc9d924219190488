/* runtime.h - runs pods as domains: the part of a kubelet below the API.
 *
 * The runtime owns one domain per pod instance.  It creates the domain
 * through the hypervisor interface (paused), attaches the console to the
 * pod's CRI log, unpauses, records the pod in the store, reacts to domain
 * events (exit codes, restart policy with the kubelet's back-off), and
 * destroys domains on request.  It knows nothing of Kubernetes objects:
 * the `pod` module (API side) and `ctl` (local pods from xl-pod) both hand
 * it a struct xn_pod_spec and listen to status changes.
 *
 * Every spec is also kept in <root>/pods/<uid>.json, so a restart of the
 * daemon recovers every pod and adopts its running domain, with or without
 * an API server.
 */
#ifndef XENLET_RUNTIME_H
#define XENLET_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "xenlet/err.h"
#include "xenlet/hv.h"
#include "xenlet/net.h"
#include "xenlet/probe.h"

struct event_base;
struct xn_store;
struct xn_runtime;

enum xn_restart_policy { XN_RESTART_ALWAYS = 0, XN_RESTART_ON_FAILURE, XN_RESTART_NEVER };
const char *xn_restart_policy_name(enum xn_restart_policy p);
int xn_restart_policy_parse(const char *s, enum xn_restart_policy *out);

struct xn_pod_spec {
	char *uid;
	char *ns;
	char *name;
	char *container; /* container name, for logs and status */
	char *image;	 /* the image reference as the user wrote it */
	char *image_id;	 /* resolved digest, may be NULL */
	char *kernel;	 /* resolved kernel path (hv_sim: script path) */
	char *ramdisk;	 /* may be NULL */
	char *cmdline;	 /* may be NULL */
	enum xn_guest_type type;
	bool type_from_kernel; /* none asked for: xn_runtime_run sets type from
				* the kernel's Xen ELF notes (hv_guard.h) */
	uint64_t memory_kb;
	unsigned vcpus;
	unsigned cpu_weight;
	unsigned cpu_cap;
	unsigned cpu_request_milli; /* for admission of later pods */
	enum xn_restart_policy restart;
	unsigned grace_s;	     /* terminationGracePeriodSeconds */
	bool guest_readiness;	     /* Ready follows data/xenlet/ready of the guest */
	unsigned boot_timeout_s;     /* 0: none; else a guest that has not booted (first
				      * console byte, or ready with guest_readiness)
				      * this long after start is destroyed: exit 124,
				      * reason BootTimeout */
	bool local;		     /* created through xl-pod, not the API server */
	enum xn_net_conv net_config; /* how the guest reads its address from the
				      * command line (xenlet.io/net-config) */
	struct xn_probes probes;     /* startup, liveness, readiness (probe.h) */
	char *dns_policy;	     /* spec.dnsPolicy; NULL: ClusterFirst */
	char *dns_config;	     /* spec.dnsConfig as JSON text; NULL: none */
	char *env_plan;		     /* containers[0].env, resolved but for the pod's address
				      * (pod_env.h); NULL: none.  cmdline is expanded with it
				      * at each start */
};
void xn_pod_spec_dispose(struct xn_pod_spec *s);
void xn_pod_spec_copy(struct xn_pod_spec *dst, const struct xn_pod_spec *src);
/* JSON round trip for <root>/pods/<uid>.json (cJSON text, malloc'd). */
char *xn_pod_spec_to_json(const struct xn_pod_spec *s);
int xn_pod_spec_from_json(const char *json, struct xn_pod_spec *out, xn_err *err);
/* The spec files: <dir>/<uid>.json, written atomically (tmp + fsync +
 * rename).  load_dir hands every readable spec to fn (borrowed) and skips,
 * with a warning, the files it cannot read. */
int xn_pod_spec_save(const char *dir, const struct xn_pod_spec *s, xn_err *err);
void xn_pod_spec_remove(const char *dir, const char *uid);
int xn_pod_spec_load_dir(const char *dir, void (*fn)(const struct xn_pod_spec *, void *), void *arg,
			 xn_err *err);

/* The kubelet's view of the container: what a pod status can say. */
enum xn_inst_state {
	XN_INST_WAITING = 0, /* being created, or waiting for a restart */
	XN_INST_RUNNING,
	XN_INST_TERMINATED,
};

/* The runtime's own state of a pod instance, finer than the kubelet's view
 * (docs/architecture.md has the transitions).  Each phase has at most one
 * timer: the boot deadline (BOOTING), the grace period (STOPPING), the next
 * destroy attempt (DESTROYING), the console drain (DRAINING), the restart
 * (BACKOFF). */
enum xn_pod_phase {
	XN_POD_CREATING = 0, /* hv create in flight */
	XN_POD_BOOTING,	     /* domain runs; no console byte (or readiness) yet */
	XN_POD_RUNNING,	     /* booted */
	XN_POD_PAUSED,	     /* vCPUs stopped on request; the boot deadline waits */
	XN_POD_STOPPING,     /* guest asked to shut down; destroyed at the grace end */
	XN_POD_DESTROYING,   /* destroy requested (retried with back-off on failure) */
	XN_POD_DRAINING,     /* domain gone; the console's last bytes still coming */
	XN_POD_BACKOFF,	     /* waiting to restart (crash-loop back-off) */
	XN_POD_TERMINATED,   /* over for good: the restart policy says no */
};
const char *xn_pod_phase_name(enum xn_pod_phase ph);

struct xn_termination {
	int exit_code;
	char reason[32]; /* "Completed", "Error", "Crashed", "Killed" */
	char message[256];
	uint64_t started_at;  /* unix ns */
	uint64_t finished_at; /* unix ns */
};

struct xn_pod_status {
	enum xn_inst_state state; /* follows from phase: see xn_runtime.c transition() */
	enum xn_pod_phase phase;
	/* why the pod is in its phase: waiting: ContainerCreating,
	 * CrashLoopBackOff, CreateContainerError; terminated: the last reason;
	 * else the runtime's own (Paused, Killing, DestroyFailed, ...) */
	char reason[48];
	char message[512];
	uint32_t domid;
	uint64_t started_at; /* unix ns of the running instance */
	unsigned restart_count;
	bool ready;
	bool startup_pending; /* a startup probe has not succeeded yet: the
			       * container is not "started" (nor ready) */
	bool has_last;	      /* last holds the previous termination */
	struct xn_termination last;
	bool stopping; /* kill requested: forgotten once its domain is gone */
	bool finished; /* phase TERMINATED: the policy says no restart */
	/* the pod's addresses (podIP/podIPs), "" when it has none: set when
	 * they are allocated, kept when the pod terminates (as the kubelet's
	 * status keeps them) */
	char ip[XN_IP_STRLEN];
	char ip6[XN_IP_STRLEN];
};

enum xn_runtime_event {
	XN_RT_STATUS = 1, /* status changed */
	XN_RT_REMOVED,	  /* pod forgotten after kill; status is the final one */
};

/* reason/message of Kubernetes events ("Started", "Killing", "BackOff"). */
typedef void (*xn_runtime_cb)(struct xn_runtime *rt, enum xn_runtime_event ev, const char *uid,
			      const struct xn_pod_status *st, void *arg);
typedef void (*xn_runtime_note_cb)(struct xn_runtime *rt, const char *uid, const char *type,
				   const char *reason, const char *message, void *arg);

struct xn_runtime_opts {
	const char *root_dir;	   /* specs under <root>/pods */
	const char *log_dir;	   /* CRI logs under <log>/<ns>_<name>_<uid>/<container>/ */
	unsigned backoff_base_ms;  /* 10000, doubling; kubelet numbers */
	unsigned backoff_max_ms;   /* 300000 */
	unsigned backoff_reset_ms; /* 600000: a run this long resets the back-off */
	uint64_t log_max_bytes;	   /* rotate a CRI log at this size; 0: never */
	unsigned log_max_files;	   /* files kept per instance, current included */
	/* The pod network (docs/networking.md).  ipam NULL, or without a range:
	 * pods start without a vif.  Otherwise every instance gets a vif on
	 * bridge with the pod's addresses and MAC, hotplug script vif_script
	 * (NULL: Xen's default), and the guest its keys (mtu 0: not told). */
	struct xn_ipam *ipam;
	const char *bridge;
	const char *vif_script;
	unsigned mtu;
	/* Real vifs (libxl): before each start check that the bridge and the
	 * hook exist (xn_net_host_check); if not, the pod starts without a
	 * network and an Event NetworkNotReady says why.  sys_class_net: the
	 * sysfs directory to look in (NULL: /sys/class/net). */
	bool check_host_net;
	const char *sys_class_net;
	/* DNS (net_dns.c): the kubelet's clusterDNS ("a,b"), clusterDomain
	 * (NULL: none) and resolvConf (NULL or "": none), read at each start. */
	const char *cluster_dns;
	const char *cluster_domain;
	const char *resolv_conf;
	/* A node of a cluster (pods from the API server) needs a pod network:
	 * with ipam but no range yet, a pod waits (ContainerCreating, Event
	 * NetworkNotReady) until xn_runtime_net_changed() says one came. */
	bool require_net;
};

struct xn_runtime *xn_runtime_new(struct event_base *base, struct xn_hv *hv, struct xn_store *store,
				  const struct xn_runtime_opts *opts, xn_runtime_cb cb,
				  xn_runtime_note_cb note, void *arg, xn_err *err);
void xn_runtime_free(struct xn_runtime *rt);
/* The pod network's MTU for instances started from now on (the overlay's,
 * from flannel's subnet file; 0: not told). */
void xn_runtime_set_net_mtu(struct xn_runtime *rt, unsigned mtu);
/* The pod ranges changed: pods waiting for a pod network start now. */
void xn_runtime_net_changed(struct xn_runtime *rt);

/* The hypervisor's events go here (main wires hv -> runtime). */
void xn_runtime_hv_event(struct xn_hv *hv, const struct xn_hv_event *ev, void *arg);

/* After start: reload specs, adopt running domains of ours, restart or
 * finish pods whose domain vanished, destroy domains of ours with no spec. */
int xn_runtime_recover(struct xn_runtime *rt, xn_err *err);

/* Start a pod (asynchronous; status callbacks follow).  An existing uid is
 * an error. */
int xn_runtime_run(struct xn_runtime *rt, const struct xn_pod_spec *spec, xn_err *err);
/* Stop within grace_s, then forget the pod (XN_RT_REMOVED).  The guest is
 * asked to shut down (a paused one is unpaused first so it can answer); at
 * the end of grace_s the runtime destroys the domain whatever the guest or
 * the backend did; grace 0, or a shutdown request that fails, destroys at
 * once.  The pod stays listed until its domain is gone (a failed destroy is
 * retried with back-off, the status says why).  A second kill only shortens
 * the grace period.  Unknown uid: ENOENT. */
int xn_runtime_kill(struct xn_runtime *rt, const char *uid, unsigned grace_s, xn_err *err);

/* Ask the guest to shut down, as `kubectl exec POD -- shutdown`: destroyed
 * at the end of grace_s if it has not; then the restart policy decides (the
 * pod is not forgotten).  EBUSY when the pod has no running domain. */
int xn_runtime_shutdown(struct xn_runtime *rt, const char *uid, unsigned grace_s, xn_err *err);
/* Stop / resume the vCPUs of the pod's domain (as `xl pause`).  A paused pod
 * is in phase PAUSED (the kubelet still sees it running) and its boot
 * deadline waits with the time it had left.  Pausing a paused pod or
 * unpausing a running one is no error; EBUSY when it has no running domain
 * (creating, stopping, in back-off, terminated). */
int xn_runtime_pause(struct xn_runtime *rt, const char *uid, xn_err *err);
int xn_runtime_unpause(struct xn_runtime *rt, const char *uid, xn_err *err);
/* The Dom0 path of the guest console's pty (malloc'd), for `xl-pod console`
 * and attach's stdin.  EBUSY when the pod has no running domain. */
int xn_runtime_console_path(struct xn_runtime *rt, const char *uid, char **path, xn_err *err);

const struct xn_pod_status *xn_runtime_status(struct xn_runtime *rt, const char *uid);
const struct xn_pod_spec *xn_runtime_spec(struct xn_runtime *rt, const char *uid);
/* Find by namespace/name. */
const char *xn_runtime_find(struct xn_runtime *rt, const char *ns, const char *name);
/* Iterate over every pod; stop early when fn returns non-zero. */
void xn_runtime_foreach(struct xn_runtime *rt,
			int (*fn)(const struct xn_pod_spec *, const struct xn_pod_status *, void *),
			void *arg);
/* Path of the current CRI log file of a pod (malloc'd), NULL if unknown. */
/* Which instance's log a reader gets, as the kubelet chooses between the
 * running, the terminated and the last terminated container: 0 and *out,
 * -1 when nothing has started yet (or the uid is unknown), -2 when previous
 * is asked and there is no previous instance. */
int xn_runtime_log_instance(struct xn_runtime *rt, const char *uid, bool previous, unsigned *out);
char *xn_runtime_log_path(struct xn_runtime *rt, const char *uid, unsigned restart);
/* The domain a spec becomes (pointers borrow from s; name is filled). */
void xn_runtime_domain_config(const struct xn_pod_spec *s, char name[XN_NAME_MAX],
			      struct xn_domain_config *c);
/* The domain of a pod on the pod network: the above, plus one vif (n's MAC
 * and address, on bridge, hotplug script `script`) and the command line of
 * the pod's xenlet.io/net-config convention (*cmdline malloc'd or NULL,
 * c->cmdline points to it). */
void xn_runtime_domain_config_net(const struct xn_pod_spec *s, const struct xn_pod_net *n,
				  const char *bridge, const char *script, char name[XN_NAME_MAX],
				  struct xn_domain_config *c, struct xn_vif *vif, char **cmdline);
/* Count of pods and the memory they hold. */
void xn_runtime_usage(struct xn_runtime *rt, unsigned *pods, uint64_t *memory_kb, unsigned *vcpus);
/* Sum of the CPU requests of the pods that hold resources, in millicores. */
uint64_t xn_runtime_cpu_requests(struct xn_runtime *rt);

#endif
