/* image_cache.c - the content-addressed image cache on disk: blob paths,
 * verified renames, the reference index, and reading an image back from
 * the cache alone (see image_pull.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "image_cache.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_ref.h"
#include "xenlet/util.h"

char *image_blob_path(const char *cache_dir, const char *digest)
{
	return xn_xasprintf("%s/blobs/sha256/%s", cache_dir, digest + 7);
}

bool image_blob_present(const char *cache_dir, const char *digest, uint64_t size)
{
	cleanup_free char *path = image_blob_path(cache_dir, digest);
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == size;
}

int image_write_atomic(const char *path, const void *data, size_t len, xn_err *err)
{
	cleanup_free char *tmp = xn_xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return xn_error_errno(err, errno, "%s", tmp);
	if (xn_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return xn_error_errno(err, e, "%s", tmp);
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return xn_error_errno(err, e, "rename %s", path);
	}
	return 0;
}

int image_cache_dirs(const char *cache_dir, xn_err *err)
{
	cleanup_free char *blobs = xn_xasprintf("%s/blobs/sha256", cache_dir);

	if (xn_mkdir_p(blobs, 0755) < 0)
		return xn_error_errno(err, errno, "image cache %s", blobs);
	return 0;
}

cJSON *image_refs_load(const char *cache_dir)
{
	cleanup_free char *path = xn_xasprintf("%s/refs.json", cache_dir);
	cleanup_free char *text = NULL;
	xn_err err = NULL;
	cJSON *o;

	if (xn_read_file(path, 16u << 20, &text, NULL, &err) < 0) {
		xn_error_free(&err);
		return cJSON_CreateObject();
	}
	o = cJSON_Parse(text);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return cJSON_CreateObject();
	}
	return o;
}

int image_refs_set(const char *cache_dir, const char *ref, const char *digest, const char *manifest,
		   xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("%s/refs.json", cache_dir);
	cleanup_free char *text = NULL;
	cJSON *refs = image_refs_load(cache_dir), *e = cJSON_CreateObject();
	int rc;

	cJSON_AddStringToObject(e, "digest", digest);
	cJSON_AddStringToObject(e, "manifest", manifest);
	if (cJSON_GetObjectItemCaseSensitive(refs, ref))
		cJSON_ReplaceItemInObjectCaseSensitive(refs, ref, e);
	else
		cJSON_AddItemToObject(refs, ref, e);
	text = cJSON_Print(refs);
	cJSON_Delete(refs);
	rc = image_write_atomic(path, text, strlen(text), err);
	return rc;
}

int xn_image_cache_list(const char *cache_dir,
			void (*fn)(const char *ref, const char *digest, void *arg), void *arg,
			xn_err *err)
{
	cJSON *refs = image_refs_load(cache_dir), *e;

	cJSON_ArrayForEach(e, refs) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "digest");

		if (cJSON_IsString(d))
			fn(e->string, d->valuestring, arg);
	}
	cJSON_Delete(refs);
	return 0;
}

/* A verified blob of the cache, read whole (manifests and configs). */
static int read_blob(const char *cache_dir, const char *digest, size_t max, char **out, size_t *len,
		     xn_err *err)
{
	cleanup_free char *path = NULL;

	if (!xn_digest_valid(digest))
		return xn_error(err, EINVAL, "image cache: bad digest \"%.80s\"", digest);
	path = image_blob_path(cache_dir, digest);
	return xn_read_file(path, max, out, len, err);
}

void xn_image_info_dispose(struct xn_image_info *i)
{
	free(i->ref);
	free(i->image_id);
	free(i->digest);
	free(i->kernel);
	free(i->ramdisk);
	free(i->cmdline);
	free(i->guest_type);
	free(i->net_config);
	memset(i, 0, sizeof(*i));
}

int image_info_fill(const char *cache_dir, const struct xn_image_ref *r, const char *digest,
		    const struct xn_manifest *m, const char *config, size_t config_len,
		    struct xn_image_info *out, xn_err *err)
{
	struct xn_unikernel u;

	memset(out, 0, sizeof(*out));
	if (xn_unikernel_parse(m, config, config_len, &u, err) < 0)
		return -1;
	out->ref = xn_image_ref_string(r);
	out->image_id = xn_xasprintf("%s/%s@%s", r->domain, r->path, digest);
	out->digest = xn_xstrdup(digest);
	out->kernel = image_blob_path(cache_dir, u.kernel->digest);
	out->ramdisk = u.ramdisk ? image_blob_path(cache_dir, u.ramdisk->digest) : NULL;
	out->cmdline = u.cmdline;
	out->guest_type = u.guest_type;
	out->net_config = u.net_config;
	out->min_memory = u.min_memory;
	out->size = m->config.size;
	for (size_t i = 0; i < m->n; i++)
		out->size += m->items[i].size;
	u.cmdline = u.guest_type = u.net_config = NULL;
	xn_unikernel_dispose(&u);
	return 0;
}

int xn_image_cache_lookup(const char *cache_dir, const char *ref, struct xn_image_info *out,
			  xn_err *err)
{
	struct xn_image_ref r;
	cJSON *refs = NULL;
	const cJSON *e, *dg, *mf;
	cleanup_free char *norm = NULL, *mtext = NULL, *ctext = NULL;
	size_t mlen = 0, clen = 0;
	struct xn_manifest m = {0};
	struct xn_unikernel u = {0};
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (xn_image_ref_parse(ref, &r, err) < 0)
		return -1;
	norm = xn_image_ref_string(&r);
	refs = image_refs_load(cache_dir);
	e = cJSON_GetObjectItemCaseSensitive(refs, norm);
	dg = cJSON_GetObjectItemCaseSensitive(e, "digest");
	mf = cJSON_GetObjectItemCaseSensitive(e, "manifest");
	if (!cJSON_IsString(dg) || !cJSON_IsString(mf)) {
		xn_error(err, ENOENT, "image \"%s\" is not in the node's cache", norm);
		goto out;
	}
	if (read_blob(cache_dir, mf->valuestring, XN_MANIFEST_MAX, &mtext, &mlen, err) < 0 ||
	    xn_manifest_parse(mtext, mlen, NULL, &m, err) < 0)
		goto missing;
	if (strcmp(m.config.media_type, XN_MEDIA_OCI_EMPTY) != 0 &&
	    read_blob(cache_dir, m.config.digest, XN_CONFIG_MAX, &ctext, &clen, err) < 0)
		goto missing;
	if (xn_unikernel_parse(&m, ctext, clen, &u, err) < 0)
		goto missing;
	if (!image_blob_present(cache_dir, u.kernel->digest, u.kernel->size) ||
	    (u.ramdisk && !image_blob_present(cache_dir, u.ramdisk->digest, u.ramdisk->size))) {
		xn_error(err, ENOENT, "image \"%s\": a layer is missing from the cache", norm);
		goto out;
	}
	rc = image_info_fill(cache_dir, &r, dg->valuestring, &m, ctext, clen, out, err);
	goto out;
missing:
	xn_error_wrap(err, "image \"%s\" is not complete in the node's cache", norm);
	(*err)->status = ENOENT;
out:
	xn_unikernel_dispose(&u);
	xn_manifest_dispose(&m);
	xn_image_ref_dispose(&r);
	cJSON_Delete(refs);
	return rc;
}
