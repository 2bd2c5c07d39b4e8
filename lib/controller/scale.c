/* The scale subresource of an AHPA's scaleTargetRef (cluster mode): the
 * workload's current replicas and pod selector, for any kind with a scale
 * subresource (Deployments, StatefulSets, ReplicaSets, CRDs). Read by the
 * cycle workers, never by request threads. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/ahpaobj.h"
#include "ahpa/error.h"
#include "ahpa/kube.h"
#include "ahpa/str.h"
#include "controller_int.h"

void ahpa_controller__guess_resource(const char *kind, char *out, size_t n)
{
    size_t len = strlen(kind);
    if (n == 0)
        return;
    if (len + 4 > n) {
        out[0] = '\0';
        return;
    }
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)kind[i]);
    out[len] = '\0';
    /* client-go's UnsafeGuessKindToResource: "s", "x", "z", "ch", "sh"
     * take "es"; a consonant then "y" takes "ies". */
    char last = len ? out[len - 1] : '\0';
    char before = len > 1 ? out[len - 2] : '\0';
    if (last == 's' || last == 'x' || last == 'z' ||
        (last == 'h' && (before == 'c' || before == 's')))
        memcpy(out + len, "es", 3);
    else if (last == 'y' && before != '\0' && strchr("aeiou", before) == NULL)
        memcpy(out + len - 1, "ies", 4);
    else
        memcpy(out + len, "s", 2);
}

int ahpa_controller__read_scale(struct ahpa_controller *c, const struct ahpa_obj *o,
                                int32_t *replicas, char *selector, size_t selector_size,
                                struct ahpa_error *err)
{
    /* apiVersion "group/version" or "version" (the core group). */
    char group[256], version[64], plural[256];
    const char *av = o->target_api_version ? o->target_api_version : "apps/v1";
    const char *slash = strchr(av, '/');
    if (slash != NULL) {
        snprintf(group, sizeof(group), "%.*s", (int)(slash - av), av);
        snprintf(version, sizeof(version), "%s", slash + 1);
    } else {
        group[0] = '\0';
        snprintf(version, sizeof(version), "%s", av);
    }
    ahpa_controller__guess_resource(o->target_kind, plural, sizeof(plural));
    if (plural[0] == '\0' || version[0] == '\0' || strchr(version, '/') != NULL)
        return ahpa_error_set(err, AHPA_EINVAL, "scaleTargetRef %s %s: no resource for it", av,
                              o->target_kind);
    const struct ahpa_kube_resource r = {group, version, plural, NULL, true};
    json_t *scale = NULL;
    int rc = ahpa_kube_get(c->opt.kube, &r, o->ns, o->target_name, "scale", &scale, err);
    if (rc < 0)
        return rc;
    json_t *status = json_object_get(scale, "status");
    json_t *rep = json_object_get(status, "replicas");
    const char *sel = json_string_value(json_object_get(status, "selector"));
    rc = 0;
    /* Range-checked before any conversion; a missing count is unknown
     * (a scale with status {} is one that has not reported yet). */
    if (!json_is_integer(rep) || json_integer_value(rep) < 0 ||
        json_integer_value(rep) > AHPA_CONTROLLER_MAX_REPLICAS)
        rc = ahpa_error_set(err, AHPA_EUPSTREAM, "%s/%s scale: status.replicas %s",
                            o->target_kind, o->target_name,
                            rep == NULL ? "missing" : "not a whole number 0..100000");
    else
        *replicas = (int32_t)json_integer_value(rep);
    if (selector_size > 0 && sel != NULL && strlen(sel) >= selector_size) {
        selector[0] = '\0';
        if (rc == 0)
            rc = ahpa_error_set(err, AHPA_ETOOBIG, "%s/%s scale: status.selector longer than "
                                "%zu bytes", o->target_kind, o->target_name, selector_size - 1);
    } else if (selector_size > 0) {
        snprintf(selector, selector_size, "%s", sel ? sel : "");
    }
    json_decref(scale);
    return rc;
}
