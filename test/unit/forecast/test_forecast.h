/* Shared between the forecast test files. */
#ifndef AHPA_TEST_FORECAST_H
#define AHPA_TEST_FORECAST_H

#include <check.h>
#include <stdint.h>

double tf_normal(uint64_t *state);
void ahpa_unit_suite_backtest(Suite *s);
void ahpa_unit_suite_gaps(Suite *s);

#endif
