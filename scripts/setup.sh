#!/usr/bin/env bash
# Install whatever Debian packages are missing, then configure and build.
#   BUILD=dir        build directory (default: build)
#   MESON_ARGS="..." extra options for `meson setup`
#   EXTRA_PKGS="..." more packages to make sure of (the test script adds some)
#
# The build is configured again (meson setup --reconfigure) whenever what it
# could find has changed since it was configured: a package that the build
# looks for was installed, removed or upgraded, or MESON_ARGS differ. The
# state it was configured with is kept in $BUILD/uipc-setup.state, so running
# run.sh before test.sh (which installs spin, valgrind) cannot leave a build
# without the suites that the new packages enable.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh

pkgs=(gcc meson ninja-build pkg-config libcmocka-dev libhwloc-dev hwloc
      liburing-dev libuv1-dev libck-dev libevent-dev gnuplot-nox ${EXTRA_PKGS:-})
apt_install "${pkgs[@]}"

# Everything configure-time checks can find: the packages above, the ones
# other scripts add (a build configured without them lacks their suites),
# and the options. Package versions count too (a new libhwloc-dev may change
# what the build enables).
watch=(gcc clang meson pkg-config libcmocka-dev linux-libc-dev libhwloc-dev liburing-dev
       libuv1-dev libck-dev libevent-dev spin valgrind ${EXTRA_PKGS:-})
state() {
	local p
	for p in $(printf '%s\n' "${watch[@]}" | sort -u); do
		printf '%s %s\n' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo absent)"
	done
	printf 'MESON_ARGS %s\n' "${MESON_ARGS:-}"
}

build=${BUILD:-build}
now=$(state)
# shellcheck disable=SC2086
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" ${MESON_ARGS:-}
elif [ "$now" != "$(cat "$build/uipc-setup.state" 2>/dev/null)" ]; then
	echo "setup: $build was configured with other packages or options; configuring again:"
	diff <(cat "$build/uipc-setup.state" 2>/dev/null) <(echo "$now") | sed -n 's/^[<>] /  /p' || true
	meson setup --reconfigure "$build" ${MESON_ARGS:-}
fi
echo "$now" > "$build/uipc-setup.state"
ninja -C "$build"
