/* OpenAPI documents: /openapi/v2 (Swagger 2.0), /openapi/v3 (the index)
 * and /openapi/v3/apis/<group>/<version> (OpenAPI 3.0). Built once at
 * start from the schema definitions compiled in (openapi/definitions.json)
 * and served with an ETag; If-None-Match answers 304. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "api_int.h"

extern const char ahpa_api__openapi_definitions[];

#define DEF "io.k8s.metrics.pkg.apis."

struct ahpa_api__openapi {
    struct ahpa_api__doc v2;
    struct ahpa_api__doc v3_index;
    struct ahpa_api__doc v3[AHPA_API_NGROUPS][AHPA_API_MAX_VERSIONS];
};

/* --- building ------------------------------------------------------------ */

static json_t *param(const char *name, const char *in, const char *desc, bool v3)
{
    json_t *p = json_pack("{s:s, s:s, s:s, s:b}", "name", name, "in", in, "description", desc,
                          "required", strcmp(in, "path") == 0);
    if (v3)
        json_object_set_new(p, "schema", json_pack("{s:s}", "type", "string"));
    else
        json_object_set_new(p, "type", json_string("string"));
    return p;
}

static json_t *ref(const char *def, bool v3)
{
    char r[256];
    snprintf(r, sizeof(r), "%s%s", v3 ? "#/components/schemas/" : "#/definitions/", def);
    return json_pack("{s:s}", "$ref", r);
}

static json_t *response(const char *desc, const char *def, bool v3)
{
    if (!v3)
        return json_pack("{s:s, s:o}", "description", desc, "schema", ref(def, false));
    return json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content", "application/json",
                     "schema", ref(def, true));
}

/* What an operation returns, as kube-apiserver marks its operations:
 * x-kubernetes-action and x-kubernetes-group-version-kind (the object's
 * kind, also on list operations). `kubectl explain` finds a resource's
 * schema through the GVK on its list path's GET. */
struct op {
    const char *id, *summary, *result_def;
    const char *group, *version, *kind, *action; /* "get" or "list" */
    const char *const *path_params;
    bool selectors;
};

/* One GET operation with its path and query parameters. */
static json_t *get_op(const struct op *o, bool v3)
{
    json_t *params = json_array();
    for (size_t i = 0; o->path_params[i] != NULL; i++)
        json_array_append_new(params, param(o->path_params[i], "path", o->path_params[i], v3));
    if (o->selectors) {
        json_array_append_new(params, param("labelSelector", "query",
                                            "which objects (or series) to return", v3));
        json_array_append_new(params, param("metricLabelSelector", "query",
                                            "selector over the metric's own labels", v3));
    }
    json_array_append_new(params, param("pretty", "query", "indent the output", v3));
    json_t *responses =
        json_pack("{s:o, s:o}", "200", response("OK", o->result_def, v3), "default",
                  response("error", "io.k8s.apimachinery.pkg.apis.meta.v1.Status", v3));
    json_t *op = json_pack("{s:s, s:s, s:o, s:o, s:s, s:{s:s, s:s, s:s}}", "operationId", o->id,
                           "summary", o->summary, "parameters", params, "responses", responses,
                           "x-kubernetes-action", o->action, "x-kubernetes-group-version-kind",
                           "group", o->group, "version", o->version, "kind", o->kind);
    if (!v3)
        json_object_set_new(op, "produces", json_pack("[s]", "application/json"));
    return json_pack("{s:o}", "get", op);
}

