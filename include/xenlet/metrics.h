/* metrics.h - a tiny Prometheus registry for the daemon's own /metrics.
 *
 * One process-wide registry (the daemon is single-threaded): modules bump
 * counters and observe histograms where things happen; the kubelet API
 * writes the text exposition format on GET /metrics.  A metric is a family
 * (name, help, type) with children told apart by one optional label pair.
 * Families and children are created on first use and live until
 * xn_metrics_reset(); at most XN_METRICS_MAX_CHILDREN children per family
 * (later label values are counted under value "other"), so a label fed from
 * outside cannot grow memory without bound.
 */
#ifndef XENLET_METRICS_H
#define XENLET_METRICS_H

#include <stddef.h>
#include <stdio.h>

#define XN_METRICS_MAX_CHILDREN 32
#define XN_METRICS_MAX_BUCKETS	16

enum xn_metric_type { XN_METRIC_COUNTER, XN_METRIC_GAUGE, XN_METRIC_HISTOGRAM };

/* Add v to counter `name` (created with help on first use); label may be
 * NULL (no label) or "key" with value lvalue. */
void xn_metric_count(const char *name, const char *help, const char *label, const char *lvalue,
		     double v);
/* Set gauge `name`. */
void xn_metric_set(const char *name, const char *help, const char *label, const char *lvalue,
		   double v);
/* Observe v in histogram `name`; bounds (ascending, +Inf implied) are taken
 * on first use only. */
void xn_metric_observe(const char *name, const char *help, const double *bounds, size_t nbounds,
		       double v);
/* Value of a counter/gauge child, or -1 if it does not exist (for tests). */
double xn_metric_value(const char *name, const char *lvalue);

/* Write every family in the text exposition format 0.0.4. */
void xn_metrics_write(FILE *out);
/* Forget everything (tests, shutdown). */
void xn_metrics_reset(void);

/* Prometheus text helpers, shared with /metrics/resource. */
/* A label value with \, " and newline escaped (into buf, always terminated). */
void xn_prom_escape(const char *in, char *buf, size_t len);
/* A sample value: integers without exponent, NaN/+Inf/-Inf spelled out. */
void xn_prom_value(double v, char *buf, size_t len);

#endif
