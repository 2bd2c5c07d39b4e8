/* Base64 per RFC 4648 section 4. */
#include "ahpa/base64.h"

#include <stdbool.h>
#include <stdint.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void ahpa_base64_encode(const void *p, size_t n, struct ahpa_buf *out)
{
    const unsigned char *s = p;
    ahpa_buf_reserve(out, (n + 2) / 3 * 4);
    char *w = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *w++ = alphabet[v >> 18];
        *w++ = alphabet[(v >> 12) & 63];
        *w++ = alphabet[(v >> 6) & 63];
        *w++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
        *w++ = alphabet[v >> 18];
        *w++ = alphabet[(v >> 12) & 63];
        *w++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
}

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int ahpa_base64_decode(const char *s, size_t n, struct ahpa_buf *out,
                       struct ahpa_error *err)
{
    if (n % 4 != 0)
        return ahpa_error_set(err, AHPA_EPARSE, "base64 length %zu is not a multiple of 4", n);
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int pad = 0, v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (c == '=' && last && k >= 2) {
                pad++;
                v[k] = 0;
                continue;
            }
            v[k] = value_of(c);
            if (v[k] < 0 || pad > 0)
                return ahpa_error_set(err, AHPA_EPARSE, "bad base64 character at offset %zu",
                                      i + (size_t)k);
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        char bytes[3] = {(char)(w >> 16), (char)(w >> 8), (char)w};
        ahpa_buf_append(out, bytes, (size_t)(3 - pad));
    }
    return 0;
}
