/* fuzz_image_manifest.c - registry manifests and indexes
 * (daemon/image_manifest.c), as a registry answers them.  Byte 1 picks the
 * Content-Type the answer came with; the rest is the body.  An image
 * manifest is also read as our unikernel format (the body doubling as its
 * config), an index is asked for linux/amd64 and linux/arm64.  Checked
 * besides the sanitizers: every descriptor has a valid digest; the entry
 * chosen is one of the index's with the platform asked for; a unikernel has
 * a kernel layer of the kernel media type. */
#include <string.h>

#include "fuzz.h"
#include "xenlet/image_manifest.h"
#include "xenlet/image_ref.h"

static const char *const types[] = {
    NULL,
    XN_MEDIA_OCI_MANIFEST,
    XN_MEDIA_OCI_INDEX,
    XN_MEDIA_DOCKER_MANIFEST,
    XN_MEDIA_DOCKER_LIST,
    "application/json",
    XN_MEDIA_DOCKER_MANIFEST "; charset=utf-8",
    "text/html",
};

static void check_select(const struct xn_manifest *m, const char *arch)
{
	xn_err err = NULL;
	const struct xn_descriptor *d = xn_manifest_select(m, "linux", arch, &err);

	if (d == NULL) {
		if (err == NULL)
			abort();
		xn_error_free(&err);
		return;
	}
	if (d < m->items || d >= m->items + m->n || strcmp(d->os, "linux") != 0 ||
	    strcmp(d->arch, arch) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ct = types[xn_fuzz_take_byte(&data, &size) % 8];
	struct xn_manifest m;
	struct xn_unikernel u;
	xn_err err = NULL;

	if (xn_manifest_parse((const char *)data, size, ct, &m, &err) < 0) {
		if (err == NULL || xn_error_msg(err)[0] == '\0')
			abort();
		xn_error_free(&err);
		return 0;
	}
	for (size_t i = 0; i < m.n; i++)
		if (!xn_digest_valid(m.items[i].digest))
			abort();
	if (m.kind == XN_MANIFEST_INDEX) {
		check_select(&m, "amd64");
		check_select(&m, "arm64");
	} else {
		if (!xn_digest_valid(m.config.digest))
			abort();
		if (xn_unikernel_parse(&m, (const char *)data, size, &u, &err) == 0) {
			if (u.kernel == NULL ||
			    strcmp(u.kernel->media_type, XN_MEDIA_UK_KERNEL) != 0)
				abort();
			xn_unikernel_dispose(&u);
		} else {
			xn_error_free(&err);
		}
	}
	xn_manifest_dispose(&m);
	return 0;
}
