#!/usr/bin/env bash
# Makes the adapter's serving certificate for clusters without cert-manager:
# a CA (kept here, reused on later runs so the APIServices' caBundle stays
# the same) and a serving certificate signed by it for the Service's DNS
# names. The overlay next to this script turns them into the Secret every
# replica mounts and copies ca.crt into every APIService's caBundle.
#
#   manifests/overlays/self-signed/make-certs.sh [--days N] [--out DIR]
#   kubectl apply -k manifests/overlays/self-signed
#
# Run it again before the serving certificate expires (default 365 days;
# `openssl x509 -enddate -noout -in certs/tls.crt`) and apply again: the
# pods pick the new files up without a restart. The CA (certs/ca.key, 10
# years) never leaves this directory; keep it private, or delete it to
# start over with a new CA (then the caBundle changes too).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/certs"
days=365
service=ahpa-metrics-adapter
namespace=kube-system
while [ $# -gt 0 ]; do
    case $1 in
    --days) days=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --service) service=$2; shift 2 ;;
    --namespace) namespace=$2; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-certs.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is needed" >&2; exit 1; }
mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -s "$out/ca.key" ] || [ ! -s "$out/ca.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -days 3650 -subj "/CN=$service-ca" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
    mv "$tmp/ca.key" "$out/ca.key"
    mv "$tmp/ca.crt" "$out/ca.crt"
    echo "new CA: $out/ca.crt"
else
    echo "reusing the CA in $out"
fi

fqdn="$service.$namespace.svc"
sans="DNS:$service,DNS:$service.$namespace,DNS:$fqdn,DNS:$fqdn.cluster.local"
cat >"$tmp/ext.cnf" <<CNF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$sans
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -subj "/CN=$fqdn" -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
openssl x509 -req -in "$tmp/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -CAserial "$tmp/ca.srl" -sha256 -days "$days" \
    -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null
openssl verify -CAfile "$out/ca.crt" -purpose sslserver "$tmp/tls.crt" >/dev/null
mv "$tmp/tls.key" "$out/tls.key"
mv "$tmp/tls.crt" "$out/tls.crt"
chmod 0644 "$out/ca.crt" "$out/tls.crt"
echo "serving certificate for $sans, $days days: $out/tls.crt"
