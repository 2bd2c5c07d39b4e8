/* The one place where running out of memory ends the process. */
#include "ahpa/mem.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ahpa_oom(size_t n)
{
    fprintf(stderr, "F ahpa: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ahpa_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        ahpa_oom(n);
    return p;
}

void *ahpa_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        ahpa_oom(count * size);
    return p;
}

void *ahpa_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        ahpa_oom(n);
    return q;
}

void *ahpa_reallocarray(void *p, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        ahpa_oom(SIZE_MAX);
    return ahpa_realloc(p, count * size);
}

char *ahpa_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ahpa_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *ahpa_strdup(const char *s)
{
    return ahpa_strndup(s, SIZE_MAX);
}

size_t ahpa_mem_footprint(size_t n)
{
    if (n > SIZE_MAX - 32)
        return SIZE_MAX;
    size_t chunk = (n + sizeof(size_t) + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
}

void ahpa_mem_trimmer_init(struct ahpa_mem_trimmer *t, size_t threshold_bytes,
                           long long interval_ms)
{
    atomic_init(&t->freed, 0);
    atomic_init(&t->last_ms, 0);
    atomic_init(&t->trims, 0);
    t->threshold_bytes = threshold_bytes;
    t->interval_ms = interval_ms;
}

void ahpa_mem_trimmer_note(struct ahpa_mem_trimmer *t, size_t freed_bytes)
{
    atomic_fetch_add_explicit(&t->freed, freed_bytes, memory_order_relaxed);
}

bool ahpa_mem_trimmer_run(struct ahpa_mem_trimmer *t, long long now_ms)
{
    if (atomic_load(&t->freed) < t->threshold_bytes)
        return false;
    long long last = atomic_load(&t->last_ms);
    if (last != 0 && now_ms - last < t->interval_ms)
        return false;
    /* One caller wins the slot; the others leave the trim to it. */
    if (!atomic_compare_exchange_strong(&t->last_ms, &last, now_ms ? now_ms : 1))
        return false;
    atomic_store(&t->freed, 0);
    malloc_trim(0);
    atomic_fetch_add(&t->trims, 1);
    return true;
}