static void add_custom_paths(json_t *paths, const char *base, const char *version, bool v3)
{
    static const char *const ns_res_name_metric[] = {"namespace", "resource", "name", "metric",
                                                     NULL};
    static const char *const res_name_metric[] = {"resource", "name", "metric", NULL};
    static const char *const ns_metric[] = {"namespace", "metric", NULL};
    char def[160], p[256], id[3][128];
    snprintf(def, sizeof(def), DEF "custom_metrics.%s.MetricValueList", version);
    snprintf(id[0], sizeof(id[0]), "getNamespacedCustomMetric_%s", version);
    snprintf(id[1], sizeof(id[1]), "getClusterCustomMetric_%s", version);
    snprintf(id[2], sizeof(id[2]), "getNamespaceCustomMetric_%s", version);
    const struct op ops[] = {
        {id[0], "a metric of namespaced objects ({name} may be *)", def, AHPA_GROUP_CUSTOM,
         version, "MetricValueList", "get", ns_res_name_metric, true},
        {id[1], "a metric of cluster-scoped objects", def, AHPA_GROUP_CUSTOM, version,
         "MetricValueList", "get", res_name_metric, true},
        {id[2], "a metric of the namespace object itself", def, AHPA_GROUP_CUSTOM, version,
         "MetricValueList", "get", ns_metric, true},
    };
    static const char *const suffix[] = {"/namespaces/{namespace}/{resource}/{name}/{metric}",
                                         "/{resource}/{name}/{metric}",
                                         "/namespaces/{namespace}/metrics/{metric}"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", base, suffix[i]);
        json_object_set_new(paths, p, get_op(&ops[i], v3));
    }
}

static void add_gv_paths(json_t *paths, const char *group, const char *version, bool v3)
{
    char base[128], p[256];
    snprintf(base, sizeof(base), "/apis/%s/%s", group, version);
    static const char *const none[] = {NULL};
    static const char *const ns[] = {"namespace", NULL};
    static const char *const ns_name[] = {"namespace", "name", NULL};
    static const char *const ns_metric[] = {"namespace", "metric", NULL};
    if (strcmp(group, AHPA_GROUP_CUSTOM) == 0) {
        add_custom_paths(paths, base, version, v3);
    } else if (strcmp(group, AHPA_GROUP_EXTERNAL) == 0) {
        const struct op ext = {"getExternalMetric", "an external metric's series",
                               DEF "external_metrics.v1beta1.ExternalMetricValueList",
                               AHPA_GROUP_EXTERNAL, version, "ExternalMetricValueList", "get",
                               ns_metric, true};
        snprintf(p, sizeof(p), "%s/namespaces/{namespace}/{metric}", base);
        json_object_set_new(paths, p, get_op(&ext, v3));
    } else {
        const char *list = "com.alibabacloud.metrics.v1beta1.PredictionsObserverList";
        const char *one = "com.alibabacloud.metrics.v1beta1.PredictionsObserver";
        const struct op ops[] = {
            {"listPredictionsObserverForAllNamespaces", "the reports of every AHPA object", list,
             AHPA_GROUP_OBSERVER, version, "PredictionsObserver", "list", none, false},
            {"listNamespacedPredictionsObserver", "the reports of a namespace's AHPA objects",
             list, AHPA_GROUP_OBSERVER, version, "PredictionsObserver", "list", ns, false},
            {"readNamespacedPredictionsObserver", "the report of one AHPA object", one,
             AHPA_GROUP_OBSERVER, version, "PredictionsObserver", "get", ns_name, false},
        };
        static const char *const suffix[] = {"/predictionsobserver",
                                             "/namespaces/{namespace}/predictionsobserver",
                                             "/namespaces/{namespace}/predictionsobserver/{name}"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(p, sizeof(p), "%s%s", base, suffix[i]);
            json_object_set_new(paths, p, get_op(&ops[i], v3));
        }
    }
}

/* Definitions with their $refs pointed at components/schemas for v3. */
static json_t *definitions(bool v3)
{
    json_error_t jerr;
    json_t *defs = json_loads(ahpa_api__openapi_definitions, 0, &jerr);
    if (defs == NULL)
        return json_object();
    if (!v3)
        return defs;
    char *text = json_dumps(defs, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(defs);
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    const char *from = "#/definitions/", *p = text;
    for (const char *hit; (hit = strstr(p, from)) != NULL; p = hit + strlen(from)) {
        ahpa_buf_append(&b, p, (size_t)(hit - p));
        ahpa_buf_puts(&b, "#/components/schemas/");
    }
    ahpa_buf_puts(&b, p);
    free(text);
    defs = json_loads(ahpa_buf_cstr(&b), 0, &jerr);
    ahpa_buf_dispose(&b);
    return defs ? defs : json_object();
}

static void finish(struct ahpa_api__doc *d, json_t *doc)
{
    ahpa_api__doc_set(d, json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER));
    json_decref(doc);
}

