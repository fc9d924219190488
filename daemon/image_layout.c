/* image_layout.c - OCI image layout directories: pack a kernel into one,
 * import one into the image cache, export a cached image (image_layout.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include "image_cache.h"
#include "xenlet/image_layout.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_ref.h"
#include "xenlet/quantity.h"
#include "xenlet/util.h"

#define LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define INDEX_MAX   (1u << 20)

static void hex_digest(EVP_MD_CTX *md, char out[72])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_DigestFinal_ex(md, d, &n);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", d[i]);
}

static void digest_of(const void *data, size_t len, char out[72])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, data, len);
	hex_digest(md, out);
	EVP_MD_CTX_free(md);
}

/* Copy src into <dir>/blobs/sha256/ under a temporary name while hashing,
 * then rename it to its digest.  With want (a descriptor's digest and size)
 * a mismatch is refused and nothing stays behind; without, the digest is
 * what was read.  out: the digest, *size the bytes. */
static int copy_blob(const char *src, const char *dir, const char *want, uint64_t want_size,
		     char out[72], uint64_t *size, xn_err *err)
{
	cleanup_free char *tmp = xn_xasprintf("%s/blobs/sha256/.in.%d", dir, (int)getpid());
	cleanup_free char *dst = NULL;
	EVP_MD_CTX *md = NULL;
	char buf[65536];
	uint64_t total = 0;
	int in = -1, fd = -1, rc = -1;
	ssize_t r;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return xn_error_errno(err, errno, "%s", src);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		xn_error_errno(err, errno, "%s", tmp);
		goto out;
	}
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while ((r = read(in, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			xn_error_errno(err, errno, "%s", src);
			goto out;
		}
		total += (uint64_t)r;
		if (want != NULL && total > want_size) {
			xn_error(err, EINVAL,
				 "blob %s: %s is longer than the %llu bytes its descriptor says",
				 want, src, (unsigned long long)want_size);
			goto out;
		}
		EVP_DigestUpdate(md, buf, (size_t)r);
		if (xn_write_all(fd, buf, (size_t)r) < 0) {
			xn_error_errno(err, errno, "%s", tmp);
			goto out;
		}
	}
	hex_digest(md, out);
	if (want != NULL && total != want_size) {
		xn_error(err, EINVAL, "blob %s: %s has %llu bytes, its descriptor says %llu", want,
			 src, (unsigned long long)total, (unsigned long long)want_size);
		goto out;
	}
	if (want != NULL && strcmp(out, want) != 0) {
		xn_error(err, EINVAL, "blob %s: digest mismatch (%s is %s)", want, src, out);
		goto out;
	}
	if (fsync(fd) < 0) {
		xn_error_errno(err, errno, "%s", tmp);
		goto out;
	}
	dst = image_blob_path(dir, out);
	if (rename(tmp, dst) < 0) {
		xn_error_errno(err, errno, "rename %s", dst);
		goto out;
	}
	*size = total;
	rc = 0;
out:
	if (rc < 0)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	close(in);
	EVP_MD_CTX_free(md);
	return rc;
}

/* A blob from memory: written under its digest. */
static int put_blob(const char *dir, const char *text, char out[72], xn_err *err)
{
	cleanup_free char *path = NULL;

	digest_of(text, strlen(text), out);
	path = image_blob_path(dir, out);
	return image_write_atomic(path, text, strlen(text), err);
}

static cJSON *descriptor(const char *mt, const char *digest, uint64_t size)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "mediaType", mt);
	cJSON_AddStringToObject(d, "digest", digest);
	cJSON_AddNumberToObject(d, "size", (double)size);
	return d;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int check_opts(const struct xn_pack_opts *o, xn_err *err)
{
	int64_t q;

	if (o->kernel == NULL || o->kernel[0] == '\0')
		return xn_error(err, EINVAL, "pack: no kernel");
	if (o->guest_type && strcmp(o->guest_type, "pv") != 0 && strcmp(o->guest_type, "pvh") != 0)
		return xn_error(err, EINVAL, "pack: guest type \"%.40s\": not pv or pvh",
				o->guest_type);
	if (o->net_config && strcmp(o->net_config, "mirage") != 0 &&
	    strcmp(o->net_config, "unikraft") != 0 && strcmp(o->net_config, "linux") != 0 &&
	    strcmp(o->net_config, "none") != 0)
		return xn_error(err, EINVAL,
				"pack: net config \"%.40s\": not mirage, unikraft, linux or none",
				o->net_config);
	if (o->min_memory && xn_quantity_parse(o->min_memory, 0, &q, err) < 0)
		return xn_error_wrap(err, "pack: min memory");
	if (o->tag) {
		size_t n = strlen(o->tag),
		       ok = strspn(o->tag, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "abcdefghijklmnopqrstuvwxyz0123456789_.-");

		if (n == 0 || n > 128 || ok != n || o->tag[0] == '.' || o->tag[0] == '-')
			return xn_error(err, EINVAL, "pack: tag \"%.130s\": not a valid tag",
					o->tag);
	}
	return 0;
}

