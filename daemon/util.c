/* util.c - allocation, strict number parsing, clocks, RFC 3339 times, DNS
 * names, base64, whole files, mkdir -p. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "xenlet/err.h"
#include "xenlet/log.h"
#include "xenlet/util.h"

void *xn_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc %zu", n);
	return p;
}

void *xn_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		fatal("calloc %zu x %zu", n, m);
	return p;
}

void *xn_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatal("realloc %zu", n);
	return q;
}

char *xn_xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (p == NULL)
		fatal("strdup");
	return p;
}

char *xn_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	return s;
}

int xn_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		errno = errno ? errno : EINVAL;
		return -1;
	}
	if (v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int xn_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		errno = errno ? errno : EINVAL;
		return -1;
	}
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xn_now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
uint64_t xn_now_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

void xn_rfc3339_fmt(uint64_t unix_ns, int frac_digits, char buf[XN_RFC3339_LEN])
{
	time_t t = (time_t)(unix_ns / 1000000000ull);
	unsigned frac = (unsigned)(unix_ns % 1000000000ull);
	int digits = frac_digits < 0 || frac_digits > 9 ? 9 : frac_digits;
	char f[12] = "";
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, XN_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits > 0) {
		snprintf(f, sizeof(f), ".%09u", frac);
		f[1 + digits] = '\0';
		if (frac_digits == XN_RFC3339_NANO) {
			for (size_t i = strlen(f) - 1; i > 0 && f[i] == '0'; i--)
				f[i] = '\0';
			if (f[1] == '\0')
				f[0] = '\0';
		}
	}
	snprintf(buf + n, XN_RFC3339_LEN - n, "%sZ", f);
}

void xn_rfc3339(uint64_t unix_ns, char buf[24])
{
	char b[XN_RFC3339_LEN];

	xn_rfc3339_fmt(unix_ns, 0, b);
	/* 20 characters: 64-bit unix ns end in the year 2554 */
	memcpy(buf, b, 21);
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int xn_rfc3339_parse(const char *s, size_t len, uint64_t *unix_ns)
{
	const char *p = s + 19, *end = s + len;
	struct tm tm = {0};
	uint64_t frac = 0;
	int nd = 0, sign = 0;
	long off = 0;
	time_t t;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 70 - 1 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 9)
				frac = frac * 10 + (uint64_t)(*p - '0');
		if (nd == 0)
			return -1;
		for (int i = nd; i < 9; i++)
			frac *= 10;
	}
	if (p + 1 == end && (*p == 'Z' || *p == 'z')) {
		p++;
	} else if (end - p == 6 && (*p == '+' || *p == '-') && p[3] == ':') {
		int h = digits(p + 1, 2), m = digits(p + 4, 2);

		if (h < 0 || h > 23 || m < 0 || m > 59)
			return -1;
		sign = *p == '-' ? -1 : 1;
		off = sign * (h * 3600L + m * 60L);
		p += 6;
	}
	if (p != end)
		return -1;
	t = timegm(&tm) - off;
	if (t < 0)
		return -1;
	*unix_ns = (uint64_t)t * 1000000000ull + frac;
	return 0;
}

static bool lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool xn_dns_name(const char *s, size_t len, bool subdomain)
{
	size_t start = 0;

	if (s == NULL || len == 0 || len > (subdomain ? 253u : 63u))
		return false;
	for (size_t i = 0; i <= len; i++) {
		size_t n;

		if (i < len && !(subdomain && s[i] == '.')) {
			if (!lower_alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		/* a label ends at i: alphanumeric at both ends (Kubernetes bounds
		 * only the whole subdomain, not its labels, to 253) */
		n = i - start;
		if (n == 0 || !lower_alnum(s[start]) || !lower_alnum(s[i - 1]))
			return false;
		start = i + 1;
	}
	return true;
}

bool xn_dns_subdomain(const char *s)
{
	return s && xn_dns_name(s, strlen(s), true);
}

bool xn_dns_label(const char *s)
{
	return s && xn_dns_name(s, strlen(s), false);
}

char *xn_base64_encode(const void *data, size_t len)
{
	char *out;

	if (len > (size_t)INT_MAX / 4 * 3)
		fatal("base64: %zu bytes is too much", len);
	out = xn_xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int xn_base64_decode(const char *in, unsigned char **out, size_t *lenp)
{
	EVP_ENCODE_CTX *ctx = NULL;
	size_t inlen = strlen(in);
	unsigned char *buf = NULL;
	int n = 0, fin = 0, rc = -1;

	*out = NULL;
	*lenp = 0;
	if (inlen > INT_MAX / 2)
		goto out;
	ctx = EVP_ENCODE_CTX_new();
	if (ctx == NULL)
		goto out;
	buf = xn_xmalloc(inlen / 4 * 3 + 4);
	EVP_DecodeInit(ctx);
	/* EVP_DecodeUpdate skips whitespace and line breaks, fails on other junk;
	 * EVP_DecodeFinal fails when the input stops mid-quantum. */
	if (EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *)in, (int)inlen) < 0)
		goto out;
	if (EVP_DecodeFinal(ctx, buf + n, &fin) < 0 || EVP_ENCODE_CTX_num(ctx) != 0)
		goto out;
	if (n + fin == 0 && inlen > 0)
		goto out; /* only whitespace */
	buf[n + fin] = '\0';
	*out = buf;
	*lenp = (size_t)(n + fin);
	buf = NULL;
	rc = 0;
out:
	free(buf);
	EVP_ENCODE_CTX_free(ctx);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

char *xn_dup_or_null(const char *s)
{
	return s ? xn_xstrdup(s) : NULL;
}

int xn_read_file(const char *path, size_t max, char **out, size_t *lenp, xn_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 4096;
	char *buf;

	*out = NULL;
	if (fd < 0)
		return xn_error_errno(err, errno, "%s", path);
	buf = xn_xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (len == cap - 1) {
			if (len > max)
				break;
			cap *= 2;
			buf = xn_xrealloc(buf, cap);
		}
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			return xn_error_errno(err, e, "%s: read", path);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		free(buf);
		return xn_error(err, EFBIG, "%s: larger than %zu bytes", path, max);
	}
	buf[len] = '\0';
	*out = buf;
	if (lenp)
		*lenp = len;
	return 0;
}

int xn_mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int xn_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}
