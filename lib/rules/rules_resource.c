/* Kubernetes group-resources and the series labels that name them.
 *
 * prometheus-adapter asks the cluster's RESTMapper to normalise a resource
 * ("pod" -> "pods"). This pure module has no cluster, so it carries a table
 * of the resources GPU workloads are labelled with; overrides naming other
 * resources are taken as written (plural guessed), and template matches on
 * unknown resources are skipped, as a RESTMapper miss is upstream. */
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/str.h"
#include "rules_int.h"

static const struct {
    const char *singular, *plural, *group;
} known[] = {
    {"pod", "pods", ""},
    {"namespace", "namespaces", ""},
    {"node", "nodes", ""},
    {"service", "services", ""},
    {"endpoints", "endpoints", ""},
    {"persistentvolumeclaim", "persistentvolumeclaims", ""},
    {"persistentvolume", "persistentvolumes", ""},
    {"replicationcontroller", "replicationcontrollers", ""},
    {"serviceaccount", "serviceaccounts", ""},
    {"configmap", "configmaps", ""},
    {"deployment", "deployments", "apps"},
    {"statefulset", "statefulsets", "apps"},
    {"daemonset", "daemonsets", "apps"},
    {"replicaset", "replicasets", "apps"},
    {"job", "jobs", "batch"},
    {"cronjob", "cronjobs", "batch"},
    {"ingress", "ingresses", "networking.k8s.io"},
    {"horizontalpodautoscaler", "horizontalpodautoscalers", "autoscaling"},
    {"advancedhorizontalpodautoscaler", "advancedhorizontalpodautoscalers",
     "autoscaling.alibabacloud.com"},
};
#define NKNOWN (sizeof known / sizeof known[0])

static long find_known(const char *resource)
{
    for (size_t i = 0; i < NKNOWN; i++)
        if (ahpa_str_ieq(resource, known[i].singular) ||
            ahpa_str_ieq(resource, known[i].plural))
            return (long)i;
    return -1;
}

static char *lower_dup(const char *s)
{
    char *d = ahpa_strdup(s);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

int ahpa_rules_normalize_resource(const char *group, const char *resource,
                                  char **group_out, char **plural)
{
    if (!resource || !*resource)
        return -AHPA_EINVAL;
    long k = find_known(resource);
    if (k < 0)
        return -AHPA_ENOTFOUND;
    *plural = ahpa_strdup(known[k].plural);
    *group_out = ahpa_strdup(group && *group ? group : known[k].group);
    return 0;
}

/* Overrides may name resources outside the table: lower case, and an
 * English plural when the word does not already end in 's'. */
static char *guess_plural(const char *resource)
{
    char *r = lower_dup(resource);
    size_t n = strlen(r);
    if (n == 0 || r[n - 1] == 's')
        return r;
    struct ahpa_buf b;
    ahpa_buf_init(&b);
    if (r[n - 1] == 'y' && n > 1 && !strchr("aeiou", r[n - 2])) {
        ahpa_buf_append(&b, r, n - 1);
        ahpa_buf_puts(&b, "ies");
    } else {
        ahpa_buf_puts(&b, r);
        ahpa_buf_puts(&b, r[n - 1] == 'x' ? "es" : "s");
    }
    free(r);
    return ahpa_buf_take(&b, NULL);
}

void ahpa_rules__normalize_override(const char *group, const char *resource,
                                    char **group_out, char **plural)
{
    if (ahpa_rules_normalize_resource(group, resource, group_out, plural) == 0)
        return;
    *plural = guess_plural(resource);
    *group_out = ahpa_strdup(group ? group : "");
}

char *ahpa_rules__singular(const char *plural)
{
    long k = find_known(plural);
    if (k >= 0)
        return ahpa_strdup(known[k].singular);
    char *r = lower_dup(plural);
    size_t n = strlen(r);
    if (n > 3 && strcmp(r + n - 3, "ies") == 0) {
        r[n - 3] = 'y';
        r[n - 2] = '\0';
    } else if (n > 4 && (strcmp(r + n - 4, "sses") == 0 ||
                         strcmp(r + n - 3, "xes") == 0)) {
        r[n - 2] = '\0';
    } else if (n > 1 && r[n - 1] == 's') {
        r[n - 1] = '\0';
    }
    return r;
}

char *ahpa_rules__sanitize_group(const char *group)
{
    char *g = ahpa_strdup(group ? group : "");
    for (char *p = g; *p; p++)
        if (*p == '.' || *p == '-')
            *p = '_';
    return g;
}
