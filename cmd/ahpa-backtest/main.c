/* ahpa-backtest: evaluates the forecasting engine, the baselines and the
 * scaling policies on a load history (CSV). See --help. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/httpc.h"
#include "ahpa/prom.h"
#include "ahpa/mem.h"
#include "ahpa/planner.h"
#include "ahpa/series.h"
#include "ahpa/str.h"
#include "ahpa/timefmt.h"
#include "cli.h"

#define MAX_FILE_BYTES (512u << 20)
#define MAX_STEPS 20000000u

int print_report(const struct run *r, const struct cli_opts *o, FILE *out);
int write_plan(const struct run *r, const char *path);

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ahpa-backtest --input FILE [options]\n"
        "  --input FILE            CSV timestamp,value (header optional; unix seconds,\n"
        "                          'YYYY-MM-DD HH:MM:SS' or ISO 8601, UTC)\n"
        "  --step S                step in seconds (default: median spacing)\n"
        "  --quantile Q            95 or 0.95 (default 0.95)\n"
        "  --scale-up-forward S    seconds ahead the plan covers (default 180)\n"
        "  --startup S             pod start-up seconds (default: scale-up-forward)\n"
        "  --target T              load per pod (default: p99 of the history / 10)\n"
        "  --test-days D           rolling origin over the last D days (default 2)\n"
        "  --history-days D        history each fit sees (default 7)\n"
        "  --refit S               seconds between refits, updates in between (3600)\n"
        "  --method M              engine|snaive|holtwinters|maxvalue|all (default all)\n"
        "  --min-replicas N        (default 1)   --max-replicas N (default none)\n"
        "  --stabilization-window S  scale-down stabilisation of the plans (300)\n"
        "  --refit-offset S        refit boundaries at k * refit + S (0)\n"
        "  --observed-replicas N   the planner sees N current replicas (default: each\n"
        "                          policy's own previous plan)\n"
        "  --json                  JSON instead of tables\n"
        "  --output-plan FILE      per test step: timestamp,actual,forecast_point,\n"
        "                          forecast_q,desired_reactive,desired_proactive,desired_auto\n"
        "  --prometheus-url URL --query Q --start T --end T\n"
        "                          instead of --input: a range query (one series) at\n"
        "                          --step (default 60); T as for CSV, or now, now-336h\n");
}

static int parse_num(const char *name, const char *s, double *out)
{
    struct ahpa_error err = {0};
    if (ahpa_str_to_double(s, out, &err) != 0 || !isfinite(*out)) {
        fprintf(stderr, "ahpa-backtest: --%s: not a number: %s\n", name, s);
        return -1;
    }
    return 0;
}

static int set_method(struct cli_opts *o, const char *s)
{
    memset(o->methods, 0, sizeof(o->methods));
    if (strcmp(s, "all") == 0) {
        for (int m = 0; m < M_COUNT; m++)
            o->methods[m] = true;
        return 0;
    }
    for (int m = 0; m < M_COUNT; m++)
        if (strcmp(s, method_name(m)) == 0) {
            o->methods[m] = true;
            return 0;
        }
    fprintf(stderr, "ahpa-backtest: --method: unknown method %s\n", s);
    return -1;
}

enum { O_STEP = 256, O_Q, O_FWD, O_STARTUP, O_TARGET, O_TEST, O_HIST, O_REFIT,
       O_METHOD, O_JSON, O_PLAN, O_MIN, O_MAX, O_PROM, O_QUERY, O_START, O_END,
       O_STAB, O_OFFSET, O_OBSERVED };

static int handle_opt(struct cli_opts *o, int c, const char *arg)
{
    double v = 0;
    if (c != O_METHOD && c != O_JSON && c != O_PLAN && c != O_PROM &&
        c != O_QUERY && c != O_START && c != O_END && c != 'i' && parse_num("option", arg, &v))
        return -1;
    switch (c) {
    case 'i': o->input = arg; break;
    case O_STEP: o->step_s = (int64_t)v; break;
    case O_Q: o->q = v > 1 ? v / 100.0 : v; break;
    case O_FWD: o->forward_s = (int64_t)v; break;
    case O_STARTUP: o->startup_s = (int64_t)v; break;
    case O_TARGET: o->target = v; break;
    case O_TEST: o->test_days = v; break;
    case O_HIST: o->history_days = v; break;
    case O_REFIT: o->refit_s = (int64_t)v; break;
    case O_MIN: o->min_replicas = (int64_t)v; break;
    case O_MAX: o->max_replicas = (int64_t)v; break;
    case O_METHOD: return set_method(o, arg);
    case O_JSON: o->json = true; break;
    case O_STAB: o->stabilization_s = (int64_t)v; break;
    case O_OFFSET: o->refit_offset_s = (int64_t)v; break;
    case O_OBSERVED: o->observed_replicas = (int64_t)v; break;
    case O_PLAN: o->output_plan = arg; break;
    case O_PROM: o->prom_url = arg; break;
    case O_QUERY: o->query = arg; break;
    case O_START: o->start = arg; break;
    case O_END: o->end = arg; break;
    default: return -1;
    }
    return 0;
}

static int check_opts(const struct cli_opts *o)
{
    const char *bad = NULL;
    if (!o->input && !o->prom_url)
        bad = "--input or --prometheus-url is required";
    else if (o->input && o->prom_url)
        bad = "--input and --prometheus-url exclude each other";
    else if (o->prom_url && (!o->query || !o->start || !o->end))
        bad = "--prometheus-url needs --query, --start and --end";
    else if (!(o->q > 0 && o->q < 1))
        bad = "--quantile must be in (0, 1) or (0, 100)";
    else if (o->step_s < 0 || o->forward_s < 0 || o->refit_s < 0)
        bad = "--step, --scale-up-forward and --refit must not be negative";
    else if (o->stabilization_s < 0 || o->stabilization_s > 3600)
        bad = "--stabilization-window must be within [0, 3600]";
    else if (o->observed_replicas > INT32_MAX)
        bad = "--observed-replicas too large";
    else if (o->target < 0)
        bad = "--target must be positive";
    else if (!(o->test_days > 0) || !(o->history_days > 0))
        bad = "--test-days and --history-days must be positive";
    else if (o->min_replicas < 0 || (o->max_replicas && o->max_replicas < o->min_replicas))
        bad = "bad replica bounds";
    if (bad)
        fprintf(stderr, "ahpa-backtest: %s\n", bad);
    return bad ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct cli_opts *o)
{
    static const struct option lo[] = {
        {"input", required_argument, 0, 'i'}, {"step", required_argument, 0, O_STEP},
        {"quantile", required_argument, 0, O_Q},
        {"scale-up-forward", required_argument, 0, O_FWD},
        {"startup", required_argument, 0, O_STARTUP},
        {"target", required_argument, 0, O_TARGET},
        {"test-days", required_argument, 0, O_TEST},
        {"history-days", required_argument, 0, O_HIST},
        {"refit", required_argument, 0, O_REFIT},
        {"method", required_argument, 0, O_METHOD}, {"json", no_argument, 0, O_JSON},
        {"output-plan", required_argument, 0, O_PLAN},
        {"min-replicas", required_argument, 0, O_MIN},
        {"max-replicas", required_argument, 0, O_MAX},
        {"stabilization-window", required_argument, 0, O_STAB},
        {"refit-offset", required_argument, 0, O_OFFSET},
        {"observed-replicas", required_argument, 0, O_OBSERVED},
        {"prometheus-url", required_argument, 0, O_PROM},
        {"query", required_argument, 0, O_QUERY}, {"start", required_argument, 0, O_START},
        {"end", required_argument, 0, O_END}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *o = (struct cli_opts){.q = 0.95, .forward_s = 180, .startup_s = -1, .test_days = 2,
                           .history_days = 7, .refit_s = 3600, .min_replicas = 1,
                           .stabilization_s = AHPA_PLANNER_STABILIZATION_S,
                           .observed_replicas = -1};
    set_method(o, "all");
    int c;
    while ((c = getopt_long(argc, argv, "i:h", lo, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (c == '?' || handle_opt(o, c, optarg)) {
            if (c == '?')
                usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ahpa-backtest: unexpected argument %s\n", argv[optind]);
        return -1;
    }
    return check_opts(o);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ahpa-backtest: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = ahpa_malloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                fprintf(stderr, "ahpa-backtest: %s: larger than %u MiB\n", path,
                        MAX_FILE_BYTES >> 20);
                free(buf);
                buf = NULL;
                break;
            }
            cap *= 2;
            buf = ahpa_realloc(buf, cap);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (buf && ferror(f)) {
        fprintf(stderr, "ahpa-backtest: %s: read error\n", path);
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

/* "now", "now-336h" or anything ahpa_time_parse() reads. */
static int parse_when(const char *s, int64_t now, int64_t *out, struct ahpa_error *err)
{
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    if (strncmp(s, "now-", 4) == 0) {
        int64_t ms;
        int rc = ahpa_str_to_duration_ms(s + 4, &ms, err);
        *out = now - ms / 1000;
        return rc;
    }
    return ahpa_time_parse(s, out, err);
}

