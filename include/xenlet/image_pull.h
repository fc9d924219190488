/* image_pull.h - pulling unikernel images from registries into the node's
 * content-addressed cache (docs/images.md).
 *
 * The puller speaks the OCI distribution API (Docker Registry HTTP API v2)
 * over libcurl's multi interface on the daemon's libevent loop
 * (curl_loop.h): never blocking the loop, no threads.  A pull is
 *   GET /v2/<name>/manifests/<tag|digest>   (Accept: every manifest type)
 *   [an index: the entry for linux/<build arch>, GET it by digest]
 *   GET /v2/<name>/blobs/<digest>           config, kernel, ramdisk
 * Authentication: anonymous first; a 401 with a Bearer challenge fetches a
 * token from the realm it names (with the registry's basic credentials when
 * configured), a Basic challenge uses those credentials; one retry each.
 * Manifests are checked against the digest asked for (or the digest
 * computed is what the tag resolves to); blobs are written to
 * blobs/sha256/<hex>.partial while SHA-256 runs over the bytes and renamed
 * only when size and digest match; a transfer cut short keeps its .partial
 * and the next pull resumes it with an HTTP Range request.
 *
 * The cache, under <cache_dir>:
 *   blobs/sha256/<hex>        verified blobs: manifests, configs, kernels
 *   blobs/sha256/<hex>.partial  a download in progress or cut short
 *   refs.json                 normalised reference -> {digest, manifest}
 *                             (the digest the reference resolved to, and
 *                             the platform's image manifest)
 * Written with temporary names and rename(2): a crash never leaves a half
 * blob under its digest or a half index.
 */
#ifndef XENLET_IMAGE_PULL_H
#define XENLET_IMAGE_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "xenlet/err.h"

struct event_base;
struct xn_image_puller;
struct xn_image_pull;

/* Per registry, as containerd's hosts.toml has it (config: registries). */
struct xn_registry_conf {
	char *host;	     /* "127.0.0.1:5000", "ghcr.io" */
	bool plain_http;     /* http://, no TLS (a registry on loopback, a lab) */
	bool skip_verify;    /* https without certificate verification */
	char *ca_file;	     /* CA bundle for this registry; NULL: the system's */
	char *username;	     /* basic credentials (and for the token endpoint) */
	char *password_file; /* the password, read at each pull */
};

struct xn_image_puller_opts {
	const char *cache_dir;
	const struct xn_registry_conf *registries;
	size_t nregistries;
	const char *arch; /* NULL: the build's (xn_manifest_host_arch) */
	const char *user_agent;
};

/* What a pulled (or cached) image is. */
struct xn_image_info {
	char *ref;	/* normalised reference */
	char *image_id; /* "<domain>/<path>@<digest>": the pod's imageID */
	char *digest;	/* what the reference resolved to (index or manifest) */
	char *kernel;	/* path of the kernel blob in the cache */
	char *ramdisk;	/* NULL: none */
	char *cmdline, *guest_type, *net_config; /* NULL: the image says nothing */
	int64_t min_memory;			 /* bytes, 0: none */
	uint64_t size;				 /* bytes of the blobs the image is */
	uint64_t fetched;			 /* bytes transferred by this pull */
};
void xn_image_info_dispose(struct xn_image_info *i);

struct xn_image_puller *xn_image_puller_new(struct event_base *base,
					    const struct xn_image_puller_opts *opts, xn_err *err);
/* Cancels every pull (no callbacks). */
void xn_image_puller_free(struct xn_image_puller *p);
const char *xn_image_puller_cache_dir(struct xn_image_puller *p);

/* The pull finished: info on success, else err_msg says why (a message for
 * the pod's status: "manifest unknown: 127.0.0.1:5000/hello:2"...).  Called
 * from the event loop; the pull is freed after it returns. */
typedef void (*xn_image_pull_fn)(const struct xn_image_info *info, const char *err_msg, void *arg);

/* Start pulling ref.  NULL with *err when it cannot start (a reference that
 * does not parse).  A reference already on its way is not fetched twice:
 * the new pull is told the running one's result (N pods of one image, one
 * transfer). */
struct xn_image_pull *xn_image_pull_start(struct xn_image_puller *p, const char *ref,
					  xn_image_pull_fn done, void *arg, xn_err *err);
void xn_image_pull_cancel(struct xn_image_pull *pull);

/* The image for ref from the cache alone (IfNotPresent, Never): 0 with
 * *out, -1 with status ENOENT when it is not there (or incomplete). */
int xn_image_cache_lookup(const char *cache_dir, const char *ref, struct xn_image_info *out,
			  xn_err *err);
/* Every reference in the cache, for `xl-pod image list` (fn gets each). */
int xn_image_cache_list(const char *cache_dir,
			void (*fn)(const char *ref, const char *digest, void *arg), void *arg,
			xn_err *err);

#endif
