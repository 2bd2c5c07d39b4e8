/* Discovery: APIGroupList, APIGroup, APIResourceList and the aggregated
 * APIGroupDiscoveryList, rendered once per change and served from a
 * snapshot. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/config.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "api_int.h"

void ahpa_api__groups_init(struct ahpa_server *s)
{
    const struct ahpa_config *cfg = s->cfg;
    s->groups[0] = (struct ahpa_api__group){
        AHPA_GROUP_CUSTOM, {"v1beta2", "v1beta1"}, 2, cfg->enable_custom_metrics,
        AHPA_API_ROUTE_CUSTOM, NULL, NULL};
    s->groups[1] = (struct ahpa_api__group){
        AHPA_GROUP_EXTERNAL, {"v1beta1", NULL}, 1, cfg->enable_external_metrics,
        AHPA_API_ROUTE_EXTERNAL, NULL, NULL};
    s->groups[2] = (struct ahpa_api__group){
        AHPA_GROUP_OBSERVER, {"v1beta1", NULL}, 1, cfg->enable_predictions_observer,
        AHPA_API_ROUTE_OBSERVER, NULL, NULL};
}

int ahpa_api__group_index(const struct ahpa_server *s, const char *name)
{
    for (int i = 0; i < AHPA_API_NGROUPS; i++) {
        if (s->groups[i].enabled && strcmp(s->groups[i].name, name) == 0)
            return i;
    }
    return -1;
}

int ahpa_api__version_index(const struct ahpa_api__group *g, const char *version)
{
    for (int i = 0; i < g->nversions; i++) {
        if (strcmp(g->versions[i], version) == 0)
            return i;
    }
    return -1;
}

/* --- rendering -------------------------------------------------------- */

static json_t *group_version(const char *group, const char *version)
{
    char gv[128];
    snprintf(gv, sizeof(gv), "%s/%s", group, version);
    return json_pack("{s:s, s:s}", "groupVersion", gv, "version", version);
}

static json_t *group_object(const struct ahpa_api__group *g)
{
    json_t *versions = json_array();
    for (int v = 0; v < g->nversions; v++)
        json_array_append_new(versions, group_version(g->name, g->versions[v]));
    return json_pack("{s:s, s:o, s:o}", "name", g->name, "versions", versions,
                     "preferredVersion", group_version(g->name, g->versions[0]));
}

static json_t *verbs_array(const char *const *verbs)
{
    json_t *a = json_array();
    for (size_t i = 0; verbs != NULL && verbs[i] != NULL; i++)
        json_array_append_new(a, json_string(verbs[i]));
    return a;
}

static char *render_resource_list(const char *group, const char *version,
                                  const struct ahpa_api__gv_resources *r)
{
    char gv[128];
    snprintf(gv, sizeof(gv), "%s/%s", group, version);
    json_t *items = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const struct ahpa_api_resource *res = &r->items[i];
        json_array_append_new(items,
                              json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", res->name,
                                        "singularName", res->singular_name, "namespaced",
                                        res->namespaced, "kind", res->kind, "verbs",
                                        verbs_array(res->verbs)));
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                            "groupVersion", gv, "resources", items);
    char *text = ahpa_api__json_render(doc);
    json_decref(doc);
    return text;
}

static json_t *response_kind(const char *kind)
{
    return json_pack("{s:s, s:s, s:s}", "group", "", "version", "", "kind", kind ? kind : "");
}

/* Aggregated discovery nests "parent/sub" entries under their parent, the
 * way the kube-aggregator converts a plain APIResourceList: a parent that
 * is not itself listed gets an entry with an empty responseKind. */
