/* crilog_retain.c - how much of the CRI logs stays: older instances pruned,
 * a removed pod's directory deleted, the space the logs take.
 *
 * The tree under log_dir is walked by directory descriptors (openat with
 * O_NOFOLLOW, unlinkat, fstatat with AT_SYMLINK_NOFOLLOW): a symlink planted
 * anywhere below log_dir is removed as a link, never followed, and a
 * directory renamed meanwhile cannot redirect the walk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "xenlet/crilog.h"
#include "xenlet/util.h"

#define MAX_DEPTH 8 /* pod dir / container / files: anything deeper is not ours */

/* A name that must be one directory entry: no '/', not "." or "..". */
static bool one_entry(const char *s)
{
	return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

static int open_dir_at(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The pod's directory name under log_dir, checked. */
static char *pod_entry(const char *ns, const char *name, const char *uid, xn_err *err)
{
	char *e = xn_xasprintf("%s_%s_%s", ns, name, uid);

	if (!one_entry(ns) || !one_entry(name) || !one_entry(uid)) {
		xn_error(err, EINVAL, "log directory name '%s': not one path component", e);
		free(e);
		return NULL;
	}
	return e;
}

/* Open <log_dir>/<pod>/<container> without following symlinks below
 * log_dir: the fd, -1 with errno. */
static int open_container(const char *log_dir, const char *pod, const char *container)
{
	int top, pfd, cfd, e;

	top = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -1;
	pfd = open_dir_at(top, pod);
	e = errno;
	close(top);
	if (pfd < 0) {
		errno = e;
		return -1;
	}
	cfd = open_dir_at(pfd, container);
	e = errno;
	close(pfd);
	errno = e;
	return cfd;
}

/* The container's log directory of a pod entry, checked: *cfd -1 (and 0)
 * when it does not exist (yet, or any more), -1 with err on anything else. */
static int open_container_checked(const char *log_dir, const char *pod, const char *container,
				  int *cfd, xn_err *err)
{
	if (!one_entry(container))
		return xn_error(err, EINVAL, "container name '%s': not one path component",
				container);
	*cfd = open_container(log_dir, pod, container);
	if (*cfd < 0 && errno != ENOENT)
		return xn_error_errno(err, errno, "log directory %s/%s/%s", log_dir, pod,
				      container);
	return 0;
}

int xn_crilog_prune(const char *log_dir, const char *ns, const char *name, const char *uid,
		    const char *container, unsigned current, xn_err *err)
{
	cleanup_free char *pod = pod_entry(ns, name, uid, err);
	int cfd, rc = 0;
	DIR *d;
	struct dirent *de;

	if (pod == NULL || open_container_checked(log_dir, pod, container, &cfd, err) < 0)
		return -1;
	if (cfd < 0)
		return 0;
	d = fdopendir(cfd);
	if (d == NULL) {
		close(cfd);
		return xn_error_errno(err, errno, "log directory %s/%s/%s", log_dir, pod,
				      container);
	}
	while ((de = readdir(d)) != NULL) {
		unsigned n;
		bool rotated;

		if (!xn_crilog_file_instance(de->d_name, &n, &rotated))
			continue;
		if (n == current || (current > 0 && n == current - 1))
			continue;
		/* unlinkat removes a symlink itself; a directory fails (EISDIR) */
		if (unlinkat(cfd, de->d_name, 0) < 0 && errno != ENOENT && rc == 0)
			rc = xn_error_errno(err, errno, "log file %s/%s/%s/%s", log_dir, pod,
					    container, de->d_name);
	}
	closedir(d);
	return rc;
}

/* Empty the directory dfd (consumed) and every directory below it. */
static int empty_dir(int dfd, unsigned depth, const char **failed)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int r;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode)) {
			int sub = depth < MAX_DEPTH ? open_dir_at(dfd, de->d_name) : -1;

			r = sub < 0 ? (depth < MAX_DEPTH ? -errno : -ELOOP)
				    : empty_dir(sub, depth + 1, failed);
			if (r == 0 && unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0)
				r = -errno;
		} else {
			r = unlinkat(dfd, de->d_name, 0) < 0 ? -errno : 0;
		}
		if (r < 0 && r != -ENOENT && rc == 0) {
			rc = r;
			*failed = "an entry below it";
		}
	}
	closedir(d);
	return rc;
}

/* rm -r of the entry `name` of the directory top: 0 or -errno; *failed
 * says which part failed. */
