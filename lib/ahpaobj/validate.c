/* JSON tree of one AdvancedHorizontalPodAutoscaler to a validated
 * struct ahpa_obj. Every message: "<ns>/<name>: <field path>: <reason>". */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "ahpa/quantity.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "ahpaobj_int.h"

#define PATH_MAX_ 192

struct vctx {
    const char *prefix;
    char *msg;   /* first failure, heap */
    int code;
    const struct ahpa_cron_zone *zone;
};

__attribute__((format(printf, 4, 5)))
static int fail(struct vctx *c, int code, const char *path, const char *fmt, ...)
{
    if (c->msg != NULL)
        return -c->code;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_printf(&b, "%s%s: ", c->prefix, path);
    va_list ap;
    va_start(ap, fmt);
    ahpa_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    c->msg = ahpa_buf_take(&b, NULL);
    c->code = code;
    return -code;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* Paths are cut at PATH_MAX_ - 1 bytes (never reached by real fields). */
__attribute__((format(printf, 2, 3)))
static void pathf(char out[PATH_MAX_], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, PATH_MAX_, fmt, ap);
    va_end(ap);
}

static void join(char out[PATH_MAX_], const char *base, const char *key)
{
    pathf(out, "%s%s%s", base, *base ? "." : "", key);
}

/* Member `key` of `obj` (NULL or JSON null count as absent) of the JSON
 * type `type`. Absent: *out = NULL, error only when required. */
static int get_typed(struct vctx *c, const json_t *obj, const char *base, const char *key,
                     bool required, json_type type, json_t **out)
{
    char path[PATH_MAX_];
    join(path, base, key);
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return required ? fail(c, AHPA_EPARSE, path, "required") : 0;
    if (json_typeof(v) != type) {
        const char *want = type == JSON_OBJECT ? "an object"
                         : type == JSON_ARRAY  ? "a list" : "a string";
        return fail(c, AHPA_EPARSE, path, "expected %s, got %s", want, type_name(v));
    }
    *out = v;
    return 0;
}

static int get_string(struct vctx *c, const json_t *obj, const char *base, const char *key,
                      bool required, const char **out)
{
    json_t *v;
    int rc = get_typed(c, obj, base, key, required, JSON_STRING, &v);
    *out = v ? json_string_value(v) : NULL;
    if (rc == 0 && v != NULL && **out == '\0' && required) {
        char path[PATH_MAX_];
        join(path, base, key);
        return fail(c, AHPA_EPARSE, path, "required (empty)");
    }
    return rc;
}

/* An integer in [lo, hi]; a number with no fraction counts. *present says
 * whether it was given; *out is untouched when absent. */
static int get_int(struct vctx *c, const json_t *obj, const char *base, const char *key,
                   bool required, int64_t lo, int64_t hi, int64_t *out, bool *present)
{
    char path[PATH_MAX_];
    join(path, base, key);
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (present)
        *present = false;
    if (v == NULL || json_is_null(v))
        return required ? fail(c, AHPA_EPARSE, path, "required") : 0;
    int64_t n;
    if (json_is_integer(v)) {
        n = (int64_t)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        n = (int64_t)json_real_value(v);
    } else {
        return fail(c, AHPA_EPARSE, path, "expected an integer, got %s", type_name(v));
    }
    if (n < lo || n > hi)
        return fail(c, AHPA_ERANGE, path, "%lld is out of range %lld-%lld", (long long)n,
                    (long long)lo, (long long)hi);
    *out = n;
    if (present)
        *present = true;
    return 0;
}

/* A Quantity given as a string or a number; must be finite and > 0. */
static int get_quantity(struct vctx *c, const json_t *obj, const char *base, const char *key,
                        double *out)
{
    char path[PATH_MAX_];
    join(path, base, key);
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v == NULL || json_is_null(v))
        return fail(c, AHPA_EPARSE, path, "required");
    double d;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        struct ahpa_error e = {0};
        if (ahpa_quantity_parse(json_string_value(v), &d, &e) < 0)
            return fail(c, AHPA_EPARSE, path, "%s", e.msg);
    } else {
        return fail(c, AHPA_EPARSE, path, "expected a quantity, got %s", type_name(v));
    }
    if (!isfinite(d) || d <= 0)
        return fail(c, AHPA_ERANGE, path, "must be > 0");
    *out = d;
    return 0;
}

/* ---- sections ------------------------------------------------------- */

