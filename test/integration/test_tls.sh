#!/usr/bin/env bash
# TLS: the generated CA and serving certificate (SANs, validity, chain),
# TLS 1.0/1.1 refused while 1.2/1.3 work, certificate files replaced on disk
# picked up without a restart and without dropping an open connection,
# broken replacements ignored, reuse of existing files, explicit files.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
trap ahpa_cleanup EXIT
ahpa_start_adapter "$AHPA_TMP" --tls-reload-interval=200ms --tls-sans=ahpa.example.test,10.1.2.3 \
    --service-name=ahpa --service-namespace=monitoring -v=2 || { ahpa_fail "adapter starts"; ahpa_finish; }
certs=$AHPA_TMP/certs

# --- the generated files ---
ahpa_check "serving certificate verifies against the generated CA" \
    openssl verify -CAfile "$certs/ca.crt" "$certs/apiserver.crt"
sans=$(openssl x509 -in "$certs/apiserver.crt" -noout -ext subjectAltName)
for want in "DNS:localhost" "IP Address:127.0.0.1" "DNS:ahpa.example.test" "IP Address:10.1.2.3" \
            "DNS:ahpa.monitoring.svc" "DNS:ahpa.monitoring.svc.cluster.local"; do
    ahpa_contains "SAN $want" "$sans" "$want"
done
ahpa_contains "CA is a CA" "$(openssl x509 -in "$certs/ca.crt" -noout -ext basicConstraints)" "CA:TRUE"
ahpa_equals "key file is private" "$(stat -c %a "$certs/apiserver.key")" "600"
end=$(date -d "$(openssl x509 -in "$certs/apiserver.crt" -noout -enddate | cut -d= -f2)" +%s)
days=$(( (end - $(date +%s)) / 86400 ))
ahpa_check "valid for about a year ($days days)" test "$days" -ge 363 -a "$days" -le 366

handshake() { # VERSION_FLAG [HOST]
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$AHPA_PORT" -CAfile "$certs/ca.crt" \
        -verify_return_error -verify_hostname "${2:-localhost}" -cipher 'DEFAULT@SECLEVEL=0' $1 2>&1
}
ahpa_contains "TLS 1.3 handshake verifies for localhost" "$(handshake -tls1_3)" "Verification: OK"
ahpa_contains "TLS 1.2 handshake" "$(handshake -tls1_2)" "Protocol  : TLSv1.2"
ahpa_contains "hostname ahpa.example.test verifies" "$(handshake -tls1_3 ahpa.example.test)" "Verification: OK"
ahpa_contains "a foreign hostname does not" "$(handshake -tls1_3 evil.example.com)" "verify error"
# TLS 1.0 and 1.1 refused by the server because of the version. The client
# offers only that version (SECLEVEL=0 lets it) with the old CBC-SHA suites
# and prints its records (-msg: ">>>" sent, "<<<" received). Required: the
# ClientHello of that version went out; the server answered with a
# protocol_version alert, or (libmicrohttpd closes a failed GnuTLS handshake
# without sending the alert) with nothing at all: no ServerHello, no
# certificate, 0 bytes. And the control: the same suites over TLS 1.2 make a
# session, so the version alone is refused (a server that drops everything,
# or a client that never offered the version, fails one of these).
old_suites='ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA@SECLEVEL=0'
refused_at_hello() { # s_client -msg output, version as -msg names it ("TLS 1.1")
    grep -qE "^>>> $2, Handshake \[length [0-9a-f]+\], ClientHello" <<<"$1" || return 1
    if grep -qE '^<<< TLS [0-9.]+, Alert' <<<"$1"; then
        grep -qE '^<<< TLS [0-9.]+, Alert \[length [0-9a-f]+\], fatal protocol_version' <<<"$1" ||
            return 1
    else
        grep -q 'SSL handshake has read 0 bytes' <<<"$1" || return 1
    fi
    [[ "$1" == *"Cipher is (NONE)"* ]]
}
old_hs() { # VERSION_FLAG
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$AHPA_PORT" -CAfile "$certs/ca.crt" \
        -cipher "$old_suites" -msg "$1" 2>&1
}
ahpa_contains "control: the TLS 1.0/1.1 cipher suites work over TLS 1.2" "$(old_hs -tls1_2)" \
    "Protocol  : TLSv1.2"
