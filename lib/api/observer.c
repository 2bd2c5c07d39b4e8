/* The AHPA controller's outputs: its external metrics and
 * metrics.alibabacloud.com/v1beta1 predictionsobserver. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/api.h"
#include "ahpa/base64.h"
#include "ahpa/buf.h"
#include "ahpa/controller.h"
#include "ahpa/error.h"
#include "ahpa/httpd.h"
#include "ahpa/labelsel.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "api_int.h"

#define HORIZON_S (24 * 3600)

enum which { DESIRED, PREDICTED, PROACTIVE, REACTIVE };

static const char *const metric_names[] = {"ahpa_desired_replicas", "ahpa_predicted_utilization",
                                           "ahpa_proactive_replicas", "ahpa_reactive_replicas"};

bool ahpa_api__is_controller_metric(const char *metric)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(metric, metric_names[i]) == 0)
            return true;
    return false;
}

static double value_of(const struct ahpa_controller_plan *p, enum which w)
{
    switch (w) {
    case DESIRED:
        return p->plan.final;
    case PREDICTED:
        return p->predicted_peak;
    case PROACTIVE:
        return p->plan.proactive >= 0 ? p->plan.proactive : NAN;
    default:
        return p->plan.reactive;
    }
}

int ahpa_api__controller_external(struct ahpa_server *s, const struct ahpa_api_call *call,
                                  const char *ns, const char *metric,
                                  const struct ahpa_labelsel *sel, json_t *items,
                                  struct ahpa_error *err)
{
    (void)call, (void)err;
    enum which w = DESIRED;
    for (size_t i = 0; i < 4; i++)
        if (strcmp(metric, metric_names[i]) == 0)
            w = (enum which)i;
    /* Only planned AHPAs have an item: an unknown plan is no item (the
     * HPA holds its replicas), never 0. The snapshot holds one plan per
     * namespace/name; the check below keeps one item per AHPA regardless. */
    struct ahpa_controller_snapshot *snap = ahpa_controller_snapshot(s->controller);
    for (size_t i = 0; i < ahpa_controller_snapshot_count(snap); i++) {
        const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(snap, i);
        if (!p->planned || strcmp(p->ns, ns) != 0 ||
            ahpa_controller_snapshot_find(snap, p->ns, p->name) != p)
            continue;
        const char *names[] = {"ahpa", "namespace", "strategy"};
        const char *values[] = {p->name, p->ns, p->strategy};
        struct ahpa_labelsel_set set = {names, values, 3};
        double v = value_of(p, w);
        if (!ahpa_labelsel_matches(sel, &set) || !isfinite(v) || v < 0)
            continue;
        json_t *labels = json_pack("{s:s, s:s, s:s}", "ahpa", p->name, "namespace", p->ns,
                                   "strategy", p->strategy);
        json_array_append_new(items, json_pack("{s:s, s:o, s:o, s:o}", "metricName", metric,
                                               "metricLabels", labels, "timestamp",
                                               ahpa_api__timestamp(p->t_s), "value",
                                               ahpa_api__quantity(v)));
    }
    ahpa_controller_snapshot_release(snap);
    return 0;
}

/* --- predictionsobserver ---------------------------------------------------------- */

/* One report. With `content`, the rendered page (about 12 ms and 110 KB
 * of base64 for 7 days of history); lists leave it out, so listing a
 * thousand AHPAs stays cheap: get one by name for its page. */
static json_t *observer_object(struct ahpa_server *s, const struct ahpa_controller_plan *p,
                               bool content, struct ahpa_error *err)
{
    json_t *meta = json_pack("{s:s, s:s}", "name", p->name, "namespace", p->ns);
    json_t *obj = json_pack("{s:s, s:s, s:o}", "kind", "PredictionsObserver", "apiVersion",
                            "metrics.alibabacloud.com/v1beta1", "metadata", meta);
    if (content) {
        struct ahpa_buf html, b64;
        ahpa_buf_init(&html);
        ahpa_buf_init(&b64);
        int rc = ahpa_controller_render(s->controller, p->ns, p->name, &html, err);
        if (rc < 0) {
            ahpa_buf_dispose(&html);
            json_decref(obj);
            return NULL;
        }
        ahpa_base64_encode(html.data, html.len, &b64);
        ahpa_buf_dispose(&html);
        json_object_set_new(obj, "content", json_string(ahpa_buf_cstr(&b64)));
        json_object_set_new(obj, "contentType", json_string("text/html; charset=utf-8"));
        ahpa_buf_dispose(&b64);
    }
    json_object_set_new(obj, "strategy", json_string(p->strategy));
    json_object_set_new(obj, "scaleTargetRef", json_string(p->target_ref));
    json_object_set_new(obj, "horizonSeconds", json_integer(HORIZON_S));
    /* Unknown fields are left out, never written as -1 or 0. */
    if (p->replicas_known)
        json_object_set_new(obj, "currentReplicas", json_integer(p->replicas));
    if (p->planned) {
        json_object_set_new(obj, "desiredReplicas", json_integer(p->plan.final));
        if (p->plan.proactive >= 0)
            json_object_set_new(obj, "proactiveReplicas", json_integer(p->plan.proactive));
        json_object_set_new(obj, "reactiveReplicas", json_integer(p->plan.reactive));
        json_object_set_new(obj, "reason", json_string(p->plan.text));
    } else {
        json_object_set_new(obj, "reason", json_string(p->error));
    }
    if (p->t_s > 0)
        json_object_set_new(obj, "generatedAt", ahpa_api__timestamp(p->t_s));
    /* The AHPA's own creationTimestamp, or when the controller first saw
     * it (an object from a file without one); never the render time. */
    if (p->created_s > 0)
        json_object_set_new(meta, "creationTimestamp", ahpa_api__timestamp(p->created_s));
    return obj;
}

