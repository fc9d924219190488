/* metrics.c - the daemon's own metric registry (see metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/metrics.h"
#include "xenlet/util.h"

#define MAX_FAMILIES 64

struct child {
	char *lvalue; /* NULL: the family has no label */
	double value; /* counter/gauge; histogram: sum */
	double count; /* histogram */
	double buckets[XN_METRICS_MAX_BUCKETS];
};

struct family {
	char *name;
	char *help;
	char *label;
	enum xn_metric_type type;
	double bounds[XN_METRICS_MAX_BUCKETS];
	size_t nbounds;
	struct child children[XN_METRICS_MAX_CHILDREN];
	size_t nchildren;
};

static struct family *families[MAX_FAMILIES];
static size_t nfamilies;

static struct family *family(const char *name, const char *help, const char *label,
			     enum xn_metric_type type)
{
	struct family *f;

	for (size_t i = 0; i < nfamilies; i++)
		if (strcmp(families[i]->name, name) == 0)
			return families[i]->type == type ? families[i] : NULL;
	if (nfamilies == MAX_FAMILIES)
		return NULL;
	f = xn_xcalloc(1, sizeof(*f));
	f->name = xn_xstrdup(name);
	f->help = xn_xstrdup(help ? help : name);
	f->label = xn_dup_or_null(label);
	f->type = type;
	families[nfamilies++] = f;
	return f;
}

static struct child *child(struct family *f, const char *lvalue)
{
	struct child *c;

	if (f->label == NULL)
		lvalue = NULL;
	else if (lvalue == NULL)
		lvalue = "";
	for (size_t i = 0; i < f->nchildren; i++) {
		c = &f->children[i];
		if ((c->lvalue == NULL && lvalue == NULL) ||
		    (c->lvalue && lvalue && strcmp(c->lvalue, lvalue) == 0))
			return c;
	}
	/* the last slot is kept for "other" */
	if (f->nchildren == XN_METRICS_MAX_CHILDREN - 1 && lvalue != NULL)
		lvalue = "other";
	if (f->nchildren == XN_METRICS_MAX_CHILDREN)
		return &f->children[XN_METRICS_MAX_CHILDREN - 1];
	c = &f->children[f->nchildren++];
	c->lvalue = xn_dup_or_null(lvalue);
	return c;
}

void xn_metric_count(const char *name, const char *help, const char *label, const char *lvalue,
		     double v)
{
	struct family *f = family(name, help, label, XN_METRIC_COUNTER);

	if (f && v >= 0)
		child(f, lvalue)->value += v;
}

void xn_metric_set(const char *name, const char *help, const char *label, const char *lvalue,
		   double v)
{
	struct family *f = family(name, help, label, XN_METRIC_GAUGE);

	if (f)
		child(f, lvalue)->value = v;
}

void xn_metric_observe(const char *name, const char *help, const double *bounds, size_t nbounds,
		       double v)
{
	struct family *f = family(name, help, NULL, XN_METRIC_HISTOGRAM);
	struct child *c;

	if (f == NULL)
		return;
	if (f->nchildren == 0) {
		f->nbounds = nbounds < XN_METRICS_MAX_BUCKETS ? nbounds : XN_METRICS_MAX_BUCKETS;
		memcpy(f->bounds, bounds, f->nbounds * sizeof(*bounds));
	}
	c = child(f, NULL);
	c->value += v;
	c->count += 1;
	for (size_t i = 0; i < f->nbounds; i++)
		if (v <= f->bounds[i])
			c->buckets[i] += 1;
}

double xn_metric_value(const char *name, const char *lvalue)
{
	for (size_t i = 0; i < nfamilies; i++) {
		struct family *f = families[i];

		if (strcmp(f->name, name) != 0)
			continue;
		for (size_t j = 0; j < f->nchildren; j++) {
			struct child *c = &f->children[j];
			if ((c->lvalue == NULL && lvalue == NULL) ||
			    (c->lvalue && lvalue && strcmp(c->lvalue, lvalue) == 0))
				return f->type == XN_METRIC_HISTOGRAM ? c->count : c->value;
		}
	}
	return -1;
}

void xn_prom_escape(const char *in, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (; *in && o + 2 < len; in++) {
		if (*in == '\\' || *in == '"') {
			buf[o++] = '\\';
			buf[o++] = *in;
		} else if (*in == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *in;
		}
	}
	buf[o] = '\0';
}

void xn_prom_value(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else if (isinf(v))
		snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else {
		/* the shortest of 15 or 17 digits that reads back the same */
		snprintf(buf, len, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, len, "%.17g", v);
	}
}

static const char *type_name(enum xn_metric_type t)
{
	return t == XN_METRIC_COUNTER ? "counter" : t == XN_METRIC_GAUGE ? "gauge" : "histogram";
}

static void write_family(FILE *out, const struct family *f)
{
	char v[64], lv[256], b[64];

	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, type_name(f->type));
	for (size_t j = 0; j < f->nchildren; j++) {
		const struct child *c = &f->children[j];

		if (f->type != XN_METRIC_HISTOGRAM) {
			xn_prom_value(c->value, v, sizeof(v));
			if (c->lvalue) {
				xn_prom_escape(c->lvalue, lv, sizeof(lv));
				fprintf(out, "%s{%s=\"%s\"} %s\n", f->name, f->label, lv, v);
			} else {
				fprintf(out, "%s %s\n", f->name, v);
			}
			continue;
		}
		for (size_t i = 0; i < f->nbounds; i++) {
			xn_prom_value(f->bounds[i], b, sizeof(b));
			xn_prom_value(c->buckets[i], v, sizeof(v));
			fprintf(out, "%s_bucket{le=\"%s\"} %s\n", f->name, b, v);
		}
		xn_prom_value(c->count, v, sizeof(v));
		fprintf(out, "%s_bucket{le=\"+Inf\"} %s\n", f->name, v);
		xn_prom_value(c->value, b, sizeof(b));
		fprintf(out, "%s_sum %s\n%s_count %s\n", f->name, b, f->name, v);
	}
}

void xn_metrics_write(FILE *out)
{
	for (size_t i = 0; i < nfamilies; i++)
		write_family(out, families[i]);
}

void xn_metrics_reset(void)
{
	for (size_t i = 0; i < nfamilies; i++) {
		struct family *f = families[i];
		for (size_t j = 0; j < f->nchildren; j++)
			free(f->children[j].lvalue);
		free(f->name);
		free(f->help);
		free(f->label);
		free(f);
	}
	nfamilies = 0;
}
