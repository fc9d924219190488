/* spdy.c - SPDY/3.1 frame codec and a server-side session on a
 * bufferevent.  Contracts in include/xenlet/spdy.h; framing after the
 * SPDY/3.1 draft (control frames: C bit, version, type, flags, 24-bit
 * length; data frames: 31-bit stream id, flags, 24-bit length).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "xenlet/spdy.h"
#include "xenlet/util.h"

/* The zlib dictionary for header blocks, from the SPDY/3 draft (section
 * 2.6.10.1): 1423 bytes of common header names and values. */
const char xn_spdy_dict[] = "\x00\x00\x00\x07options\x00\x00\x00\x04head\x00\x00\x00\x04post\x00"
			    "\x00\x00\x03put\x00\x00\x00\x06"
			    "delete\x00\x00\x00\x05trace\x00\x00"
			    "\x00\x06"
			    "accept\x00\x00\x00\x0e"
			    "accept-charset\x00\x00\x00\x0f"
			    "accept-encoding\x00\x00\x00\x0f"
			    "accept-language\x00\x00\x00\x0d"
			    "a"
			    "ccept-ranges\x00\x00\x00\x03"
			    "age\x00\x00\x00\x05"
			    "allow\x00\x00"
			    "\x00\x0d"
			    "authorization\x00\x00\x00\x0d"
			    "cache-control\x00\x00\x00"
			    "\x0a"
			    "connection\x00\x00\x00\x0c"
			    "content-base\x00\x00\x00\x10"
			    "c"
			    "ontent-encoding\x00\x00\x00\x10"
			    "content-language\x00\x00\x00\x0e"
			    "content-length\x00\x00\x00\x10"
			    "content-location\x00\x00\x00\x0b"
			    "c"
			    "ontent-md5\x00\x00\x00\x0d"
			    "content-range\x00\x00\x00\x0c"
			    "conte"
			    "nt-type\x00\x00\x00\x04"
			    "date\x00\x00\x00\x04"
			    "etag\x00\x00\x00\x06"
			    "expect\x00\x00\x00\x07"
			    "expires\x00\x00\x00\x04"
			    "from\x00\x00\x00"
			    "\x04host\x00\x00\x00\x08if-match\x00\x00\x00\x11if-modified-since\x00"
			    "\x00\x00\x0dif-none-match\x00\x00\x00\x08if-range\x00\x00\x00\x13i"
			    "f-unmodified-since\x00\x00\x00\x0dlast-modified\x00\x00\x00\x08loc"
			    "ation\x00\x00\x00\x0cmax-forwards\x00\x00\x00\x06pragma\x00\x00\x00"
			    "\x12proxy-authenticate\x00\x00\x00\x13proxy-authorization\x00\x00\x00"
			    "\x05range\x00\x00\x00\x07referer\x00\x00\x00\x0bretry-after\x00\x00"
			    "\x00\x06server\x00\x00\x00\x02te\x00\x00\x00\x07trailer\x00\x00\x00"
			    "\x11transfer-encoding\x00\x00\x00\x07upgrade\x00\x00\x00\x0auser-a"
			    "gent\x00\x00\x00\x04vary\x00\x00\x00\x03via\x00\x00\x00\x07warning"
			    "\x00\x00\x00\x10www-authenticate\x00\x00\x00\x06method\x00\x00\x00"
			    "\x03get\x00\x00\x00\x06status\x00\x00\x00\x06"
			    "200 OK\x00\x00\x00"
			    "\x07version\x00\x00\x00\x08HTTP/1.1\x00\x00\x00\x03url\x00\x00\x00"
			    "\x06public\x00\x00\x00\x0aset-cookie\x00\x00\x00\x0akeep-alive\x00"
			    "\x00\x00\x06origin100101201202205206300302303304305306307402405406"
			    "407408409410411412413414415416417502504505203 Non-Authoritative In"
			    "formation204 No Content301 Moved Permanently400 Bad Request401 Una"
			    "uthorized403 Forbidden404 Not Found500 Internal Server Error501 No"
			    "t Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Au"
			    "g Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
			    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,ap"
			    "plication/xhtml+xml,text/plain,text/javascript,publicprivatemax-ag"
			    "e=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
