/* Unit tests for lib/base: intrusive lists, the LRU index, heap
 * footprints and the monotonic clock helpers. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/arena.h"
#include "ahpa/clock.h"
#include "ahpa/lru.h"
#include "ahpa/mem.h"
#include "test_base.h"

struct item {
    struct ahpa_lru_node node;
    struct ahpa_list_link extra;
    char key[16];
};

static struct item *item_of(struct ahpa_lru_node *n)
{
    return n ? AHPA_CONTAINER_OF(n, struct item, node) : NULL;
}

/* Keys from oldest to newest, joined by ','. */
static void order(const struct ahpa_lru *l, char *out, size_t cap)
{
    out[0] = '\0';
    size_t len = 0;
    for (struct ahpa_lru_node *n = ahpa_lru_oldest(l); n != NULL; n = ahpa_lru_newer(l, n)) {
        int w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", n->key);
        ck_assert_int_gt(w, 0);
        len += (size_t)w;
        ck_assert_uint_lt(len, cap);
    }
}

START_TEST(list_push_remove_move)
{
    struct ahpa_list l;
    ahpa_list_init(&l);
    struct item it[3] = {0};
    ck_assert_ptr_null(ahpa_list_front(&l));
    ck_assert(!ahpa_list_linked(&it[0].extra));
    for (int i = 0; i < 3; i++)
        ahpa_list_push_back(&l, &it[i].extra);
    ck_assert_uint_eq(l.count, 3);
    ck_assert_ptr_eq(ahpa_list_front(&l), &it[0].extra);
    ck_assert_ptr_eq(ahpa_list_back(&l), &it[2].extra);
    ahpa_list_move_back(&l, &it[0].extra);      /* 1 2 0 */
    ck_assert_ptr_eq(ahpa_list_front(&l), &it[1].extra);
    ck_assert_ptr_eq(ahpa_list_next(&l, &it[2].extra), &it[0].extra);
    ck_assert_ptr_null(ahpa_list_next(&l, &it[0].extra));
    ck_assert_ptr_null(ahpa_list_prev(&l, &it[1].extra));
    ahpa_list_remove(&l, &it[2].extra);          /* 1 0 */
    ck_assert(!ahpa_list_linked(&it[2].extra));
    ck_assert_uint_eq(l.count, 2);
    ck_assert_ptr_eq(ahpa_list_next(&l, &it[1].extra), &it[0].extra);
    ahpa_list_remove(&l, &it[1].extra);
    ahpa_list_remove(&l, &it[0].extra);
    ck_assert_ptr_null(ahpa_list_front(&l));
    ck_assert_ptr_null(ahpa_list_back(&l));
}
END_TEST

START_TEST(lru_order_and_bytes)
{
    struct ahpa_lru l;
    ahpa_lru_init(&l, 0);
    size_t table = ahpa_lru_bytes(&l);
    ck_assert_uint_eq(table, ahpa_mem_footprint(16 * sizeof(void *)));
    struct item it[4];
    const char *keys[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        memset(&it[i], 0, sizeof(it[i]));
        snprintf(it[i].key, sizeof(it[i].key), "%s", keys[i]);
        ahpa_lru_insert(&l, &it[i].node, it[i].key, 100 * (size_t)(i + 1));
    }
    char buf[64];
    order(&l, buf, sizeof(buf));
    ck_assert_str_eq(buf, "a,b,c,d");
    ck_assert_uint_eq(ahpa_lru_count(&l), 4);
    ck_assert_uint_eq(ahpa_lru_bytes(&l), table + 1000);

    /* A use moves to the newest end; the oldest is the next victim. */
    ahpa_lru_touch(&l, ahpa_lru_find(&l, "a"));
    ahpa_lru_touch(&l, ahpa_lru_find(&l, "c"));
    order(&l, buf, sizeof(buf));
    ck_assert_str_eq(buf, "b,d,a,c");
    ck_assert_ptr_eq(item_of(ahpa_lru_oldest(&l)), &it[1]);
    ck_assert_ptr_eq(item_of(ahpa_lru_newest(&l)), &it[2]);
    ck_assert_ptr_eq(item_of(ahpa_lru_older(&l, &it[0].node)), &it[3]);
    ck_assert_ptr_null(ahpa_lru_find(&l, "e"));

    ahpa_lru_set_bytes(&l, &it[3].node, 50); /* d: 400 -> 50 */
    ck_assert_uint_eq(ahpa_lru_bytes(&l), table + 650);
    ahpa_lru_remove(&l, &it[1].node);        /* b: 200 */
    ck_assert_uint_eq(ahpa_lru_bytes(&l), table + 450);
    ck_assert_ptr_null(ahpa_lru_find(&l, "b"));
    order(&l, buf, sizeof(buf));
    ck_assert_str_eq(buf, "d,a,c");
    ahpa_lru_remove(&l, &it[3].node);
    ahpa_lru_remove(&l, &it[0].node);
    ahpa_lru_remove(&l, &it[2].node);
    ck_assert_uint_eq(ahpa_lru_count(&l), 0);
    ck_assert_uint_eq(ahpa_lru_bytes(&l), table);
    ck_assert_ptr_null(ahpa_lru_oldest(&l));
    ahpa_lru_dispose(&l);
}
END_TEST

