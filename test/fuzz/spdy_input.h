/* spdy_input.h - turn a fuzz input into SPDY/3 bytes, for fuzz_spdy_frames
 * and fuzz_spdy_session.
 *
 * Header blocks are zlib-compressed with the SPDY dictionary, so random
 * bytes almost never get past inflate().  Inputs whose first byte is odd
 * are therefore read as records that build frames, compressing header
 * blocks the fuzzer writes in the clear with one deflate stream per input
 * (as a peer does):
 *
 *   0x?0 LEN16 BYTES                       raw bytes, as they are
 *   0x?1 FLAGS ID32 LEN16 BLOCK            SYN_STREAM (assoc 0, priority 0)
 *   0x?5 FLAGS ID32 LEN16 BLOCK            SYN_REPLY
 *   0x?9 FLAGS ID32 LEN16 BLOCK            HEADERS
 *   0x?2 FLAGS ID32 LEN16 BYTES            DATA
 *   0x?3 TYPE FLAGS LEN16 BYTES            a control frame, payload as is
 *
 * (numbers big-endian, BLOCK is the uncompressed header block: count, then
 * length-prefixed names and values).  A record cut short by the end of the
 * input takes what is left.  Inputs whose first byte is even are the raw
 * bytes after it.  test/fuzz/corpus/spdy_frames/ holds examples of both.
 */
#ifndef XN_FUZZ_SPDY_INPUT_H
#define XN_FUZZ_SPDY_INPUT_H

#include <event2/buffer.h>
#include <zlib.h>

#include "fuzz.h"
#include "xenlet/spdy.h"

struct xn_fuzz_rd {
	const uint8_t *p;
	size_t n;
};

static inline uint32_t xn_fuzz_rd_be(struct xn_fuzz_rd *r, int bytes)
{
	uint32_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | xn_fuzz_take_byte(&r->p, &r->n);
	return v;
}

/* Up to len bytes of the input (fewer at its end). */
static inline const uint8_t *xn_fuzz_rd_bytes(struct xn_fuzz_rd *r, size_t *len)
{
	const uint8_t *p = r->p;

	if (*len > r->n)
		*len = r->n;
	r->p += *len;
	r->n -= *len;
	return p;
}

static inline void xn_fuzz_put32(struct evbuffer *out, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	evbuffer_add(out, b, 4);
}

/* Compress block with z (continuing its stream) and add a header frame. */
static inline void xn_fuzz_headers_frame(z_stream *z, struct evbuffer *out, unsigned type,
					 uint8_t flags, uint32_t id, const uint8_t *block,
					 size_t len)
{
	static uint8_t zbuf[XN_SPDY_MAX_HEADERS * 2];
	size_t zlen, fixed = type == XN_SPDY_SYN_STREAM ? 10 : 4;
	int r;

	z->next_in = (Bytef *)block;
	z->avail_in = (uInt)len;
	z->next_out = zbuf;
	z->avail_out = sizeof(zbuf);
	r = deflate(z, Z_SYNC_FLUSH); /* Z_BUF_ERROR: nothing to add (an empty block) */
	if ((r != Z_OK && r != Z_BUF_ERROR) || z->avail_in != 0)
		abort();
	zlen = sizeof(zbuf) - z->avail_out;
	xn_spdy_put_control_header(out, XN_SPDY_VERSION, (uint16_t)type, flags,
				   (uint32_t)(fixed + zlen));
	xn_fuzz_put32(out, id);
	if (type == XN_SPDY_SYN_STREAM) {
		xn_fuzz_put32(out, 0);	      /* associated stream */
		evbuffer_add(out, "\0\0", 2); /* priority, slot */
	}
	evbuffer_add(out, zbuf, zlen);
}

/* Append the SPDY bytes the input stands for to out. */
static inline void xn_fuzz_spdy_input(const uint8_t *data, size_t size, struct evbuffer *out)
{
	static z_stream z;
	static int z_ready;
	struct xn_fuzz_rd r = {data, size};
	uint8_t mode = xn_fuzz_take_byte(&r.p, &r.n);

	if (!(mode & 1)) {
		evbuffer_add(out, r.p, r.n);
		return;
	}
	if (!z_ready) {
		if (deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK)
			abort();
		z_ready = 1;
	} else if (deflateReset(&z) != Z_OK) {
		abort();
	}
	if (deflateSetDictionary(&z, (const Bytef *)xn_spdy_dict, XN_SPDY_DICT_LEN) != Z_OK)
		abort();
	while (r.n > 0) {
		static const unsigned htypes[] = {XN_SPDY_SYN_STREAM, XN_SPDY_SYN_REPLY,
						  XN_SPDY_HEADERS, XN_SPDY_SYN_STREAM};
		uint8_t op = (uint8_t)xn_fuzz_rd_be(&r, 1), flags = 0, type = 0;
		uint32_t id = 0;
		size_t len;
		const uint8_t *p;

		switch (op & 3) {
		case 0:
			len = xn_fuzz_rd_be(&r, 2);
			p = xn_fuzz_rd_bytes(&r, &len);
			evbuffer_add(out, p, len);
			break;
		case 1:
			flags = (uint8_t)xn_fuzz_rd_be(&r, 1);
			id = xn_fuzz_rd_be(&r, 4);
			len = xn_fuzz_rd_be(&r, 2);
			p = xn_fuzz_rd_bytes(&r, &len);
			xn_fuzz_headers_frame(&z, out, htypes[(op >> 2) & 3], flags, id, p, len);
			break;
		case 2:
			flags = (uint8_t)xn_fuzz_rd_be(&r, 1);
			id = xn_fuzz_rd_be(&r, 4);
			len = xn_fuzz_rd_be(&r, 2);
			p = xn_fuzz_rd_bytes(&r, &len);
			xn_fuzz_put32(out, id & 0x7fffffff);
			xn_fuzz_put32(out, (uint32_t)flags << 24 | (uint32_t)len);
			evbuffer_add(out, p, len);
			break;
		default:
			type = (uint8_t)xn_fuzz_rd_be(&r, 1);
			flags = (uint8_t)xn_fuzz_rd_be(&r, 1);
			len = xn_fuzz_rd_be(&r, 2);
			p = xn_fuzz_rd_bytes(&r, &len);
			xn_spdy_put_control_header(out, XN_SPDY_VERSION, type, flags,
						   (uint32_t)len);
			evbuffer_add(out, p, len);
			break;
		}
	}
}

#endif