#define DICT_LEN XN_SPDY_DICT_LEN
#define dict	 xn_spdy_dict
_Static_assert(sizeof(xn_spdy_dict) - 1 == XN_SPDY_DICT_LEN,
	       "the SPDY/3 dictionary has 1423 bytes");

/* inflated strings, NUL-terminated: the block plus one NUL per name and value */
#define SBUF_LEN (XN_SPDY_MAX_HEADERS + 2 * XN_SPDY_MAX_PAIRS)

int xn_spdy_codec_init(struct xn_spdy_codec *c, xn_err *err)
{
	memset(c, 0, sizeof(*c));
	if (inflateInit(&c->in) != Z_OK)
		return xn_error(err, ENOMEM, "spdy: inflateInit failed");
	c->in_ok = true;
	if (deflateInit(&c->out, Z_DEFAULT_COMPRESSION) != Z_OK ||
	    deflateSetDictionary(&c->out, (const Bytef *)dict, DICT_LEN) != Z_OK) {
		xn_spdy_codec_dispose(c);
		return xn_error(err, ENOMEM, "spdy: deflateInit failed");
	}
	c->out_ok = true;
	c->hbuf = xn_xmalloc(XN_SPDY_MAX_HEADERS + 1);
	c->sbuf = xn_xmalloc(SBUF_LEN);
	return 0;
}

void xn_spdy_codec_dispose(struct xn_spdy_codec *c)
{
	if (c->in_ok)
		inflateEnd(&c->in);
	if (c->out_ok)
		deflateEnd(&c->out);
	free(c->buf);
	free(c->hbuf);
	free(c->sbuf);
	memset(c, 0, sizeof(*c));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Inflates one header block with the session's context; the output is
 * capped so a small block cannot expand without bound. */
static int inflate_block(struct xn_spdy_codec *c, const uint8_t *src, size_t n, size_t *olen,
			 xn_err *err)
{
	z_stream *z = &c->in;
	int r;

	if (n == 0)
		return xn_error(err, EPROTO, "spdy: empty header block");
	z->next_in = (Bytef *)src;
	z->avail_in = (uInt)n;
	z->next_out = (Bytef *)c->hbuf;
	z->avail_out = XN_SPDY_MAX_HEADERS + 1;
	for (;;) {
		r = inflate(z, Z_SYNC_FLUSH);
		if (r == Z_NEED_DICT) {
			if (inflateSetDictionary(z, (const Bytef *)dict, DICT_LEN) != Z_OK)
				return xn_error(err, EPROTO,
						"spdy: header block: not the SPDY dictionary");
			continue;
		}
		if (r != Z_OK && r != Z_BUF_ERROR)
			return xn_error(err, EPROTO, "spdy: header block: zlib: %s",
					r == Z_STREAM_END ? "stream ended"
					: z->msg	  ? z->msg
							  : "error");
		if (z->avail_out == 0)
			return xn_error(err, EMSGSIZE,
					"spdy: header block inflates to more than %d bytes",
					XN_SPDY_MAX_HEADERS);
		if (z->avail_in == 0)
			break;
		if (r == Z_BUF_ERROR)
			return xn_error(err, EPROTO, "spdy: header block: zlib made no progress");
	}
	*olen = (size_t)(XN_SPDY_MAX_HEADERS + 1 - z->avail_out);
	return 0;
}

/* The inflated block: count, then (length, name, length, value) pairs. */
static int decode_block(struct xn_spdy_codec *c, size_t len, struct xn_spdy_frame *f, xn_err *err)
{
	const uint8_t *b = (const uint8_t *)c->hbuf;
	size_t p = 4, s = 0;
	uint32_t n;

	if (len < 4)
		return xn_error(err, EPROTO, "spdy: header block of %zu bytes", len);
	n = get32(b);
	if (n > XN_SPDY_MAX_PAIRS)
		return xn_error(err, EPROTO, "spdy: %u header pairs (at most %d)", n,
				XN_SPDY_MAX_PAIRS);
	for (uint32_t i = 0; i < n; i++) {
		struct xn_spdy_header *h = &f->headers[i];
		uint32_t l;

		for (int part = 0; part < 2; part++) {
			if (len - p < 4)
				return xn_error(err, EPROTO, "spdy: header %u: block cut short", i);
			l = get32(b + p);
			p += 4;
			if (l > len - p)
				return xn_error(err, EPROTO,
						"spdy: header %u: %s length %u past the block", i,
						part ? "value" : "name", l);
			if (part == 0) {
				if (l == 0)
					return xn_error(err, EPROTO, "spdy: header %u: empty name",
							i);
				for (uint32_t k = 0; k < l; k++)
					if (b[p + k] == 0 || (b[p + k] >= 'A' && b[p + k] <= 'Z'))
						return xn_error(
						    err, EPROTO,
						    "spdy: header %u: name not in lowercase", i);
				h->name = c->sbuf + s;
			} else {
				h->value = c->sbuf + s;
				h->len = l;
			}
			memcpy(c->sbuf + s, b + p, l);
			s += l;
			c->sbuf[s++] = '\0';
			p += l;
		}
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(f->headers[j].name, h->name) == 0)
				return xn_error(err, EPROTO, "spdy: header \"%s\" twice", h->name);
	}
	if (p != len)
		return xn_error(err, EPROTO, "spdy: %zu bytes after the last header", len - p);
	f->nheaders = n;
	return 0;
}

