/* Test cases of the prom suite, one TCase per file. */
#ifndef AHPA_TEST_PROM_H
#define AHPA_TEST_PROM_H

#include <check.h>

TCase *prom_parse_tcase(void);
TCase *prom_client_tcase(void);
TCase *prom_json_tcase(void);

#endif
