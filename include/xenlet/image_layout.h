/* image_layout.h - OCI image layout directories of our unikernel format
 * (docs/images.md): `xl-pod image pack` writes one, `import` loads one into
 * the node's image cache without a registry.
 *
 * A layout (OCI image-layout spec 1.0.0):
 *   oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   index.json            an OCI index naming the image manifest, with
 *                         org.opencontainers.image.ref.name = the tag
 *   blobs/sha256/<hex>    manifest, config, kernel, initrd
 * Written reproducibly: no timestamps, keys in a fixed order, so the same
 * inputs give the same digests on every machine (test_image_layout.c keeps
 * golden digests).  Blobs are written under a temporary name and renamed.
 */
#ifndef XENLET_IMAGE_LAYOUT_H
#define XENLET_IMAGE_LAYOUT_H

#include <stdint.h>

#include "xenlet/err.h"

#define XN_LAYOUT_REF_NAME "org.opencontainers.image.ref.name"
#define XN_LAYOUT_TITLE	   "org.opencontainers.image.title"

struct xn_pack_opts {
	const char *kernel;	/* path, required */
	const char *initrd;	/* path or NULL */
	const char *cmdline;	/* NULL: the config says nothing */
	const char *guest_type; /* "pv", "pvh" or NULL */
	const char *min_memory; /* a Kubernetes quantity or NULL */
	const char *net_config; /* mirage|unikraft|linux|none or NULL */
	const char *tag;	/* the index's ref.name; NULL: "latest" */
	const char *arch;	/* NULL: the build's (xn_manifest_host_arch) */
};

/* Write the layout for o into dir (created; an existing layout there gets
 * this image added under its tag, replacing an entry of the same tag).
 * *digest: the image manifest's "sha256:..." (malloc'd), *size the bytes of
 * its blobs (manifest, config, layers). */
int xn_layout_pack(const struct xn_pack_opts *o, const char *dir, char **digest, uint64_t *size,
		   xn_err *err);

/* Load the image of the layout dir into cache_dir under reference ref
 * (normalised as image_ref.h does).  The index entry is the one whose
 * ref.name is the reference's tag (or the whole reference), or the only
 * entry; an entry that is an index gets the host's platform.  Every blob
 * copied is checked against its size and SHA-256 first.  *digest: what the
 * reference now resolves to (malloc'd). */
int xn_layout_import(const char *dir, const char *cache_dir, const char *ref, char **digest,
		     xn_err *err);

#endif
