/* sim_net_guest.h - the network directives of a sim guest as they run in
 * a child process inside the guest's network namespace
 * (daemon/sim_net_guest.c; docs/sim-scripts.md, "Network"). */
#ifndef XENLET_SIM_NET_GUEST_H
#define XENLET_SIM_NET_GUEST_H

#include <stdbool.h>

#include "xenlet/sim_script.h"

struct sim_guest_job {
	enum xn_sim_op op;	 /* HTTP, ECHO, CONNECT, HTTP_GET, RESOLVE */
	unsigned port;		 /* all but RESOLVE */
	const char *host;	 /* CONNECT, HTTP_GET, RESOLVE */
	const char *text;	 /* HTTP: the body; CONNECT: what to send ("": nothing);
				  * HTTP_GET: the path */
	const char *resolv_conf; /* RESOLVE: the guest's resolv.conf, or NULL */
};

/* Run the job in the calling process, which is the child: servers never
 * return, clients return their exit status.  Console lines go to stdout. */
int sim_guest_run(const struct sim_guest_job *j);

#endif
