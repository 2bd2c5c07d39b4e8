/* Shared between the test files of test/unit/ahpaobj. */
#ifndef AHPA_TEST_AHPAOBJ_H
#define AHPA_TEST_AHPAOBJ_H

#include <check.h>
#include <stddef.h>

/* Reads `rel` under $AHPA_SOURCE_DIR (the repository; ctest sets it, the
 * default is the current directory). Heap, NUL-terminated; fails the test
 * when the file cannot be read. `len` may be NULL. */
char *ahpaobj_test_read_source(const char *rel, size_t *len);

/* Adds the manifest test cases (examples and CRD) to `s`. */
void ahpaobj_test_add_manifest_cases(Suite *s);

#endif