static int do_metadata(struct vctx *c, const json_t *root, struct ahpa_obj *o)
{
    json_t *md;
    const char *name, *ns, *uid, *created;
    int rc = get_typed(c, root, "", "metadata", true, JSON_OBJECT, &md);
    if (rc == 0)
        rc = get_string(c, md, "metadata", "name", true, &name);
    if (rc == 0 && !ahpa_str_is_dns_subdomain(name))
        rc = fail(c, AHPA_EPARSE, "metadata.name", "\"%s\" is not a DNS subdomain name", name);
    if (rc == 0)
        rc = get_string(c, md, "metadata", "namespace", false, &ns);
    if (rc == 0 && ns != NULL && !ahpa_str_is_dns_label(ns))
        rc = fail(c, AHPA_EPARSE, "metadata.namespace", "\"%s\" is not a DNS label", ns);
    if (rc == 0)
        rc = get_string(c, md, "metadata", "uid", false, &uid);
    if (rc == 0)
        rc = get_string(c, md, "metadata", "creationTimestamp", false, &created);
    if (rc == 0)
        rc = get_int(c, md, "metadata", "generation", false, 0, INT64_MAX, &o->generation, NULL);
    if (rc < 0)
        return rc;
    o->name = ahpa_strdup(name);
    o->ns = ahpa_strdup(ns && *ns ? ns : AHPA_OBJ_DEFAULT_NAMESPACE);
    o->uid = ahpa_strdup(uid ? uid : "");
    if (created != NULL && *created != '\0') {
        struct ahpa_error e = {0};
        if (ahpa_time_parse(created, &o->creation_s, &e) < 0)
            return fail(c, AHPA_EPARSE, "metadata.creationTimestamp", "%s", e.msg);
    }
    return 0;
}

static int do_target_ref(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    json_t *ref;
    const char *api, *kind, *name;
    const char *p = "spec.scaleTargetRef";
    int rc = get_typed(c, spec, "spec", "scaleTargetRef", true, JSON_OBJECT, &ref);
    if (rc == 0)
        rc = get_string(c, ref, p, "kind", true, &kind);
    if (rc == 0)
        rc = get_string(c, ref, p, "name", true, &name);
    if (rc == 0)
        rc = get_string(c, ref, p, "apiVersion", false, &api);
    if (rc < 0)
        return rc;
    o->target_api_version = ahpa_strdup(api && *api ? api : AHPA_OBJ_DEFAULT_TARGET_API_VERSION);
    o->target_kind = ahpa_strdup(kind);
    o->target_name = ahpa_strdup(name);
    return 0;
}

static int do_resource_metric(struct vctx *c, const json_t *m, const char *base,
                              struct ahpa_obj_metric *out)
{
    char p[PATH_MAX_], tp[PATH_MAX_];
    json_t *res, *target;
    const char *name, *type;
    join(p, base, "resource");
    join(tp, p, "target");
    int rc = get_typed(c, m, base, "resource", true, JSON_OBJECT, &res);
    if (rc == 0)
        rc = get_string(c, res, p, "name", true, &name);
    if (rc == 0 && strcmp(name, "gpu") != 0 && strcmp(name, "cpu") != 0 &&
        strcmp(name, "memory") != 0) {
        char np[PATH_MAX_];
        join(np, p, "name");
        rc = fail(c, AHPA_EPARSE, np, "unsupported resource \"%s\" (want gpu, cpu or memory)",
                  name);
    }
    if (rc == 0)
        rc = get_typed(c, res, p, "target", true, JSON_OBJECT, &target);
    if (rc == 0)
        rc = get_string(c, target, tp, "type", true, &type);
    if (rc < 0)
        return rc;
    out->type = AHPA_OBJ_METRIC_RESOURCE;
    out->name = ahpa_strdup(name);
    if (strcmp(type, "Utilization") == 0) {
        int64_t u;
        out->target_type = AHPA_OBJ_TARGET_UTILIZATION;
        rc = get_int(c, target, tp, "averageUtilization", true, 1, 100000, &u, NULL);
        out->target = (double)u;
        return rc;
    }
    if (strcmp(type, "AverageValue") == 0) {
        out->target_type = AHPA_OBJ_TARGET_AVERAGE_VALUE;
        return get_quantity(c, target, tp, "averageValue", &out->target);
    }
    char typ[PATH_MAX_];
    join(typ, tp, "type");
    return fail(c, AHPA_EPARSE, typ, "unsupported \"%s\" for a Resource metric "
                "(want Utilization or AverageValue)", type);
}

