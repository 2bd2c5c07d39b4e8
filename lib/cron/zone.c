/* Time zones: UTC, fixed offsets, and IANA zones read from TZif bytes
 * (RFC 8536). The file's transitions are kept as (instant, offset) pairs;
 * its POSIX TZ footer covers instants after the last one. */
#include "ahpa/cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "cron_int.h"

struct ahpa_cron_zone {
    char *name;
    int32_t first_off_s; /* before the first transition, or always */
    size_t ntrans;
    int64_t *trans;     /* ascending instants */
    int32_t *trans_off; /* offset from trans[i] on */
    bool has_rule;      /* footer rule after the last transition */
    struct ahpa_cron__tzrule rule;
};

#define MAX_FIXED_S (18 * 3600)
#define MAX_TRANSITIONS 100000
#define MAX_TYPES 256

static struct ahpa_cron_zone *zone_alloc(const char *name)
{
    struct ahpa_cron_zone *z = ahpa_calloc(1, sizeof(*z));
    z->name = ahpa_strdup(name);
    return z;
}

void ahpa_cron_zone_free(struct ahpa_cron_zone *z)
{
    if (z == NULL)
        return;
    free(z->name);
    free(z->trans);
    free(z->trans_off);
    free(z);
}

const char *ahpa_cron_zone_name(const struct ahpa_cron_zone *z)
{
    return z == NULL ? "UTC" : z->name;
}

/* "+8", "+08", "+08:00", "+0800" after the sign; seconds east. */
static int parse_fixed_offset(const char *s, int32_t *out)
{
    int sign = *s == '-' ? -1 : 1;
    s++;
    size_t n = 0;
    while (isdigit((unsigned char)s[n]))
        n++;
    int h, m = 0;
    if (n == 1 || n == 2) {
        h = n == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
        s += n;
        if (*s == ':') {
            if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
                return -1;
            m = (s[1] - '0') * 10 + (s[2] - '0');
            s += 3;
        }
    } else if (n == 4) {
        h = (s[0] - '0') * 10 + (s[1] - '0');
        m = (s[2] - '0') * 10 + (s[3] - '0');
        s += 4;
    } else {
        return -1;
    }
    if (*s != '\0' || m > 59)
        return -1;
    *out = sign * (h * 3600 + m * 60);
    return 0;
}

int ahpa_cron_zone_new_fixed(const char *spec, struct ahpa_cron_zone **out,
                             struct ahpa_error *err)
{
    if (spec == NULL || out == NULL || spec[0] == '\0')
        return ahpa_error_set(err, AHPA_EINVAL, "time zone: none given");
    const char *p = spec;
    if (strncasecmp(p, "UTC", 3) == 0 || strncasecmp(p, "GMT", 3) == 0)
        p += 3;
    else if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0')
        p++;
    int32_t off = 0;
    if (*p != '\0') {
        if (*p != '+' && *p != '-')
            return ahpa_error_set(err, AHPA_ENOTFOUND, "time zone \"%.64s\" is not a fixed offset",
                                  spec);
        if (parse_fixed_offset(p, &off) < 0)
            return ahpa_error_set(err, AHPA_EPARSE,
                                  "time zone \"%.64s\": offset must look like +08:00, +0800 or +8",
                                  spec);
        if (off > MAX_FIXED_S || off < -MAX_FIXED_S)
            return ahpa_error_set(err, AHPA_ERANGE,
                                  "time zone \"%.64s\": offset beyond 18 hours", spec);
    }
    *out = zone_alloc(spec);
    (*out)->first_off_s = off;
    return 0;
}

/* ---- TZif ----------------------------------------------------------- */

