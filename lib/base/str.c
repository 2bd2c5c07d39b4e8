/* String helpers. */
#include "ahpa/str.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"

size_t ahpa_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

bool ahpa_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ahpa_str_has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool ahpa_str_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    }
    return *a == *b;
}

int ahpa_str_to_int64(const char *s, int64_t *out, struct ahpa_error *err)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return ahpa_error_set(err, AHPA_EPARSE, "expected an integer, got \"%s\"",
                              s ? s : "");
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "expected an integer, got \"%s\"", s);
    if (errno == ERANGE)
        return ahpa_error_set(err, AHPA_ERANGE, "integer out of range: \"%s\"", s);
    *out = (int64_t)v;
    return 0;
}

int ahpa_str_to_double(const char *s, double *out, struct ahpa_error *err)
{
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return ahpa_error_set(err, AHPA_EPARSE, "expected a number, got \"%s\"",
                              s ? s : "");
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "expected a number, got \"%s\"", s);
    if (errno == ERANGE && isinf(v))
        return ahpa_error_set(err, AHPA_ERANGE, "number out of range: \"%s\"", s);
    *out = v;
    return 0;
}

int ahpa_str_to_bool(const char *s, bool *out, struct ahpa_error *err)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (ahpa_str_ieq(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (ahpa_str_ieq(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    return ahpa_error_set(err, AHPA_EPARSE, "expected true or false, got \"%s\"", s);
}

/* Units of a Go duration, longest suffix first so "ms" wins over "m". */
static const struct {
    const char *suffix;
    double ms;
} duration_units[] = {
    {"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
};

int ahpa_str_to_duration_ms(const char *s, int64_t *out_ms, struct ahpa_error *err)
{
    if (s == NULL || *s == '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "expected a duration, got \"\"");
    const char *p = s;
    double total = 0;
    bool bare = true;
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p) && *p != '.')
            goto bad;
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            goto bad;
        p = end;
        if (*p == '\0') {
            if (!bare || p != s + strlen(s))
                goto bad;
            total = v * 1000; /* bare number: seconds */
            break;
        }
        size_t i;
        for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
            size_t n = strlen(duration_units[i].suffix);
            if (strncmp(p, duration_units[i].suffix, n) == 0 &&
                (n == 2 || p[1] != 's')) {
                total += v * duration_units[i].ms;
                p += n;
                break;
            }
        }
        if (i == sizeof(duration_units) / sizeof(duration_units[0]))
            goto bad;
        bare = false;
    }
    if (!isfinite(total) || total > 9.2e15)
        return ahpa_error_set(err, AHPA_ERANGE, "duration out of range: \"%s\"", s);
    *out_ms = (int64_t)llround(total);
    return 0;
bad:
    return ahpa_error_set(err, AHPA_EPARSE,
                          "expected a duration like 30s, 1m30s or 500ms, got \"%s\"", s);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ahpa_url_decode_inplace(char *s, struct ahpa_error *err)
{
    char *w = s;
    for (const char *r = s; *r != '\0'; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = r[1] ? hexval(r[1]) : -1;
        int lo = hi >= 0 && r[2] ? hexval(r[2]) : -1;
        if (hi < 0 || lo < 0)
            return ahpa_error_set(err, AHPA_EPARSE, "malformed percent-escape");
        if (hi == 0 && lo == 0)
            return ahpa_error_set(err, AHPA_EPARSE, "encoded NUL byte");
        *w++ = (char)(hi * 16 + lo);
        r += 2;
    }
    *w = '\0';
    return 0;
}

static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < n - 1))
            return false;
    }
    return true;
}

bool ahpa_str_is_dns_label(const char *s)
{
    return label_ok(s, strlen(s));
}

bool ahpa_str_is_dns_subdomain(const char *s)
{
    size_t total = strlen(s);
    if (total == 0 || total > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, n))
            return false;
        if (dot == NULL)
            return true;
        p = dot + 1;
    }
}

uint64_t ahpa_str_hash_update(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

uint64_t ahpa_str_hash(const char *s)
{
    return ahpa_str_hash_update(AHPA_STR_HASH_INIT, s);
}

uint64_t ahpa_mem_hash_update(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}
