/* err.c - error objects with wrapped context (see include/xenlet/err.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/err.h"

__attribute__((format(printf, 1, 0))) static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int xn_error(xn_err *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	xn_error_free(err);
	*err = calloc(1, sizeof(**err));
	if (*err == NULL)
		return -1;
	(*err)->status = status;
	va_start(ap, fmt);
	(*err)->msg = vfmt(fmt, ap);
	va_end(ap);
	return -1;
}

int xn_error_errno(xn_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *head;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	head = vfmt(fmt, ap);
	va_end(ap);
	xn_error(err, errnum, "%s: %s", head ? head : "?", strerror(errnum));
	free(head);
	return -1;
}

int xn_error_wrap(xn_err *err, const char *fmt, ...)
{
	va_list ap;
	char *head, *msg;

	if (err == NULL || *err == NULL)
		return -1;
	va_start(ap, fmt);
	head = vfmt(fmt, ap);
	va_end(ap);
	if (head != NULL && asprintf(&msg, "%s: %s", head, (*err)->msg ? (*err)->msg : "?") >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(head);
	return -1;
}

void xn_error_free(xn_err *err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}

const char *xn_error_msg(const xn_err err)
{
	if (err == NULL)
		return "(no error)";
	return err->msg ? err->msg : "(out of memory formatting error)";
}
