/* ctl.h - the control protocol between xl-pod and xenletd.
 *
 * A root-only UNIX stream socket (mode 0600; SO_PEERCRED checked on every
 * connection: uid 0 or the daemon's own uid).  Each request is one JSON
 * object on one line; the daemon answers with one JSON object on one line:
 * {"ok":true,...} or {"ok":false,"error":"message naming the problem"}.
 * A connection may carry several requests.  Requests:
 *
 *   {"op":"version"}                        -> {"version":"0.1.0","backend":"sim"}
 *   {"op":"list"}                           -> {"pods":[{namespace,name,uid,domid,state,
 *                                               phase,reason,message,restarts,ready,
 *                                               exitCode,local,image}]}
 *       state: waiting | running | paused | stopping | terminated;
 *       phase: the runtime's own (xn_pod_phase_name)
 *   {"op":"create","name":N,"namespace":NS?,"kernel":PATH,"ramdisk":P?,
 *    "cmdline":C?,"type":"pv"|"pvh","memory":"64Mi","vcpus":1,
 *    "restartPolicy":"Never","readiness":false,"bootTimeout":SECONDS?,
 *    "dryRun":false}
 *                                           -> {"uid":U} (dryRun: {"domain":{...}})
 *       translated as the Pod an API server would send (pod_translate.h):
 *       memory = limits.memory, vcpus = limits.cpu, cmdline = args, type,
 *       ramdisk, readiness, bootTimeout = the xenlet.io/ annotations; so
 *       the same limits apply, with the same messages
 *   {"op":"destroy","name":N,"namespace":NS?,"grace":SECONDS?}
 *                                           -> {} once the pod is gone
 *   {"op":"node"}                           -> {"host":{...},"pods":N,"memoryKiB":M}
 *   {"op":"pause"|"unpause","name":N,"namespace":NS?} -> {}
 *   {"op":"logs","name":N,"namespace":NS?,"previous":false}
 *                                           -> {"path":"/var/log/pods/.../0.log"}
 *   {"op":"console","name":N,"namespace":NS?} -> {"tty":"/dev/pts/3"}
 *   {"op":"imagePull","ref":R}              -> {"ref","digest","imageID","size","fetched"}
 *       answered when the pull ends (the daemon's puller, on its loop)
 *   {"op":"imageList"}                      -> {"images":[{ref,digest,size,kernel}]}
 *       (an incomplete image has "error" instead of size and kernel)
 *   {"op":"imageRemove","ref":R|DIGEST}     -> {"removed":[refs]}
 *       refused while a pod runs the image or names it, naming the pod
 *   {"op":"imageImport","path":DIR,"ref":R} -> {"digest":D}
 *       an OCI image layout directory into the cache (image_layout.h)
 *
 * The namespace defaults to "default".  Lines are limited to 64 KiB.
 */
#ifndef XENLET_CTL_H
#define XENLET_CTL_H

#include "xenlet/err.h"

#define XN_CTL_LINE_MAX 65536

struct event_base;
struct xn_runtime;
struct xn_hv;
struct xn_ctl;

struct xn_ctl *xn_ctl_listen(struct event_base *base, const char *path, struct xn_runtime *rt,
			     struct xn_hv *hv, xn_err *err);
void xn_ctl_close(struct xn_ctl *ctl);
/* The image commands use this puller and its cache (NULL: refused). */
struct xn_image_puller;
void xn_ctl_set_puller(struct xn_ctl *ctl, struct xn_image_puller *puller);
/* The runtime forgot a pod: answer destroy requests waiting for it. */
void xn_ctl_pod_removed(struct xn_ctl *ctl, const char *uid);

/* Client side (xl-pod): one request, one answer. *answer is malloc'd JSON. */
int xn_ctl_call(const char *path, const char *request, char **answer, xn_err *err);

#endif
