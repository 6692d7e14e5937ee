#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the Debian packages (debian/) in a copy of the tree, install them,
# build an outside program against them through pkg-config, run it and
# uipc-info, then purge everything the install added.
#
#   scripts/deb-check.sh               all of it (CI, .ci/run)
#   scripts/deb-check.sh --build-only  build the packages, install nothing
#
# The .debs are left in build-deb/ (ignored by git). dpkg-buildpackage
# writes next to the tree it builds, so the build runs in a temporary copy.
# DEB_BUILD_OPTIONS passes through: CI sets nocheck (the suite ran in its
# first stage), which also builds without CMocka (profile nocheck).
#
# uipc-uintr-dkms is installed only where some kernel has its headers in
# /lib/modules/*/build: DKMS builds the module for each of those kernels
# (a running kernel without headers, a custom one or a container's host,
# is skipped by DKMS), and this script checks that each build succeeded.
# Where no kernel has headers, the other three packages are checked and the
# script says the DKMS package was not.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/apt.sh
export DEBIAN_FRONTEND=noninteractive

build_only=0
[ "${1:-}" = --build-only ] && build_only=1
out=$PWD/build-deb
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
profiles=()
case " ${DEB_BUILD_OPTIONS:-} " in *" nocheck "*) profiles=(-Pnocheck) ;; esac

tmp=$(mktemp -d)
added=()          # packages the install added: purged on the way out
dkms_state_new=0  # /var/lib/dkms did not exist before: removed on the way out
cleanup() {
	if ((${#added[@]})); then
		echo "purging: ${added[*]}"
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
			purge -y -qq "${added[@]}" >/dev/null || echo "purge failed: ${added[*]}" >&2
	fi
	# dkms leaves its module-signing key behind (/var/lib/dkms/mok.*).
	if ((dkms_state_new)) && ! dpkg-query -W -f='${Status}' dkms 2>/dev/null | grep -q 'ok installed'; then
		$sudo rm -rf /var/lib/dkms
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# The tree as git sees it (tracked and untracked files, not ignored ones:
# no build directories), or all of it outside a git checkout.
src=$tmp/uipc
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude='./build*' -cf - . | tar -xf - -C "$src"
fi

# Build dependencies, from debian/control (apt resolves debhelper-compat
# and dh-sequence-dkms); nothing to do when they are all there.
apt_install dpkg-dev
if ! (cd "$src" && dpkg-checkbuilddeps "${profiles[@]}" 2>/dev/null); then
	echo "apt: installing the build dependencies of debian/control"
	for try in 1 2 3; do
		if $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update \
		       >"$tmp/apt.log" 2>&1 &&
		   $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq \
		       --no-install-recommends "${profiles[@]/#-P/--build-profiles=}" build-dep "$src" \
		       >>"$tmp/apt.log" 2>&1; then
			break
		fi
		echo "apt: attempt $try failed: $(tail -n1 "$tmp/apt.log")" >&2
		((try < 3)) || { echo "apt: could not install the build dependencies" >&2; exit 1; }
		sleep $((try * 15))
	done
fi

echo "dpkg-buildpackage -us -uc -b ${profiles[*]} (DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-})"
log=$tmp/build.log
if ! (cd "$src" && dpkg-buildpackage -us -uc -b "${profiles[@]}") >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	exit 1
fi
grep -E '^(Ok|Fail|Skipped|Timeout):' "$log" || true
rm -rf "$out"
mkdir -p "$out"
cp "$tmp"/*.deb "$out"/
ls "$out"
((build_only)) && exit 0

# Which packages to install; the dbgsym ones are not needed here.
debs=("$out"/libuipc0_*.deb "$out"/libuipc-dev_*.deb "$out"/uipc-tools_*.deb)
kernels=()
for d in /lib/modules/*/build; do
	[ -d "$d" ] && kernels+=("$(basename "$(dirname "$d")")")
done
if [ "$(uname -m)" != x86_64 ]; then
	kernels=()   # dkms.conf: BUILD_EXCLUSIVE_ARCH="x86_64"
	echo "note: not x86-64: uipc-uintr-dkms not installed"
elif ((${#kernels[@]})); then
	debs+=("$out"/uipc-uintr-dkms_*.deb)
	[ -d "/lib/modules/$(uname -r)/build" ] ||
		echo "note: the running kernel $(uname -r) has no headers: DKMS builds for ${kernels[*]} only"
else
	echo "note: no kernel headers in /lib/modules/*/build: uipc-uintr-dkms not installed (DKMS could build nothing)"
fi

before=$(dpkg-query -W -f='${Package}\n' | sort)
[ -e /var/lib/dkms ] || dkms_state_new=1
# The added packages are recorded even if the install fails half-way.
rc=0
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	--no-install-recommends "${debs[@]}" >"$tmp/install.log" 2>&1 || rc=$?
mapfile -t added < <(comm -13 <(echo "$before") <(dpkg-query -W -f='${Package}\n' | sort))
if ((rc)); then
	tail -n 30 "$tmp/install.log" >&2
	exit 1
fi
echo "installed: ${added[*]}"

# The outside program, through the system's pkg-config path alone: shared,
# then with libuipc.a and what `pkg-config --static` adds.
cp scripts/outside.c "$tmp/outside.c"
cflags=$(pkg-config --cflags uipc)
echo "pkg-config --libs uipc: $(pkg-config --libs uipc)"
echo "pkg-config --static --libs uipc: $(pkg-config --static --libs uipc)"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror -pedantic "$tmp/outside.c" -o "$tmp/outside" $cflags $(pkg-config --libs uipc)
ldd "$tmp/outside" | grep libuipc
"$tmp/outside"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror -pedantic "$tmp/outside.c" -o "$tmp/outside-static" $cflags \
	$(pkg-config --static --libs uipc | sed 's/-luipc\b/-l:libuipc.a/')
if ldd "$tmp/outside-static" | grep -q libuipc; then
	echo "outside-static links libuipc.so" >&2
	exit 1
fi
"$tmp/outside-static" | sed 's/^outside program/outside program (libuipc.a)/'
# The packaged library exports what src/libuipc.sym lists, and no
# installed file carries the test-only UINTR model.
so=$(dpkg -L libuipc0 | grep '/libuipc\.so\.0$')
python3 scripts/abi-check.py "$so" src/libuipc.sym
if dpkg -L libuipc0 libuipc-dev uipc-tools | while read -r f; do [ -f "$f" ] && echo "$f"; done |
     xargs grep -l -e 'uintr-sim' -e 'uipc__uintr_sim'; then
	echo "the UINTR model (a test tool) is in an installed file" >&2
	exit 1
fi
# The tools and the manual pages.
uipc-info
uipc-idle --receivers 2 --channels 2 --seconds 0.2 --settle 0.1 >/dev/null
for page in man1/uipc-info.1 man3/uipc_rx_wait.3 man7/uipc.7; do
	[ -e "/usr/share/man/$page.gz" ] || { echo "missing: /usr/share/man/$page.gz" >&2; exit 1; }
done

# The module, built by DKMS for every kernel with headers (not loaded:
# the QEMU stage of scripts/kmod-ci.sh loads it).
if ((${#kernels[@]})); then
	status=$(dkms status -m uipc-uintr)
	echo "$status"
	for k in "${kernels[@]}"; do
		if ! grep -q ", $k, .*: installed" <<<"$status"; then
			echo "DKMS did not build uipc_uintr.ko for $k" >&2
			exit 1
		fi
	done
fi
echo "deb check: ok"
