/* The default resolver: which objects a label selector means, from
 * kube-state-metrics' kube_<kind>_labels series (through the value cache).
 * kube-state-metrics v2 exports only the labels allowed by its
 * --metric-labels-allowlist; labels it does not export cannot be matched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/mem.h"
#include "provider_int.h"

void ahpa_provider__singular(const char *resource, char *out, size_t n)
{
    static const struct {
        const char *plural, *singular;
    } irregular[] = {{"ingresses", "ingress"}, {"endpoints", "endpoint"},
                     {"horizontalpodautoscalers", "horizontalpodautoscaler"}};
    for (size_t i = 0; i < sizeof(irregular) / sizeof(irregular[0]); i++) {
        if (strcmp(resource, irregular[i].plural) == 0) {
            snprintf(out, n, "%s", irregular[i].singular);
            return;
        }
    }
    size_t len = strlen(resource);
    if (len > 1 && resource[len - 1] == 's')
        len--;
    snprintf(out, n, "%.*s", (int)len, resource);
}

int ahpa_provider__ksm_resolve(void *ctx, const char *group, const char *resource, const char *ns,
                               const struct ahpa_labelsel *sel, char ***names, size_t *n,
                               struct ahpa_error *err)
{
    (void)group;
    return ahpa_provider__ksm_resolve_cached(ctx, resource, ns, sel, false, names, n, err);
}

int ahpa_provider__ksm_resolve_cached(struct ahpa_provider *p, const char *resource,
                                      const char *ns, const struct ahpa_labelsel *sel,
                                      bool cached_only, char ***names, size_t *n,
                                      struct ahpa_error *err)
{
    char kind[64];
    ahpa_provider__singular(resource, kind, sizeof(kind));
    for (char *k = kind; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9')))
            return ahpa_error_set(err, AHPA_ENOTFOUND, "cannot list %s by label", resource);
    struct ahpa_buf q;
    ahpa_buf_init(&q);
    ahpa_buf_printf(&q, "max by (%s) (kube_%s_labels{", kind, kind);
    bool first = true;
    if (ns != NULL) {
        ahpa_buf_puts(&q, "namespace=");
        ahpa_labelsel_promql_quote(&q, ns, strlen(ns));
        first = false;
    }
    if (sel != NULL && !ahpa_labelsel_is_empty(sel)) {
        if (!first)
            ahpa_buf_putc(&q, ',');
        struct ahpa_labelsel_promql_opts o = {"label_", AHPA_LABELSEL_NAMES_KSM};
        int rc = ahpa_labelsel_render_promql(sel, &o, &q, err);
        if (rc < 0) {
            ahpa_buf_dispose(&q);
            return rc;
        }
    }
    ahpa_buf_puts(&q, "})");
    struct ahpa_provider__cached *res = NULL;
    int rc = ahpa_provider__cache_query(p, ahpa_buf_cstr(&q), cached_only, &res, err);
    ahpa_buf_dispose(&q);
    if (rc < 0)
        return rc;
    *n = 0;
    *names = ahpa_calloc(res->result.n_series + 1, sizeof(char *));
    for (size_t i = 0; i < res->result.n_series; i++) {
        const char *v = ahpa_prom_series_label(&res->result.series[i], kind);
        if (v != NULL)
            (*names)[(*n)++] = ahpa_strdup(v);
    }
    ahpa_ref_release(&res->ref);
    return 0;
}
