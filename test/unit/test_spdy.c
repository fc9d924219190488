/* test_spdy.c - the SPDY/3.1 codec and session: frames round trip, input
 * in pieces, malformed frames and header blocks (bounds, zlib bombs, wrong
 * dictionary) refused, and a session on a bufferevent pair answering a
 * client as the API server would drive it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <zlib.h>

#include "xenlet/spdy.h"
#include "xenlet/util.h"

struct pair {
	struct xn_spdy_codec cli, srv;
	struct evbuffer *wire;
};

static int setup(void **state)
{
	struct pair *p = xn_xcalloc(1, sizeof(*p));

	assert_int_equal(xn_spdy_codec_init(&p->cli, NULL), 0);
	assert_int_equal(xn_spdy_codec_init(&p->srv, NULL), 0);
	p->wire = evbuffer_new();
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	xn_spdy_codec_dispose(&p->cli);
	xn_spdy_codec_dispose(&p->srv);
	evbuffer_free(p->wire);
	free(p);
	return 0;
}

static void test_round_trip(void **state)
{
	struct pair *p = *state;
	struct xn_spdy_frame f;
	const char *h1[] = {"streamtype", "error"};
	const char *h2[] = {"streamtype", "stdout", "x-multi", "a\0b"};
	xn_err err = NULL;

	/* two SYN_STREAMs: the second uses the compression state of the first */
	assert_int_equal(xn_spdy_put_syn_stream(&p->cli, p->wire, 1, 0, h1, 1, NULL), 0);
	assert_int_equal(xn_spdy_put_syn_stream(&p->cli, p->wire, 3, XN_SPDY_FLAG_FIN, h2, 2, NULL),
			 0);
	xn_spdy_put_data(p->wire, 3, XN_SPDY_FLAG_FIN, "hello", 5);
	xn_spdy_put_rst(p->wire, 5, XN_SPDY_CANCEL);
	xn_spdy_put_ping(p->wire, 7);
	xn_spdy_put_window_update(p->wire, 0, 1000);
	xn_spdy_put_goaway(p->wire, 9, XN_SPDY_GOAWAY_OK);

	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_SYN_STREAM);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.nheaders, 1);
	assert_string_equal(xn_spdy_header_get(&f, "streamtype"), "error");
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.flags, XN_SPDY_FLAG_FIN);
	assert_string_equal(xn_spdy_header_get(&f, "streamtype"), "stdout");
	assert_null(xn_spdy_header_get(&f, "nope"));
	assert_int_equal(f.headers[1].len, 1); /* "a\0b" was cut at the NUL by strlen */
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_DATA);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.flags, XN_SPDY_FLAG_FIN);
	assert_int_equal(f.len, 5);
	assert_memory_equal(f.data, "hello", 5);
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_RST_STREAM);
	assert_int_equal(f.stream_id, 5);
	assert_int_equal(f.value, XN_SPDY_CANCEL);
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_PING);
	assert_int_equal(f.value, 7);
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_WINDOW_UPDATE);
	assert_int_equal(f.stream_id, 0);
	assert_int_equal(f.value, 1000);
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_GOAWAY);
	assert_int_equal(f.stream_id, 9);
	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), 0);
	assert_null(err);

	/* the other direction: a SYN_REPLY without headers, as the kubelet sends */
	assert_int_equal(xn_spdy_put_syn_reply(&p->srv, p->wire, 1, 0, NULL, 0, NULL), 0);
	assert_int_equal(xn_spdy_parse(&p->cli, p->wire, &f, &err), 1);
	assert_int_equal(f.type, XN_SPDY_SYN_REPLY);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.nheaders, 0);
}

/* Bytes arriving one at a time: nothing is taken before the frame is whole. */
static void test_in_pieces(void **state)
{
	struct pair *p = *state;
	struct evbuffer *all = evbuffer_new();
	const char *h[] = {"streamtype", "stdin"};
	struct xn_spdy_frame f;
	size_t n, fed = 0;
	int got = 0;

	assert_int_equal(xn_spdy_put_syn_stream(&p->cli, all, 1, 0, h, 1, NULL), 0);
	xn_spdy_put_data(all, 1, 0, "abc", 3);
	n = evbuffer_get_length(all);
	while (fed < n) {
		char c;
		int rc;

		evbuffer_remove(all, &c, 1);
		evbuffer_add(p->wire, &c, 1);
		fed++;
		while ((rc = xn_spdy_parse(&p->srv, p->wire, &f, NULL)) == 1)
			got++;
		assert_int_equal(rc, 0);
		if (got == 1 && fed < n)
			assert_int_equal(f.type, XN_SPDY_SYN_STREAM);
	}
	assert_int_equal(got, 2);
	assert_int_equal(f.type, XN_SPDY_DATA);
	assert_memory_equal(f.data, "abc", 3);
	assert_int_equal(evbuffer_get_length(p->wire), 0);
	evbuffer_free(all);
}

