/* Helpers shared by the unit tests. */
#ifndef AHPA_TEST_UNIT_H
#define AHPA_TEST_UNIT_H

#include <check.h>
#include <math.h>

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

#endif
