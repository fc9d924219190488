/* test_event_correlate.c - the token bucket and the Event correlator (what a
 * flood of Events about one object costs the API server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xenlet/event_correlate.h"
#include "xenlet/token_bucket.h"

#define S 1000000000ull

static void bucket_burst_then_rate(void **state)
{
	struct xn_token_bucket tb;
	unsigned ok = 0;

	xn_token_bucket_init(&tb, 5, 0.5); /* 5 at once, then one every 2 s */
	for (int i = 0; i < 100; i++)
		ok += xn_token_bucket_take(&tb, 1000 * S);
	assert_int_equal(ok, 5);
	assert_int_equal(tb.dropped, 95);
	assert_false(xn_token_bucket_take(&tb, 1000 * S + S)); /* half a token */
	assert_true(xn_token_bucket_take(&tb, 1000 * S + 2 * S));
	assert_false(xn_token_bucket_take(&tb, 1000 * S + 2 * S));
	/* a long quiet time fills it up to the burst, not beyond */
	ok = 0;
	for (int i = 0; i < 20; i++)
		ok += xn_token_bucket_take(&tb, 5000 * S);
	assert_int_equal(ok, 5);
}

static void bucket_clock_backwards(void **state)
{
	struct xn_token_bucket tb;

	xn_token_bucket_init(&tb, 1, 1);
	assert_true(xn_token_bucket_take(&tb, 10 * S));
	assert_false(xn_token_bucket_take(&tb, 5 * S)); /* earlier: no refill, no wrap */
	assert_true(xn_token_bucket_take(&tb, 11 * S));
}

static unsigned forgotten;
static void forget(struct xn_evcorr_event *ev, void *arg)
{
	forgotten++;
}

/* 1000 identical Events in a second: one object, its count 1000, and one
 * update (the rest are due later and go in one PATCH). */
static void identical_fold(void **state)
{
	struct xn_evcorr *c = xn_evcorr_new(forget, NULL);
	struct xn_evcorr_event *e, *first = NULL;
	unsigned news = 0, updates = 0, later = 0;
	uint64_t t = 100 * S;

	for (int i = 0; i < 1000; i++) {
		switch (xn_evcorr_observe(c, "uid-1", "Warning", "Unhealthy", "bad flag",
					  t + i * 1000000ull, &e)) {
		case XN_EVCORR_NEW:
			news++;
			first = e;
			break;
		case XN_EVCORR_UPDATE: updates++; break;
		case XN_EVCORR_LATER: later++; break;
		case XN_EVCORR_DROP: fail_msg("dropped a repeat"); break;
		}
		assert_ptr_equal(e, first);
	}
	assert_int_equal(news, 1);
	assert_int_equal(updates, 0); /* the first update waits for the interval */
	assert_int_equal(later, 999);
	assert_int_equal(first->count, 1000);
	assert_true(first->due);
	assert_int_equal(xn_evcorr_next_due(c), t + XN_EVCORR_PATCH_MIN_NS);
	xn_evcorr_free(c);
}

static unsigned flushed;
static void count_flush(struct xn_evcorr_event *ev, void *arg)
{
	flushed++;
	*(unsigned *)arg = ev->count;
}

/* Repeats spread over a minute: at most one update per interval, and the
 * last count always goes out. */
static void updates_paced(void **state)
{
	struct xn_evcorr *c = xn_evcorr_new(NULL, NULL);
	struct xn_evcorr_event *e;
	unsigned updates = 0, sent_count = 0;
	uint64_t t0 = 100 * S, t;

	assert_int_equal(xn_evcorr_observe(c, "u", "Warning", "R", "m", t0, &e), XN_EVCORR_NEW);
	flushed = 0;
	for (t = t0 + S / 10; t < t0 + 60 * S; t += S / 10) {
		if (xn_evcorr_observe(c, "u", "Warning", "R", "m", t, &e) == XN_EVCORR_UPDATE) {
			updates++;
			sent_count = e->count;
		}
		if (xn_evcorr_next_due(c) && xn_evcorr_next_due(c) <= t)
			xn_evcorr_flush_due(c, t, count_flush, &sent_count);
	}
	/* 600 repeats in 60 s, one update per 10 s at most */
	assert_true(updates + flushed <= 6);
	assert_true(updates + flushed >= 5);
	assert_int_equal(e->count, 600);
	/* the rest after the last update: due, and flushed at its time */
	if (e->due) {
		t = xn_evcorr_next_due(c);
		assert_true(t > 0);
		xn_evcorr_flush_due(c, t, count_flush, &sent_count);
	}
	assert_int_equal(sent_count, 600);
	assert_false(e->due);
	assert_int_equal(xn_evcorr_next_due(c), 0);
	xn_evcorr_free(c);
}

