/* kubelet_stream.c - `kubectl exec` and `kubectl attach` for unikernel
 * pods: the kubelet's remotecommand protocol v4 over SPDY/3.1 (what the
 * API server speaks upstream to a kubelet), on the connection evhttp
 * accepted.  After the 101 the connection's bufferevent belongs to the
 * SPDY session; evhttp only frees it at the end.
 *
 * Like the kubelet (cri/streaming/remotecommand): the client opens an
 * "error" stream and one per requested channel (stdin, stdout, stderr,
 * resize with a tty), each named by its "streamtype" header; once all are
 * there the command runs, its output goes to stdout/stderr, and a
 * metav1.Status JSON on the error stream ends it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "kubelet_api_priv.h"
#include "xenlet/hv.h"
#include "xenlet/log.h"
#include "xenlet/metrics.h"
#include "xenlet/runtime.h"
#include "xenlet/spdy.h"
#include "xenlet/util.h"

#define PROTO_V4	   "v4.channel.k8s.io"
#define CREATE_TIMEOUT_S   30		/* the kubelet's stream creation timeout */
#define OUT_HIGH	   (256 * 1024) /* console bytes queued before we stop reading */
#define PTY_HIGH	   (64 * 1024)	/* stdin bytes queued before we stop reading */
#define EXIT_NOT_A_COMMAND 127

enum { CH_ERROR, CH_STDIN, CH_STDOUT, CH_STDERR, CH_RESIZE, NCH };
static const char *const ch_names[NCH] = {"error", "stdin", "stdout", "stderr", "resize"};

struct kstream {
	struct kreq *r;
	struct xn_spdy_sess *s;
	struct bufferevent *bev;
	bool exec;
	bool want[NCH];
	uint32_t id[NCH];
	int expected, got;
	bool started;
	struct event *ev_start, *ev_create;
	char *uid;
	char *verb; /* exec: the first command word */
	size_t nwords;
	/* attach */
	unsigned instance;
	int log_fd;
	char *log_path; /* followed across rotations */
	off_t off;
	struct xn_log_opts lo;
	struct xn_log_writer w;
	struct evbuffer *carry, *out;
	struct event *ev_tick;
	int pty_fd;
	struct evbuffer *pty_out;
	struct event *ev_pty;
	bool read_held; /* we stopped reading the socket for a full pty */
};

static void ks_free(struct kstream *ks)
{
	if (ks->s)
		xn_spdy_sess_free(ks->s);
	if (ks->ev_start)
		event_free(ks->ev_start);
	if (ks->ev_create)
		event_free(ks->ev_create);
	if (ks->ev_tick)
		event_free(ks->ev_tick);
	if (ks->ev_pty)
		event_free(ks->ev_pty);
	if (ks->log_fd >= 0)
		close(ks->log_fd);
	free(ks->log_path);
	if (ks->pty_fd >= 0)
		close(ks->pty_fd);
	if (ks->carry)
		evbuffer_free(ks->carry);
	if (ks->out)
		evbuffer_free(ks->out);
	if (ks->pty_out)
		evbuffer_free(ks->pty_out);
	free(ks->uid);
	free(ks->verb);
	free(ks);
}

/* The server lets go of the request (xenletd stops, or evhttp saw the
 * connection close): free everything but the connection. */
static void ks_gone(struct kreq *r)
{
	ks_free(r->stream);
	r->stream = NULL;
	kreq_free(r);
}

/* The end: our side is done and the connection goes with it. */
static void ks_finish(struct kstream *ks)
{
	struct kreq *r = ks->r;
	struct kconn *c = r->c;

	ks_free(ks);
	r->stream = NULL;
	r->gone = NULL;
	if (c == NULL)
		return kreq_free(r);
	kreq_free(r); /* c->active = NULL: the close callback leaves it alone */
	evhttp_connection_free(c->evcon);
}

