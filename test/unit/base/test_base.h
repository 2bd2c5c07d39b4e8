/* Test cases of lib/base kept in files of their own. */
#ifndef AHPA_TEST_BASE_H
#define AHPA_TEST_BASE_H

#include "unit.h"

TCase *ahpa_test_base_lru_tcase(void);

#endif
