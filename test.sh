#!/usr/bin/env bash
# Runs every test of ahpa-metrics-adapter on a Debian 12 machine:
#   1. installs the Debian packages it needs when they are missing,
#   2. builds the project (build/) and runs all tests through ctest:
#      lint, unit tests, integration tests against the real binary with
#      real Prometheus, kubectl and headless Chromium,
#   3. builds the unit tests again under AddressSanitizer + UBSan
#      (build-asan/) and runs them,
#   4. builds the threaded unit tests (base, log, httpd, provider, api, forecast, kube,
#      controller, auth) under ThreadSanitizer (build-tsan/) and runs them,
#   5. runs the forecast suite under valgrind (uninitialised reads),
#   6. builds the libFuzzer targets with clang (build-fuzz/) and runs each
#      for a few seconds from its corpus.
set -euo pipefail
cd "$(dirname "$0")"
. test/lib/deps.sh

ahpa_ensure_packages $AHPA_BUILD_PACKAGES $AHPA_RUN_PACKAGES $AHPA_TEST_PACKAGES chromium fonts-dejavu-core
ahpa_ensure_kubectl

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAHPA_UNIT_ONLY=OFF -DAHPA_ONLY_MODULES= >/dev/null
cmake --build build -j"$jobs"

echo "== build (ASan + UBSan, unit tests)"
cmake -S . -B build-asan -DAHPA_SANITIZE=ON -DAHPA_UNIT_ONLY=ON -DAHPA_ONLY_MODULES= -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"

echo "== build (ThreadSanitizer, threaded unit tests)"
cmake -S . -B build-tsan -DAHPA_TSAN=ON -DAHPA_UNIT_ONLY=ON -DAHPA_ONLY_MODULES= -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-tsan -j"$jobs" --target test_base test_log test_httpd test_provider test_api test_forecast test_controller test_kube test_auth

status=0
echo "== tests"
ctest --test-dir build --output-on-failure -j"$jobs" || status=1
echo "== unit tests under ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit || status=1
echo "== threaded unit tests under ThreadSanitizer"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R '^unit\.(base|log|httpd|provider|api|forecast|kube|controller|auth)$' || status=1
echo "== forecast unit tests under valgrind"
CK_FORK=no valgrind -q --error-exitcode=1 build/test/unit/forecast/test_forecast || status=1
echo "== fuzz targets (clang libFuzzer, 5 s each)"
if CC=clang cmake -S . -B build-fuzz -DAHPA_FUZZ=ON -DAHPA_UNIT_ONLY=ON -DAHPA_ONLY_MODULES= \
        -DCMAKE_BUILD_TYPE=Debug >/dev/null && cmake --build build-fuzz -j"$jobs"; then
    test/fuzz/smoke.sh build-fuzz 5 "$jobs" || status=1
else
    echo "fuzz build failed"; status=1
fi
exit $status