/* The table grows with the count (lookups stay short) and shrinks back
 * when drained, so its bytes follow what is held. */
START_TEST(lru_table_grows_and_shrinks)
{
    enum { N = 5000 };
    struct ahpa_lru l;
    ahpa_lru_init(&l, 0);
    size_t empty = ahpa_lru_bytes(&l);
    struct item *it = calloc(N, sizeof(*it));
    for (int i = 0; i < N; i++) {
        snprintf(it[i].key, sizeof(it[i].key), "k%d", i);
        ahpa_lru_insert(&l, &it[i].node, it[i].key, 1);
    }
    ck_assert_uint_ge(l.nbuckets, N / 2);
    for (int i = 0; i < N; i++)
        ck_assert_ptr_eq(ahpa_lru_find(&l, it[i].key), &it[i].node);
    /* Evicting oldest first gives back the insertion order. */
    for (int i = 0; i < N; i++) {
        struct ahpa_lru_node *n = ahpa_lru_oldest(&l);
        ck_assert_ptr_eq(n, &it[i].node);
        ahpa_lru_remove(&l, n);
        if (i + 1 < N)
            ck_assert_ptr_eq(ahpa_lru_find(&l, it[N - 1].key), &it[N - 1].node);
    }
    ck_assert_uint_eq(l.nbuckets, 16);
    ck_assert_uint_eq(ahpa_lru_bytes(&l), empty);
    free(it);
    ahpa_lru_dispose(&l);
}
END_TEST

START_TEST(mem_footprint_and_arena)
{
    ck_assert_uint_eq(ahpa_mem_footprint(0), 32);
    ck_assert_uint_eq(ahpa_mem_footprint(24), 32);
    ck_assert_uint_eq(ahpa_mem_footprint(25), 48);
    ck_assert_uint_eq(ahpa_mem_footprint(1000), 1008);
    ck_assert_uint_eq(ahpa_mem_footprint(1001), 1024);
    struct ahpa_arena *a = ahpa_arena_new(1000);
    size_t one = ahpa_arena_footprint(a);
    ck_assert_uint_gt(one, 1000);
    ck_assert_uint_lt(one, 1200);
    ahpa_arena_alloc(a, 900);
    ck_assert_uint_eq(ahpa_arena_footprint(a), one);
    ahpa_arena_alloc(a, 900); /* a second block */
    ck_assert_uint_gt(ahpa_arena_footprint(a), 2 * 1000);
    ahpa_arena_reset(a);
    ck_assert_uint_eq(ahpa_arena_footprint(a), one);
    ahpa_arena_free(a);
}
END_TEST

START_TEST(mem_trimmer_threshold_and_rate)
{
    struct ahpa_mem_trimmer t;
    ahpa_mem_trimmer_init(&t, 1000, 5000);
    ck_assert(!ahpa_mem_trimmer_run(&t, 10));      /* nothing freed */
    ahpa_mem_trimmer_note(&t, 999);
    ck_assert(!ahpa_mem_trimmer_run(&t, 10));      /* below the threshold */
    ahpa_mem_trimmer_note(&t, 1);
    ck_assert(ahpa_mem_trimmer_run(&t, 10));
    ahpa_mem_trimmer_note(&t, 5000);
    ck_assert(!ahpa_mem_trimmer_run(&t, 4000));    /* too soon */
    ck_assert(ahpa_mem_trimmer_run(&t, 5010));
    ck_assert(!ahpa_mem_trimmer_run(&t, 20000));   /* the count started over */
    ck_assert_uint_eq(atomic_load(&t.trims), 2);
}
END_TEST

START_TEST(clock_monotonic_deadline)
{
    int64_t a = ahpa_clock_mono_ms();
    struct timespec d = ahpa_clock_mono_deadline(1500);
    int64_t d_ms = (int64_t)d.tv_sec * 1000 + d.tv_nsec / 1000000;
    ck_assert_int_ge(d_ms - a, 1500);
    ck_assert_int_lt(d_ms - a, 2500);
    ck_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    /* A timed wait on the monotonic condition variable times out. */
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c;
    ahpa_clock_cond_init(&c);
    pthread_mutex_lock(&m);
    struct timespec soon = ahpa_clock_mono_deadline(20);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) /* spurious wake-ups */
        rc = pthread_cond_timedwait(&c, &m, &soon);
    pthread_mutex_unlock(&m);
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_int_ge(ahpa_clock_mono_ms() - a, 20);
    pthread_cond_destroy(&c);
    ck_assert_int_gt(ahpa_clock_wall_ms(), 1600000000000LL);
}
END_TEST

TCase *ahpa_test_base_lru_tcase(void)
{
    TCase *tc = tcase_create("lru");
    tcase_add_test(tc, list_push_remove_move);
    tcase_add_test(tc, lru_order_and_bytes);
    tcase_add_test(tc, lru_table_grows_and_shrinks);
    tcase_add_test(tc, mem_footprint_and_arena);
    tcase_add_test(tc, mem_trimmer_threshold_and_rate);
    tcase_add_test(tc, clock_monotonic_deadline);
    return tc;
}