static int headers_of(struct xn_spdy_codec *c, const uint8_t *src, size_t n,
		      struct xn_spdy_frame *f, xn_err *err)
{
	size_t olen = 0;

	if (inflate_block(c, src, n, &olen, err) < 0 || decode_block(c, olen, f, err) < 0)
		return -1;
	return 0;
}

static const char *type_name(unsigned t)
{
	static const char *names[] = {"DATA",	  "SYN_STREAM",	  "SYN_REPLY", "RST_STREAM",
				      "SETTINGS", "NOOP",	  "PING",      "GOAWAY",
				      "HEADERS",  "WINDOW_UPDATE"};
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

/* Control frame payload checks, by type. */
static int parse_control(struct xn_spdy_codec *c, unsigned type, const uint8_t *p, size_t len,
			 struct xn_spdy_frame *f, xn_err *err)
{
	size_t min = 0, exact = 0;

	switch (type) {
	case XN_SPDY_SYN_STREAM: min = 10; break;
	case XN_SPDY_SYN_REPLY:
	case XN_SPDY_HEADERS:
	case XN_SPDY_SETTINGS: min = 4; break;
	case XN_SPDY_PING: exact = 4; break;
	case XN_SPDY_RST_STREAM:
	case XN_SPDY_GOAWAY:
	case XN_SPDY_WINDOW_UPDATE: exact = 8; break;
	default: return xn_error(err, EPROTO, "spdy: unknown control frame type %u", type);
	}
	if ((exact && len != exact) || len < min)
		return xn_error(err, EPROTO, "spdy: %s frame of %zu bytes", type_name(type), len);
	f->type = (enum xn_spdy_type)type;
	switch (type) {
	case XN_SPDY_SYN_STREAM:
		f->stream_id = get32(p) & 0x7fffffff;
		f->assoc_id = get32(p + 4) & 0x7fffffff;
		f->priority = p[8] >> 5;
		if (f->stream_id == 0)
			return xn_error(err, EPROTO, "spdy: SYN_STREAM with stream id 0");
		return headers_of(c, p + 10, len - 10, f, err);
	case XN_SPDY_SYN_REPLY:
	case XN_SPDY_HEADERS:
		f->stream_id = get32(p) & 0x7fffffff;
		if (f->stream_id == 0)
			return xn_error(err, EPROTO, "spdy: %s with stream id 0", type_name(type));
		return headers_of(c, p + 4, len - 4, f, err);
	case XN_SPDY_RST_STREAM:
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4);
		if (f->stream_id == 0 || f->value == 0)
			return xn_error(err, EPROTO, "spdy: RST_STREAM with stream id or status 0");
		return 0;
	case XN_SPDY_SETTINGS: {
		uint32_t n = get32(p);

		if (n > (len - 4) / 8 || len != 4 + (size_t)n * 8)
			return xn_error(err, EPROTO, "spdy: SETTINGS of %zu bytes with %u entries",
					len, n);
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *e = p + 4 + i * 8;

			if ((get32(e) & 0xffffff) == 7) /* SETTINGS_INITIAL_WINDOW_SIZE */
				f->initial_window = get32(e + 4);
		}
		return 0;
	}
	case XN_SPDY_PING: f->value = get32(p); return 0;
	case XN_SPDY_GOAWAY:
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4);
		return 0;
	default: /* WINDOW_UPDATE */
		f->stream_id = get32(p) & 0x7fffffff;
		f->value = get32(p + 4) & 0x7fffffff;
		if (f->value == 0)
			return xn_error(err, EPROTO, "spdy: WINDOW_UPDATE of 0");
		return 0;
	}
}

