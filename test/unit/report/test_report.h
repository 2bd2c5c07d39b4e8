/* The test cases of test/unit/report, one adder per file. */
#ifndef AHPA_TEST_REPORT_H
#define AHPA_TEST_REPORT_H

#include <check.h>

void ahpa_report_test_path(Suite *s);

#endif