static int do_external_metric(struct vctx *c, const json_t *m, const char *base,
                              struct ahpa_obj_metric *out)
{
    char p[PATH_MAX_], mp[PATH_MAX_], tp[PATH_MAX_];
    json_t *ext, *metric, *target, *sel;
    const char *name, *type;
    join(p, base, "external");
    join(mp, p, "metric");
    join(tp, p, "target");
    int rc = get_typed(c, m, base, "external", true, JSON_OBJECT, &ext);
    if (rc == 0)
        rc = get_typed(c, ext, p, "metric", true, JSON_OBJECT, &metric);
    if (rc == 0)
        rc = get_string(c, metric, mp, "name", true, &name);
    if (rc == 0)
        rc = get_typed(c, metric, mp, "selector", false, JSON_OBJECT, &sel);
    if (rc == 0)
        rc = get_typed(c, ext, p, "target", true, JSON_OBJECT, &target);
    if (rc == 0)
        rc = get_string(c, target, tp, "type", true, &type);
    if (rc < 0)
        return rc;
    /* The name is a path segment of external.metrics.k8s.io, as the HPA
     * requires it to be. */
    if (strchr(name, '/') != NULL || strchr(name, '%') != NULL || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        char np[PATH_MAX_];
        join(np, mp, "name");
        return fail(c, AHPA_EPARSE, np, "\"%s\" is not a metric name (it may not be \".\", "
                    "\"..\" or contain '/' or '%%')", name);
    }
    out->type = AHPA_OBJ_METRIC_EXTERNAL;
    out->name = ahpa_strdup(name);
    if (sel != NULL) {
        struct ahpa_error e = {0};
        char sp[PATH_MAX_];
        join(sp, mp, "selector");
        if (ahpa_labelsel_from_json(sel, &out->selector, &e) < 0)
            return fail(c, AHPA_EPARSE, sp, "%s", e.msg);
    }
    if (strcmp(type, "Value") == 0) {
        out->target_type = AHPA_OBJ_TARGET_VALUE;
        return get_quantity(c, target, tp, "value", &out->target);
    }
    if (strcmp(type, "AverageValue") == 0) {
        out->target_type = AHPA_OBJ_TARGET_AVERAGE_VALUE;
        return get_quantity(c, target, tp, "averageValue", &out->target);
    }
    char typ[PATH_MAX_];
    join(typ, tp, "type");
    return fail(c, AHPA_EPARSE, typ, "unsupported \"%s\" for an External metric "
                "(want Value or AverageValue)", type);
}

/* Whether two metrics read the same thing (type, name, selector). */
static bool same_metric(const struct ahpa_obj_metric *a, const struct ahpa_obj_metric *b)
{
    if (a->type != b->type || strcmp(a->name, b->name) != 0)
        return false;
    struct ahpa_buf x, y;
    ahpa_buf_init(&x);
    ahpa_buf_init(&y);
    if (a->selector != NULL)
        ahpa_labelsel_canonical(a->selector, &x);
    if (b->selector != NULL)
        ahpa_labelsel_canonical(b->selector, &y);
    bool same = strcmp(ahpa_buf_cstr(&x), ahpa_buf_cstr(&y)) == 0;
    ahpa_buf_dispose(&x);
    ahpa_buf_dispose(&y);
    return same;
}