/* metav1.Status as remotecommand v4 reads it; code < 0: Success. */
static void send_status(struct kstream *ks, int code, const char *msg)
{
	cJSON *st = cJSON_CreateObject();
	char *txt, num[16];

	cJSON_AddObjectToObject(st, "metadata");
	cJSON_AddStringToObject(st, "status", code < 0 ? "Success" : "Failure");
	if (code >= 0) {
		cJSON *causes, *cause;

		snprintf(num, sizeof(num), "%d", code);
		cJSON_AddStringToObject(st, "message", msg);
		cJSON_AddStringToObject(st, "reason", "NonZeroExitCode");
		causes = cJSON_AddArrayToObject(cJSON_AddObjectToObject(st, "details"), "causes");
		cause = cJSON_CreateObject();
		cJSON_AddStringToObject(cause, "reason", "ExitCode");
		cJSON_AddStringToObject(cause, "message", num);
		cJSON_AddItemToArray(causes, cause);
	}
	txt = cJSON_PrintUnformatted(st);
	xn_spdy_send(ks->s, ks->id[CH_ERROR], txt, strlen(txt), true);
	free(txt);
	cJSON_Delete(st);
}

/* ---- exec: one control verb ---- */

static void run_exec(struct kstream *ks)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	int code =
	    kapi_exec_verb(ks->r->k, ks->r->user.name, ks->uid, ks->verb, ks->nwords, b, &msg);
	uint32_t out = ks->id[CH_STDOUT], err = ks->id[CH_STDERR] ? ks->id[CH_STDERR] : out;
	size_t len = evbuffer_get_length(b);

	if (out && len)
		xn_spdy_send(ks->s, out, evbuffer_pullup(b, -1), len, false);
	if (code == 0) {
		send_status(ks, -1, NULL);
	} else {
		/* a person reads stderr; kubectl only prints the exit code */
		if (err) {
			xn_spdy_send(ks->s, err, msg, strlen(msg), false);
			xn_spdy_send(ks->s, err, "\n", 1, false);
		}
		send_status(ks, code == 400 ? EXIT_NOT_A_COMMAND : 1, msg);
	}
	log_debug("kubelet api: exec %s on %s: %s", ks->verb ? ks->verb : "-", ks->uid,
		  code ? msg : "done");
	free(msg);
	evbuffer_free(b);
	xn_spdy_close(ks->s);
}

/* ---- attach: the console from now on ---- */

static void attach_end(struct kstream *ks, const char *why)
{
	if (why)
		send_status(ks, 1, why);
	else
		send_status(ks, -1, NULL);
	xn_spdy_close(ks->s);
}

static void attach_pump(struct kstream *ks)
{
	struct timeval tv = {0, XN_KAPI_FOLLOW_MS * 1000};
	char buf[XN_KAPI_CHUNK];
	bool live = kapi_instance_live(ks->r->k, ks->uid, ks->instance);
	ssize_t n;

	if (xn_spdy_pending(ks->s) > OUT_HIGH)
		return; /* on_writable calls again */
	n = pread(ks->log_fd, buf, sizeof(buf), ks->off);
	if (n < 0)
		return attach_end(ks, strerror(errno));
	if (n == 0) {
		if (xn_crilog_reopen_rotated(&ks->log_fd, ks->log_path, &ks->off)) {
			tv.tv_usec = 0;
			evtimer_add(ks->ev_tick, &tv);
			return;
		}
		if (!live)
			return attach_end(ks, NULL); /* the instance ended: so does attach */
		evtimer_add(ks->ev_tick, &tv);
		return;
	}
	ks->off += n;
	xn_log_writer_feed(&ks->w, ks->carry, buf, (size_t)n, ks->out);
	if (evbuffer_get_length(ks->out) > 0) {
		size_t len = evbuffer_get_length(ks->out);

		if (ks->id[CH_STDOUT])
			xn_spdy_send(ks->s, ks->id[CH_STDOUT], evbuffer_pullup(ks->out, -1), len,
				     false);
		evbuffer_drain(ks->out, len);
	}
	tv.tv_usec = 0; /* more may be there: go on from the loop */
	evtimer_add(ks->ev_tick, &tv);
}

static void attach_tick(evutil_socket_t fd, short what, void *arg)
{
	attach_pump(arg);
}

