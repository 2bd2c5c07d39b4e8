ahpa_fuzz_target(labelsel DEPS base labelsel)
