/* hv_sim_int.h - shared by daemon/hv_sim.c and daemon/hv_sim_state.c only.
 * (It lives in include/ so that the Makefile rebuilds on changes.) */
#ifndef XENLET_HV_SIM_INT_H
#define XENLET_HV_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenlet/hv.h"
#include "xenlet/hv_sim.h"
#include "xenlet/sim_script.h"

struct event;

struct sim_waiter {
	xn_hv_done_cb cb;
	void *arg;
	struct sim_waiter *next;
};

/* A child process of a sim domain (daemon/sim_net.c): the jobs that wire
 * its network (run once, their output kept for a message) and the guest's
 * own processes (servers and clients of the network directives, forked
 * into its network namespace, their output going to its console). */
enum sim_proc_kind {
	SIM_PROC_SETUP,	   /* netns, veth, the vif hook online (at create) */
	SIM_PROC_CONFIG,   /* the guest's address and routes (first unpause) */
	SIM_PROC_TEARDOWN, /* the hook offline, veth and netns gone (destroy) */
	SIM_PROC_SERVER,   /* http, echo: runs until the domain stops */
	SIM_PROC_CLIENT,   /* connect, http-get, resolve: the script waits */
};

struct sim_proc {
	struct sim_dom *d;
	struct sim_proc *next;
	enum sim_proc_kind kind;
	pid_t pid;
	uint64_t start_time; /* /proc/<pid>/stat field 22: tells a reused pid apart */
	bool child;	     /* ours to reap (false: adopted from a previous daemon) */
	int fd;		     /* its stdout and stderr; -1 when adopted */
	struct event *ev;    /* read fd; then the reap retry timer */
	char *what;	     /* "http :8080", for console and log lines */
	char out[1024];	     /* output not yet a whole line (guest) or the tail (jobs) */
	size_t outlen;
	int status; /* from waitpid, once reaped */
};

struct sim_dom {
	struct sim *sim;
	struct sim_dom *next;
	uint32_t domid;
	struct xn_domain_config cfg;
	struct xn_sim_script script;
	char *script_text;
	char *json; /* its entry in the table file as last made; NULL: make it */

	enum xn_dom_state state;
	enum xn_shutdown_reason reason; /* once shut down */
	int exit_code;
	size_t pc;		/* next step */
	bool sleeping;		/* step pc is a sleep in progress */
	uint64_t sleep_left_ns; /* of that sleep, while paused */
	uint64_t sleep_end_ns;	/* of that sleep, while running */
	bool ready;

	bool creating; /* create() returned, its callback has not run */
	xn_hv_create_cb create_cb;
	void *create_arg;
	char *create_fail; /* injected failure for this create */
	bool dying;	   /* destroy() called, death not yet reported */
	bool watched;	   /* events go to the owner: created here or adopted */
	bool shutdown_unreported;
	bool crash_requested;
	bool shutdown_requested;

	uint64_t cpu_ns;       /* accumulated before run_since_ns */
	uint64_t run_since_ns; /* monotonic, while RUNNING */

	struct event *step_ev;	   /* next script step */
	struct event *async_ev;	   /* work for the loop: create/death/console */
	struct event *deadline_ev; /* shutdown deadline */
	struct event *pty_ev;	   /* drains what is typed into the console */
	struct sim_waiter *shutdown_waiters, *destroy_waiters;

	char *cbuf; /* console output not yet delivered */
	size_t clen;
	xn_hv_console_cb console_cb;
	void *console_arg;
	int pty_master, pty_slave;
	char *pty_path;
	char *pty_error;

	/* the network (sim_net.c); netns NULL: the domain has none */
	char *netns;		 /* its network namespace, /run/netns/<netns> */
	bool net_up;		 /* the hook plugged its vifs */
	bool net_configured;	 /* the guest side has its address */
	bool net_down;		 /* teardown done */
	struct sim_proc *job;	 /* the setup, config or teardown job running */
	struct sim_proc *waiter; /* the client the script waits for */
	struct sim_proc *procs;	 /* the guest's servers and clients */
};

