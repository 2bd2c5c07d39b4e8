/* String helpers: bounded copies, strict number parsing, URL decoding,
 * Kubernetes name validation. All pure. */
#ifndef AHPA_STR_H
#define AHPA_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ahpa_error;

/* Copies at most size-1 bytes and always terminates (size > 0). Returns
 * strlen(src); a result >= size means the copy was truncated. */
size_t ahpa_strlcpy(char *dst, const char *src, size_t size);

bool ahpa_str_has_prefix(const char *s, const char *prefix);
bool ahpa_str_has_suffix(const char *s, const char *suffix);
/* ASCII case-insensitive equality. */
bool ahpa_str_ieq(const char *a, const char *b);

/* Whole-string parses: no leading/trailing junk, no empty input, range
 * checked. Return 0 or -AHPA_EPARSE / -AHPA_ERANGE with a message. */
int ahpa_str_to_int64(const char *s, int64_t *out, struct ahpa_error *err);
int ahpa_str_to_double(const char *s, double *out, struct ahpa_error *err);
/* true/false/1/0/yes/no, case-insensitive. */
int ahpa_str_to_bool(const char *s, bool *out, struct ahpa_error *err);
/* Go-style durations "15s", "1m30s", "500ms", "2h", or bare seconds "90".
 * Result in milliseconds. */
int ahpa_str_to_duration_ms(const char *s, int64_t *out_ms,
                            struct ahpa_error *err);

/* Percent-decodes `s` in place ('+' is left alone: paths, not forms).
 * Fails with -AHPA_EPARSE on a malformed escape or an encoded NUL. */
int ahpa_url_decode_inplace(char *s, struct ahpa_error *err);

/* RFC 1123 DNS label (namespaces): [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63. */
bool ahpa_str_is_dns_label(const char *s);
/* FNV-1a (64 bit) of a string: fast, not for adversarial keys unless the
 * table bounds its chains. _hash_update continues a hash (start from
 * AHPA_STR_HASH_INIT), so several strings can be hashed as one key. */
#define AHPA_STR_HASH_INIT 14695981039346656037ULL
uint64_t ahpa_str_hash_update(uint64_t h, const char *s);
uint64_t ahpa_str_hash(const char *s);
/* The same over n bytes (NULs included), for keys that are not strings. */
uint64_t ahpa_mem_hash_update(uint64_t h, const void *p, size_t n);
/* RFC 1123 DNS subdomain (most object names): labels joined by '.', <= 253. */
bool ahpa_str_is_dns_subdomain(const char *s);

#endif
