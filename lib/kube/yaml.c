/* Kubeconfig YAML into a JSON tree through libyaml's event API. Only what
 * a kubeconfig needs: mappings, sequences and scalars, no aliases, bounded
 * depth and node count. Plain scalars that read as YAML 1.2 core-schema
 * booleans, nulls or numbers become those JSON types; everything else
 * stays a string (quoted scalars always). */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "kube_int.h"

#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000

struct yframe {
    json_t *node;
    char *key; /* mapping: the pending key, or NULL */
};

struct yload {
    struct yframe st[YAML_MAX_DEPTH];
    size_t depth;
    size_t nodes;
    json_t *root;
};

static json_t *plain_scalar(const char *s)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    if (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return json_null();
    int64_t i;
    if (ahpa_str_to_int64(s, &i, NULL) == 0)
        return json_integer((json_int_t)i);
    return json_string(s);
}

/* Places `v` (a new reference) into the current container. */
static int place(struct yload *l, json_t *v, struct ahpa_error *err)
{
    if (v == NULL)
        return ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: invalid UTF-8 text");
    if (++l->nodes > YAML_MAX_NODES) {
        json_decref(v);
        return ahpa_error_set(err, AHPA_ETOOBIG, "kubeconfig: more than %d nodes",
                              YAML_MAX_NODES);
    }
    if (l->depth == 0) {
        json_decref(l->root);
        l->root = v;
        return 0;
    }
    struct yframe *f = &l->st[l->depth - 1];
    if (json_is_array(f->node))
        return json_array_append_new(f->node, v) == 0 ? 0 : ahpa_error_set(err, AHPA_EPARSE, "?");
    if (f->key == NULL) {
        const char *k = json_string_value(v);
        if (k == NULL) {
            json_decref(v);
            return ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: a mapping key is not a string");
        }
        f->key = ahpa_strdup(k);
        json_decref(v);
        return 0;
    }
    int rc = json_object_set_new(f->node, f->key, v);
    free(f->key);
    f->key = NULL;
    return rc == 0 ? 0 : ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: bad key");
}

static int open_container(struct yload *l, json_t *c, const yaml_event_t *ev,
                          struct ahpa_error *err)
{
    if (l->depth == YAML_MAX_DEPTH) {
        json_decref(c);
        return ahpa_error_set(err, AHPA_ETOOBIG, "kubeconfig: nested deeper than %d at line %zu",
                              YAML_MAX_DEPTH, ev->start_mark.line + 1);
    }
    int rc = place(l, json_incref(c), err);
    if (rc != 0) {
        json_decref(c);
        return rc;
    }
    l->st[l->depth].node = c; /* the frame holds the second reference */
    l->st[l->depth].key = NULL;
    l->depth++;
    return 0;
}

static void close_container(struct yload *l)
{
    struct yframe *f = &l->st[--l->depth];
    free(f->key);
    json_decref(f->node);
}

static int on_event(struct yload *l, const yaml_event_t *ev, struct ahpa_error *err)
{
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: YAML aliases are not supported "
                                                "(line %zu)", ev->start_mark.line + 1);
    case YAML_SCALAR_EVENT: {
        const char *s = (const char *)ev->data.scalar.value;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return place(l, plain ? plain_scalar(s) : json_string(s), err);
    }
    case YAML_MAPPING_START_EVENT:
        return open_container(l, json_object(), ev, err);
    case YAML_SEQUENCE_START_EVENT:
        return open_container(l, json_array(), ev, err);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        if (l->depth > 0)
            close_container(l);
        return 0;
    default:
        return 0;
    }
}

int ahpa_kube__yaml_load(const char *text, size_t len, json_t **out, struct ahpa_error *err)
{
    *out = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return ahpa_error_set(err, AHPA_ENOMEM, "yaml_parser_initialize failed");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    struct yload l = {.depth = 0};
    int rc = 0;
    int docs = 0;
    for (int guard = 0; rc == 0 && guard < 4 * YAML_MAX_NODES + 16; guard++) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: %.80s at line %zu",
                                p.problem ? p.problem : "bad YAML", p.problem_mark.line + 1);
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1)
            rc = ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: more than one YAML document");
        if (rc == 0)
            rc = on_event(&l, &ev, err);
        yaml_event_delete(&ev);
        if (end)
            break;
    }
    while (l.depth > 0)
        close_container(&l);
    yaml_parser_delete(&p);
    if (rc == 0 && !json_is_object(l.root))
        rc = ahpa_error_set(err, AHPA_EPARSE, "kubeconfig: the document is not a mapping");
    if (rc != 0) {
        json_decref(l.root);
        return rc;
    }
    *out = l.root;
    return 0;
}
