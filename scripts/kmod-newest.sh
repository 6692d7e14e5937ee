#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The kernel shim on the newest kernel Debian ships (trixie-backports):
#  1. a Debian 13 "trixie" chroot with trixie-backports in its sources
#     (debootstrap), cached; the kernel's kbuild tools need trixie's libc
#     and gcc, so the module is built in there;
#  2. the newest linux-headers-amd64 of trixie-backports installed in it;
#     that kernel's image (vmlinuz) and KVM's modules extracted from its
#     packages, cached per kernel version;
#  3. scripts/kmod-ci.sh run in the chroot against them (KMOD_CI_KDIR,
#     KMOD_CI_VMLINUZ, KMOD_CI_MODDIR): W=1 build of both modules, boot under
#     QEMU/TCG, insmod, the tests, rmmod, a clean kernel log;
#  4. the module's account of this kernel: what Kbuild's probes found
#     (uipc_compat.h) and that its load said so (which wake, and why).
#
# Usage: scripts/kmod-newest.sh          (root, Debian, x86-64)
# Env:   UIPC_K73_CACHE (default /var/cache/uipc-newest),
#        UIPC_NEWEST_MIRROR (default http://deb.debian.org/debian),
#        KMOD_CI_X2APIC=1 (opt-in: the guest in x2APIC mode, through
#        interrupt remapping by QEMU 10's intel-iommu; see kmod-ci.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${UIPC_K73_CACHE:-/var/cache/uipc-newest}
mirror=${UIPC_NEWEST_MIRROR:-http://deb.debian.org/debian}
root=$cache/trixie
start=$SECONDS

log() { printf 'kmod-newest: %s (%ss)\n' "$*" "$((SECONDS - start))"; }
die() { printf 'kmod-newest: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot)"
[ "$(uname -m)" = x86_64 ] || die "x86-64 only"
mkdir -p "$cache"
# One run at a time per cache.
exec 9>"$cache/.lock"
flock 9

mounted=()
cleanup() {
	local m
	for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
in_chroot() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
apt_chroot() { # apt-get arguments...; three tries
	local i
	for i in 1 2 3; do
		in_chroot apt-get -qq -o DPkg::Lock::Timeout=300 "$@" && return 0
		sleep 10
	done
	return 1
}

# ---- 1. the chroot -----------------------------------------------------------
pkgs=(gcc libc6-dev make perl kmod xz-utils cpio busybox-static qemu-system-x86 meson ninja-build)
stamp=$root/.uipc-newest-$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-12)
if [ ! -e "$root/.uipc-debootstrap" ]; then
	command -v debootstrap >/dev/null || {
		. "$here/scripts/apt.sh"
		apt_install debootstrap || die "cannot install debootstrap"
	}
	log "debootstrap trixie into $root"
	rm -rf "$root"
	debootstrap --variant=minbase trixie "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -5 "$cache/debootstrap.log"; die "debootstrap failed; see $cache/debootstrap.log"; }
	touch "$root/.uipc-debootstrap"
fi
if ! mountpoint -q "$root/proc"; then
	mount -t proc proc "$root/proc" && mounted+=("$root/proc")
fi
printf 'deb %s trixie main\ndeb %s trixie-backports main\n' "$mirror" "$mirror" >"$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
# Always ask which kernel is newest; a cached one serves when the mirror is unreachable.
if ! apt_chroot update >"$cache/apt.log" 2>&1; then
	log "apt-get update failed: using the newest kernel already in the cache"
fi
if [ ! -e "$stamp" ]; then
	log "chroot packages: ${pkgs[*]}"
	apt_chroot install --no-install-recommends "${pkgs[@]}" >>"$cache/apt.log" 2>&1 ||
		{ tail -20 "$cache/apt.log"; die "apt-get install in the chroot failed"; }
	touch "$stamp"
fi

# ---- 2. the newest backports kernel ------------------------------------------
kver=$(in_chroot apt-cache show linux-headers-amd64/trixie-backports 2>/dev/null |
	sed -n 's/^Depends:.*linux-headers-\([^ ,]*-amd64\).*/\1/p' | sort -V | tail -n 1)
if [ -z "$kver" ]; then
	kver=$(ls "$cache/kernels" 2>/dev/null | sort -V | tail -n 1)
	[ -n "$kver" ] || die "no linux-headers-amd64 in trixie-backports and none cached"
fi
kc=$cache/kernels/$kver
log "newest Debian kernel: $kver (trixie-backports)"
if [ ! -e "$kc/.done" ] || [ ! -d "$root/lib/modules/$kver/build" ]; then
	apt_chroot install --no-install-recommends -t trixie-backports "linux-headers-$kver" \
		>>"$cache/apt.log" 2>&1 || { tail -20 "$cache/apt.log"; die "cannot install linux-headers-$kver"; }
	rm -rf "$kc" "$root/tmp/newest-debs" && mkdir -p "$kc" "$root/tmp/newest-debs"
	# The image (vmlinuz: linux-binary-*, or linux-image-* where that holds it)
	# and the modules, unpacked here only, not installed: no initramfs, no boot loader.
	(cd "$root/tmp/newest-debs" && in_chroot sh -c "cd /tmp/newest-debs && apt-get download -qq \
		linux-image-$kver/trixie-backports linux-modules-$kver/trixie-backports \
		\$(apt-cache show linux-binary-$kver/trixie-backports >/dev/null 2>&1 && echo linux-binary-$kver/trixie-backports)" \
		>>"$cache/apt.log" 2>&1) || { tail -20 "$cache/apt.log"; die "cannot download the $kver image"; }
	for deb in "$root"/tmp/newest-debs/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kc" --wildcards \
			'*/vmlinuz*' '*/kernel/arch/x86/kvm/kvm.ko*' '*/kernel/arch/x86/kvm/kvm-intel.ko*' \
			'*/kernel/virt/lib/irqbypass.ko*' 2>/dev/null || true
	done
	rm -rf "$root/tmp/newest-debs"
	v=$(find "$kc" -name 'vmlinuz*' -type f | head -n 1)
	[ -n "$v" ] || die "no vmlinuz in the packages of $kver"
	mv "$v" "$kc/vmlinuz"
	m=$(find "$kc" -type d -path "*/modules/$kver" | head -n 1)
	[ -n "$m" ] && mv "$m" "$kc/modules"
	touch "$kc/.done"
fi
# Older kernels' headers go: the cache keeps the newest.
for h in "$root"/usr/src/linux-headers-*-amd64; do
	case $h in *"$kver") ;; *) in_chroot apt-get -qq purge "$(basename "$h")" >>"$cache/apt.log" 2>&1 || true ;; esac
