/* crilog.h - the CRI log module: where a pod's console output is kept, how
 * it is written, read back and pruned, in the kubelet's format.  The runtime
 * writes, the kubelet API (kubectl logs, attach) and `xl-pod logs` read, and
 * they all go through here, so the format exists once (docs/logs.md).
 *
 * Format: one line per chunk, "2016-10-06T00:17:09.669794202Z stdout F text",
 * tag P for a partial line (a line longer than XN_CRILOG_LINE_MAX, or the tail
 * flushed when the console closes without a newline); the P chunks of a line
 * and its F chunk join into one line when read.
 *
 * Layout (crilog.c):
 *   <log_dir>/<ns>_<name>_<uid>/                 one pod
 *             <container>/<restart>.log          instance <restart>, being written
 *             <container>/<restart>.log.<stamp>  rotated, stamp YYYYMMDD-HHMMSS[-NNN]
 *
 * Rotation by size, as the kubelet's containerLogMaxSize/MaxFiles: when a
 * write would take the file past max_bytes, it is renamed with a stamp and a
 * fresh file is started; of the rotated files only the newest max_files - 1
 * are kept, so an instance costs at most max_bytes x max_files of disk.
 *
 * Retention (crilog_retain.c), as the kubelet's container GC: the current
 * instance and the one before it are kept, older instances' files go
 * (xn_crilog_prune, when an instance starts); the pod's whole directory goes
 * when the pod is removed (xn_crilog_remove_pod).  Both walk the tree with
 * openat/unlinkat and O_NOFOLLOW: a symlink inside log_dir is removed as a
 * link, never followed.
 */
#ifndef XENLET_CRILOG_H
#define XENLET_CRILOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xenlet/err.h"

struct evbuffer;

#define XN_CRILOG_LINE_MAX   16384 /* as the kubelet: longer lines become P chunks */
#define XN_CRILOG_READ_CHUNK 65536 /* bytes a reader takes per step */

/* ---- layout (malloc'd paths) ---- */

char *xn_crilog_pod_dir(const char *log_dir, const char *ns, const char *name, const char *uid);
char *xn_crilog_container_dir(const char *log_dir, const char *ns, const char *name,
			      const char *uid, const char *container);
/* The file instance `restart` writes: <container dir>/<restart>.log. */
char *xn_crilog_instance_path(const char *log_dir, const char *ns, const char *name,
			      const char *uid, const char *container, unsigned restart);
/* Which instance a file name in a container's directory belongs to:
 * "<n>.log" (*rotated false) or "<n>.log.<stamp>" (*rotated true).  false
 * for any other name (not ours: left alone). */
bool xn_crilog_file_instance(const char *fname, unsigned *restart, bool *rotated);

/* ---- writer ---- */

struct xn_crilog;

/* Open (append) the instance's file, creating directories. */
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

/* ---- retention (crilog_retain.c) ---- */

/* Delete the files of every instance of the container but current and
 * current - 1 (rotated ones included); names that are not ours stay.  A
 * missing directory is not an error. */
int xn_crilog_prune(const char *log_dir, const char *ns, const char *name, const char *uid,
		    const char *container, unsigned current, xn_err *err);
/* rm -r of the pod's directory, never following a symlink out of log_dir.
 * A missing directory is not an error. */
int xn_crilog_remove_pod(const char *log_dir, const char *ns, const char *name, const char *uid,
			 xn_err *err);
/* Remove the directory of every pod known() does not know by uid, as the
 * kubelet's pod log GC does: what a lost record or an older xenletd left
 * behind.  For after recovery, once the runtime knows all its pods.
 * Entries not shaped <ns>_<name>_<uid> stay.  The number removed, or -1
 * (the first error; the others are still tried). */
int xn_crilog_sweep(const char *log_dir, bool (*known)(const char *uid, void *arg), void *arg,
		    xn_err *err);

/* Disk space as the Summary API's FsStats has it. */
struct xn_crilog_space {
	uint64_t capacity_bytes, available_bytes, used_bytes;
	uint64_t inodes, inodes_free, inodes_used;
};
/* The filesystem holding path (statvfs): capacity, available (to non-root),
 * used (capacity - free), inodes. */
int xn_crilog_fs_space(const char *path, struct xn_crilog_space *s, xn_err *err);
/* A container's logs: the filesystem's capacity and free figures, used_bytes
 * the bytes of its log files (apparent size), inodes_used its directory and
 * every entry in it.  A missing directory counts 0. */
