/* OpenAPI documents: /openapi/v2 (Swagger 2.0), /openapi/v3 (the index)
 * and /openapi/v3/apis/<group>/<version> (OpenAPI 3.0). Built once at
 * start from the schema definitions compiled in (openapi/definitions.json)
 * and served with an ETag; If-None-Match answers 304. */
#include <jansson.h>
#include <openssl/evp.h>
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

struct doc {
    char *text;
    char etag[70]; /* quoted hex */
};

struct ahpa_api__openapi {
    struct doc v2;
    struct doc v3_index;
    struct doc v3[AHPA_API_NGROUPS][AHPA_API_MAX_VERSIONS];
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

/* One GET operation with its path and query parameters. */
static json_t *get_op(const char *op_id, const char *summary, const char *result_def,
                      const char *const *path_params, bool selectors, bool v3)
{
    json_t *params = json_array();
    for (size_t i = 0; path_params[i] != NULL; i++)
        json_array_append_new(params, param(path_params[i], "path", path_params[i], v3));
    if (selectors) {
        json_array_append_new(params, param("labelSelector", "query",
                                            "which objects (or series) to return", v3));
        json_array_append_new(params, param("metricLabelSelector", "query",
                                            "selector over the metric's own labels", v3));
    }
    json_array_append_new(params, param("pretty", "query", "indent the output", v3));
    json_t *responses = json_pack("{s:o, s:o}", "200", response("OK", result_def, v3), "default",
                                  response("error", "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
                                           v3));
    json_t *op = json_pack("{s:s, s:s, s:o, s:o}", "operationId", op_id, "summary", summary,
                           "parameters", params, "responses", responses);
    if (!v3)
        json_object_set_new(op, "produces", json_pack("[s]", "application/json"));
    return json_pack("{s:o}", "get", op);
}

static void add_gv_paths(json_t *paths, const char *group, const char *version, bool v3)
{
    char base[128], p[256], id[128];
    snprintf(base, sizeof(base), "/apis/%s/%s", group, version);
    static const char *const ns_res_name_metric[] = {"namespace", "resource", "name", "metric",
                                                     NULL};
    static const char *const res_name_metric[] = {"resource", "name", "metric", NULL};
    static const char *const ns_metric[] = {"namespace", "metric", NULL};
    static const char *const ns[] = {"namespace", NULL};
    static const char *const ns_name[] = {"namespace", "name", NULL};
    if (strcmp(group, AHPA_GROUP_CUSTOM) == 0) {
        char def[160];
        snprintf(def, sizeof(def), DEF "custom_metrics.%s.MetricValueList", version);
        snprintf(p, sizeof(p), "%s/namespaces/{namespace}/{resource}/{name}/{metric}", base);
        snprintf(id, sizeof(id), "getNamespacedCustomMetric_%s", version);
        json_object_set_new(paths, p, get_op(id, "a metric of namespaced objects ({name} may be *)",
                                             def, ns_res_name_metric, true, v3));
        snprintf(p, sizeof(p), "%s/{resource}/{name}/{metric}", base);
        snprintf(id, sizeof(id), "getClusterCustomMetric_%s", version);
        json_object_set_new(paths, p, get_op(id, "a metric of cluster-scoped objects", def,
                                             res_name_metric, true, v3));
        snprintf(p, sizeof(p), "%s/namespaces/{namespace}/metrics/{metric}", base);
        snprintf(id, sizeof(id), "getNamespaceCustomMetric_%s", version);
        json_object_set_new(paths, p, get_op(id, "a metric of the namespace object itself", def,
                                             ns_metric, true, v3));
    } else if (strcmp(group, AHPA_GROUP_EXTERNAL) == 0) {
        snprintf(p, sizeof(p), "%s/namespaces/{namespace}/{metric}", base);
        json_object_set_new(paths, p,
                            get_op("getExternalMetric", "an external metric's series",
                                   DEF "external_metrics.v1beta1.ExternalMetricValueList",
                                   ns_metric, true, v3));
    } else {
        snprintf(p, sizeof(p), "%s/namespaces/{namespace}/predictionsobserver", base);
        json_object_set_new(paths, p,
                            get_op("listPredictionsObserver", "the reports of every AHPA object",
                                   "com.alibabacloud.metrics.v1beta1.PredictionsObserverList", ns,
                                   false, v3));
        snprintf(p, sizeof(p), "%s/namespaces/{namespace}/predictionsobserver/{name}", base);
        json_object_set_new(paths, p,
                            get_op("readPredictionsObserver", "the report of one AHPA object",
                                   "com.alibabacloud.metrics.v1beta1.PredictionsObserver", ns_name,
                                   false, v3));
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

static void finish(struct doc *d, json_t *doc)
{
    d->text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(d->text, strlen(d->text), md, &mdlen, EVP_sha256(), NULL);
    char *w = d->etag;
    *w++ = '"';
    for (unsigned i = 0; i < 32 && i < mdlen; i++, w += 2)
        snprintf(w, 3, "%02X", md[i]);
    *w++ = '"';
    *w = '\0';
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
    free(o->v2.text);
    free(o->v3_index.text);
    for (int g = 0; g < AHPA_API_NGROUPS; g++)
        for (int v = 0; v < AHPA_API_MAX_VERSIONS; v++)
            free(o->v3[g][v].text);
    free(o);
}

/* --- serving ----------------------------------------------------------------- */

static void serve_doc(const struct doc *d, struct ahpa_httpd_request *req,
                      struct ahpa_httpd_response *resp)
{
    ahpa_httpd_response_header(req, resp, "ETag", d->etag);
    ahpa_httpd_response_header(req, resp, "Vary", "Accept");
    const char *inm = ahpa_httpd_request_header(req, "If-None-Match");
    ahpa_buf_reset(&resp->body);
    resp->content_type = "application/json";
    if (inm != NULL && (strcmp(inm, d->etag) == 0 || strcmp(inm, "*") == 0)) {
        resp->status = 304;
        return;
    }
    resp->status = 200;
    ahpa_buf_puts(&resp->body, d->text);
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
