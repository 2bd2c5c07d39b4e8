/* Intrusive lists, and an LRU index with byte accounting for caches.
 *
 * struct ahpa_list is a circular doubly linked list of links embedded in
 * the caller's objects: insertion, removal and moving to the back are
 * O(1); nothing is allocated.
 *
 * struct ahpa_lru indexes embedded nodes by a string key (a chained hash
 * table that grows and shrinks with the count) and keeps them in recency
 * order, least recently used first, with the bytes each node stands for.
 * The caller owns the objects and their keys, decides what a node's bytes
 * are (ahpa_mem_footprint() of what it holds) and evicts: the index only
 * says which node is the oldest and how many bytes are held in all,
 * including its own table. Not thread-safe: the caller's lock guards it. */
#ifndef AHPA_LRU_H
#define AHPA_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The object a link or node is embedded in. */
#define AHPA_CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct ahpa_list_link {
    struct ahpa_list_link *prev, *next; /* NULL, NULL when on no list */
};

struct ahpa_list {
    struct ahpa_list_link head; /* sentinel */
    size_t count;
};

void ahpa_list_init(struct ahpa_list *l);
bool ahpa_list_linked(const struct ahpa_list_link *n);
/* Appends `n` (on no list) at the back. */
void ahpa_list_push_back(struct ahpa_list *l, struct ahpa_list_link *n);
/* Unlinks `n` (on `l`); it is on no list afterwards. */
void ahpa_list_remove(struct ahpa_list *l, struct ahpa_list_link *n);
/* Moves `n` (on `l`) to the back. */
void ahpa_list_move_back(struct ahpa_list *l, struct ahpa_list_link *n);
/* The first / last link, NULL when empty. */
struct ahpa_list_link *ahpa_list_front(const struct ahpa_list *l);
struct ahpa_list_link *ahpa_list_back(const struct ahpa_list *l);
/* The link after / before `n`, NULL at the end. */
struct ahpa_list_link *ahpa_list_next(const struct ahpa_list *l, const struct ahpa_list_link *n);
struct ahpa_list_link *ahpa_list_prev(const struct ahpa_list *l, const struct ahpa_list_link *n);

struct ahpa_lru_node {
    struct ahpa_list_link link;  /* recency order */
    struct ahpa_lru_node *chain; /* hash bucket */
    const char *key;             /* borrowed from the object; fixed while indexed */
    uint64_t hash;
    size_t bytes;                /* what the object holds, as accounted */
};

struct ahpa_lru {
    struct ahpa_list order;        /* least recently used first */
    struct ahpa_lru_node **buckets;
    size_t nbuckets, min_buckets;
    size_t node_bytes;             /* sum of the nodes' bytes */
};

/* min_buckets: the table's smallest size (rounded up to a power of two,
 * at least 16). Release with ahpa_lru_dispose(), which frees the table
 * only: the objects are the caller's. */
void ahpa_lru_init(struct ahpa_lru *l, size_t min_buckets);
void ahpa_lru_dispose(struct ahpa_lru *l);

/* The node with this key, or NULL. Does not change the order. */
struct ahpa_lru_node *ahpa_lru_find(const struct ahpa_lru *l, const char *key);
/* Indexes `n` under `key` (borrowed; must stay valid and unchanged until
 * removal; no node with that key may be indexed) as the most recently
 * used, standing for `bytes`. */
void ahpa_lru_insert(struct ahpa_lru *l, struct ahpa_lru_node *n, const char *key, size_t bytes);
void ahpa_lru_remove(struct ahpa_lru *l, struct ahpa_lru_node *n);
/* Marks `n` as the most recently used. */
void ahpa_lru_touch(struct ahpa_lru *l, struct ahpa_lru_node *n);
void ahpa_lru_set_bytes(struct ahpa_lru *l, struct ahpa_lru_node *n, size_t bytes);

/* The least recently used node, and the next more recent one after `n`
 * (NULL at the end); likewise from the most recent end. */
struct ahpa_lru_node *ahpa_lru_oldest(const struct ahpa_lru *l);
struct ahpa_lru_node *ahpa_lru_newer(const struct ahpa_lru *l, const struct ahpa_lru_node *n);
struct ahpa_lru_node *ahpa_lru_newest(const struct ahpa_lru *l);
struct ahpa_lru_node *ahpa_lru_older(const struct ahpa_lru *l, const struct ahpa_lru_node *n);

size_t ahpa_lru_count(const struct ahpa_lru *l);
/* The nodes' bytes plus the index's own table. */
size_t ahpa_lru_bytes(const struct ahpa_lru *l);

#endif
