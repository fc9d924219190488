/* image_cache.h - what image_pull.c shares with image_cache.c: the cache's
 * paths and writes (the layout is in include/xenlet/image_pull.h). */
#ifndef XENLET_IMAGE_CACHE_H
#define XENLET_IMAGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "xenlet/image_manifest.h"
#include "xenlet/image_pull.h"
#include "xenlet/image_ref.h"

/* <cache>/blobs/sha256/<hex> (malloc'd); digest is valid. */
char *image_blob_path(const char *cache_dir, const char *digest);
/* The verified blob is there with this size. */
bool image_blob_present(const char *cache_dir, const char *digest, uint64_t size);
/* mkdir -p <cache>/blobs/sha256. */
int image_cache_dirs(const char *cache_dir, xn_err *err);
/* Write a whole file under a temporary name, fsync, rename. */
int image_write_atomic(const char *path, const void *data, size_t len, xn_err *err);
/* refs.json: ref -> {digest, manifest}; an empty object when the file is
 * missing or not a JSON object (the cache is then rebuilt by pulls). */
cJSON *image_refs_load(const char *cache_dir);
int image_refs_set(const char *cache_dir, const char *ref, const char *digest, const char *manifest,
		   xn_err *err);
/* Fill *out for the image manifest m (and its config) that ref resolved to
 * through digest. */
int image_info_fill(const char *cache_dir, const struct xn_image_ref *r, const char *digest,
		    const struct xn_manifest *m, const char *config, size_t config_len,
		    struct xn_image_info *out, xn_err *err);

#endif