struct tzif_header {
    uint32_t isut, isstd, leap, time, type, chars;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(const uint8_t *d, size_t n, size_t at, struct tzif_header *h,
                       char *version)
{
    if (n < at || n - at < 44 || memcmp(d + at, "TZif", 4) != 0)
        return -1;
    *version = (char)d[at + 4];
    const uint8_t *c = d + at + 20;
    *h = (struct tzif_header){be32(c), be32(c + 4), be32(c + 8), be32(c + 12),
                              be32(c + 16), be32(c + 20)};
    if (h->type == 0 || h->type > MAX_TYPES || h->time > MAX_TRANSITIONS ||
        h->chars == 0 || h->chars > 65536 || h->leap > 100000 ||
        (h->isstd != 0 && h->isstd != h->type) || (h->isut != 0 && h->isut != h->type))
        return -1;
    return 0;
}

/* Size of the data block that follows a header; counts are capped. */
static size_t block_size(const struct tzif_header *h, size_t tsize)
{
    return (size_t)h->time * (tsize + 1) + (size_t)h->type * 6 + h->chars +
           (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Reads transitions and types from the block at `b` (header already
 * checked, block inside the buffer). */
static int read_block(struct ahpa_cron_zone *z, const uint8_t *b, const struct tzif_header *h,
                      size_t tsize)
{
    const uint8_t *idx = b + (size_t)h->time * tsize;
    const uint8_t *types = idx + h->time;
    int32_t off[MAX_TYPES];
    for (uint32_t i = 0; i < h->type; i++) {
        int32_t u = (int32_t)be32(types + 6 * (size_t)i);
        if (u < -25 * 3600 || u > 26 * 3600)
            return -1;
        off[i] = u;
    }
    z->first_off_s = off[0];
    z->ntrans = h->time;
    z->trans = ahpa_calloc(h->time + 1, sizeof(int64_t));
    z->trans_off = ahpa_calloc(h->time + 1, sizeof(int32_t));
    for (uint32_t i = 0; i < h->time; i++) {
        const uint8_t *t = b + (size_t)i * tsize;
        z->trans[i] = tsize == 8 ? be64(t) : (int64_t)(int32_t)be32(t);
        if (idx[i] >= h->type || (i > 0 && z->trans[i] <= z->trans[i - 1]))
            return -1;
        z->trans_off[i] = off[idx[i]];
    }
    return 0;
}

/* The "\nTZ\n" footer of version 2+ files. */
static int read_footer(struct ahpa_cron_zone *z, const uint8_t *d, size_t n, size_t at,
                       struct ahpa_error *err)
{
    if (at >= n || d[at] != '\n')
        return ahpa_error_set(err, AHPA_EPARSE, "zone %s: TZif footer missing", z->name);
    const uint8_t *s = d + at + 1;
    const uint8_t *nl = memchr(s, '\n', n - at - 1);
    if (nl == NULL || nl - s > 120)
        return ahpa_error_set(err, AHPA_EPARSE, "zone %s: TZif footer malformed", z->name);
    if (nl == s)
        return 0;
    char buf[128];
    memcpy(buf, s, (size_t)(nl - s));
    buf[nl - s] = '\0';
    if (ahpa_cron__tzrule_parse(buf, &z->rule, err) < 0)
        return -AHPA_EPARSE;
    z->has_rule = true;
    return 0;
}

static int parse_tzif(struct ahpa_cron_zone *z, const uint8_t *d, size_t n,
                      struct ahpa_error *err)
{
    struct tzif_header h;
    char version;
    if (read_header(d, n, 0, &h, &version) < 0)
        return ahpa_error_set(err, AHPA_EPARSE, "zone %s: not a TZif file", z->name);
    if (h.leap != 0)
        return ahpa_error_set(err, AHPA_ENOTSUP, "zone %s: leap-second zones are not supported",
                              z->name);
    size_t at = 44, tsize = 4;
    size_t size = block_size(&h, 4);
    if (version >= '2') {
        at += size;
        if (read_header(d, n, at, &h, &version) < 0)
            return ahpa_error_set(err, AHPA_EPARSE, "zone %s: bad second TZif header", z->name);
        if (h.leap != 0)
            return ahpa_error_set(err, AHPA_ENOTSUP,
                                  "zone %s: leap-second zones are not supported", z->name);
        at += 44;
        tsize = 8;
        size = block_size(&h, 8);
    }
    if (n - at < size)
        return ahpa_error_set(err, AHPA_EPARSE, "zone %s: TZif file truncated", z->name);
    if (read_block(z, d + at, &h, tsize) < 0)
        return ahpa_error_set(err, AHPA_EPARSE, "zone %s: TZif data invalid", z->name);
    return tsize == 8 ? read_footer(z, d, n, at + size, err) : 0;
}

int ahpa_cron_zone_new_tzif(const char *name, const void *data, size_t n,
                            struct ahpa_cron_zone **out, struct ahpa_error *err)
{
    if (name == NULL || data == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "time zone: no data");
    struct ahpa_cron_zone *z = zone_alloc(name);
    int rc = parse_tzif(z, data, n, err);
    if (rc < 0) {
        ahpa_cron_zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

/* ---- conversions ---------------------------------------------------- */

int32_t ahpa_cron_zone_offset_s(const struct ahpa_cron_zone *z, int64_t unix_s)
{
    if (z == NULL)
        return 0;
    if (z->ntrans == 0 || unix_s < z->trans[0])
        return z->ntrans == 0 && z->has_rule ? ahpa_cron__tzrule_offset(&z->rule, unix_s)
                                             : z->first_off_s;
    size_t lo = 0, hi = z->ntrans; /* trans[lo] <= t < trans[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= unix_s)
            lo = mid;
        else
            hi = mid;
    }
    if (lo == z->ntrans - 1 && z->has_rule)
        return ahpa_cron__tzrule_offset(&z->rule, unix_s);
    return z->trans_off[lo];
}

void ahpa_cron_zone_to_civil(const struct ahpa_cron_zone *z, int64_t unix_s,
                             struct ahpa_civil *out)
{
    ahpa_civil_from_unix(unix_s + ahpa_cron_zone_offset_s(z, unix_s), out);
}

int64_t ahpa_cron_zone_from_civil(const struct ahpa_cron_zone *z, const struct ahpa_civil *local)
{
    int64_t naive = ahpa_unix_from_civil(local);
    /* Offsets a day either side cover any transition near this wall time. */
    int32_t before = ahpa_cron_zone_offset_s(z, naive - 86400);
    int32_t after = ahpa_cron_zone_offset_s(z, naive + 86400);
    int64_t t_before = naive - before, t_after = naive - after;
    bool ok_before = ahpa_cron_zone_offset_s(z, t_before) == before;
    bool ok_after = ahpa_cron_zone_offset_s(z, t_after) == after;
    if (ok_before && ok_after)
        return t_before < t_after ? t_before : t_after;
    if (ok_after)
        return t_after;
    return t_before; /* valid, or a skipped wall time read with the old offset */
}

/* Text carries its own zone: unix seconds, or a trailing Z or +-hh:mm. */
static bool has_explicit_zone(const char *s)
{
    size_t n = strlen(s);
    if (n < 10 || s[4] != '-')
        return true;
    if (s[n - 1] == 'Z' || s[n - 1] == 'z')
        return true;
    return strchr(s + 10, '+') != NULL || strchr(s + 10, '-') != NULL;
}

int ahpa_cron_zone_parse_local(const struct ahpa_cron_zone *z, const char *text, int64_t *out,
                               struct ahpa_error *err)
{
    int64_t t;
    int rc = ahpa_time_parse(text, &t, err);
    if (rc < 0)
        return rc;
    if (has_explicit_zone(text)) {
        *out = t;
        return 0;
    }
    struct ahpa_civil c;
    ahpa_civil_from_unix(t, &c);
    *out = ahpa_cron_zone_from_civil(z, &c);
    return 0;
}
