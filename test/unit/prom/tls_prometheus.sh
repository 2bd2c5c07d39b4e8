#!/usr/bin/env bash
# lib/prom's TLS options against a real Prometheus that serves HTTPS and
# requires a client certificate (--web.config.file): CA file, insecure
# skip-verify, client certificate and key, and the failures when one is
# missing. Certificates come from the openssl command line.
#
# Usage: tls_prometheus.sh PROM_PROBE_BINARY SOURCE_DIR
# Exit 77 (skipped) when prometheus or openssl is not installed.
set -u
probe=$(realpath "$1")
src=$2
for tool in prometheus openssl curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool not installed: skipped"; exit 77; }
done
. "$src/test/lib/prometheus.sh"

tmp=$(mktemp -d /tmp/ahpa-prom-tls.XXXXXX)
cleanup() {
    ahpa_prom_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

# A CA, a server certificate for 127.0.0.1, a client certificate.
gen() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=ahpa test CA" -keyout ca.key -out ca.pem &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout server.key -out server.csr &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
        -out server.pem &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=ahpa-adapter" \
        -keyout client.key -out client.csr &&
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out client.pem
}
gen >gen.log 2>&1 || { cat gen.log; exit 1; }
cat >web.yml <<EOF
tls_server_config:
  cert_file: $tmp/server.pem
  key_file: $tmp/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: $tmp/ca.pem
EOF

port=$(ahpa_free_port)
AHPA_PROM_WEB_CONFIG=$tmp/web.yml
AHPA_PROM_READY_CURL_ARGS="--cacert $tmp/ca.pem --cert $tmp/client.pem --key $tmp/client.key"
ahpa_prom_start "$tmp/tsdb" "$port" || exit 1

fails=0
# expect WANT_PREFIX ARGS...: run the probe, compare the start of its line.
expect() {
    local want=$1
    shift
    local got
    got=$("$probe" "$@" 2>&1)
    if [[ "$got" == "$want"* ]]; then
        echo "ok: $got  <- ${*:2}"
    else
        echo "FAIL: want '$want...' got '$got' for: $*"
        fails=$((fails + 1))
    fi
}
url=$AHPA_PROM_URL
q='vector(1)'
expect "ok 1" "$url" --ca ca.pem --cert client.pem --key client.key "$q"
expect "ok 1" "$url" --ca ca.pem --cert client.pem --key client.key --post "$q"
expect "ok 1" "$url" --insecure --cert client.pem --key client.key "$q"
expect "error EUPSTREAM GET /api/v1/query: " "$url" --cert client.pem --key client.key "$q"
expect "error EUPSTREAM GET /api/v1/query: " "$url" --ca ca.pem "$q"
expect "error EUPSTREAM prometheus: unexpected response (HTTP 400" \
    "http://127.0.0.1:$port" "$q"
expect "error ECONFIG " "$url" --ca ca.pem --cert client.pem "$q"
[ "$fails" -eq 0 ] || exit 1
echo "tls prometheus: all cases passed"
