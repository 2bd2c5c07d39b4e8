#!/usr/bin/env bash
# Runs every libFuzzer target of a -DAHPA_FUZZ=ON build briefly, two at a
# time, starting from the checked-in corpus (read-only: new inputs go to a
# scratch directory). Fails when a target crashes, leaks, times out or
# reports a sanitizer error; the input that did it is kept in
# BUILD_DIR/fuzz-artifacts/.
#   test/fuzz/smoke.sh BUILD_DIR [SECONDS_PER_TARGET] [PARALLEL]
set -euo pipefail
build=${1:?usage: smoke.sh BUILD_DIR [SECONDS] [PARALLEL]}
secs=${2:-5}
par=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

targets=()
for bin in "$build"/test/fuzz/fuzz-*; do
    [ -x "$bin" ] && targets+=("$bin")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz smoke: no fuzz-* binaries under $build/test/fuzz" >&2
    exit 1
fi

run_one() {
    local bin=$1 name=${1##*/fuzz-}
    mkdir -p "$scratch/$name"
    # -timeout: one input may not take over 10 s; -rss_limit_mb bounds memory
    if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="$artifacts/$name-" -print_final_stats=1 \
        "$scratch/$name" "$here/corpus/$name" >"$scratch/$name.log" 2>&1; then
        echo "fuzz smoke: $name ok ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$name.log" | grep -o '[0-9]*$') runs)"
    else
        echo "fuzz smoke: $name FAILED (inputs kept in $artifacts)" >&2
        tail -n 40 "$scratch/$name.log" >&2
        return 1
    fi
}

status=0
pids=()
for bin in "${targets[@]}"; do
    run_one "$bin" & pids+=($!)
    if [ ${#pids[@]} -ge "$par" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || status=1
done
exit $status
