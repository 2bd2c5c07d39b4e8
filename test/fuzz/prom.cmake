ahpa_fuzz_target(promjson DEPS prom)
