#!/usr/bin/env bash
# Builds the adapter's container image with podman (or buildah's `bud`
# through podman): the binaries are built on this machine with CMake, then
# image/Containerfile copies a root filesystem staged here, FROM scratch.
#
#   image/build.sh [--build-dir DIR] [--tag NAME:TAG] [--stage-only]
#
#   --build-dir DIR  CMake build directory (default build-image, Release);
#                    an existing one (e.g. build) is reused as it is
#   --tag NAME:TAG   image name (default ahpa-metrics-adapter:<version>)
#   --stage-only     stage DIR/image/rootfs and stop (no podman needed)
#
# PODMAN (default "podman") may carry global options, e.g. PODMAN="podman
# --root /tmp/x/storage --runroot /tmp/x/run --storage-driver vfs". Prints
# the image's size. Push it with `podman push NAME:TAG REGISTRY/...`, or
# load it on a node with `podman save NAME:TAG | ctr -n k8s.io images import -`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build-image"
tag=""
stage_only=0
while [ $# -gt 0 ]; do
    case $1 in
    --build-dir) build_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --stage-only) stage_only=1; shift ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
PODMAN=${PODMAN:-podman}

# 1. The binaries.
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DAHPA_UNIT_ONLY=OFF \
        -DAHPA_ONLY_MODULES= >/dev/null
fi
cmake --build "$build_dir" -j"$(nproc 2>/dev/null || echo 2)" --target ahpa-metrics-adapter ahpa-backtest >/dev/null
bins=("$build_dir/cmd/ahpa-metrics-adapter/ahpa-metrics-adapter" "$build_dir/cmd/ahpa-backtest/ahpa-backtest")
# The project's version (CMakeLists.txt), as /version reports it.
version=$(sed -n 's/^project(ahpa-metrics-adapter VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[ -n "$version" ] || version=dev
[ -n "$tag" ] || tag="ahpa-metrics-adapter:$version"

# 2. The root filesystem.
stage="$build_dir/image"
rootfs="$stage/rootfs"
rm -rf "$stage"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/usr/share/doc"
chmod 1777 "$rootfs/tmp"
for b in "${bins[@]}"; do
    strip --strip-unneeded -o "$rootfs/usr/local/bin/$(basename "$b")" "$b"
done
# Merged /usr: keep the host's top-level links (lib -> usr/lib, ...) so the
# paths the loader and ldd use exist as they do on the host.
for d in lib lib32 lib64 libx32 bin sbin; do
    if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$rootfs/$d"; fi
done
# Every library the binaries load ("name => /path") and the loader ("/path (addr)").
libs=$(ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $2 ~ /^\(/ {print $1}' | sort -u)
if ldd "${bins[@]}" | grep -q 'not found'; then
    echo "build.sh: a shared library is missing:" >&2
    ldd "${bins[@]}" | grep 'not found' >&2
    exit 1
fi
for lib in $libs; do
    real=$(readlink -f "$lib")
    dest="$rootfs$(readlink -f "$(dirname "$lib")")"
    mkdir -p "$dest"
    # Loader and libc unstripped is not needed: strip every copy.
    strip --strip-unneeded -o "$dest/$(basename "$lib")" "$real" 2>/dev/null || cp -L "$lib" "$dest/"
    paths="${paths:-} $lib $real"
done
interp=$(readelf -l "${bins[0]}" | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
if [ -z "$interp" ] || [ ! -e "$rootfs$interp" ]; then
    echo "build.sh: the program interpreter ${interp:-?} is not in the image" >&2
    exit 1
fi
# Licences of what is redistributed.
# dpkg knows a file by the path its package installed (/lib or /usr/lib):
# ask for both, in one call (each call reads the whole database).
pkgs=$({ dpkg -S $paths 2>/dev/null || true; } | cut -d: -f1 | tr -d ' ' | tr , '\n' | sort -u)
for p in $pkgs; do
    if [ -f "/usr/share/doc/$p/copyright" ]; then
        mkdir -p "$rootfs/usr/share/doc/$p"
        cp "/usr/share/doc/$p/copyright" "$rootfs/usr/share/doc/$p/"
    fi
done
mkdir -p "$rootfs/usr/share/doc/ahpa-metrics-adapter"
cp "$root/LICENSE" "$rootfs/usr/share/doc/ahpa-metrics-adapter/"
# TLS roots for Prometheus over HTTPS (libcurl's default bundle path).
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
# Time zones for --timezone (IANA names), without the leap-second copies.
if [ -d /usr/share/zoneinfo ]; then
    mkdir -p "$rootfs/usr/share/zoneinfo"
    (cd /usr/share/zoneinfo && tar --exclude=./right --exclude=./posix -cf - .) |
        tar -xf - -C "$rootfs/usr/share/zoneinfo"
fi
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
nogroup:x:65534:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
cp "$root/image/Containerfile" "$stage/Containerfile"
echo "staged $(du -sh "$rootfs" | cut -f1) in $rootfs"
[ "$stage_only" -eq 1 ] && exit 0

# 3. The image. The creation time is the last commit's, so the same source
# gives the same image.
epoch=$(cd "$root" && git log -1 --format=%ct 2>/dev/null || echo 0)
$PODMAN build --quiet --timestamp "$epoch" --label "org.opencontainers.image.version=$version" \
    -f "$stage/Containerfile" -t "$tag" "$stage" >/dev/null
size=$($PODMAN image inspect --format '{{.Size}}' "$tag")
echo "built $tag: $size bytes ($((size / 1024 / 1024)) MiB)"
