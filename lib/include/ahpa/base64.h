/* Standard base64 (RFC 4648 section 4, with padding, no line breaks). */
#ifndef AHPA_BASE64_H
#define AHPA_BASE64_H

#include <stddef.h>

struct ahpa_buf;
struct ahpa_error;

/* Appends the encoding of p[0..n) to `out`. */
void ahpa_base64_encode(const void *p, size_t n, struct ahpa_buf *out);

/* Appends the decoding of s[0..n) to `out`. Rejects bad characters,
 * bad padding and truncated input with -AHPA_EPARSE. */
int ahpa_base64_decode(const char *s, size_t n, struct ahpa_buf *out,
                       struct ahpa_error *err);

#endif
