#!/usr/bin/env bash
# Quick start, main job: set up, build, and compare every wakeup mechanism
# on this machine (uipc-bench --quick). Extra arguments go to uipc-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec "${BUILD:-build}/bench/uipc-bench" --quick "$@"
