/* hv_sim.c - PLACEHOLDER: replaced by the real backend. */
#include <errno.h>
#include "xenlet/hv.h"

static int sim_open(struct xn_hv *hv, xn_err *err)
{
	return xn_error(err, ENOSYS, "not implemented yet");
}

static void sim_close(struct xn_hv *hv) {}

const struct xn_hv_ops xn_hv_sim_ops = {
    .name = "sim",
    .open = sim_open,
    .close = sim_close,
};