static cJSON *load_index(const char *dir, xn_err *err)
{
	cleanup_free char *path = xn_xasprintf("%s/index.json", dir), *text = NULL;
	size_t len = 0;
	cJSON *o;

	if (xn_read_file(path, INDEX_MAX, &text, &len, err) < 0)
		return NULL;
	o = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(o) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "manifests"))) {
		cJSON_Delete(o);
		xn_error(err, EINVAL, "%s: not an OCI index (no manifests array)", path);
		return NULL;
	}
	return o;
}

static const char *entry_name(const cJSON *e)
{
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(e, "annotations");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(ann, XN_LAYOUT_REF_NAME);

	return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* Add (or replace, by tag) the entry for manifest digest in dir's layout. */
static int write_index(const char *dir, const char *tag, const char *arch, const char *digest,
		       uint64_t size, xn_err *err)
{
	cleanup_free char *lpath = xn_xasprintf("%s/oci-layout", dir);
	cleanup_free char *ipath = xn_xasprintf("%s/index.json", dir), *text = NULL;
	cJSON *index = NULL, *arr, *e, *pf, *ann;
	struct stat sb;
	int i = 0, rc;

	if (stat(ipath, &sb) == 0) {
		index = load_index(dir, err);
		if (index == NULL)
			return -1;
	} else {
		index = cJSON_CreateObject();
		cJSON_AddNumberToObject(index, "schemaVersion", 2);
		cJSON_AddStringToObject(index, "mediaType", XN_MEDIA_OCI_INDEX);
		cJSON_AddArrayToObject(index, "manifests");
	}
	arr = cJSON_GetObjectItemCaseSensitive(index, "manifests");
	cJSON_ArrayForEach(e, arr) {
		const char *n = entry_name(e);

		if (n != NULL && strcmp(n, tag) == 0) {
			cJSON_DeleteItemFromArray(arr, i);
			break;
		}
		i++;
	}
	e = descriptor(XN_MEDIA_OCI_MANIFEST, digest, size);
	pf = cJSON_AddObjectToObject(e, "platform");
	cJSON_AddStringToObject(pf, "architecture", arch);
	cJSON_AddStringToObject(pf, "os", "linux");
	ann = cJSON_AddObjectToObject(e, "annotations");
	cJSON_AddStringToObject(ann, XN_LAYOUT_REF_NAME, tag);
	cJSON_AddItemToArray(arr, e);
	text = cJSON_PrintUnformatted(index);
	cJSON_Delete(index);
	rc = image_write_atomic(lpath, LAYOUT_FILE, strlen(LAYOUT_FILE), err);
	if (rc == 0)
		rc = image_write_atomic(ipath, text, strlen(text), err);
	return rc;
}

int xn_layout_pack(const struct xn_pack_opts *o, const char *dir, char **digest, uint64_t *size,
		   xn_err *err)
{
	char kd[72], rd[72] = "", cd[72], md[72];
	uint64_t ks = 0, rs = 0;
	cleanup_free char *cfg_text = NULL, *man_text = NULL;
	cJSON *cfg, *man, *layers, *l;
	const char *arch = o->arch ? o->arch : xn_manifest_host_arch();

	if (check_opts(o, err) < 0 || image_cache_dirs(dir, err) < 0)
		return -1;
	if (copy_blob(o->kernel, dir, NULL, 0, kd, &ks, err) < 0)
		return xn_error_wrap(err, "pack: kernel");
	if (o->initrd && copy_blob(o->initrd, dir, NULL, 0, rd, &rs, err) < 0)
		return xn_error_wrap(err, "pack: initrd");
	/* keys in one fixed order, absent ones left out: reproducible */
	cfg = cJSON_CreateObject();
	if (o->cmdline)
		cJSON_AddStringToObject(cfg, "cmdline", o->cmdline);
	if (o->guest_type)
		cJSON_AddStringToObject(cfg, "guestType", o->guest_type);
	if (o->min_memory)
		cJSON_AddStringToObject(cfg, "minMemory", o->min_memory);
	if (o->net_config)
		cJSON_AddStringToObject(cfg, "netConfig", o->net_config);
	cfg_text = cJSON_PrintUnformatted(cfg);
	cJSON_Delete(cfg);
	if (put_blob(dir, cfg_text, cd, err) < 0)
		return -1;
	man = cJSON_CreateObject();
	cJSON_AddNumberToObject(man, "schemaVersion", 2);
	cJSON_AddStringToObject(man, "mediaType", XN_MEDIA_OCI_MANIFEST);
	cJSON_AddItemToObject(man, "config", descriptor(XN_MEDIA_UK_CONFIG, cd, strlen(cfg_text)));
	layers = cJSON_AddArrayToObject(man, "layers");
	l = descriptor(XN_MEDIA_UK_KERNEL, kd, ks);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(l, "annotations"), XN_LAYOUT_TITLE,
				base_name(o->kernel));
	cJSON_AddItemToArray(layers, l);
	if (o->initrd) {
		l = descriptor(XN_MEDIA_UK_INITRD, rd, rs);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(l, "annotations"), XN_LAYOUT_TITLE,
					base_name(o->initrd));
		cJSON_AddItemToArray(layers, l);
	}
	man_text = cJSON_PrintUnformatted(man);
	cJSON_Delete(man);
	if (put_blob(dir, man_text, md, err) < 0)
		return -1;
	if (write_index(dir, o->tag ? o->tag : "latest", arch, md, strlen(man_text), err) < 0)
		return -1;
	*digest = xn_xstrdup(md);
	*size = strlen(man_text) + strlen(cfg_text) + ks + rs;
	return 0;
}

