/* util.h - small helpers shared by every module. */
#ifndef XENLET_UTIL_H
#define XENLET_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "xenlet/err.h"

/* Scope-bound cleanup for locals (gnu11), as crun's utils.h does. */
static inline void xn_freep(void *p)
{
	free(*(void **)p);
}
static inline void xn_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define cleanup_free  __attribute__((cleanup(xn_freep)))
#define cleanup_close __attribute__((cleanup(xn_closep)))

#define XN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that cannot fail: aborts with a message on ENOMEM. */
void *xn_xmalloc(size_t n);
void *xn_xcalloc(size_t n, size_t m);
void *xn_xrealloc(void *p, size_t n);
char *xn_xstrdup(const char *s);
char *xn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Strict integer parsing: the whole string must be a number in range.
 * Returns 0 or -1 (errno EINVAL / ERANGE). */
int xn_parse_u64(const char *s, uint64_t max, uint64_t *out);
int xn_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Monotonic and wall clocks in nanoseconds. */
uint64_t xn_now_mono_ns(void);
uint64_t xn_now_real_ns(void);

/* Write all len bytes of buf to fd, resuming after EINTR and short writes.
 * Returns 0, or -1 with errno set (EIO if write() wrote nothing). */
int xn_write_all(int fd, const void *buf, size_t len);

/* unix ns as RFC 3339 in UTC with second precision, "2006-01-02T15:04:05Z":
 * the metav1.Time of Kubernetes objects (20 bytes + NUL). */
void xn_rfc3339(uint64_t unix_ns, char buf[24]);

/* Kubernetes object names: an RFC 1123 subdomain (lowercase letters,
 * digits, '-' and '.', alphanumeric at both ends, at most 253) and an RFC
 * 1123 label (the same without '.', at most 63: namespaces). */
bool xn_dns_subdomain(const char *s);
bool xn_dns_label(const char *s);

/* The whole file, NUL-terminated (*out malloc'd, *len without the NUL; len
 * may be NULL).  A file larger than max is an error (EFBIG); a missing one
 * fails with status ENOENT, so callers can treat "absent" apart. */
int xn_read_file(const char *path, size_t max, char **out, size_t *len, xn_err *err);

/* mkdir -p with mode. */
int xn_mkdir_p(const char *path, unsigned mode);

#endif
