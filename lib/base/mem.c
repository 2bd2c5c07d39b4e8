/* The one place where running out of memory ends the process. */
#include "ahpa/mem.h"

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
