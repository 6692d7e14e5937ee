#!/usr/bin/env bash
# Quick start, tests: set up if needed, build, run the whole test suite
# (every built backend, the model check, the examples). The last lines say
# which suites ran, which tests skipped and why, and which suites this build
# does not have and why (scripts/test-summary.py). REQUIRE_SUITES="model ..."
# makes a suite that did not run completely an error (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRA_PKGS="spin valgrind ${EXTRA_PKGS:-}" scripts/setup.sh
build=${BUILD:-build}
rc=0
meson test -C "$build" --print-errorlogs "$@" || rc=$?
python3 scripts/test-summary.py "$build" || { [ "$rc" != 0 ] || rc=1; }
exit "$rc"
