/* pod_sync_priv.h - what pod_sync.c shares with pod_sync_kube.c. */
#ifndef XENLET_POD_SYNC_PRIV_H
#define XENLET_POD_SYNC_PRIV_H

#include "xenlet/pod_sync.h"

/* Set the API context after creation; ctx_free (may be NULL) runs last in
 * xn_pod_sync_free, after every request was cancelled. */
void pod_sync_set_ctx(struct xn_pod_sync *ps, void *ctx, void (*ctx_free)(void *ctx));

#endif