int xn_spdy_parse(struct xn_spdy_codec *c, struct evbuffer *in, struct xn_spdy_frame *f,
		  xn_err *err)
{
	uint8_t h[8];
	uint32_t w0, len;

	if (evbuffer_copyout(in, h, 8) < 8)
		return 0;
	w0 = get32(h);
	len = get32(h + 4) & 0xffffff;
	if (len > XN_SPDY_MAX_FRAME)
		return xn_error(err, EMSGSIZE, "spdy: frame of %u bytes (at most %d)", len,
				XN_SPDY_MAX_FRAME);
	if (w0 & 0x80000000u) {
		unsigned version = (w0 >> 16) & 0x7fff;

		if (version != XN_SPDY_VERSION)
			return xn_error(err, EPROTO, "spdy: version %u (only 3 is spoken)",
					version);
	}
	if (evbuffer_get_length(in) < 8 + (size_t)len)
		return 0;
	if (c->cap < len || c->buf == NULL) {
		c->cap = len > 4096 ? len : 4096;
		c->buf = xn_xrealloc(c->buf, c->cap);
	}
	evbuffer_drain(in, 8);
	if (len && evbuffer_remove(in, c->buf, len) != (int)len)
		return xn_error(err, EIO, "spdy: short read from the input buffer");
	memset(f, 0, offsetof(struct xn_spdy_frame, headers));
	f->nheaders = 0;
	f->initial_window = 0;
	f->flags = h[4];
	if (!(w0 & 0x80000000u)) {
		f->type = XN_SPDY_DATA;
		f->stream_id = w0 & 0x7fffffff;
		if (f->stream_id == 0)
			return xn_error(err, EPROTO, "spdy: data frame on stream 0");
		f->data = c->buf;
		f->len = len;
		return 1;
	}
	return parse_control(c, w0 & 0xffff, c->buf, len, f, err) < 0 ? -1 : 1;
}

void xn_spdy_put_control_header(struct evbuffer *out, uint16_t version, uint16_t type,
				uint8_t flags, uint32_t len)
{
	uint8_t h[8];

	put32(h, 0x80000000u | (uint32_t)(version & 0x7fff) << 16 | type);
	put32(h + 4, (uint32_t)flags << 24 | (len & 0xffffff));
	evbuffer_add(out, h, 8);
}

