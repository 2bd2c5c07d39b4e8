/* Unit tests for lib/config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ahpa/config.h"
#include "ahpa/error.h"
#include "unit.h"

static int load(struct ahpa_config *cfg, struct ahpa_error *err, int argc, char **argv)
{
    ahpa_error_clear(err);
    return ahpa_config_load(cfg, argc, argv, err);
}

START_TEST(defaults)
{
    struct ahpa_config cfg;
    struct ahpa_error err = {0};
    char *argv[] = {"prog"};
    ck_assert_int_eq(load(&cfg, &err, 1, argv), 0);
    ck_assert_int_eq(cfg.secure_port, 6443);
    ck_assert_str_eq(cfg.bind_address, "0.0.0.0");
    ck_assert_int_eq(cfg.tls_reload_interval_ms, 10000);
    ck_assert_int_eq(cfg.log_repeat_interval_ms, 10000);
    ck_assert(cfg.enable_external_metrics);
    ck_assert_uint_eq(cfg.tls_sans.n, 0);
    ck_assert_ptr_null(cfg.tls_cert_file);
    ck_assert_int_eq(cfg.shutdown_delay_ms, 0);
    ck_assert_int_eq(cfg.shutdown_timeout_ms, 3000);
    ahpa_config_dispose(&cfg);
}
END_TEST

START_TEST(cache_byte_bounds)
{
    struct ahpa_config cfg;
    struct ahpa_error err = {0};
    char *argv0[] = {"prog"};
    ck_assert_int_eq(load(&cfg, &err, 1, argv0), 0);
    ck_assert_int_eq(cfg.metrics_cache_max_bytes, 32 << 20);
    ck_assert_int_eq(cfg.response_cache_max_bytes, 16 << 20);
    ck_assert_int_eq(cfg.metrics_cache_max_entries, 0); /* deprecated: no bound */
    ahpa_config_dispose(&cfg);
    /* The deprecated flag is still accepted. */
    char *argv[] = {"prog", "--metrics-cache-max-bytes=1048576", "--response-cache-max-bytes=0",
                    "--metrics-cache-max-entries=500"};
    ck_assert_msg(load(&cfg, &err, 4, argv) == 0, "%s", err.msg);
    ck_assert_int_eq(cfg.metrics_cache_max_bytes, 1 << 20);
    ck_assert_int_eq(cfg.response_cache_max_bytes, 0);
    ck_assert_int_eq(cfg.metrics_cache_max_entries, 500);
    ahpa_config_dispose(&cfg);
    char *tiny[] = {"prog", "--metrics-cache-max-bytes=1000"};
    ck_assert_int_lt(load(&cfg, &err, 2, tiny), 0);
    ck_assert(strstr(err.msg, "metrics-cache-max-bytes") != NULL);
    ahpa_config_dispose(&cfg);
}
END_TEST

START_TEST(kube_flags)
{
    struct ahpa_config cfg;
    struct ahpa_error err = {0};
    char *argv0[] = {"prog"};
    ck_assert_int_eq(load(&cfg, &err, 1, argv0), 0);
    ck_assert_ptr_null(cfg.kubeconfig);
    ck_assert_ptr_null(cfg.master);
    AHPA_ASSERT_NEAR(cfg.kube_api_qps, 20.0, 0); /* kube-controller-manager's defaults */
    ck_assert_int_eq(cfg.kube_api_burst, 30);
    ahpa_config_dispose(&cfg);
    char *argv[] = {"prog", "--kubeconfig", "/etc/kc", "--master=https://10.0.0.1:6443",
                    "--kube-api-qps=7.5", "--kube-api-burst", "9"};
    ck_assert_int_eq(load(&cfg, &err, 7, argv), 0);
    ck_assert_str_eq(cfg.kubeconfig, "/etc/kc");
    ck_assert_str_eq(cfg.master, "https://10.0.0.1:6443");
    AHPA_ASSERT_NEAR(cfg.kube_api_qps, 7.5, 0);
    ck_assert_int_eq(cfg.kube_api_burst, 9);
    ahpa_config_dispose(&cfg);
}
END_TEST

START_TEST(leader_election_flags)
{
    struct ahpa_config cfg;
    struct ahpa_error err = {0};
    char *argv0[] = {"prog"};
    ck_assert_int_eq(load(&cfg, &err, 1, argv0), 0);
    ck_assert(cfg.leader_elect); /* component-base's defaults */
    ck_assert_int_eq(cfg.leader_elect_lease_duration_ms, 15000);
    ck_assert_int_eq(cfg.leader_elect_renew_deadline_ms, 10000);
    ck_assert_int_eq(cfg.leader_elect_retry_period_ms, 2000);
    ck_assert_str_eq(cfg.leader_elect_resource_name, "ahpa-metrics-adapter");
    ck_assert_ptr_null(cfg.leader_elect_resource_namespace);
    ck_assert_str_eq(cfg.leader_elect_resource_lock, "leases");
    ahpa_config_dispose(&cfg);
    char *argv[] = {
        "prog", "--leader-elect-lease-duration=3s",  "--leader-elect-renew-deadline",
        "2s",   "--leader-elect-retry-period=500ms", "--leader-elect-resource-namespace=ops"};
    ck_assert_int_eq(load(&cfg, &err, 6, argv), 0);
    ck_assert_int_eq(cfg.leader_elect_lease_duration_ms, 3000);
    ck_assert_int_eq(cfg.leader_elect_renew_deadline_ms, 2000);
    ck_assert_int_eq(cfg.leader_elect_retry_period_ms, 500);
    ck_assert_str_eq(cfg.leader_elect_resource_namespace, "ops");
    ahpa_config_dispose(&cfg);
    char *bad_lock[] = {"prog", "--leader-elect-resource-lock=configmapsleases"};
    ck_assert_int_eq(load(&cfg, &err, 2, bad_lock), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--leader-elect-resource-lock"));
    ahpa_config_dispose(&cfg);
    char *bad_order[] = {"prog", "--leader-elect-lease-duration=10s"}; /* = the renew deadline */
    ck_assert_int_eq(load(&cfg, &err, 2, bad_order), -AHPA_ECONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "--leader-elect-lease-duration"));
    ahpa_config_dispose(&cfg);
    char *bad_retry[] = {"prog", "--leader-elect-retry-period=9s"};
    ck_assert_int_eq(load(&cfg, &err, 2, bad_retry), -AHPA_ECONFIG);
    ahpa_config_dispose(&cfg);
    char *off[] = {"prog", "--leader-elect=false", "--leader-elect-retry-period=9s"};
    ck_assert_int_eq(load(&cfg, &err, 3, off), 0); /* not checked when off */
    ck_assert(!cfg.leader_elect);
    ahpa_config_dispose(&cfg);
}
END_TEST

