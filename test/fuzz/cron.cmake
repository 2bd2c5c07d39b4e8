ahpa_fuzz_target(cron DEPS cron base)
