/* The metric registry: relisting series and matching them to rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/clock.h"
#include "ahpa/error.h"
#include "ahpa/labelsel.h"
#include "ahpa/log.h"
#include "ahpa/mem.h"
#include "ahpa/rules.h"
#include "provider_int.h"

#define MAX_PARALLEL_RELISTS 8

static void entry_dispose(struct ahpa_provider__entry *e)
{
    free(e->group);
    free(e->resource);
    free(e->metric);
    free(e->series);
}

static void registry_destroy(void *obj)
{
    struct ahpa_provider__registry *r = obj;
    for (size_t i = 0; i < r->ncustom; i++)
        entry_dispose(&r->custom[i]);
    for (size_t i = 0; i < r->nexternal; i++)
        entry_dispose(&r->external[i]);
    free(r->custom);
    free(r->external);
    free(r);
}

struct ahpa_provider__registry *ahpa_provider__registry_get(struct ahpa_provider *p)
{
    return (struct ahpa_provider__registry *)ahpa_snapshot_get(&p->registry);
}

void ahpa_provider__registry_release(struct ahpa_provider__registry *r)
{
    if (r != NULL)
        ahpa_ref_release(&r->ref);
}

static int null_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int entry_cmp(const void *a, const void *b)
{
    const struct ahpa_provider__entry *x = a, *y = b;
    int c = null_cmp(x->resource, y->resource);
    if (c == 0)
        c = null_cmp(x->group, y->group);
    if (c == 0)
        c = strcmp(x->metric, y->metric);
    if (c == 0) /* earlier rules win: keep rule order among equals */
        c = (int)ahpa_rules_rule_index(x->rule) - (int)ahpa_rules_rule_index(y->rule);
    if (c == 0)
        c = strcmp(x->series, y->series);
    return c;
}

const struct ahpa_provider__entry *
ahpa_provider__find_custom(const struct ahpa_provider__registry *r, const char *group,
                           const char *resource, const char *metric)
{
    struct ahpa_provider__entry key = {.group = (char *)(group ? group : ""),
                                       .resource = (char *)resource,
                                       .metric = (char *)metric};
    size_t lo = 0, hi = r->ncustom;
    while (lo < hi) { /* first entry not less than (resource, group, metric) */
        size_t mid = lo + (hi - lo) / 2;
        const struct ahpa_provider__entry *e = &r->custom[mid];
        int c = null_cmp(e->resource, key.resource);
        if (c == 0)
            c = null_cmp(e->group, key.group);
        if (c == 0)
            c = strcmp(e->metric, key.metric);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->ncustom && strcmp(r->custom[lo].resource, resource) == 0 &&
        null_cmp(r->custom[lo].group, key.group) == 0 && strcmp(r->custom[lo].metric, metric) == 0)
        return &r->custom[lo];
    return NULL;
}

const struct ahpa_provider__entry *
ahpa_provider__find_external(const struct ahpa_provider__registry *r, const char *metric)
{
    for (size_t i = 0; i < r->nexternal; i++) {
        if (strcmp(r->external[i].metric, metric) == 0)
            return &r->external[i];
    }
    return NULL;
}

/* --- relisting ------------------------------------------------------------------ */

struct relist_job {
    struct ahpa_provider *p;
    const char *series_query;
    struct ahpa_prom_result result;
    struct ahpa_error err;
    int rc;
};

static void *relist_one(void *arg)
{
    struct relist_job *job = arg;
    int64_t now = ahpa_provider__now_ms();
    int64_t age = job->p->opt.max_age_ms;
    ahpa_prom_result_init(&job->result);
    job->rc = ahpa_prom_series(job->p->opt.prom, &job->series_query, 1, now - age, now,
                               &job->result, &job->err);
    return NULL;
}

struct builder {
    struct ahpa_provider__entry *custom, *external;
    size_t ncustom, nexternal, capc, cape;
};

