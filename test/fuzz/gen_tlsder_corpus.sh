#!/usr/bin/env bash
# Writes real certificate chains into test/fuzz/corpus/tlsder (run by hand
# when the corpus should change; the output is checked in). fuzz_tlsder
# splits an input into 1 + data[0] % 4 blobs of equal length (the last takes
# the rest), so each file is one selector byte followed by certificates
# padded (through their DNS name) to the same DER length.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/corpus/tlsder
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# name keyalg issuer(name or "") extensions padding -> name.der
cert() {
    local name=$1 alg=$2 issuer=$3 ext=$4 pad=$5
    [ -f "$name.key" ] || openssl genpkey -quiet -algorithm "$alg" \
        $([ "$alg" = RSA ] && echo -pkeyopt rsa_keygen_bits:2048) -out "$name.key"
    printf '%s\nsubjectAltName=DNS:%s%s.example\n' "$ext" "$pad" "$name" >"$name.ext"
    openssl req -new -key "$name.key" -subj "/O=system:masters/CN=$name" -out "$name.csr" 2>/dev/null
    if [ -z "$issuer" ]; then
        openssl x509 -req -in "$name.csr" -signkey "$name.key" -days 3650 -set_serial 1 \
            -extfile "$name.ext" -outform DER -out "$name.der" 2>/dev/null
    else
        openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -days 3650 \
            -set_serial 2 -extfile "$name.ext" -outform DER -out "$name.der" 2>/dev/null
    fi
    openssl x509 -inform DER -in "$name.der" -out "$name.pem"
}

ca_ext='basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign'
leaf_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

size() { stat -c %s "$1"; }

# chain PREFIX ALG N: N certificates (leaf first) of equal DER length
chain() {
    local prefix=$1 alg=$2 n=$3 names=() i
    names=("$prefix-leaf" "$prefix-int" "$prefix-root")
    [ "$n" -eq 4 ] && names=("$prefix-leaf" "$prefix-int2" "$prefix-int" "$prefix-root")
    local count=${#names[@]}
    local pads=() ; for ((i = 0; i < count; i++)); do pads+=(""); done
    for round in 1 2 3 4 5 6; do
        for ((i = count - 1; i >= 0; i--)); do
            local issuer="" ext=$ca_ext
            [ "$i" -lt $((count - 1)) ] && issuer=${names[i + 1]}
            [ "$i" -eq 0 ] && ext=$leaf_ext
            cert "${names[i]}" "$alg" "$issuer" "$ext" "${pads[i]}"
        done
        local max=0
        for nm in "${names[@]}"; do [ "$(size "$nm.der")" -gt $max ] && max=$(size "$nm.der"); done
        local same=1
        for ((i = 0; i < count; i++)); do
            local d=$((max - $(size "${names[i]}.der")))
            [ "$d" -ne 0 ] && same=0 && pads[i]="${pads[i]}$(printf '%*s' "$d" '' | tr ' ' p)"
        done
        [ "$same" -eq 1 ] && break
    done
    for ((i = 0; i < count; i++)); do
        [ "$(size "${names[i]}.der")" -eq "$(size "${names[0]}.der")" ] ||
            { echo "could not pad $prefix to one length" >&2; exit 1; }
    done
    local sel
    for ((k = 1; k <= count; k++)); do
        sel=$(printf '\\x%02x' $((k - 1)))
        { printf "$sel"; for ((i = 0; i < k; i++)); do cat "${names[i]}.der"; done; } \
            >"$out/$prefix-chain$k"
    done
}

chain rsa RSA 3
chain ed ED25519 4
# the PEM path (identity_from_pem reads the whole input)
cat ed-leaf.pem ed-int2.pem >"$out/ed-pem"
ls -l "$out"
