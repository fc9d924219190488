/* spdy.h - a small server-side SPDY/3.1 session, as the API server speaks it
 * to a kubelet for exec and attach (k8s.io/apimachinery httpstream/spdy over
 * moby/spdystream).
 *
 * Two layers:
 * - the codec: frames to and from evbuffers, with the session's two zlib
 *   contexts for header blocks (SPDY/3's fixed dictionary).  Everything read
 *   is bounds-checked: a frame longer than XN_SPDY_MAX_FRAME, a header block
 *   that inflates past XN_SPDY_MAX_HEADERS bytes or has more than
 *   XN_SPDY_MAX_PAIRS pairs, a length field that does not match the frame, a
 *   version other than 3, an unknown control frame type, a zero or even
 *   stream id where the peer must use odd ones: all are protocol errors (the
 *   session answers GOAWAY PROTOCOL_ERROR and ends).
 * - the session on a bufferevent: accepts the peer's streams (SYN_REPLY
 *   with no headers, as the kubelet answers), answers PINGs, tracks half
 *   closes, sends WINDOW_UPDATEs for what it received.  It does not hold
 *   back its own DATA for the peer's windows: spdystream neither sends
 *   WINDOW_UPDATE nor looks at windows, so the caller bounds what it queues
 *   (xn_spdy_pending) instead.  Likewise it does not refuse DATA beyond its
 *   own window, as spdystream never waits for one.
 */
#ifndef XENLET_SPDY_H
#define XENLET_SPDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "xenlet/err.h"

struct bufferevent;
struct evbuffer;

#define XN_SPDY_VERSION	    3
#define XN_SPDY_MAX_FRAME   (1024 * 1024) /* payload bytes of any frame we accept */
#define XN_SPDY_MAX_HEADERS (64 * 1024)	  /* inflated header block */
#define XN_SPDY_MAX_PAIRS   64
#define XN_SPDY_MAX_STREAMS 16 /* open streams the peer may have */
#define XN_SPDY_WINDOW	    65536

enum xn_spdy_type {
	XN_SPDY_DATA = 0, /* not a control type: a data frame */
	XN_SPDY_SYN_STREAM = 1,
	XN_SPDY_SYN_REPLY = 2,
	XN_SPDY_RST_STREAM = 3,
	XN_SPDY_SETTINGS = 4,
	XN_SPDY_PING = 6,
	XN_SPDY_GOAWAY = 7,
	XN_SPDY_HEADERS = 8,
	XN_SPDY_WINDOW_UPDATE = 9,
};

#define XN_SPDY_FLAG_FIN	    0x01
#define XN_SPDY_FLAG_UNIDIRECTIONAL 0x02

/* RST_STREAM status codes */
#define XN_SPDY_PROTOCOL_ERROR	      1
#define XN_SPDY_INVALID_STREAM	      2
#define XN_SPDY_REFUSED_STREAM	      3
#define XN_SPDY_CANCEL		      5
#define XN_SPDY_INTERNAL_ERROR	      6
#define XN_SPDY_STREAM_IN_USE	      8
#define XN_SPDY_STREAM_ALREADY_CLOSED 9
/* GOAWAY status codes */
#define XN_SPDY_GOAWAY_OK	      0
#define XN_SPDY_GOAWAY_PROTOCOL_ERROR 1
#define XN_SPDY_GOAWAY_INTERNAL_ERROR 2

/* SPDY/3's zlib dictionary for header blocks (NUL-terminated for C; the
 * dictionary is the first XN_SPDY_DICT_LEN bytes). */
#define XN_SPDY_DICT_LEN 1423
extern const char xn_spdy_dict[];

struct xn_spdy_header {
	const char *name;  /* lowercase, NUL-terminated */
	const char *value; /* NUL-terminated; several values are NUL-separated within len */
	size_t len;
};

struct xn_spdy_frame {
	enum xn_spdy_type type;
	uint8_t flags;
	uint32_t stream_id; /* DATA, SYN_*, RST, HEADERS, WINDOW_UPDATE (0: the connection) */
	uint32_t assoc_id;  /* SYN_STREAM */
	uint8_t priority;   /* SYN_STREAM, 0..7 */
	uint32_t value;	    /* RST/GOAWAY status, PING id, WINDOW_UPDATE delta,
			       GOAWAY last good stream id is in stream_id */
	/* DATA payload, or the decoded headers of SYN_STREAM/SYN_REPLY/HEADERS;
	 * valid until the next xn_spdy_parse on the same codec. */
	const uint8_t *data;
	size_t len;
	struct xn_spdy_header headers[XN_SPDY_MAX_PAIRS];
	size_t nheaders;
	/* SETTINGS: INITIAL_WINDOW_SIZE when present, else 0 */
	uint32_t initial_window;
};