/* The controller's file and object errors ("path: message"; duplicates
 * name "ns/name"): all of them in a list, those naming ns/name for one
 * object. NULL when there are none. */
static json_t *snapshot_errors(const struct ahpa_controller_snapshot *snap, const char *ns,
                               const char *name)
{
    const char *const *errors;
    size_t n = ahpa_controller_snapshot_errors(snap, &errors);
    json_t *out = json_array();
    char key[320];
    snprintf(key, sizeof(key), " %s/%s", ns ? ns : "", name ? name : "");
    size_t keylen = strlen(key);
    for (size_t i = 0; i < n; i++) {
        /* "path: ns/name: why" or "path: ns/name is defined twice; ..." */
        bool mine = name == NULL;
        for (const char *at = errors[i]; !mine && (at = strstr(at, key)) != NULL; at++)
            mine = at[keylen] == ':' || at[keylen] == ' ';
        if (mine)
            json_array_append_new(out, json_string(errors[i]));
    }
    if (json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* .../namespaces/{ns}/predictionsobserver[/{name}] and .../predictionsobserver */
static int observer_handler(void *ctx, const struct ahpa_api_call *call,
                            struct ahpa_httpd_response *resp, struct ahpa_error *err)
{
    struct ahpa_server *s = ctx;
    const char *const *seg = call->segments;
    size_t n = call->nsegments;
    const char *ns = NULL, *name = NULL;
    if (n == 1 && strcmp(seg[0], "predictionsobserver") == 0) {
        /* every namespace */
    } else if ((n == 3 || n == 4) && strcmp(seg[0], "namespaces") == 0 &&
               strcmp(seg[2], "predictionsobserver") == 0) {
        ns = seg[1];
        name = n == 4 ? seg[3] : NULL;
        if (!ahpa_str_is_dns_label(ns))
            return ahpa_error_set(err, AHPA_EINVAL, "invalid namespace \"%.64s\"", ns);
    } else {
        return ahpa_error_set(err, AHPA_ENOTFOUND,
                              "the server could not find the requested resource");
    }
    if (s->controller == NULL)
        return ahpa_error_set(err, AHPA_ENOTFOUND, "predictionsobserver \"%s\" not found",
                              name ? name : "");
    struct ahpa_controller_snapshot *snap = ahpa_controller_snapshot(s->controller);
    json_t *doc = NULL;
    int rc = 0;
    if (name != NULL) {
        const struct ahpa_controller_plan *p = ahpa_controller_snapshot_find(snap, ns, name);
        if (p == NULL)
            rc = ahpa_error_set(err, AHPA_ENOTFOUND, "predictionsobserver \"%.253s\" not found",
                                name);
        else if ((doc = observer_object(s, p, true, err)) == NULL)
            rc = -AHPA_ENOTFOUND;
        json_t *errors = doc ? snapshot_errors(snap, ns, name) : NULL;
        if (errors != NULL)
            json_object_set_new(doc, "errors", errors);
    } else {
        json_t *items = json_array();
        for (size_t i = 0; i < ahpa_controller_snapshot_count(snap); i++) {
            const struct ahpa_controller_plan *p = ahpa_controller_snapshot_at(snap, i);
            if (ns != NULL && strcmp(p->ns, ns) != 0)
                continue;
            json_t *o = observer_object(s, p, false, NULL);
            if (o != NULL)
                json_array_append_new(items, o);
        }
        doc = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PredictionsObserverList", "apiVersion",
                        "metrics.alibabacloud.com/v1beta1", "metadata", "items", items);
        /* Files and objects the controller skipped (bad files, duplicates). */
        json_t *errors = snapshot_errors(snap, NULL, NULL);
        if (errors != NULL)
            json_object_set_new(doc, "errors", errors);
    }
    ahpa_controller_snapshot_release(snap);
    if (rc < 0)
        return rc;
    ahpa_api__json_body(call->req, resp, doc);
    json_decref(doc);
    resp->status = 200;
    return 0;
}

void ahpa_server_use_controller(struct ahpa_server *s, struct ahpa_controller *c)
{
    static const char *const get_list[] = {"get", "list", NULL};
    s->controller = c;
    ahpa_server_set_handler(s, AHPA_GROUP_EXTERNAL, ahpa_api__external_handler, s);
    ahpa_server_set_handler(s, AHPA_GROUP_OBSERVER, observer_handler, s);
    ahpa_server_add_collector(s, ahpa_controller_collect, c);
    struct ahpa_api_resource obs = {"predictionsobserver", "predictionsobserver", true,
                                    "PredictionsObserver", get_list};
    ahpa_server_set_resources(s, AHPA_GROUP_OBSERVER, "v1beta1", &obs, 1, NULL);
    ahpa_api__publish_external(s);
}
