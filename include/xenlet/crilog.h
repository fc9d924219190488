/* crilog.h - console output as CRI log files, the format the kubelet uses.
 *
 * One line per chunk: "2016-10-06T00:17:09.669794202Z stdout F text", with
 * tag P for a partial line (a line longer than the buffer, or the tail
 * flushed when the console closes without a newline).  Files live under
 * <dir>/<ns>_<name>_<uid>/<container>/<restart>.log.
 *
 * Rotation by size, as the kubelet's containerLogMaxSize/MaxFiles: when a
 * write would take the file past max_bytes, it is renamed to
 * <restart>.log.<YYYYMMDD-HHMMSS> and a fresh file is started; of the
 * rotated files only the newest max_files - 1 are kept.  So a guest that
 * floods its console costs at most max_bytes x max_files of disk.
 */
#ifndef XENLET_CRILOG_H
#define XENLET_CRILOG_H

#include <stddef.h>
#include <stdint.h>

#include "xenlet/err.h"

#define XN_CRILOG_LINE_MAX 16384 /* as the kubelet: longer lines become P chunks */

struct xn_crilog;

/* Directory of a pod's logs (malloc'd). */
char *xn_crilog_pod_dir(const char *log_dir, const char *ns, const char *name, const char *uid);
/* Open (append) <pod dir>/<container>/<restart>.log, creating directories. */
struct xn_crilog *xn_crilog_open(const char *log_dir, const char *ns, const char *name,
				 const char *uid, const char *container, unsigned restart,
				 xn_err *err);
/* Rotate at max_bytes (0: never), keeping max_files files in all (>= 1). */
void xn_crilog_set_rotation(struct xn_crilog *l, uint64_t max_bytes, unsigned max_files);
/* Feed raw console bytes; complete lines are written at once.  Carriage
 * returns before a newline are dropped (Xen consoles send CRLF). */
void xn_crilog_write(struct xn_crilog *l, const char *buf, size_t len);
/* Write a pending partial line as a P chunk. */
void xn_crilog_flush(struct xn_crilog *l);
void xn_crilog_close(struct xn_crilog *l);
const char *xn_crilog_path(const struct xn_crilog *l);

#endif
