/* hv_sim_int.h - shared by daemon/hv_sim.c and daemon/hv_sim_state.c only.
 * (It lives in include/ so that the Makefile rebuilds on changes.) */
#ifndef XENLET_HV_SIM_INT_H
#define XENLET_HV_SIM_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "xenlet/hv.h"
#include "xenlet/hv_sim.h"
#include "xenlet/sim_script.h"

struct event;

struct sim_waiter {
	xn_hv_done_cb cb;
	void *arg;
	struct sim_waiter *next;
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
	struct event *save_ev;	    /* writes the table at the end of the turn */
	bool dirty;		    /* the table changed since the last write */
	bool save_failing;	    /* the last write failed (logged once) */
	unsigned long state_writes; /* of the file, for xn_hv_sim_state_writes() */
};

/* hv_sim.c */
struct sim_dom *sim_dom_new(struct sim *s);
void sim_dom_free(struct sim_dom *d);
uint64_t sim_dom_cpu_ns(const struct sim_dom *d);

/* hv_sim_state.c: save every created domain (temp file, rename;
 * each domain's entry as d->json has it, made when NULL); load them back (each made with
 * sim_dom_new, linked into s->doms, with config, script, state, pc, ready,
 * cpu time; events and pty are the caller's job). */
int sim_state_save(struct sim *s, xn_err *err);
int sim_state_load(struct sim *s, xn_err *err);

#endif
