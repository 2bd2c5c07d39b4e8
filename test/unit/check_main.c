/* Shared runner for the per-module Check suites.
 *
 * Each test/unit/<mod>/ directory defines exactly one ahpa_unit_suite()
 * that assembles the module's test cases. The exit status comes from
 * srunner_ntests_failed(), so ctest sees every failure. */
#include <check.h>
#include <stdlib.h>

#include "unit.h"

int main(void)
{
    SRunner *sr = srunner_create(ahpa_unit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
