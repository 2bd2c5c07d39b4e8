#!/usr/bin/env bash
# The container image: image/build.sh builds it with podman (storage of its
# own under a temporary directory, so nothing of the machine's is touched);
# its filesystem, exported from a created (never started) container, runs
# the adapter with chroot as the image's non-root user: --help, then serving
# /healthz, /readyz and /version on 127.0.0.1 with a certificate it generates
# in the image's /tmp and an IANA --timezone from the image's zoneinfo; then
# as the Deployment runs it (read-only root, tmpfs /tmp, the certificate
# from a read-only mount) in a mount namespace of its own. No
# library comes from the host: chroot sees only the image. Containers cannot
# be started on this machine (crun cannot set rlimits here), so chroot stands
# in for the runtime; in a cluster the kubelet runs the same files.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$here/../lib/common.sh"
AHPA_TMP=$(mktemp -d)
T=$AHPA_TMP
# podman's storage of its own (vfs: plain directories, no mounts to undo).
export PODMAN="podman --root $T/storage --runroot $T/run --storage-driver vfs"
cleanup() {
    # vfs layers may hold read-only directories: make them removable.
    chmod -R u+w "$T" 2>/dev/null
    ahpa_cleanup
}
trap cleanup EXIT
TAG=localhost/ahpa-metrics-adapter:test
BUILD=${AHPA_BUILD_DIR:-$src/build}

if ! command -v podman >/dev/null; then
    ahpa_fail "podman is installed (Debian package podman; test/lib/deps.sh lists it)"
    ahpa_finish
fi
out=$("$src/image/build.sh" --build-dir "$BUILD" --tag "$TAG" 2>&1)
ahpa_check "image/build.sh builds the image ($(echo "$out" | tail -1))" \
    $PODMAN image exists "$TAG"
size=$($PODMAN image inspect --format '{{.Size}}' "$TAG" 2>/dev/null || echo 0)
echo "image size: $size bytes ($((size / 1024 / 1024)) MiB)"
ahpa_check "the image is under 40 MB ($size bytes)" test "$size" -gt 0 -a "$size" -lt 40000000
ahpa_equals "it runs as the non-root user" "$($PODMAN image inspect --format '{{.Config.User}}' "$TAG")" \
    "65532:65532"
ahpa_equals "its entrypoint is the adapter" \
    "$($PODMAN image inspect --format '{{json .Config.Entrypoint}}' "$TAG")" '["/usr/local/bin/ahpa-metrics-adapter"]'

# The filesystem, as a runtime would unpack it.
R=$T/rootfs
mkdir -p "$R"
cid=$($PODMAN create --pull=never "$TAG" 2>"$T/create.err")
ahpa_check "podman create (not started)" test -n "$cid"
$PODMAN export "$cid" | tar -xf - -C "$R"
$PODMAN rm "$cid" >/dev/null 2>&1
ahpa_check "the filesystem has the adapter" test -x "$R/usr/local/bin/ahpa-metrics-adapter"
ahpa_check "... CA certificates" test -s "$R/etc/ssl/certs/ca-certificates.crt"
ahpa_contains "... and the non-root user" "$(cat "$R/etc/passwd")" "nonroot:x:65532:65532"
ahpa_check "no shell in the image" test ! -e "$R/bin/sh" -a ! -e "$R/usr/bin/sh"

loader=$(cd "$R" && ls lib64/ld-linux-*.so.* usr/lib64/ld-linux-*.so.* 2>/dev/null | head -1)
libs=$(chroot "$R" "/$loader" --list /usr/local/bin/ahpa-metrics-adapter 2>&1)
ahpa_check "every shared library resolves inside the image" \
    test -n "$loader" -a -n "$libs" -a "$(echo "$libs" | grep -c 'not found')" = 0
out=$(chroot --userspec=65532:65532 "$R" /usr/local/bin/ahpa-metrics-adapter --help 2>&1)
ahpa_contains "chroot: ahpa-metrics-adapter --help" "$out" "--prometheus-url"
out=$(chroot --userspec=65532:65532 "$R" /usr/local/bin/ahpa-backtest --help 2>&1)
ahpa_contains "chroot: ahpa-backtest --help" "$out" "--input"