static int do_metrics(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    json_t *arr;
    int rc = get_typed(c, spec, "spec", "metrics", true, JSON_ARRAY, &arr);
    if (rc < 0)
        return rc;
    size_t n = json_array_size(arr);
    if (n == 0)
        return fail(c, AHPA_EPARSE, "spec.metrics", "at least one metric is required");
    if (n > AHPA_OBJ_MAX_METRICS)
        return fail(c, AHPA_ERANGE, "spec.metrics", "more than %d metrics", AHPA_OBJ_MAX_METRICS);
    o->metrics = ahpa_calloc(n, sizeof(*o->metrics));
    for (size_t i = 0; i < n; i++) {
        char base[PATH_MAX_], tpath[PATH_MAX_];
        const char *type;
        json_t *m = json_array_get(arr, i);
        pathf(base, "spec.metrics[%zu]", i);
        o->nmetrics = i + 1;
        if (!json_is_object(m))
            return fail(c, AHPA_EPARSE, base, "expected an object, got %s", type_name(m));
        if ((rc = get_string(c, m, base, "type", true, &type)) < 0)
            return rc;
        if (strcmp(type, "Resource") == 0)
            rc = do_resource_metric(c, m, base, &o->metrics[i]);
        else if (strcmp(type, "External") == 0)
            rc = do_external_metric(c, m, base, &o->metrics[i]);
        else {
            join(tpath, base, "type");
            rc = fail(c, AHPA_EPARSE, tpath, "unsupported \"%s\" (want Resource or External)",
                      type);
        }
        if (rc < 0)
            return rc;
        /* The same metric twice would be planned twice, with two targets:
         * say which one is meant. */
        for (size_t k = 0; k < i; k++)
            if (same_metric(&o->metrics[k], &o->metrics[i]))
                return fail(c, AHPA_EPARSE, base, "the same %s metric %s as spec.metrics[%zu]",
                            ahpa_obj_metric_type_name(o->metrics[i].type), o->metrics[i].name, k);
    }
    return 0;
}

static int do_replicas(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    int64_t min = AHPA_OBJ_DEFAULT_MIN_REPLICAS, max = 0;
    int rc = get_int(c, spec, "spec", "minReplicas", false, 0, AHPA_OBJ_MAX_REPLICAS, &min, NULL);
    if (rc == 0)
        rc = get_int(c, spec, "spec", "maxReplicas", true, 1, AHPA_OBJ_MAX_REPLICAS, &max, NULL);
    if (rc == 0 && max < min)
        rc = fail(c, AHPA_ERANGE, "spec.maxReplicas", "%lld is less than spec.minReplicas %lld",
                  (long long)max, (long long)min);
    o->min_replicas = (int32_t)min;
    o->max_replicas = (int32_t)max;
    return rc;
}

static int do_prediction(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    json_t *pred;
    o->quantile = AHPA_OBJ_DEFAULT_QUANTILE;
    o->scale_up_forward_s = AHPA_OBJ_DEFAULT_SCALE_UP_FORWARD_S;
    int rc = get_typed(c, spec, "spec", "prediction", false, JSON_OBJECT, &pred);
    if (rc < 0 || pred == NULL)
        return rc;
    json_t *q = json_object_get(pred, "quantile");
    if (q != NULL && !json_is_null(q)) {
        if (!json_is_number(q))
            return fail(c, AHPA_EPARSE, "spec.prediction.quantile",
                        "expected a number, got %s", type_name(q));
        double v = json_number_value(q);
        if (v > 0 && v < 1)
            o->quantile = v;
        else if (v > 1 && v < 100)
            o->quantile = v / 100.0;
        else
            return fail(c, AHPA_ERANGE, "spec.prediction.quantile",
                        "%g is not in (0, 1) or (1, 100)", v);
    }
    return get_int(c, pred, "spec.prediction", "scaleUpForward", false, 0,
                   AHPA_OBJ_MAX_SCALE_UP_FORWARD_S, &o->scale_up_forward_s, NULL);
}

static int do_strategy(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    const char *s;
    o->strategy = AHPA_OBJ_DEFAULT_STRATEGY;
    int rc = get_string(c, spec, "spec", "scaleStrategy", false, &s);
    if (rc < 0 || s == NULL || *s == '\0')
        return rc;
    if (ahpa_planner_strategy_parse(s, &o->strategy, NULL) < 0)
        return fail(c, AHPA_EPARSE, "spec.scaleStrategy",
                    "unknown \"%s\" (want observer, auto, proactive or reactive)", s);
    return 0;
}

static int do_stabilization(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    json_t *beh = NULL, *down = NULL;
    o->scale_down_stabilization_s = AHPA_OBJ_DEFAULT_STABILIZATION_S;
    int rc = get_int(c, spec, "spec", "stabilizationWindowSeconds", false, 0,
                     AHPA_OBJ_MAX_STABILIZATION_S, &o->scale_down_stabilization_s, NULL);
    if (rc == 0)
        rc = get_typed(c, spec, "spec", "behavior", false, JSON_OBJECT, &beh);
    if (rc < 0 || beh == NULL)
        return rc;
    rc = get_typed(c, beh, "spec.behavior", "scaleDown", false, JSON_OBJECT, &down);
    if (rc < 0 || down == NULL)
        return rc;
    return get_int(c, down, "spec.behavior.scaleDown", "stabilizationWindowSeconds", false, 0,
                   AHPA_OBJ_MAX_STABILIZATION_S, &o->scale_down_stabilization_s, NULL);
}

