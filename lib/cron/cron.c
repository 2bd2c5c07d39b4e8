/* Cron expression parser and matcher (the dialect is described in
 * ahpa/cron.h). Fields become bit sets, so matching is five tests. */
#include "ahpa/cron.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ahpa/error.h"

struct field_spec {
    const char *name;
    int min, max;             /* accepted numeric range */
    const char *const *names; /* 3-letter names for min.., or NULL */
    int names_base;           /* value of names[0] */
    bool question_ok;         /* `?` allowed */
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct field_spec fields[F_COUNT] = {
    {"minute", 0, 59, NULL, 0, false},
    {"hour", 0, 23, NULL, 0, false},
    {"day-of-month", 1, 31, NULL, 0, true},
    {"month", 1, 12, month_names, 1, false},
    {"day-of-week", 0, 7, dow_names, 0, true},
};

/* Longest token we echo back in a message. */
#define ECHO_MAX 16

/* Reads a number or a name at *p into *out. Stops at '-', '/', ',' or the
 * end of the item. */
static int parse_value(const struct field_spec *f, const char **p, int *out,
                       struct ahpa_error *err)
{
    const char *s = *p;
    size_t n = 0;
    while (s[n] != '\0' && s[n] != '-' && s[n] != '/' && s[n] != ',')
        n++;
    if (n == 0)
        return ahpa_error_set(err, AHPA_EPARSE, "%s: missing value", f->name);
    if (isdigit((unsigned char)s[0])) {
        long v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                return ahpa_error_set(err, AHPA_EPARSE, "%s: bad number '%.*s'",
                                      f->name, (int)(n < ECHO_MAX ? n : ECHO_MAX), s);
            if (v < 100000)
                v = v * 10 + (s[i] - '0');
        }
        if (v < f->min || v > f->max)
            return ahpa_error_set(err, AHPA_ERANGE, "%s: value %.*s out of range %d-%d",
                                  f->name, (int)(n < ECHO_MAX ? n : ECHO_MAX), s,
                                  f->min, f->max);
        *out = (int)v;
        *p = s + n;
        return 0;
    }
    if (f->names != NULL && n == 3) {
        for (int i = 0; f->names[i] != NULL; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *out = f->names_base + i;
                *p = s + n;
                return 0;
            }
        }
    }
    if (f->names != NULL)
        return ahpa_error_set(err, AHPA_EPARSE, "%s: unknown name %.*s", f->name,
                              (int)(n < ECHO_MAX ? n : ECHO_MAX), s);
    return ahpa_error_set(err, AHPA_EPARSE, "%s: expected a number, got '%.*s'", f->name,
                          (int)(n < ECHO_MAX ? n : ECHO_MAX), s);
}

/* Parses the "/n" after a range, if any; *step stays 1 otherwise. */
static int parse_step(const struct field_spec *f, const char **p, int *step,
                      struct ahpa_error *err)
{
    if (**p != '/')
        return 0;
    const char *s = ++*p;
    long v = 0;
    size_t n = 0;
    while (isdigit((unsigned char)s[n])) {
        if (v < 100000)
            v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0)
        return ahpa_error_set(err, AHPA_EPARSE, "%s: step after '/' must be a number",
                              f->name);
    int span = f->max - f->min + 1;
    if (v < 1 || v > span)
        return ahpa_error_set(err, AHPA_ERANGE, "%s: step %ld out of range 1-%d", f->name, v,
                              span);
    *step = (int)v;
    *p = s + n;
    return 0;
}

/* One list item: `*`, `?`, a, a-b, each optionally /n. Adds its values to
 * *bits; sets *any when the item is an unrestricted star. */
