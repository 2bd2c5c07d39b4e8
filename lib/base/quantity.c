/* Kubernetes Quantity formatting and parsing. */
#include "ahpa/quantity.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"

/* Milli-units must fit an int64: |v| * 1000 < 2^63. */
#define MAX_MAGNITUDE 9.2e15

int ahpa_quantity_format(double v, char out[AHPA_QUANTITY_MAX])
{
    out[0] = '\0';
    if (!isfinite(v) || fabs(v) >= MAX_MAGNITUDE)
        return -AHPA_ERANGE;
    long long milli = llround(v * 1000.0);
    if (milli % 1000 == 0)
        snprintf(out, AHPA_QUANTITY_MAX, "%lld", milli / 1000);
    else
        snprintf(out, AHPA_QUANTITY_MAX, "%lldm", milli);
    return 0;
}

static const struct {
    const char *suffix;
    double factor;
} suffixes[] = {
    {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0},
    {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0},
    {"Ei", 1152921504606846976.0},
    {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6},
    {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
};

int ahpa_quantity_parse(const char *s, double *out, struct ahpa_error *err)
{
    if (s == NULL || *s == '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "empty quantity");
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p) && *p != '.')
        return ahpa_error_set(err, AHPA_EPARSE, "quantity \"%s\" must start with a number", s);
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return ahpa_error_set(err, AHPA_EPARSE, "quantity \"%s\" is not a number", s);
    if (*end == '\0') {
        *out = v;
        return 0;
    }
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strcmp(end, suffixes[i].suffix) == 0) {
            *out = v * suffixes[i].factor;
            return 0;
        }
    }
    return ahpa_error_set(err, AHPA_EPARSE, "quantity \"%s\" has an unknown suffix \"%s\"",
                          s, end);
}