static void expect_error(struct pair *p, const char *what)
{
	struct xn_spdy_frame f;
	xn_err err = NULL;

	assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, &err), -1);
	if (strstr(xn_error_msg(err), what) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", xn_error_msg(err), what);
	xn_error_free(&err);
	evbuffer_drain(p->wire, evbuffer_get_length(p->wire));
}

static void put_raw(struct evbuffer *b, const void *d, size_t n)
{
	evbuffer_add(b, d, n);
}

static void put_u32(struct evbuffer *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	evbuffer_add(b, x, 4);
}

static void test_malformed_frames(void **state)
{
	struct pair *p = *state;
	uint8_t zero[16] = {0};

	/* a length past the limit is refused from the 8-byte header alone */
	xn_spdy_put_data(p->wire, 1, 0, NULL, 0);
	evbuffer_drain(p->wire, 8);
	put_u32(p->wire, 1);
	put_u32(p->wire, 0x00ffffff);
	expect_error(p, "frame of 16777215 bytes");

	xn_spdy_put_control_header(p->wire, 2, XN_SPDY_PING, 0, 4);
	put_u32(p->wire, 1);
	expect_error(p, "version 2");

	xn_spdy_put_control_header(p->wire, 3, 10, 0, 4); /* CREDENTIAL, gone in 3.1 */
	put_u32(p->wire, 1);
	expect_error(p, "unknown control frame type 10");
	xn_spdy_put_control_header(p->wire, 3, 0x7777, 0, 0);
	expect_error(p, "unknown control frame type");

	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_PING, 0, 3);
	put_raw(p->wire, zero, 3);
	expect_error(p, "PING frame of 3 bytes");
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_GOAWAY, 0, 12);
	put_raw(p->wire, zero, 12);
	expect_error(p, "GOAWAY frame of 12 bytes");
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_RST_STREAM, 0, 8);
	put_u32(p->wire, 1);
	put_u32(p->wire, 0);
	expect_error(p, "status 0");
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_WINDOW_UPDATE, 0, 8);
	put_u32(p->wire, 1);
	put_u32(p->wire, 0);
	expect_error(p, "WINDOW_UPDATE of 0");
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_SYN_STREAM, 0, 9);
	put_raw(p->wire, zero, 9);
	expect_error(p, "SYN_STREAM frame of 9 bytes");
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_SYN_REPLY, 0, 2);
	put_raw(p->wire, zero, 2);
	expect_error(p, "SYN_REPLY frame of 2 bytes");
	xn_spdy_put_data(p->wire, 0, 0, "x", 1);
	expect_error(p, "stream 0");

	/* SETTINGS: the count must match the length, and cannot overflow it */
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_SETTINGS, 0, 12);
	put_u32(p->wire, 2);
	put_raw(p->wire, zero, 8);
	expect_error(p, "SETTINGS of 12 bytes with 2 entries");
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_SETTINGS, 0, 12);
	put_u32(p->wire, 0x20000001);
	put_raw(p->wire, zero, 8);
	expect_error(p, "entries");
	/* a good one, for contrast */
	{
		struct xn_spdy_frame f;

		xn_spdy_put_control_header(p->wire, 3, XN_SPDY_SETTINGS, 0, 12);
		put_u32(p->wire, 1);
		put_u32(p->wire, 7);
		put_u32(p->wire, 12345);
		assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, NULL), 1);
		assert_int_equal(f.initial_window, 12345);
	}
}

/* A SYN_STREAM whose header block is raw (uncompressed) bytes compressed
 * here with dictionary dict (NULL: none), independent of the codec. */