static void add_entry(struct ahpa_provider__entry **arr, size_t *n, size_t *cap,
                      struct ahpa_provider__entry e)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = ahpa_reallocarray(*arr, *cap, sizeof(**arr));
    }
    (*arr)[(*n)++] = e;
}

/* Runs one series through one rule. */
static void match_series(struct builder *b, const struct ahpa_rules_rule *rule,
                         const struct ahpa_prom_series *s)
{
    const char *name = ahpa_prom_series_label(s, "__name__");
    if (name == NULL)
        return;
    const char *names[64], *values[64];
    size_t n = 0;
    for (size_t i = 0; i < s->n_labels && n < 64; i++) {
        names[n] = s->labels[i].name;
        values[n++] = s->labels[i].value;
    }
    struct ahpa_labelsel_set set = {names, values, n};
    struct ahpa_rules_match m = {0};
    struct ahpa_error err = {0};
    if (ahpa_rules_match_series(rule, name, &set, &m, &err) != 1) {
        ahpa_rules_match_dispose(&m);
        return;
    }
    if (ahpa_rules_rule_kind(rule) == AHPA_RULES_EXTERNAL) {
        add_entry(&b->external, &b->nexternal, &b->cape,
                  (struct ahpa_provider__entry){NULL, NULL, ahpa_strdup(m.metric), true, rule,
                                                ahpa_strdup(name)});
    } else {
        for (size_t i = 0; i < m.nresources; i++) {
            bool namespaced;
            const char *kind, *apiv;
            ahpa_provider_kind(m.resources[i].group, m.resources[i].resource, &kind, &apiv,
                               &namespaced);
            add_entry(&b->custom, &b->ncustom, &b->capc,
                      (struct ahpa_provider__entry){ahpa_strdup(m.resources[i].group),
                                                    ahpa_strdup(m.resources[i].resource),
                                                    ahpa_strdup(m.metric), namespaced, rule,
                                                    ahpa_strdup(name)});
        }
    }
    ahpa_rules_match_dispose(&m);
}

/* Sorts and keeps the first of each (resource, group, metric). */
static size_t dedupe(struct ahpa_provider__entry *e, size_t n, bool external)
{
    if (n == 0)
        return 0;
    qsort(e, n, sizeof(*e), entry_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        bool same = w > 0 && strcmp(e[w - 1].metric, e[i].metric) == 0 &&
                    (external || (null_cmp(e[w - 1].resource, e[i].resource) == 0 &&
                                  null_cmp(e[w - 1].group, e[i].group) == 0));
        if (same)
            entry_dispose(&e[i]);
        else
            e[w++] = e[i];
    }
    return w;
}

/* The distinct seriesQuery strings of all rules. */
static size_t distinct_queries(const struct ahpa_rules_config *cfg, const char ***out)
{
    size_t total = ahpa_rules_count(cfg, AHPA_RULES_CUSTOM) + ahpa_rules_count(cfg, AHPA_RULES_EXTERNAL);
    const char **q = ahpa_calloc(total ? total : 1, sizeof(char *));
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        enum ahpa_rules_kind kind = k == 0 ? AHPA_RULES_CUSTOM : AHPA_RULES_EXTERNAL;
        for (size_t i = 0; i < ahpa_rules_count(cfg, kind); i++) {
            const char *sq = ahpa_rules_series_query(ahpa_rules_get(cfg, kind, i));
            size_t j = 0;
            while (j < n && strcmp(q[j], sq) != 0)
                j++;
            if (j == n)
                q[n++] = sq;
        }
    }
    *out = q;
    return n;
}

