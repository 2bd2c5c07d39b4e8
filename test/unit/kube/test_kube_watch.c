/* The pure pieces: watch framing and event decoding, Status errors,
 * backoff bounds and jitter, the token bucket. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "kube_int.h"
#include "test_kube.h"
#include "unit.h"

/* ---- framing ------------------------------------------------------ */

struct got_lines {
    char lines[8][128];
    size_t n;
    int stop_after; /* > 0: return 1 after this many */
};

static int collect(const char *line, size_t len, void *ud)
{
    struct got_lines *g = ud;
    ck_assert_uint_lt(g->n, 8);
    ck_assert_uint_lt(len, 128);
    memcpy(g->lines[g->n], line, len);
    g->lines[g->n][len] = '\0';
    g->n++;
    return g->stop_after > 0 && (int)g->n >= g->stop_after ? 1 : 0;
}

START_TEST(lines_split_across_chunks)
{
    static const char stream[] = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n{\"d\"";
    /* Every split point of the stream into two feeds gives the same lines. */
    for (size_t cut = 0; cut <= sizeof(stream) - 1; cut++) {
        struct ahpa_kube__lines ls;
        ahpa_kube__lines_init(&ls, 64);
        struct got_lines g = {.n = 0};
        ck_assert_int_eq(ahpa_kube__lines_feed(&ls, stream, cut, collect, &g, NULL), 0);
        ck_assert_int_eq(ahpa_kube__lines_feed(&ls, stream + cut, sizeof(stream) - 1 - cut,
                                               collect, &g, NULL), 0);
        ck_assert_uint_eq(g.n, 3); /* the empty line is skipped, "\r" dropped */
        ck_assert_str_eq(g.lines[0], "{\"a\":1}");
        ck_assert_str_eq(g.lines[1], "{\"b\":2}");
        ck_assert_str_eq(g.lines[2], "{\"c\":3}");
        ck_assert_uint_eq(ls.line.len, 4); /* the partial {"d" waits */
        ahpa_kube__lines_dispose(&ls);
    }
}
END_TEST

START_TEST(lines_one_byte_at_a_time_and_stop)
{
    static const char stream[] = "x1\nx2\nx3\n";
    struct ahpa_kube__lines ls;
    ahpa_kube__lines_init(&ls, 64);
    struct got_lines g = {.stop_after = 2};
    int rc = 0;
    for (size_t i = 0; i < sizeof(stream) - 1 && rc == 0; i++)
        rc = ahpa_kube__lines_feed(&ls, stream + i, 1, collect, &g, NULL);
    ck_assert_int_eq(rc, 1); /* the receiver's stop comes back */
    ck_assert_uint_eq(g.n, 2);
    ahpa_kube__lines_dispose(&ls);
}
END_TEST

START_TEST(lines_oversized)
{
    struct ahpa_kube__lines ls;
    ahpa_kube__lines_init(&ls, 16);
    struct got_lines g = {.n = 0};
    struct ahpa_error err = {0};
    /* 16 bytes fit; the 17th, even split over feeds, is an error. */
    ck_assert_int_eq(ahpa_kube__lines_feed(&ls, "0123456789", 10, collect, &g, &err), 0);
    ck_assert_int_eq(ahpa_kube__lines_feed(&ls, "abcdef\n", 7, collect, &g, &err), 0);
    ck_assert_uint_eq(g.n, 1);
    ck_assert_int_eq(ahpa_kube__lines_feed(&ls, "0123456789", 10, collect, &g, &err), 0);
    ck_assert_int_eq(ahpa_kube__lines_feed(&ls, "abcdefg", 7, collect, &g, &err),
                     -AHPA_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than 16"));
    ck_assert_uint_eq(ls.line.len, 0); /* nothing of it is kept */
    ahpa_kube__lines_dispose(&ls);
}
END_TEST

/* ---- events ------------------------------------------------------- */

struct ev_case {
    const char *line;
    int want_rc;
    enum ahpa_kube__event_type type;
    const char *rv;
    int error_code; /* ERROR events */
    const char *want_err;
};

static const struct ev_case ev_cases[] = {
    {"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
     "\"namespace\":\"n\",\"resourceVersion\":\"7\"}}}",
     0, AHPA_KUBE_EV_ADDED, "7", 0, NULL},
    {"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"8\"}}}",
     0, AHPA_KUBE_EV_MODIFIED, "8", 0, NULL}, /* no kind: accepted */
    {"{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
     "\"resourceVersion\":\"9\"}}}",
     0, AHPA_KUBE_EV_DELETED, "9", 0, NULL},
    {"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"12\"}}}",
     0, AHPA_KUBE_EV_BOOKMARK, "12", 0, NULL},
    {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":"
     "\"too old resource version: 5 (9)\",\"reason\":\"Expired\",\"code\":410}}",
     0, AHPA_KUBE_EV_ERROR, NULL, AHPA_EGONE, "410 Expired: too old resource version"},
    {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410}}", 0, AHPA_KUBE_EV_ERROR,
     NULL, AHPA_EGONE, "410"},
    {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"reason\":\"InternalError\","
     "\"code\":500,\"message\":\"etcd\\nleader changed\"}}",
     0, AHPA_KUBE_EV_ERROR, NULL, AHPA_EUPSTREAM, "etcd leader changed"},
    {"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\","
     "\"resourceVersion\":\"7\"}}}",
     -AHPA_EPARSE, 0, NULL, 0, "of kind \"Node\", want Pod"},
    {"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}}",
     -AHPA_EPARSE, 0, NULL, 0, "without a resourceVersion"},
    {"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"1\"}}}",
     -AHPA_EPARSE, 0, NULL, 0, "without a name"},
    {"{\"type\":\"SURPRISE\",\"object\":{}}", -AHPA_EPARSE, 0, NULL, 0, "unknown type"},
    {"{\"type\":\"ADDED\"}", -AHPA_EPARSE, 0, NULL, 0, "without an object"},
    {"{\"type\":\"ADDED\",\"object\":[1]}", -AHPA_EPARSE, 0, NULL, 0, "without an object"},
    {"{\"object\":{}}", -AHPA_EPARSE, 0, NULL, 0, "without a type"},
    {"[1,2]", -AHPA_EPARSE, 0, NULL, 0, "not an object"},
    {"{\"type\":\"ADDED\",\"obj", -AHPA_EPARSE, 0, NULL, 0, "not JSON"},
    {"<html>502 Bad Gateway</html>", -AHPA_EPARSE, 0, NULL, 0, "not JSON"},
    {"{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}", -AHPA_EPARSE, 0, NULL, 0,
     "not JSON"},
};

