/* fuzz_spdy_frames.c - the SPDY/3.1 frame codec (xn_spdy_parse in
 * daemon/spdy.c) on what an exec or attach client sends: frames until the
 * input is used up or a protocol error.  The input is built by
 * spdy_input.h and added to the buffer in pieces (the second byte sets
 * their size), as it comes from a socket.  Besides the sanitizers, checks
 * every frame the codec returns: headers well formed and found by name. */
#include <event2/buffer.h>

#include "fuzz.h"
#include "spdy_input.h"

static void check(const struct xn_spdy_frame *f)
{
	if (f->type == XN_SPDY_DATA && f->len > 0 && f->data == NULL)
		abort();
	if (f->nheaders > XN_SPDY_MAX_PAIRS)
		abort();
	for (size_t i = 0; i < f->nheaders; i++) {
		const struct xn_spdy_header *h = &f->headers[i];

		if (h->name[0] == '\0' || strlen(h->value) > h->len)
			abort();
		for (const char *c = h->name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				abort();
		if (xn_spdy_header_get(f, h->name) != h->value)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xn_spdy_codec c;
	static int ready;
	size_t piece = 1 + xn_fuzz_take_byte(&data, &size) * 64;
	struct evbuffer *all = evbuffer_new(), *in = evbuffer_new();
	struct xn_spdy_frame f;
	xn_err err = NULL;
	int rc = 0;

	/* One codec for the process, its inflate stream reset for each input:
	 * a fresh codec per input (a few hundred KiB) costs most of the time. */
	if (!ready && xn_spdy_codec_init(&c, NULL) < 0)
		abort();
	ready = 1;
	if (all == NULL || in == NULL || inflateReset(&c.in) != Z_OK)
		abort();
	xn_fuzz_spdy_input(data, size, all);
	while (rc >= 0 && evbuffer_get_length(all) > 0) {
		evbuffer_remove_buffer(all, in, piece);
		while ((rc = xn_spdy_parse(&c, in, &f, &err)) == 1)
			check(&f);
	}
	if (rc < 0) {
		if (err == NULL)
			abort();
		xn_error_free(&err);
	}
	evbuffer_free(in);
	evbuffer_free(all);
	return 0;
}
