ahpa_fuzz_target(csv DEPS series base)
