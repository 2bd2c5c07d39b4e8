/* Public entry points: multi-document YAML, JSON objects, release. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/str.h"
#include "ahpa/ahpaobj.h"
#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "ahpaobj_int.h"

struct collect {
    const struct ahpa_cron_zone *zone;
    const char *source;
    struct ahpa_obj **objs;
    size_t nobjs;
    char **errs;
    size_t nerrs;
    struct ahpa_obj_parse_stats stats;
    size_t *slots;   /* open addressing over objs by namespace/name: index + 1, 0 empty */
    size_t nslots;   /* power of two, > 2 * nobjs */
};

static size_t name_hash(const struct ahpa_obj *o)
{
    uint64_t h = ahpa_str_hash_update(AHPA_STR_HASH_INIT, o->ns);
    h = ahpa_str_hash_update(h, "/");
    return (size_t)ahpa_str_hash_update(h, o->name);
}

static bool same_name(const struct ahpa_obj *a, const struct ahpa_obj *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->ns, b->ns) == 0;
}

/* The slot holding an object named like `o`, or the empty slot where it
 * would go. */
static size_t *find_slot(struct collect *c, const struct ahpa_obj *o)
{
    size_t mask = c->nslots - 1, i = name_hash(o) & mask;
    while (c->slots[i] != 0 && !same_name(c->objs[c->slots[i] - 1], o))
        i = (i + 1) & mask;
    return &c->slots[i];
}

static void rehash(struct collect *c)
{
    free(c->slots);
    c->nslots = c->nslots ? 2 * c->nslots : 64;
    c->slots = ahpa_calloc(c->nslots, sizeof(*c->slots));
    for (size_t k = 0; k < c->nobjs; k++)
        *find_slot(c, c->objs[k]) = k + 1;
}

void ahpaobj_sanitize(char *msg)
{
    size_t n = 0;
    for (unsigned char *p = (unsigned char *)msg; *p; p++, n++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (n <= AHPAOBJ_MSG_MAX)
        return;
    size_t cut = AHPAOBJ_MSG_MAX - 3;
    while (cut > 0 && ((unsigned char)msg[cut] & 0xC0) == 0x80)
        cut--; /* do not split a UTF-8 sequence */
    memcpy(msg + cut, "...", 4);
}

static void push_err(struct collect *c, char *msg)
{
    ahpaobj_sanitize(msg);
    c->errs = ahpa_reallocarray(c->errs, c->nerrs + 1, sizeof(char *));
    c->errs[c->nerrs++] = msg;
}

/* Appends `o` unless an object of the same namespace/name is there;
 * returns false (and keeps nothing) then. */
static bool push_obj(struct collect *c, struct ahpa_obj *o)
{
    if (2 * (c->nobjs + 1) >= c->nslots)
        rehash(c);
    size_t *slot = find_slot(c, o);
    if (*slot != 0)
        return false;
    c->objs = ahpa_reallocarray(c->objs, c->nobjs + 1, sizeof(*c->objs));
    c->objs[c->nobjs++] = o;
    *slot = c->nobjs;
    return true;
}

/* An AHPA document, or one whose kind cannot be told (then validation
 * says what is wrong with it). */
static bool is_candidate(const json_t *root)
{
    if (!json_is_object(root))
        return true;
    const json_t *kind = json_object_get(root, "kind");
    if (!json_is_string(kind))
        return true;
    return strcmp(json_string_value(kind), AHPA_OBJ_KIND) == 0;
}

static void one_item(struct collect *c, const char *where, json_t *root, const char *problem)
{
    if (problem != NULL) {
        char *named = ahpaobj_name_prefix(root);
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_buf_printf(&b, "%s%s", named ? named : where, problem);
        free(named);
        push_err(c, ahpa_buf_take(&b, NULL));
        return;
    }
    struct ahpa_obj *o = NULL;
    char *msg = NULL;
    if (ahpaobj_validate(root, c->zone, c->source, where, &o, &msg) < 0) {
        push_err(c, msg);
        return;
    }
    if (!push_obj(c, o)) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_buf_printf(&b, "%s/%s: defined again in %.*s (the first is kept)", o->ns, o->name,
                        (int)(strlen(where) - 2), where);
        push_err(c, ahpa_buf_take(&b, NULL));
        ahpa_obj_free(o);
    }
}

static bool is_list(const json_t *root)
{
    const char *kind = json_string_value(json_object_get(root, "kind"));
    return kind != NULL && strcmp(kind, "List") == 0 &&
           json_is_array(json_object_get(root, "items"));
}

