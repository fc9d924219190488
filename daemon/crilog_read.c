/* crilog_read.c - CRI log files read back the way the kubelet serves them
 * (pkg/kubelet/kuberuntime/logs): the message of each chunk, P chunks
 * joined into one line, optional timestamps, tail, since, limit, and
 * follow across rotations.  The kubelet API (kubectl logs, attach) and
 * `xl-pod logs` both read through here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "xenlet/crilog.h"
#include "xenlet/util.h"

/* ---- lines ---- */

int xn_cri_parse(const char *line, size_t len, struct xn_cri_line *out)
{
	const char *sp1, *sp2, *end = line + len, *tag;

	sp1 = memchr(line, ' ', len);
	if (sp1 == NULL || xn_rfc3339_parse(line, (size_t)(sp1 - line), &out->ts_ns) < 0)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL)
		return -1;
	if ((size_t)(sp2 - sp1 - 1) == 6 && memcmp(sp1 + 1, "stdout", 6) == 0)
		out->stderr_stream = false;
	else if ((size_t)(sp2 - sp1 - 1) == 6 && memcmp(sp1 + 1, "stderr", 6) == 0)
		out->stderr_stream = true;
	else
		return -1;
	tag = sp2 + 1;
	if (tag >= end || (*tag != 'F' && *tag != 'P'))
		return -1;
	out->partial = *tag == 'P';
	/* tags may carry more, separated by ':' ("F:x"); the message follows a blank */
	while (tag < end && *tag != ' ')
		tag++;
	out->msg = tag < end ? tag + 1 : end;
	out->len = (size_t)(end - out->msg);
	return 0;
}

/* ---- the writer: CRI lines to what a reader sees ---- */

void xn_log_writer_init(struct xn_log_writer *w, const struct xn_log_opts *o)
{
	w->o = o;
	w->mid_line = false;
	w->left = o->limit_bytes;
}

/* Append at most the bytes left before the limit. */
static bool put(struct xn_log_writer *w, struct evbuffer *out, const char *p, size_t n)
{
	if (w->left >= 0 && (int64_t)n > w->left)
		n = (size_t)w->left;
	evbuffer_add(out, p, n);
	if (w->left >= 0)
		w->left -= (int64_t)n;
	return w->left == 0;
}

static bool write_line(struct xn_log_writer *w, const struct xn_cri_line *l, struct evbuffer *out)
{
	char ts[XN_RFC3339_LEN + 1];

	if (w->o->since_ns && l->ts_ns < w->o->since_ns)
		return false;
	/* one timestamp per line, on its first chunk */
	if (w->o->timestamps && !w->mid_line) {
		xn_rfc3339_fmt(l->ts_ns, XN_RFC3339_NANO, ts);
		strcat(ts, " ");
		if (put(w, out, ts, strlen(ts)))
			return true;
	}
	w->mid_line = l->partial;
	if (l->len && put(w, out, l->msg, l->len))
		return true;
	return !l->partial && put(w, out, "\n", 1);
}

bool xn_log_writer_feed(struct xn_log_writer *w, struct evbuffer *carry, const char *buf,
			size_t len, struct evbuffer *out)
{
	struct evbuffer_ptr nl;

	if (w->left == 0)
		return true;
	evbuffer_add(carry, buf, len);
	for (;;) {
		struct xn_cri_line l;
		size_t n;
		char *line;

		nl = evbuffer_search(carry, "\n", 1, NULL);
		if (nl.pos < 0)
			break;
		n = (size_t)nl.pos;
		line = (char *)evbuffer_pullup(carry, (ssize_t)n + 1);
		/* a malformed line is skipped: the file is ours, but may be cut short */
		if (xn_cri_parse(line, n, &l) == 0 && write_line(w, &l, out)) {
			evbuffer_drain(carry, n + 1);
			return true;
		}
		evbuffer_drain(carry, n + 1);
	}
	if (evbuffer_get_length(carry) > XN_CRILOG_LINE_MAX + 64)
		evbuffer_drain(carry, evbuffer_get_length(carry));
	return false;
}

/* ---- where to start ---- */

int xn_log_tail_offset(int fd, uint64_t n, off_t *off, xn_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return xn_error_errno(err, errno, "stat");
	return xn_log_tail_offset_at(fd, st.st_size, n, off, err);
}

