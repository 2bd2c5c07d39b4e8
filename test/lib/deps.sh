# Sourced by ./test.sh and ./demo.sh: installs the Debian packages the
# project needs when they are missing. Safe to run repeatedly; does nothing
# when everything is there.

# What builds the project.
AHPA_BUILD_PACKAGES="gcc make cmake pkg-config libmicrohttpd-dev libgnutls28-dev libssl-dev
  libjansson-dev libcurl4-openssl-dev libyaml-dev libfftw3-dev check libsubunit-dev"
# What ./test.sh's extra stages use: valgrind (forecast suite), clang
# with its libFuzzer runtime (fuzz smoke), podman (builds the container
# image in test_image.sh; no container is started).
AHPA_TEST_PACKAGES="valgrind clang libclang-rt-14-dev podman"
# What the tests and the demo run against.
# python3-yaml: YAML --preload files of the test apiserver (test/lib/kube_apiserver.py).
AHPA_RUN_PACKAGES="prometheus openssl curl jq python3 python3-yaml ca-certificates procps iproute2"

ahpa_missing_packages() {
    local p missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    echo "$missing"
}

# ahpa_ensure_packages PKG... : apt-get install whatever is missing.
ahpa_ensure_packages() {
    local missing
    missing=$(ahpa_missing_packages "$@")
    [ -z "${missing// }" ] && return 0
    echo "installing Debian packages:$missing"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# kubectl: any one on the PATH will do; else Debian's kubernetes-client.
ahpa_ensure_kubectl() {
    command -v kubectl >/dev/null 2>&1 || ahpa_ensure_packages kubernetes-client
}
