/* probe.h - the container probes (startup, liveness, readiness) the daemon
 * runs from Dom0 against the pod's IP, with the kubelet's semantics
 * (docs/pods.md, "Probes").
 *
 * Pure part (probe.c): the spec as pod_translate reads it from the Pod
 * (containers[0].{startup,liveness,readiness}Probe) with the API server's
 * defaults and checks, its JSON for the pod's spec file, and the threshold
 * state machine.  I/O part (probe_run.c): one prober per pod instance on
 * the libevent loop; non-blocking sockets, one attempt in flight per probe,
 * each attempt bounded in time (timeoutSeconds) and in bytes read.
 */
#ifndef XENLET_PROBE_H
#define XENLET_PROBE_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum xn_probe_which { XN_PROBE_STARTUP = 0, XN_PROBE_LIVENESS, XN_PROBE_READINESS, XN_PROBE_N };
/* "Startup", "Liveness", "Readiness", as the kubelet's Event messages. */
const char *xn_probe_which_name(enum xn_probe_which w);

enum xn_probe_kind {
	XN_PROBE_NONE = 0, /* no probe (or one xenlet cannot run: exec, grpc) */
	XN_PROBE_HTTP,
	XN_PROBE_TCP,
};

struct xn_probe {
	enum xn_probe_kind kind;
	unsigned initial_delay_s; /* initialDelaySeconds, default 0 */
	unsigned period_s;	  /* periodSeconds, default 10 */
	unsigned timeout_s;	  /* timeoutSeconds, default 1 */
	unsigned success_threshold;
	unsigned failure_threshold;
	int grace_s;   /* terminationGracePeriodSeconds of the probe; -1: the pod's */
	unsigned port; /* resolved: a named port is looked up in containers[0].ports */
	bool https;    /* scheme HTTPS: TLS without verification, as the kubelet */
	char *host;    /* an IP address; NULL: the pod's IP */
	char *path;    /* HTTP: "/..." (default "/") */
	char *headers; /* HTTP: "Name: value\r\n" lines from httpHeaders, NULL if none */
};

struct xn_probes {
	struct xn_probe p[XN_PROBE_N];
};

/* Any probe to run? */
bool xn_probes_any(const struct xn_probes *ps);
void xn_probes_copy(struct xn_probes *dst, const struct xn_probes *src);
void xn_probes_dispose(struct xn_probes *ps);

/* Read the three probes of container c (a containers[] item of a Pod).
 * Fills out; 0 on success.  On bad input -1 and msg names the field and the
 * problem ("containers[0].readinessProbe.httpGet.port \"web\": no such named
 * port in containers[0].ports").  Probes xenlet cannot run (exec, grpc) are
 * left out (kind NONE) and listed in unsupported (a ", "-joined list of
 * "containers[0].livenessProbe.exec"; "" when none). */
int xn_probes_parse(const cJSON *c, struct xn_probes *out, char *msg, size_t msglen,
		    char *unsupported, size_t unsuplen);
/* As a container would carry them ({"readinessProbe": {...}, ...}; ports
 * resolved to numbers), so the spec file reloads through xn_probes_parse.
 * Adds the members to obj. */
void xn_probes_to_json(const struct xn_probes *ps, cJSON *obj);

/* ---- the kubelet's threshold state machine (pure) ---- */

enum xn_probe_result { XN_PROBE_UNKNOWN = 0, XN_PROBE_SUCCESS, XN_PROBE_FAILURE };

struct xn_probe_state {
	enum xn_probe_result result; /* what the probe says now */
	enum xn_probe_result last;   /* the last attempt's outcome */
	unsigned run;		     /* attempts in a row with the outcome `last` */
	bool on_hold;		     /* liveness/startup failed: no more attempts
				      * for this instance (it is restarted) */
	bool done;		     /* startup succeeded: never run again */
};

/* The state a probe starts in for a new instance, as the kubelet: readiness
 * FAILURE (not ready until it succeeds), liveness SUCCESS, startup UNKNOWN. */
void xn_probe_state_init(struct xn_probe_state *s, enum xn_probe_which w);
/* One attempt's outcome (ok or not) -> the new state.  Returns true when
 * s->result changed (the caller acts on it: readiness, a restart, the
 * others ungated).  successThreshold/failureThreshold attempts in a row
 * change the result; a liveness or startup failure puts the probe on hold,
 * a startup success marks it done. */
bool xn_probe_step(const struct xn_probe *pr, enum xn_probe_which w, struct xn_probe_state *s,
		   bool ok);

/* ---- the prober of one pod instance (probe_run.c) ---- */

struct event_base;
struct xn_prober;

/* A probe's result changed (result), or an attempt failed (result FAILURE,
 * changed false unless the threshold was reached: for the Unhealthy Event
 * the kubelet posts on every failure).  msg says why ("HTTP probe failed with statuscode: 500",
 * "dial tcp 10.0.0.5:80: connect: connection refused", ...). */
typedef void (*xn_prober_cb)(enum xn_probe_which w, enum xn_probe_result result, bool changed,
			     const char *msg, void *arg);

/* Start the probes of an instance against ip (the pod's address; "" when
 * it has none: probes without a host then fail, saying so).  started_mono_ns:
 * the instance's start (initialDelaySeconds count from it).  Each probe's
 * first attempt is spread by a random jitter in [0, min(period, jitter_max_ms)).
 * Results go to cb. */
struct xn_prober *xn_prober_new(struct event_base *base, const struct xn_probes *ps, const char *ip,
				uint64_t started_mono_ns, unsigned jitter_max_ms, xn_prober_cb cb,
				void *arg);
/* Paused: no attempts (an attempt in flight is dropped); results stay. */
void xn_prober_pause(struct xn_prober *pr, bool paused);
/* The state of one probe (for the runtime's ready computation). */
const struct xn_probe_state *xn_prober_state(const struct xn_prober *pr, enum xn_probe_which w);
void xn_prober_free(struct xn_prober *pr);

/* Test hook: one attempt of probe pr against ip, on base, result to done
 * (msg NULL on success).  Used by the unit tests of the I/O. */
typedef void (*xn_probe_attempt_cb)(bool ok, const char *msg, void *arg);
struct xn_probe_attempt;
struct xn_probe_attempt *xn_probe_attempt_start(struct event_base *base, const struct xn_probe *pr,
						const char *ip, xn_probe_attempt_cb done,
						void *arg);
void xn_probe_attempt_cancel(struct xn_probe_attempt *a);

#endif
