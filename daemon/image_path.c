/* image_path.c - image roots and the safe open of a kernel or ramdisk (see image_path.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xenlet/image_path.h"
#include "xenlet/util.h"

static char **roots;
static size_t nroots;
static char *roots_text;
static bool roots_set;

/* Until main sets them: the default, so that nothing runs from elsewhere. */
static void ensure_roots(void)
{
	static const char *const dflt[] = {XN_IMAGE_ROOT_DEFAULT};

	if (!roots_set)
		xn_image_roots_set(dflt, 1);
}

/* Each '/'-separated component after the leading '/' is neither empty nor
 * "." nor "..". */
static bool clean_components(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p + 1;; c++) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (end == NULL)
			return true;
		c = end;
	}
}

const char *xn_image_root_check(const char *root)
{
	size_t n = strlen(root);

	if (root[0] != '/')
		return "must be an absolute path";
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1)
		return "must not be / (every file on the host would be an image)";
	if (n >= PATH_MAX)
		return "too long";
	{
		cleanup_free char *copy = xn_xstrdup(root);

		copy[n] = '\0';
		if (!clean_components(copy))
			return "must not contain empty, . or .. components";
	}
	return NULL;
}

void xn_image_roots_set(const char *const *list, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < nroots; i++)
		free(roots[i]);
	free(roots);
	free(roots_text);
	roots = n ? xn_xcalloc(n, sizeof(*roots)) : NULL;
	nroots = 0;
	for (size_t i = 0; i < n; i++) {
		char *r = xn_xstrdup(list[i]);
		size_t rl = strlen(r);

		while (rl > 1 && r[rl - 1] == '/')
			r[--rl] = '\0';
		roots[nroots++] = r;
		len += rl + 2;
	}
	roots_text = xn_xcalloc(1, len + 5);
	for (size_t i = 0; i < nroots; i++) {
		if (i)
			strcat(roots_text, ", ");
		strcat(roots_text, roots[i]);
	}
	if (nroots == 0)
		strcpy(roots_text, "none");
	roots_set = true;
}

void xn_image_roots_add_internal(const char *root)
{
	char *r = xn_xstrdup(root);
	size_t rl = strlen(r);

	ensure_roots();
	while (rl > 1 && r[rl - 1] == '/')
		r[--rl] = '\0';
	roots = xn_xrealloc(roots, (nroots + 1) * sizeof(*roots));
	roots[nroots++] = r; /* roots_text stays what the operator configured */
}

const char *xn_image_roots_text(void)
{
	ensure_roots();
	return roots_text;
}

/* path is below dir: "dir/..." (dir without a trailing '/'). */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

bool xn_image_path_allowed(const char *path)
{
	ensure_roots();
	if (path == NULL || strlen(path) >= PATH_MAX || !clean_components(path))
		return false;
	for (size_t i = 0; i < nroots; i++)
		if (xn_image_root_check(roots[i]) == NULL && below(path, roots[i]))
			return true;
	return false;
}

int xn_image_refuse(xn_err *err, const char *what, const char *path)
{
	return xn_error(err, EACCES, "%s \"%s\": " XN_IMAGE_REFUSAL " (%s)", what, path,
			xn_image_roots_text());
}

/* The one refusal in err; "<what> <path>: <reason>" in why for the log. */
__attribute__((format(printf, 6, 7))) static int
refuse(const char *what, const char *path, char *why, size_t len, xn_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (why != NULL && len > 0) {
		n = snprintf(why, len, "%s %s: ", what, path);
		if (n >= 0 && (size_t)n < len) {
			va_start(ap, fmt);
			vsnprintf(why + n, len - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return xn_image_refuse(err, what, path);
}

/* realpath(path) is below the realpath() of a root. */
static bool resolved_inside(const char *real)
{
	for (size_t i = 0; i < nroots; i++) {
		cleanup_free char *rroot = realpath(roots[i], NULL);

		if (rroot != NULL && below(real, rroot))
			return true;
	}
	return false;
}

void xn_image_fd_path(int fd, char buf[XN_IMAGE_FD_PATH_MAX])
{
	snprintf(buf, XN_IMAGE_FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

int xn_image_open(const char *what, const char *path, char *why, size_t whylen, xn_err *err)
{
	cleanup_free char *real = NULL;
	cleanup_close int fd = -1;
	char self[XN_IMAGE_FD_PATH_MAX], seen[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	if (!xn_image_path_allowed(path))
		return refuse(what, path, why, whylen, err, "outside the image roots");
	real = realpath(path, NULL);
	if (real == NULL)
		return refuse(what, path, why, whylen, err, "%s", strerror(errno));
	if (!resolved_inside(real))
		return refuse(what, path, why, whylen, err, "resolves to %s, outside the roots",
			      real);
	/* O_NONBLOCK: a FIFO must not hang the daemon before fstat says what
	 * it is; it changes nothing for a regular file */
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return refuse(what, path, why, whylen, err, "%s: %s", real, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return refuse(what, path, why, whylen, err, "%s: not a regular file", real);
	/* what the kernel opened is what realpath saw: no component of the
	 * path was swapped for a symlink in between */
	xn_image_fd_path(fd, self);
	n = readlink(self, seen, sizeof(seen) - 1);
	if (n < 0 || (seen[n] = '\0', strcmp(seen, real) != 0))
		return refuse(what, path, why, whylen, err, "%s: changed while it was checked",
			      real);
	r = fd;
	fd = -1;
	return r;
}

int xn_image_check(const char *kernel, const char *ramdisk, struct stat *st, char *why,
		   size_t whylen, xn_err *err)
{
	cleanup_close int kfd = xn_image_open("image", kernel, why, whylen, err);
	cleanup_close int rfd = -1;

	if (kfd < 0)
		return -1;
	if (fstat(kfd, st) < 0)
		return xn_error_errno(err, errno, "image \"%s\": fstat", kernel);
	if (ramdisk == NULL)
		return 0;
	rfd = xn_image_open("ramdisk", ramdisk, why, whylen, err);
	return rfd < 0 ? -1 : 0;
}
