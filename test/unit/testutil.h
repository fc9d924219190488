/* testutil.h - helpers linked into every unit test binary: whole files,
 * golden files, and driving a libevent loop with a bound. */
#ifndef XN_TESTUTIL_H
#define XN_TESTUTIL_H

#include <stdbool.h>

#include <event2/event.h>

/* The whole of path as a NUL-terminated string (free it); NULL when the
 * file cannot be opened.  A read error fails the test. */
char *xn_test_slurp(const char *path);

/* Create or truncate path and write text to it; any error fails the test. */
void xn_test_write(const char *path, const char *text);

/* Fail the test unless got equals the contents of the golden file at path.
 * With XN_UPDATE_GOLDEN=1 in the environment, path is first rewritten with
 * got (review the diff before committing it). */
void xn_test_golden(const char *path, const char *got);

/* A bound on how long a test runs an event loop: a hang becomes a failure
 * instead of a stuck test, so the bound is far above what the code needs
 * and never a measurement. */
struct xn_test_deadline {
	struct event_base *base;
	struct event *timer;
	int passed;
};

void xn_test_deadline_start(struct xn_test_deadline *d, struct event_base *base,
			    unsigned timeout_ms);
/* Runs one round of the loop (blocking until something happens, at the
 * latest the deadline) and returns true; returns false, running nothing,
 * once the deadline has passed. */
bool xn_test_deadline_step(struct xn_test_deadline *d);
void xn_test_deadline_stop(struct xn_test_deadline *d);

/* Run base's loop for ms milliseconds (to show that nothing happens). */
void xn_test_run_for(struct event_base *base, unsigned ms);

/* Run base's loop until cond holds, re-evaluated after every round; fails
 * the test, naming cond, if timeout_ms pass first. */
#define XN_TEST_RUN_UNTIL(base, timeout_ms, cond)                                                  \
	do {                                                                                       \
		struct xn_test_deadline dl_;                                                       \
		xn_test_deadline_start(&dl_, (base), (timeout_ms));                                \
		while (!(cond) && xn_test_deadline_step(&dl_))                                     \
			;                                                                          \
		xn_test_deadline_stop(&dl_);                                                       \
		if (!(cond))                                                                       \
			fail_msg("timed out waiting for %s", #cond);                               \
	} while (0)

#endif