/* Compresses a header block of npairs (name, value) strings. */
static int deflate_block(struct xn_spdy_codec *c, const char *const *kv, size_t npairs,
			 struct evbuffer *z, xn_err *err)
{
	struct evbuffer *raw = evbuffer_new();
	uint8_t n[4], chunk[4096];
	size_t rawlen;
	int rc = -1;

	put32(n, (uint32_t)npairs);
	evbuffer_add(raw, n, 4);
	for (size_t i = 0; i < 2 * npairs; i++) {
		put32(n, (uint32_t)strlen(kv[i]));
		evbuffer_add(raw, n, 4);
		evbuffer_add(raw, kv[i], strlen(kv[i]));
	}
	rawlen = evbuffer_get_length(raw);
	c->out.next_in = evbuffer_pullup(raw, -1);
	c->out.avail_in = (uInt)rawlen;
	do {
		c->out.next_out = chunk;
		c->out.avail_out = sizeof(chunk);
		if (deflate(&c->out, Z_SYNC_FLUSH) == Z_STREAM_ERROR) {
			xn_error(err, EIO, "spdy: deflate failed");
			goto out;
		}
		evbuffer_add(z, chunk, sizeof(chunk) - c->out.avail_out);
	} while (c->out.avail_out == 0);
	rc = 0;
out:
	evbuffer_free(raw);
	return rc;
}

static int put_headers_frame(struct xn_spdy_codec *c, struct evbuffer *out, uint16_t type,
			     uint32_t id, uint8_t flags, const char *const *kv, size_t npairs,
			     xn_err *err)
{
	struct evbuffer *z = evbuffer_new();
	size_t pre = type == XN_SPDY_SYN_STREAM ? 10 : 4;
	uint8_t p[10] = {0};
	int rc = -1;

	if (deflate_block(c, kv, npairs, z, err) < 0)
		goto out;
	if (evbuffer_get_length(z) + pre > 0xffffff) {
		xn_error(err, EMSGSIZE, "spdy: header block too large");
		goto out;
	}
	put32(p, id & 0x7fffffff);
	xn_spdy_put_control_header(out, XN_SPDY_VERSION, type, flags,
				   (uint32_t)(evbuffer_get_length(z) + pre));
	evbuffer_add(out, p, pre);
	evbuffer_add_buffer(out, z);
	rc = 0;
out:
	evbuffer_free(z);
	return rc;
}

int xn_spdy_put_syn_stream(struct xn_spdy_codec *c, struct evbuffer *out, uint32_t id,
			   uint8_t flags, const char *const *kv, size_t npairs, xn_err *err)
{
	return put_headers_frame(c, out, XN_SPDY_SYN_STREAM, id, flags, kv, npairs, err);
}

int xn_spdy_put_syn_reply(struct xn_spdy_codec *c, struct evbuffer *out, uint32_t id, uint8_t flags,
			  const char *const *kv, size_t npairs, xn_err *err)
{
	return put_headers_frame(c, out, XN_SPDY_SYN_REPLY, id, flags, kv, npairs, err);
}

void xn_spdy_put_data(struct evbuffer *out, uint32_t id, uint8_t flags, const void *data,
		      size_t len)
{
	uint8_t h[8];

	put32(h, id & 0x7fffffff);
	put32(h + 4, (uint32_t)flags << 24 | (uint32_t)(len & 0xffffff));
	evbuffer_add(out, h, 8);
	if (len)
		evbuffer_add(out, data, len);
}

static void put_two(struct evbuffer *out, uint16_t type, uint32_t a, uint32_t b)
{
	uint8_t p[8];

	put32(p, a);
	put32(p + 4, b);
	xn_spdy_put_control_header(out, XN_SPDY_VERSION, type, 0, 8);
	evbuffer_add(out, p, 8);
}

void xn_spdy_put_rst(struct evbuffer *out, uint32_t id, uint32_t status)
{
	put_two(out, XN_SPDY_RST_STREAM, id & 0x7fffffff, status);
}

