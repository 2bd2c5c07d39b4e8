/* Kubernetes resource.Quantity strings.
 *
 * Formatting produces the canonical forms a Go client parses: a whole
 * number ("10") when the value is integral and fits, else milli-units
 * ("45500m"), rounding to the nearest milli. Values that cannot be
 * represented (NaN, +-Inf, magnitudes past int64 milli-units) are refused
 * rather than written. */
#ifndef AHPA_QUANTITY_H
#define AHPA_QUANTITY_H

#include <stddef.h>

struct ahpa_error;

/* Largest string ahpa_quantity_format() writes, NUL included. */
#define AHPA_QUANTITY_MAX 32

/* Writes `v` into out[AHPA_QUANTITY_MAX]. Returns 0, or -AHPA_ERANGE for
 * NaN, infinities and out-of-range magnitudes (out is then ""). Negative
 * values are formatted ("-1500m"); callers decide whether to publish them. */
int ahpa_quantity_format(double v, char out[AHPA_QUANTITY_MAX]);

/* Parses "10", "500m", "1.5", "2Gi", "3k", "1e3", "100Mi" ... into a double
 * in base units. Returns 0 or -AHPA_EPARSE with a message. */
int ahpa_quantity_parse(const char *s, double *out, struct ahpa_error *err);

#endif
