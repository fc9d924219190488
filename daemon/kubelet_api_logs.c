/* kubelet_api_logs.c - GET /containerLogs: CRI log files served the way
 * the kubelet serves them (pkg/kubelet/kuberuntime/logs): the message of
 * each chunk, P chunks joined into one line, optional timestamps, tail,
 * since, limit, previous instance, and follow until the instance ends.
 *
 * The file is read XN_KAPI_CHUNK bytes at a time and the next read waits
 * until the connection has sent the last chunk, so a slow reader holds at
 * most one chunk of memory.  A followed log is looked at every
 * XN_KAPI_FOLLOW_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "kubelet_api_priv.h"
#include "xenlet/crilog.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/runtime.h"
#include "xenlet/util.h"

/* ---- pure pieces ---- */

static bool go_bool(const char *v)
{
	return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0);
}

static int go_int(const char *name, const char *v, int64_t *out, xn_err *err)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0)
		return xn_error(err, EINVAL, "%s: '%s' is not an integer", name, v);
	*out = n;
	return 0;
}

int xn_log_opts_parse(const char *query, uint64_t now_ns, struct xn_log_opts *o, xn_err *err)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	const char *since_time = NULL, *tail = NULL;
	bool have_since_s = false, have_tail_lines = false;
	int64_t since_s = 0;
	int rc = -1;

	*o = (struct xn_log_opts){.tail_lines = -1, .limit_bytes = -1};
	TAILQ_INIT(&q);
	/* Go takes "?follow" as follow=""; evhttp wants the '=' */
	if (query && *query) {
		struct evbuffer *b = evbuffer_new();
		cleanup_free char *copy = xn_xstrdup(query);
		char *save = NULL;

		for (char *t = strtok_r(copy, "&", &save); t; t = strtok_r(NULL, "&", &save))
			evbuffer_add_printf(b, "%s%s%s", evbuffer_get_length(b) ? "&" : "", t,
					    strchr(t, '=') ? "" : "=");
		evbuffer_add(b, "", 1);
		rc = evhttp_parse_query_str((const char *)evbuffer_pullup(b, -1), &q);
		evbuffer_free(b);
		if (rc < 0) {
			rc = -1;
			xn_error(err, EINVAL, "query: cannot be decoded");
			goto out;
		}
		rc = -1;
	}
	TAILQ_FOREACH(kv, &q, next)
	{
		const char *k = kv->key, *v = kv->value;

		/* Go's decoder takes the first value of a repeated parameter */
		if (strcmp(k, "follow") == 0)
			o->follow = go_bool(v);
		else if (strcmp(k, "timestamps") == 0)
			o->timestamps = go_bool(v);
		else if (strcmp(k, "previous") == 0)
			o->previous = go_bool(v);
		else if (strcmp(k, "tailLines") == 0 && !have_tail_lines) {
			if (go_int("tailLines", v, &o->tail_lines, err) < 0)
				goto out;
			have_tail_lines = true;
		} else if (strcmp(k, "tail") == 0 && tail == NULL)
			tail = v;
		else if (strcmp(k, "limitBytes") == 0) {
			if (go_int("limitBytes", v, &o->limit_bytes, err) < 0)
				goto out;
			if (o->limit_bytes < 1) {
				xn_error(err, EDOM, "limitBytes: must be greater than 0 (got %s)",
					 v);
				goto out;
			}
		} else if (strcmp(k, "sinceSeconds") == 0) {
			if (go_int("sinceSeconds", v, &since_s, err) < 0)
				goto out;
			if (since_s < 1) {
				xn_error(err, EDOM, "sinceSeconds: must be greater than 0 (got %s)",
					 v);
				goto out;
			}
			have_since_s = true;
		} else if (strcmp(k, "sinceTime") == 0) {
			since_time = v;
		}
	}
	/* the old "tail" wins over tailLines, "all" meaning no tail */
	if (tail) {
		if (strcmp(tail, "all") == 0)
			o->tail_lines = -1;
		else if (go_int("tail", tail, &o->tail_lines, err) < 0)
			goto out;
		have_tail_lines = strcmp(tail, "all") != 0;
	}
	if (have_tail_lines && o->tail_lines < 0) {
		xn_error(err, EDOM, "tailLines: must be greater than or equal to 0 (got %lld)",
			 (long long)o->tail_lines);
		goto out;
	}
	if (have_since_s && since_time) {
		xn_error(err, EDOM, "at most one of sinceTime or sinceSeconds may be specified");
		goto out;
	}
	if (since_time && xn_rfc3339_parse(since_time, strlen(since_time), &o->since_ns) < 0) {
		xn_error(err, EINVAL, "sinceTime: '%s' is not an RFC 3339 time", since_time);
		goto out;
	}
	if (have_since_s) {
		uint64_t d = (uint64_t)since_s * 1000000000u;
		o->since_ns = d < now_ns ? now_ns - d : 1;
	}
	rc = 0;