/* Messages that differ (a length in them, say): after 10 distinct ones of
 * the same reason, one combined Event takes the rest. */
static void distinct_messages_aggregate(void **state)
{
	struct xn_evcorr *c = xn_evcorr_new(NULL, NULL);
	struct xn_evcorr_event *e, *combined = NULL;
	unsigned news = 0;
	char msg[64];

	for (int i = 0; i < 1000; i++) {
		snprintf(msg, sizeof(msg), "value too long (%d bytes, max 1)", i + 2);
		if (xn_evcorr_observe(c, "u", "Warning", "Unhealthy", msg, 100 * S + i, &e) ==
		    XN_EVCORR_NEW) {
			news++;
			if (strncmp(e->message, XN_EVCORR_COMBINED, strlen(XN_EVCORR_COMBINED)) ==
			    0)
				combined = e;
		}
	}
	assert_int_equal(news, XN_EVCORR_AGGR_MAX + 1);
	assert_non_null(combined);
	assert_int_equal(combined->count, 1000 - XN_EVCORR_AGGR_MAX);
	assert_string_equal(combined->message,
			    XN_EVCORR_COMBINED "value too long (1001 bytes, max 1)");
	/* another reason of the same object is counted apart */
	assert_int_equal(xn_evcorr_observe(c, "u", "Warning", "Other", "x", 100 * S, &e),
			 XN_EVCORR_NEW);
	xn_evcorr_free(c);
}

/* New Event objects about one object: the burst, then one per 5 minutes;
 * another object has its own bucket. */
static void spam_filter(void **state)
{
	struct xn_evcorr *c = xn_evcorr_new(NULL, NULL);
	struct xn_evcorr_event *e;
	unsigned news = 0;
	char reason[32];

	for (int i = 0; i < 100; i++) {
		snprintf(reason, sizeof(reason), "Reason%d", i); /* defeats aggregation */
		news +=
		    xn_evcorr_observe(c, "u", "Warning", reason, "m", 100 * S, &e) == XN_EVCORR_NEW;
	}
	assert_int_equal(news, XN_EVCORR_SPAM_BURST);
	assert_int_equal(xn_evcorr_dropped(c), 100 - XN_EVCORR_SPAM_BURST);
	assert_null(e);
	assert_int_equal(xn_evcorr_observe(c, "v", "Warning", "Reason0", "m", 100 * S, &e),
			 XN_EVCORR_NEW);
	assert_int_equal(xn_evcorr_observe(c, "u", "Warning", "Late", "m",
					   100 * S + XN_EVCORR_SPAM_EVERY_S * S, &e),
			 XN_EVCORR_NEW);
	/* a repeat of a known Event is never dropped: it only counts */
	assert_int_equal(xn_evcorr_observe(c, "u", "Warning", "Reason0", "m", 101 * S, &e),
			 XN_EVCORR_LATER);
	xn_evcorr_free(c);
}

/* After the window the same Event is a new object; memory stays bounded. */
static void window_and_bound(void **state)
{
	struct xn_evcorr *c = xn_evcorr_new(forget, NULL);
	struct xn_evcorr_event *e;
	char obj[32];

	assert_int_equal(xn_evcorr_observe(c, "u", "Normal", "R", "m", 100 * S, &e), XN_EVCORR_NEW);
	assert_int_equal(
	    xn_evcorr_observe(c, "u", "Normal", "R", "m", 100 * S + XN_EVCORR_WINDOW_NS, &e),
	    XN_EVCORR_NEW);
	assert_int_equal(e->count, 1);
	forgotten = 0;
	for (int i = 0; i < 3 * XN_EVCORR_MAX; i++) {
		snprintf(obj, sizeof(obj), "obj-%d", i);
		assert_int_equal(xn_evcorr_observe(c, obj, "Normal", "R", "m", 200 * S, &e),
				 XN_EVCORR_NEW);
	}
	assert_int_equal(forgotten, 2 * XN_EVCORR_MAX + 1);
	xn_evcorr_free(c);
	assert_int_equal(forgotten, 3 * XN_EVCORR_MAX + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bucket_burst_then_rate),
	    cmocka_unit_test(bucket_clock_backwards),
	    cmocka_unit_test(identical_fold),
	    cmocka_unit_test(updates_paced),
	    cmocka_unit_test(distinct_messages_aggregate),
	    cmocka_unit_test(spam_filter),
	    cmocka_unit_test(window_and_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
