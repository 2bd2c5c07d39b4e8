/* Allocation that never returns NULL.
 *
 * Out-of-memory is not recoverable in a server that answers from memory:
 * every allocation in the project goes through these, which print one line
 * and abort in one place. Release with free(). */
#ifndef AHPA_MEM_H
#define AHPA_MEM_H

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

#endif