out:
	evhttp_clear_headers(&q);
	return rc;
}

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
	char ts[40];

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

/* ---- the stream ---- */

struct logstream {
	struct kreq *r;
	struct xn_log_opts o;
	struct xn_log_writer w;
	int fd;
	off_t off;
	off_t end; /* without follow: the file's size at the request, -1 with */
	struct evbuffer *carry;
	struct evbuffer *out;
	struct event *timer;
	char *uid;
	char *path; /* the file being followed: reopened after a rotation */
	unsigned instance;
	bool follow;
};

static void ls_free(struct logstream *ls)
{
	if (ls->timer)
		event_free(ls->timer);
	if (ls->fd >= 0)
		close(ls->fd);
	evbuffer_free(ls->carry);
	evbuffer_free(ls->out);
	free(ls->uid);
	free(ls->path);
	free(ls);
}

bool kapi_reopen_rotated(int *fd, const char *path, off_t *off)
{
	struct stat now, cur;
	int nfd;

	if (path == NULL || fstat(*fd, &cur) < 0 || stat(path, &now) < 0 ||
	    (now.st_ino == cur.st_ino && now.st_dev == cur.st_dev))
		return false;
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0)
		return false;
	close(*fd);
	*fd = nfd;
	*off = 0;
	return true;
}

/* evhttp reads during a response to see the client close, under the read
 * timeout: a followed log may be quiet for long, so only a stalled write
 * (a reader that stopped reading) times out while following. */
static void follow_timeouts(struct kreq *r, bool following)
{
	struct timeval tv = {(time_t)r->k->timeout_s, 0};
	struct bufferevent *bev = r->c ? evhttp_connection_get_bufferevent(r->c->evcon) : NULL;

	if (bev)
		bufferevent_set_timeouts(bev, following ? NULL : &tv, &tv);
}

static void ls_finish(struct logstream *ls)
{
	struct kreq *r = ls->r;

	if (ls->follow)
		follow_timeouts(r, false);
	if (r->req)
		evhttp_send_reply_end(r->req);
	r->stream = NULL;
	ls_free(ls);
	kreq_free(r);
}

static void ls_gone(struct kreq *r)
{
	log_debug("kubelet api: %s: client went away", r->path);
	ls_finish(r->stream);
}

bool kapi_instance_live(struct xn_kapi *k, const char *uid, unsigned instance)
{
	const struct xn_pod_status *st = xn_runtime_status(k->rt, uid);

	return st && st->state == XN_INST_RUNNING && st->restart_count == instance;
}

/* The client hung up while we wait for lines: libevent does not read the
 * socket during a response, so ask the kernel. */
