/* kubelet_api_logs.c - GET /containerLogs: the kubelet's PodLogOptions
 * from the query, the instance the kubelet would pick, and the CRI log
 * reader (crilog_read.c) streamed out as the answer.
 *
 * The reader takes XN_CRILOG_READ_CHUNK bytes at a time and the next step
 * waits until the connection has sent the last chunk, so a slow reader
 * holds at most one chunk of memory.  A followed log is looked at every
 * XN_KAPI_FOLLOW_MS until its instance ends.
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
	TAILQ_FOREACH(kv, &q, next) {
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
		/* in seconds first: the nanoseconds of a huge value do not fit */
		uint64_t d = (uint64_t)since_s <= now_ns / 1000000000u
				 ? (uint64_t)since_s * 1000000000u
				 : UINT64_MAX;
		o->since_ns = d < now_ns ? now_ns - d : 1;
	}
	rc = 0;
out:
	evhttp_clear_headers(&q);
	return rc;
}

/* ---- the stream ---- */

struct logstream {
	struct kreq *r;
	struct xn_crilog_reader *rd;
	struct evbuffer *out;
	struct event *timer;
	char *uid;
	unsigned instance;
	bool follow;
};

static void ls_free(struct logstream *ls)
{
	if (ls->timer)
		event_free(ls->timer);
	xn_crilog_reader_close(ls->rd);
	evbuffer_free(ls->out);
	free(ls->uid);
	free(ls);
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
	/* asked before the read: lines written before the instance ended are
	 * read before the stream ends */
	bool live = ls->follow && kapi_instance_live(ls->r->k, ls->uid, ls->instance);
	struct timeval tv = {0, XN_KAPI_FOLLOW_MS * 1000};
	xn_err err = NULL;
	int rc = xn_crilog_reader_step(ls->rd, ls->out, &err);

	if (rc < 0) {
		log_warnx("kubelet api: %s: %s", ls->r->path, xn_error_msg(err));
		xn_error_free(&err);
		return ls_finish(ls);
	}
	if (evbuffer_get_length(ls->out) > 0) {
		bool done = rc == XN_CRILOG_DONE;

		/* the next step waits until this chunk has left (ls_sent) */
		evhttp_send_reply_chunk_with_cb(ls->r->req, ls->out, done ? NULL : ls_sent, ls);
		if (done)
			ls_finish(ls);
		return;
	}
	if (rc == XN_CRILOG_DONE || (rc == XN_CRILOG_IDLE && !live))
		return ls_finish(ls);
	if (rc == XN_CRILOG_MORE)
		tv.tv_usec = 0; /* nothing to send yet: go on from the loop, not recursively */
	evtimer_add(ls->timer, &tv);
}

void kapi_container_logs(struct kreq *r)
{
	const char *ns = r->seg[0], *pod = r->seg[1], *container = r->seg[2];
	struct xn_runtime *rt = r->k->rt;
	const char *uid = xn_runtime_find(rt, ns, pod);
	const struct xn_pod_spec *s;
	const struct xn_pod_status *st;
	struct xn_crilog_reader *rd;
	struct logstream *ls;
	cleanup_free char *path = NULL;
	struct xn_log_opts o;
	unsigned inst = 0;
	xn_err err = NULL;
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
	rc = xn_runtime_log_instance(rt, uid, o.previous, &inst);
	if (rc == -2)
		return kreq_error(r, 400,
				  "previous terminated container \"%s\" in pod \"%s\" not found",
				  container, pod);
	if (rc < 0)
		return kreq_error(r, 400, "container \"%s\" in pod \"%s\" is waiting to start: %s",
				  container, pod, st->reason[0] ? st->reason : "ContainerCreating");
	path = xn_runtime_log_path(rt, uid, inst);
	rd = path ? xn_crilog_reader_open(path, &o, &err) : NULL;
	if (rd == NULL) {
		int e = err ? err->status : ENOENT;

		if (e != ENOENT) {
			kreq_error(r, 500, "%s", xn_error_msg(err));
		} else if (o.previous) {
			kreq_error(r, 400,
				   "previous terminated container \"%s\" in pod \"%s\" not found",
				   container, pod);
		} else {
			kreq_error(r, 400, "container \"%s\" in pod \"%s\" is waiting to start: %s",
				   container, pod, "no log yet");
		}
		xn_error_free(&err);
		return;
	}
	ls = xn_xcalloc(1, sizeof(*ls));
	ls->r = r;
	ls->rd = rd;
	ls->out = evbuffer_new();
	ls->uid = xn_xstrdup(uid);
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
