#!/usr/bin/env bash
# Install whatever Debian packages are missing, then configure and build.
#   BUILD=dir        build directory (default: build)
#   MESON_ARGS="..." extra options for the first `meson setup`
#   EXTRA_PKGS="..." more packages to make sure of (the test script adds some)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc meson ninja-build pkg-config libcmocka-dev libnuma-dev libhwloc-dev hwloc
      liburing-dev libuv1-dev libck-dev gnuplot-nox ${EXTRA_PKGS:-})
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${BUILD:-build}
if [ ! -f "$build/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup "$build" ${MESON_ARGS:-}
fi
ninja -C "$build"
