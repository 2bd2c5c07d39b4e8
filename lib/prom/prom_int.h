/* Internals shared by the files of lib/prom. */
#ifndef AHPA_PROM_INT_H
#define AHPA_PROM_INT_H

#include <stdbool.h>
#include <stddef.h>

struct ahpa_arena;
struct ahpa_error;
struct ahpa_prom_result;

/* A parsed JSON value (prom_json.c); all memory in the parse's arena. */
enum ahpa_prom__json_type {
    AHPA_PROM__JSON_NULL,
    AHPA_PROM__JSON_TRUE,
    AHPA_PROM__JSON_FALSE,
    AHPA_PROM__JSON_NUMBER,
    AHPA_PROM__JSON_STRING,
    AHPA_PROM__JSON_ARRAY,
    AHPA_PROM__JSON_OBJECT,
};

struct ahpa_prom__json {
    enum ahpa_prom__json_type type;
    union {
        double num;
        struct {
            const char *s; /* NUL-terminated, valid UTF-8, no NUL inside */
            size_t len;
        } str;
        struct {
            /* array: n values; object: n members as key, value, key, ... */
            struct ahpa_prom__json *items;
            size_t n;
        } list;
    } u;
};

/* Strict RFC 8259 parse of text[0..len) into `out`, allocating from `a`.
 * Returns 0, or -1 on any syntax error (the caller words the message). */
int ahpa_prom__json_parse(const char *text, size_t len, struct ahpa_arena *a,
                          struct ahpa_prom__json *out);
/* Member `key` of an object (the last one if repeated), or NULL. */
const struct ahpa_prom__json *ahpa_prom__json_get(const struct ahpa_prom__json *obj,
                                                  const char *key);
/* The text of a string value, or NULL for anything else. */
const char *ahpa_prom__json_string(const struct ahpa_prom__json *v);

/* Empties `r` for reuse, keeping (or creating) its arena. */
void ahpa_prom__result_reset(struct ahpa_prom_result *r);
/* `s` on one line, control characters as spaces, cut at ~200 bytes. */
void ahpa_prom__one_line(const char *s, char *out, size_t size);
/* -AHPA_EUPSTREAM "prometheus: unexpected response (HTTP n, type)". */
int ahpa_prom__unexpected(long http_status, const char *content_type, struct ahpa_error *err);

#endif
