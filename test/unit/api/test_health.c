/* Health endpoints and the check registry. */
#include <stdio.h>
#include <string.h>

#include "ahpa/api.h"
#include "ahpa/error.h"
#include "api_test.h"
#include "unit.h"

static int failing(void *ctx, char *reason, size_t n)
{
    (void)ctx;
    snprintf(reason, n, "prometheus at 10.9.9.9 unreachable");
    return -AHPA_EUPSTREAM;
}

START_TEST(failing_check_only_where_registered)
{
    struct test_server t;
    test_server_start(&t, NULL);
    ck_assert_int_eq(ahpa_server_add_check(t.server, "prometheus", AHPA_CHECK_READYZ | AHPA_CHECK_HEALTHZ,
                                           failing, NULL, NULL), 0);
    struct test_reply r = test_request(&t, NULL, "/readyz", NULL, NULL);
    ck_assert_int_eq(r.status, 500);
    ck_assert_str_eq(r.body, "[+]ping ok\n[+]shutdown ok\n[-]prometheus failed: reason withheld\n"
                             "readyz check failed\n");
    ck_assert(strstr(r.body, "10.9.9.9") == NULL);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/livez", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok");
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/healthz/prometheus", NULL, NULL);
    ck_assert_int_eq(r.status, 500);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/livez/prometheus", NULL, NULL);
    ck_assert_int_eq(r.status, 404);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/readyz?exclude=prometheus", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

START_TEST(shutdown_fails_readiness_only)
{
    struct test_server t;
    test_server_start(&t, NULL);
    struct test_reply r = test_request(&t, NULL, "/readyz?verbose", NULL, NULL);
    ck_assert_str_eq(r.body, "[+]ping ok\n[+]shutdown ok\nreadyz check passed\n");
    test_reply_dispose(&r);
    ahpa_server_begin_shutdown(t.server);
    r = test_request(&t, NULL, "/readyz", NULL, NULL);
    ck_assert_int_eq(r.status, 500);
    ck_assert(strstr(r.body, "[-]shutdown failed: reason withheld") != NULL);
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/livez?verbose", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "[+]ping ok\nlivez check passed\n");
    test_reply_dispose(&r);
    r = test_request(&t, NULL, "/apis", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    test_reply_dispose(&r);
    test_server_stop(&t);
}
END_TEST

START_TEST(registry_is_bounded)
{
    struct test_server t;
    test_server_start(&t, NULL);
    int added = 0;
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        if (ahpa_server_add_check(t.server, name, AHPA_CHECK_LIVEZ, failing, NULL, NULL) == 0)
            added++;
    }
    ck_assert_int_eq(added, 30); /* 32 minus ping and shutdown */
    test_server_stop(&t);
}
END_TEST

void test_api_add_health(Suite *s)
{
    TCase *tc = tcase_create("health");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, failing_check_only_where_registered);
    tcase_add_test(tc, shutdown_fails_readiness_only);
    tcase_add_test(tc, registry_is_bounded);
    suite_add_tcase(s, tc);
}