START_TEST(forms)
{
    struct ahpa_config cfg;
    struct ahpa_error err = {0};
    char *argv[] = {"prog", "--secure-port=7443", "--bind-address", "127.0.0.1", "-v", "4",
                    "--tls-sans=a.example,10.0.0.1", "--tls-sans", "b.example",
                    "--enable-external-metrics=false", "--enable-custom-metrics",
                    "--shutdown-timeout=1m30s", "--v=5", "--shutdown-delay-duration=1m5s"};
    ck_assert_int_eq(load(&cfg, &err, 14, argv), 0);
    ck_assert_int_eq(cfg.shutdown_delay_ms, 65000);
    ck_assert_int_eq(cfg.secure_port, 7443);
    ck_assert_str_eq(cfg.bind_address, "127.0.0.1");
    ck_assert_int_eq(cfg.v, 5);
    ck_assert_uint_eq(cfg.tls_sans.n, 3);
    ck_assert_str_eq(cfg.tls_sans.items[2], "b.example");
    ck_assert(!cfg.enable_external_metrics);
    ck_assert(cfg.enable_custom_metrics);
    ck_assert_int_eq(cfg.shutdown_timeout_ms, 90000);
    ahpa_config_dispose(&cfg);
}
END_TEST

START_TEST(errors_name_the_flag)
{
    static const struct {
        const char *args[3];
        int rc;
        const char *msg;
    } cases[] = {
        {{"--no-such-flag"}, -AHPA_EINVAL, "unknown flag: --no-such-flag"},
        {{"--secure-port=http"}, -AHPA_EPARSE, "--secure-port"},
        {{"--secure-port=70000"}, -AHPA_ERANGE, "--secure-port: 70000 is outside 0..65535"},
        {{"--secure-port"}, -AHPA_EINVAL, "flag needs an argument: --secure-port"},
        {{"--enable-custom-metrics=perhaps"}, -AHPA_EPARSE, "--enable-custom-metrics"},
        {{"--tls-cert-file=a.crt"}, -AHPA_ECONFIG, "go together"},
        {{"--shutdown-timeout=soon"}, -AHPA_EPARSE, "--shutdown-timeout"},
        {{"--shutdown-delay-duration=11m"}, -AHPA_ERANGE, "--shutdown-delay-duration"},
        {{"stray"}, -AHPA_EINVAL, "unexpected argument"},
        {{"--enable-custom-metrics=false", "--enable-external-metrics=false",
          "--enable-predictions-observer=false"},
         -AHPA_ECONFIG, "every API group is disabled"},
        {{"--help"}, -AHPA_ENOTFOUND, "help"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        char *argv[4] = {"prog"};
        int argc = 1;
        for (int j = 0; j < 3 && cases[k].args[j]; j++)
            argv[argc++] = (char *)cases[k].args[j];
        struct ahpa_config cfg;
        struct ahpa_error err = {0};
        int rc = load(&cfg, &err, argc, argv);
        ck_assert_msg(rc == cases[k].rc, "%s: rc %d", cases[k].args[0], rc);
        ck_assert_msg(strstr(err.msg, cases[k].msg) != NULL, "%s: %s", cases[k].args[0], err.msg);
        ahpa_config_dispose(&cfg);
    }
}
END_TEST

START_TEST(usage_lists_every_flag)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ahpa_config_usage(f, "ahpa-metrics-adapter");
    fclose(f);
    for (size_t i = 0; i < ahpa_config_nflags; i++) {
        char want[128];
        snprintf(want, sizeof(want), "--%s ", ahpa_config_flags[i].name);
        ck_assert_msg(strstr(text, want) != NULL, "missing %s", want);
    }
    ck_assert(strstr(text, "(default 6443)") != NULL);
    free(text);
}
END_TEST

Suite *ahpa_unit_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, forms);
    tcase_add_test(tc, kube_flags);
    tcase_add_test(tc, leader_election_flags);
    tcase_add_test(tc, errors_name_the_flag);
    tcase_add_test(tc, usage_lists_every_flag);
    tcase_add_test(tc, cache_byte_bounds);
    suite_add_tcase(s, tc);
    return s;
}