void xn_spdy_put_goaway(struct evbuffer *out, uint32_t last_good, uint32_t status)
{
	put_two(out, XN_SPDY_GOAWAY, last_good & 0x7fffffff, status);
}

void xn_spdy_put_window_update(struct evbuffer *out, uint32_t id, uint32_t delta)
{
	put_two(out, XN_SPDY_WINDOW_UPDATE, id & 0x7fffffff, delta & 0x7fffffff);
}

void xn_spdy_put_ping(struct evbuffer *out, uint32_t id)
{
	uint8_t p[4];

	put32(p, id);
	xn_spdy_put_control_header(out, XN_SPDY_VERSION, XN_SPDY_PING, 0, 4);
	evbuffer_add(out, p, 4);
}

const char *xn_spdy_header_get(const struct xn_spdy_frame *f, const char *name)
{
	for (size_t i = 0; i < f->nheaders; i++)
		if (strcmp(f->headers[i].name, name) == 0)
			return f->headers[i].value;
	return NULL;
}

/* ---- the session ---- */

struct sstream {
	uint32_t id; /* 0: free slot */
	bool remote_closed, local_closed;
	uint32_t unacked; /* received bytes not yet given back in a WINDOW_UPDATE */
};

struct xn_spdy_sess {
	struct bufferevent *bev;
	struct xn_spdy_codec codec;
	struct xn_spdy_cbs cbs;
	void *arg;
	struct sstream st[XN_SPDY_MAX_STREAMS];
	uint32_t last_peer_id;
	uint32_t conn_unacked;
	bool closing; /* our GOAWAY is queued */
	bool flushed; /* ... and written */
	bool ended;
	const char *why;
	char whybuf[256];
	struct event *ev_end, *ev_linger;
};

static void end(struct xn_spdy_sess *s, const char *why)
{
	if (s->ended)
		return;
	s->ended = true;
	if (why && why != s->whybuf)
		snprintf(s->whybuf, sizeof(s->whybuf), "%s", why);
	s->why = why ? s->whybuf : NULL;
	bufferevent_disable(s->bev, EV_READ);
	/* never from inside our own callbacks: the owner frees the session */
	event_active(s->ev_end, EV_TIMEOUT, 0);
}

static void end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xn_spdy_sess *s = arg;

	s->cbs.on_end(s, s->why, s->arg);
}

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	end(arg, NULL);
}

static struct sstream *find(struct xn_spdy_sess *s, uint32_t id)
{
	for (int i = 0; i < XN_SPDY_MAX_STREAMS; i++)
		if (s->st[i].id == id)
			return &s->st[i];
	return NULL;
}

static void release_if_done(struct sstream *st)
{
	if (st->remote_closed && st->local_closed)
		memset(st, 0, sizeof(*st));
}

static void protocol_error(struct xn_spdy_sess *s, const char *why)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (!s->closing)
		xn_spdy_put_goaway(out, s->last_peer_id, XN_SPDY_GOAWAY_PROTOCOL_ERROR);
	s->closing = true;
	snprintf(s->whybuf, sizeof(s->whybuf), "%s", why);
	s->why = s->whybuf;
	/* end once the GOAWAY has left (write callback) */
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	bufferevent_disable(s->bev, EV_READ);
}

static void ack(struct xn_spdy_sess *s, struct sstream *st, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	st->unacked += (uint32_t)len;
	s->conn_unacked += (uint32_t)len;
	if (st->unacked >= XN_SPDY_WINDOW / 2 && !st->remote_closed) {
		xn_spdy_put_window_update(out, st->id, st->unacked);
		st->unacked = 0;
	}
	if (s->conn_unacked >= XN_SPDY_WINDOW / 2) {
		xn_spdy_put_window_update(out, 0, s->conn_unacked);
		s->conn_unacked = 0;
	}
}