static void hold_reading(struct kstream *ks, bool hold)
{
	if (hold == ks->read_held)
		return;
	ks->read_held = hold;
	if (hold)
		bufferevent_disable(ks->bev, EV_READ);
	else
		bufferevent_enable(ks->bev, EV_READ);
}

static void pty_flush(struct kstream *ks)
{
	if (evbuffer_get_length(ks->pty_out) > 0 && evbuffer_write(ks->pty_out, ks->pty_fd) < 0 &&
	    errno != EAGAIN && errno != EINTR) {
		log_debug("kubelet api: attach %s: console write: %s", ks->uid, strerror(errno));
		evbuffer_drain(ks->pty_out, evbuffer_get_length(ks->pty_out));
	}
	if (evbuffer_get_length(ks->pty_out) > 0)
		event_add(ks->ev_pty, NULL);
	hold_reading(ks, evbuffer_get_length(ks->pty_out) > PTY_HIGH);
}

static void pty_writable(evutil_socket_t fd, short what, void *arg)
{
	pty_flush(arg);
}

static int start_attach(struct kstream *ks)
{
	struct xn_kapi *k = ks->r->k;
	const struct xn_pod_status *st = xn_runtime_status(k->rt, ks->uid);
	cleanup_free char *path = NULL;
	char *pty = NULL;
	xn_err err = NULL;

	if (st == NULL || st->state != XN_INST_RUNNING)
		return -1;
	ks->instance = st->restart_count;
	path = xn_runtime_log_path(k->rt, ks->uid, ks->instance);
	ks->log_fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(ks->log_path);
	ks->log_path = xn_dup_or_null(path);
	if (ks->log_fd < 0)
		return -1;
	/* from the end: attach shows what comes, logs show what was */
	ks->off = lseek(ks->log_fd, 0, SEEK_END);
	if (ks->off < 0)
		ks->off = 0;
	ks->lo = (struct xn_log_opts){.tail_lines = -1, .limit_bytes = -1};
	xn_log_writer_init(&ks->w, &ks->lo);
	ks->carry = evbuffer_new();
	ks->out = evbuffer_new();
	ks->ev_tick = evtimer_new(k->base, attach_tick, ks);
	if (ks->want[CH_STDIN] && xn_runtime_console_path(k->rt, ks->uid, &pty, &err) == 0) {
		ks->pty_fd = open(pty, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (ks->pty_fd < 0)
			log_debug("kubelet api: attach %s: %s: %s", ks->uid, pty, strerror(errno));
		free(pty);
	} else if (ks->want[CH_STDIN]) {
		log_debug("kubelet api: attach %s: no console to write stdin to: %s", ks->uid,
			  xn_error_msg(err));
		xn_error_free(&err);
	}
	if (ks->pty_fd >= 0) {
		ks->pty_out = evbuffer_new();
		ks->ev_pty = event_new(k->base, ks->pty_fd, EV_WRITE, pty_writable, ks);
	}
	return 0;
}

/* ---- the session's callbacks ---- */

static void start(evutil_socket_t fd, short what, void *arg)
{
	struct kstream *ks = arg;

	event_del(ks->ev_create);
	if (ks->exec)
		return run_exec(ks);
	if (start_attach(ks) < 0)
		return attach_end(ks, "the container is not running");
	attach_pump(ks);
}

static int on_stream(struct xn_spdy_sess *s, uint32_t id, const struct xn_spdy_frame *f, void *arg)
{
	struct kstream *ks = arg;
	const char *type = xn_spdy_header_get(f, "streamtype");

	for (int c = 0; type && c < NCH; c++) {
		if (strcmp(type, ch_names[c]) != 0)
			continue;
		if (ks->id[c] || ks->started)
			return -1; /* a second one of a kind */
		ks->id[c] = id;
		if (++ks->got == ks->expected) {
			/* after this stream's SYN_REPLY has been queued */
			ks->started = true;
			event_active(ks->ev_start, EV_TIMEOUT, 0);
		}
		return 0;
	}
	log_debug("kubelet api: %s: unexpected stream type \"%s\"", ks->r->path,
		  type ? type : "(none)");
	return 0;
}

static void on_data(struct xn_spdy_sess *s, uint32_t id, const uint8_t *data, size_t len, bool fin,
		    void *arg)
{
	struct kstream *ks = arg;

	/* stdin goes to the console; resize has no meaning for a console we
	 * do not own, and the error stream carries nothing from the client */
	if (id != ks->id[CH_STDIN] || len == 0 || ks->pty_out == NULL)
		return;
	evbuffer_add(ks->pty_out, data, len);
	pty_flush(ks);
}

static void on_reset(struct xn_spdy_sess *s, uint32_t id, uint32_t status, void *arg)
{
	struct kstream *ks = arg;

	if (id == ks->id[CH_ERROR] || id == ks->id[CH_STDOUT]) {
		log_debug("kubelet api: %s: the client reset a stream (%u)", ks->r->path, status);
		xn_spdy_close(s);
	}
}

static void on_writable(struct xn_spdy_sess *s, void *arg)
{
	struct kstream *ks = arg;

	if (ks->started && !ks->exec && ks->log_fd >= 0 && !evtimer_pending(ks->ev_tick, NULL))
		attach_pump(ks);
}

static void on_end(struct xn_spdy_sess *s, const char *why, void *arg)
{
	struct kstream *ks = arg;

	if (why)
		log_debug("kubelet api: %s: stream ended: %s", ks->r->path, why);
	ks_finish(ks);
}

static void create_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct kstream *ks = arg;

	log_debug("kubelet api: %s: timed out waiting for the client to create streams",
		  ks->r->path);
	xn_spdy_close(ks->s);
}

