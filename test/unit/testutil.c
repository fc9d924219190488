/* testutil.c - helpers linked into every unit test binary (testutil.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "xenlet/util.h"

char *xn_test_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 8192;
			buf = xn_xrealloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
		fail_msg("read %s: %s", path, strerror(errno));
	fclose(f);
	buf[len] = '\0';
	return buf;
}

void xn_test_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail_msg("create %s: %s", path, strerror(errno));
	if (fputs(text, f) == EOF || fclose(f) != 0)
		fail_msg("write %s: %s", path, strerror(errno));
}

void xn_test_golden(const char *path, const char *got)
{
	const char *upd = getenv("XN_UPDATE_GOLDEN");
	cleanup_free char *want = NULL;

	if (upd != NULL && strcmp(upd, "1") == 0)
		xn_test_write(path, got);
	want = xn_test_slurp(path);
	if (want == NULL)
		fail_msg("%s: cannot read (XN_UPDATE_GOLDEN=1 writes it): %s", path,
			 strerror(errno));
	if (strcmp(got, want) != 0)
		fail_msg("%s: differs from what the code produced (XN_UPDATE_GOLDEN=1 rewrites it)"
			 "\n--- got\n%s\n--- want\n%s",
			 path, got, want);
}

static void deadline_passed(evutil_socket_t fd, short what, void *arg)
{
	((struct xn_test_deadline *)arg)->passed = 1;
}

void xn_test_deadline_start(struct xn_test_deadline *d, struct event_base *base,
			    unsigned timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	d->base = base;
	d->passed = 0;
	d->timer = evtimer_new(base, deadline_passed, d);
	assert_non_null(d->timer);
	assert_int_equal(evtimer_add(d->timer, &tv), 0);
}

bool xn_test_deadline_step(struct xn_test_deadline *d)
{
	if (d->passed)
		return false;
	event_base_loop(d->base, EVLOOP_ONCE);
	return true;
}

void xn_test_deadline_stop(struct xn_test_deadline *d)
{
	event_free(d->timer);
	d->timer = NULL;
}

void xn_test_run_for(struct event_base *base, unsigned ms)
{
	struct xn_test_deadline d;

	xn_test_deadline_start(&d, base, ms);
	while (xn_test_deadline_step(&d))
		;
	xn_test_deadline_stop(&d);
}
