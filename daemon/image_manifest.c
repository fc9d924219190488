/* image_manifest.c - manifests, indexes, platform selection and our
 * unikernel format (see image_manifest.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "xenlet/image_manifest.h"
#include "xenlet/image_ref.h"
#include "xenlet/net.h"
#include "xenlet/quantity.h"
#include "xenlet/util.h"

#define SIZE_MAX_EXACT 9007199254740992.0 /* 2^53: what a JSON number holds exactly */

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
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

void xn_manifest_dispose(struct xn_manifest *m)
{
	desc_dispose(&m->config);
	for (size_t i = 0; i < m->n; i++)
		desc_dispose(&m->items[i]);
	free(m->items);
	free(m->media_type);
	cJSON_Delete(m->annotations);
	memset(m, 0, sizeof(*m));
}

/* One descriptor; `where` names it in messages ("layers[2]"). */
static int desc_parse(const cJSON *o, const char *where, bool platform, struct xn_descriptor *d,
		      xn_err *err)
{
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
	const cJSON *pf = cJSON_GetObjectItemCaseSensitive(o, "platform");
	const char *mt = jstr(o, "mediaType"), *dg = jstr(o, "digest");

	if (!cJSON_IsObject(o))
		return xn_error(err, EINVAL, "manifest: %s: not an object", where);
	if (mt == NULL || mt[0] == '\0')
		return xn_error(err, EINVAL, "manifest: %s.mediaType: missing", where);
	if (dg == NULL)
		return xn_error(err, EINVAL, "manifest: %s.digest: missing", where);
	if (!xn_digest_valid(dg))
		return xn_error(err, EINVAL,
				"manifest: %s.digest \"%.80s\": not sha256 with 64 lowercase hex "
				"digits",
				where, dg);
	if (!cJSON_IsNumber(size) || size->valuedouble < 0 || size->valuedouble > SIZE_MAX_EXACT ||
	    floor(size->valuedouble) != size->valuedouble)
		return xn_error(err, EINVAL, "manifest: %s.size: not a byte count", where);
	d->media_type = xn_xstrdup(mt);
	d->digest = xn_xstrdup(dg);
	d->size = (uint64_t)size->valuedouble;
	if (platform) {
		const char *os = jstr(pf, "os"), *arch = jstr(pf, "architecture"),
			   *var = jstr(pf, "variant");

		if (pf != NULL && !cJSON_IsObject(pf))
			return xn_error(err, EINVAL, "manifest: %s.platform: not an object", where);
		d->os = xn_xstrdup(os ? os : "");
		d->arch = xn_xstrdup(arch ? arch : "");
		d->variant = xn_xstrdup(var ? var : "");
	}
	return 0;
}

/* The media type: the body's or the Content-Type (without parameters). */
static int media_type(const cJSON *root, const char *content_type, char **out, xn_err *err)
{
	const char *body_mt = jstr(root, "mediaType");
	char ct[128] = "";

	if (content_type != NULL) {
		size_t n = strcspn(content_type, ";");

		while (n > 0 && content_type[n - 1] == ' ')
			n--;
		snprintf(ct, sizeof(ct), "%.*s", (int)n, content_type);
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "mediaType") != NULL && body_mt == NULL)
		return xn_error(err, EINVAL, "manifest: mediaType: not a string");
	/* registries answer application/json or octet-stream for OCI manifests
	 * without mediaType; only a real manifest type must agree */
	if (body_mt != NULL && ct[0] != '\0' && strcmp(body_mt, ct) != 0 &&
	    strcmp(ct, "application/json") != 0 && strcmp(ct, "application/octet-stream") != 0)
		return xn_error(err, EINVAL,
				"manifest: mediaType \"%.100s\" but the registry says \"%s\"",
				body_mt, ct);
	if (body_mt != NULL)
		*out = xn_xstrdup(body_mt);
	else if (strstr(ct, "manifest") != NULL || strstr(ct, "index") != NULL)
		*out = xn_xstrdup(ct);
	else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "manifests")))
		*out = xn_xstrdup(XN_MEDIA_OCI_INDEX);
	else if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "config")))
		*out = xn_xstrdup(XN_MEDIA_OCI_MANIFEST);
	else
		*out = xn_xstrdup(ct);
	return 0;
}

int xn_manifest_parse(const char *body, size_t len, const char *content_type,
		      struct xn_manifest *out, xn_err *err)
{
	cJSON *root = NULL;
	const cJSON *sv, *arr, *ann;
	const char *field;
	char where[32];
	int rc = -1, i = 0;
	bool index;

