/* test_kube_watch.c - kube_watch_feed on a request built by hand (no
 * network): events queued, and a bad line's message (issue 9, finding 6:
 * it read past the line, found by test/fuzz/fuzz_kube_watch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "../../daemon/kube_internal.h"

struct feed {
	struct event_base *base;
	struct xn_kube_req r;
};

static void noop(evutil_socket_t fd, short what, void *arg) {}

static int setup(void **state)
{
	struct feed *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->base = event_base_new();
	STAILQ_INIT(&f->r.events);
	f->r.is_watch = 1;
	f->r.dispatch = event_new(f->base, -1, 0, noop, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct feed *f = *state;
	struct kube_event *e;

	while ((e = STAILQ_FIRST(&f->r.events)) != NULL) {
		STAILQ_REMOVE_HEAD(&f->r.events, link);
		cJSON_Delete(e->object);
		free(e);
	}
	event_free(f->r.dispatch);
	event_base_free(f->base);
	free(f->r.buf);
	free(f->r.werr);
	free(f);
	return 0;
}

static void events_queued(void **state)
{
	struct feed *f = *state;
	const char *s = "{\"type\":\"ADDED\",\"object\":{\"a\":1}}\r\n{\"type\":\"DEL";
	struct kube_event *e;

	assert_int_equal(kube_watch_feed(&f->r, s, strlen(s)), 0);
	s = "ETED\",\"object\":{}}\n";
	assert_int_equal(kube_watch_feed(&f->r, s, strlen(s)), 0);
	assert_null(f->r.werr);
	e = STAILQ_FIRST(&f->r.events);
	assert_non_null(e);
	assert_int_equal(e->type, XN_KUBE_ADDED);
	e = STAILQ_NEXT(e, link);
	assert_non_null(e);
	assert_int_equal(e->type, XN_KUBE_DELETED);
	assert_null(STAILQ_NEXT(e, link));
}

/* The message quotes the bad line only: not the bytes after it in the
 * buffer, and nothing past the buffer's end (ASan: heap-buffer-overflow on
 * "x\n" before the fix). */
static void bad_line_quoted_alone(void **state)
{
	struct feed *f = *state;

	assert_int_equal(kube_watch_feed(&f->r, "x\n", 2), -1);
	assert_string_equal(f->r.werr, "watch: bad event: x");
	free(f->r.werr);
	f->r.werr = NULL;
	f->r.len = 0;
	assert_int_equal(kube_watch_feed(&f->r, "{\"type\":\"NOPE\"} \r\n{\"next\":1}", 28), -1);
	assert_string_equal(f->r.werr, "watch: bad event: {\"type\":\"NOPE\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(events_queued, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_line_quoted_alone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