static json_t *info(void)
{
    return json_pack("{s:s, s:s}", "title", "ahpa-metrics-adapter", "version", "v1");
}

struct ahpa_api__openapi *ahpa_api__openapi_new(const struct ahpa_server *s)
{
    struct ahpa_api__openapi *o = ahpa_calloc(1, sizeof(*o));
    json_t *v2paths = json_object();
    json_t *index = json_object();
    for (int gi = 0; gi < AHPA_API_NGROUPS; gi++) {
        const struct ahpa_api__group *g = &s->groups[gi];
        if (!g->enabled)
            continue;
        for (int vi = 0; vi < g->nversions; vi++) {
            add_gv_paths(v2paths, g->name, g->versions[vi], false);
            json_t *paths = json_object();
            add_gv_paths(paths, g->name, g->versions[vi], true);
            finish(&o->v3[gi][vi],
                   json_pack("{s:s, s:o, s:o, s:{s:o}}", "openapi", "3.0.0", "info", info(),
                             "paths", paths, "components", "schemas", definitions(true)));
            char key[128], url[256];
            snprintf(key, sizeof(key), "apis/%s/%s", g->name, g->versions[vi]);
            /* The hash is the ETag without its quotes. */
            snprintf(url, sizeof(url), "/openapi/v3/%s?hash=%.64s", key, o->v3[gi][vi].etag + 1);
            json_object_set_new(index, key, json_pack("{s:s}", "serverRelativeURL", url));
        }
    }
    finish(&o->v2, json_pack("{s:s, s:o, s:o, s:o}", "swagger", "2.0", "info", info(), "paths",
                             v2paths, "definitions", definitions(false)));
    finish(&o->v3_index, json_pack("{s:o}", "paths", index));
    return o;
}

void ahpa_api__openapi_free(struct ahpa_api__openapi *o)
{
    if (o == NULL)
        return;
    ahpa_api__doc_dispose(&o->v2);
    ahpa_api__doc_dispose(&o->v3_index);
    for (int g = 0; g < AHPA_API_NGROUPS; g++)
        for (int v = 0; v < AHPA_API_MAX_VERSIONS; v++)
            ahpa_api__doc_dispose(&o->v3[g][v]);
    free(o);
}

/* --- serving ----------------------------------------------------------------- */

/* JSON only: a client asking for the protobuf form alone (kubectl's
 * OpenAPI v2 reader) gets a 406 it can report, not JSON it would try to
 * parse as protobuf. */
static void serve_doc(const struct ahpa_api__doc *d, struct ahpa_httpd_request *req,
                      struct ahpa_httpd_response *resp)
{
    ahpa_httpd_response_header(req, resp, "Vary", "Accept");
    if (ahpa_api__negotiate(ahpa_httpd_request_header(req, "Accept"), false) ==
        AHPA_ACCEPT_NONE) {
        ahpa_api_status(resp, 406, "only application/json is served");
        return;
    }
    ahpa_api__doc_serve(d, "application/json", req, resp);
}

void ahpa_api__serve_openapi(struct ahpa_server *s, const char *const *seg, size_t n,
                             struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    /* seg[0] == "openapi" */
    if (n == 2 && strcmp(seg[1], "v2") == 0) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_OPENAPI_V2];
        serve_doc(&s->openapi->v2, req, resp);
        return;
    }
    if (n == 2 && strcmp(seg[1], "v3") == 0) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_OPENAPI_V3];
        serve_doc(&s->openapi->v3_index, req, resp);
        return;
    }
    if (n == 5 && strcmp(seg[1], "v3") == 0 && strcmp(seg[2], "apis") == 0) {
        resp->route = ahpa_api__route_names[AHPA_API_ROUTE_OPENAPI_V3_GV];
        int gi = ahpa_api__group_index(s, seg[3]);
        int vi = gi < 0 ? -1 : ahpa_api__version_index(&s->groups[gi], seg[4]);
        if (vi >= 0) {
            serve_doc(&s->openapi->v3[gi][vi], req, resp);
            return;
        }
    }
    ahpa_api_status(resp, 404, "no OpenAPI document at this path");
}