# No cluster here to review requests: an adapter with delegated
# authorization refuses to start standalone unless told to allow all.
standalone=--authorization-mode=AlwaysAllow
port=$(ahpa_free_port)
chroot --userspec=65532:65532 "$R" /usr/local/bin/ahpa-metrics-adapter --bind-address=127.0.0.1 \
    --secure-port="$port" --cert-dir=/tmp/certs --timezone=Asia/Shanghai $standalone >"$T/adapter.log" 2>&1 &
ahpa_track $!
ok=$(ahpa_wait_for 10 curl -sf --cacert "$R/tmp/certs/ca.crt" "https://127.0.0.1:$port/healthz" && echo yes)
ahpa_equals "the image's adapter serves /healthz on 127.0.0.1 as user 65532" "$ok" yes
[ "$ok" = yes ] || cat "$T/adapter.log"
ahpa_equals "/healthz" "$(curl -s --cacert "$R/tmp/certs/ca.crt" "https://127.0.0.1:$port/healthz")" ok
ahpa_equals "/readyz" "$(curl -s --cacert "$R/tmp/certs/ca.crt" "https://127.0.0.1:$port/readyz")" ok
ahpa_contains "/version" "$(curl -s --cacert "$R/tmp/certs/ca.crt" "https://127.0.0.1:$port/version")" \
    '"gitVersion"'
ahpa_equals "the generated certificate belongs to the non-root user" "$(stat -c %u "$R/tmp/certs/ca.crt")" 65532

# As the Deployment runs it: root filesystem read-only, a small tmpfs on
# /tmp, the serving certificate mounted read-only from elsewhere (the
# Secret), --tls-cert-file/--tls-private-key-file. A mount namespace of its
# own keeps the mounts away from the machine and ends with the process.
mkdir -p "$T/serving" "$R/var/run/serving-cert"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=ahpa-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -keyout "$T/serving/ca.key" -out "$T/serving/ca.crt" >/dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$T/serving/tls.key" -out "$T/serving/tls.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/serving/ext.cnf"
openssl x509 -req -in "$T/serving/tls.csr" -CA "$T/serving/ca.crt" -CAkey "$T/serving/ca.key" \
    -CAcreateserial -days 1 -extfile "$T/serving/ext.cnf" -out "$T/serving/tls.crt" >/dev/null 2>&1
chmod 0644 "$T/serving/tls.key"   # readable by 65532, as the Secret's 0440 + fsGroup makes it
port2=$(ahpa_free_port)
unshare --mount --propagation private sh -c '
    set -e
    R=$1 S=$2 port=$3 standalone=$4
    mount --bind "$R" "$R"
    mount -o remount,bind,ro "$R"
    mount -t tmpfs -o size=16m,mode=1777 tmpfs "$R/tmp"
    mount --bind "$S" "$R/var/run/serving-cert"
    mount -o remount,bind,ro "$R/var/run/serving-cert"
    exec chroot --userspec=65532:65532 "$R" /usr/local/bin/ahpa-metrics-adapter \
        --bind-address=127.0.0.1 --secure-port="$port" \
        --tls-cert-file=/var/run/serving-cert/tls.crt --tls-private-key-file=/var/run/serving-cert/tls.key \
        $standalone
' sh "$R" "$T/serving" "$port2" "$standalone" >"$T/adapter-ro.log" 2>&1 &
ahpa_track $!
ahpa_check "read-only root filesystem, certificate from a read-only mount: /readyz" \
    ahpa_wait_for 10 curl -sf --cacert "$T/serving/ca.crt" "https://127.0.0.1:$port2/readyz"
grep -qi 'read-only\|EROFS\|permission denied' "$T/adapter-ro.log"
ahpa_check "... and nothing in its log about a write it could not make" test $? -ne 0
[ -s "$T/adapter-ro.log" ] && grep -i 'error\|fail' "$T/adapter-ro.log" | head -5
ahpa_finish
