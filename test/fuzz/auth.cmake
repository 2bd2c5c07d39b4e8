ahpa_fuzz_target(authheaders DEPS auth base)
