ahpa_fuzz_target(accept DEPS api)
ahpa_fuzz_target(flags DEPS config base)
ahpa_fuzz_target(tlsder DEPS tls base)