done

# ---- 3. kmod-ci.sh in the chroot ---------------------------------------------
rm -rf "$root/build/src" "$root/build/work" "$root/build/kernel"
mkdir -p "$root/build/src" "$root/build/work"
tar -C "$here" --exclude=./.git --exclude='./build*' --exclude=./subprojects/packagecache -c . |
	tar -x -C "$root/build/src"
cp -a "$kc" "$root/build/kernel"
log "scripts/kmod-ci.sh against $kver in the chroot"
set +e
in_chroot KMOD_CI_KDIR="/lib/modules/$kver/build" KMOD_CI_VMLINUZ=/build/kernel/vmlinuz \
	KMOD_CI_MODDIR=/build/kernel/modules KMOD_CI_WORK=/build/work KMOD_CI_TIMEOUT="${KMOD_CI_TIMEOUT:-500}" \
	KMOD_CI_X2APIC="${KMOD_CI_X2APIC:-0}" \
	/build/src/scripts/kmod-ci.sh --no-install
rc=$?
set -e

# ---- 4. what the module says about this kernel -------------------------------
w=$root/build/work
echo "== $kver: Kbuild's probes (uipc_compat.h)"
grep define "$w/kmod/uipc_compat.h" || true
echo "== $kver: the module's load"
grep -a 'uipc_uintr' "$w/console.txt" | sed 's/^\[ *[0-9.]*\] //' | sort -u || true
if grep -q 'UIPC_HAVE_KVM_WAKEUP 0' "$w/kmod/uipc_compat.h" 2>/dev/null &&
	! grep -aq 'uipc_uintr: .*no wakeup vector, blocked waits poll' "$w/console.txt" &&
	! grep -aq 'uipc_uintr: .*own wake interrupt.*no KVM wakeup vector fallback' "$w/console.txt"; then
	echo "kmod-newest: FAIL: the kernel lacks the wakeup export but the load did not say so" >&2
	rc=1
fi
log "done (kmod-ci.sh: $rc)"
exit $rc