static void on_doc(void *ctx, size_t index, json_t *root, const char *problem)
{
    struct collect *c = ctx;
    char where[48];
    c->stats.documents++;
    if (root == NULL || json_is_null(root)) {
        c->stats.skipped++;
        return;
    }
    if (json_is_object(root) && is_list(root)) {
        /* `kubectl get ahpa -o yaml` writes a v1 List of the objects. */
        json_t *items = json_object_get(root, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *it = json_array_get(items, i);
            snprintf(where, sizeof where, "document %zu: items[%zu]: ", index, i);
            if (is_candidate(it))
                one_item(c, where, it, problem);
            else
                c->stats.skipped++;
        }
        return;
    }
    if (!is_candidate(root)) {
        c->stats.skipped++;
        return;
    }
    snprintf(where, sizeof where, "document %zu: ", index);
    one_item(c, where, root, problem);
}

int ahpa_obj_parse_yaml_ex(const char *text, size_t len, const struct ahpa_cron_zone *zone,
                           const char *source, struct ahpa_obj ***objs, size_t *nobjs,
                           char ***errs, size_t *nerrs, struct ahpa_obj_parse_stats *stats,
                           struct ahpa_error *err)
{
    if ((text == NULL && len > 0) || objs == NULL || nobjs == NULL || errs == NULL ||
        nerrs == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "ahpa_obj_parse_yaml: NULL argument");
    if (len > AHPA_OBJ_MAX_INPUT)
        return ahpa_error_set(err, AHPA_ETOOBIG, "%s%s%zu bytes is more than the %d allowed",
                              source ? source : "", source && *source ? ": " : "", len,
                              AHPA_OBJ_MAX_INPUT);
    struct collect c = {.zone = zone, .source = source};
    struct ahpa_error yerr = {0};
    if (ahpaobj_yaml_load(text ? text : "", len, on_doc, &c, &yerr) < 0) {
        struct ahpa_buf b;
        ahpa_buf_init(&b);
        ahpa_buf_printf(&b, "%s%s%s", source && *source ? source : "",
                        source && *source ? ": " : "", yerr.msg);
        push_err(&c, ahpa_buf_take(&b, NULL));
    }
    free(c.slots);
    *objs = c.objs;
    *nobjs = c.nobjs;
    *errs = c.errs;
    *nerrs = c.nerrs;
    if (stats != NULL)
        *stats = c.stats;
    return 0;
}

int ahpa_obj_parse_yaml(const char *text, size_t len, const struct ahpa_cron_zone *zone,
                        const char *source, struct ahpa_obj ***objs, size_t *nobjs,
                        char ***errs, size_t *nerrs, struct ahpa_error *err)
{
    return ahpa_obj_parse_yaml_ex(text, len, zone, source, objs, nobjs, errs, nerrs, NULL, err);
}

int ahpa_obj_from_json(const struct json_t *j, const struct ahpa_cron_zone *zone,
                       struct ahpa_obj **out, struct ahpa_error *err)
{
    if (j == NULL || out == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "ahpa_obj_from_json: NULL argument");
    struct ahpa_obj *o = NULL;
    char *msg = NULL;
    int rc = ahpaobj_validate(j, zone, "", "", &o, &msg);
    if (rc < 0) {
        if (msg != NULL)
            ahpaobj_sanitize(msg);
        rc = ahpa_error_set(err, -rc, "%s", msg ? msg : "invalid object");
        free(msg);
        return rc;
    }
    *out = o;
    return 0;
}

void ahpa_obj_free(struct ahpa_obj *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->nmetrics; i++) {
        free(o->metrics[i].name);
        ahpa_labelsel_free(o->metrics[i].selector);
    }
    free(o->metrics);
    for (size_t i = 0; i < o->nbounds_text; i++)
        free(o->bounds_text[i]);
    free(o->bounds_text);
    ahpa_cron_bounds_free(o->bounds);
    free(o->name);
    free(o->ns);
    free(o->uid);
    free(o->target_api_version);
    free(o->target_kind);
    free(o->target_name);
    free(o->source);
    free(o);
}

void ahpa_obj_list_free(struct ahpa_obj **objs, size_t n)
{
    if (objs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ahpa_obj_free(objs[i]);
    free(objs);
}

void ahpa_obj_errs_free(char **errs, size_t n)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(errs[i]);
    free(errs);
}

const struct ahpa_obj_metric *ahpa_obj_primary_metric(const struct ahpa_obj *o)
{
    if (o == NULL || o->nmetrics == 0)
        return NULL;
    for (size_t i = 0; i < o->nmetrics; i++)
        if (o->metrics[i].type == AHPA_OBJ_METRIC_RESOURCE &&
            strcmp(o->metrics[i].name, "gpu") == 0)
            return &o->metrics[i];
    return &o->metrics[0];
}

const char *ahpa_obj_metric_type_name(enum ahpa_obj_metric_type t)
{
    return t == AHPA_OBJ_METRIC_EXTERNAL ? "External" : "Resource";
}

const char *ahpa_obj_target_type_name(enum ahpa_obj_target_type t)
{
    switch (t) {
    case AHPA_OBJ_TARGET_AVERAGE_VALUE: return "AverageValue";
    case AHPA_OBJ_TARGET_VALUE: return "Value";
    default: return "Utilization";
    }
}
