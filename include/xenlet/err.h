/* err.h - error objects that carry a message a person can act on.
 *
 * Modelled on crun's libcrun_error_t: a function that fails fills *err with
 * a status and a message and returns -1; each caller up the stack may wrap
 * it with context ("pod ns/name: image pull: ...") so the final text can go
 * straight into a pod's status or an `xl-pod` error line.  Library-like
 * modules never log their errors; the layer that decides (main, reconcile,
 * control) logs or reports them.
 */
#ifndef XENLET_ERR_H
#define XENLET_ERR_H

#include <stdarg.h>

struct xn_error {
	int status; /* an errno value, or 0 when none applies */
	char *msg;
};
typedef struct xn_error *xn_err;

/* Set *err (if err != NULL) and return -1.  Any previous error is freed. */
int xn_error(xn_err *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like xn_error, with ": strerror(errnum)" appended. */
int xn_error_errno(xn_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix the message of *err with context: "context: old message".
 * Returns -1 so that `return xn_error_wrap(err, "...")` reads naturally. */
int xn_error_wrap(xn_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free *err and set it to NULL; idempotent. */
void xn_error_free(xn_err *err);
/* The message, or "(no error)" when err is NULL. */
const char *xn_error_msg(const xn_err err);

#endif
