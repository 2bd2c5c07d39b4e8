ahpa_fuzz_target(rules DEPS base labelsel rules)