static void on_syn_stream(struct xn_spdy_sess *s, const struct xn_spdy_frame *f)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct sstream *st;
	xn_err err = NULL;

	if (f->stream_id % 2 == 0 || f->stream_id <= s->last_peer_id) {
		char why[96];

		snprintf(why, sizeof(why), "spdy: SYN_STREAM with stream id %u after %u",
			 f->stream_id, s->last_peer_id);
		return protocol_error(s, why);
	}
	s->last_peer_id = f->stream_id;
	st = s->closing ? NULL : find(s, 0);
	if (st == NULL)
		return xn_spdy_put_rst(out, f->stream_id, XN_SPDY_REFUSED_STREAM);
	st->id = f->stream_id;
	st->remote_closed = f->flags & XN_SPDY_FLAG_FIN;
	st->local_closed = f->flags & XN_SPDY_FLAG_UNIDIRECTIONAL;
	if (s->cbs.on_stream(s, f->stream_id, f, s->arg) < 0) {
		memset(st, 0, sizeof(*st));
		return xn_spdy_put_rst(out, f->stream_id, XN_SPDY_REFUSED_STREAM);
	}
	if (!st->local_closed &&
	    xn_spdy_put_syn_reply(&s->codec, out, f->stream_id, 0, NULL, 0, &err) < 0) {
		protocol_error(s, xn_error_msg(err));
		xn_error_free(&err);
		return;
	}
	if (st->remote_closed) {
		s->cbs.on_data(s, f->stream_id, NULL, 0, true, s->arg);
		if ((st = find(s, f->stream_id)))
			release_if_done(st);
	}
}

static void on_frame(struct xn_spdy_sess *s, const struct xn_spdy_frame *f)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct sstream *st;
	bool fin = f->flags & XN_SPDY_FLAG_FIN;

	switch (f->type) {
	case XN_SPDY_DATA:
		st = find(s, f->stream_id);
		if (st == NULL || st->remote_closed) {
			/* a stream never opened, finished, or reset: tell the peer
			 * and go on (the session itself is fine) */
			xn_spdy_put_rst(out, f->stream_id,
					st ? XN_SPDY_STREAM_ALREADY_CLOSED
					   : XN_SPDY_INVALID_STREAM);
			if (st) {
				memset(st, 0, sizeof(*st));
				s->cbs.on_reset(s, f->stream_id, XN_SPDY_STREAM_ALREADY_CLOSED,
						s->arg);
			}
			return;
		}
		ack(s, st, f->len);
		st->remote_closed = fin;
		s->cbs.on_data(s, f->stream_id, f->data, f->len, fin, s->arg);
		if ((st = find(s, f->stream_id)))
			release_if_done(st);
		return;
	case XN_SPDY_SYN_STREAM: return on_syn_stream(s, f);
	case XN_SPDY_SYN_REPLY:
		return protocol_error(s, "spdy: SYN_REPLY for a stream we never opened");
	case XN_SPDY_RST_STREAM:
		if ((st = find(s, f->stream_id))) {
			memset(st, 0, sizeof(*st));
			s->cbs.on_reset(s, f->stream_id, f->value, s->arg);
		}
		return;
	case XN_SPDY_PING:
		if (f->value % 2 == 1) /* the peer's (ours would be even): echo it */
			xn_spdy_put_ping(out, f->value);
		return;
	case XN_SPDY_GOAWAY: return end(s, NULL);
	case XN_SPDY_HEADERS:
		if ((st = find(s, f->stream_id)) && fin) {
			st->remote_closed = true;
			s->cbs.on_data(s, f->stream_id, NULL, 0, true, s->arg);
			if ((st = find(s, f->stream_id)))
				release_if_done(st);
		}
		return;
	default: /* SETTINGS, WINDOW_UPDATE: checked by the parser, nothing to do */ return;
	}
}

