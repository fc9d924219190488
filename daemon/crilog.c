/* crilog.c - the CRI log layout, and the writer: console output in the
 * kubelet's CRI log format, rotated by size. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "xenlet/crilog.h"
#include "xenlet/util.h"

struct xn_crilog {
	int fd;
	char *path;
	uint64_t size;	    /* bytes in the current file */
	uint64_t max_bytes; /* 0: no rotation */
	unsigned max_files;
	size_t len;
	char line[XN_CRILOG_LINE_MAX];
};

/* ---- layout ---- */

char *xn_crilog_pod_dir(const char *log_dir, const char *ns, const char *name, const char *uid)
{
	return xn_xasprintf("%s/%s_%s_%s", log_dir, ns, name, uid);
}

char *xn_crilog_container_dir(const char *log_dir, const char *ns, const char *name,
			      const char *uid, const char *container)
{
	return xn_xasprintf("%s/%s_%s_%s/%s", log_dir, ns, name, uid, container);
}

char *xn_crilog_instance_path(const char *log_dir, const char *ns, const char *name,
			      const char *uid, const char *container, unsigned restart)
{
	return xn_xasprintf("%s/%s_%s_%s/%s/%u.log", log_dir, ns, name, uid, container, restart);
}

bool xn_crilog_file_instance(const char *fname, unsigned *restart, bool *rotated)
{
	unsigned long n = 0;
	const char *p = fname;

	if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > UINT32_MAX)
			return false;
	}
	if (strncmp(p, ".log", 4) != 0 || (p[4] != '\0' && p[4] != '.'))
		return false;
	*restart = (unsigned)n;
	*rotated = p[4] == '.';
	return true;
}

/* ---- writer ---- */

struct xn_crilog *xn_crilog_open(const char *log_dir, const char *ns, const char *name,
				 const char *uid, const char *container, unsigned restart,
				 xn_err *err)
{
	cleanup_free char *dir = xn_crilog_container_dir(log_dir, ns, name, uid, container);
	struct xn_crilog *l;
	int fd;

	if (xn_mkdir_p(dir, 0755) < 0) {
		xn_error_errno(err, errno, "log directory %s", dir);
		return NULL;
	}
	l = xn_xcalloc(1, sizeof(*l));
	l->path = xn_crilog_instance_path(log_dir, ns, name, uid, container, restart);
	fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		xn_error_errno(err, errno, "log file %s", l->path);
		free(l->path);
		free(l);
		return NULL;
	}
	l->fd = fd;
	{
		struct stat sb;
		l->size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	}
	return l;
}

void xn_crilog_set_rotation(struct xn_crilog *l, uint64_t max_bytes, unsigned max_files)
{
	l->max_bytes = max_bytes;
	l->max_files = max_files ? max_files : 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete the oldest rotated files beyond max_files - 1 (their names sort by
 * time: <base>.YYYYMMDD-HHMMSS[-N]). */
static void prune(struct xn_crilog *l)
{
	cleanup_free char *dir = xn_xstrdup(l->path);
	char *slash = strrchr(dir, '/');
	const char *base = slash + 1;
	size_t blen, n = 0, cap = 0;
	char **names = NULL;
	DIR *d;
	struct dirent *de;

	*slash = '\0';
	blen = strlen(base);
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			names = xn_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xn_xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i + (l->max_files - 1) < n) {
			char *old = xn_xasprintf("%s/%s", dir, names[i]);
			unlink(old);
			free(old);
		}
		free(names[i]);
	}
	free(names);
}

static void rotate(struct xn_crilog *l)
{
	char stamp[32], *to = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int i = 0; i < 1000; i++) {
		free(to);
		to = i ? xn_xasprintf("%s.%s-%03d", l->path, stamp, i)
		       : xn_xasprintf("%s.%s", l->path, stamp);
		if (access(to, F_OK) < 0)
			break;
	}
	if (rename(l->path, to) < 0) {
		/* cannot rotate (disk, permissions): stop trying on every line and
		 * keep appending; the file outgrows the limit rather than losing output */
		l->max_bytes = 0;
		free(to);
		return;
	}
	fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd >= 0) {
		close(l->fd);
		l->fd = fd;
	}
	/* with no new file, the renamed one takes the lines: counted afresh */
	l->size = 0;
	free(to);
	prune(l);
}

static void emit(struct xn_crilog *l, const char *tag, const char *text, size_t len)
{
	char head[64], ts[40];
	struct iovec iov[3];
	ssize_t r;

	xn_rfc3339_fmt(xn_now_real_ns(), 9, ts);
	snprintf(head, sizeof(head), "%s stdout %s ", ts, tag);
	iov[0].iov_base = head;
	iov[0].iov_len = strlen(head);
	iov[1].iov_base = (void *)text;
	iov[1].iov_len = len;
	iov[2].iov_base = "\n";
	iov[2].iov_len = 1;
	if (l->max_bytes && l->size > 0 && l->size + iov[0].iov_len + len + 1 > l->max_bytes)
		rotate(l);
	/* O_APPEND on a local file: one writev lands whole or fails */
	r = writev(l->fd, iov, 3);
	if (r > 0)
		l->size += (uint64_t)r;
}

void xn_crilog_write(struct xn_crilog *l, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];

		if (ch == '\n') {
			if (l->len > 0 && l->line[l->len - 1] == '\r')
				l->len--;
			emit(l, "F", l->line, l->len);
			l->len = 0;
			continue;
		}
		if (l->len == sizeof(l->line)) {
			emit(l, "P", l->line, l->len);
			l->len = 0;
		}
		l->line[l->len++] = ch;
	}
}

void xn_crilog_flush(struct xn_crilog *l)
{
	if (l->len == 0)
		return;
	emit(l, "P", l->line, l->len);
	l->len = 0;
}

void xn_crilog_close(struct xn_crilog *l)
{
	if (l == NULL)
		return;
	xn_crilog_flush(l);
	close(l->fd);
	free(l->path);
	free(l);
}

const char *xn_crilog_path(const struct xn_crilog *l)
{
	return l->path;
}
