/* Speed and memory of the forecasting engine: fit + 24 h forecast of the
 * last 10,080 one-minute points of a CSV, and the one-sample update.
 * Built and run by run_bench.sh (not part of ctest). Prints one JSON line.
 *
 *   bench_forecast FILE.csv [repeats]                                     */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ahpa/error.h"
#include "ahpa/forecast.h"
#include "ahpa/series.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of this thread: what the fit costs whatever else the machine
 * runs (the wall time also counts the time the thread waits for a core) */
static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_d);
    return v[n / 2];
}

static int load(const char *path, struct ahpa_series *s)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    static char buf[64 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct ahpa_series_samples smp;
    struct ahpa_error err = {0};
    ahpa_series_samples_init(&smp);
    int rc = ahpa_series_csv_parse(buf, len, NULL, &smp, &err);
    if (rc == 0)
        rc = ahpa_series_resample(&smp, 60, AHPA_SERIES_AGG_MEAN, 0, s, &err);
    ahpa_series_samples_dispose(&smp);
    if (rc)
        fprintf(stderr, "%s: %s\n", path, ahpa_error_message(&err, rc));
    return rc;
}

/* A benchmark of calls that failed measures nothing: stop at the first. */
static void must(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench_forecast: %s failed: %s\n", what, ahpa_error_name(rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int reps = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 51;
    struct ahpa_series s;
    ahpa_series_init(&s);
    if (load(argv[1], &s) || s.n < 10080 + 100) {
        fprintf(stderr, "%s: need 10,180 one-minute points\n", argv[1]);
        return 1;
    }
    const size_t n = 10080, h = 1440, nupd = s.n - n < 2000 ? s.n - n : 2000;
    const double *x = s.v + s.n - n - nupd;
    double *fit = malloc(reps * sizeof(double)), *pt = malloc(h * sizeof(double));
    double *qt = malloc(h * sizeof(double));
    double *cpu = malloc(reps * sizeof(double));
    struct ahpa_forecast_model *m = ahpa_forecast_model_new(NULL);
    /* one fit untimed: the process's first pays one-time costs (FFTW's
     * planner, the allocator's first pages) that a running adapter has
     * paid long ago */
    must(ahpa_forecast_fit(m, x, n, 0, 60, NULL), "fit");
    for (int r = 0; r < reps; r++) {
        double t = now_us(), c = cpu_us();
        must(ahpa_forecast_fit(m, x, n, 0, 60, NULL), "fit");
        must(ahpa_forecast_predict(m, h, 0.95, pt, qt, NULL), "predict 24 h");
        fit[r] = now_us() - t;
        cpu[r] = cpu_us() - c;
    }
    /* the update block follows the fitted block; per-call times include
     * the clock read (~20 ns), so the mean comes from one timed batch on a
     * copy of the model state */
    double *upd = malloc(nupd * sizeof(double));
    struct ahpa_forecast_model *m2 = ahpa_forecast_model_new(NULL);
    must(ahpa_forecast_fit(m2, x, n, 0, 60, NULL), "fit");
    int bad = 0;
    double tb = now_us();
    for (size_t i = 0; i < nupd; i++)
        bad |= ahpa_forecast_update(m2, x[n + i], NULL);
    double upd_mean = (now_us() - tb) / (double)nupd;
    must(bad, "update");
    ahpa_forecast_free(m2);
    for (size_t i = 0; i < nupd; i++) {
        double t0 = now_us();
        bad |= ahpa_forecast_update(m, x[n + i], NULL);
        upd[i] = now_us() - t0;
    }
    must(bad, "update");
    double upd_med = median(upd, nupd), upd_max = upd[nupd - 1];
    double t = now_us();
    for (int r = 0; r < 1000; r++)
        bad |= ahpa_forecast_predict(m, 3, 0.95, pt, qt, NULL);
    double pred3 = (now_us() - t) / 1000.0;
    must(bad, "predict 3 steps");
    struct ahpa_forecast_info info;
    ahpa_forecast_describe(m, &info);
    /* every repetition's time too, in run order, so that a script can pool
     * the repetitions of interleaved runs (run_speed.sh's A/B mode) */
    printf("{\"points\":%zu,\"fit_forecast24h_us\":[", n);
    for (int r = 0; r < reps; r++)
        printf("%s%.1f", r ? "," : "", fit[r]);
    printf("],\"fit_forecast24h_cpu_us\":[");
    for (int r = 0; r < reps; r++)
        printf("%s%.1f", r ? "," : "", cpu[r]);
    double fit_med = median(fit, (size_t)reps), fit_p90 = fit[(size_t)(0.9 * (reps - 1) + 0.5)];
    printf("],\"fit_forecast24h_us_median\":%.1f,\"fit_forecast24h_us_p90\":%.1f,"
           "\"update_us_mean\":%.3f,"
           "\"update_us_median_timed\":%.3f,\"update_us_max\":%.2f,\"predict3_us\":%.3f,"
           "\"state_bytes\":%zu,\"method\":\"%s\",\"period_steps\":%zu}\n",
           fit_med, fit_p90, upd_mean, upd_med, upd_max, pred3, info.state_bytes,
           ahpa_forecast_method_name(info.method), info.period_steps);
    ahpa_forecast_free(m);
    ahpa_series_dispose(&s);
    free(fit);
    free(cpu);
    free(upd);
    free(pt);
    free(qt);
    return 0;
}