struct xn_spdy_codec {
	z_stream in, out;
	bool in_ok, out_ok;
	uint8_t *buf; /* the current frame, pulled out of the input */
	size_t cap;
	char *hbuf; /* the inflated header block of the current frame */
	char *sbuf; /* its names and values, NUL-terminated */
};

int xn_spdy_codec_init(struct xn_spdy_codec *c, xn_err *err);
void xn_spdy_codec_dispose(struct xn_spdy_codec *c);

/* Takes one frame off the front of in.  1: f is filled (and the frame
 * drained); 0: more bytes are needed (nothing drained); -1: protocol error,
 * err names it (the session must go away; the input is not usable any
 * more).  Checks the frame on its own; stream state is the session's. */
int xn_spdy_parse(struct xn_spdy_codec *c, struct evbuffer *in, struct xn_spdy_frame *f,
		  xn_err *err);

/* Header blocks are compressed with c's deflate context, in order. */
int xn_spdy_put_syn_stream(struct xn_spdy_codec *c, struct evbuffer *out, uint32_t id,
			   uint8_t flags, const char *const *kv, size_t npairs, xn_err *err);
int xn_spdy_put_syn_reply(struct xn_spdy_codec *c, struct evbuffer *out, uint32_t id, uint8_t flags,
			  const char *const *kv, size_t npairs, xn_err *err);
void xn_spdy_put_data(struct evbuffer *out, uint32_t id, uint8_t flags, const void *data,
		      size_t len);
void xn_spdy_put_rst(struct evbuffer *out, uint32_t id, uint32_t status);
void xn_spdy_put_goaway(struct evbuffer *out, uint32_t last_good, uint32_t status);
void xn_spdy_put_ping(struct evbuffer *out, uint32_t id);
void xn_spdy_put_window_update(struct evbuffer *out, uint32_t id, uint32_t delta);
/* A frame header as is, for tests of the parser (length and type unchecked). */
void xn_spdy_put_control_header(struct evbuffer *out, uint16_t version, uint16_t type,
				uint8_t flags, uint32_t len);

/* The header's value (first of several), or NULL. */
const char *xn_spdy_header_get(const struct xn_spdy_frame *f, const char *name);

/* ---- the session ---- */

struct xn_spdy_sess;

struct xn_spdy_cbs {
	/* A stream from the peer.  0: accepted (SYN_REPLY sent); -1: refused
	 * (RST_STREAM REFUSED_STREAM). */
	int (*on_stream)(struct xn_spdy_sess *s, uint32_t id, const struct xn_spdy_frame *f,
			 void *arg);
	/* Data on an accepted stream; fin: the peer will send no more on it
	 * (len may be 0 then). */
	void (*on_data)(struct xn_spdy_sess *s, uint32_t id, const uint8_t *data, size_t len,
			bool fin, void *arg);
	/* The peer reset a stream. */
	void (*on_reset)(struct xn_spdy_sess *s, uint32_t id, uint32_t status, void *arg);
	/* The output went below XN_SPDY_LOW_WATER: queue more if wanted. */
	void (*on_writable)(struct xn_spdy_sess *s, void *arg);
	/* The session is over: the peer closed or went away, a protocol error
	 * (GOAWAY already queued), a timeout, or xn_spdy_close finished.  why
	 * is NULL for a clean end.  Called once; then only xn_spdy_sess_free
	 * may be called. */
	void (*on_end)(struct xn_spdy_sess *s, const char *why, void *arg);
};

#define XN_SPDY_LOW_WATER (64 * 1024)
#define XN_SPDY_LINGER_S  5 /* after our GOAWAY, wait this long for the peer to close */

/* Takes over bev's callbacks (not its ownership) and handles what is
 * already in its input. */
struct xn_spdy_sess *xn_spdy_sess_new(struct bufferevent *bev, const struct xn_spdy_cbs *cbs,
				      void *arg, xn_err *err);
/* Queues data on our side of a stream (fin: half-close it).  Ignored for a
 * stream we have closed or the peer reset. */
void xn_spdy_send(struct xn_spdy_sess *s, uint32_t id, const void *data, size_t len, bool fin);
/* Bytes queued and not yet written to the socket. */
size_t xn_spdy_pending(const struct xn_spdy_sess *s);
/* Ends the session gracefully: FIN on our open streams, GOAWAY OK, and
 * once that is written and the peer closed (or XN_SPDY_LINGER_S passed),
 * on_end(NULL).  Closing without waiting for the peer could reset the TCP
 * connection under data the peer has not read yet. */
void xn_spdy_close(struct xn_spdy_sess *s);
/* Releases bev's callbacks and the session; bev itself is the caller's. */
void xn_spdy_sess_free(struct xn_spdy_sess *s);

#endif
