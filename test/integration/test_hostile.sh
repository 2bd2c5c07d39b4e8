#!/usr/bin/env bash
# Hostile input (test/integration/hostile.py) against the real binary; the
# process must still be the same one, alive and answering, afterwards.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
ahpa_start_adapter "$AHPA_TMP" --request-timeout=3s || { ahpa_fail "adapter starts"; ahpa_finish; }
python3 "$here/hostile.py" "$AHPA_PORT" "$AHPA_CA"
py=$?
ahpa_check "hostile input suite" test $py -eq 0
ahpa_check "same process still running" kill -0 "$AHPA_PID"
ahpa_check "no crash in the log" sh -c "! grep -qiE 'sanitizer|segfault|abort' '$AHPA_LOG'"
kill -TERM "$AHPA_PID"
rc=0
wait "$AHPA_PID" || rc=$?
ahpa_equals "SIGTERM exits 0" "$rc" 0
ahpa_finish
