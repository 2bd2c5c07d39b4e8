/* Region allocator: a chain of blocks, bump allocation inside each. */
#include "ahpa/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"

#define DEFAULT_CHUNK 8192
#define ALIGN alignof(max_align_t)

struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    alignas(max_align_t) unsigned char mem[];
};

struct ahpa_arena {
    struct block *head; /* the block being filled; first block is last */
    size_t chunk;
    size_t used_total;
};

static struct block *block_new(size_t size)
{
    struct block *b = ahpa_malloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct ahpa_arena *ahpa_arena_new(size_t chunk_size)
{
    struct ahpa_arena *a = ahpa_calloc(1, sizeof(*a));
    a->chunk = chunk_size ? chunk_size : DEFAULT_CHUNK;
    a->head = block_new(a->chunk);
    return a;
}

void ahpa_arena_free(struct ahpa_arena *a)
{
    if (a == NULL)
        return;
    struct block *b = a->head;
    while (b != NULL) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void ahpa_arena_reset(struct ahpa_arena *a)
{
    struct block *b = a->head;
    while (b->next != NULL) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->used_total = 0;
}

void *ahpa_arena_alloc(struct ahpa_arena *a, size_t n)
{
    size_t rounded = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (rounded < n)
        ahpa_oom(n);
    struct block *b = a->head;
    if (b->size - b->used < rounded) {
        /* Oversized requests get a block of their own. */
        size_t size = rounded > a->chunk ? rounded : a->chunk;
        struct block *nb = block_new(size);
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->mem + b->used;
    b->used += rounded;
    a->used_total += rounded;
    memset(p, 0, n);
    return p;
}

char *ahpa_arena_strndup(struct ahpa_arena *a, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ahpa_arena_alloc(a, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *ahpa_arena_strdup(struct ahpa_arena *a, const char *s)
{
    return ahpa_arena_strndup(a, s, SIZE_MAX);
}

char *ahpa_arena_printf(struct ahpa_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ahpa_arena_strdup(a, "");
    char *d = ahpa_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

size_t ahpa_arena_used(const struct ahpa_arena *a)
{
    return a->used_total;
}

size_t ahpa_arena_footprint(const struct ahpa_arena *a)
{
    size_t n = ahpa_mem_footprint(sizeof(*a));
    for (const struct block *b = a->head; b != NULL; b = b->next)
        n += ahpa_mem_footprint(sizeof(*b) + b->size);
    return n;
}