int ahpa_provider_relist(struct ahpa_provider *p, struct ahpa_error *err)
{
    const struct ahpa_rules_config *cfg = p->opt.rules;
    const char **queries;
    size_t nq = distinct_queries(cfg, &queries);
    struct relist_job *jobs = ahpa_calloc(nq ? nq : 1, sizeof(*jobs));
    int64_t t0 = ahpa_clock_mono_ms();
    for (size_t start = 0; start < nq; start += MAX_PARALLEL_RELISTS) {
        size_t end = start + MAX_PARALLEL_RELISTS < nq ? start + MAX_PARALLEL_RELISTS : nq;
        pthread_t th[MAX_PARALLEL_RELISTS];
        for (size_t i = start; i < end; i++) {
            jobs[i] = (struct relist_job){.p = p, .series_query = queries[i]};
            if (pthread_create(&th[i - start], NULL, relist_one, &jobs[i]) != 0) {
                relist_one(&jobs[i]); /* no thread to spare: do it here */
                th[i - start] = 0;
            }
        }
        for (size_t i = start; i < end; i++) {
            if (th[i - start] != 0)
                pthread_join(th[i - start], NULL);
        }
    }
    int rc = 0;
    struct builder b = {0};
    for (size_t qi = 0; qi < nq; qi++) {
        if (jobs[qi].rc < 0) {
            if (rc == 0)
                rc = ahpa_error_set(err, -jobs[qi].rc, "relisting \"%.80s\": %s", queries[qi],
                                    ahpa_error_message(&jobs[qi].err, jobs[qi].rc));
            continue;
        }
        for (int k = 0; k < 2; k++) {
            enum ahpa_rules_kind kind = k == 0 ? AHPA_RULES_CUSTOM : AHPA_RULES_EXTERNAL;
            for (size_t i = 0; i < ahpa_rules_count(cfg, kind); i++) {
                const struct ahpa_rules_rule *rule = ahpa_rules_get(cfg, kind, i);
                if (strcmp(ahpa_rules_series_query(rule), queries[qi]) != 0)
                    continue;
                for (size_t s = 0; s < jobs[qi].result.n_series; s++)
                    match_series(&b, rule, &jobs[qi].result.series[s]);
            }
        }
    }
    for (size_t qi = 0; qi < nq; qi++)
        ahpa_prom_result_dispose(&jobs[qi].result);
    free(jobs);
    free(queries);
    atomic_store(&p->last_relist_duration_ms, ahpa_clock_mono_ms() - t0);
    atomic_fetch_add(&p->relists, 1);
    if (rc < 0) {
        /* Keep the last good registry: a partial one would drop metrics. */
        for (size_t i = 0; i < b.ncustom; i++)
            entry_dispose(&b.custom[i]);
        for (size_t i = 0; i < b.nexternal; i++)
            entry_dispose(&b.external[i]);
        free(b.custom);
        free(b.external);
        atomic_fetch_add(&p->relist_failures, 1);
        return rc;
    }
    struct ahpa_provider__registry *r = ahpa_calloc(1, sizeof(*r));
    ahpa_ref_init(&r->ref, registry_destroy);
    r->custom = b.custom;
    r->ncustom = dedupe(b.custom, b.ncustom, false);
    r->external = b.external;
    r->nexternal = dedupe(b.external, b.nexternal, true);
    AHPA_LOG_V(2, "relist: %zu custom and %zu external metrics from %zu series queries in %lldms",
               r->ncustom, r->nexternal, nq, (long long)atomic_load(&p->last_relist_duration_ms));
    ahpa_snapshot_swap(&p->registry, &r->ref);
    atomic_store(&p->last_relist_ok_ms, ahpa_provider__now_ms());
    if (p->opt.changed != NULL)
        p->opt.changed(p->opt.changed_ctx);
    return 0;
}

size_t ahpa_provider_foreach(struct ahpa_provider *p, bool external, ahpa_provider_metric_fn *fn,
                             void *ctx)
{
    struct ahpa_provider__registry *r = ahpa_provider__registry_get(p);
    if (r == NULL)
        return 0;
    const struct ahpa_provider__entry *e = external ? r->external : r->custom;
    size_t n = external ? r->nexternal : r->ncustom;
    for (size_t i = 0; i < n; i++) {
        struct ahpa_provider_metric m = {e[i].group ? e[i].group : "", e[i].resource, e[i].metric,
                                         e[i].namespaced};
        fn(ctx, &m);
    }
    ahpa_provider__registry_release(r);
    return n;
}
