# Sourced by the integration tests: assertions, free ports, PID-tracked
# processes with bounded waits, and the closing "N passed, N failed" line.
# Every server a test starts binds to 127.0.0.1 and is stopped by PID.

AHPA_PASSED=0
AHPA_FAILED=0
AHPA_PIDS=""
# The Python interpreter itself, looked up once per test (exported, so the
# helpers and child scripts share it): a python3 on the PATH may be a
# wrapper script (a version manager's shim) that costs 0.4 s a start, and
# tests start one per JSON read, often inside polls.
[ -n "${AHPA_PY:-}" ] || AHPA_PY=$(python3 -c 'import sys; print(sys.executable)')
export AHPA_PY

ahpa_pass() { AHPA_PASSED=$((AHPA_PASSED + 1)); echo "ok: $*"; }
ahpa_fail() { AHPA_FAILED=$((AHPA_FAILED + 1)); echo "FAIL: $*"; }

# ahpa_check DESCRIPTION COMMAND...: passes when the command succeeds.
ahpa_check() {
    local what=$1
    shift
    if "$@"; then ahpa_pass "$what"; else ahpa_fail "$what"; fi
}

# ahpa_contains DESCRIPTION HAYSTACK NEEDLE
ahpa_contains() {
    if [[ "$2" == *"$3"* ]]; then
        ahpa_pass "$1"
    else
        ahpa_fail "$1: expected to find '$3' in: ${2:0:400}"
    fi
}

# ahpa_equals DESCRIPTION GOT WANT
ahpa_equals() {
    if [[ "$2" == "$3" ]]; then
        ahpa_pass "$1"
    else
        ahpa_fail "$1: got '${2:0:400}', want '$3'"
    fi
}

# ahpa_free_port and the Prometheus fixtures.
. "$(dirname "${BASH_SOURCE[0]}")/prometheus.sh"

# ahpa_track PID: stopped (TERM, then KILL) by ahpa_cleanup.
ahpa_track() { AHPA_PIDS="$AHPA_PIDS $1"; }

ahpa_stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

ahpa_cleanup() {
    local pid
    for pid in $AHPA_PIDS; do ahpa_stop_pid "$pid"; done
    AHPA_PIDS=""
    [[ -n "${AHPA_TMP:-}" && -d "$AHPA_TMP" ]] && rm -rf "$AHPA_TMP"
}

# ahpa_wait_for SECONDS COMMAND...: polls every 0.1 s, at most SECONDS of
# wall time (the command's own run time included: a poll that takes a
# second, a kubectl run, does not stretch the bound tenfold) and at most
# SECONDS * 10 times; one last try at the deadline.
ahpa_wait_for() {
    local limit=$1 i end
    shift
    end=$((${EPOCHREALTIME//[!0-9]/} + limit * 1000000))
    for ((i = 0; i < limit * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        ((${EPOCHREALTIME//[!0-9]/} < end)) || break
        sleep 0.1
    done
    "$@" >/dev/null 2>&1
}

# Prints the closing line and exits with the test's status.
ahpa_finish() {
    echo "$AHPA_PASSED passed, $AHPA_FAILED failed"
    [[ $AHPA_FAILED -eq 0 ]]
    exit $?
}

# --- the adapter ----------------------------------------------------------

# ahpa_start_adapter DIR [FLAGS...]: starts the adapter with certificates in
# DIR/certs on a free port; sets AHPA_PORT, AHPA_PID, AHPA_CA, AHPA_LOG.
# Without a Kubernetes API the tests run standalone: --authorization-mode=
# AlwaysAllow comes first, so a test's own --authorization-mode wins.
ahpa_start_adapter() {
    local dir=$1
    shift
    AHPA_PORT=$(ahpa_free_port)
    mkdir -p "$dir"
    AHPA_LOG="$dir/adapter.log"
    "$AHPA_ADAPTER" --bind-address=127.0.0.1 --secure-port="$AHPA_PORT" \
        --cert-dir="$dir/certs" --authorization-mode=AlwaysAllow "$@" >>"$AHPA_LOG" 2>&1 &
    AHPA_PID=$!
    ahpa_track "$AHPA_PID"
    AHPA_CA="$dir/certs/ca.crt"
    if ! ahpa_wait_for 10 curl -sf -m 2 --cacert "$AHPA_CA" "https://127.0.0.1:$AHPA_PORT/readyz"; then
        echo "adapter did not become ready; log:"
        cat "$AHPA_LOG"
        return 1
    fi
}

# A client certificate for kubectl (kubectl asks for a password when it has
# no credentials at all). Sets AHPA_CLIENT_CERT/AHPA_CLIENT_KEY.
ahpa_client_cert() {
    local dir=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj "/O=system:masters/CN=ahpa-test" -keyout "$dir/client.key" \
        -out "$dir/client.crt" >/dev/null 2>&1
    AHPA_CLIENT_CERT="$dir/client.crt"
    AHPA_CLIENT_KEY="$dir/client.key"
}

# ahpa_kubectl ARGS...: the real kubectl, isolated from any user config.
ahpa_kubectl() {
    HOME="$AHPA_TMP" KUBECONFIG=/dev/null kubectl --server="https://127.0.0.1:$AHPA_PORT" \
        --certificate-authority="$AHPA_CA" --client-certificate="$AHPA_CLIENT_CERT" \
        --client-key="$AHPA_CLIENT_KEY" --request-timeout=10s "$@" </dev/null
}

# --- test certificates (P-256, openssl) -------------------------------------

# ahpa_pki_ca DIR NAME: a self-signed CA, DIR/NAME.crt and DIR/NAME.key,
# valid 2 days.
ahpa_pki_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$1/$2.key" -out "$1/$2.crt" >/dev/null 2>&1
}

# ahpa_pki_leaf DIR CA NAME SUBJECT EXTENSIONS: DIR/NAME.crt and .key
# signed by DIR/CA.crt, with SUBJECT (e.g. "/O=ops/CN=alice") and the
# extension lines of EXTENSIONS (e.g. "extendedKeyUsage=clientAuth").
ahpa_pki_leaf() {
    local dir=$1 ca=$2 name=$3
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$4" \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" >/dev/null 2>&1 || return 1
    printf '%s\n' "$5" >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/$name.ext" -out "$dir/$name.crt" >/dev/null 2>&1
}

# ahpa_pki_serving DIR CA NAME: a serving certificate for localhost and
# 127.0.0.1, CN=ahpa-metrics-adapter, signed by DIR/CA.crt.
ahpa_pki_serving() {
    ahpa_pki_leaf "$1" "$2" "$3" "/CN=ahpa-metrics-adapter" "subjectAltName=DNS:localhost,IP:127.0.0.1"
}
