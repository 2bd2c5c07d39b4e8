/* instanceBounds: windows of cron-scheduled replica limits, and which of
 * them are in force at an instant (the combination rule is documented in
 * ahpa/cron.h: every bound in force must hold). */
#include "ahpa/cron.h"

#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"

struct bound {
    struct ahpa_cron_expr expr;
    char *text;
    int32_t min_replicas, max_replicas;
};

struct window {
    int64_t start_s, end_s;
    size_t n, cap;
    struct bound *bounds;
};

struct ahpa_cron_bounds {
    size_t n, cap;
    struct window *windows;
};

struct ahpa_cron_bounds *ahpa_cron_bounds_new(void)
{
    return ahpa_calloc(1, sizeof(struct ahpa_cron_bounds));
}

void ahpa_cron_bounds_free(struct ahpa_cron_bounds *b)
{
    if (b == NULL)
        return;
    for (size_t w = 0; w < b->n; w++) {
        for (size_t i = 0; i < b->windows[w].n; i++)
            free(b->windows[w].bounds[i].text);
        free(b->windows[w].bounds);
    }
    free(b->windows);
    free(b);
}

int ahpa_cron_bounds_add_window(struct ahpa_cron_bounds *b, int64_t start_s, int64_t end_s,
                                struct ahpa_error *err)
{
    if (b == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "instanceBounds: no set");
    if (end_s <= start_s)
        return ahpa_error_set(err, AHPA_EINVAL,
                              "instanceBounds: endTime must be after startTime");
    if (b->n == (size_t)INT32_MAX)
        return ahpa_error_set(err, AHPA_ETOOBIG, "instanceBounds: too many windows");
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 4;
        b->windows = ahpa_reallocarray(b->windows, b->cap, sizeof(*b->windows));
    }
    b->windows[b->n] = (struct window){.start_s = start_s, .end_s = end_s};
    return (int)b->n++;
}

int ahpa_cron_bounds_add_window_text(struct ahpa_cron_bounds *b, const struct ahpa_cron_zone *z,
                                     const char *start_text, const char *end_text,
                                     struct ahpa_error *err)
{
    int64_t start, end;
    struct ahpa_error inner = {0};
    if (ahpa_cron_zone_parse_local(z, start_text ? start_text : "", &start, &inner) < 0)
        return ahpa_error_set(err, inner.code, "startTime: %s", inner.msg);
    if (ahpa_cron_zone_parse_local(z, end_text ? end_text : "", &end, &inner) < 0)
        return ahpa_error_set(err, inner.code, "endTime: %s", inner.msg);
    return ahpa_cron_bounds_add_window(b, start, end, err);
}

static int check_limits(int32_t min_replicas, int32_t max_replicas, struct ahpa_error *err)
{
    if (min_replicas < AHPA_CRON_UNSET || max_replicas < AHPA_CRON_UNSET)
        return ahpa_error_set(err, AHPA_ERANGE, "bounds: replicas must be >= 0");
    if (min_replicas != AHPA_CRON_UNSET && max_replicas != AHPA_CRON_UNSET &&
        min_replicas > max_replicas)
        return ahpa_error_set(err, AHPA_ERANGE, "bounds: minReplicas %d > maxReplicas %d",
                              (int)min_replicas, (int)max_replicas);
    return 0;
}

int ahpa_cron_bounds_add(struct ahpa_cron_bounds *b, size_t window, const char *cron,
                         int32_t min_replicas, int32_t max_replicas, struct ahpa_error *err)
{
    if (b == NULL || window >= b->n)
        return ahpa_error_set(err, AHPA_EINVAL, "bounds: no window %zu", window);
    struct ahpa_cron_expr expr;
    int rc = ahpa_cron_parse(cron, &expr, err);
    if (rc < 0)
        return rc;
    if ((rc = check_limits(min_replicas, max_replicas, err)) < 0)
        return rc;
    struct window *w = &b->windows[window];
    if (w->n == (size_t)INT32_MAX)
        return ahpa_error_set(err, AHPA_ETOOBIG, "bounds: too many bounds");
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 4;
        w->bounds = ahpa_reallocarray(w->bounds, w->cap, sizeof(*w->bounds));
    }
    w->bounds[w->n] = (struct bound){expr, ahpa_strdup(cron), min_replicas, max_replicas};
    return (int)w->n++;
}

