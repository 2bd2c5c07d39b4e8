/* Prometheus API response bodies -> struct ahpa_prom_result.
 *
 * Pure: no I/O. JSON is read by prom_json.c. The response envelope is
 *   {"status": "success"|"error", "data": ..., "errorType": ..., "error": ...,
 *    "warnings": [...]}
 * with sample values as strings ("1.5", "NaN", "+Inf", "-Inf") and
 * timestamps as float seconds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/arena.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/prom.h"
#include "prom_int.h"

/* Upstream text kept in an error message. */
#define UPSTREAM_TEXT_MAX 200

void ahpa_prom_result_init(struct ahpa_prom_result *r)
{
    memset(r, 0, sizeof(*r));
}

void ahpa_prom_result_dispose(struct ahpa_prom_result *r)
{
    ahpa_arena_free(r->arena);
    memset(r, 0, sizeof(*r));
}

void ahpa_prom__result_reset(struct ahpa_prom_result *r)
{
    struct ahpa_arena *a = r->arena;
    if (a != NULL)
        ahpa_arena_reset(a);
    else
        a = ahpa_arena_new(0);
    memset(r, 0, sizeof(*r));
    r->arena = a;
}

static int label_cmp(const void *a, const void *b)
{
    const struct ahpa_prom_label *x = a, *y = b;
    return strcmp(x->name, y->name);
}

const char *ahpa_prom_series_label(const struct ahpa_prom_series *s, const char *name)
{
    if (s == NULL || name == NULL || s->n_labels == 0)
        return NULL;
    struct ahpa_prom_label key = {.name = name};
    const struct ahpa_prom_label *hit =
        bsearch(&key, s->labels, s->n_labels, sizeof(key), label_cmp);
    return hit ? hit->value : NULL;
}

/* Copies `s` into `out` on one line: control characters become spaces and
 * anything past UPSTREAM_TEXT_MAX becomes "...". */
