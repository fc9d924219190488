/* hv_sim.h - what the simulated hypervisor backend adds to hv.h.
 *
 * hv_sim runs "domains" inside the daemon's own libevent loop: each domain
 * executes a sim script (the file named by xn_domain_config.kernel, format in
 * docs/sim-scripts.md) on evtimer callbacks; no threads, no polling.
 *
 * Configuration, read by open() from the environment:
 *   XN_SIM_MEMORY_MB   host memory for guests (default 8192)
 *   XN_SIM_CPUS        host CPUs (default 4)
 *   XN_SIM_STATE_DIR   where the domain table is kept (default /run/xenlet-sim)
 *   XN_SIM_FAIL_CREATE a glob: creates of domains whose name matches fail
 *                      (fault injection for tests that run xenletd itself)
 *   XN_SIM_XENSTORE_SHIM  the xenstore-read/-write/-rm shim the vif hook
 *                      runs with (test/lib/xenstore-shim.sh); without it,
 *                      or without root or ip(8), domains get no network
 *   XN_SIM_NET_DOM0    the network namespace that plays Dom0 (holds the
 *                      bridge and the vifs); default: the daemon's own
 *   XN_SIM_NET_PREFIX  guest netns names are <prefix>-<domid> (default
 *                      xnsim)
 *
 * The network (docs/sim-scripts.md, "Network"): a domain with vifs gets a
 * network namespace whose eth<n> is the peer of a veth vif<domid>.<n> in
 * Dom0's; create runs the vif's hotplug script (its script=) online as
 * libxl does, with the backend directory in the shim's store, and fails
 * with the hook's hotplug-error; the first unpause gives eth0 the address
 * the guest reads through the guest key reader; destroy kills the guest's
 * processes, runs the hook offline and removes the veth and the netns
 * before the death is reported.  Network namespaces, vifs and guest
 * processes survive a daemon restart with their domain.
 *
 * Behaviour beyond hv.h:
 * - Domids count up from 1 and are never reused by one state directory.
 * - create() checks the config, reads and parses the script, the name and
 *   free memory before returning (errors come back from create() itself,
 *   nothing is left behind); injected failures come through the callback.
 *   The callback always runs from the event loop, never inside create().
 *   The xn_err handed to any callback belongs to the backend and is freed
 *   when the callback returns: copy the message to keep it.
 * - destroy() of a domain that had not shut down emits XN_HV_EV_SHUTDOWN
 *   with reason XN_SHUTDOWN_DESTROYED (exit code 137) before
 *   XN_HV_EV_DEATH, so the owner always learns an exit code.
 * - shutdown() of a running guest: it powers off (reason poweroff, exit 0)
 *   at its next step unless its script says `ignore-shutdown`; a paused
 *   guest cannot answer.  Either way the domain is destroyed at the deadline
 *   if it has not shut down.  The completion callback gets rc 0 once the
 *   domain has shut down or died.
 * - Console: output is buffered (the newest 256 KiB) while no consumer is
 *   attached and handed over, in order, after console_attach(); delivery is
 *   always from the event loop.  Each domain also has a pty (console_path);
 *   its master is written non-blocking and output that does not fit (nobody
 *   reading the slave) is dropped there, never in the attach stream.
 * - Persistence: the domain table lives in XN_SIM_STATE_DIR/domains.json,
 *   rewritten atomically (tmp + rename) once per event-loop turn in
 *   which the table changed (a state change, `ready`): at the end of that
 *   turn, after its callbacks and before the loop waits again, so that a
 *   process killed once the turn is over keeps every change; and on
 *   close().  Not fsynced: like a hypervisor's domains, the table need not
 *   survive a crash of the host, and an empty file loads as no domains.
 *   A new open() on the same directory loads the domains in
 *   the state they had (running, paused, shut down) with their script text,
 *   domid, tag, cpu time and ready flag; their scripts resume at the step
 *   recorded last (a sleep in progress starts over; after a crash of the
 *   process a guest may repeat the steps since its last state change, and
 *   its cpu time is the one of that change).  No time
 *   passes for a guest while no process hosts it.  Console output that was
 *   not delivered before close() is lost.  Events of loaded domains are held
 *   back until adopt(); a shutdown that happened before is then reported.
 *   A lock file keeps two instances (in one process or two) off one
 *   directory; instances on different directories are independent.
 * - close() drops pending callbacks without calling them; do not call it
 *   from inside a callback of the same instance.
 */