struct sim {
	struct xn_hv *hv;
	char *state_dir;
	char *state_file;
	int lock_fd;
	uint64_t total_kb;
	unsigned nr_cpus;
	uint32_t next_domid;
	struct sim_dom *doms; /* newest first */
	char *fail_next[XN_SIM_FAULT_MAX];
	char *fail_create_glob;
	xn_hv_sim_ready_cb ready_cb;
	void *ready_arg;
	xn_hv_sim_xenstore_cb xenstore_cb;
	void *xenstore_arg;
	xn_hv_sim_guest_key_cb key_cb;
	void *key_arg;
	/* the network: off (net_off says why) unless root, a xenstore shim and
	 * ip(8) are there */
	char *net_off;		    /* why domains get no network namespace, or NULL */
	char *net_dom0;		    /* XN_SIM_NET_DOM0: the netns playing Dom0, or NULL */
	char *net_prefix;	    /* XN_SIM_NET_PREFIX: netns names <prefix>-<domid> */
	char *net_bin;		    /* <state>/net/bin: xenstore-read/-write/-rm (the shim) */
	char *net_xs;		    /* <state>/net/xs: the shim's store */
	struct event *save_ev;	    /* writes the table at the end of the turn */
	bool dirty;		    /* the table changed since the last write */
	bool save_failing;	    /* the last write failed (logged once) */
	unsigned long state_writes; /* of the file, for xn_hv_sim_state_writes() */
};

/* hv_sim.c */
struct sim_dom *sim_dom_new(struct sim *s);
/* Work for the loop: the domain's async event (create, death, console). */
void sim_kick(struct sim_dom *d);
/* Run the domain's script from the loop (its next step, now). */
void sim_step_now(struct sim_dom *d);
void sim_console_line(struct sim_dom *d, const char *text);
/* Rewrite the domain table (a failure keeps the old one). */
/* Domain d changed: its table entry is made again and the table written
 * at the end of the loop turn. */
void sim_dom_changed(struct sim_dom *d);
bool sim_dom_down(const struct sim_dom *d);
void sim_dom_free(struct sim_dom *d);
uint64_t sim_dom_cpu_ns(const struct sim_dom *d);

/* hv_sim_state.c: save every created domain (temp file, rename;
 * each domain's entry as d->json has it, made when NULL); load them back (each made with
 * sim_dom_new, linked into s->doms, with config, script, state, pc, ready,
 * cpu time; events and pty are the caller's job). */
int sim_state_save(struct sim *s, xn_err *err);
int sim_state_load(struct sim *s, xn_err *err);

/* sim_net.c.  The network of a domain, each step a child process watched
 * from the loop; when one ends, the domain's async event is kicked (setup,
 * teardown) or its script goes on (config, client). */
void sim_net_open(struct sim *s);
/* At create: a netns when the domain has vifs and the network is on (0),
 * else a log line and nothing (0); -1 only when the job cannot start. */
int sim_net_setup(struct sim_dom *d, xn_err *err);
/* Setup finished: 0 ok, -1 and err with the hook's reason. */
int sim_net_setup_result(struct sim_dom *d, xn_err *err);
/* At (each) unpause: configure the guest side once; true while it runs. */
bool sim_net_config(struct sim_dom *d);
/* Run one network step; true when the script must wait for it. */
bool sim_net_step(struct sim_dom *d, const struct xn_sim_step *st);
/* Pause / resume / stop the guest's processes (SIGSTOP, SIGCONT, SIGKILL). */
void sim_net_signal(struct sim_dom *d, int sig);
/* At death: kill the processes, start the teardown; true while it runs. */
bool sim_net_teardown(struct sim_dom *d);
/* Free the process records (closing fds) without killing: the daemon
 * stops, the guests keep running. */
void sim_net_free(struct sim_dom *d);
/* sim_net_proc.c: the processes (contracts at the top of that file). */
uint64_t sim_start_time_of(pid_t pid);
bool sim_proc_alive(const struct sim_proc *p);
void sim_proc_free(struct sim_proc *p);
/* Take p off d's job, waiter and process list. */
void sim_unlink_proc(struct sim_dom *d, struct sim_proc *p);
/* A guest process's whole lines (all with flush) to the console. */
void sim_guest_output(struct sim_proc *p, bool flush);
/* The last line a job wrote: its reason. */
const char *sim_job_reason(struct sim_proc *p);
/* A shell job (becomes d->job) / a guest process (on d->procs); NULL and
 * err when it cannot start. */
struct sim_proc *sim_spawn_job(struct sim_dom *d, enum sim_proc_kind kind, const char *script,
			       char *const *args, size_t nargs, xn_err *err);
struct sim_guest_job;
struct sim_proc *sim_spawn_guest(struct sim_dom *d, enum sim_proc_kind kind, const char *what,
				 const struct sim_guest_job *j, xn_err *err);
char *sim_exit_text(int status); /* "exit status 1", "killed by signal 9" */
bool sim_job_ok(const struct sim_proc *p);
/* sim_net.c: a process ended and is reaped (status set, pid 0). */
void sim_net_proc_done(struct sim_proc *p);
/* Persistence: the network fields of a domain to and from its JSON. */
struct cJSON;
void sim_net_to_json(const struct sim_dom *d, struct cJSON *o);
int sim_net_from_json(struct sim_dom *d, const struct cJSON *o, xn_err *err);

#endif