static json_t *aggregated_resources(const struct ahpa_api__gv_resources *r)
{
    json_t *out = json_array();
    json_t *by_name = json_object();
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->n; i++) {
            const struct ahpa_api_resource *res = &r->items[i];
            const char *slash = strchr(res->name, '/');
            if ((pass == 0) != (slash == NULL))
                continue;
            const char *scope = res->namespaced ? "Namespaced" : "Cluster";
            if (slash == NULL) {
                json_t *e = json_pack("{s:s, s:o, s:s, s:s, s:o}", "resource", res->name,
                                      "responseKind", response_kind(res->kind), "scope", scope,
                                      "singularResource", res->singular_name, "verbs",
                                      verbs_array(res->verbs));
                json_array_append_new(out, e);
                json_object_set(by_name, res->name, e);
                continue;
            }
            char parent[256];
            snprintf(parent, sizeof(parent), "%.*s", (int)(slash - res->name), res->name);
            json_t *p = json_object_get(by_name, parent);
            if (p == NULL) {
                p = json_pack("{s:s, s:o, s:s, s:s, s:[]}", "resource", parent, "responseKind",
                              response_kind(NULL), "scope", scope, "singularResource", "",
                              "verbs");
                json_array_append_new(out, p);
                json_object_set(by_name, parent, p);
            }
            json_t *subs = json_object_get(p, "subresources");
            if (subs == NULL) {
                subs = json_array();
                json_object_set_new(p, "subresources", subs);
            }
            json_array_append_new(subs, json_pack("{s:s, s:o, s:o}", "subresource", slash + 1,
                                                  "responseKind", response_kind(res->kind),
                                                  "verbs", verbs_array(res->verbs)));
        }
    }
    json_decref(by_name);
    return out;
}

static char *render_aggregated(const struct ahpa_server *s, const char *api_version)
{
    json_t *items = json_array();
    for (int gi = 0; gi < AHPA_API_NGROUPS; gi++) {
        const struct ahpa_api__group *g = &s->groups[gi];
        if (!g->enabled)
            continue;
        json_t *versions = json_array();
        for (int v = 0; v < g->nversions; v++) {
            json_array_append_new(
                versions, json_pack("{s:s, s:o, s:s}", "version", g->versions[v], "resources",
                                    aggregated_resources(&s->resources[gi][v]), "freshness",
                                    "Current"));
        }
        json_array_append_new(items, json_pack("{s:{s:s}, s:o}", "metadata", "name", g->name,
                                               "versions", versions));
    }
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList",
                            "apiVersion", api_version, "metadata", "items", items);
    char *text = ahpa_api__json_render(doc);
    json_decref(doc);
    return text;
}

static void discovery_destroy(void *p)
{
    struct ahpa_api__discovery *d = p;
    ahpa_api__doc_dispose(&d->apis);
    ahpa_api__doc_dispose(&d->apis_aggregated[0]);
    ahpa_api__doc_dispose(&d->apis_aggregated[1]);
    for (int g = 0; g < AHPA_API_NGROUPS; g++) {
        ahpa_api__doc_dispose(&d->group[g]);
        for (int v = 0; v < AHPA_API_MAX_VERSIONS; v++)
            ahpa_api__doc_dispose(&d->gv[g][v]);
    }
    free(d);
}

/* Caller holds resources_lock. */
void ahpa_api__discovery_publish(struct ahpa_server *s)
{
    struct ahpa_api__discovery *d = ahpa_calloc(1, sizeof(*d));
    ahpa_ref_init(&d->ref, discovery_destroy);
    json_t *groups = json_array();
    for (int gi = 0; gi < AHPA_API_NGROUPS; gi++) {
        const struct ahpa_api__group *g = &s->groups[gi];
        if (!g->enabled)
            continue;
        json_array_append_new(groups, group_object(g));
        json_t *doc = group_object(g);
        json_object_set_new(doc, "kind", json_string("APIGroup"));
        json_object_set_new(doc, "apiVersion", json_string("v1"));
        ahpa_api__doc_set(&d->group[gi], ahpa_api__json_render(doc));
        json_decref(doc);
        for (int v = 0; v < g->nversions; v++)
            ahpa_api__doc_set(&d->gv[gi][v], render_resource_list(g->name, g->versions[v],
                                                                  &s->resources[gi][v]));
    }
    json_t *list = json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1",
                             "groups", groups);
    ahpa_api__doc_set(&d->apis, ahpa_api__json_render(list));
    json_decref(list);
    ahpa_api__doc_set(&d->apis_aggregated[0], render_aggregated(s, "apidiscovery.k8s.io/v2"));
    ahpa_api__doc_set(&d->apis_aggregated[1],
                      render_aggregated(s, "apidiscovery.k8s.io/v2beta1"));
    ahpa_snapshot_swap(&s->discovery, &d->ref);
}

