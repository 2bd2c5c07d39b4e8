/* Helpers shared by the unit tests. */
#ifndef AHPA_TEST_UNIT_H
#define AHPA_TEST_UNIT_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined once per test/unit/<mod>/ directory. */
Suite *ahpa_unit_suite(void);

/* Doubles are never compared with ==: each numeric assertion names the
 * tolerance it accepts. */
#define AHPA_ASSERT_NEAR(got, want, tol)                                      \
    do {                                                                      \
        double ahpa_g_ = (got), ahpa_w_ = (want), ahpa_t_ = (tol);            \
        ck_assert_msg(fabs(ahpa_g_ - ahpa_w_) <= ahpa_t_,                     \
                      "%s = %.17g, want %.17g +- %g", #got, ahpa_g_, ahpa_w_, \
                      ahpa_t_);                                               \
    } while (0)

/* The value of the unlabelled sample `name` in Prometheus text exposition
 * (-1 when there is none), for tests of /metrics collectors. */
static inline double ahpa_unit_prom_value(const char *text, const char *name)
{
    char pat[160];
    snprintf(pat, sizeof(pat), "\n%s ", name);
    const char *at = strstr(text, pat);
    return at ? strtod(at + strlen(pat), NULL) : -1;
}

#endif
