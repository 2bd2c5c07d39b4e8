/* Growable buffer. Growth doubles, so appends are amortised O(1). */
#include "ahpa/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/mem.h"

void ahpa_buf_init(struct ahpa_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ahpa_buf_dispose(struct ahpa_buf *b)
{
    free(b->data);
    ahpa_buf_init(b);
}

void ahpa_buf_reset(struct ahpa_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void ahpa_buf_reserve(struct ahpa_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need < b->len)
        ahpa_oom(SIZE_MAX);
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = ahpa_realloc(b->data, cap);
    b->cap = cap;
}

void ahpa_buf_append(struct ahpa_buf *b, const void *p, size_t n)
{
    ahpa_buf_reserve(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ahpa_buf_puts(struct ahpa_buf *b, const char *s)
{
    ahpa_buf_append(b, s, strlen(s));
}

void ahpa_buf_putc(struct ahpa_buf *b, char c)
{
    ahpa_buf_append(b, &c, 1);
}

void ahpa_buf_vprintf(struct ahpa_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        ahpa_buf_append(b, small, (size_t)n);
        return;
    }
    ahpa_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void ahpa_buf_printf(struct ahpa_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ahpa_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

char *ahpa_buf_take(struct ahpa_buf *b, size_t *len)
{
    if (b->data == NULL) {
        ahpa_buf_reserve(b, 0);
        b->data[0] = '\0';
    }
    char *out = b->data;
    if (len != NULL)
        *len = b->len;
    ahpa_buf_init(b);
    return out;
}

const char *ahpa_buf_cstr(const struct ahpa_buf *b)
{
    return b->data != NULL ? b->data : "";
}
