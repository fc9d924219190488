/* sim_script.h - the script format of hv_sim "images" (docs/sim-scripts.md).
 *
 * Under hv_sim the domain's kernel is a text file, one directive per line,
 * that says what the simulated guest does: write console output, sleep,
 * report readiness, power off with an exit code, crash...  The whole file is
 * parsed up front into a program (an array of steps); a bad file gives one
 * error "FILE:LINE: what is wrong" and no program.
 */
#ifndef XENLET_SIM_SCRIPT_H
#define XENLET_SIM_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenlet/err.h"

#define XN_SIM_SCRIPT_MAX   (1024 * 1024) /* bytes in a script file */
#define XN_SIM_LINE_MAX	    4096	  /* bytes in one line, without "\n" */
#define XN_SIM_SLEEP_MAX_MS 3600000	  /* one hour */
#define XN_SIM_KEY_MAX	    32		  /* a `xenstore` key's length */

enum xn_sim_op {
	XN_SIM_PRINT,	 /* text + "\n" on the console */
	XN_SIM_WRITE,	 /* text, no newline */
	XN_SIM_SLEEP,	 /* arg milliseconds */
	XN_SIM_READY,	 /* set the guest's readiness flag */
	XN_SIM_EXIT,	 /* power off with exit code arg (0..255) */
	XN_SIM_CRASH,	 /* shut down with reason crash */
	XN_SIM_REBOOT,	 /* shut down with reason reboot */
	XN_SIM_WATCHDOG, /* shut down with reason watchdog */
	XN_SIM_LOOP,	 /* jump back to the first step */
	XN_SIM_HANG,	 /* stay running, do nothing more */
	XN_SIM_CMDLINE,	 /* the domain's command line as a console line */
	XN_SIM_MEMORY,	 /* "memory: N KiB" as a console line */
	XN_SIM_XENSTORE, /* write value to the guest's data/xenlet/<text> */
	/* the network (docs/sim-scripts.md, "Network"): servers start and the
	 * script goes on; clients run to their end while the script waits and
	 * print one console line */
	XN_SIM_HTTP,	 /* serve HTTP on port arg: GET answers text */
	XN_SIM_ECHO,	 /* a TCP echo server on port arg */
	XN_SIM_CONNECT,	 /* TCP to host:arg, send text (if any), print the reply */
	XN_SIM_HTTP_GET, /* GET text (a path) from host:arg, print status and body */
	XN_SIM_RESOLVE,	 /* resolve the name host, print its addresses */
};

struct xn_sim_step {
	enum xn_sim_op op;
	char
	    *text; /* PRINT, WRITE, HTTP, CONNECT (may be ""), HTTP_GET (path); XENSTORE: the key */
	char *value;   /* XENSTORE: the value (verbatim, may be empty) */
	char *host;    /* CONNECT, HTTP_GET, RESOLVE; NULL otherwise */
	uint64_t arg;  /* SLEEP (ms), EXIT (code), HTTP/ECHO/CONNECT/HTTP_GET (port) */
	unsigned line; /* line in the file, for messages */
};

struct xn_sim_script {
	char *file; /* name used in messages */
	struct xn_sim_step *steps;
	size_t nsteps;
	bool ignore_shutdown; /* the `ignore-shutdown` directive appears */
	bool uses_net;	      /* a network directive appears */
};

/* Is op one of the network directives (a child process in the guest's
 * network namespace)? */
bool xn_sim_op_is_net(enum xn_sim_op op);

/* Parse text (len bytes, need not be NUL-terminated); file names it in
 * messages.  On error *out is left empty and err says "FILE:LINE: ...". */
int xn_sim_script_parse(const char *file, const char *text, size_t len, struct xn_sim_script *out,
			xn_err *err);
/* Read and parse the file at path.  If text is not NULL, *text receives the
 * file's content (NUL-terminated, malloc'd) so a caller can keep it. */
int xn_sim_script_load(const char *path, struct xn_sim_script *out, char **text, xn_err *err);
/* Free every owned member and zero the struct; idempotent. */
void xn_sim_script_dispose(struct xn_sim_script *s);
const char *xn_sim_op_name(enum xn_sim_op op);

#endif