static void put_syn_raw(struct evbuffer *out, const void *raw, size_t n, const char *dict,
			size_t dlen)
{
	z_stream z = {0};
	size_t cap = n + 1024;
	uint8_t *buf = xn_xmalloc(cap);

	assert_int_equal(deflateInit(&z, Z_BEST_COMPRESSION), Z_OK);
	if (dict)
		assert_int_equal(deflateSetDictionary(&z, (const Bytef *)dict, (uInt)dlen), Z_OK);
	z.next_in = (Bytef *)raw;
	z.avail_in = (uInt)n;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	xn_spdy_put_control_header(out, 3, XN_SPDY_SYN_STREAM, 0,
				   (uint32_t)(10 + cap - z.avail_out));
	put_u32(out, 1);
	put_u32(out, 0);
	evbuffer_add(out, "\0\0", 2);
	evbuffer_add(out, buf, cap - z.avail_out);
	deflateEnd(&z);
	free(buf);
}

/* the dictionary's first bytes are enough for zlib to tell a wrong one */
static const char wrong_dict[] = "not the spdy dictionary";

static void block_case(struct pair *p, struct evbuffer *raw, const char *what)
{
	/* a fresh server context each time: after an error the stream is dead */
	xn_spdy_codec_dispose(&p->srv);
	assert_int_equal(xn_spdy_codec_init(&p->srv, NULL), 0);
	put_syn_raw(p->wire, evbuffer_pullup(raw, -1), evbuffer_get_length(raw), xn_spdy_dict,
		    XN_SPDY_DICT_LEN);
	evbuffer_drain(raw, evbuffer_get_length(raw));
	expect_error(p, what);
}

static void test_header_blocks(void **state)
{
	struct pair *p = *state;
	struct evbuffer *raw = evbuffer_new();
	uint8_t garbage[32];
	char *big;

	memset(garbage, 0xa5, sizeof(garbage));
	/* without the SPDY dictionary (FDICT not set): the codec inflates it
	 * all the same, so use a dictionary zlib can tell apart */
	put_u32(raw, 0);
	xn_spdy_codec_dispose(&p->srv);
	assert_int_equal(xn_spdy_codec_init(&p->srv, NULL), 0);
	put_syn_raw(p->wire, evbuffer_pullup(raw, -1), 4, wrong_dict, sizeof(wrong_dict));
	evbuffer_drain(raw, 4);
	expect_error(p, "not the SPDY dictionary");

	xn_spdy_codec_dispose(&p->srv);
	assert_int_equal(xn_spdy_codec_init(&p->srv, NULL), 0);
	xn_spdy_put_control_header(p->wire, 3, XN_SPDY_SYN_STREAM, 0, 10 + sizeof(garbage));
	put_u32(p->wire, 1);
	put_u32(p->wire, 0);
	evbuffer_add(p->wire, "\0\0", 2);
	evbuffer_add(p->wire, garbage, sizeof(garbage));
	expect_error(p, "zlib");

	put_u32(raw, XN_SPDY_MAX_PAIRS + 1);
	block_case(p, raw, "header pairs");

	put_u32(raw, 1);
	put_u32(raw, 100); /* name length past the end */
	evbuffer_add(raw, "abc", 3);
	block_case(p, raw, "name length 100 past the block");

	put_u32(raw, 1);
	put_u32(raw, 0);
	put_u32(raw, 0);
	block_case(p, raw, "empty name");

	put_u32(raw, 1);
	put_u32(raw, 4);
	evbuffer_add(raw, "Host", 4);
	put_u32(raw, 0);
	block_case(p, raw, "lowercase");

	put_u32(raw, 1);
	put_u32(raw, 1);
	evbuffer_add(raw, "a", 1);
	put_u32(raw, 0xfffffff0u); /* value length that would wrap */
	block_case(p, raw, "value length");

	put_u32(raw, 1);
	put_u32(raw, 1);
	evbuffer_add(raw, "a", 1);
	put_u32(raw, 0);
	evbuffer_add(raw, "xx", 2);
	block_case(p, raw, "2 bytes after the last header");

	put_u32(raw, 2);
	for (int i = 0; i < 2; i++) {
		put_u32(raw, 1);
		evbuffer_add(raw, "a", 1);
		put_u32(raw, 0);
	}
	block_case(p, raw, "twice");

	put_u32(raw, 2); /* says two, has one */
	put_u32(raw, 1);
	evbuffer_add(raw, "a", 1);
	put_u32(raw, 0);
	block_case(p, raw, "cut short");

	/* a zlib bomb: 1 MiB of one byte compresses to about a kilobyte */
	big = xn_xmalloc(1024 * 1024);
	memset(big, 'a', 1024 * 1024);
	put_u32(raw, 1);
	put_u32(raw, 1);
	evbuffer_add(raw, "a", 1);
	put_u32(raw, 1024 * 1024);
	evbuffer_add(raw, big, 1024 * 1024);
	block_case(p, raw, "inflates to more than 65536 bytes");
	free(big);

	/* and a block just under the cap is fine */
	put_u32(raw, 1);
	put_u32(raw, 1);
	evbuffer_add(raw, "a", 1);
	put_u32(raw, XN_SPDY_MAX_HEADERS - 13);
	for (int i = 0; i < XN_SPDY_MAX_HEADERS - 13; i++)
		evbuffer_add(raw, "b", 1);
	xn_spdy_codec_dispose(&p->srv);
	assert_int_equal(xn_spdy_codec_init(&p->srv, NULL), 0);
	put_syn_raw(p->wire, evbuffer_pullup(raw, -1), evbuffer_get_length(raw), xn_spdy_dict,
		    XN_SPDY_DICT_LEN);
	evbuffer_drain(raw, evbuffer_get_length(raw));
	{
		struct xn_spdy_frame f;

		assert_int_equal(xn_spdy_parse(&p->srv, p->wire, &f, NULL), 1);
		assert_int_equal(f.headers[0].len, XN_SPDY_MAX_HEADERS - 13);
	}
	evbuffer_free(raw);
}