static int parse_item(const struct field_spec *f, const char *item, uint64_t *bits,
                      bool *any, struct ahpa_error *err)
{
    const char *p = item;
    int lo, hi, step = 1, rc;
    bool star = false, ranged = false;
    if (*p == '*' || *p == '?') {
        if (*p == '?' && !f->question_ok)
            return ahpa_error_set(err, AHPA_EPARSE,
                                  "%s: '?' is only allowed in day-of-month and day-of-week",
                                  f->name);
        star = true;
        lo = f->min;
        hi = f->max == 7 ? 6 : f->max;
        p++;
    } else {
        if ((rc = parse_value(f, &p, &lo, err)) < 0)
            return rc;
        hi = lo;
        if (*p == '-') {
            p++;
            ranged = true;
            if ((rc = parse_value(f, &p, &hi, err)) < 0)
                return rc;
            if (hi < lo)
                return ahpa_error_set(err, AHPA_ERANGE,
                                      "%s: range %d-%d runs backwards (ranges do not wrap)",
                                      f->name, lo, hi);
        }
    }
    bool single = !star && !ranged && *p == '/';
    if ((rc = parse_step(f, &p, &step, err)) < 0)
        return rc;
    if (*p != '\0')
        return ahpa_error_set(err, AHPA_EPARSE, "%s: unexpected '%.*s'", f->name, ECHO_MAX, p);
    if (single && lo < (f->max == 7 ? 6 : f->max))
        hi = f->max == 7 ? 6 : f->max; /* "a/n" runs to the end of the field */
    bool weekday = f->max == 7;
    for (int v = lo; v <= hi; v += step)
        *bits |= UINT64_C(1) << (weekday && v == 7 ? 0 : v); /* weekday 7 is Sunday */
    if (star && step == 1)
        *any = true;
    return 0;
}

static int parse_field(const struct field_spec *f, const char *text, size_t len,
                       uint64_t *bits, bool *any, struct ahpa_error *err)
{
    char item[AHPA_CRON_TEXT_MAX];
    *bits = 0;
    *any = false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ',')
            continue;
        size_t n = i - start;
        if (n == 0)
            return ahpa_error_set(err, AHPA_EPARSE, "%s: empty list item", f->name);
        memcpy(item, text + start, n);
        item[n] = '\0';
        int rc = parse_item(f, item, bits, any, err);
        if (rc < 0)
            return rc;
        start = i + 1;
    }
    return 0;
}

static const char *expand_descriptor(const char *text)
{
    static const struct {
        const char *name, *expr;
    } table[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcasecmp(text, table[i].name) == 0)
            return table[i].expr;
    return NULL;
}

/* Splits `text` into exactly five blank-separated fields. */
static int split_fields(const char *text, const char *start[F_COUNT], size_t len[F_COUNT],
                        struct ahpa_error *err)
{
    size_t count = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        const char *s = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (count < F_COUNT) {
            start[count] = s;
            len[count] = (size_t)(p - s);
        }
        count++;
    }
    if (count != F_COUNT)
        return ahpa_error_set(err, AHPA_EPARSE,
                              "expected 5 fields (minute hour day-of-month month "
                              "day-of-week), got %zu",
                              count);
    return 0;
}

int ahpa_cron_parse(const char *text, struct ahpa_cron_expr *out, struct ahpa_error *err)
{
    if (text == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "cron: no expression");
    if (strlen(text) >= AHPA_CRON_TEXT_MAX)
        return ahpa_error_set(err, AHPA_EPARSE, "cron: expression longer than %d bytes",
                              AHPA_CRON_TEXT_MAX - 1);
    while (*text == ' ' || *text == '\t')
        text++;
    if (*text == '@') {
        const char *expanded = expand_descriptor(text);
        if (expanded == NULL)
            return ahpa_error_set(err, AHPA_EPARSE, "cron: unknown descriptor '%.20s'", text);
        text = expanded;
    }
    const char *start[F_COUNT];
    size_t len[F_COUNT];
    int rc = split_fields(text, start, len, err);
    if (rc < 0)
        return rc;
    uint64_t bits[F_COUNT];
    bool any[F_COUNT];
    for (int i = 0; i < F_COUNT; i++)
        if ((rc = parse_field(&fields[i], start[i], len[i], &bits[i], &any[i], err)) < 0)
            return rc;
    out->minute = bits[F_MINUTE];
    out->hour = bits[F_HOUR];
    out->dom = bits[F_DOM];
    out->month = bits[F_MONTH];
    out->dow = bits[F_DOW];
    out->dom_any = any[F_DOM];
    out->dow_any = any[F_DOW];
    return 0;
}

static bool has_bit(uint64_t bits, int v)
{
    return v >= 0 && v < 64 && (bits >> v & 1u) != 0;
}

bool ahpa_cron_match(const struct ahpa_cron_expr *e, const struct ahpa_civil *local)
{
    if (!has_bit(e->minute, local->minute) || !has_bit(e->hour, local->hour) ||
        !has_bit(e->month, local->month))
        return false;
    bool dom = has_bit(e->dom, local->day);
    bool dow = has_bit(e->dow, local->wday);
    if (e->dom_any || e->dow_any)
        return dom && dow;
    return dom || dow;
}