int xn_crilog_container_space(const char *log_dir, const char *ns, const char *name,
			      const char *uid, const char *container, struct xn_crilog_space *s,
			      xn_err *err);

/* ---- reader (crilog_read.c) ---- */

/* What a reader wants, as the kubelet's PodLogOptions (the kubelet API
 * parses them from a query, xl-pod from its flags). */
struct xn_log_opts {
	bool follow;
	bool timestamps;
	bool previous;
	int64_t tail_lines;  /* -1: all */
	int64_t limit_bytes; /* -1: no limit */
	uint64_t since_ns;   /* 0: no bound */
};

/* One line of a CRI log file (without its newline). */
struct xn_cri_line {
	uint64_t ts_ns;
	bool stderr_stream;
	bool partial; /* tag P */
	const char *msg;
	size_t len;
};
/* 0, or -1 when the line is not "TIMESTAMP STREAM TAG[:...] MSG". */
int xn_cri_parse(const char *line, size_t len, struct xn_cri_line *out);

/* Turns CRI lines into what the kubelet sends: the message, a newline after
 * F chunks (P chunks of one line are joined), the timestamp in front of each
 * line when asked, lines before since skipped, output cut at limitBytes.
 * Malformed lines are skipped, as the kubelet does. */
struct xn_log_writer {
	const struct xn_log_opts *o;
	bool mid_line; /* the last chunk written was a P chunk */
	int64_t left;  /* bytes before the limit; -1: unlimited */
};
void xn_log_writer_init(struct xn_log_writer *w, const struct xn_log_opts *o);
/* Feed bytes of the file from a line boundary; complete lines are written
 * to out, an incomplete tail stays in carry (the caller keeps it for the
 * next call; at most XN_CRILOG_LINE_MAX+64 bytes are kept, longer garbage is
 * dropped).  Returns true when the limit is reached (stop reading). */
bool xn_log_writer_feed(struct xn_log_writer *w, struct evbuffer *carry, const char *buf,
			size_t len, struct evbuffer *out);
/* Offset where the last n lines of the file start (0 if it has fewer);
 * lines of the file, so each P chunk counts, as with the kubelet. */
int xn_log_tail_offset(int fd, uint64_t n, off_t *off, xn_err *err);
/* The same for the first `size` bytes of the file (a snapshot of its size). */
int xn_log_tail_offset_at(int fd, off_t size, uint64_t n, off_t *off, xn_err *err);

/* Following a log: the file at path was rotated (renamed, a new file
 * started) or truncated, and *fd is read to its end (*off): switch *fd to
 * the file now at path (offset 0).  false while the old file still has
 * bytes past *off, or nothing changed. */
bool xn_crilog_reopen_rotated(int *fd, const char *path, off_t *off);

/* Which instance's file to read, as the kubelet chooses between the
 * running, the terminated and the last terminated container
 * (validateContainerLogStatus).  Instance n logs to <n>.log. */
struct xn_crilog_pick {
	unsigned restart_count; /* the newest instance */
	bool running;		/* it runs */
	bool waiting;		/* being made, or waiting for a restart */
	bool has_last;		/* an instance has ended */
	bool newest_exists;	/* <restart_count>.log exists */
};
/* 0 and *out; -1: nothing has started yet; -2: no previous instance. */
int xn_crilog_pick_instance(const struct xn_crilog_pick *p, bool previous, unsigned *out);

/* A log file read by the options: tail, since, timestamps, limit, and with
 * follow, on across rotations.  Without follow the answer is the file as it
 * was at open (lines written meanwhile would make tail 1 answer two). */
struct xn_crilog_reader;
enum xn_crilog_step {
	XN_CRILOG_DONE = 0, /* the end (or the limit): stop */
	XN_CRILOG_MORE,	    /* call again (out may have grown) */
	XN_CRILOG_IDLE,	    /* following, at the end of the file: call again later */
};
struct xn_crilog_reader *xn_crilog_reader_open(const char *path, const struct xn_log_opts *o,
					       xn_err *err);
/* Read at most XN_CRILOG_READ_CHUNK bytes and append what the reader wants
 * to out: an enum xn_crilog_step, or -1 (read error). */
int xn_crilog_reader_step(struct xn_crilog_reader *r, struct evbuffer *out, xn_err *err);
/* The last output ended inside a line (a P chunk with no F yet). */
bool xn_crilog_reader_mid_line(const struct xn_crilog_reader *r);
void xn_crilog_reader_close(struct xn_crilog_reader *r);

#endif