static const struct xn_spdy_cbs cbs = {
    .on_stream = on_stream,
    .on_data = on_data,
    .on_reset = on_reset,
    .on_writable = on_writable,
    .on_end = on_end,
};

/* ---- the upgrade ---- */

static bool has_token(const char *v, const char *tok)
{
	size_t n = strlen(tok);

	while (v && *v) {
		v += strspn(v, " \t,");
		if (strncasecmp(v, tok, n) == 0 && (v[n] == '\0' || strchr(" \t,", v[n])))
			return true;
		v += strcspn(v, ",");
	}
	return false;
}

/* The offered X-Stream-Protocol-Version values (several headers, or a
 * comma-separated list), into offered as "a, b" for messages. */
static bool offers_v4(struct evkeyvalq *h, char *offered, size_t len)
{
	struct evkeyval *kv;
	bool v4 = false;
	size_t used = 0;

	offered[0] = '\0';
	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "X-Stream-Protocol-Version") != 0)
			continue;
		v4 = v4 || has_token(kv->value, PROTO_V4);
		if (used < len)
			used += (size_t)snprintf(offered + used, len - used, "%s%s",
						 used ? ", " : "", kv->value);
	}
	return v4;
}

struct kstream *kstream_new(struct kreq *r, bool exec, const char *uid)
{
	struct kstream *ks = xn_xcalloc(1, sizeof(*ks));
	struct evkeyvalq q;
	struct evkeyval *kv;

	ks->r = r;
	ks->exec = exec;
	ks->log_fd = ks->pty_fd = -1;
	ks->uid = xn_xstrdup(uid);
	TAILQ_INIT(&q);
	evhttp_parse_query_str(r->query, &q);
	TAILQ_FOREACH(kv, &q, next) {
		bool on = strcmp(kv->value, "1") == 0;

		if (strcmp(kv->key, "input") == 0)
			ks->want[CH_STDIN] = on;
		else if (strcmp(kv->key, "output") == 0)
			ks->want[CH_STDOUT] = on;
		else if (strcmp(kv->key, "error") == 0)
			ks->want[CH_STDERR] = on;
		else if (strcmp(kv->key, "tty") == 0)
			ks->want[CH_RESIZE] = on;
		else if (strcmp(kv->key, "command") == 0 && ks->nwords++ == 0)
			ks->verb = xn_xstrdup(kv->value);
	}
	evhttp_clear_headers(&q);
	if (ks->want[CH_RESIZE])
		ks->want[CH_STDERR] = false; /* a tty has no separate stderr */
	if (!ks->want[CH_STDIN] && !ks->want[CH_STDOUT] && !ks->want[CH_STDERR]) {
		ks_free(ks);
		return NULL;
	}
	ks->expected = 1;
	for (int c = 1; c < NCH; c++)
		ks->expected += ks->want[c];
	return ks;
}