static bool peer_closed(struct kreq *r)
{
	struct bufferevent *bev;
	struct pollfd p = {.events = POLLRDHUP};

	if (r->c == NULL)
		return true;
	bev = evhttp_connection_get_bufferevent(r->c->evcon);
	p.fd = bev ? bufferevent_getfd(bev) : -1;
	if (p.fd < 0)
		return true;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void ls_pump(struct logstream *ls);

static void ls_sent(struct evhttp_connection *evcon, void *arg)
{
	ls_pump(arg);
}

static void ls_tick(evutil_socket_t fd, short what, void *arg)
{
	struct logstream *ls = arg;

	if (peer_closed(ls->r))
		return ls_finish(ls);
	ls_pump(ls);
}

static void ls_pump(struct logstream *ls)
{
	char buf[XN_KAPI_CHUNK];
	bool live = ls->follow && kapi_instance_live(ls->r->k, ls->uid, ls->instance);
	struct timeval tv = {0, XN_KAPI_FOLLOW_MS * 1000};
	size_t want = sizeof(buf);
	ssize_t n;
	bool done;

	/* without follow, the answer is the log as it was when asked: lines
	 * written meanwhile would make tailLines=1 answer two */
	if (ls->end >= 0 && (off_t)want > ls->end - ls->off)
		want = ls->end > ls->off ? (size_t)(ls->end - ls->off) : 0;
	n = want ? pread(ls->fd, buf, want, ls->off) : 0;

	if (n < 0) {
		log_warnx("kubelet api: %s: read: %s", ls->r->path, strerror(errno));
		return ls_finish(ls);
	}
	if (n == 0) {
		if (ls->follow && kapi_reopen_rotated(&ls->fd, ls->path, &ls->off))
			tv.tv_usec = 0;
		else if (!live)
			return ls_finish(ls);
		evtimer_add(ls->timer, &tv);
		return;
	}
	ls->off += n;
	done = xn_log_writer_feed(&ls->w, ls->carry, buf, (size_t)n, ls->out);
	if (evbuffer_get_length(ls->out) > 0) {
		/* the next read waits until this chunk has left (ls_sent) */
		evhttp_send_reply_chunk_with_cb(ls->r->req, ls->out, done ? NULL : ls_sent, ls);
		if (done)
			ls_finish(ls);
		return;
	}
	if (done)
		return ls_finish(ls);
	tv.tv_usec = 0; /* all filtered out: go on from the loop, not recursively */
	evtimer_add(ls->timer, &tv);
}

/* Which instance's file: the kubelet's choice between the running, the
 * terminated and the last terminated container (validateContainerLogStatus).
 * Instance n logs to <n>.log; restart_count names the current instance, whose
 * file exists once its console is attached.  -1: nothing started yet; -2:
 * no previous instance. */
static int pick_instance(struct xn_runtime *rt, const char *uid, const struct xn_pod_status *st,
			 bool previous, unsigned *out)
{
	unsigned latest = st->restart_count;
	char *path = xn_runtime_log_path(rt, uid, latest);
	bool exists = path && access(path, F_OK) == 0;

	free(path);
	if (st->state != XN_INST_RUNNING && !exists) {
		if (latest == 0)
			return -1;
		latest--; /* the next instance is being made: the last one ended */
	}
	if (!previous) {
		*out = latest;
		return 0;
	}
	/* waiting for a restart: lastState is the instance that just ended */
	if (st->state == XN_INST_WAITING && st->has_last) {
		*out = latest;
		return 0;
	}
	if (latest == 0 || st->state == XN_INST_WAITING)
		return -2;
	*out = latest - 1;
	return 0;
}

void kapi_container_logs(struct kreq *r)
{
	const char *ns = r->seg[0], *pod = r->seg[1], *container = r->seg[2];
	struct xn_runtime *rt = r->k->rt;
	const char *uid = xn_runtime_find(rt, ns, pod);
	const struct xn_pod_spec *s;
	const struct xn_pod_status *st;
	struct logstream *ls;
	cleanup_free char *path = NULL;
	struct xn_log_opts o;
	unsigned inst = 0;
	xn_err err = NULL;
	off_t start = 0, size = 0;
	int rc;

	if (xn_log_opts_parse(r->query, xn_now_real_ns(), &o, &err) < 0) {
		kreq_error(r, err->status == EDOM ? 422 : 400, "%s", xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	if (uid == NULL)
		return kreq_error(r, 404, "pod \"%s\" does not exist", pod);
	s = xn_runtime_spec(rt, uid);
	st = xn_runtime_status(rt, uid);
	if (strcmp(s->container, container) != 0)
		return kreq_error(r, 404, "container \"%s\" not found in pod \"%s\"", container,
				  pod);
	rc = pick_instance(rt, uid, st, o.previous, &inst);
	if (rc == -2)
		return kreq_error(r, 400,
				  "previous terminated container \"%s\" in pod \"%s\" not found",
				  container, pod);
	if (rc < 0)
		return kreq_error(r, 400, "container \"%s\" in pod \"%s\" is waiting to start: %s",
				  container, pod, st->reason[0] ? st->reason : "ContainerCreating");
	path = xn_runtime_log_path(rt, uid, inst);
	ls = xn_xcalloc(1, sizeof(*ls));
	ls->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (ls->fd < 0) {
		free(ls);
		if (o.previous)
			return kreq_error(
			    r, 400, "previous terminated container \"%s\" in pod \"%s\" not found",
			    container, pod);
		return kreq_error(r, 400, "container \"%s\" in pod \"%s\" is waiting to start: %s",
				  container, pod, "no log yet");
	}
	{
		struct stat sb;
		size = fstat(ls->fd, &sb) == 0 ? sb.st_size : 0;
	}
	if (o.tail_lines >= 0 &&
	    xn_log_tail_offset_at(ls->fd, size, (uint64_t)o.tail_lines, &start, &err) < 0) {
		close(ls->fd);
		free(ls);
		kreq_error(r, 500, "log %s: %s", path, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	ls->r = r;
	ls->o = o;
	xn_log_writer_init(&ls->w, &ls->o);
	ls->off = start;
	ls->end = o.follow ? -1 : size;
	ls->carry = evbuffer_new();
	ls->out = evbuffer_new();
	ls->uid = xn_xstrdup(uid);
	ls->path = xn_xstrdup(path);
	ls->instance = inst;
	ls->follow = o.follow;
	ls->timer = evtimer_new(r->k->base, ls_tick, ls);
	r->stream = ls;
	r->gone = ls_gone;
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Content-Type", "text/plain");
	kreq_count(200);
	evhttp_send_reply_start(r->req, 200, "OK");
	if (o.follow)
		follow_timeouts(r, true);
	ls_pump(ls);
}
