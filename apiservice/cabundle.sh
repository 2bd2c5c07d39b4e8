#!/usr/bin/env bash
# Writes a CA certificate into the caBundle of every APIService file here,
# so the kube-aggregator verifies the adapter instead of skipping TLS
# verification.
#
#   apiservice/cabundle.sh CA_FILE     (e.g. the ca.crt the adapter generated)
set -euo pipefail
ca=${1:?usage: cabundle.sh CA_FILE}
openssl x509 -in "$ca" -noout >/dev/null || { echo "$ca is not a PEM certificate" >&2; exit 1; }
bundle=$(base64 -w0 <"$ca")
here=$(cd "$(dirname "$0")" && pwd)
for f in "$here"/v*.yaml; do
    sed -i "s|^  caBundle: .*|  caBundle: \"$bundle\"|" "$f"
    echo "updated $(basename "$f")"
done