/* A range query in chunks Prometheus accepts (at most 11,000 points). */
static int load_prometheus(const struct cli_opts *o, struct ahpa_series_samples *smp,
                           struct ahpa_error *err)
{
    int64_t step = o->step_s ? o->step_s : 60, start, end;
    int rc = parse_when(o->start, (int64_t)time(NULL), &start, err);
    if (rc == 0)
        rc = parse_when(o->end, (int64_t)time(NULL), &end, err);
    if (rc < 0)
        return rc;
    if (end <= start)
        return ahpa_error_set(err, AHPA_EINVAL, "--end must be after --start");
    ahpa_httpc_global_init(NULL);
    struct ahpa_prom_options po = {.url = o->prom_url, .timeout_ms = 60000};
    struct ahpa_prom_client *c = ahpa_prom_client_new(&po, err);
    if (c == NULL)
        return -AHPA_ECONFIG;
    for (int64_t from = start; rc == 0 && from <= end; from += 10000 * step) {
        int64_t to = from + 9999 * step < end ? from + 9999 * step : end;
        struct ahpa_prom_result res;
        ahpa_prom_result_init(&res);
        rc = ahpa_prom_query_range(c, o->query, from * 1000, to * 1000, step * 1000, &res, err);
        if (rc == 0 && res.n_series > 1)
            rc = ahpa_error_set(err, AHPA_EINVAL, "--query returned %zu series; aggregate it "
                                "to one (e.g. sum(...))", res.n_series);
        for (size_t i = 0; rc == 0 && res.n_series == 1 && i < res.series[0].n_samples; i++) {
            const struct ahpa_prom_sample *x = &res.series[0].samples[i];
            if (isfinite(x->value))
                ahpa_series_samples_push(smp, x->t_ms / 1000, x->value);
        }
        ahpa_prom_result_dispose(&res);
    }
    ahpa_prom_client_free(c);
    return rc;
}