/* Frees the owned copies of a resource list. */
static void resources_dispose(struct ahpa_api__gv_resources *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->items[i].name);
        free((char *)r->items[i].singular_name);
        free((char *)r->items[i].kind);
        for (size_t k = 0; r->items[i].verbs && r->items[i].verbs[k]; k++)
            free((char *)r->items[i].verbs[k]);
        free((void *)r->items[i].verbs);
    }
    free(r->items);
    r->items = NULL;
    r->n = 0;
}

void ahpa_api__discovery_dispose(struct ahpa_server *s)
{
    for (int g = 0; g < AHPA_API_NGROUPS; g++)
        for (int v = 0; v < AHPA_API_MAX_VERSIONS; v++)
            resources_dispose(&s->resources[g][v]);
}

static const char *const *copy_verbs(const char *const *verbs)
{
    size_t n = 0;
    while (verbs != NULL && verbs[n] != NULL)
        n++;
    char **out = ahpa_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = ahpa_strdup(verbs[i]);
    return (const char *const *)out;
}

int ahpa_server_set_resources(struct ahpa_server *s, const char *group, const char *version,
                              const struct ahpa_api_resource *res, size_t n,
                              struct ahpa_error *err)
{
    int gi = ahpa_api__group_index(s, group);
    int vi = gi < 0 ? -1 : ahpa_api__version_index(&s->groups[gi], version);
    if (vi < 0)
        return ahpa_error_set(err, AHPA_ENOTFOUND, "group-version %s/%s is not served", group,
                              version);
    struct ahpa_api__gv_resources next = {ahpa_calloc(n ? n : 1, sizeof(*res)), n};
    for (size_t i = 0; i < n; i++) {
        next.items[i].name = ahpa_strdup(res[i].name);
        next.items[i].singular_name = ahpa_strdup(res[i].singular_name ? res[i].singular_name : "");
        next.items[i].namespaced = res[i].namespaced;
        next.items[i].kind = ahpa_strdup(res[i].kind);
        next.items[i].verbs = copy_verbs(res[i].verbs);
    }
    pthread_mutex_lock(&s->resources_lock);
    struct ahpa_api__gv_resources old = s->resources[gi][vi];
    s->resources[gi][vi] = next;
    ahpa_api__discovery_publish(s);
    pthread_mutex_unlock(&s->resources_lock);
    resources_dispose(&old);
    return 0;
}

/* --- content negotiation ------------------------------------------------ */

/* True when `range` (one media range, without spaces) names `type` and has
 * every "k=v" parameter of `params` (a ';'-separated list). */
static bool media_has(const char *range, size_t len, const char *param)
{
    size_t plen = strlen(param);
    for (const char *p = range; p + plen <= range + len; p++) {
        if ((p == range || p[-1] == ';') && strncmp(p, param, plen) == 0 &&
            (p + plen == range + len || p[plen] == ';'))
            return true;
    }
    return false;
}

