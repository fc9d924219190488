/* image_cache_rm.c - `xl-pod image rm`: forget references in the image
 * cache and delete the blobs no remaining reference needs, refusing while
 * a pod uses the image (image_layout.h's neighbour in image_pull.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "image_cache.h"
#include "xenlet/image_cache_rm.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_ref.h"
#include "xenlet/util.h"

static const char *entry_str(const cJSON *e, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_digest(cJSON *set, const char *d)
{
	if (d != NULL && xn_digest_valid(d) && !cJSON_HasObjectItem(set, d))
		cJSON_AddTrueToObject(set, d);
}

/* The blobs of one refs.json entry: what it resolves to, its manifest and
 * the manifest's config and layers. */
static void blobs_of(const char *cache_dir, const cJSON *e, cJSON *set)
{
	const char *mf = entry_str(e, "manifest");
	cleanup_free char *path = NULL, *text = NULL;
	struct xn_manifest m;
	size_t len = 0;
	xn_err err = NULL;

	add_digest(set, entry_str(e, "digest"));
	add_digest(set, mf);
	if (mf == NULL || !xn_digest_valid(mf))
		return;
	path = image_blob_path(cache_dir, mf);
	if (xn_read_file(path, XN_MANIFEST_MAX, &text, &len, &err) < 0 ||
	    xn_manifest_parse(text, len, NULL, &m, &err) < 0) {
		xn_error_free(&err);
		return;
	}
	if (m.kind == XN_MANIFEST_IMAGE)
		add_digest(set, m.config.digest);
	for (size_t i = 0; i < m.n; i++)
		add_digest(set, m.items[i].digest);
	xn_manifest_dispose(&m);
}

int xn_image_cache_remove(const char *cache_dir, const char *name, xn_image_in_use_fn in_use,
			  void *arg, cJSON *removed, xn_err *err)
{
	cJSON *refs = image_refs_load(cache_dir), *keep = cJSON_CreateObject(),
	      *gone = cJSON_CreateObject();
	cJSON *e, *next;
	cleanup_free char *norm = NULL, *path = xn_xasprintf("%s/refs.json", cache_dir);
	cleanup_free char *text = NULL;
	bool by_digest = xn_digest_valid(name);
	int rc = -1, n = 0;

	if (!by_digest) {
		struct xn_image_ref r;

		if (xn_image_ref_parse(name, &r, err) < 0)
			goto out;
		norm = xn_image_ref_string(&r);
		xn_image_ref_dispose(&r);
	}
	/* every matching reference first: none is removed while one is used */
	cJSON_ArrayForEach(e, refs) {
		const char *dg = entry_str(e, "digest"), *pod;
		struct xn_image_info info;
		xn_err lerr = NULL;

		if (by_digest ? (dg == NULL || (strcmp(dg, name) != 0 &&
						strcmp(entry_str(e, "manifest") ?: "", name) != 0))
			      : strcmp(e->string, norm) != 0)
			continue;
		n++;
		if (xn_image_cache_lookup(cache_dir, e->string, &info, &lerr) < 0) {
			xn_error_free(&lerr);
			memset(&info, 0, sizeof(info));
			info.ref = xn_xstrdup(e->string);
		}
		pod = in_use ? in_use(&info, arg) : NULL;
		if (pod != NULL) {
			xn_error(err, EBUSY, "image %s is in use by pod %s", e->string, pod);
			xn_image_info_dispose(&info);
			goto out;
		}
		xn_image_info_dispose(&info);
	}
	if (n == 0) {
		xn_error(err, ENOENT, "image %s is not in the node's cache", norm ? norm : name);
		goto out;
	}
	for (e = refs->child; e != NULL; e = next) {
		const char *dg = entry_str(e, "digest");
		bool match =
		    by_digest ? (dg != NULL && (strcmp(dg, name) == 0 ||
						strcmp(entry_str(e, "manifest") ?: "", name) == 0))
			      : strcmp(e->string, norm) == 0;

		next = e->next;
		if (!match)
			continue;
		blobs_of(cache_dir, e, gone);
		cJSON_AddItemToArray(removed, cJSON_CreateString(e->string));
		cJSON_DeleteItemFromObjectCaseSensitive(refs, e->string);
	}
	text = cJSON_Print(refs);
	if (image_write_atomic(path, text, strlen(text), err) < 0)
		goto out;
	/* then the blobs of the removed images that no other image shares */
	cJSON_ArrayForEach(e, refs)
		blobs_of(cache_dir, e, keep);
	cJSON_ArrayForEach(e, gone) {
		cleanup_free char *blob = NULL;

		if (cJSON_HasObjectItem(keep, e->string))
			continue;
		blob = image_blob_path(cache_dir, e->string);
		if (unlink(blob) < 0 && errno != ENOENT) {
			xn_error_errno(err, errno, "%s", blob);
			goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(refs);
	cJSON_Delete(keep);
	cJSON_Delete(gone);
	return rc;
}