/* Read a small blob of a layout or the cache, checking size and digest. */
static int read_verified(const char *dir, const char *digest, uint64_t size, size_t max, char **out,
			 size_t *len, xn_err *err)
{
	cleanup_free char *path = image_blob_path(dir, digest);
	char got[72];

	if (size > max)
		return xn_error(err, EFBIG, "blob %s: %llu bytes, more than the %zu allowed",
				digest, (unsigned long long)size, max);
	if (xn_read_file(path, max, out, len, err) < 0)
		return -1;
	digest_of(*out, *len, got);
	if (*len != size || strcmp(got, digest) != 0) {
		free(*out);
		*out = NULL;
		return xn_error(err, EINVAL,
				"blob %s: %s does not match its descriptor (%zu bytes, %s)", digest,
				path, *len, got);
	}
	return 0;
}

/* The entry of index for ref r: by ref.name (tag or whole reference), or
 * the only one. */
static const cJSON *pick_entry(const cJSON *index, const struct xn_image_ref *r, const char *norm,
			       xn_err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *e;
	char names[512] = "";
	size_t off = 0;
	int n = cJSON_GetArraySize(arr);

	cJSON_ArrayForEach(e, arr) {
		const char *name = entry_name(e);

		if (name == NULL)
			continue;
		if ((r->tag && strcmp(name, r->tag) == 0) || strcmp(name, norm) == 0)
			return e;
		if (off < sizeof(names))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
						off ? ", " : "", name);
	}
	if (n == 1)
		return cJSON_GetArrayItem(arr, 0);
	if (n == 0)
		xn_error(err, ENOENT, "the layout's index.json names no image");
	else
		xn_error(err, ENOENT, "no image tagged \"%s\" in the layout (it has: %s)",
			 r->tag ? r->tag : norm, names[0] ? names : "entries without names");
	return NULL;
}

static int desc_of(const cJSON *e, struct xn_descriptor *d, xn_err *err)
{
	cleanup_free char *text = cJSON_PrintUnformatted(e);
	cleanup_free char *wrap = xn_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\","
					       "\"manifests\":[%s]}",
					       XN_MEDIA_OCI_INDEX, text);
	struct xn_manifest m;

	if (xn_manifest_parse(wrap, strlen(wrap), NULL, &m, err) < 0)
		return xn_error_wrap(err, "index.json");
	*d = m.items[0];
	memset(&m.items[0], 0, sizeof(m.items[0]));
	xn_manifest_dispose(&m);
	return 0;
}

static void desc_dispose(struct xn_descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	memset(d, 0, sizeof(*d));
}

/* Copy one blob from the layout src into the cache dst (verified), unless
 * it is there. */
static int take_blob(const char *src, const char *dst, const struct xn_descriptor *d, xn_err *err)
{
	cleanup_free char *from = NULL;
	char got[72];
	uint64_t n;

	if (image_blob_present(dst, d->digest, d->size))
		return 0;
	from = image_blob_path(src, d->digest);
	return copy_blob(from, dst, d->digest, d->size, got, &n, err);
}

