/* hv_libxl.h - the parts of the libxl backend that tests can reach without
 * a running Xen.  No libxl types here: only daemon/hv_libxl*.c include
 * libxl.h.
 *
 * The backend itself is xn_hv_libxl_ops (hv.h).  Facts callers rely on:
 *   - Every owner callback (events, create/done callbacks) runs from the
 *     event loop, never inside the hv call that caused it.
 *   - SIGCHLD: libxl runs in "mainloop" child mode; the backend watches
 *     SIGCHLD with a libevent signal event and lets libxl reap only its own
 *     children.  Other modules must also use libevent for SIGCHLD and
 *     waitpid() only their own pids.
 *   - No call waits for a guest: shutdown() returns once control/shutdown
 *     is being written.  At the deadline the domain is destroyed whatever
 *     the guest does; a request libxl cannot send, or that fails, is
 *     followed by a destroy at once.  One the guest does not acknowledge
 *     (libxl gives up after 60 s) waits for the deadline: a grace period
 *     longer than libxl's wait is kept whole.  Its callback runs when the
 *     domain is gone (rc 0) or the destroy failed (rc -1), never before,
 *     and every waiter gets one.
 *   - close() leaves domains running (a daemon restart must not kill pods),
 *     aborts libxl's wait for shutdown acknowledgements, and drops
 *     callbacks that have not run yet.
 */
#ifndef XENLET_HV_LIBXL_H
#define XENLET_HV_LIBXL_H

#include "xenlet/err.h"
#include "xenlet/hv.h"

/* The libxl_domain_config that create() would hand to libxl, as libxl's
 * own JSON (libxl_domain_config_to_json; the form `xl -vvv create` and
 * /var/lib/xen/userdata-*.libxl-json use).  Needs no Xen.  *json is
 * malloc'd.  Fails with a message naming the field for invalid configs. */
int xn_hv_libxl_config_json(const struct xn_domain_config *cfg, char **json, xn_err *err);

/* The guest may write its exit code to data/xenlet/exit-code before it
 * powers off.  Accepted: 1 to 3 decimal digits, value 0..255, nothing else
 * (no sign, no space, no newline).  Returns the code or -1 (ignored). */
int xn_hv_libxl_parse_exit_code(const char *s, size_t len);

/* libxl's shutdown reason (LIBXL_SHUTDOWN_REASON_*) to ours. */
enum xn_shutdown_reason xn_hv_libxl_reason(int libxl_reason);

#endif