START_TEST(event_decode_table)
{
    const struct ev_case *k = &ev_cases[_i];
    struct ahpa_kube__event ev;
    struct ahpa_error err = {0};
    int rc = ahpa_kube__event_decode(k->line, strlen(k->line), "Pod", &ev, &err);
    ck_assert_msg(rc == k->want_rc, "case %d: rc %d (%s)", _i, rc, err.msg);
    if (k->want_err != NULL)
        ck_assert_msg(strstr(err.msg, k->want_err) != NULL, "case %d: \"%s\" lacks \"%s\"", _i,
                      err.msg, k->want_err);
    if (rc != 0) {
        ck_assert_ptr_null(ev.object);
        return;
    }
    ck_assert_int_eq(ev.type, k->type);
    if (k->rv != NULL)
        ck_assert_str_eq(ev.rv, k->rv);
    if (k->type == AHPA_KUBE_EV_ERROR) {
        ck_assert_ptr_null(ev.object);
        ck_assert_int_eq(ev.error_code, k->error_code);
    } else {
        ck_assert(json_is_object(ev.object));
    }
    ahpa_kube__event_dispose(&ev);
}
END_TEST

/* ---- Status ------------------------------------------------------- */

struct st_case {
    long http;
    const char *body;
    int want;
    const char *reason;
    const char *msg;
};