int xn_log_tail_offset_at(int fd, off_t size, uint64_t n, off_t *off, xn_err *err)
{
	char buf[8192];
	off_t pos;
	uint64_t seen = 0;
	bool first = true;

	pos = size;
	*off = 0;
	if (n == 0) {
		*off = pos;
		return 0;
	}
	while (pos > 0) {
		size_t want = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t got = pread(fd, buf, want, pos - (off_t)want);

		if (got != (ssize_t)want)
			return xn_error_errno(err, got < 0 ? errno : EIO, "read");
		pos -= (off_t)want;
		for (ssize_t i = got - 1; i >= 0; i--) {
			if (buf[i] != '\n')
				continue;
			if (first && pos + i == size - 1) {
				first = false; /* the newline that ends the last line */
				continue;
			}
			first = false;
			if (++seen == n) {
				*off = pos + i + 1;
				return 0;
			}
		}
		first = false;
	}
	return 0;
}

int xn_crilog_pick_instance(const struct xn_crilog_pick *p, bool previous, unsigned *out)
{
	unsigned latest = p->restart_count;

	if (!p->running && !p->newest_exists) {
		if (latest == 0)
			return -1;
		latest--; /* the next instance is being made: the last one ended */
	}
	if (!previous) {
		*out = latest;
		return 0;
	}
	/* waiting for a restart: lastState is the instance that just ended */
	if (p->waiting && p->has_last) {
		*out = latest;
		return 0;
	}
	if (latest == 0 || p->waiting)
		return -2;
	*out = latest - 1;
	return 0;
}

/* ---- following ---- */

bool xn_crilog_reopen_rotated(int *fd, const char *path, off_t *off)
{
	struct stat now, cur;
	int nfd;

	if (path == NULL || fstat(*fd, &cur) < 0)
		return false;
	if (cur.st_size > *off)
		return false; /* the old file first: a writer in another process may
			       * have added to it before it renamed it */
	if (stat(path, &now) < 0)
		return false;
	if (now.st_ino == cur.st_ino && now.st_dev == cur.st_dev) {
		if (cur.st_size >= *off)
			return false;
		*off = 0; /* truncated in place: from its start */
		return true;
	}
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return false;
	close(*fd);
	*fd = nfd;
	*off = 0;
	return true;
}

/* ---- the reader ---- */

struct xn_crilog_reader {
	int fd;
	char *path;
	off_t off;
	off_t end; /* without follow: the file's size at open; -1 with */
	struct xn_log_opts o;
	struct xn_log_writer w;
	struct evbuffer *carry;
	char buf[XN_CRILOG_READ_CHUNK];
};

struct xn_crilog_reader *xn_crilog_reader_open(const char *path, const struct xn_log_opts *o,
					       xn_err *err)
{
	struct xn_crilog_reader *r;
	struct stat st;
	off_t start = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		xn_error_errno(err, errno, "log %s", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		xn_error_errno(err, errno, "log %s", path);
		close(fd);
		return NULL;
	}
	if (o->tail_lines >= 0 &&
	    xn_log_tail_offset_at(fd, st.st_size, (uint64_t)o->tail_lines, &start, err) < 0) {
		xn_error_wrap(err, "log %s", path);
		close(fd);
		return NULL;
	}
	r = xn_xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->path = xn_xstrdup(path);
	r->off = start;
	r->end = o->follow ? -1 : st.st_size;
	r->o = *o;
	xn_log_writer_init(&r->w, &r->o);
	r->carry = evbuffer_new();
	return r;
}

int xn_crilog_reader_step(struct xn_crilog_reader *r, struct evbuffer *out, xn_err *err)
{
	size_t want = sizeof(r->buf);
	ssize_t n;

	if (r->end >= 0 && (off_t)want > r->end - r->off)
		want = r->end > r->off ? (size_t)(r->end - r->off) : 0;
	n = want ? pread(r->fd, r->buf, want, r->off) : 0;
	if (n < 0)
		return xn_error_errno(err, errno, "log %s: read", r->path);
	if (n == 0) {
		if (!r->o.follow)
			return XN_CRILOG_DONE;
		return xn_crilog_reopen_rotated(&r->fd, r->path, &r->off) ? XN_CRILOG_MORE
									  : XN_CRILOG_IDLE;
	}
	r->off += n;
	if (xn_log_writer_feed(&r->w, r->carry, r->buf, (size_t)n, out))
		return XN_CRILOG_DONE;
	return XN_CRILOG_MORE;
}

bool xn_crilog_reader_mid_line(const struct xn_crilog_reader *r)
{
	return r->w.mid_line;
}

void xn_crilog_reader_close(struct xn_crilog_reader *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	evbuffer_free(r->carry);
	free(r->path);
	free(r);
}