void kstream_run(struct kstream *ks, struct bufferevent *bev)
{
	struct kreq *r = ks->r;
	struct xn_kapi *k = r->k;
	struct timeval wt = {(time_t)k->timeout_s, 0}, ct = {CREATE_TIMEOUT_S, 0};
	xn_err err = NULL;

	ks->bev = bev;
	r->stream = ks;
	r->gone = ks_gone;
	ks->ev_start = event_new(k->base, -1, 0, start, ks);
	ks->ev_create = evtimer_new(k->base, create_timeout, ks);
	/* a quiet session is fine (attach waits for the guest); a peer that
	 * stops reading is not */
	bufferevent_set_timeouts(ks->bev, NULL, &wt);
	evtimer_add(ks->ev_create, &ct);
	ks->s = xn_spdy_sess_new(ks->bev, &cbs, ks, &err);
	if (ks->s == NULL) {
		log_warnx("kubelet api: %s: %s", r->path, xn_error_msg(err));
		xn_error_free(&err);
		ks_finish(ks);
	}
}

static void stream(struct kreq *r, bool exec, const char *ns, const char *pod,
		   const char *container)
{
	struct xn_kapi *k = r->k;
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	struct evkeyvalq *hout = evhttp_request_get_output_headers(r->req);
	const char *uid = xn_runtime_find(k->rt, ns, pod);
	const char *up = evhttp_find_header(in, "Upgrade");
	const struct xn_pod_status *st;
	struct kstream *ks;
	char offered[256];

	if (uid == NULL)
		return kreq_error(r, 404, "pod \"%s\" does not exist", pod);
	if (strcmp(xn_runtime_spec(k->rt, uid)->container, container) != 0)
		return kreq_error(r, 404, "container \"%s\" not found in pod \"%s\"", container,
				  pod);
	if (strcasecmp(up, "SPDY/3.1") != 0 ||
	    !has_token(evhttp_find_header(in, "Connection"), "upgrade"))
		return kreq_error(r, 400,
				  "unable to upgrade: only \"Connection: Upgrade\" with "
				  "\"Upgrade: SPDY/3.1\" is spoken here (got Upgrade: %s)",
				  up);
	if (!offers_v4(in, offered, sizeof(offered))) {
		evhttp_add_header(hout, "X-Accepted-Stream-Protocol-Versions", PROTO_V4);
		return kreq_error(r, 403,
				  "unable to upgrade: unable to negotiate protocol: client "
				  "supports [%s], server supports [" PROTO_V4 "]",
				  offered);
	}
	st = xn_runtime_status(k->rt, uid);
	if (!exec && (st == NULL || st->state != XN_INST_RUNNING))
		return kreq_error(r, 409, "container \"%s\" in pod \"%s\" is not running",
				  container, pod);
	ks = kstream_new(r, exec, uid);
	if (ks == NULL)
		return kreq_error(r, 400, "you must specify at least 1 of stdin, stdout, stderr");

	evhttp_add_header(hout, "Connection", "Upgrade");
	evhttp_add_header(hout, "Upgrade", "SPDY/3.1");
	evhttp_add_header(hout, "X-Stream-Protocol-Version", PROTO_V4);
	kreq_count(101);
	/* no body for a 1xx: evhttp writes the head as is, and the rest of the
	 * connection is ours */
	evhttp_send_reply_start(r->req, 101, "Switching Protocols");
	log_info("kubelet api: %s: %s %s/%s (%s)", r->user.name ? r->user.name : "?",
		 exec ? "exec" : "attach", ns, pod, exec && ks->verb ? ks->verb : "streams");
	kstream_run(ks, evhttp_connection_get_bufferevent(r->c->evcon));
}

void kapi_exec_stream(struct kreq *r)
{
	stream(r, true, r->seg[0], r->seg[1], r->seg[2]);
}

void kapi_attach_stream(struct kreq *r)
{
	stream(r, false, r->seg[0], r->seg[1], r->seg[2]);
}
