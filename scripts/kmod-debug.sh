#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The /dev/uintr shim's QEMU tests (scripts/kmod-ci.sh) under a debug kernel:
# KASAN (generic, inline), lockdep (PROVE_LOCKING, hence PROVE_RCU),
# DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, DEBUG_LIST, DEBUG_OBJECTS_RCU_HEAD.
# Debian ships no such kernel, so:
#  1. install linux-source-6.1 (the version family of the headers kmod-ci.sh
#     uses) and what building it needs;
#  2. unless cached: unpack it, `make tinyconfig` plus scripts/kmod-debug.config,
#     check that every option of that file made it into .config, build
#     bzImage and the modules (KVM's: kvm-intel.ko, and Module.symvers);
#  3. run kmod-ci.sh with KMOD_CI_KDIR / KMOD_CI_VMLINUZ on that tree.
#
# The build tree is kept under $UIPC_KDEBUG_CACHE (default
# /var/cache/uipc-kdebug)/<source version>-<hash of the config>, whole: the
# module is built against it with M=. Other keys there are removed.
#
# Usage: scripts/kmod-debug.sh [--no-install]   (root, for apt-get)
# Env:   UIPC_KDEBUG_CACHE, UIPC_KDEBUG_JOBS (make -j, default nproc),
#        KMOD_CI_TIMEOUT (default here 600 s; the VM ran 50-60 s, KASAN and
#        lockdep under TCG),
#        KMOD_CI_MEM (default here 1024 MiB), KMOD_CI_STALL (default here
#        240 s: a step ran 25 s at host load 19), other KMOD_CI_* as for kmod-ci.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
frag=$here/scripts/kmod-debug.config
cache=${UIPC_KDEBUG_CACHE:-/var/cache/uipc-kdebug}
jobs=${UIPC_KDEBUG_JOBS:-$(nproc)}
# Bump when the build steps below change in a way the config hash misses.
recipe=1
start=$SECONDS

log() { printf 'kmod-debug: %s\n' "$*"; }
die() { printf 'kmod-debug: FAIL: %s\n' "$*" >&2; exit 1; }

install=1
[ "${1:-}" = "--no-install" ] && install=0
if [ $install = 1 ]; then
	. "$here/scripts/apt.sh"
	apt_install linux-source-6.1 gcc make bc bison flex libelf-dev libssl-dev xz-utils ||
		die "apt-get install failed"
fi
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || die "no $tarball (linux-source-6.1 not installed?)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$srcver-$( { echo "recipe $recipe"; cat "$frag"; } | sha256sum | cut -c1-12)
kdir=$cache/$key
mkdir -p "$cache"

# Lines "CONFIG_X=value" of the fragment.
frag_lines() { grep -E '^CONFIG_[A-Za-z0-9_]+=' "$frag"; }

configure() {
	# tinyconfig says how tiny.config overrides allnoconfig: kept in a log.
	make -s ARCH=x86_64 tinyconfig >.uipc-config.log 2>&1 ||
		{ cat .uipc-config.log; die "make tinyconfig failed"; }
	local line name val
	local -a args=()
	while IFS= read -r line; do
		name=${line%%=*}; name=${name#CONFIG_}; val=${line#*=}
		case $val in
		y) args+=(-e "$name") ;;
		m) args+=(-m "$name") ;;
		n) args+=(-d "$name") ;;
		\"*\") val=${val#\"}; args+=(--set-str "$name" "${val%\"}") ;;
		*) args+=(--set-val "$name" "$val") ;;
		esac
	done < <(frag_lines)
	scripts/config --file .config "${args[@]}"
	make -s olddefconfig >>.uipc-config.log 2>&1 ||
		{ cat .uipc-config.log; die "make olddefconfig failed"; }
	# A dependency not met turns an option off without a word: check them all.
	local bad=0
	while IFS= read -r line; do
		name=${line%%=*}; val=${line#*=}
		if [ "$val" = n ]; then
			grep -q "^$name=" .config || continue
		else
			grep -qxF "$line" .config && continue
		fi
		echo "kmod-debug: .config has $(grep -E "^(# )?$name[= ]" .config || echo "no $name"), wanted $line" >&2
		bad=1
	done < <(frag_lines)
	[ $bad = 0 ] || die "the debug kernel's config is not what scripts/kmod-debug.config asks for"
}

build() {
	local t0=$SECONDS
	log "building the debug kernel in $kdir (cold: expect 10-20 min on 2 cores)"
	rm -rf "$kdir" && mkdir -p "$kdir"
	# No documentation but the Kconfig file Kconfig reads (every arch stays:
	# crypto/Kconfig reads theirs).
	tar -xJf "$tarball" -C "$kdir" --strip-components=1 \
		--exclude='linux-source-6.1/Documentation/[!K]*' \
		--exclude='linux-source-6.1/tools/testing' --exclude='linux-source-6.1/tools/perf'
	(cd "$kdir" && configure)
	(cd "$kdir" && make -s -j"$jobs" bzImage modules) >"$kdir/.build.log" 2>&1 ||
		{ tail -n 40 "$kdir/.build.log"; die "the debug kernel does not build"; }
	[ -r "$kdir/arch/x86/kvm/kvm-intel.ko" ] || die "no kvm-intel.ko built"
	[ -s "$kdir/Module.symvers" ] || die "no Module.symvers"
	log "debug kernel $(cat "$kdir/include/config/kernel.release") built in $((SECONDS - t0))s"
	touch "$kdir/.uipc-complete"
}

# One builder at a time; users hold the lock shared, so a build (which
# removes stale keys) never pulls a tree from under a running test.
exec 9>"$cache/.lock"
flock 9
if [ -e "$kdir/.uipc-complete" ]; then
	log "cached debug kernel: $kdir"
else
	build
	for old in "$cache"/*; do
		[ "$old" = "$kdir" ] || { log "removing stale $old"; rm -rf "$old"; }
	done
fi
flock -s 9
du -sh "$kdir" | sed 's/^/kmod-debug: cache size: /'

log "kernel ready after $((SECONDS - start))s; running kmod-ci.sh on it"
ci_args=()
rc=0
[ $install = 1 ] || ci_args=(--no-install)
KMOD_CI_KDIR=$kdir KMOD_CI_VMLINUZ=$kdir/arch/x86/boot/bzImage \
	KMOD_CI_TIMEOUT=${KMOD_CI_TIMEOUT:-600} KMOD_CI_MEM=${KMOD_CI_MEM:-1024} \
	KMOD_CI_STALL=${KMOD_CI_STALL:-240} \
	"$here/scripts/kmod-ci.sh" "${ci_args[@]}" || rc=$?
log "stage took $((SECONDS - start))s"
exit $rc
