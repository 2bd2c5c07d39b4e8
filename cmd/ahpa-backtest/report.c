/* Tables, JSON and the plan CSV of ahpa-backtest. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ahpa/timefmt.h"
#include "cli.h"

int print_report(const struct run *r, const struct cli_opts *o, FILE *out);
int write_plan(const struct run *r, const char *path);

/* JSON has no NaN: write null. */
static void jnum(FILE *f, const char *key, double v, int last)
{
    if (isfinite(v))
        fprintf(f, "\"%s\":%.6g%s", key, v, last ? "" : ",");
    else
        fprintf(f, "\"%s\":null%s", key, last ? "" : ",");
}

static void jcap(FILE *f, const char *key, const struct ahpa_backtest_capacity *c,
                 double oracle, int last)
{
    fprintf(f, "\"%s\":{", key);
    jnum(f, "pod_hours", c->pod_hours, 0);
    jnum(f, "pod_hours_vs_oracle", oracle > 0 ? c->pod_hours / oracle : NAN, 0);
    jnum(f, "under_provisioned_minutes", c->under_minutes, 0);
    jnum(f, "under_provisioned_depth_pod_minutes", c->under_depth, 0);
    jnum(f, "scaling_actions_per_day", c->actions_per_day, 1);
    fprintf(f, "}%s", last ? "" : ",");
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* Share of the test steps auto spent under each choice of the gate, and
 * the commonest. */
static void print_gate(const struct run *r, FILE *f)
{
    double share[3] = {0, 0, 0};
    size_t nt = r->n - r->ts;
    for (size_t t = r->ts; t < r->n; t++)
        if (r->pol_gate[t] < 3)
            share[r->pol_gate[t]] += 1.0 / (double)nt;
    static const char *const names[3] = {"combined", "proactive", "reactive"};
    int best = 0;
    for (int g = 1; g < 3; g++)
        if (share[g] > share[best])
            best = g;
    fprintf(f, "\"gate\":\"%s\",\"gate_share\":{", names[best]);
    for (int g = 0; g < 3; g++)
        jnum(f, names[g], share[g], g == 2);
    fprintf(f, "},");
}

static void print_json(const struct run *r, const struct cli_opts *o, FILE *f)
{
    double orc = r->cap_oracle.pod_hours;
    fprintf(f, "{\"input\":");
    json_string(f, o->input ? o->input : o->query);
    fprintf(f, ",\"step_s\":%lld,\"test_steps\":%zu,\"lead_steps\":%zu,",
            (long long)r->step_s, r->n - r->ts, r->lead);
    jnum(f, "quantile", o->q, 0);
    jnum(f, "target", r->sim.target, 0);
    fprintf(f, "\"startup_s\":%lld,\"policies\":{", (long long)r->sim.startup_s);
    jcap(f, "oracle", &r->cap_oracle, orc, 0);
    jcap(f, "reactive", &r->cap_reactive, orc, 1);
    fprintf(f, "},\"methods\":{");
    int first = 1;
    for (int m = 0; m < M_COUNT; m++) {
        const struct method_result *mr = &r->m[m];
        if (!mr->run)
            continue;
        fprintf(f, "%s\"%s\":{\"seasonal\":%s,\"period_steps\":%zu,\"scored\":%zu,",
                first ? "" : ",", method_name(m), mr->seasonal ? "true" : "false",
                mr->period_steps, mr->acc.n);
        first = 0;
        if (m == M_ENGINE) {
            jnum(f, "seasonal_gain", mr->seasonal_gain, 0);
            jnum(f, "period_acf", mr->period_acf, 0);
            print_gate(r, f);
        }
        jnum(f, "pinball", mr->acc.pinball, 0);
        jnum(f, "pinball_scaled", mr->acc.pinball_scaled, 0);
        jnum(f, "coverage", mr->acc.coverage, 0);
        jnum(f, "mase_seasonal", mr->acc.mase_seasonal, 0);
        jnum(f, "mase_naive", mr->acc.mase_naive, 0);
        jnum(f, "smape", mr->acc.smape, 0);
        jnum(f, "mean_fit_ms", mr->fit_ms, 0);
        jcap(f, "proactive", &mr->cap_pro, orc, 0);
        jcap(f, "auto", &mr->cap_auto, orc, 1);
        fprintf(f, "}");
    }
    fprintf(f, "}}\n");
}

static void cap_row(FILE *f, const char *name, const struct ahpa_backtest_capacity *c,
                    double oracle)
{
    fprintf(f, "%-22s %10.2f %8.3f %10.1f %12.1f %9.1f\n", name, c->pod_hours,
            oracle > 0 ? c->pod_hours / oracle : NAN, c->under_minutes, c->under_depth,
            c->actions_per_day);
}

static void print_table(const struct run *r, const struct cli_opts *o, FILE *f)
{
    char t0[AHPA_RFC3339_MAX];
    ahpa_time_format_rfc3339(r->t0_s + (int64_t)r->ts * r->step_s, t0);
    fprintf(f, "input %s: %zu steps of %lld s; test %zu steps from %s\n", o->input ? o->input : o->query, r->n,
            (long long)r->step_s, r->n - r->ts, t0);
    fprintf(f, "q=%.4g  lead=%zu steps  startup=%lld s  target=%.6g per pod%s\n\n", o->q,
            r->lead, (long long)r->sim.startup_s, r->sim.target,
            o->target > 0 ? "" : " (default: p99/10)");
    fprintf(f, "%-12s %10s %9s %8s %7s %7s %7s %9s %s\n", "method", "pinball", "pin/mean",
            "cover", "MASE_s", "MASE_1", "sMAPE", "fit_ms", "period");
    for (int m = 0; m < M_COUNT; m++) {
        const struct method_result *mr = &r->m[m];
        if (!mr->run)
            continue;
        fprintf(f, "%-12s %10.4g %9.4f %8.4f %7.3f %7.3f %7.3f %9.3f %zu\n", method_name(m),
                mr->acc.pinball, mr->acc.pinball_scaled, mr->acc.coverage,
                mr->acc.mase_seasonal, mr->acc.mase_naive, mr->acc.smape, mr->fit_ms,
                mr->seasonal ? mr->period_steps : 0);
    }
    fprintf(f, "\n%-22s %10s %8s %10s %12s %9s\n", "policy", "pod-hours", "/oracle",
            "under-min", "depth(p-min)", "acts/day");
    double orc = r->cap_oracle.pod_hours;
    cap_row(f, "oracle", &r->cap_oracle, orc);
    cap_row(f, "reactive", &r->cap_reactive, orc);
    for (int m = 0; m < M_COUNT; m++) {
        char name[64];
        if (!r->m[m].run)
            continue;
        snprintf(name, sizeof(name), "%s proactive", method_name(m));
        cap_row(f, name, &r->m[m].cap_pro, orc);
        snprintf(name, sizeof(name), "%s auto", method_name(m));
        cap_row(f, name, &r->m[m].cap_auto, orc);
    }
}

int print_report(const struct run *r, const struct cli_opts *o, FILE *out)
{
    if (o->json)
        print_json(r, o, out);
    else
        print_table(r, o, out);
    return ferror(out) ? -1 : 0;
}

static void fnum(FILE *f, double v, const char *sep)
{
    if (isfinite(v))
        fprintf(f, "%.6g%s", v, sep);
    else
        fprintf(f, "%s", sep);
}

int write_plan(const struct run *r, const char *path)
{
    const struct method_result *mr = NULL;
    for (int m = 0; m < M_COUNT && !mr; m++)
        if (r->m[m].run)
            mr = &r->m[m];
    FILE *f = fopen(path, "w");
    if (!f || !mr) {
        fprintf(stderr, "ahpa-backtest: cannot write %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    fprintf(f, "timestamp,actual,forecast_point,forecast_q,desired_reactive,"
               "desired_proactive,desired_auto\n");
    for (size_t t = r->ts; t < r->n; t++) {
        char ts[AHPA_RFC3339_MAX];
        ahpa_time_format_rfc3339(r->t0_s + (int64_t)t * r->step_s, ts);
        fprintf(f, "%s,", ts);
        fnum(f, r->y[t], ",");
        fnum(f, mr->point[t], ",");
        fnum(f, mr->quant[t], ",");
        fprintf(f, "%lld,%lld,%lld\n", (long long)r->reactive[t], (long long)mr->pro[t],
                (long long)mr->aut[t]);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "ahpa-backtest: error writing %s\n", path);
        return -1;
    }
    return 0;
}