size_t ahpa_cron_bounds_window_count(const struct ahpa_cron_bounds *b)
{
    return b == NULL ? 0 : b->n;
}

size_t ahpa_cron_bounds_count(const struct ahpa_cron_bounds *b, size_t window)
{
    return b == NULL || window >= b->n ? 0 : b->windows[window].n;
}

const char *ahpa_cron_bounds_text(const struct ahpa_cron_bounds *b, size_t window,
                                  size_t bound)
{
    if (b == NULL || window >= b->n || bound >= b->windows[window].n)
        return NULL;
    return b->windows[window].bounds[bound].text;
}

/* Folds one bound into the running result: highest min, lowest max. */
static void fold(struct ahpa_cron_in_force *r, const struct bound *bd, size_t w, size_t i)
{
    r->matched++;
    if (bd->min_replicas != AHPA_CRON_UNSET &&
        (r->min_replicas == AHPA_CRON_UNSET || bd->min_replicas > r->min_replicas)) {
        r->min_replicas = bd->min_replicas;
        r->min_window = w;
        r->min_bound = i;
        r->min_cron = bd->text;
    }
    if (bd->max_replicas != AHPA_CRON_UNSET &&
        (r->max_replicas == AHPA_CRON_UNSET || bd->max_replicas < r->max_replicas)) {
        r->max_replicas = bd->max_replicas;
        r->max_window = w;
        r->max_bound = i;
        r->max_cron = bd->text;
    }
}

void ahpa_cron_bounds_at(const struct ahpa_cron_bounds *b, const struct ahpa_cron_zone *z,
                         int64_t unix_s, struct ahpa_cron_in_force *out)
{
    memset(out, 0, sizeof(*out));
    out->min_replicas = AHPA_CRON_UNSET;
    out->max_replicas = AHPA_CRON_UNSET;
    if (b == NULL || b->n == 0)
        return;
    struct ahpa_civil local;
    ahpa_cron_zone_to_civil(z, unix_s, &local);
    for (size_t w = 0; w < b->n; w++) {
        const struct window *win = &b->windows[w];
        if (unix_s < win->start_s || unix_s >= win->end_s)
            continue;
        for (size_t i = 0; i < win->n; i++)
            if (ahpa_cron_match(&win->bounds[i].expr, &local))
                fold(out, &win->bounds[i], w, i);
    }
    out->conflict = out->min_replicas != AHPA_CRON_UNSET &&
                    out->max_replicas != AHPA_CRON_UNSET &&
                    out->min_replicas > out->max_replicas;
}

static int64_t floor_minute(int64_t t)
{
    int64_t m = t / 60;
    if (t % 60 != 0 && t < 0)
        m--;
    return m * 60;
}

int64_t ahpa_cron_bounds_next_change(const struct ahpa_cron_bounds *b,
                                     const struct ahpa_cron_zone *z, int64_t unix_s,
                                     int64_t horizon_s)
{
    struct ahpa_cron_in_force now, then;
    ahpa_cron_bounds_at(b, z, unix_s, &now);
    if (horizon_s <= 0 || unix_s > INT64_MAX - horizon_s)
        return -1;
    for (int64_t m = floor_minute(unix_s) + 60; m <= unix_s + horizon_s; m += 60) {
        ahpa_cron_bounds_at(b, z, m, &then);
        if (then.min_replicas != now.min_replicas || then.max_replicas != now.max_replicas)
            return m;
    }
    return -1;
}

void ahpa_cron_bounds_fill(const struct ahpa_cron_bounds *b, const struct ahpa_cron_zone *z,
                           int64_t t0_s, int64_t step_s, size_t n, int32_t *min_out,
                           int32_t *max_out)
{
    struct ahpa_cron_in_force f;
    for (size_t i = 0; i < n; i++) {
        ahpa_cron_bounds_at(b, z, t0_s + (int64_t)i * step_s, &f);
        if (min_out != NULL)
            min_out[i] = f.min_replicas;
        if (max_out != NULL)
            max_out[i] = f.max_replicas;
    }
}
