/* lib/prom's JSON reader: a table of edge cases, then a differential test
 * against jansson on seeded mutations of Prometheus answers: both must
 * accept and reject the same texts and read the same values. */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/arena.h"
#include "prom_int.h"
#include "test_prom.h"
#include "unit.h"

static bool ours_accepts(const char *s, size_t n)
{
    struct ahpa_arena *a = ahpa_arena_new(0);
    struct ahpa_prom__json v;
    int rc = ahpa_prom__json_parse(s, n, a, &v);
    ahpa_arena_free(a);
    return rc == 0;
}

static json_t *jansson_load(const char *s, size_t n)
{
    return json_loadb(s, n, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, NULL);
}

/* Same value in both trees? Objects: every jansson member (jansson keeps
 * the last of repeated keys) equals our lookup, which keeps the last too. */
static bool same(const struct ahpa_prom__json *v, json_t *j)
{
    switch (v->type) {
    case AHPA_PROM__JSON_NULL:
        return json_is_null(j);
    case AHPA_PROM__JSON_TRUE:
        return json_is_true(j);
    case AHPA_PROM__JSON_FALSE:
        return json_is_false(j);
    case AHPA_PROM__JSON_NUMBER:
        /* Exact: both read the digits with strtod. */
        return json_is_number(j) && memcmp(&(double){json_number_value(j)}, &v->u.num,
                                           sizeof(double)) == 0;
    case AHPA_PROM__JSON_STRING:
        return json_is_string(j) && json_string_length(j) == v->u.str.len &&
               memcmp(json_string_value(j), v->u.str.s, v->u.str.len) == 0;
    case AHPA_PROM__JSON_ARRAY:
        if (!json_is_array(j) || json_array_size(j) != v->u.list.n)
            return false;
        for (size_t i = 0; i < v->u.list.n; i++)
            if (!same(&v->u.list.items[i], json_array_get(j, i)))
                return false;
        return true;
    case AHPA_PROM__JSON_OBJECT: {
        if (!json_is_object(j))
            return false;
        const char *k;
        json_t *m;
        json_object_foreach(j, k, m)
        {
            const struct ahpa_prom__json *mine = ahpa_prom__json_get(v, k);
            if (mine == NULL || !same(mine, m))
                return false;
        }
        for (size_t i = 0; i < v->u.list.n; i++) /* and no key jansson lacks */
            if (json_object_get(j, v->u.list.items[2 * i].u.str.s) == NULL)
                return false;
        return true;
    }
    }
    return false;
}

/* 1 both accept and agree, 0 both reject, -1 they differ. */
static int compare(const char *s, size_t n)
{
    struct ahpa_arena *a = ahpa_arena_new(0);
    struct ahpa_prom__json v;
    bool ours = ahpa_prom__json_parse(s, n, a, &v) == 0;
    json_t *j = jansson_load(s, n);
    int verdict = (ours != (j != NULL)) ? -1 : !ours ? 0 : same(&v, j) ? 1 : -1;
    json_decref(j);
    ahpa_arena_free(a);
    return verdict;
}

