/* Allocation that never returns NULL.
 *
 * Out-of-memory is not recoverable in a server that answers from memory:
 * every allocation in the project goes through these, which print one line
 * and abort in one place. Release with free(). */
#ifndef AHPA_MEM_H
#define AHPA_MEM_H

#include <stdbool.h>
#include <stddef.h>

void *ahpa_malloc(size_t n);
void *ahpa_calloc(size_t count, size_t size);
void *ahpa_realloc(void *p, size_t n);
/* Overflow-checked realloc of `count` elements of `size` bytes. */
void *ahpa_reallocarray(void *p, size_t count, size_t size);
char *ahpa_strdup(const char *s);
char *ahpa_strndup(const char *s, size_t n);

/* Called on allocation failure; never returns. */
void ahpa_oom(size_t n) __attribute__((noreturn));

/* What an allocation of n bytes costs on the heap: glibc's chunk of
 * n + 8 bytes rounded up to 16, at least 32. For caches that are bounded
 * by what they hold, not by what they asked for. */
size_t ahpa_mem_footprint(size_t n);

/* Giving freed memory back to the system.
 *
 * glibc keeps freed chunks in its arenas; after a cache drops many entries
 * the process stays as large as at its peak unless malloc_trim() returns
 * the free pages. A trimmer counts what its owner freed (from any thread,
 * lock-free) and trims when enough was freed and the last trim is old
 * enough: malloc_trim walks every arena, so it runs from background
 * threads only and at a bounded rate. */
struct ahpa_mem_trimmer {
    _Atomic size_t freed;        /* since the last trim */
    _Atomic long long last_ms;   /* monotonic ms of the last trim; 0 never */
    _Atomic unsigned long long trims;
    size_t threshold_bytes;
    long long interval_ms;
};

void ahpa_mem_trimmer_init(struct ahpa_mem_trimmer *t, size_t threshold_bytes,
                           long long interval_ms);
void ahpa_mem_trimmer_note(struct ahpa_mem_trimmer *t, size_t freed_bytes);
/* Trims when at least threshold_bytes were noted since the last trim and
 * interval_ms have passed (now_ms monotonic); true when it trimmed. */
bool ahpa_mem_trimmer_run(struct ahpa_mem_trimmer *t, long long now_ms);

#endif
