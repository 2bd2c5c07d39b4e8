/* A region allocator for per-request memory.
 *
 * Everything allocated from an arena is released at once by
 * ahpa_arena_reset() or ahpa_arena_free(); nothing is freed individually.
 * Not thread-safe: one arena belongs to one request at a time. */
#ifndef AHPA_ARENA_H
#define AHPA_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct ahpa_arena;

/* chunk_size: bytes per underlying block (0 picks a default). Caller
 * releases with ahpa_arena_free(). */
struct ahpa_arena *ahpa_arena_new(size_t chunk_size);
void ahpa_arena_free(struct ahpa_arena *a);
/* Releases every allocation but keeps the first block for reuse. */
void ahpa_arena_reset(struct ahpa_arena *a);

/* Zeroed memory aligned for any type; valid until reset/free. */
void *ahpa_arena_alloc(struct ahpa_arena *a, size_t n);
char *ahpa_arena_strdup(struct ahpa_arena *a, const char *s);
char *ahpa_arena_strndup(struct ahpa_arena *a, const char *s, size_t n);
char *ahpa_arena_printf(struct ahpa_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Total bytes handed out since the last reset (for accounting). */
size_t ahpa_arena_used(const struct ahpa_arena *a);
/* Heap bytes the arena holds: its blocks and itself, as
 * ahpa_mem_footprint() counts them (for caches bounded in bytes). */
size_t ahpa_arena_footprint(const struct ahpa_arena *a);

#endif
