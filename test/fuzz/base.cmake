ahpa_fuzz_target(time DEPS base)