#ifndef XENLET_HV_SIM_H
#define XENLET_HV_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "xenlet/err.h"
#include "xenlet/hv.h"

#define XN_SIM_DEFAULT_MEMORY_MB 8192
#define XN_SIM_DEFAULT_CPUS	 4
#define XN_SIM_DEFAULT_STATE_DIR "/run/xenlet-sim"
#define XN_SIM_CONSOLE_BUF_MAX	 (256 * 1024)

enum xn_sim_fault {
	XN_SIM_FAIL_NEXT_CREATE = 0,	  /* the next create's callback gets rc -1 */
	XN_SIM_FAIL_NEXT_UNPAUSE,	  /* the next unpause() returns -1 */
	XN_SIM_FAIL_NEXT_DESTROY,	  /* the next destroy() returns -1 */
	XN_SIM_FAIL_NEXT_SHUTDOWN,	  /* the next shutdown() returns -1, asks nothing */
	XN_SIM_NO_DEADLINE_NEXT_SHUTDOWN, /* the next shutdown() arms no deadline: a
					   * backend that leaves the grace period to its
					   * caller (msg unused); its callback comes when
					   * the domain shuts down or dies */
	XN_SIM_FAULT_MAX,
};

/* Arm a one-shot fault; msg (copied) becomes the error message.  Returns -1
 * when hv is not a sim backend. */
int xn_hv_sim_inject(struct xn_hv *hv, enum xn_sim_fault fault, const char *msg);
/* Crash a running or paused domain now, as a guest fault would: a SHUTDOWN
 * event with reason crash follows from the event loop. */
int xn_hv_sim_crash(struct xn_hv *hv, uint32_t domid, xn_err *err);
/* The guest's readiness flag (set by the script's `ready`); false for
 * unknown domains. */
bool xn_hv_sim_ready(struct xn_hv *hv, uint32_t domid);

/* Called when a guest executes `ready`, from the event loop (the store
 * module will write the flag into the guest's data area). */
typedef void (*xn_hv_sim_ready_cb)(struct xn_hv *hv, uint32_t domid, void *arg);
void xn_hv_sim_set_ready_hook(struct xn_hv *hv, xn_hv_sim_ready_cb cb, void *arg);
/* Called when a guest executes `xenstore KEY VALUE`: the owner writes value
 * to the guest's data/xenlet/KEY, as a real guest would. */
typedef void (*xn_hv_sim_xenstore_cb)(struct xn_hv *hv, uint32_t domid, const char *key,
				      const char *value, void *arg);
void xn_hv_sim_set_xenstore_hook(struct xn_hv *hv, xn_hv_sim_xenstore_cb cb, void *arg);

/* How a sim guest reads its configuration (/local/domain/<domid>/xenlet/
 * <key>: ip, prefix, gateway, ...) as a real guest reads xenstore: the
 * value malloc'd, or NULL when absent.  Without it the guest's network
 * interface stays without an address. */
typedef char *(*xn_hv_sim_guest_key_cb)(struct xn_hv *hv, uint32_t domid, const char *key,
					void *arg);
void xn_hv_sim_set_guest_key_reader(struct xn_hv *hv, xn_hv_sim_guest_key_cb cb, void *arg);
/* Test hook: how often the domain table has been written (0: not sim). */
unsigned long xn_hv_sim_state_writes(struct xn_hv *hv);

#endif
