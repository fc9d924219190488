/* fuzz_image_elf.c - kernel images (daemon/image_elf.c): the bytes of a
 * kernel file, read through a descriptor as the image guard hands it.
 * Besides the sanitizers, checks the reader's promises: an error names the
 * problem (ENOEXEC or a read errno, a message); a result's types are only
 * PV and PVH, its counts within the limits; the decision never lets a type
 * the kernel lacks through, and refuses an ELF it cannot boot. */
#include <errno.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "xenlet/image_elf.h"

static void check_choice(const struct xn_kernel_info *ki, const char *host, bool given,
			 enum xn_guest_type req, bool non_kernels_ok)
{
	enum xn_guest_type t = (enum xn_guest_type) - 1;
	xn_err err = NULL;

	if (xn_kernel_choose_type(ki, host, given, req, non_kernels_ok, &t, &err) < 0) {
		if (err == NULL || xn_error_msg(err)[0] == '\0')
			abort();
		xn_error_free(&err);
		return;
	}
	if (t != XN_GUEST_PV && t != XN_GUEST_PVH)
		abort();
	if (given && t != req)
		abort();
	if (ki->types_known && !(ki->types & (1u << t)))
		abort(); /* a type the kernel's notes do not allow */
	if (ki->format == XN_KFMT_UNKNOWN && !non_kernels_ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct xn_kernel_info ki;
	xn_err err = NULL;

	if (fd < 0 && (fd = memfd_create("kernel", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (xn_kernel_inspect(fd, &ki, &err) < 0) {
		if (err == NULL || xn_error_msg(err)[0] == '\0' ||
		    (err->status != ENOEXEC && err->status != EIO))
			abort();
		xn_error_free(&err);
		return 0;
	}
	if (ki.types & ~(XN_KTYPE_PV | XN_KTYPE_PVH))
		abort();
	if (ki.nnotes > XN_ELF_MAX_NOTES || strlen(ki.guest_os) >= sizeof(ki.guest_os) ||
	    strchr(ki.features, '"') != NULL)
		abort();
	for (int g = 0; g < 2; g++)
		for (int r = 0; r < 2; r++)
			for (int n = 0; n < 2; n++) {
				check_choice(&ki, "x86_64", g, (enum xn_guest_type)r, n);
				check_choice(&ki, "arm64", g, (enum xn_guest_type)r, n);
			}
	return 0;
}