void ahpa_prom__one_line(const char *s, char *out, size_t size)
{
    size_t n = 0, limit = size - 1 < UPSTREAM_TEXT_MAX ? size - 1 : UPSTREAM_TEXT_MAX;
    for (; s != NULL && *s != '\0' && n < limit; s++)
        out[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
    if (s != NULL && *s != '\0' && n >= 3)
        memcpy(out + n - 3, "...", 3);
    out[n] = '\0';
}

static int malformed(struct ahpa_error *err, const char *what)
{
    return ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: malformed response: %s", what);
}

typedef const struct ahpa_prom__json json;

static bool is_array(json *v)
{
    return v != NULL && v->type == AHPA_PROM__JSON_ARRAY;
}

static bool is_object(json *v)
{
    return v != NULL && v->type == AHPA_PROM__JSON_OBJECT;
}

static int parse_time(json *j, int64_t *t_ms)
{
    if (j == NULL || j->type != AHPA_PROM__JSON_NUMBER)
        return -1;
    double t = j->u.num;
    if (!isfinite(t) || fabs(t) > 1e13) /* ~ year 318857: not a timestamp */
        return -1;
    *t_ms = llround(t * 1000.0);
    return 0;
}

static int parse_value(json *j, double *v)
{
    const char *s = ahpa_prom__json_string(j);
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    double d = strtod(s, &end);
    if (*end != '\0')
        return -1;
    *v = d;
    return 0;
}

/* [t, "v"] */
static int parse_pair(json *pair, struct ahpa_prom_sample *out)
{
    if (!is_array(pair) || pair->u.list.n != 2)
        return -1;
    if (parse_time(&pair->u.list.items[0], &out->t_ms) != 0)
        return -1;
    return parse_value(&pair->u.list.items[1], &out->value);
}

struct indexed_label {
    struct ahpa_prom_label l;
    size_t index;
};

static int indexed_cmp(const void *a, const void *b)
{
    const struct indexed_label *x = a, *y = b;
    int c = strcmp(x->l.name, y->l.name);
    return c != 0 ? c : (x->index > y->index) - (x->index < y->index);
}

/* Sorts by name; of repeated names the last one stays (JSON's rule). */
static void sort_unique_labels(struct ahpa_prom_series *s)
{
    struct indexed_label *t = ahpa_reallocarray(NULL, s->n_labels, sizeof(*t));
    for (size_t i = 0; i < s->n_labels; i++)
        t[i] = (struct indexed_label){s->labels[i], i};
    qsort(t, s->n_labels, sizeof(*t), indexed_cmp);
    size_t n = 0;
    for (size_t i = 0; i < s->n_labels; i++) {
        if (n > 0 && strcmp(s->labels[n - 1].name, t[i].l.name) == 0)
            n--; /* a later duplicate replaces the earlier one */
        s->labels[n++] = t[i].l;
    }
    s->n_labels = n;
    free(t);
}

static int parse_labels(struct ahpa_arena *a, json *metric, struct ahpa_prom_series *s)
{
    if (metric == NULL) {
        s->n_labels = 0;
        return 0;
    }
    if (!is_object(metric))
        return -1;
    s->n_labels = metric->u.list.n;
    s->labels = ahpa_arena_alloc(a, (s->n_labels + 1) * sizeof(*s->labels));
    for (size_t i = 0; i < s->n_labels; i++) {
        const char *v = ahpa_prom__json_string(&metric->u.list.items[2 * i + 1]);
        if (v == NULL)
            return -1;
        s->labels[i].name = ahpa_arena_strdup(a, metric->u.list.items[2 * i].u.str.s);
        s->labels[i].value = ahpa_arena_strdup(a, v);
    }
    if (s->n_labels > 1)
        sort_unique_labels(s);
    return 0;
}

static int parse_vector_entry(struct ahpa_arena *a, json *e, struct ahpa_prom_series *s)
{
    if (!is_object(e) || parse_labels(a, ahpa_prom__json_get(e, "metric"), s) != 0)
        return -1;
    json *value = ahpa_prom__json_get(e, "value");
    if (value == NULL) /* a native histogram sample: not a float, left out */
        return ahpa_prom__json_get(e, "histogram") != NULL ? 0 : -1;
    s->samples = ahpa_arena_alloc(a, sizeof(*s->samples));
    s->n_samples = 1;
    return parse_pair(value, &s->samples[0]);
}

static int parse_matrix_entry(struct ahpa_arena *a, json *e, struct ahpa_prom_series *s)
{
    if (!is_object(e) || parse_labels(a, ahpa_prom__json_get(e, "metric"), s) != 0)
        return -1;
    json *values = ahpa_prom__json_get(e, "values");
    if (values == NULL)
        return ahpa_prom__json_get(e, "histograms") != NULL ? 0 : -1;
    if (!is_array(values))
        return -1;
    size_t n = values->u.list.n;
    s->samples = ahpa_arena_alloc(a, (n + 1) * sizeof(*s->samples));
    for (size_t i = 0; i < n; i++)
        if (parse_pair(&values->u.list.items[i], &s->samples[i]) != 0)
            return -1;
    s->n_samples = n;
    return 0;
}

static int parse_series_list(struct ahpa_prom_result *r, json *arr, bool matrix)
{
    size_t n = arr->u.list.n;
    r->series = ahpa_arena_alloc(r->arena, (n + 1) * sizeof(*r->series));
    for (size_t i = 0; i < n; i++) {
        json *e = &arr->u.list.items[i];
        int rc = matrix ? parse_matrix_entry(r->arena, e, &r->series[i])
                        : parse_vector_entry(r->arena, e, &r->series[i]);
        if (rc != 0)
            return -1;
        r->n_series = i + 1;
    }
    return 0;
}

/* Scalar [t, "v"] or string [t, "text"]: one series without labels. */
static int parse_single(struct ahpa_prom_result *r, json *res, bool string)
{
    r->series = ahpa_arena_alloc(r->arena, sizeof(*r->series));
    r->n_series = 1;
    struct ahpa_prom_series *s = &r->series[0];
    s->samples = ahpa_arena_alloc(r->arena, sizeof(*s->samples));
    s->n_samples = 1;
    if (!string)
        return parse_pair(res, &s->samples[0]);
    if (!is_array(res) || res->u.list.n != 2 ||
        parse_time(&res->u.list.items[0], &s->samples[0].t_ms) != 0 ||
        ahpa_prom__json_string(&res->u.list.items[1]) == NULL)
        return -1;
    s->samples[0].value = NAN;
    r->string = ahpa_arena_strdup(r->arena, ahpa_prom__json_string(&res->u.list.items[1]));
    return 0;
}

static int parse_query_data(struct ahpa_prom_result *r, json *data, struct ahpa_error *err)
{
    const char *type = ahpa_prom__json_string(ahpa_prom__json_get(data, "resultType"));
    json *res = ahpa_prom__json_get(data, "result");
    if (type == NULL || res == NULL)
        return malformed(err, "data without resultType or result");
    int rc;
    if (strcmp(type, "vector") == 0 || strcmp(type, "matrix") == 0) {
        bool matrix = type[0] == 'm';
        r->type = matrix ? AHPA_PROM_RESULT_MATRIX : AHPA_PROM_RESULT_VECTOR;
        rc = is_array(res) ? parse_series_list(r, res, matrix) : -1;
    } else if (strcmp(type, "scalar") == 0 || strcmp(type, "string") == 0) {
        bool string = type[1] == 't';
        r->type = string ? AHPA_PROM_RESULT_STRING : AHPA_PROM_RESULT_SCALAR;
        rc = parse_single(r, res, string);
    } else {
        return ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: unknown resultType \"%.32s\"",
                              type);
    }
    return rc == 0 ? 0 : ahpa_error_set(err, AHPA_EUPSTREAM,
                                        "prometheus: malformed %s result", type);
}

