/* runtime_priv.h - what the runtime's files share: runtime.c (the pod
 * instance state machine), runtime_recover.c (recovery after a daemon
 * restart) and runtime_query.c (what other modules read).  Nothing else
 * includes it. */
#ifndef XENLET_RUNTIME_PRIV_H
#define XENLET_RUNTIME_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "xenlet/runtime.h"
#include "xenlet/token_bucket.h"

struct event;
struct xn_crilog;

#define XN_RT_NO_TIMER UINT64_MAX

struct pod {
	TAILQ_ENTRY(pod) entry;
	struct xn_runtime *rt;
	struct xn_pod_spec spec;
	struct xn_pod_status st; /* st.phase is the instance's state */
	/* The CRI log of the instance, open while its console may still write:
	 * closed at the console's end, so "drained" is log == NULL. */
	struct xn_crilog *log;
	struct event *timer;	   /* the phase's one timer (see runtime.h) */
	uint64_t timer_due_ns;	   /* monotonic, while the timer is armed */
	enum xn_pod_phase resume;  /* PAUSED: the phase unpause returns to */
	uint64_t boot_left_ms;	   /* PAUSED from BOOTING: what the deadline had left */
	unsigned backoff_ms;	   /* the last crash-loop back-off; 0 = none yet */
	unsigned destroy_failures; /* DESTROYING: failed attempts in a row */
	uint64_t run_mono_ns;	   /* monotonic start of the running instance */
	uint64_t create_ns;	   /* create requested (metrics) */
	unsigned pending;	   /* hv callbacks that still hold this pod */
	bool forgotten;		   /* removed from the runtime; freed once pending is 0 */
	int ready_watch;	   /* store watch id, -1 */
	bool has_net;		   /* net holds the running instance's network */
	bool net_wait;		   /* BACKOFF: waits for a pod range, not a restart */
	struct xn_pod_net net;
	/* runtime_guest.c: what the guest's xenstore values may cost */
	struct xn_token_bucket guest_tb; /* complaints about its values */
	uint64_t ready_sent_ns;		 /* monotonic: when a readiness change went */
	struct event *ready_timer;	 /* the next readiness report, if held */
	struct xn_prober *prober;	 /* the instance's probes (runtime_probe.c), NULL */
	bool base_ready;		 /* ready as far as the guest's flag goes */
	bool probe_killed;		 /* the instance is killed for a failed liveness or
					  * startup probe: restarted unless policy Never */
	struct {			 /* the last Unhealthy Event of each probe */
		uint64_t hash;		 /* of its message */
		uint64_t at_ns;		 /* monotonic */
	} unhealthy[XN_PROBE_N];
	struct { /* what net.dns, .search, .dns_options point to */
		char servers[XN_DNS_MAX_SERVERS * XN_IP_STRLEN];
		char search[XN_DNS_MAX_SEARCH_CHARS + 1];
		char options[1025];
	} dns;
};

TAILQ_HEAD(pod_list, pod);

struct xn_runtime {
	struct event_base *base;
	struct xn_hv *hv;
	struct xn_store *store;
	struct xn_runtime_opts opts;
	char *spec_dir;
	xn_runtime_cb cb;
	xn_runtime_note_cb note;
	void *arg;
	struct pod_list pods;
};

/* runtime_guest.c: per pod, complaints about a guest's values (a log line
 * and an Event) at most XN_RT_GUEST_BURST at once, then one per
 * XN_RT_GUEST_EVERY_S; readiness changes reported at most once per
 * XN_RT_READY_MIN_MS, the last one always. */
#define XN_RT_GUEST_BURST   5
#define XN_RT_GUEST_EVERY_S 60
#define XN_RT_READY_MIN_MS  1000
/* A Warning Event (reason, a message that does not vary with the value) and
 * a log line that adds detail, within the pod's budget. */
void xn_rt_guest_warn(struct pod *p, const char *reason, const char *message, const char *detail);
/* The guest's flag is now `guest_flag`: the readiness (with the probes)
 * goes to the owner at the pace above, and st.ready changes only as it is
 * reported (the owner reads the status later). */
void xn_rt_ready_update(struct pod *p, bool guest_flag);
void xn_rt_guest_dispose(struct pod *p);

