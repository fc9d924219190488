/* hv_libxl_priv.h - state shared by the files of the libxl backend
 * (daemon/hv_libxl*.c).  The only header besides those files that sees
 * libxl types. */
#ifndef XENLET_HV_LIBXL_PRIV_H
#define XENLET_HV_LIBXL_PRIV_H

#define LIBXL_API_VERSION 0x041300
#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>
#include <xentoollog.h>

#include <stdbool.h>

#include "xenlet/hv.h"

#define LX_USERDATA_ID "xenlet" /* libxl_userdata_store() key for our tag */

struct event;
struct lx;

/* xentoollog logger that feeds log.h and remembers the first error line
 * since it was cleared, so that our error messages can say why libxl
 * failed: the first is the cause ("xc_dom_parse_hvm_kernel: ELF image is
 * not 32bit"), the last only libxl's summary ("cannot (re-)build domain"). */
/* libxl's error lines, numbered, the last LX_ERRLINES kept: operations run
 * concurrently, so each remembers the number at its start (lx_why_mark) and
 * explains a failure with the first error logged since (lx_why_since). */
#define LX_ERRLINES 32
struct lx_logger {
	xentoollog_logger vtable; /* first: libxl sees a xentoollog_logger * */
	unsigned long seq;	  /* error lines logged so far */
	char lines[LX_ERRLINES][512];
};

/* One libxl osevent registration (fd or timeout) mapped to a libevent event. */
struct lx_reg {
	struct lx_reg *prev, *next;
	struct lx *lx;
	struct event *ev;
	int fd; /* -1 for timeouts */
	short events;
	void *for_libxl;
	bool fired; /* timeout: being delivered, libxl's modify must be ignored */
};

/* A done callback waiting for a destroy. */
struct lx_waiter {
	struct lx_waiter *next;
	xn_hv_done_cb cb;
	void *arg;
};

struct lx_destroy;
struct lx_console;
struct lx_dom;

/* A libxl_domain_shutdown in flight.  libxl writes control/shutdown, then
 * waits (up to 60 s, on our loop) for the guest to acknowledge by clearing
 * it; the grace period does not wait for it (see lx_shutdown).  It keeps
 * its lx_dom alive; how is kept for libxl_ao_abort. */
struct lx_sdop {
	struct lx *lx;
	struct lx_dom *dom;
	libxl_asyncop_how how;
	unsigned long why_mark;
};

/* A domain we deliver events for (created or adopted). */
struct lx_dom {
	struct lx_dom *next;
	struct lx *lx;
	uint32_t domid;
	libxl_evgen_domain_death *deathw;
	bool shutdown_seen; /* SHUTDOWN delivered (real or synthetic) */
	bool dead;
	/* pending shutdown(): destroy on SHUTDOWN, at the deadline, or as
	 * soon as the request fails or goes unacknowledged */
	struct event *deadline;
	struct lx_waiter *sd_waiters;
	struct lx_sdop *sdop;	    /* libxl_domain_shutdown in flight */
	struct lx_destroy *destroy; /* destroy in flight */
};

/* Owner notifications are queued and delivered from the loop, in order. */
enum lx_note_kind { LX_NOTE_EVENT, LX_NOTE_CREATED, LX_NOTE_DONE, LX_NOTE_CONSOLE_EOF };
struct lx_note {
	struct lx_note *next;
	enum lx_note_kind kind;
	struct xn_hv_event ev;
	uint32_t domid;
	int rc;
	xn_err err;
	xn_hv_create_cb create_cb;
	xn_hv_done_cb done_cb;
	void *arg;
};

struct lx {
	struct xn_hv *hv;
	libxl_ctx *ctx;
	struct lx_logger logger;
	unsigned long why_mark; /* for lx_why() of synchronous calls */
	struct xs_handle *xs;
	struct event *xs_ev;
	struct event *sigchld_ev;
	struct lx_reg *regs;
	struct lx_dom *doms;
	struct lx_console *cons;
	unsigned busy; /* libxl asynchronous operations in flight */
	/* owner notifications */
	struct lx_note *notes, **notes_tail;
	struct event *flush_ev;
	bool flushing;
	bool closing; /* close() is draining libxl operations */
	bool closed;  /* close() ran during a flush: free when it returns */
};

/* hv_libxl_config.c */
int lx_config_build(libxl_ctx *ctx, const struct xn_domain_config *cfg, libxl_domain_config *d,
		    xn_err *err);

/* hv_libxl_osevent.c */
void lx_logger_init(struct lx_logger *lg);
extern const libxl_osevent_hooks lx_osevent_hooks;
void lx_regs_free_all(struct lx *lx);
/* Where an operation starts in the error-line sequence. */
unsigned long lx_why_mark(struct lx *lx);
/* "ERROR_FAIL (-3): <first libxl error line logged since mark>". */
const char *lx_why_since(struct lx *lx, unsigned long mark, int rc, char *buf, size_t len);
/* The same for an operation that started at the last lx_why_mark() call
 * (synchronous calls: nothing else runs in between). */
const char *lx_why(struct lx *lx, int rc, char *buf, size_t len);

/* hv_libxl_console.c */
int lx_console_path(struct xn_hv *hv, uint32_t domid, char **path, xn_err *err);
int lx_console_attach(struct xn_hv *hv, uint32_t domid, xn_hv_console_cb cb, void *arg,
		      xn_err *err);
void lx_console_detach(struct xn_hv *hv, uint32_t domid);
/* xenstore watch fired with this token; returns true if it was a console's. */
bool lx_console_watch_fired(struct lx *lx, const char *path, const char *token);
void lx_console_eof(struct lx *lx, uint32_t domid); /* drain, deliver len 0, free */
void lx_console_free_all(struct lx *lx);

/* hv_libxl.c */
void lx_note_push(struct lx *lx, struct lx_note *n);

#endif