START_TEST(edge_cases)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"{}", true},
        {" [ ] ", true},
        {"0", true},
        {"-0.5e-3", true},
        {"1E+2", true},
        {"\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"", true},
        {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", true},
        {"{\"a\":1,\"a\":2}", true},
        {"[true,false,null]", true},
        {"", false},
        {"   ", false},
        {"[1,]", false},
        {"{\"a\":1,}", false},
        {"[1 2]", false},
        {"{\"a\" 1}", false},
        {"{a:1}", false},
        {"01", false},
        {"1.", false},
        {".5", false},
        {"+1", false},
        {"1e", false},
        {"-", false},
        {"NaN", false},
        {"Infinity", false},
        {"1e400", false},
        {"tru", false},
        {"nul", false},
        {"[1] x", false},
        {"\"abc", false},
        {"\"a\nb\"", false},
        {"\"\\x\"", false},
        {"\"\\u12\"", false},
        {"\"\\u0000\"", false},
        {"\"\\ud800\"", false},
        {"\"\\udc00\"", false},
        {"\"\\ud800\\u0041\"", false},
        {"\"\xc0\xaf\"", false},
        {"\"\xed\xa0\x80\"", false},
        {"\"\xf4\x90\x80\x80\"", false},
        {"\"\xe2\x82\"", false},
        {"\"\x80\"", false},
        {"[\"a\"\0]", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].text);
        ck_assert_msg(ours_accepts(cases[i].text, n) == cases[i].ok, "case %zu: %s", i,
                      cases[i].text);
        ck_assert_msg(compare(cases[i].text, n) >= 0, "case %zu differs from jansson", i);
    }
    /* A NUL byte inside the text, and a length that stops early. */
    ck_assert(!ours_accepts("[\"a\"\0]", 6));
    ck_assert(ours_accepts("[1]garbage", 3));
    /* Nesting: 64 levels are fine, 65 are refused. */
    char deep[200];
    for (int depth = 64; depth <= 65; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        ck_assert(ours_accepts(deep, 2 * (size_t)depth) == (depth == 64));
    }
}
END_TEST

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const seeds[] = {
    "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
    "{\"pod\":\"a\\u00e9\",\"__name__\":\"x\"},\"value\":[1700000000.123,\"NaN\"]}]}}",
    "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
    "{\"a\":\"1\"},\"values\":[[1700000000,\"1\"],[1700000060.5,\"-Inf\"]]}]},"
    "\"warnings\":[\"w\\n\"]}",
    "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: \\\"}\\\"\"}",
    "{\"status\":\"success\",\"data\":[\"__name__\",\"job\",true,false,null,-1.5e-7,0]}",
};

/* One random edit: flip a byte, insert a JSON-ish byte, delete, or
 * duplicate a span. */
static size_t mutate(char *buf, size_t n, size_t cap)
{
    static const char alphabet[] = "{}[]\",:\\0123456789.eE+-tfnul \x80\xc3\xa9\xed\xf0";
    uint64_t r = next_random();
    size_t at = n ? (size_t)(r >> 8) % n : 0;
    switch (r % 4) {
    case 0:
        if (n)
            buf[at] = alphabet[(r >> 40) % (sizeof(alphabet) - 1)];
        return n;
    case 1:
        if (n + 1 >= cap)
            return n;
        memmove(buf + at + 1, buf + at, n - at);
        buf[at] = alphabet[(r >> 40) % (sizeof(alphabet) - 1)];
        return n + 1;
    case 2:
        if (n)
            memmove(buf + at, buf + at + 1, n - at - 1);
        return n ? n - 1 : 0;
    default: {
        size_t len = (size_t)((r >> 32) % 16);
        if (at + len > n || n + len >= cap)
            return n;
        memmove(buf + at + len, buf + at, n - at);
        return n + len; /* the span now appears twice */
    }
    }
}

START_TEST(differential_against_jansson)
{
    char buf[1024];
    int accepted = 0, rejected = 0;
    for (int i = 0; i < 40000; i++) {
        const char *seed = seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + (int)(next_random() % 3);
        for (int e = 0; e < edits; e++)
            n = mutate(buf, n, sizeof(buf));
        int v = compare(buf, n);
        ck_assert_msg(v >= 0, "differs from jansson on: %.*s", (int)n, buf);
        if (v == 1)
            accepted++;
        else
            rejected++;
    }
    /* Both kinds must be well represented, or the test proves little. */
    ck_assert_int_gt(accepted, 2000);
    ck_assert_int_gt(rejected, 2000);
}
END_TEST

TCase *prom_json_tcase(void)
{
    TCase *tc = tcase_create("json");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, edge_cases);
    tcase_add_test(tc, differential_against_jansson);
    return tc;
}