static int load_series(const struct cli_opts *o, struct ahpa_series *s)
{
    struct ahpa_series_samples smp;
    struct ahpa_error err = {0};
    ahpa_series_samples_init(&smp);
    int rc;
    if (o->prom_url != NULL) {
        rc = load_prometheus(o, &smp, &err);
    } else {
        size_t len;
        char *text = read_file(o->input, &len);
        if (!text) {
            ahpa_series_samples_dispose(&smp);
            return -1;
        }
        rc = ahpa_series_csv_parse(text, len, NULL, &smp, &err);
        free(text);
    }
    int64_t step = o->step_s ? o->step_s : ahpa_series_samples_median_step(&smp);
    if (rc == 0 && smp.n < 3)
        rc = ahpa_error_set(&err, AHPA_ENODATA, "%zu data rows: need many more", smp.n);
    if (rc == 0 && step <= 0)
        rc = ahpa_error_set(&err, AHPA_EINVAL, "cannot derive a step; pass --step");
    if (rc == 0)
        rc = ahpa_series_resample(&smp, step, AHPA_SERIES_AGG_MEAN, MAX_STEPS, s, &err);
    ahpa_series_samples_dispose(&smp);
    if (rc)
        fprintf(stderr, "ahpa-backtest: %s: %s\n", o->input ? o->input : o->prom_url,
                ahpa_error_message(&err, rc));
    return rc ? -1 : 0;
}

/* Default per-pod target: a tenth of the history's 99th percentile. */
static double default_target(const double *y, size_t n)
{
    double *tmp = ahpa_malloc(n * sizeof(double));
    double p99 = ahpa_series_quantile(y, n, 0.99, tmp);
    free(tmp);
    return p99 > 0 ? p99 / 10.0 : 1.0;
}

