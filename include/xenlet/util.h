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

/* The one RFC 3339 formatter: unix ns in UTC with frac_digits (0..9)
 * digits after the second, truncated: 0 is metav1.Time
 * ("2006-01-02T15:04:05Z"), 6 metav1.MicroTime, 9 a CRI log line's time;
 * XN_RFC3339_NANO is Go's time.RFC3339Nano (up to 9 digits, trailing zeros
 * and a bare dot dropped), as the kubelet prints log timestamps. */
#define XN_RFC3339_LEN	40
#define XN_RFC3339_NANO (-1)
void xn_rfc3339_fmt(uint64_t unix_ns, int frac_digits, char buf[XN_RFC3339_LEN]);
/* The seconds form (20 bytes + NUL), what most Kubernetes fields want. */
void xn_rfc3339(uint64_t unix_ns, char buf[24]);
/* The one RFC 3339 parser: the len bytes at s are exactly
 * "YYYY-MM-DDTHH:MM:SS", an optional fraction (digits past the ninth are
 * ignored), then "Z" or "+hh:mm"/"-hh:mm" ('t' and 'z' too, as RFC 3339
 * allows).  0 with unix ns, or -1: another shape, a field out of range, or
 * a time before 1970. */
int xn_rfc3339_parse(const char *s, size_t len, uint64_t *unix_ns);

/* The one DNS-name check, as Kubernetes validates object names: an RFC 1123
 * label ([a-z0-9-], alphanumeric at both ends, at most 63: namespaces) or,
 * with subdomain, dot-separated such labels, at most 253 in all (and, as in
 * IsDNS1123Subdomain, no bound of 63 per label).  Reads the
 * len bytes at s (no NUL needed); the two short forms take a C string (NULL
 * is not a name). */
bool xn_dns_name(const char *s, size_t len, bool subdomain);
bool xn_dns_subdomain(const char *s);
bool xn_dns_label(const char *s);

/* Standard base64 with padding (what Kubernetes puts in JSON for []byte):
 * a new NUL-terminated string. */
char *xn_base64_encode(const void *data, size_t len);
/* Decode base64 (blanks and line breaks allowed, padding required) into
 * *out (malloc'd, with a NUL after the *len bytes so text such as PEM reads
 * as a string).  An empty input is 0 bytes; -1 with errno EINVAL and *out
 * NULL on anything else that is not base64. */
int xn_base64_decode(const char *in, unsigned char **out, size_t *len);

/* A copy of s, or NULL when s is NULL. */
char *xn_dup_or_null(const char *s);

/* The whole file, NUL-terminated (*out malloc'd, *len without the NUL; len
 * may be NULL).  A file larger than max is an error (EFBIG); a missing one
 * fails with status ENOENT, so callers can treat "absent" apart. */
int xn_read_file(const char *path, size_t max, char **out, size_t *len, xn_err *err);

/* mkdir -p with mode. */
int xn_mkdir_p(const char *path, unsigned mode);

#endif
