/* The review tests (test_reviews.c), added to the auth suite. */
#ifndef AHPA_TEST_AUTH_REVIEWS_H
#define AHPA_TEST_AUTH_REVIEWS_H

#include <check.h>

void ahpa_auth_test_reviews(Suite *s);

#endif