static int remove_entry(int top, const char *name, const char **failed)
{
	int pfd = open_dir_at(top, name), r;

	*failed = "it";
	if (pfd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		/* a symlink (or a file) where a directory should be: the entry
		 * goes, what it points to stays */
		return unlinkat(top, name, 0) < 0 ? -errno : 0;
	}
	if (pfd < 0)
		return -errno;
	r = empty_dir(pfd, 1, failed);
	if (r == 0 && unlinkat(top, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

int xn_crilog_remove_pod(const char *log_dir, const char *ns, const char *name, const char *uid,
			 xn_err *err)
{
	cleanup_free char *pod = pod_entry(ns, name, uid, err);
	const char *failed;
	int top, r;

	if (pod == NULL)
		return -1;
	top = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0) {
		if (errno == ENOENT)
			return 0;
		return xn_error_errno(err, errno, "log directory %s", log_dir);
	}
	r = remove_entry(top, pod, &failed);
	close(top);
	if (r < 0 && r != -ENOENT)
		return xn_error_errno(err, -r, "removing log directory %s/%s (%s)", log_dir, pod,
				      failed);
	return 0;
}

int xn_crilog_sweep(const char *log_dir, bool (*known)(const char *uid, void *arg), void *arg,
		    xn_err *err)
{
	int top, removed = 0, rc = 0;
	DIR *d;
	struct dirent *de;

	top = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0) {
		if (errno == ENOENT)
			return 0;
		return xn_error_errno(err, errno, "log directory %s", log_dir);
	}
	d = fdopendir(top);
	if (d == NULL) {
		close(top);
		return xn_error_errno(err, errno, "log directory %s", log_dir);
	}
	while ((de = readdir(d)) != NULL) {
		/* <ns>_<name>_<uid>: namespaces and names have no '_' */
		const char *u1 = strchr(de->d_name, '_');
		const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
		const char *failed;
		int r;

		if (u1 == NULL || u1 == de->d_name || u2 == NULL || u2 == u1 + 1 || u2[1] == '\0' ||
		    known(u2 + 1, arg))
			continue;
		r = remove_entry(top, de->d_name, &failed);
		if (r == 0)
			removed++;
		else if (r != -ENOENT && rc == 0)
			rc = xn_error_errno(err, -r, "removing log directory %s/%s (%s)", log_dir,
					    de->d_name, failed);
	}
	closedir(d);
	return rc < 0 ? rc : removed;
}

int xn_crilog_fs_space(const char *path, struct xn_crilog_space *s, xn_err *err)
{
	struct statvfs v;

	memset(s, 0, sizeof(*s));
	if (statvfs(path, &v) < 0)
		return xn_error_errno(err, errno, "statvfs %s", path);
	s->capacity_bytes = (uint64_t)v.f_blocks * v.f_frsize;
	s->available_bytes = (uint64_t)v.f_bavail * v.f_frsize;
	s->used_bytes = (uint64_t)(v.f_blocks - v.f_bfree) * v.f_frsize;
	s->inodes = v.f_files;
	s->inodes_free = v.f_ffree;
	s->inodes_used = v.f_files - v.f_ffree;
	return 0;
}

/* Bytes of the regular files and count of entries below dfd (consumed). */
static void du_dir(int dfd, unsigned depth, uint64_t *bytes, uint64_t *inodes)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (d == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		(*inodes)++;
		if (S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
		else if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			int sub = open_dir_at(dfd, de->d_name);

			if (sub >= 0)
				du_dir(sub, depth + 1, bytes, inodes);
		}
	}
	closedir(d);
}

int xn_crilog_container_space(const char *log_dir, const char *ns, const char *name,
			      const char *uid, const char *container, struct xn_crilog_space *s,
			      xn_err *err)
{
	cleanup_free char *pod = pod_entry(ns, name, uid, err);
	int cfd;

	if (pod == NULL)
		return -1;
	if (xn_crilog_fs_space(log_dir, s, err) < 0)
		return -1;
	s->used_bytes = 0;
	s->inodes_used = 0;
	if (open_container_checked(log_dir, pod, container, &cfd, err) < 0)
		return -1;
	if (cfd < 0)
		return 0;
	s->inodes_used = 1; /* the directory itself, as du counts it */
	du_dir(cfd, 1, &s->used_bytes, &s->inodes_used);
	return 0;
}
