/* Renders a synthetic predictionsobserver page to a file: 7 days of a
 * weekday-shaped daily GPU cycle at 1-minute steps, the forecast over the
 * history and the next 24 h, pods, bounds and a plan. With --empty, the
 * page of an AHPA that has no data yet; with --short, one that has been
 * watching for three hours only (in a zone nine hours ahead of UTC).
 *
 * usage: report_render_sample OUT.html [--empty | --short] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/buf.h"
#include "ahpa/error.h"
#include "ahpa/mem.h"
#include "ahpa/report.h"

#define STEP_S 60
#define DAY_S 86400
#define NOW_S 1795852800 /* 2026-11-28T08:00:00Z, a Saturday */
#define TARGET 20.0

/* Deterministic noise in [-1, 1). */
static double noise(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / (double)(1ULL << 52) - 1.0;
}

/* Summed GPU percent of the workload at time t: a working-hours hump,
 * smaller at weekends. */
static double demand(int64_t t)
{
    double hour = (double)(t % DAY_S) / 3600.0;
    int wday = (int)((t / DAY_S + 4) % 7);
    double hump = exp(-pow((hour - 13.0) / 3.5, 2));
    double scale = (wday == 0 || wday == 6) ? 0.45 : 1.0;
    return 30 + 190 * scale * hump;
}

static double pods_for(double usage)
{
    double p = ceil(usage / TARGET);
    return p < 2 ? 2 : p > 50 ? 50 : p;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.html [--empty | --short]\n", argv[0]);
        return 2;
    }
    int empty = argc > 2 && strcmp(argv[2], "--empty") == 0;
    int brief = argc > 2 && strcmp(argv[2], "--short") == 0;
    size_t nh = 7 * DAY_S / STEP_S, nf = DAY_S / STEP_S, np = nh + nf;
    int64_t *ht = ahpa_malloc(nh * sizeof(*ht)), *pt = ahpa_malloc(np * sizeof(*pt));
    double *act = ahpa_malloc(nh * sizeof(*act)), *pods = ahpa_malloc(nh * sizeof(*pods));
    double *pp = ahpa_malloc(np * sizeof(*pp)), *pu = ahpa_malloc(np * sizeof(*pu));
    double *ppods = ahpa_malloc(np * sizeof(*ppods));
    uint64_t rng = 42;
    for (size_t i = 0; i < nh; i++) {
        ht[i] = NOW_S - 7 * DAY_S + (int64_t)i * STEP_S;
        act[i] = demand(ht[i]) * (1 + 0.12 * noise(&rng));
        pods[i] = pods_for(demand(ht[i] - 600));
    }
    act[3 * 1440 + 600] = 420;                    /* a one-minute spike */
    for (size_t i = 4 * 1440 + 200; i < 4 * 1440 + 260; i++)
        act[i] = pods[i] = NAN;                    /* an hour of missing data */
    for (size_t i = 0; i < np; i++) {
        pt[i] = NOW_S - 7 * DAY_S + (int64_t)i * STEP_S;
        pp[i] = demand(pt[i]) * 1.04;
        pu[i] = pp[i] * 1.22 + 6;
        ppods[i] = pods_for(pu[i]);
    }
    const char *bounds[] = {"* 0-8 ? * MON-FRI: 4..50", "* 9-15 ? * MON-FRI: 10..50",
                            "* 16-23 ? * MON-FRI: 12..50"};
    struct ahpa_report_input in;
    ahpa_report_input_init(&in);
    in.name = "fib-gpu";
    in.namespace_ = "default";
    in.strategy = "observer";
    in.target_ref = "Deployment/bert-intent-detection";
    in.metric = "gpu";
    in.target_utilization = TARGET;
    in.quantile = 0.95;
    in.scale_up_forward_s = 180;
    in.min_replicas = 0;
    in.max_replicas = 100;
    in.now_s = NOW_S;
    in.timezone_label = "UTC";
    if (!empty) {
        in.actual_t = ht, in.actual = act, in.n_actual = nh;
        in.pred_t = pt, in.pred_point = pp, in.pred_upper = pu, in.n_pred = np;
        in.pods_actual_t = ht, in.pods_actual = pods, in.n_pods_actual = nh;
        in.pods_pred_t = pt, in.pods_pred = ppods, in.n_pods_pred = np;
        in.current_replicas = 4, in.proactive = 4, in.reactive = 3, in.desired = 4;
        in.current_utilization = act[nh - 1] / in.current_replicas; /* per pod */
        in.plan_reason = "bound \"* 0-8 ? * MON-FRI\" is not in force (Saturday); "
                         "proactive 4 from the p95 forecast over the next 180 s";
        in.model_summary = "period 1d, seasonal strength 0.83";
        if (brief) { /* the last 3 h of history, the forecast from then on */
            size_t skip = nh - 180;
            in.actual_t += skip, in.actual += skip, in.n_actual -= skip;
            in.pods_actual_t += skip, in.pods_actual += skip, in.n_pods_actual -= skip;
            in.pred_t += skip, in.pred_point += skip, in.pred_upper += skip, in.n_pred -= skip;
            in.pods_pred_t += skip, in.pods_pred += skip, in.n_pods_pred -= skip;
            in.tz_offset_s = 9 * 3600;
            in.timezone_label = "Asia/Tokyo";
            in.model_summary = "not enough history: seasonal naive";
        }
        in.coverage_recent = 0.953;
        in.pinball_recent = 2.41;
    }
    in.bounds_text = bounds, in.n_bounds = 3;

    struct ahpa_buf out;
    struct ahpa_error err = {0};
    ahpa_buf_init(&out);
    int rc = ahpa_report_render(&in, &out, &err);
    if (rc == 0) {
        FILE *f = fopen(argv[1], "wb");
        if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
            perror(argv[1]);
            rc = -1;
        } else {
            fprintf(stderr, "%s: %zu bytes\n", argv[1], out.len);
        }
    } else {
        fprintf(stderr, "render: %s\n", ahpa_error_message(&err, rc));
    }
    ahpa_buf_dispose(&out);
    free(ht), free(pt), free(act), free(pods), free(pp), free(pu), free(ppods);
    return rc == 0 ? 0 : 1;
}