/* Copy an image manifest's blobs (manifest text given, verified) from src
 * to dst: the manifest, config and every layer. */
static int take_image(const char *src, const char *dst, const struct xn_descriptor *md,
		      const char *mtext, size_t mlen, xn_err *err)
{
	struct xn_manifest m;
	struct xn_unikernel u;
	cleanup_free char *ctext = NULL;
	size_t clen = 0;
	int rc = -1;

	if (xn_manifest_parse(mtext, mlen, md->media_type, &m, err) < 0)
		return -1;
	if (m.kind == XN_MANIFEST_INDEX) {
		xn_error(err, EINVAL, "manifest %s: an index inside an index", md->digest);
		goto out;
	}
	if (strcmp(m.config.media_type, XN_MEDIA_OCI_EMPTY) != 0 &&
	    read_verified(src, m.config.digest, m.config.size, XN_CONFIG_MAX, &ctext, &clen, err) <
		0)
		goto out;
	/* our format, or refused before anything is copied */
	if (xn_unikernel_parse(&m, ctext, clen, &u, err) < 0)
		goto out;
	xn_unikernel_dispose(&u);
	if (strcmp(m.config.media_type, XN_MEDIA_OCI_EMPTY) != 0 &&
	    take_blob(src, dst, &m.config, err) < 0)
		goto out;
	for (size_t i = 0; i < m.n; i++)
		if (take_blob(src, dst, &m.items[i], err) < 0)
			goto out;
	rc = take_blob(src, dst, md, err);
out:
	xn_manifest_dispose(&m);
	return rc;
}

int xn_layout_import(const char *dir, const char *cache_dir, const char *ref, char **digest,
		     xn_err *err)
{
	struct xn_image_ref r;
	struct xn_descriptor top = {0}, plat = {0};
	const struct xn_descriptor *sel;
	struct xn_manifest idx = {0};
	cleanup_free char *norm = NULL, *ltext = NULL, *mtext = NULL, *itext = NULL;
	const cJSON *e;
	cJSON *index = NULL, *lay;
	size_t mlen = 0, ilen = 0;
	cleanup_free char *lpath = xn_xasprintf("%s/oci-layout", dir);
	int rc = -1;

	if (xn_image_ref_parse(ref, &r, err) < 0)
		return -1;
	norm = xn_image_ref_string(&r);
	if (xn_read_file(lpath, 4096, &ltext, NULL, err) < 0) {
		xn_error_wrap(err, "%s is not an OCI image layout", dir);
		goto out;
	}
	lay = cJSON_Parse(ltext);
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(lay, "imageLayoutVersion"))) {
		cJSON_Delete(lay);
		xn_error(err, EINVAL, "%s: no imageLayoutVersion", lpath);
		goto out;
	}
	cJSON_Delete(lay);
	index = load_index(dir, err);
	if (index == NULL || (e = pick_entry(index, &r, norm, err)) == NULL ||
	    desc_of(e, &top, err) < 0)
		goto out;
	if (image_cache_dirs(cache_dir, err) < 0 ||
	    read_verified(dir, top.digest, top.size, XN_MANIFEST_MAX, &mtext, &mlen, err) < 0)
		goto out;
	if (xn_manifest_parse(mtext, mlen, top.media_type, &idx, err) < 0)
		goto out;
	if (idx.kind == XN_MANIFEST_INDEX) {
		sel = xn_manifest_select(&idx, "linux", xn_manifest_host_arch(), err);
		if (sel == NULL)
			goto out;
		plat.media_type = xn_xstrdup(sel->media_type);
		plat.digest = xn_xstrdup(sel->digest);
		plat.size = sel->size;
		if (read_verified(dir, plat.digest, plat.size, XN_MANIFEST_MAX, &itext, &ilen,
				  err) < 0 ||
		    take_image(dir, cache_dir, &plat, itext, ilen, err) < 0 ||
		    take_blob(dir, cache_dir, &top, err) < 0)
			goto out;
	} else if (take_image(dir, cache_dir, &top, mtext, mlen, err) < 0) {
		goto out;
	}
	if (image_refs_set(cache_dir, norm, top.digest,
			   idx.kind == XN_MANIFEST_INDEX ? plat.digest : top.digest, err) < 0)
		goto out;
	*digest = xn_xstrdup(top.digest);
	rc = 0;
out:
	if (rc < 0)
		xn_error_wrap(err, "import %s", dir);
	cJSON_Delete(index);
	xn_manifest_dispose(&idx);
	desc_dispose(&top);
	desc_dispose(&plat);
	xn_image_ref_dispose(&r);
	return rc;
}
