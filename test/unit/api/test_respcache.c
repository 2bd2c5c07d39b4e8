/* The cache of rendered answers: byte bound, LRU order, expiry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/buf.h"
#include "ahpa/clock.h"
#include "api_int.h"
#include "api_test.h"
#include "unit.h"

/* The value of `name` in the cache's /metrics text (-1 when absent). */
static double exported(struct ahpa_api__respcache *c, const char *name)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_api__respcache_collect(c, &b);
    double v = ahpa_unit_prom_value(ahpa_buf_cstr(&b), name);
    ahpa_buf_dispose(&b);
    return v;
}

static bool has(struct ahpa_api__respcache *c, const char *key)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    bool hit = ahpa_api__respcache_get(c, key, &b);
    ahpa_buf_dispose(&b);
    return hit;
}

START_TEST(respcache_bytes_and_lru)
{
    enum { BODY = 1000, MAX = 32 << 10 };
    struct ahpa_api__respcache *c = ahpa_api__respcache_new(MAX);
    double empty = exported(c, "ahpa_api_response_cache_bytes");
    ck_assert(empty > 0);
    char body[BODY];
    memset(body, 'x', sizeof(body));
    int64_t until = ahpa_clock_mono_ms() + 60000; /* capped at 1 s from now */
    char key[32];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ahpa_api__respcache_put(c, key, body, sizeof(body), until);
        ck_assert(has(c, "k0")); /* k0 used all along: never the oldest */
        ck_assert(exported(c, "ahpa_api_response_cache_bytes") <= MAX);
    }
    double entries = exported(c, "ahpa_api_response_cache_entries");
    /* Each entry holds a 1,008-byte body chunk, its key and itself. */
    ck_assert_msg(entries >= 25 && entries <= 31, "%g entries", entries);
    ck_assert(exported(c, "ahpa_api_response_cache_evictions_total") == 100 - entries);
    ck_assert(has(c, "k99"));
    ck_assert(!has(c, "k1"));
    snprintf(key, sizeof(key), "k%d", 100 - (int)entries);
    ck_assert(!has(c, key));
    snprintf(key, sizeof(key), "k%d", 100 - (int)entries + 2);
    ck_assert(has(c, key));

    /* An answer larger than the whole cache is not kept (nor evicts all). */
    char *big = calloc(1, MAX);
    ahpa_api__respcache_put(c, "big", big, MAX, until);
    free(big);
    ck_assert(!has(c, "big"));
    ck_assert(exported(c, "ahpa_api_response_cache_entries") == entries);
    ahpa_api__respcache_free(c);
}
END_TEST

START_TEST(respcache_expiry_and_maintain)
{
    struct ahpa_api__respcache *c = ahpa_api__respcache_new(1 << 20);
    double empty = exported(c, "ahpa_api_response_cache_bytes");
    int64_t now = ahpa_clock_mono_ms();
    ahpa_api__respcache_put(c, "past", "x", 1, now - 1); /* never kept */
    ck_assert(!has(c, "past"));
    char key[32];
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        ahpa_api__respcache_put(c, key, "{}", 2, now + 100);
    }
    ck_assert(has(c, "k3"));
    ck_assert(exported(c, "ahpa_api_response_cache_entries") == 20);
    struct timespec ts = {0, 150 * 1000000L};
    nanosleep(&ts, NULL);
    ck_assert(!has(c, "k3")); /* expired: a miss, and dropped */
    ck_assert(exported(c, "ahpa_api_response_cache_entries") == 19);
    ahpa_api__respcache_maintain(c);
    ck_assert(exported(c, "ahpa_api_response_cache_entries") == 0);
    ck_assert(exported(c, "ahpa_api_response_cache_bytes") == empty);
    ahpa_api__respcache_free(c);

    /* 0 bytes: nothing is kept. */
    c = ahpa_api__respcache_new(0);
    ahpa_api__respcache_put(c, "k", "{}", 2, ahpa_clock_mono_ms() + 500);
    ck_assert(!has(c, "k"));
    ahpa_api__respcache_free(c);
}
END_TEST

void test_api_add_respcache(Suite *s)
{
    TCase *tc = tcase_create("respcache");
    tcase_add_test(tc, respcache_bytes_and_lru);
    tcase_add_test(tc, respcache_expiry_and_maintain);
    suite_add_tcase(s, tc);
}
