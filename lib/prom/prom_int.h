/* Internals shared by the files of lib/prom. */
#ifndef AHPA_PROM_INT_H
#define AHPA_PROM_INT_H

#include <stddef.h>

struct ahpa_error;
struct ahpa_prom_result;

/* Empties `r` for reuse, keeping (or creating) its arena. */
void ahpa_prom__result_reset(struct ahpa_prom_result *r);
/* `s` on one line, control characters as spaces, cut at ~200 bytes. */
void ahpa_prom__one_line(const char *s, char *out, size_t size);
/* -AHPA_EUPSTREAM "prometheus: unexpected response (HTTP n, type)". */
int ahpa_prom__unexpected(long http_status, const char *content_type, struct ahpa_error *err);

#endif
