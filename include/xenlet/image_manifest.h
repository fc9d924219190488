/* image_manifest.h - registry manifests: OCI image manifest and index,
 * Docker schema 2 manifest and manifest list; platform selection; and our
 * own unikernel format on top (docs/images.md).  Pure: no I/O.
 *
 * The media type comes from the body's "mediaType" or, when the body has
 * none (OCI allows it), from the response's Content-Type; when both are
 * given they must agree.  Docker schema 1 and anything else is refused by
 * name.  A manifest is at most XN_MANIFEST_MAX bytes with at most
 * XN_MANIFEST_ENTRIES_MAX layers or entries; every descriptor has a sha256
 * digest and a size.
 */
#ifndef XENLET_IMAGE_MANIFEST_H
#define XENLET_IMAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "xenlet/err.h"

#define XN_MEDIA_OCI_MANIFEST	 "application/vnd.oci.image.manifest.v1+json"
#define XN_MEDIA_OCI_INDEX	 "application/vnd.oci.image.index.v1+json"
#define XN_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define XN_MEDIA_DOCKER_LIST	 "application/vnd.docker.distribution.manifest.list.v2+json"
/* The Accept header of a manifest GET: every type we read. */
#define XN_MANIFEST_ACCEPT                                                                         \
	XN_MEDIA_OCI_INDEX ", " XN_MEDIA_OCI_MANIFEST ", " XN_MEDIA_DOCKER_LIST                    \
			   ", " XN_MEDIA_DOCKER_MANIFEST

#define XN_MANIFEST_MAX		(4u << 20) /* as containerd's limit */
#define XN_MANIFEST_ENTRIES_MAX 1024
#define XN_CONFIG_MAX		(1u << 20) /* our image config, read into memory */

/* Our format (docs/images.md). */
#define XN_MEDIA_UK_CONFIG "application/vnd.xenlet.unikernel.config.v1+json"
#define XN_MEDIA_UK_KERNEL "application/vnd.xenlet.unikernel.kernel.v1"
#define XN_MEDIA_UK_INITRD "application/vnd.xenlet.unikernel.initrd.v1"
#define XN_MEDIA_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define XN_ANN_PREFIX	   "io.xenlet.unikernel."

enum xn_manifest_kind { XN_MANIFEST_IMAGE, XN_MANIFEST_INDEX };

struct xn_descriptor {
	char *media_type;
	char *digest; /* "sha256:<hex>" */
	uint64_t size;
	/* index entries: the platform ("" when absent) */
	char *os, *arch, *variant;
};

struct xn_manifest {
	enum xn_manifest_kind kind;
	char *media_type;
	struct xn_descriptor config; /* image only */
	struct xn_descriptor *items; /* layers (image) or manifests (index) */
	size_t n;
	cJSON *annotations; /* the manifest's own, an object (may be empty) */
};

/* Parse body[0..len) (content_type may be NULL).  0, or -1 with what is
 * wrong ("manifest: not JSON", "manifest: layers[2].digest: ..."). */
int xn_manifest_parse(const char *body, size_t len, const char *content_type,
		      struct xn_manifest *out, xn_err *err);
void xn_manifest_dispose(struct xn_manifest *m);

/* The index entry for os/arch (variant: arm64 accepts "" and "v8", amd64 ""
 * and "v1"; others exact).  NULL with "no manifest for linux/amd64 in the
 * index (it has: linux/arm64/v8, ...)". */
const struct xn_descriptor *xn_manifest_select(const struct xn_manifest *index, const char *os,
					       const char *arch, xn_err *err);
/* "amd64" or "arm64": the architecture this daemon was built for. */
const char *xn_manifest_host_arch(void);

/* A unikernel image of our format, read from its manifest and config. */
struct xn_unikernel {
	const struct xn_descriptor *kernel;  /* into the manifest's items */
	const struct xn_descriptor *ramdisk; /* NULL: none */
	char *cmdline;			     /* NULL: none */
	char *guest_type;		     /* "pvh", "pv" or NULL: not declared */
	int64_t min_memory;		     /* bytes; 0: none */
	char *net_config;		     /* mirage|unikraft|linux|none or NULL */
};
/* m is an image manifest; config (config_len bytes, may be NULL when the
 * config is the OCI empty descriptor) is its config blob, digest already
 * verified.  Settings come from the config, else the manifest's
 * annotations io.xenlet.unikernel.{cmdline,guestType,minMemory,netConfig}. */
int xn_unikernel_parse(const struct xn_manifest *m, const char *config, size_t config_len,
		       struct xn_unikernel *out, xn_err *err);
void xn_unikernel_dispose(struct xn_unikernel *u);

#endif