/* ---- a session on a bufferevent pair ---- */

struct sess_t {
	struct event_base *base;
	struct bufferevent *pair[2]; /* [0]: the session's, [1]: the client's */
	struct xn_spdy_sess *s;
	struct xn_spdy_codec cli;
	char streams[256];
	char data[256];
	int ended;
	char why[256];
	bool refuse;
};

static int s_stream(struct xn_spdy_sess *s, uint32_t id, const struct xn_spdy_frame *f, void *arg)
{
	struct sess_t *t = arg;
	const char *type = xn_spdy_header_get(f, "streamtype");
	size_t n = strlen(t->streams);

	snprintf(t->streams + n, sizeof(t->streams) - n, "%u:%s ", id, type ? type : "-");
	return t->refuse ? -1 : 0;
}

static void s_data(struct xn_spdy_sess *s, uint32_t id, const uint8_t *d, size_t len, bool fin,
		   void *arg)
{
	struct sess_t *t = arg;
	size_t n = strlen(t->data);

	snprintf(t->data + n, sizeof(t->data) - n, "%u:%.*s%s ", id, (int)len, (const char *)d,
		 fin ? "$" : "");
}

static void s_reset(struct xn_spdy_sess *s, uint32_t id, uint32_t status, void *arg) {}

static void s_end(struct xn_spdy_sess *s, const char *why, void *arg)
{
	struct sess_t *t = arg;

	t->ended++;
	snprintf(t->why, sizeof(t->why), "%s", why ? why : "clean");
}

static const struct xn_spdy_cbs scbs = {
    .on_stream = s_stream, .on_data = s_data, .on_reset = s_reset, .on_end = s_end};

static void spin(struct sess_t *t)
{
	for (int i = 0; i < 20; i++)
		event_base_loop(t->base, EVLOOP_NONBLOCK);
}

static int sess_setup(void **state)
{
	struct sess_t *t = xn_xcalloc(1, sizeof(*t));

	t->base = event_base_new();
	assert_int_equal(bufferevent_pair_new(t->base, 0, t->pair), 0);
	bufferevent_enable(t->pair[1], EV_READ | EV_WRITE);
	assert_int_equal(xn_spdy_codec_init(&t->cli, NULL), 0);
	t->s = xn_spdy_sess_new(t->pair[0], &scbs, t, NULL);
	assert_non_null(t->s);
	*state = t;
	return 0;
}

static int sess_teardown(void **state)
{
	struct sess_t *t = *state;

	xn_spdy_sess_free(t->s);
	bufferevent_free(t->pair[0]);
	bufferevent_free(t->pair[1]);
	xn_spdy_codec_dispose(&t->cli);
	event_base_free(t->base);
	free(t);
	return 0;
}