/* ---- instanceBounds --------------------------------------------------- */

static void side_text(struct ahpa_buf *b, const char *label, int32_t v)
{
    if (v == AHPA_CRON_UNSET)
        ahpa_buf_printf(b, "%s -", label);
    else
        ahpa_buf_printf(b, "%s %d", label, (int)v);
}

static void add_bound_text(struct ahpa_obj *o, const char *start, const char *end,
                           const char *cron, int32_t min, int32_t max)
{
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_printf(&b, "%s..%s  %s: ", start, end, cron);
    side_text(&b, "min", min);
    ahpa_buf_putc(&b, ' ');
    side_text(&b, "max", max);
    o->bounds_text = ahpa_reallocarray(o->bounds_text, o->nbounds_text + 1, sizeof(char *));
    o->bounds_text[o->nbounds_text++] = ahpa_buf_take(&b, NULL);
}

static int do_bound(struct vctx *c, const json_t *bd, const char *base, size_t window,
                    const char *start, const char *end, struct ahpa_obj *o)
{
    const char *cron;
    int64_t min = AHPA_CRON_UNSET, max = AHPA_CRON_UNSET;
    char cp[PATH_MAX_];
    join(cp, base, "cron");
    if (!json_is_object(bd))
        return fail(c, AHPA_EPARSE, base, "expected an object, got %s", type_name(bd));
    int rc = get_string(c, bd, base, "cron", true, &cron);
    if (rc == 0)
        rc = get_int(c, bd, base, "minReplicas", false, 0, AHPA_OBJ_MAX_REPLICAS, &min, NULL);
    if (rc == 0)
        rc = get_int(c, bd, base, "maxReplicas", false, 0, AHPA_OBJ_MAX_REPLICAS, &max, NULL);
    if (rc == 0 && min != AHPA_CRON_UNSET && max != AHPA_CRON_UNSET && max < min) {
        char mp[PATH_MAX_];
        join(mp, base, "maxReplicas");
        rc = fail(c, AHPA_ERANGE, mp, "%lld is less than minReplicas %lld", (long long)max,
                  (long long)min);
    }
    if (rc < 0)
        return rc;
    struct ahpa_error e = {0};
    rc = ahpa_cron_bounds_add(o->bounds, window, cron, (int32_t)min, (int32_t)max, &e);
    if (rc < 0)
        return fail(c, e.code ? e.code : AHPA_EPARSE, cp, "%s", e.msg);
    add_bound_text(o, start, end, cron, (int32_t)min, (int32_t)max);
    return 0;
}

static int do_window(struct vctx *c, const json_t *w, size_t i, struct ahpa_obj *o)
{
    char base[PATH_MAX_], bp[PATH_MAX_];
    const char *start, *end;
    json_t *bounds;
    pathf(base, "spec.instanceBounds[%zu]", i);
    if (!json_is_object(w))
        return fail(c, AHPA_EPARSE, base, "expected an object, got %s", type_name(w));
    int rc = get_string(c, w, base, "startTime", true, &start);
    if (rc == 0)
        rc = get_string(c, w, base, "endTime", true, &end);
    if (rc == 0)
        rc = get_typed(c, w, base, "bounds", true, JSON_ARRAY, &bounds);
    if (rc < 0)
        return rc;
    struct ahpa_error e = {0};
    int wi = ahpa_cron_bounds_add_window_text(o->bounds, c->zone, start, end, &e);
    if (wi < 0) {
        /* "startTime: ...", "endTime: ..." or "instanceBounds: endTime must ..." */
        const char *msg = e.msg;
        if (ahpa_str_has_prefix(msg, "instanceBounds: "))
            return fail(c, AHPA_ERANGE, base, "endTime %s is not after startTime %s", end,
                        start);
        char fp[PATH_MAX_];
        const char *field = ahpa_str_has_prefix(msg, "startTime: ") ? "startTime" : "endTime";
        join(fp, base, field);
        if (ahpa_str_has_prefix(msg, field) && msg[strlen(field)] == ':')
            msg += strlen(field) + 2;
        return fail(c, e.code ? e.code : AHPA_EPARSE, fp, "%s", msg);
    }
    size_t n = json_array_size(bounds);
    join(bp, base, "bounds");
    if (n == 0)
        return fail(c, AHPA_EPARSE, bp, "at least one bound is required");
    if (n > AHPA_OBJ_MAX_BOUNDS)
        return fail(c, AHPA_ERANGE, bp, "more than %d bounds", AHPA_OBJ_MAX_BOUNDS);
    for (size_t j = 0; j < n; j++) {
        char p[PATH_MAX_];
        pathf(p, "%s[%zu]", bp, j);
        if ((rc = do_bound(c, json_array_get(bounds, j), p, (size_t)wi, start, end, o)) < 0)
            return rc;
    }
    return 0;
}

