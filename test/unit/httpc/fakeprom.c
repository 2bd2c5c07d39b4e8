/* A canned Prometheus range-query answer (see fakeprom.h). */
#include "fakeprom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char body[1 << 20];

double fakeprom_param(const char *query, const char *name)
{
    char key[32];
    snprintf(key, sizeof(key), "%s=", name);
    const char *p = strstr(query, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

void fakeprom_answer_range(const struct testsrv_request *req, struct testsrv_reply *reply,
                           fakeprom_sample_fn sample, void *ud)
{
    const char *q = req->method[0] == 'P' ? req->body : req->target;
    double start = fakeprom_param(q, "start"), end = fakeprom_param(q, "end"),
           step = fakeprom_param(q, "step");
    if (strncmp(req->target, "/api/v1/query_range", 19) != 0 || !(step > 0) || isnan(start) ||
        isnan(end)) {
        reply->status = 400;
        reply->body = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"unexpected\"}";
        return;
    }
    bool replicas = strstr(q, "kube_deployment_status_replicas") != NULL;
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"status\":\"success\",\"data\":{"
                                "\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[");
    const char *sep = "";
    for (double x = start; x <= end && n + 400 < sizeof(body); x += step) {
        double v = NAN;
        int what = sample(ud, replicas, x, &v);
        if (what == FAKEPROM_END)
            break;
        if (what == FAKEPROM_SKIP)
            continue;
        if (isnan(v))
            n += (size_t)snprintf(body + n, sizeof(body) - n, "%s[%.0f,\"NaN\"]", sep, x);
        else
            n += (size_t)snprintf(body + n, sizeof(body) - n, "%s[%.0f,\"%.3f\"]", sep, x, v);
        sep = ",";
    }
    snprintf(body + n, sizeof(body) - n, "]}]}}");
    reply->body = body;
}