/* The frames the client got, as "TYPE:id[:value][$]" words. */
static void client_reads(struct sess_t *t, char *buf, size_t len)
{
	struct evbuffer *in = bufferevent_get_input(t->pair[1]);
	struct xn_spdy_frame f;
	size_t n = 0;

	buf[0] = '\0';
	while (xn_spdy_parse(&t->cli, in, &f, NULL) == 1 && n < len) {
		static const char *names[] = {"DATA", "SYN",  "REPLY",	"RST", "SET",
					      "5",    "PING", "GOAWAY", "HDR", "WIN"};

		n += (size_t)snprintf(buf + n, len - n, "%s:%u", names[f.type],
				      f.type == XN_SPDY_PING ? f.value : f.stream_id);
		if (f.type == XN_SPDY_GOAWAY || f.type == XN_SPDY_RST_STREAM)
			n += (size_t)snprintf(buf + n, len - n, ":%u", f.value);
		if (f.type == XN_SPDY_DATA && f.len)
			n += (size_t)snprintf(buf + n, len - n, ":%.*s", (int)f.len,
					      (const char *)f.data);
		n += (size_t)snprintf(buf + n, len - n, "%s ",
				      f.flags & XN_SPDY_FLAG_FIN ? "$" : "");
	}
}

static void test_session(void **state)
{
	struct sess_t *t = *state;
	struct evbuffer *out = bufferevent_get_output(t->pair[1]);
	const char *err_h[] = {"streamtype", "error"}, *in_h[] = {"streamtype", "stdin"};
	char got[512];

	assert_int_equal(xn_spdy_put_syn_stream(&t->cli, out, 1, 0, err_h, 1, NULL), 0);
	assert_int_equal(xn_spdy_put_syn_stream(&t->cli, out, 3, 0, in_h, 1, NULL), 0);
	xn_spdy_put_data(out, 3, 0, "typed", 5);
	xn_spdy_put_data(out, 3, XN_SPDY_FLAG_FIN, NULL, 0);
	xn_spdy_put_ping(out, 1);
	xn_spdy_put_data(out, 99, 0, "?", 1); /* no such stream */
	spin(t);
	assert_string_equal(t->streams, "1:error 3:stdin ");
	assert_string_equal(t->data, "3:typed 3:$ ");
	client_reads(t, got, sizeof(got));
	assert_string_equal(got, "REPLY:1 REPLY:3 PING:1 RST:99:2 ");

	xn_spdy_send(t->s, 1, "{}", 2, false);
	xn_spdy_send(t->s, 3, "late", 4, false); /* the peer closed 3, we did not */
	xn_spdy_close(t->s);
	spin(t);
	client_reads(t, got, sizeof(got));
	assert_string_equal(got, "DATA:1:{} DATA:3:late DATA:1$ DATA:3$ GOAWAY:3:0 ");
	assert_int_equal(t->ended, 0); /* lingering until the client closes */
	bufferevent_flush(t->pair[1], EV_WRITE, BEV_FINISHED); /* the client closes */
	spin(t);
	assert_int_equal(t->ended, 1);
	assert_string_equal(t->why, "clean");
}

static void test_session_protocol_error(void **state)
{
	struct sess_t *t = *state;
	struct evbuffer *out = bufferevent_get_output(t->pair[1]);
	const char *h[] = {"streamtype", "error"};
	char got[512];

	assert_int_equal(xn_spdy_put_syn_stream(&t->cli, out, 5, 0, h, 1, NULL), 0);
	/* stream ids must grow */
	assert_int_equal(xn_spdy_put_syn_stream(&t->cli, out, 3, 0, h, 1, NULL), 0);
	xn_spdy_put_ping(out, 11); /* never looked at: the session has gone away */
	spin(t);
	client_reads(t, got, sizeof(got));
	assert_string_equal(got, "REPLY:5 GOAWAY:5:1 ");
	assert_int_equal(t->ended, 1);
	if (strstr(t->why, "stream id 3 after 5") == NULL)
		fail_msg("why: %s", t->why);
}

static void test_session_refuse(void **state)
{
	struct sess_t *t = *state;
	struct evbuffer *out = bufferevent_get_output(t->pair[1]);
	const char *h[] = {"streamtype", "stdout"};
	char got[512];

	t->refuse = true;
	assert_int_equal(xn_spdy_put_syn_stream(&t->cli, out, 1, 0, h, 1, NULL), 0);
	/* an even id is the server's to use */
	assert_int_equal(xn_spdy_put_syn_stream(&t->cli, out, 2, 0, h, 1, NULL), 0);
	spin(t);
	client_reads(t, got, sizeof(got));
	assert_string_equal(got, "RST:1:3 GOAWAY:1:1 ");
	assert_int_equal(t->ended, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_pieces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session, sess_setup, sess_teardown),
	    cmocka_unit_test_setup_teardown(test_session_protocol_error, sess_setup, sess_teardown),
	    cmocka_unit_test_setup_teardown(test_session_refuse, sess_setup, sess_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
