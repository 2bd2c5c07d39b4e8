/* Intrusive lists and the LRU index.
 *
 * The hash table doubles when it holds more than two nodes a bucket and
 * halves when it holds fewer than one node in eight buckets (never below
 * its minimum), so lookups stay O(1) and a drained cache does not keep a
 * table sized for its peak. Rehashing walks the recency list, not the
 * buckets, so it needs no second table walk. */
#include "ahpa/lru.h"

#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"
#include "ahpa/str.h"

/* --- lists ------------------------------------------------------------ */

void ahpa_list_init(struct ahpa_list *l)
{
    l->head.prev = l->head.next = &l->head;
    l->count = 0;
}

bool ahpa_list_linked(const struct ahpa_list_link *n)
{
    return n->next != NULL;
}

static void link_before(struct ahpa_list_link *at, struct ahpa_list_link *n)
{
    n->prev = at->prev;
    n->next = at;
    at->prev->next = n;
    at->prev = n;
}

static void unlink_only(struct ahpa_list_link *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}

void ahpa_list_push_back(struct ahpa_list *l, struct ahpa_list_link *n)
{
    link_before(&l->head, n);
    l->count++;
}

void ahpa_list_remove(struct ahpa_list *l, struct ahpa_list_link *n)
{
    unlink_only(n);
    l->count--;
}

void ahpa_list_move_back(struct ahpa_list *l, struct ahpa_list_link *n)
{
    if (n->next == &l->head)
        return;
    unlink_only(n);
    link_before(&l->head, n);
}

struct ahpa_list_link *ahpa_list_front(const struct ahpa_list *l)
{
    return l->head.next == &l->head ? NULL : l->head.next;
}

struct ahpa_list_link *ahpa_list_back(const struct ahpa_list *l)
{
    return l->head.prev == &l->head ? NULL : l->head.prev;
}

struct ahpa_list_link *ahpa_list_next(const struct ahpa_list *l, const struct ahpa_list_link *n)
{
    return n->next == &l->head ? NULL : n->next;
}

struct ahpa_list_link *ahpa_list_prev(const struct ahpa_list *l, const struct ahpa_list_link *n)
{
    return n->prev == &l->head ? NULL : n->prev;
}

/* --- the LRU index ------------------------------------------------------- */

#define MIN_BUCKETS 16

static struct ahpa_lru_node *node_of(const struct ahpa_list_link *link)
{
    return link ? AHPA_CONTAINER_OF(link, struct ahpa_lru_node, link) : NULL;
}

void ahpa_lru_init(struct ahpa_lru *l, size_t min_buckets)
{
    size_t nb = MIN_BUCKETS;
    while (nb < min_buckets && nb < ((size_t)1 << 40))
        nb *= 2;
    ahpa_list_init(&l->order);
    l->buckets = ahpa_calloc(nb, sizeof(*l->buckets));
    l->nbuckets = l->min_buckets = nb;
    l->node_bytes = 0;
}

void ahpa_lru_dispose(struct ahpa_lru *l)
{
    free(l->buckets);
    l->buckets = NULL;
    l->nbuckets = 0;
}

static struct ahpa_lru_node **bucket_of(const struct ahpa_lru *l, uint64_t hash)
{
    return &l->buckets[hash & (l->nbuckets - 1)];
}

/* Rebuilds the chains for nb buckets (a power of two). */
static void rehash(struct ahpa_lru *l, size_t nb)
{
    free(l->buckets);
    l->buckets = ahpa_calloc(nb, sizeof(*l->buckets));
    l->nbuckets = nb;
    for (struct ahpa_list_link *k = ahpa_list_front(&l->order); k != NULL;
         k = ahpa_list_next(&l->order, k)) {
        struct ahpa_lru_node *n = node_of(k);
        struct ahpa_lru_node **b = bucket_of(l, n->hash);
        n->chain = *b;
        *b = n;
    }
}

struct ahpa_lru_node *ahpa_lru_find(const struct ahpa_lru *l, const char *key)
{
    uint64_t h = ahpa_str_hash(key);
    for (struct ahpa_lru_node *n = *bucket_of(l, h); n != NULL; n = n->chain)
        if (n->hash == h && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

void ahpa_lru_insert(struct ahpa_lru *l, struct ahpa_lru_node *n, const char *key, size_t bytes)
{
    n->key = key;
    n->hash = ahpa_str_hash(key);
    n->bytes = bytes;
    n->link.prev = n->link.next = NULL;
    ahpa_list_push_back(&l->order, &n->link);
    l->node_bytes += bytes;
    if (l->order.count > 2 * l->nbuckets) {
        rehash(l, 2 * l->nbuckets); /* links n too */
        return;
    }
    struct ahpa_lru_node **b = bucket_of(l, n->hash);
    n->chain = *b;
    *b = n;
}

void ahpa_lru_remove(struct ahpa_lru *l, struct ahpa_lru_node *n)
{
    struct ahpa_lru_node **pp = bucket_of(l, n->hash);
    while (*pp != n)
        pp = &(*pp)->chain;
    *pp = n->chain;
    n->chain = NULL;
    ahpa_list_remove(&l->order, &n->link);
    l->node_bytes -= n->bytes;
    if (l->nbuckets > l->min_buckets && l->order.count < l->nbuckets / 8)
        rehash(l, l->nbuckets / 2);
}

void ahpa_lru_touch(struct ahpa_lru *l, struct ahpa_lru_node *n)
{
    ahpa_list_move_back(&l->order, &n->link);
}

void ahpa_lru_set_bytes(struct ahpa_lru *l, struct ahpa_lru_node *n, size_t bytes)
{
    l->node_bytes = l->node_bytes - n->bytes + bytes;
    n->bytes = bytes;
}

struct ahpa_lru_node *ahpa_lru_oldest(const struct ahpa_lru *l)
{
    return node_of(ahpa_list_front(&l->order));
}

struct ahpa_lru_node *ahpa_lru_newer(const struct ahpa_lru *l, const struct ahpa_lru_node *n)
{
    return node_of(ahpa_list_next(&l->order, &n->link));
}

struct ahpa_lru_node *ahpa_lru_newest(const struct ahpa_lru *l)
{
    return node_of(ahpa_list_back(&l->order));
}

struct ahpa_lru_node *ahpa_lru_older(const struct ahpa_lru *l, const struct ahpa_lru_node *n)
{
    return node_of(ahpa_list_prev(&l->order, &n->link));
}

size_t ahpa_lru_count(const struct ahpa_lru *l)
{
    return l->order.count;
}

size_t ahpa_lru_bytes(const struct ahpa_lru *l)
{
    return l->node_bytes + ahpa_mem_footprint(l->nbuckets * sizeof(*l->buckets));
}
