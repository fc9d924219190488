/* hv_guard.h - the hypervisor as the runtime sees it: every domain's kernel
 * and ramdisk come from the image roots, and what was checked is what is
 * loaded.
 *
 * Translation and admission check a pod's image when it arrives, but the
 * runtime builds its domain later and again at every restart, from the
 * path.  In between, the file (or a directory on its path) may change.  The
 * guard wraps a backend: its create() opens the kernel and ramdisk through
 * xn_image_open (image_path.h: inside the roots, no symlink out, a regular
 * file, the same file as checked) and hands the backend
 * "/proc/self/fd/N" names for those descriptors, kept open until the
 * backend reports the create done.  Both backends open the kernel inside
 * the daemon (libxl builds the domain in-process; hv_sim reads its script
 * at create), so the name reaches exactly the checked file whatever
 * happens to the path.  Error messages from the backend name the path the
 * pod gave, not the descriptor.  A refused image fails the create with the
 * image roots' one message (no detail of files outside the roots).
 *
 * The guard also refuses, before anything is built, a kernel that Xen
 * cannot boot as the config's type: create() reads the kernel's Xen ELF
 * notes through the same descriptor (image_elf.h) and fails with
 * "kernel \"<path>\": PVH-only kernel asked to run as PV (...)".  The
 * check is the same for every backend, except that a file that is no
 * kernel at all passes on backends other than libxl (hv_sim's scripts).
 *
 * Every other operation goes straight to the backend (its callbacks get
 * the backend as hv; the create callback gets the guard).  The backend stays
 * the caller's: the guard neither opens nor closes it.
 */
#ifndef XENLET_HV_GUARD_H
#define XENLET_HV_GUARD_H

#include "xenlet/hv.h"

/* A guard around inner, usable wherever a struct xn_hv is. */
struct xn_hv *xn_hv_guard_new(struct xn_hv *inner);
/* Admission's check, the one create() makes: the kernel (opened from the
 * image roots) can boot as *type when type_given; else *type is set to the
 * kernel's choice (PVH when its notes allow it, else PV).  0, or -1 with a
 * message naming the kernel.  hv not a guard: 0, nothing checked. */
int xn_hv_guard_kernel_type(struct xn_hv *hv, const char *kernel, bool type_given,
			    enum xn_guest_type *type, xn_err *err);
/* Free the guard (after the backend is closed); closes the descriptors of
 * creates still pending.  NULL is fine. */
void xn_hv_guard_free(struct xn_hv *guard);

#endif
