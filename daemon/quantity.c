/* quantity.c - parse and format Kubernetes resource quantities. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenlet/quantity.h"

struct suffix {
	const char *s;
	int base; /* 2 or 10 */
	int exp;  /* power of base */
};

static const struct suffix suffixes[] = {
    {"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50},
    {"Ei", 2, 60}, {"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3},
    {"M", 10, 6},  {"G", 10, 9},  {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18},
};

/* Bound of the mantissa while reading: far above any result (INT64_MAX),
 * far below where __int128 arithmetic would overflow (2^127 = 1.7e38), so a
 * value whose digits exceed INT64_MAX but whose scaled result fits (e.g.
 * "9223372036854775806.1") is read, and the result is checked once scaled. */
#define MANT_MAX ((__int128)INT64_MAX * 1000000000000000000LL)

/* Multiply v by 10 (or divide, rounding up) |n| times, checking overflow. */
static int scale10(__int128 *v, int n)
{
	for (; n > 0; n--) {
		*v *= 10;
		if (*v > INT64_MAX)
			return -1;
	}
	for (; n < 0; n++)
		*v = (*v + 9) / 10;
	return 0;
}

int xn_quantity_parse(const char *s, int scale, int64_t *out, xn_err *err)
{
	const char *p = s;
	__int128 mant = 0;
	int frac_digits = 0, digits = 0, exp10 = 0, exp2 = 0;
	bool rest = false;

	if (s == NULL || *s == '\0')
		return xn_error(err, EINVAL, "quantity: empty");
	if (*p == '+')
		p++;
	if (*p == '-')
		return xn_error(err, EINVAL, "quantity \"%s\": must not be negative", s);
	for (; isdigit((unsigned char)*p); p++, digits++) {
		mant = mant * 10 + (*p - '0');
		if (mant > MANT_MAX)
			return xn_error(err, ERANGE, "quantity \"%s\": too large", s);
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++, frac_digits++) {
			if (frac_digits < 18) {
				mant = mant * 10 + (*p - '0');
				if (mant > MANT_MAX)
					return xn_error(err, ERANGE, "quantity \"%s\": too large",
							s);
			} else {
				frac_digits--; /* beyond nano precision: ignore */
				rest |= *p != '0';
			}
		}
		/* a value below the last digit kept still rounds up, never down */
		if (rest)
			mant++;
	}
	if (digits == 0)
		return xn_error(err, EINVAL, "quantity \"%s\": no number", s);
	if (*p != '\0') {
		size_t i;

		/* suffixes first, as apimachinery: "E" and "Ei" are not exponents */
		for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
			if (strcmp(p, suffixes[i].s) == 0)
				break;
		if (i < sizeof(suffixes) / sizeof(suffixes[0])) {
			if (suffixes[i].base == 2)
				exp2 = suffixes[i].exp;
			else
				exp10 = suffixes[i].exp;
		} else if (*p == 'e' || *p == 'E') {
			int64_t e;
			char *end;

			errno = 0;
			e = strtoll(p + 1, &end, 10);
			if (end == p + 1 || *end != '\0' || errno || e > 30 || e < -30)
				return xn_error(err, EINVAL, "quantity \"%s\": bad exponent", s);
			exp10 = (int)e;
		} else {
			return xn_error(err, EINVAL, "quantity \"%s\": unknown suffix \"%s\"", s,
					p);
		}
	}
	/* value = mant * 10^(exp10 - frac_digits) * 2^exp2, in units of 10^-scale */
	for (; exp2 > 0; exp2--) {
		mant *= 2;
		if (mant > MANT_MAX)
			return xn_error(err, ERANGE, "quantity \"%s\": too large", s);
	}
	if (scale10(&mant, exp10 - frac_digits + scale) < 0)
		return xn_error(err, ERANGE, "quantity \"%s\": too large", s);
	if (mant > INT64_MAX)
		return xn_error(err, ERANGE, "quantity \"%s\": too large", s);
	*out = (int64_t)mant;
	return 0;
}

void xn_quantity_format_bytes(int64_t bytes, char *buf, unsigned len)
{
	static const char *units[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};

	for (int i = 0; i < 6; i++) {
		int shift = 60 - 10 * i;
		int64_t unit = (int64_t)1 << shift;

		if (bytes != 0 && bytes % unit == 0) {
			snprintf(buf, len, "%" PRId64 "%s", bytes / unit, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64, bytes);
}

void xn_quantity_format_milli(int64_t milli, char *buf, unsigned len)
{
	if (milli % 1000 == 0)
		snprintf(buf, len, "%" PRId64, milli / 1000);
	else
		snprintf(buf, len, "%" PRId64 "m", milli);
}
