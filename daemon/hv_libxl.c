/* hv_libxl.c - PLACEHOLDER: replaced by the real backend. */
#include <errno.h>
#include "xenlet/hv.h"

static int libxl_open(struct xn_hv *hv, xn_err *err)
{
	return xn_error(err, ENOSYS, "not implemented yet");
}

static void libxl_close(struct xn_hv *hv) {}

const struct xn_hv_ops xn_hv_libxl_ops = {
    .name = "libxl",
    .open = libxl_open,
    .close = libxl_close,
};