static const struct st_case st_cases[] = {
    {404, "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"NotFound\",\"code\":404,"
          "\"message\":\"pods \\\"x\\\" not found\"}",
     -AHPA_ENOTFOUND, "NotFound", "GET /p: 404 NotFound: pods \"x\" not found"},
    {409, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409,\"message\":\"the object "
          "has been modified\"}",
     -AHPA_ECONFLICT, "Conflict", "409 Conflict: the object has been modified"},
    {409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409}", -AHPA_EEXIST,
     "AlreadyExists", "409 AlreadyExists"},
    {410, "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410}", -AHPA_EGONE, "Expired",
     "410 Expired"},
    {410, "{\"kind\":\"Status\",\"reason\":\"Gone\",\"code\":410}", -AHPA_EGONE, "Gone", "410"},
    {403, "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"code\":403,\"message\":\"a\\r\\nb\"}",
     -AHPA_EFORBIDDEN, "Forbidden", "403 Forbidden: a  b"},
    {401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"code\":401}", -AHPA_EUNAUTHORIZED,
     "Unauthorized", "401 Unauthorized"},
    {422, "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"code\":422}", -AHPA_EINVAL, "Invalid",
     "422 Invalid"},
    {429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}", -AHPA_EUNAVAIL,
     "TooManyRequests", "429"},
    {504, "{\"kind\":\"Status\",\"reason\":\"Timeout\"}", -AHPA_ETIMEDOUT, "Timeout", "504"},
    {404, "<html>not found</html>", -AHPA_ENOTFOUND, "", "GET /p: 404"},
    {502, "", -AHPA_EUPSTREAM, "", "GET /p: 502"},
    {500, "{\"kind\":\"Pod\",\"reason\":\"Conflict\"}", -AHPA_EUPSTREAM, "", "500"},
};

START_TEST(status_table)
{
    const struct st_case *k = &st_cases[_i];
    char reason[32];
    struct ahpa_error err = {0};
    int rc = ahpa_kube_status_error(k->http, k->body, strlen(k->body), "GET /p", reason,
                                    sizeof(reason), &err);
    ck_assert_msg(rc == k->want, "case %d: rc %d", _i, rc);
    ck_assert_int_eq(err.code, -k->want);
    ck_assert_str_eq(reason, k->reason);
    ck_assert_msg(strstr(err.msg, k->msg) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, err.msg,
                  k->msg);
    ck_assert_ptr_null(strpbrk(err.msg, "\r\n"));
}
END_TEST

START_TEST(status_message_cut)
{
    char body[4096];
    int n = snprintf(body, sizeof(body), "{\"kind\":\"Status\",\"reason\":\"Invalid\",\"message\":\"");
    memset(body + n, 'm', 3000);
    snprintf(body + n + 3000, sizeof(body) - (size_t)n - 3000, "\"}");
    struct ahpa_error err = {0};
    ahpa_kube_status_error(422, body, strlen(body), "PUT /x", NULL, 0, &err);
    ck_assert_uint_lt(strlen(err.msg), 220);
}
END_TEST

/* ---- backoff and limiter ----------------------------------------- */

