#!/usr/bin/env bash
# Builds the seriald container image (docker/Dockerfile) and, with --nginx, the nginx image of
# docker/compose.yaml.
#
#   scripts/build-image.sh [--tag NAME] [--local-base] [--verify] [--nginx]
#
# With a running docker daemon it uses `docker build`. Otherwise it uses podman with
# `--isolation chroot`, which needs no daemon (podman is installed from Debian's archive if
# missing). --local-base first makes the base image itself, a Debian 12 root file system built
# with debootstrap from Debian's archive and imported into podman, for machines that cannot pull
# debian:bookworm-slim from a registry. --verify then runs the built image's own binaries
# (podman image mount + chroot, which works where containers cannot be started): --help, a server
# that answers the image's HEALTHCHECK command and a conversion, and a clean SIGTERM stop.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=seriald:latest
local_base=0
verify=0
nginx=0
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --local-base) local_base=1; shift ;;
    --verify) verify=1; shift ;;
    --nginx) nginx=1; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "build-image: needs ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=docker
  build=(docker build)
else
  engine=podman
  apt_install podman
  # Docker image format: OCI images drop HEALTHCHECK and STOPSIGNAL.
  build=(podman build --isolation chroot --format docker)
fi
echo "build-image: building with $engine"

base_args=()
if [ "$local_base" -eq 1 ]; then
  base=localhost/seriald-base:bookworm
  if ! "$engine" image exists "$base" 2>/dev/null && ! "$engine" image inspect "$base" >/dev/null 2>&1; then
    apt_install debootstrap
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    echo "build-image: debootstrap bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | "$engine" import - "$base"
  fi
  base_args=(--build-arg "BASE_IMAGE=$base")
fi

"${build[@]}" "${base_args[@]}" -f docker/Dockerfile -t "$tag" .
if [ "$nginx" -eq 1 ]; then
  "${build[@]}" "${base_args[@]}" -f docker/nginx/Dockerfile -t seriald-nginx:latest .
fi

if [ "$verify" -eq 1 ]; then
  if [ "$engine" != podman ]; then
    docker run --rm --entrypoint seriald "$tag" --help >/dev/null
    docker run --rm --entrypoint serialctl "$tag" --help >/dev/null
  else
    mount=$(podman image mount "$tag")
    chroot "$mount" /usr/local/bin/seriald --help >/dev/null
    chroot "$mount" /usr/local/bin/serialctl --help >/dev/null
    # The runtime image must hold every library the binaries need, and nothing to build with.
    if chroot "$mount" /bin/sh -c 'command -v c++ || command -v cmake' >/dev/null 2>&1; then
      echo "build-image: the runtime image contains build tools" >&2
      podman image unmount "$tag" >/dev/null
      exit 1
    fi
    # Serve from the image and run its HEALTHCHECK command against it, then a conversion, then
    # stop it as a container runtime would (SIGTERM, expecting status 0).
    log=$(mktemp)
    chroot "$mount" /usr/local/bin/seriald --listen 127.0.0.1:0 >"$log" 2>&1 &
    server=$!
    address=""
    for _ in $(seq 100); do
      address=$(grep -ao '127\.0\.0\.1:[0-9]*' "$log" | head -1 || true)
      [ -n "$address" ] && break
      sleep 0.1
    done
    ok=1
    [ -n "$address" ] || ok=0
    if [ "$ok" -eq 1 ]; then
      chroot "$mount" /usr/local/bin/serialctl --server "$address" --timeout 4 health | grep -q SERVING || ok=0
      printf '\0\0\0\0' | chroot "$mount" /usr/local/bin/serialctl --server "$address" convert \
        --to json - - | grep -q '"nil"' || ok=0
    fi
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" || ok=0
    healthcheck=$(podman image inspect --format '{{.Config.Healthcheck}}' "$tag")
    user=$(podman image inspect --format '{{.Config.User}}' "$tag")
    podman image unmount "$tag" >/dev/null
    if [ "$ok" -ne 1 ]; then
      echo "build-image: the image's seriald did not serve, answer health or stop cleanly:" >&2
      cat "$log" >&2
      exit 1
    fi
    rm -f "$log"
    case "$healthcheck" in *health*) ;; *) echo "build-image: no HEALTHCHECK in $tag" >&2; exit 1 ;; esac
    [ "$user" = "10001:10001" ] || { echo "build-image: image runs as '$user'" >&2; exit 1; }
  fi
  echo "build-image: verified $tag: binaries run, seriald serves and answers its HEALTHCHECK" \
    "command, converts, stops with status 0 on SIGTERM; runs as user 10001"
fi
echo "build-image: built $tag"