static int setup_run(struct run *r, const struct cli_opts *o, const struct ahpa_series *s)
{
    memset(r, 0, sizeof(*r));
    r->y = s->v;
    r->n = s->n;
    r->t0_s = s->t0_s;
    r->step_s = s->step_s;
    if (s->step_s < 15 || s->step_s > 3600) {
        fprintf(stderr, "ahpa-backtest: step %lld s outside [15, 3600] s\n",
                (long long)s->step_s);
        return -1;
    }
    r->lead = (size_t)((o->forward_s + s->step_s - 1) / s->step_s);
    if (r->lead < 1)
        r->lead = 1;
    size_t test = (size_t)(o->test_days * 86400.0 / (double)s->step_s);
    size_t min_train = r->lead + 24;
    if (s->n < min_train + 8) {
        fprintf(stderr, "ahpa-backtest: %s: %zu steps of %lld s: need at least %zu\n",
                o->input ? o->input : o->prom_url, s->n, (long long)s->step_s, min_train + 8);
        return -1;
    }
    if (test + min_train > s->n) {
        test = s->n / 2;
        fprintf(stderr, "ahpa-backtest: note: series too short for %.3g test days; "
                        "testing on the last %zu steps\n", o->test_days, test);
    }
    r->ts = s->n - test;
    r->hist = (size_t)(o->history_days * 86400.0 / (double)s->step_s);
    r->refit = o->refit_s ? (size_t)((o->refit_s + s->step_s - 1) / s->step_s) : 1;
    ahpa_backtest_sim_default(&r->sim);
    r->sim.step_s = s->step_s;
    r->sim.startup_s = o->startup_s >= 0 ? o->startup_s : o->forward_s;
    r->sim.min_replicas = o->min_replicas;
    r->sim.max_replicas = o->max_replicas;
    r->sim.target = o->target > 0 ? o->target : default_target(s->v, r->ts);
    return 0;
}

/* Oracle and reactive HPA; the reactive plan is the planner's. */
static void simulate_fixed(struct run *r)
{
    size_t nt = r->n - r->ts;
    r->needed = ahpa_malloc(r->n * sizeof(int64_t));
    ahpa_backtest_needed(&r->sim, r->y, r->n, r->needed);
    r->reactive = r->pol[POL_REACTIVE];
    ahpa_backtest_simulate(&r->sim, r->needed + r->ts, r->needed + r->ts, nt, NULL,
                           &r->cap_oracle);
    ahpa_backtest_simulate(&r->sim, r->reactive + r->ts, r->needed + r->ts, nt, NULL,
                           &r->cap_reactive);
    /* the oracle is ready on time by definition */
    r->cap_oracle.under_minutes = r->cap_oracle.under_depth = 0;
    double ph = 0;
    for (size_t t = r->ts; t < r->n; t++)
        ph += r->needed[t] >= 0 ? (double)r->needed[t] : 0;
    r->cap_oracle.pod_hours = ph * (double)r->step_s / 3600.0;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    if (parse_args(argc, argv, &o))
        return 2;
    struct ahpa_series s;
    ahpa_series_init(&s);
    if (load_series(&o, &s))
        return 1;
    struct run r;
    int status = 0;
    if (setup_run(&r, &o, &s)) {
        ahpa_series_dispose(&s);
        return 1;
    }
    char msg[512];
    if (run_policies(&r, &o, msg, sizeof(msg))) {
        fprintf(stderr, "ahpa-backtest: %s\n", msg);
        run_dispose(&r);
        ahpa_series_dispose(&s);
        return 1;
    }
    simulate_fixed(&r);
    for (int m = 0; m < M_COUNT && status == 0; m++)
        if (o.methods[m] && run_method(&r, &o, m, msg, sizeof(msg))) {
            fprintf(stderr, "ahpa-backtest: %s\n", msg);
            status = 1;
        }
    if (status == 0)
        status = print_report(&r, &o, stdout) ? 1 : 0;
    if (status == 0 && o.output_plan && write_plan(&r, o.output_plan))
        status = 1;
    run_dispose(&r);
    ahpa_series_dispose(&s);
    return status;
}
