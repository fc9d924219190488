/* image_cache_rm.h - removing images from the node's image cache
 * (`xl-pod image rm`; the cache's layout is in image_pull.h). */
#ifndef XENLET_IMAGE_CACHE_RM_H
#define XENLET_IMAGE_CACHE_RM_H

#include "xenlet/err.h"
#include "xenlet/image_pull.h"

struct cJSON;

/* Which pod uses the image info describes ("namespace/name"), or NULL.
 * info->kernel may be NULL when the cached image is incomplete. */
typedef const char *(*xn_image_in_use_fn)(const struct xn_image_info *info, void *arg);

/* Forget name, a reference (normalised first) or a digest (every
 * reference that resolves to it, or whose platform manifest it is), and
 * delete the blobs no remaining reference needs.  Refused, with nothing
 * removed, while in_use names a pod for any of them ("image ... is in use
 * by pod default/web", status EBUSY) or when nothing matches (ENOENT).
 * The references removed are appended to the JSON array removed. */
int xn_image_cache_remove(const char *cache_dir, const char *name, xn_image_in_use_fn in_use,
			  void *arg, struct cJSON *removed, xn_err *err);

#endif
