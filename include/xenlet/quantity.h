/* quantity.h - Kubernetes resource quantities ("128Mi", "1.5Gi", "500m", "2").
 *
 * Parsed exactly as apimachinery's resource.Quantity accepts them: a signed
 * decimal number, then a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix
 * (n u m "" k M G T P E) or a decimal exponent (e3, E-2).  Values are
 * returned as an integer in a chosen unit, rounded up as the kubelet does
 * (so "1.5" CPU in milli-units is 1500 and "1Ki" in bytes is 1024).
 */
#ifndef XENLET_QUANTITY_H
#define XENLET_QUANTITY_H

#include <stdint.h>

#include "xenlet/err.h"

/* Value of s in units of 10^-scale (scale 0: the plain number, e.g. bytes;
 * scale 3: milli-units, e.g. millicores).  Rejects negative values and
 * results above INT64_MAX with an error naming the text. */
int xn_quantity_parse(const char *s, int scale, int64_t *out, xn_err *err);

/* Format bytes the way kubectl shows them: "512Mi", "3Gi", else "1234". */
void xn_quantity_format_bytes(int64_t bytes, char *buf, unsigned len);
/* Format millicores: "2" for 2000, "500m" for 500. */
void xn_quantity_format_milli(int64_t milli, char *buf, unsigned len);

#endif