START_TEST(backoff_bounds_and_jitter)
{
    struct ahpa_kube__backoff b;
    ahpa_kube__backoff_init(&b, 800, 30000, 42);
    int64_t step = 800;
    for (int i = 0; i < 20; i++) {
        int64_t d = ahpa_kube__backoff_next(&b);
        ck_assert_msg(d >= step / 2 && d < step, "try %d: %lld not in [%lld, %lld)", i,
                      (long long)d, (long long)step / 2, (long long)step);
        ck_assert_int_le(d, 30000);
        step = step >= 15000 ? 30000 : 2 * step;
    }
    /* Jitter: many draws at the cap are spread over the range. */
    int64_t lo = 30000, hi = 0;
    for (int i = 0; i < 200; i++) {
        int64_t d = ahpa_kube__backoff_next(&b);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ck_assert_int_lt(lo, 17000);
    ck_assert_int_gt(hi, 28000);
    ahpa_kube__backoff_reset(&b);
    ck_assert_int_lt(ahpa_kube__backoff_next(&b), 800);
    /* Two seeds give different sequences; one seed the same. */
    struct ahpa_kube__backoff x, y, z;
    ahpa_kube__backoff_init(&x, 1000, 60000, 1);
    ahpa_kube__backoff_init(&y, 1000, 60000, 2);
    ahpa_kube__backoff_init(&z, 1000, 60000, 1);
    int same_xy = 0;
    for (int i = 0; i < 8; i++) {
        int64_t dx = ahpa_kube__backoff_next(&x), dy = ahpa_kube__backoff_next(&y);
        same_xy += dx == dy;
        ck_assert_int_eq(dx, ahpa_kube__backoff_next(&z));
    }
    ck_assert_int_lt(same_xy, 8);
}
END_TEST

START_TEST(limiter_burst_then_rate)
{
    struct ahpa_kube__limiter l;
    ahpa_kube__limiter_init(&l, 10.0, 3); /* 10 per second, burst 3 */
    int64_t t = 1000000000LL;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ahpa_kube__limiter_reserve(&l, t), 0);
    /* The 4th waits 100 ms, the 5th 200 ms (queued behind it). */
    AHPA_ASSERT_NEAR((double)ahpa_kube__limiter_reserve(&l, t), 100e6, 1e3);
    AHPA_ASSERT_NEAR((double)ahpa_kube__limiter_reserve(&l, t), 200e6, 1e3);
    /* 1 s later the debt of 2 is paid and 8 tokens came, capped at 3. */
    t += 1000000000LL;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ahpa_kube__limiter_reserve(&l, t), 0);
    ck_assert_int_gt(ahpa_kube__limiter_reserve(&l, t), 0);
    ahpa_kube__limiter_dispose(&l);

    ahpa_kube__limiter_init(&l, -1, 0); /* no limit */
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(ahpa_kube__limiter_reserve(&l, t), 0);
    ahpa_kube__limiter_dispose(&l);
}
END_TEST

START_TEST(yaml_scalars)
{
    static const char y[] = "a: true\nb: 'true'\nc: 12\nd: \"12\"\ne: ~\nf: 1.5\ng: [x, 2]\n";
    json_t *j = NULL;
    struct ahpa_error err = {0};
    ck_assert_int_eq(ahpa_kube__yaml_load(y, strlen(y), &j, &err), 0);
    ck_assert(json_is_true(json_object_get(j, "a")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "b")), "true");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "c")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(j, "d")), "12");
    ck_assert(json_is_null(json_object_get(j, "e")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "f")), "1.5");
    ck_assert_uint_eq(json_array_size(json_object_get(j, "g")), 2);
    json_decref(j);
    /* Nesting is bounded. */
    char deep[200] = "";
    for (int i = 0; i < 40; i++)
        deep[i] = '[';
    ck_assert_int_ne(ahpa_kube__yaml_load(deep, strlen(deep), &j, &err), 0);
    ck_assert_ptr_null(j);
}
END_TEST

TCase *kube_watch_tcase(void)
{
    TCase *tc = tcase_create("watch");
    tcase_add_test(tc, lines_split_across_chunks);
    tcase_add_test(tc, lines_one_byte_at_a_time_and_stop);
    tcase_add_test(tc, lines_oversized);
    tcase_add_loop_test(tc, event_decode_table, 0, (int)(sizeof(ev_cases) / sizeof(ev_cases[0])));
    tcase_add_loop_test(tc, status_table, 0, (int)(sizeof(st_cases) / sizeof(st_cases[0])));
    tcase_add_test(tc, status_message_cut);
    tcase_add_test(tc, backoff_bounds_and_jitter);
    tcase_add_test(tc, limiter_burst_then_rate);
    tcase_add_test(tc, yaml_scalars);
    return tc;
}
