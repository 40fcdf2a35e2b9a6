#!/usr/bin/env bash
# Installs everything seriald needs to build, test and run, from Debian 12 packages only.
# Idempotent: packages already present are left alone, and apt is not touched when nothing is
# missing. Must run as root (or through sudo when available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # gRPC / protobuf / Abseil
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev grpc-proto
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  # compression
  zlib1g-dev libbz2-dev liblzma-dev
  # R (interop oracle) and the Python client
  r-base-core r-cran-matrix python3 python3-grpcio python3-protobuf
  # test tooling: TLS certificates, process inspection, the deploy proxy
  openssl procps nginx-light
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
