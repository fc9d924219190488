/* fuzz_spdy_session.c - the server-side SPDY session (daemon/spdy.c) as
 * the kubelet API runs it for exec and attach, on a bufferevent pair: the
 * input (built by spdy_input.h) is what the client sends, in pieces (the
 * second byte sets their size), with the event loop run between them.  The
 * callbacks behave like the kubelet's: streams are accepted (every third
 * one refused), data is echoed back and a client's FIN answered with ours.
 * At the end the session is closed gracefully.
 * Besides the sanitizers, checks that everything the session writes is
 * valid SPDY to a client, and that on_end comes once and last. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "fuzz.h"
#include "spdy_input.h"

struct run {
	struct xn_spdy_sess *s;
	int streams;
	int ended;
};

static int on_stream(struct xn_spdy_sess *s, uint32_t id, const struct xn_spdy_frame *f, void *arg)
{
	struct run *r = arg;

	if (r->ended)
		abort();
	(void)xn_spdy_header_get(f, "streamtype");
	return ++r->streams % 3 == 0 ? -1 : 0;
}

static void on_data(struct xn_spdy_sess *s, uint32_t id, const uint8_t *data, size_t len, bool fin,
		    void *arg)
{
	struct run *r = arg;

	if (r->ended || (len > 0 && data == NULL))
		abort();
	xn_spdy_send(s, id, data, len, fin);
}

static void on_reset(struct xn_spdy_sess *s, uint32_t id, uint32_t status, void *arg)
{
	if (((struct run *)arg)->ended)
		abort();
}

static void on_end(struct xn_spdy_sess *s, const char *why, void *arg)
{
	struct run *r = arg;

	if (r->ended++)
		abort();
}

static const struct xn_spdy_cbs cbs = {
    .on_stream = on_stream, .on_data = on_data, .on_reset = on_reset, .on_end = on_end};

static void spin(struct event_base *base)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* What the session wrote must parse, frame by frame, on a client's codec. */
static void check_output(struct xn_spdy_codec *cli, struct bufferevent *client)
{
	struct evbuffer *in = bufferevent_get_input(client);
	struct xn_spdy_frame f;
	xn_err err = NULL;
	int rc;

	while ((rc = xn_spdy_parse(cli, in, &f, &err)) == 1)
		;
	if (rc < 0) {
		fprintf(stderr, "the session wrote bad SPDY: %s\n", xn_error_msg(err));
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	size_t piece = 1 + xn_fuzz_take_byte(&data, &size) * 64;
	struct evbuffer *all = evbuffer_new(), *chunk = evbuffer_new();
	struct bufferevent *pair[2];
	struct xn_spdy_codec cli;
	struct run r = {0};

	if (base == NULL && (base = event_base_new()) == NULL)
		abort();
	if (all == NULL || chunk == NULL || bufferevent_pair_new(base, 0, pair) < 0 ||
	    xn_spdy_codec_init(&cli, NULL) < 0)
		abort();
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	r.s = xn_spdy_sess_new(pair[0], &cbs, &r, NULL);
	if (r.s == NULL)
		abort();
	xn_fuzz_spdy_input(data, size, all);
	while (!r.ended && evbuffer_get_length(all) > 0) {
		evbuffer_remove_buffer(all, chunk, piece);
		bufferevent_write_buffer(pair[1], chunk);
		spin(base);
		check_output(&cli, pair[1]);
	}
	if (!r.ended) {
		xn_spdy_close(r.s);
		spin(base);
		check_output(&cli, pair[1]);
	}
	xn_spdy_sess_free(r.s);
	bufferevent_free(pair[0]);
	bufferevent_free(pair[1]);
	xn_spdy_codec_dispose(&cli);
	evbuffer_free(chunk);
	evbuffer_free(all);
	spin(base); /* run what the freed bufferevents left behind */
	return 0;
}