/* /api/v1/series (array of label objects) or /api/v1/labels (strings). */
static int parse_list_data(struct ahpa_prom_result *r, json *data, struct ahpa_error *err)
{
    size_t n = data->u.list.n;
    if (n > 0 && is_object(&data->u.list.items[0])) {
        r->type = AHPA_PROM_RESULT_SERIES;
        r->series = ahpa_arena_alloc(r->arena, (n + 1) * sizeof(*r->series));
        for (size_t i = 0; i < n; i++) {
            if (parse_labels(r->arena, &data->u.list.items[i], &r->series[i]) != 0 ||
                r->series[i].n_labels == 0)
                return malformed(err, "bad series entry");
            r->n_series = i + 1;
        }
        return 0;
    }
    r->type = AHPA_PROM_RESULT_STRINGS;
    r->strings = ahpa_arena_alloc(r->arena, (n + 1) * sizeof(*r->strings));
    for (size_t i = 0; i < n; i++) {
        const char *s = ahpa_prom__json_string(&data->u.list.items[i]);
        if (s == NULL)
            return malformed(err, "list entry is not a string");
        r->strings[i] = ahpa_arena_strdup(r->arena, s);
        r->n_strings = i + 1;
    }
    return 0;
}

static void parse_warnings(struct ahpa_prom_result *r, json *w)
{
    if (!is_array(w))
        return;
    size_t n = w->u.list.n;
    r->warnings = ahpa_arena_alloc(r->arena, (n + 1) * sizeof(*r->warnings));
    for (size_t i = 0; i < n; i++) {
        const char *s = ahpa_prom__json_string(&w->u.list.items[i]);
        if (s != NULL)
            r->warnings[r->n_warnings++] = ahpa_arena_strdup(r->arena, s);
    }
}

static int error_code_for(const char *error_type)
{
    if (strcmp(error_type, "timeout") == 0)
        return AHPA_ETIMEDOUT;
    if (strcmp(error_type, "unavailable") == 0 || strcmp(error_type, "canceled") == 0)
        return AHPA_EUNAVAIL;
    return AHPA_EUPSTREAM;
}

static int upstream_error(json *root, struct ahpa_error *err)
{
    const char *type = ahpa_prom__json_string(ahpa_prom__json_get(root, "errorType"));
    const char *msg = ahpa_prom__json_string(ahpa_prom__json_get(root, "error"));
    char t[64], m[UPSTREAM_TEXT_MAX + 1];
    ahpa_prom__one_line(type && *type ? type : "error", t, sizeof(t));
    ahpa_prom__one_line(msg && *msg ? msg : "no message", m, sizeof(m));
    return ahpa_error_set(err, error_code_for(t), "prometheus: %s: %s", t, m);
}

int ahpa_prom__unexpected(long http_status, const char *content_type, struct ahpa_error *err)
{
    char ct[64];
    ahpa_prom__one_line(content_type && *content_type ? content_type : "no content type", ct,
                        sizeof(ct));
    return ahpa_error_set(err, AHPA_EUPSTREAM, "prometheus: unexpected response (HTTP %ld, %s)",
                          http_status, ct);
}

int ahpa_prom_parse_response(long http_status, const char *content_type, const char *body,
                             size_t len, struct ahpa_prom_result *out, struct ahpa_error *err)
{
    ahpa_prom__result_reset(out);
    /* The tree lives in a scratch arena sized to hold it in one block. */
    size_t chunk = len < (size_t)16 << 20 ? 3 * len + 4096 : (size_t)48 << 20;
    struct ahpa_arena *scratch = ahpa_arena_new(chunk);
    struct ahpa_prom__json root;
    bool ok = body != NULL && ahpa_prom__json_parse(body, len, scratch, &root) == 0;
    const char *status = ok ? ahpa_prom__json_string(ahpa_prom__json_get(&root, "status")) : NULL;
    int rc;
    if (status == NULL) {
        rc = ahpa_prom__unexpected(http_status, content_type, err);
    } else if (strcmp(status, "success") != 0) {
        rc = upstream_error(&root, err);
    } else {
        json *data = ahpa_prom__json_get(&root, "data");
        parse_warnings(out, ahpa_prom__json_get(&root, "warnings"));
        if (is_object(data))
            rc = parse_query_data(out, data, err);
        else if (is_array(data))
            rc = parse_list_data(out, data, err);
        else
            rc = malformed(err, "no data");
    }
    ahpa_arena_free(scratch);
    if (rc != 0)
        ahpa_prom__result_reset(out); /* no half-parsed results */
    return rc;
}