	memset(out, 0, sizeof(*out));
	if (len > XN_MANIFEST_MAX)
		return xn_error(err, EFBIG, "manifest: %zu bytes, larger than the %u MiB limit",
				len, XN_MANIFEST_MAX >> 20);
	root = cJSON_ParseWithLength(body, len);
	if (root == NULL)
		return xn_error(err, EINVAL, "manifest: not JSON");
	if (!cJSON_IsObject(root)) {
		xn_error(err, EINVAL, "manifest: not a JSON object");
		goto out;
	}
	sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
	if (cJSON_IsNumber(sv) && sv->valuedouble == 1) {
		xn_error(err, ENOTSUP,
			 "manifest: Docker schema 1 is not supported (push the image "
			 "again with a current tool)");
		goto out;
	}
	if (!cJSON_IsNumber(sv) || sv->valuedouble != 2) {
		xn_error(err, EINVAL, "manifest: schemaVersion: not 2");
		goto out;
	}
	if (media_type(root, content_type, &out->media_type, err) < 0)
		goto out;
	if (strcmp(out->media_type, XN_MEDIA_OCI_INDEX) == 0 ||
	    strcmp(out->media_type, XN_MEDIA_DOCKER_LIST) == 0) {
		index = true;
	} else if (strcmp(out->media_type, XN_MEDIA_OCI_MANIFEST) == 0 ||
		   strcmp(out->media_type, XN_MEDIA_DOCKER_MANIFEST) == 0) {
		index = false;
	} else {
		xn_error(err, ENOTSUP, "manifest: media type \"%.100s\" is not a manifest or index",
			 out->media_type[0] ? out->media_type : "(none)");
		goto out;
	}
	out->kind = index ? XN_MANIFEST_INDEX : XN_MANIFEST_IMAGE;
	field = index ? "manifests" : "layers";
	if (!index && desc_parse(cJSON_GetObjectItemCaseSensitive(root, "config"), "config", false,
				 &out->config, err) < 0)
		goto out;
	arr = cJSON_GetObjectItemCaseSensitive(root, field);
	if (!cJSON_IsArray(arr)) {
		xn_error(err, EINVAL, "manifest: %s: missing or not a list", field);
		goto out;
	}
	if (cJSON_GetArraySize(arr) > XN_MANIFEST_ENTRIES_MAX) {
		xn_error(err, EFBIG, "manifest: %s: %d entries, more than %d", field,
			 cJSON_GetArraySize(arr), XN_MANIFEST_ENTRIES_MAX);
		goto out;
	}
	out->items = xn_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*out->items));
	for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
		snprintf(where, sizeof(where), "%s[%d]", field, i);
		out->n++;
		if (desc_parse(it, where, index, &out->items[i], err) < 0)
			goto out;
	}
	ann = cJSON_GetObjectItemCaseSensitive(root, "annotations");
	if (ann != NULL && !cJSON_IsObject(ann)) {
		xn_error(err, EINVAL, "manifest: annotations: not an object");
		goto out;
	}
	out->annotations = ann ? cJSON_Duplicate(ann, 1) : cJSON_CreateObject();
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc < 0)
		xn_manifest_dispose(out);
	return rc;
}

const char *xn_manifest_host_arch(void)
{
#if defined(__aarch64__)
	return "arm64";
#else
	return "amd64";
#endif
}

static bool variant_ok(const char *arch, const char *variant)
{
	if (variant[0] == '\0')
		return true;
	if (strcmp(arch, "arm64") == 0)
		return strcmp(variant, "v8") == 0;
	if (strcmp(arch, "amd64") == 0)
		return strcmp(variant, "v1") == 0;
	return false;
}

