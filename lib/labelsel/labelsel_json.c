/* LabelSelector objects (metav1.LabelSelector) as JSON. Unknown fields
 * are ignored, as Kubernetes' non-strict decoding does. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "labelsel_int.h"

static int add_match_labels(struct ahpa_labelsel *sel, json_t *ml,
                            struct ahpa_error *err)
{
    if (!ml || json_is_null(ml))
        return 0;
    if (!json_is_object(ml))
        return ahpa_error_set(err, AHPA_EPARSE,
                              "matchLabels: must be an object");
    const char *k;
    json_t *v;
    json_object_foreach(ml, k, v) {
        if (!json_is_string(v))
            return ahpa_error_set(err, AHPA_EPARSE,
                                  "matchLabels: values must be strings");
        const char *val = json_string_value(v);
        struct ahpa_error inner = {0};
        if (strlen(val) != json_string_length(v) ||
            ahpa_labelsel_add(sel, k, AHPA_LABELSEL_EQ, &val, 1, &inner) != 0)
            return ahpa_error_set(err, AHPA_EPARSE, "matchLabels: %s",
                                  inner.code ? inner.msg
                                             : "value contains NUL");
    }
    return 0;
}

static int parse_op(const char *s, enum ahpa_labelsel_op *op)
{
    static const struct {
        const char *name;
        enum ahpa_labelsel_op op;
    } ops[] = {{"In", AHPA_LABELSEL_IN},
               {"NotIn", AHPA_LABELSEL_NOTIN},
               {"Exists", AHPA_LABELSEL_EXISTS},
               {"DoesNotExist", AHPA_LABELSEL_NOT_EXISTS}};
    for (size_t i = 0; s && i < sizeof ops / sizeof ops[0]; i++) {
        if (strcmp(s, ops[i].name) == 0) {
            *op = ops[i].op;
            return 0;
        }
    }
    return -1;
}

/* Borrows the strings of `arr` into a new array; caller frees the array. */
static int string_array(json_t *arr, const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return -1;
    size_t len = json_array_size(arr);
    const char **v = len ? ahpa_calloc(len, sizeof(char *)) : NULL;
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_string(e) ||
            strlen(json_string_value(e)) != json_string_length(e)) {
            free(v);
            return -1;
        }
        v[i] = json_string_value(e);
    }
    *out = v;
    *n = len;
    return 0;
}

static int add_expression(struct ahpa_labelsel *sel, json_t *e, size_t idx,
                          struct ahpa_error *err)
{
    if (!json_is_object(e))
        return ahpa_error_set(err, AHPA_EPARSE,
                              "matchExpressions[%zu]: must be an object", idx);
    json_t *key = json_object_get(e, "key");
    if (!json_is_string(key))
        return ahpa_error_set(err, AHPA_EPARSE,
                              "matchExpressions[%zu].key: must be a string",
                              idx);
    enum ahpa_labelsel_op op;
    const char *ops = json_string_value(json_object_get(e, "operator"));
    if (parse_op(ops, &op) != 0)
        return ahpa_error_set(err, AHPA_EPARSE,
                              "matchExpressions[%zu].operator: not a valid "
                              "label selector operator (In, NotIn, Exists, "
                              "DoesNotExist)", idx);
    const char **vals;
    size_t n;
    if (string_array(json_object_get(e, "values"), &vals, &n) != 0)
        return ahpa_error_set(err, AHPA_EPARSE,
                              "matchExpressions[%zu].values: must be an "
                              "array of strings", idx);
    struct ahpa_error inner = {0};
    int rc = ahpa_labelsel_add(sel, json_string_value(key), op, vals, n,
                               &inner);
    free(vals);
    if (rc != 0)
        return ahpa_error_set(err, AHPA_EPARSE, "matchExpressions[%zu]: %s",
                              idx, inner.msg);
    return 0;
}

int ahpa_labelsel_from_json(const struct json_t *jc, struct ahpa_labelsel **out,
                            struct ahpa_error *err)
{
    json_t *j = (json_t *)jc; /* jansson's getters are not const-correct */
    if (!out)
        return ahpa_error_set(err, AHPA_EINVAL, "no output");
    if (j && !json_is_null(j) && !json_is_object(j))
        return ahpa_error_set(err, AHPA_EPARSE,
                              "label selector: must be an object");
    struct ahpa_labelsel *sel = ahpa_labelsel_new();
    int rc = 0;
    if (j && json_is_object(j)) {
        rc = add_match_labels(sel, json_object_get(j, "matchLabels"), err);
        json_t *me = json_object_get(j, "matchExpressions");
        if (rc == 0 && me && !json_is_null(me) && !json_is_array(me))
            rc = ahpa_error_set(err, AHPA_EPARSE,
                                "matchExpressions: must be an array");
        for (size_t i = 0; rc == 0 && me && i < json_array_size(me); i++)
            rc = add_expression(sel, json_array_get(me, i), i, err);
    }
    if (rc != 0) {
        ahpa_labelsel_free(sel);
        return rc;
    }
    *out = sel;
    return 0;
}

int ahpa_labelsel_parse_json(const char *text, size_t len,
                             struct ahpa_labelsel **out,
                             struct ahpa_error *err)
{
    if (!text)
        return ahpa_error_set(err, AHPA_EINVAL, "no input");
    if (len > AHPA_LABELSEL_MAX_INPUT)
        return ahpa_error_set(err, AHPA_ETOOBIG,
                              "label selector longer than %d bytes",
                              AHPA_LABELSEL_MAX_INPUT);
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!j)
        return ahpa_error_set(err, AHPA_EPARSE,
                              "label selector JSON at offset %d: %s",
                              jerr.position, jerr.text);
    int rc = ahpa_labelsel_from_json(j, out, err);
    json_decref(j);
    return rc;
}
