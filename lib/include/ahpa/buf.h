/* A growable byte buffer, always NUL-terminated once anything is in it.
 *
 * Caller storage: ahpa_buf_init() before use, ahpa_buf_dispose() once.
 * `data` is NULL until the first append. */
#ifndef AHPA_BUF_H
#define AHPA_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct ahpa_buf {
    char *data;
    size_t len;  /* bytes in use, excluding the terminating NUL */
    size_t cap;  /* bytes allocated */
};

void ahpa_buf_init(struct ahpa_buf *b);
void ahpa_buf_dispose(struct ahpa_buf *b);
/* Keeps the allocation, sets len to 0. */
void ahpa_buf_reset(struct ahpa_buf *b);
void ahpa_buf_reserve(struct ahpa_buf *b, size_t extra);
void ahpa_buf_append(struct ahpa_buf *b, const void *p, size_t n);
void ahpa_buf_puts(struct ahpa_buf *b, const char *s);
void ahpa_buf_putc(struct ahpa_buf *b, char c);
void ahpa_buf_printf(struct ahpa_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ahpa_buf_vprintf(struct ahpa_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Moves the contents out: caller frees the result with free(); `b` is left
 * empty and reusable. Never NULL (an empty buffer yields ""). */
char *ahpa_buf_take(struct ahpa_buf *b, size_t *len);
/* The contents as a C string, "" when empty; borrowed until next change. */
const char *ahpa_buf_cstr(const struct ahpa_buf *b);

#endif
