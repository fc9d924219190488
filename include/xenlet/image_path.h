/* image_path.h - where a pod's kernel and ramdisk may come from.
 *
 * The root daemon loads these files into guests, so a tenant must not be able
 * to name just any file on the host (issue 9, finding 2: a pod could boot
 * another tenant's image, or load the node's key as its ramdisk and read
 * it).  A path is accepted only inside one of the node's image roots
 * (xenletd.conf imageRoots, --image-root; default /var/lib/xenlet/images):
 *
 *   lexically (xn_image_path_allowed, no I/O: pod translation)
 *     absolute, no empty, "." or ".." component, and below a root as the
 *     configuration writes it: the root /var/lib/xenlet/images admits
 *     /var/lib/xenlet/images/a/b, never /var/lib/xenlet/images-evil/x;
 *   on disk (xn_image_open: admission, xl-pod create, every domain build)
 *     realpath() of the path below realpath() of a root (so a symlink in a
 *     root that leads out of it is refused), opened with O_NOFOLLOW, a
 *     regular file, and the file opened is the one checked: the kernel's
 *     name for the open descriptor (/proc/self/fd/N) is the checked path,
 *     so a symlink swapped in between the check and the open is caught.
 *
 * Every refusal carries the same message, naming the path as given and the
 * roots, whatever the reason: whether a file outside the roots exists, its
 * size or its content never reach a pod's status, an Event or an xl-pod
 * error.  The reason itself (for the daemon's log) goes to `why`.
 *
 * The roots are one setting for the whole process, like the log level: main
 * sets them once from the configuration; translation, ctl, admission and
 * the hypervisor guard (hv_guard.h) read them.  Until set they are the
 * default.  Roots are directories only root may write to: whoever can write
 * in a root decides what pods boot.
 */
#ifndef XENLET_IMAGE_PATH_H
#define XENLET_IMAGE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "xenlet/err.h"

#define XN_IMAGE_ROOT_DEFAULT "/var/lib/xenlet/images"

/* Replace the roots (copied).  Each is an absolute directory path, not "/",
 * without "." or ".." components (xn_image_root_check); a trailing '/' is
 * dropped.  n == 0: no file may be an image. */
void xn_image_roots_set(const char *const *roots, size_t n);
/* Add a root of the daemon's own after xn_image_roots_set: the image
 * cache's verified blobs (image_pull.h).  Checked like the others, but not
 * named in messages: a tenant names registry images, never cache paths. */
void xn_image_roots_add_internal(const char *root);
/* The roots, ", "-separated, for messages ("none" when there are none). */
const char *xn_image_roots_text(void);
/* NULL when root is acceptable as an image root, else why not. */
const char *xn_image_root_check(const char *root);

/* Lexical check of an absolute path against the roots; no I/O. */
bool xn_image_path_allowed(const char *path);

/* The one refusal: "<what> \"<path>\": " XN_IMAGE_REFUSAL " (<roots>)",
 * status EACCES.  Returns -1. */
#define XN_IMAGE_REFUSAL "not a regular file under the node's image roots"
int xn_image_refuse(xn_err *err, const char *what, const char *path);

/* Open path (what: "image", "kernel", "ramdisk": for the message) read-only
 * and close-on-exec if it passes every check above; the descriptor, or -1
 * with the one refusal in err and the reason in why (may be NULL). */
int xn_image_open(const char *what, const char *path, char *why, size_t whylen, xn_err *err);

/* Admission's check: kernel (refused as "image \"<kernel>\": ...") and,
 * when not NULL, ramdisk pass xn_image_open; the kernel's fstat in *st.
 * 0, or -1 with the first refusal in err and its reason in why. */
struct stat;
int xn_image_check(const char *kernel, const char *ramdisk, struct stat *st, char *why,
		   size_t whylen, xn_err *err);

/* "/proc/self/fd/<fd>": a name for exactly the file behind fd, which no
 * rename or symlink swap can redirect, for a backend that opens by name. */
#define XN_IMAGE_FD_PATH_MAX 32
void xn_image_fd_path(int fd, char buf[XN_IMAGE_FD_PATH_MAX]);

#endif
