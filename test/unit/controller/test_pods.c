/* The pods of a scale target in the usage query: the <<.Pods>> regex
 * body (escaping), chunks within the byte bound, the bound on chunks, and
 * the unknown cases (no selector, no pod cache). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "controller_int.h"
#include "unit.h"

START_TEST(pods_render_as_an_escaped_alternation)
{
    char *names[] = {"a-1", "b.c", "d"};
    struct ahpa_controller__pods p;
    ck_assert_int_eq(ahpa_controller__pods_render(names, 3, 100, 4, &p, NULL), 0);
    ck_assert_uint_eq(p.nchunks, 1);
    ck_assert_uint_eq(p.npods, 3);
    /* "." is a regex metacharacter: \. in the regex, \\. in the PromQL string. */
    ck_assert_str_eq(p.chunks[0], "a-1|b\\\\.c|d");
    struct ahpa_buf q;
    ahpa_buf_init(&q);
    ahpa_controller__render_query_pods("sum(x{namespace=\"<<.Namespace>>\",pod=~\"<<.Pods>>\"}) "
                                       "# <<.Name>>",
                                       "ns", "web", p.chunks[0], &q);
    ck_assert_str_eq(ahpa_buf_cstr(&q),
                     "sum(x{namespace=\"ns\",pod=~\"a-1|b\\\\.c|d\"}) # web");
    /* Without pods the placeholder stays as written (the caller never
     * sends such a query: pods unknown means no query). */
    ahpa_buf_reset(&q);
    ahpa_controller__render_query_pods("pod=~\"<<.Pods>>\",<<.Name>>", "ns", "web", NULL, &q);
    ck_assert_str_eq(ahpa_buf_cstr(&q), "pod=~\"<<.Pods>>\",web");
    ahpa_buf_dispose(&q);
    ahpa_controller__pods_dispose(&p);
}
END_TEST

START_TEST(pods_are_chunked_within_the_bound)
{
    char *names[50];
    char buf[50][16];
    for (int i = 0; i < 50; i++) {
        snprintf(buf[i], sizeof(buf[i]), "pod-%02d", i); /* 6 bytes each */
        names[i] = buf[i];
    }
    struct ahpa_controller__pods p;
    /* 6 + 1 per name: 10 names in 69 bytes, not 11 (76). */
    ck_assert_int_eq(ahpa_controller__pods_render(names, 50, 70, 16, &p, NULL), 0);
    ck_assert_uint_eq(p.nchunks, 5);
    size_t seen = 0;
    for (size_t k = 0; k < p.nchunks; k++) {
        ck_assert_uint_le(strlen(p.chunks[k]), 70);
        seen++;
        for (const char *c = p.chunks[k]; *c; c++)
            seen += *c == '|';
    }
    ck_assert_uint_eq(seen, 50); /* every pod once */
    ck_assert_str_eq(p.chunks[0], "pod-00|pod-01|pod-02|pod-03|pod-04|pod-05|pod-06|pod-07|"
                                  "pod-08|pod-09");
    ck_assert_str_eq(p.chunks[4] + strlen(p.chunks[4]) - 6, "pod-49");
    ahpa_controller__pods_dispose(&p);

    /* More chunks than allowed: refused, not cut short (a partial sum
     * would be a wrong usage). */
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller__pods_render(names, 50, 70, 4, &p, &err), -AHPA_ETOOBIG);
    ck_assert_msg(strstr(err.msg, "50 pods") != NULL, "%s", err.msg);
    ck_assert_uint_eq(p.nchunks, 0);
    /* A name longer than a chunk on its own. */
    char *big[] = {"a-very-long-pod-name"};
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_controller__pods_render(big, 1, 10, 4, &p, &err), -AHPA_ETOOBIG);
    /* No pods: no chunk. */
    ck_assert_int_eq(ahpa_controller__pods_render(NULL, 0, 10, 4, &p, NULL), 0);
    ck_assert_uint_eq(p.nchunks, 0);
}
END_TEST

START_TEST(pods_unknown_without_selector_or_cache)
{
    struct ahpa_controller c;
    memset(&c, 0, sizeof(c));
    struct ahpa_obj o;
    memset(&o, 0, sizeof(o));
    o.ns = (char *)"default";
    o.target_kind = (char *)"Deployment";
    o.target_name = (char *)"web";
    struct ahpa_controller__pods p;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_controller__target_pods(&c, &o, "app=web", &p, &err), -AHPA_EUNAVAIL);
    c.opt.pods = (struct ahpa_kube_pods *)&c; /* never read: the selector is checked first */
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_controller__target_pods(&c, &o, "", &p, &err), -AHPA_EUNAVAIL);
    ck_assert_msg(strstr(err.msg, "no status.selector") != NULL, "%s", err.msg);
    ahpa_error_clear(&err);
    ck_assert_int_eq(ahpa_controller__target_pods(&c, &o, "app in (", &p, &err), -AHPA_EUNAVAIL);
    ck_assert_msg(strstr(err.msg, "status.selector app in (") != NULL, "%s", err.msg);
}
END_TEST

TCase *ahpa_controller_pods_tcase(void);
TCase *ahpa_controller_pods_tcase(void)
{
    TCase *tc = tcase_create("pods");
    tcase_add_test(tc, pods_render_as_an_escaped_alternation);
    tcase_add_test(tc, pods_are_chunked_within_the_bound);
    tcase_add_test(tc, pods_unknown_without_selector_or_cache);
    return tc;
}
