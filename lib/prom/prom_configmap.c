/* The seed's application-intelligence ConfigMap: where Prometheus is.
 *
 *   apiVersion: v1
 *   kind: ConfigMap
 *   metadata: {name: application-intelligence, namespace: kube-system}
 *   data:
 *     prometheusUrl: "http://...:9090/api/v1/prometheus/<ids>/cn-shanghai"
 *     token: "..."            # optional
 *
 * Pure: the caller reads the file. Uses libyaml's document loader. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/prom.h"

#define CONFIGMAP_MAX_BYTES (1024 * 1024)

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static const char *scalar(yaml_node_t *n)
{
    return (n != NULL && n->type == YAML_SCALAR_NODE) ? (const char *)n->data.scalar.value
                                                        : NULL;
}

/* 1 when the document is our ConfigMap and `cm` is filled, 0 when it is
 * something else, negative on a ConfigMap without prometheusUrl. */
static int take_document(yaml_document_t *doc, struct ahpa_prom_configmap *cm,
                         struct ahpa_error *err)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    const char *kind = scalar(map_get(doc, root, "kind"));
    if (kind == NULL || strcmp(kind, "ConfigMap") != 0)
        return 0;
    yaml_node_t *data = map_get(doc, root, "data");
    const char *url = scalar(map_get(doc, data, "prometheusUrl"));
    if (url == NULL || *url == '\0')
        return ahpa_error_set(err, AHPA_ECONFIG, "ConfigMap has no data.prometheusUrl");
    const char *token = scalar(map_get(doc, data, "token"));
    cm->url = ahpa_strdup(url);
    cm->token = (token != NULL && *token != '\0') ? ahpa_strdup(token) : NULL;
    return 1;
}

int ahpa_prom_options_from_configmap(const char *yaml_text, size_t len,
                                     struct ahpa_prom_configmap *cm,
                                     struct ahpa_prom_options *opts, struct ahpa_error *err)
{
    memset(cm, 0, sizeof(*cm));
    if (yaml_text == NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "no ConfigMap text");
    if (len > CONFIGMAP_MAX_BYTES)
        return ahpa_error_set(err, AHPA_ETOOBIG, "ConfigMap larger than %d bytes",
                              CONFIGMAP_MAX_BYTES);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return ahpa_error_set(err, AHPA_EINTERNAL, "yaml_parser_initialize failed");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml_text, len);
    int rc = 0;
    for (int docs = 0; rc == 0; docs++) {
        yaml_document_t doc;
        if (!yaml_parser_load(&parser, &doc)) {
            rc = ahpa_error_set(err, AHPA_EPARSE, "ConfigMap YAML line %zu column %zu: %s",
                                parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                parser.problem ? parser.problem : "error");
            break;
        }
        bool empty = yaml_document_get_root_node(&doc) == NULL;
        if (!empty)
            rc = take_document(&doc, cm, err);
        yaml_document_delete(&doc);
        if (empty)
            rc = ahpa_error_set(err, AHPA_ECONFIG, "no ConfigMap with data.prometheusUrl in %d "
                                                   "document(s)", docs);
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        ahpa_prom_configmap_dispose(cm);
        return rc;
    }
    if (opts != NULL) {
        opts->url = cm->url;
        if (cm->token != NULL)
            opts->token = cm->token;
    }
    return 0;
}

void ahpa_prom_configmap_dispose(struct ahpa_prom_configmap *cm)
{
    if (cm == NULL)
        return;
    if (cm->token != NULL)
        memset(cm->token, 0, strlen(cm->token));
    free(cm->url);
    free(cm->token);
    cm->url = NULL;
    cm->token = NULL;
}
