/* image_elf.h - what a kernel file says about how Xen can boot it.
 *
 * Users bring third-party unikernels: Solo5/MirageOS kernels are PVH only,
 * Mini-OS and Unikraft builds may be PV only.  Asked to boot one the wrong
 * way, libxc says "no loader found: Invalid kernel" after the domain was
 * half built.  This module reads the kernel's own Xen ELF notes first, so a
 * mismatch is refused before anything is built, with a message that names
 * what the kernel can do ("PVH-only kernel asked to run as PV").
 *
 * xn_kernel_inspect reads through an open descriptor (the image guard's,
 * hv_guard.h), with bounded pread()s only: no mmap, every offset, size and
 * count from the file checked against the file's size and fixed limits
 * before use.  It recognises
 *   ELF (32/64-bit, little or big endian): the Xen notes ("Xen" notes in
 *     PT_NOTE segments, else in SHT_NOTE sections, as Mini-OS and Unikraft
 *     carry them only there, else the legacy "__xen_guest" section string),
 *     in the order and with the rules of libxc's libelf (elf_xen_parse,
 *     elf_xen_note_check), so "bootable" here means "libxc will load it":
 *       PV  - Xen notes or __xen_guest, LOADER "generic" or GUEST_OS
 *             "linux...", and XEN_VERSION "xen-3.0";
 *       PVH - a XEN_ELFNOTE_PHYS32_ENTRY note.
 *   x86 Linux bzImage, and gzip/xz/bzip2/lzma/lz4/zstd-compressed kernels:
 *     the notes are inside a compressed payload that libxc unpacks; they are
 *     recognised but not unpacked here (types unknown: passed through).
 *   arm64 Image and arm zImage: Xen on Arm boots these, and an Arm guest is
 *     always of libxl's type PVH (no ELF notes are involved).
 * Anything else is XN_KFMT_UNKNOWN (not an error: for hv_sim a "kernel" is
 * a text script).
 *
 * HVM: xenlet builds no HVM domains.  An HVM guest boots firmware from a
 * disk image, not a bare kernel, so a kernel's notes can never make it
 * HVM-bootable; XN_KTYPE_* therefore has no HVM bit (docs/guest-types.md).
 */
#ifndef XENLET_IMAGE_ELF_H
#define XENLET_IMAGE_ELF_H

#include <stdbool.h>
#include <stdint.h>

#include "xenlet/err.h"
#include "xenlet/hv.h"

enum xn_kernel_format {
	XN_KFMT_UNKNOWN = 0,
	XN_KFMT_ELF,
	XN_KFMT_BZIMAGE,    /* x86 Linux boot protocol, "HdrS" */
	XN_KFMT_COMPRESSED, /* a compressed kernel as a whole (libxc unpacks it) */
	XN_KFMT_ARM64_IMAGE,
	XN_KFMT_ARM_ZIMAGE,
};
const char *xn_kernel_format_name(enum xn_kernel_format f);

/* Bootable types as a mask. */
#define XN_KTYPE_PV  (1u << XN_GUEST_PV)
#define XN_KTYPE_PVH (1u << XN_GUEST_PVH)

/* Limits on what the file may make us read. */
#define XN_ELF_MAX_HEADERS    4096u	 /* program or section headers */
#define XN_ELF_MAX_NOTE_AREA  (1u << 20) /* one note segment or section */
#define XN_ELF_MAX_NOTES      1024u	 /* notes looked at, over all areas */
#define XN_ELF_MAX_NOTE_BYTES (4u << 20) /* note bytes read, over all areas */

/* Xen ELF note types (xen/include/public/elfnote.h). */
enum {
	XN_ELFNOTE_INFO = 0,
	XN_ELFNOTE_ENTRY = 1,
	XN_ELFNOTE_HYPERCALL_PAGE = 2,
	XN_ELFNOTE_VIRT_BASE = 3,
	XN_ELFNOTE_PADDR_OFFSET = 4,
	XN_ELFNOTE_XEN_VERSION = 5,
	XN_ELFNOTE_GUEST_OS = 6,
	XN_ELFNOTE_GUEST_VERSION = 7,
	XN_ELFNOTE_LOADER = 8,
	XN_ELFNOTE_PAE_MODE = 9,
	XN_ELFNOTE_FEATURES = 10,
	XN_ELFNOTE_BSD_SYMTAB = 11,
	XN_ELFNOTE_SUPPORTED_FEATURES = 17,
	XN_ELFNOTE_PHYS32_ENTRY = 18,
};

struct xn_kernel_info {
	enum xn_kernel_format format;
	const char *arch;     /* "x86_64", "x86_32", "arm64", "arm32", "other", "" unknown */
	unsigned elf_class;   /* 32 or 64 (ELF only) */
	bool big_endian;      /* ELF only */
	bool types_known;     /* false: a format whose notes are not read here */
	unsigned types;	      /* XN_KTYPE_* the kernel can boot as (types_known) */
	const char *notes_in; /* "program headers", "sections", "__xen_guest", NULL: none */
	unsigned nnotes;      /* Xen notes read */
	bool has_entry, has_hypercall_page, has_phys32_entry;
	uint64_t entry;
	uint32_t phys32_entry;
	char guest_os[32], xen_version[32], loader[32], features[160];
};

/* Inspect the kernel behind fd (read from offset 0 with pread; the file
 * position is not used).  0 with *out filled; -1 (status ENOEXEC, or the
 * read's errno) with a message naming the defect when the file claims to
 * be an ELF but is malformed: "ELF: program headers (offset O, N x S bytes)
 * beyond the end of the file (F bytes)".  An unrecognised file is 0 with
 * XN_KFMT_UNKNOWN. */
int xn_kernel_inspect(int fd, struct xn_kernel_info *out, xn_err *err);

/* "pv", "pvh", "pv, pvh" or "none" (static). */
const char *xn_kernel_types_text(unsigned types);

/* The decision (pure).  host_arch: the node's ("x86_64", "arm64").
 * requested: the type the pod asked for, when type_given; else the kernel
 * chooses (PVH when it can, else PV; PVH when it does not say).  A kernel
 * Xen cannot boot, or not as requested, fails with a message such as
 *   "PVH-only kernel asked to run as PV (the kernel's Xen ELF notes allow: pvh)"
 *   "ELF without Xen notes: Xen cannot boot it (no XEN_ELFNOTE_PHYS32_ENTRY
 *    for PVH, no Xen notes or __xen_guest for PV)".
 * non_kernels_ok: an unrecognised file passes (hv_sim's scripts) with the
 * type as requested.  *chosen is set on success. */
int xn_kernel_choose_type(const struct xn_kernel_info *ki, const char *host_arch, bool type_given,
			  enum xn_guest_type requested, bool non_kernels_ok,
			  enum xn_guest_type *chosen, xn_err *err);

/* This build's architecture in the spelling above. */
const char *xn_kernel_host_arch(void);

#endif
