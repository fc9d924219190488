/* image_ref.h - image references as Kubernetes users write them, parsed
 * and normalised as containerd and distribution/reference do
 * (ParseNormalizedNamed + TagNameOnly).  Pure: no I/O.
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path           (at most 255 bytes)
 *   domain     := host [ ":" port ]             host: DNS labels, "localhost",
 *                                               or an IPv6 address in []
 *   path       := component ( "/" component )*  component: [a-z0-9]+ joined
 *                                               by ".", "_", "__" or "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := "sha256:" 64 lowercase hex digits
 *
 * The first part before a "/" is a domain when it contains "." or ":" or
 * is "localhost" (or starts with "["); otherwise the domain is docker.io
 * and a one-component path gets "library/" in front ("nginx" ->
 * "docker.io/library/nginx:latest").  "index.docker.io" is docker.io.
 * Neither tag nor digest: tag "latest".  A tag and a digest: the digest
 * decides what is pulled, the tag is kept for display (as containerd).
 * Digests other than sha256 (sha512, ...) are refused: the node verifies
 * sha256 only.
 */
#ifndef XENLET_IMAGE_REF_H
#define XENLET_IMAGE_REF_H

#include <stdbool.h>

#include "xenlet/err.h"

#define XN_IMAGE_NAME_MAX 255
#define XN_IMAGE_TAG_MAX  128
/* "sha256:" + 64 hex digits */
#define XN_DIGEST_LEN 71

struct xn_image_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *path;   /* "library/nginx" */
	char *tag;    /* "latest" when neither tag nor digest was given; NULL
		       * when only a digest was */
	char *digest; /* "sha256:<hex>" or NULL */
};

/* Parse and normalise s.  0, or -1 with a message naming the problem
 * ("image \"X\": repository name must be lowercase"). */
int xn_image_ref_parse(const char *s, struct xn_image_ref *out, xn_err *err);
void xn_image_ref_dispose(struct xn_image_ref *r);

/* The normalised reference, "domain/path[:tag][@digest]" (malloc'd). */
char *xn_image_ref_string(const struct xn_image_ref *r);
/* What to ask the registry's manifest endpoint for: the digest when there
 * is one, else the tag (borrowed). */
const char *xn_image_ref_object(const struct xn_image_ref *r);
/* The host to connect to: docker.io's registry is registry-1.docker.io. */
const char *xn_image_ref_registry_host(const struct xn_image_ref *r);

/* true when s is "sha256:" followed by exactly 64 lowercase hex digits. */
bool xn_digest_valid(const char *s);

#endif