static enum ahpa_api_accept classify(const char *range, size_t len, bool discovery_ok)
{
    size_t type_len = strcspn(range, ";");
    if (type_len > len)
        type_len = len;
    bool json = (type_len == 16 && strncmp(range, "application/json", 16) == 0);
    bool any = (type_len == 3 && strncmp(range, "*/*", 3) == 0) ||
               (type_len == 13 && strncmp(range, "application/*", 13) == 0);
    if (!json && !any)
        return AHPA_ACCEPT_NONE;
    if (!json || !media_has(range, len, "g=apidiscovery.k8s.io")) {
        /* A Table or other "as=" conversion we don't offer: skip it. */
        if (json && media_has(range, len, "as=Table"))
            return AHPA_ACCEPT_NONE;
        return AHPA_ACCEPT_JSON;
    }
    if (!discovery_ok || !media_has(range, len, "as=APIGroupDiscoveryList"))
        return AHPA_ACCEPT_NONE;
    if (media_has(range, len, "v=v2"))
        return AHPA_ACCEPT_DISCOVERY_V2;
    if (media_has(range, len, "v=v2beta1"))
        return AHPA_ACCEPT_DISCOVERY_V2BETA1;
    return AHPA_ACCEPT_NONE;
}

enum ahpa_api_accept ahpa_api__negotiate(const char *accept, bool discovery_ok)
{
    if (accept == NULL || *accept == '\0')
        return AHPA_ACCEPT_JSON;
    char range[512];
    const char *p = accept;
    while (*p != '\0') {
        size_t n = 0;
        for (; *p != '\0' && *p != ','; p++) {
            if (*p != ' ' && *p != '\t' && n < sizeof(range) - 1)
                range[n++] = *p;
        }
        range[n] = '\0';
        if (*p == ',')
            p++;
        enum ahpa_api_accept a = classify(range, n, discovery_ok);
        if (a != AHPA_ACCEPT_NONE)
            return a;
    }
    return AHPA_ACCEPT_NONE;
}

/* --- serving -------------------------------------------------------------- */

static struct ahpa_api__discovery *discovery_get(struct ahpa_server *s)
{
    return (struct ahpa_api__discovery *)ahpa_snapshot_get(&s->discovery);
}

void ahpa_api__serve_apis(struct ahpa_server *s, struct ahpa_httpd_request *req,
                          struct ahpa_httpd_response *resp)
{
    enum ahpa_api_accept a =
        ahpa_api__negotiate(ahpa_httpd_request_header(req, "Accept"), true);
    if (a == AHPA_ACCEPT_NONE) {
        ahpa_api_status(resp, 406, "only application/json is served");
        return;
    }
    struct ahpa_api__discovery *d = discovery_get(s);
    ahpa_httpd_response_header(req, resp, "Vary", "Accept");
    /* One tag per representation: each hashes its own text. */
    if (a == AHPA_ACCEPT_DISCOVERY_V2)
        ahpa_api__doc_serve(&d->apis_aggregated[0],
                            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                            req, resp);
    else if (a == AHPA_ACCEPT_DISCOVERY_V2BETA1)
        ahpa_api__doc_serve(
            &d->apis_aggregated[1],
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", req, resp);
    else
        ahpa_api__doc_serve(&d->apis, "application/json", req, resp);
    ahpa_ref_release(&d->ref);
}

/* A pre-rendered JSON document (borrowed from the snapshot `d`). */
static void serve_json_doc(struct ahpa_api__discovery *d, const struct ahpa_api__doc *doc,
                           struct ahpa_httpd_request *req, struct ahpa_httpd_response *resp)
{
    if (ahpa_api__negotiate(ahpa_httpd_request_header(req, "Accept"), false) == AHPA_ACCEPT_NONE)
        ahpa_api_status(resp, 406, "only application/json is served");
    else
        ahpa_api__doc_serve(doc, "application/json", req, resp);
    ahpa_ref_release(&d->ref);
}

void ahpa_api__serve_group(struct ahpa_server *s, int gi, struct ahpa_httpd_request *req,
                           struct ahpa_httpd_response *resp)
{
    struct ahpa_api__discovery *d = discovery_get(s);
    serve_json_doc(d, &d->group[gi], req, resp);
}

void ahpa_api__serve_group_version(struct ahpa_server *s, int gi, int vi,
                                   struct ahpa_httpd_request *req,
                                   struct ahpa_httpd_response *resp)
{
    struct ahpa_api__discovery *d = discovery_get(s);
    serve_json_doc(d, &d->gv[gi][vi], req, resp);
}