static void readcb(struct bufferevent *bev, void *arg)
{
	struct xn_spdy_sess *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct xn_spdy_frame f;
	xn_err err = NULL;

	while (!s->ended && !s->closing) {
		int rc = xn_spdy_parse(&s->codec, in, &f, &err);

		if (rc == 0)
			return;
		if (rc < 0) {
			protocol_error(s, xn_error_msg(err));
			xn_error_free(&err);
			break;
		}
		on_frame(s, &f);
	}
	/* after our GOAWAY the peer's frames are of no use: drop them */
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void writecb(struct bufferevent *bev, void *arg)
{
	struct xn_spdy_sess *s = arg;

	if (s->ended)
		return;
	if (!s->closing) {
		if (s->cbs.on_writable)
			s->cbs.on_writable(s, s->arg);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 || s->flushed)
		return;
	s->flushed = true;
	if (s->why) /* a protocol error: no reason to wait for the peer */
		return end(s, s->why);
	{
		struct timeval tv = {XN_SPDY_LINGER_S, 0};

		evtimer_add(s->ev_linger, &tv);
	}
}

static void eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct xn_spdy_sess *s = arg;

	if (what & BEV_EVENT_TIMEOUT)
		return end(s, what & BEV_EVENT_READING ? "read timeout" : "write timeout");
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		end(s, s->closing || (what & BEV_EVENT_EOF) ? s->why : "connection error");
}

struct xn_spdy_sess *xn_spdy_sess_new(struct bufferevent *bev, const struct xn_spdy_cbs *cbs,
				      void *arg, xn_err *err)
{
	struct xn_spdy_sess *s = xn_xcalloc(1, sizeof(*s));

	if (xn_spdy_codec_init(&s->codec, err) < 0) {
		free(s);
		return NULL;
	}
	s->bev = bev;
	s->cbs = *cbs;
	s->arg = arg;
	s->ev_end = event_new(bufferevent_get_base(bev), -1, 0, end_cb, s);
	s->ev_linger = evtimer_new(bufferevent_get_base(bev), linger_cb, s);
	bufferevent_setwatermark(bev, EV_WRITE, XN_SPDY_LOW_WATER, 0);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_setcb(bev, readcb, writecb, eventcb, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		readcb(bev, s);
	return s;
}

void xn_spdy_send(struct xn_spdy_sess *s, uint32_t id, const void *data, size_t len, bool fin)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct sstream *st = id ? find(s, id) : NULL;
	const uint8_t *p = data;

	if (st == NULL || st->local_closed || s->closing || s->ended)
		return;
	while (len > 0) {
		size_t n = len > 16384 ? 16384 : len;

		xn_spdy_put_data(out, id, fin && n == len ? XN_SPDY_FLAG_FIN : 0, p, n);
		p += n;
		len -= n;
		if (len == 0 && fin)
			goto closed;
	}
	if (!fin)
		return;
	xn_spdy_put_data(out, id, XN_SPDY_FLAG_FIN, NULL, 0);
closed:
	st->local_closed = true;
	release_if_done(st);
}

size_t xn_spdy_pending(const struct xn_spdy_sess *s)
{
	return evbuffer_get_length(bufferevent_get_output(s->bev));
}

void xn_spdy_close(struct xn_spdy_sess *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	if (s->closing || s->ended)
		return;
	for (int i = 0; i < XN_SPDY_MAX_STREAMS; i++)
		if (s->st[i].id && !s->st[i].local_closed)
			xn_spdy_send(s, s->st[i].id, NULL, 0, true);
	xn_spdy_put_goaway(out, s->last_peer_id, XN_SPDY_GOAWAY_OK);
	s->closing = true;
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	/* keep reading, to see the peer close (and to drop what it still sends) */
}

void xn_spdy_sess_free(struct xn_spdy_sess *s)
{
	if (s == NULL)
		return;
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	event_free(s->ev_end);
	event_free(s->ev_linger);
	xn_spdy_codec_dispose(&s->codec);
	free(s);
}
