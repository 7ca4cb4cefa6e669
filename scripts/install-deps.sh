#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests, the fuzzers and
# the benchmarks need. Idempotent: packages already present are skipped, and
# apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config clang
    libgrpc-dev protobuf-compiler-grpc
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
    libmicrohttpd-dev libcjson-dev zlib1g-dev libssl-dev
    libcmocka-dev
    librocksdb-dev liblz4-dev libzstd-dev
    python3 python3-grpcio python3-protobuf python3-pytest
    python3-prometheus-client python3-jwt python3-cryptography openssl
    curl procps etcd-server
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
