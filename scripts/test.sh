#!/usr/bin/env bash
# Quick start, tests: set up if needed, build, run the whole test suite
# (every built backend, the model check, the examples).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA_PKGS="spin valgrind ${EXTRA_PKGS:-}" scripts/setup.sh
meson test -C "${BUILD:-build}" --print-errorlogs "$@"
