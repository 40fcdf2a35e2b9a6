#!/usr/bin/env bash
# Installs everything seriald needs to build, test and run: Debian 12 packages, then the Node
# client's npm dependencies (client/node, from its package-lock.json).
# Idempotent: packages already present are left alone, apt is not touched when nothing is
# missing, and `npm ci` runs only when client/node/node_modules is missing or older than the
# lock file. Must run as root (or through sudo when available) when packages are missing.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"

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
  # array containers (npz is a ZIP archive, safetensors has a JSON header)
  libzip-dev nlohmann-json3-dev
  # R (interop oracle) and the Python client
  r-base-core r-cran-matrix python3 python3-grpcio python3-protobuf python3-numpy python3-pandas
  # real R files for the fidelity tests: fitted models, test data and old .rda files of packages
  r-cran-lme4 r-cran-robustbase r-cran-mass r-cran-survival
  # checking numpy/PyTorch exports (torch.from_numpy on what seriald writes)
  python3-torch
  # installing the Python client offline (pip install --no-build-isolation client/python)
  python3-venv python3-pip python3-setuptools python3-wheel
  # test tooling: TLS certificates, process inspection, the deploy proxy
  openssl procps nginx-light
  # fuzzing (make fuzz, the fuzz_smoke test): clang and libFuzzer's runtime
  clang libclang-rt-14-dev
)
# The Node client (client/node) needs node and npm. A node already on the PATH (Debian's or
# another distribution's, such as NodeSource's, which bundles npm) is used as it is; Debian's
# packages come in only when there is none, since NodeSource's nodejs conflicts with Debian's npm.
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

install_debian_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done

  if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    return 0
  fi

  local SUDO=""
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
}

# npm ci in client/node when its node_modules is missing or older than package-lock.json (npm
# writes node_modules/.package-lock.json on every install, so that file dates the install). The
# Docker build stage runs this script before the sources are copied: no client/node, nothing to do.
install_node_modules() {
  local dir="$repo/client/node"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
     [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "install-deps: client/node npm dependencies up to date"
    return 0
  fi
  echo "install-deps: npm ci in client/node"
  (cd "$dir" && npm ci --no-audit --no-fund)
}

install_debian_packages
install_node_modules
