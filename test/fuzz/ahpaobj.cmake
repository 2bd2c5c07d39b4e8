ahpa_fuzz_target(ahpaobj DEPS ahpaobj base labelsel cron planner)