for v in tls1_1:1.1 tls1:1.0; do
    out=$(old_hs "-${v%%:*}")
    if refused_at_hello "$out" "TLS ${v#*:}"; then
        ahpa_pass "TLS ${v#*:} refused at the hello"
    else
        ahpa_fail "TLS ${v#*:} refused at the hello: $(grep -E '^(<<<|>>>)|error|Cipher is|has read' <<<"$out" | head -n 8)"
    fi
done

# --- reload without restart, keeping an open connection ---
serial() {
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$AHPA_PORT" 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null
}
old_serial=$(serial)
python3 "$here/keepalive.py" "$AHPA_PORT" "$certs/ca.crt" "$AHPA_TMP/go" >"$AHPA_TMP/keepalive.out" 2>&1 &
ka=$!
ahpa_track $ka
ahpa_wait_for 10 grep -q first "$AHPA_TMP/keepalive.out"

new=$AHPA_TMP/new
mkdir -p "$new"
ahpa_pki_ca "$new" ca && ahpa_pki_serving "$new" ca tls
cp "$new/tls.key" "$certs/apiserver.key.tmp" && mv "$certs/apiserver.key.tmp" "$certs/apiserver.key"
cp "$new/tls.crt" "$certs/apiserver.crt.tmp" && mv "$certs/apiserver.crt.tmp" "$certs/apiserver.crt"
want_serial=$(openssl x509 -in "$new/tls.crt" -noout -serial)
ahpa_check "new certificate served without restart" ahpa_wait_for 10 sh -c "[ \"\$(echo | timeout 5 openssl s_client -connect 127.0.0.1:$AHPA_PORT 2>/dev/null | openssl x509 -noout -serial)\" = '$want_serial' ]"
ahpa_check "new certificate verifies against its CA" \
    curl -sf --cacert "$new/ca.crt" "https://127.0.0.1:$AHPA_PORT/healthz" -o /dev/null
touch "$AHPA_TMP/go"
wait $ka
ahpa_contains "open connection survives the reload" "$(cat "$AHPA_TMP/keepalive.out")" "second 200 reused same-cert"
ahpa_check "the reload was logged" grep -q "loaded new serving certificate" "$AHPA_LOG"
ahpa_check "the process was not restarted" kill -0 "$AHPA_PID"

# A broken replacement is reported and ignored.
echo "not a certificate" >"$certs/apiserver.crt"
ahpa_check "a broken certificate file is reported" ahpa_wait_for 10 grep -q "cannot be used, keeping" "$AHPA_LOG"
ahpa_equals "the last good certificate stays in use" "$(serial)" "$want_serial"
ahpa_check "still serving" curl -sf --cacert "$new/ca.crt" "https://127.0.0.1:$AHPA_PORT/readyz" -o /dev/null

# --- explicit files, and reuse of a cert dir ---
ahpa_stop_pid "$AHPA_PID"
cp "$new/tls.crt" "$certs/apiserver.crt"
port2=$(ahpa_free_port)
"$AHPA_ADAPTER" --bind-address=127.0.0.1 --secure-port="$port2" --tls-cert-file="$new/tls.crt" \
    --authorization-mode=AlwaysAllow --tls-private-key-file="$new/tls.key" >>"$AHPA_TMP/explicit.log" 2>&1 &
ahpa_track $!
ahpa_check "serves --tls-cert-file/--tls-private-key-file" \
    ahpa_wait_for 10 curl -sf --cacert "$new/ca.crt" "https://127.0.0.1:$port2/readyz"
port3=$(ahpa_free_port)
"$AHPA_ADAPTER" --bind-address=127.0.0.1 --secure-port="$port3" --cert-dir="$certs" \
    --authorization-mode=AlwaysAllow \
    >>"$AHPA_TMP/reuse.log" 2>&1 &
ahpa_track $!
ahpa_check "reuses the files in --cert-dir" \
    ahpa_wait_for 10 curl -sf --cacert "$new/ca.crt" "https://127.0.0.1:$port3/readyz"
out=$("$AHPA_ADAPTER" --tls-cert-file="$new/tls.crt" 2>&1)
ahpa_contains "cert without key is refused with a message" "$out" "go together"
out=$("$AHPA_ADAPTER" --bind-address=127.0.0.1 --secure-port=0 --tls-cert-file="$new/ca.crt" \
      --tls-private-key-file="$new/tls.key" 2>&1)
ahpa_contains "a key that does not match is refused" "$out" "match"
ahpa_finish