/* runtime_query.c */
struct pod *xn_rt_find_uid(struct xn_runtime *rt, const char *uid);
/* Xen names must be unique on the host: the pod name plus a piece of its uid. */
void xn_rt_domain_name(const struct xn_pod_spec *s, char out[XN_NAME_MAX]);

/* runtime.c, for runtime_recover.c */
struct pod *xn_rt_pod_new(struct xn_runtime *rt, const struct xn_pod_spec *spec);
void xn_rt_notify(struct pod *p);
__attribute__((format(printf, 4, 5))) void xn_rt_note(struct pod *p, const char *type,
						      const char *reason, const char *fmt, ...);
void xn_rt_save_record(struct pod *p);
/* Enter a phase: the one place the phase, the kubelet's view derived from
 * it, the phase's timer (XN_RT_NO_TIMER: none) and, when reason is not NULL,
 * the reason and message change. */
__attribute__((format(printf, 5, 6))) void xn_rt_transition(struct pod *p, enum xn_pod_phase to,
							    uint64_t timer_ms, const char *reason,
							    const char *fmt, ...);
void xn_rt_start_instance(struct pod *p);
/* A running domain found after a restart: console, readiness, status. */
void xn_rt_adopt(struct pod *p, uint32_t domid, bool paused);
void xn_rt_record_exit(struct pod *p, enum xn_shutdown_reason reason, int code);
/* The instance's domain is gone: drain the console, then finish it. */
void xn_rt_instance_over(struct pod *p);
/* The instance is over and the pod stays: the restart policy decides
 * between TERMINATED and BACKOFF (the one restart decision). */
void xn_rt_decide(struct pod *p, const char *why);

/* runtime_net.c: the pod network of an instance.  prepare returns 1 when
 * the pod must wait for a pod range (it is then in BACKOFF, net_wait). */
/* Allocate (once per pod: restarts keep them) the pod's addresses and make
 * c the domain with its vif (*vif) and command line (*cmdline, malloc'd):
 * xn_runtime_domain_config_net.  c untouched when the runtime has no pod
 * network. */
int xn_rt_net_prepare(struct pod *p, char name[XN_NAME_MAX], struct xn_domain_config *c,
		      struct xn_vif *vif, char **cmdline, xn_err *err);
/* Write the guest's network keys once its domain exists. */
int xn_rt_net_guest(struct pod *p, uint32_t domid, xn_err *err);
/* runtime_env.c: the command line expanded with the pod's environment (into
 * *cmdline and c->cmdline), and the guest's xenlet/env/ keys */
int xn_rt_env_prepare(struct pod *p, struct xn_domain_config *c, char **cmdline, xn_err *err);
int xn_rt_env_guest(struct pod *p, uint32_t domid, xn_err *err);
/* The pod will have no domain again: its addresses go back. */
void xn_rt_net_release(struct pod *p);
/* The recorded addresses into the status (a pod found after a restart). */
void xn_rt_net_restore(struct pod *p);
/* The addresses for the store's pod record (NULL: none). */
void xn_rt_net_record(struct pod *p, const char **ip, const char **mac, struct xn_pod_addrs *buf);

/* runtime_probe.c: the probes of an instance */
/* Start them (once the domain runs; adopted: after a daemon restart, the
 * first attempts spread over a whole period). */
void xn_rt_probe_start(struct pod *p, bool adopted);
/* The instance leaves its running phases: no more probes (idempotent). */
void xn_rt_probe_stop(struct pod *p);
void xn_rt_probe_pause(struct pod *p, bool paused);
/* The guest's side of readiness changed (or is set): st.ready follows from
 * it and the probes; true when st.ready changed. */
bool xn_rt_set_base_ready(struct pod *p, bool ready);

/* runtime.c, for runtime_probe.c */
/* The guest shows it runs (a console byte, a probe answered): BOOTING ->
 * RUNNING. */
void xn_rt_booted(struct pod *p);
/* A failed liveness or startup probe: shut the instance down within
 * grace_s; the restart policy then restarts it unless it is Never. */
void xn_rt_probe_kill(struct pod *p, unsigned grace_s);

#endif