static int do_instance_bounds(struct vctx *c, const json_t *spec, struct ahpa_obj *o)
{
    json_t *arr;
    int rc = get_typed(c, spec, "spec", "instanceBounds", false, JSON_ARRAY, &arr);
    if (rc < 0 || arr == NULL || json_array_size(arr) == 0)
        return rc;
    if (json_array_size(arr) > AHPA_OBJ_MAX_WINDOWS)
        return fail(c, AHPA_ERANGE, "spec.instanceBounds", "more than %d entries",
                    AHPA_OBJ_MAX_WINDOWS);
    o->bounds = ahpa_cron_bounds_new();
    for (size_t i = 0; i < json_array_size(arr); i++)
        if ((rc = do_window(c, json_array_get(arr, i), i, o)) < 0)
            return rc;
    return 0;
}

/* "(ns)/(name): " when the tree names itself validly, else NULL. */
char *ahpaobj_name_prefix(const json_t *root)
{
    json_t *md = json_object_get(root, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (name == NULL || !ahpa_str_is_dns_subdomain(name))
        return NULL;
    if (ns == NULL || *ns == '\0' || !ahpa_str_is_dns_label(ns))
        ns = AHPA_OBJ_DEFAULT_NAMESPACE;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    ahpa_buf_printf(&b, "%s/%s: ", ns, name);
    return ahpa_buf_take(&b, NULL);
}

static int do_kind(struct vctx *c, const json_t *root)
{
    const char *api = json_string_value(json_object_get(root, "apiVersion"));
    const char *kind = json_string_value(json_object_get(root, "kind"));
    if (kind != NULL && strcmp(kind, AHPA_OBJ_KIND) != 0)
        return fail(c, AHPA_EPARSE, "kind", "\"%s\" is not %s", kind, AHPA_OBJ_KIND);
    if (api != NULL && strcmp(api, AHPA_OBJ_API_VERSION) != 0)
        return fail(c, AHPA_EPARSE, "apiVersion", "unsupported \"%s\" (want %s)", api,
                    AHPA_OBJ_API_VERSION);
    return 0;
}

int ahpaobj_validate(const json_t *root, const struct ahpa_cron_zone *zone, const char *source,
                     const char *prefix, struct ahpa_obj **out, char **msg)
{
    char *named = json_is_object(root) ? ahpaobj_name_prefix(root) : NULL;
    struct vctx c = {.prefix = named ? named : (prefix ? prefix : ""), .zone = zone};
    struct ahpa_obj *o = ahpa_calloc(1, sizeof(*o));
    o->source = ahpa_strdup(source ? source : "");
    json_t *spec = NULL;
    int rc;
    if (!json_is_object(root))
        rc = fail(&c, AHPA_EPARSE, "(document)", "expected an object");
    else
        rc = do_kind(&c, root);
    if (rc == 0)
        rc = do_metadata(&c, root, o);
    if (rc == 0)
        rc = get_typed(&c, root, "", "spec", true, JSON_OBJECT, &spec);
    if (rc == 0)
        rc = do_target_ref(&c, spec, o);
    if (rc == 0)
        rc = do_metrics(&c, spec, o);
    if (rc == 0)
        rc = do_replicas(&c, spec, o);
    if (rc == 0)
        rc = do_prediction(&c, spec, o);
    if (rc == 0)
        rc = do_strategy(&c, spec, o);
    if (rc == 0)
        rc = do_stabilization(&c, spec, o);
    if (rc == 0)
        rc = do_instance_bounds(&c, spec, o);
    free(named);
    if (rc < 0) {
        ahpa_obj_free(o);
        *msg = c.msg;
        return rc;
    }
    *out = o;
    return 0;
}