const struct xn_descriptor *xn_manifest_select(const struct xn_manifest *index, const char *os,
					       const char *arch, xn_err *err)
{
	char have[512] = "";
	size_t used = 0;

	for (size_t i = 0; i < index->n; i++) {
		const struct xn_descriptor *d = &index->items[i];

		if (strcmp(d->os, os) == 0 && strcmp(d->arch, arch) == 0 &&
		    variant_ok(arch, d->variant) &&
		    (strcmp(d->media_type, XN_MEDIA_OCI_MANIFEST) == 0 ||
		     strcmp(d->media_type, XN_MEDIA_DOCKER_MANIFEST) == 0))
			return d;
	}
	for (size_t i = 0; i < index->n && used < sizeof(have) - 1; i++) {
		const struct xn_descriptor *d = &index->items[i];
		int w = snprintf(have + used, sizeof(have) - used, "%s%.20s/%.20s%s%.10s",
				 i ? ", " : "", d->os[0] ? d->os : "?", d->arch[0] ? d->arch : "?",
				 d->variant[0] ? "/" : "", d->variant);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	xn_error(err, ENOENT, "no manifest for %s/%s in the index (it has: %s)", os, arch,
		 index->n ? have : "nothing");
	return NULL;
}

/* ---- our format ---- */

void xn_unikernel_dispose(struct xn_unikernel *u)
{
	free(u->cmdline);
	free(u->guest_type);
	free(u->net_config);
	memset(u, 0, sizeof(*u));
}

/* A setting from the config object, else from the annotations. */
static int setting(const cJSON *cfg, const cJSON *ann, const char *key, char **out, xn_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	char akey[64];

	if (v == NULL) {
		snprintf(akey, sizeof(akey), XN_ANN_PREFIX "%s", key);
		v = cJSON_GetObjectItemCaseSensitive(ann, akey);
	}
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v))
		return xn_error(err, EINVAL, "image config: %s: not a string", key);
	if (strlen(v->valuestring) > 4096)
		return xn_error(err, EINVAL, "image config: %s: longer than 4096 bytes", key);
	*out = xn_xstrdup(v->valuestring);
	return 0;
}

int xn_unikernel_parse(const struct xn_manifest *m, const char *config, size_t config_len,
		       struct xn_unikernel *out, xn_err *err)
{
	cJSON *cfg = NULL;
	cleanup_free char *mem = NULL;
	enum xn_net_conv conv;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (m->kind != XN_MANIFEST_IMAGE)
		return xn_error(err, EINVAL, "image: an index, not an image manifest");
	if (strcmp(m->config.media_type, XN_MEDIA_UK_CONFIG) == 0) {
		if (config == NULL || (cfg = cJSON_ParseWithLength(config, config_len)) == NULL ||
		    !cJSON_IsObject(cfg)) {
			xn_error(err, EINVAL, "image config: not a JSON object");
			goto out;
		}
	} else if (strcmp(m->config.media_type, XN_MEDIA_OCI_EMPTY) != 0) {
		xn_error(err, ENOTSUP,
			 "image: config media type \"%.100s\": not a xenlet unikernel (want %s or "
			 "%s; see docs/images.md)",
			 m->config.media_type, XN_MEDIA_UK_CONFIG, XN_MEDIA_OCI_EMPTY);
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct xn_descriptor *d = &m->items[i];
		const struct xn_descriptor **slot = NULL;

		if (strcmp(d->media_type, XN_MEDIA_UK_KERNEL) == 0)
			slot = &out->kernel;
		else if (strcmp(d->media_type, XN_MEDIA_UK_INITRD) == 0)
			slot = &out->ramdisk;
		if (slot == NULL)
			continue; /* other layers (a README, a signature) are not ours */
		if (*slot != NULL) {
			xn_error(err, EINVAL, "image: more than one %s layer", d->media_type);
			goto out;
		}
		*slot = d;
	}
	if (out->kernel == NULL) {
		xn_error(err, EINVAL, "image: no layer of media type %s (see docs/images.md)",
			 XN_MEDIA_UK_KERNEL);
		goto out;
	}
	if (setting(cfg, m->annotations, "cmdline", &out->cmdline, err) < 0 ||
	    setting(cfg, m->annotations, "guestType", &out->guest_type, err) < 0 ||
	    setting(cfg, m->annotations, "netConfig", &out->net_config, err) < 0 ||
	    setting(cfg, m->annotations, "minMemory", &mem, err) < 0)
		goto out;
	if (out->guest_type && strcmp(out->guest_type, "pvh") != 0 &&
	    strcmp(out->guest_type, "pv") != 0) {
		xn_error(err, EINVAL, "image config: guestType \"%.40s\": must be pvh or pv",
			 out->guest_type);
		goto out;
	}
	if (out->net_config && xn_net_conv_parse(out->net_config, &conv) < 0) {
		xn_error(err, EINVAL,
			 "image config: netConfig \"%.40s\": must be none, mirage, unikraft or "
			 "linux",
			 out->net_config);
		goto out;
	}
	if (mem && xn_quantity_parse(mem, 0, &out->min_memory, err) < 0) {
		xn_error_wrap(err, "image config: minMemory");
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(cfg);
	if (rc < 0)
		xn_unikernel_dispose(out);
	return rc;
}
