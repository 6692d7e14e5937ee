#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI stage: the real uintr path (SENDUIPI, user-interrupt delivery, UIRET,
# CLUI/STUI, the /dev/uintr shim) on an emulated Sapphire Rapids CPU. No
# machine the project can reach has UINTR; Bochs 3.0 implements it from the
# SDM, independently of our own model (backends/uintr/uintr-sim.c).
# Results are "emulated", never "hardware". Details, steps and costs:
# tests/uintr-emu/README.md.
#
#  1. host: debootstrap (apt-get); a Debian 13 "trixie" chroot (Bochs 3.0
#     needs trixie's libc) with compilers, Debian 13's kernel headers,
#     busybox, isolinux, xorriso, the Bochs BIOS images;
#  2. Bochs 3.0 from Debian trixie's source, headless, with
#     tests/uintr-emu/bochs-uintr.patch (two emulator defects fixed);
#  3. Debian 13's kernel image; uipc_uintr.ko built against its headers with
#     W=1, warning-free;
#  4. the library, its test suites, the uintr tests and tools, built in the
#     chroot; a busybox initramfs with them (and the shared libraries they
#     need); an ISO with isolinux;
#  5. boot under Bochs on 2 CPUs, tests/uintr-emu/init.sh runs the steps;
#  6. verdict from the serial log (every step named, "N passed, N failed";
#     any kernel WARNING/BUG/Oops/Call Trace/KASAN/UBSAN fails) and from
#     bochs.log (any #GP/#UD not expected by the tests fails).
#
# Usage: scripts/uintr-emu.sh [--no-install] [--cache DIR]    (as root)
#   --no-install  use the cache as it is: no apt-get, no debootstrap
#   --cache DIR   where the chroot, Bochs and the kernel are kept between
#                 runs (default: build-uintr-emu in the source tree); a
#                 second run rebuilds only what changed
# Env: UIPC_EMU_MIRROR (Debian mirror), UIPC_EMU_BOOT_TIMEOUT (s, default
#      1500), UIPC_EMU_SUITES (library suites run on uintr, default
#      "notify xproc stress faults kill chan"), UIPC_EMU_GATE_SUITES (those
#      of them that count as steps, default all; any others run and are
#      reported without deciding the verdict), UIPC_EMU_SUITE_TIMEOUT
#      (guest seconds per suite, default 120).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
install=1
cache=$here/build-uintr-emu
while [ $# -gt 0 ]; do
	case $1 in
	--no-install) install=0 ;;
	--cache) cache=$2; shift ;;
	--cache=*) cache=${1#--cache=} ;;
	*) echo "usage: $0 [--no-install] [--cache DIR]" >&2; exit 2 ;;
	esac
	shift
done
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
mirror=${UIPC_EMU_MIRROR:-http://deb.debian.org/debian}
boot_timeout=${UIPC_EMU_BOOT_TIMEOUT:-1500}
root=$cache/trixie
out=$root/build/out # logs and images: $out.*, inside the chroot at /build/out.*
start=$SECONDS
phase_start=$SECONDS

log() { printf 'uintr-emu: %s\n' "$*"; }
die() { printf 'uintr-emu: FAIL: %s\n' "$*" >&2; exit 1; }
phase() { # name: report how long the previous phase took
	log "$* ($((SECONDS - start))s)"
	phase_start=$SECONDS
}

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot)"
[ "$(uname -m)" = x86_64 ] || die "x86-64 hosts only"

# ---- apt on the host and in the chroot: retries, bounded dpkg-lock wait ----
apt_retry() { # apt-get args... ; runs "$APT_PREFIX apt-get ..."
	local i
	for i in 1 2 3; do
		if timeout 900 ${APT_PREFIX:-} apt-get -q -o DPkg::Lock::Timeout=300 \
			-o Acquire::Retries=3 -o APT::Get::Assume-Yes=true "$@"; then
			return 0
		fi
		log "apt-get $1 failed (try $i of 3); retrying in $((i * 10))s"
		sleep $((i * 10))
	done
	return 1
}

# ---- 1. host packages and the trixie chroot -----------------------------------
chroot_pkgs=(g++ make dpkg-dev xz-utils linux-headers-amd64 perl busybox-static isolinux
	syslinux-common xorriso bochsbios vgabios meson ninja-build pkgconf libcmocka-dev kmod cpio)
chroot_stamp=$root/.uipc-chroot-$(printf '%s\n' "${chroot_pkgs[@]}" | sha256sum | cut -c1-12)

mounted=()
cleanup() {
	local m
	for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
	[ -n "${bochs_pid:-}" ] && kill "$bochs_pid" 2>/dev/null || true
}
trap cleanup EXIT
mount_chroot() {
	if ! mountpoint -q "$root/proc"; then
		mount -t proc proc "$root/proc" && mounted+=("$root/proc")
	fi
}
in_chroot() {
	timeout "${CHROOT_TIMEOUT:-1200}" chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

if [ ! -e "$chroot_stamp" ]; then
	[ $install = 1 ] || die "--no-install: no prepared chroot in $root (run once without it)"
	if ! command -v debootstrap >/dev/null; then
		log "installing debootstrap on the host"
		export DEBIAN_FRONTEND=noninteractive
		apt_retry update -qq >/dev/null || die "apt-get update failed on the host"
		apt_retry install -qq --no-install-recommends debootstrap >/dev/null ||
			die "cannot install debootstrap on the host"
	fi
	if [ ! -e "$root/.uipc-debootstrap" ]; then
		rm -rf "$root"
		log "debootstrap trixie from $mirror"
		ok=0
		for i in 1 2 3; do
			if timeout 900 debootstrap --variant=minbase trixie "$root" "$mirror" \
				>"$cache/debootstrap.log" 2>&1; then
				ok=1
				break
			fi
			tail -5 "$cache/debootstrap.log"
			log "debootstrap failed (try $i of 3)"
			rm -rf "$root"
			sleep $((i * 10))
		done
		[ $ok = 1 ] || die "debootstrap of trixie failed; see $cache/debootstrap.log"
		touch "$root/.uipc-debootstrap"
	fi
	printf 'deb %s trixie main\ndeb-src %s trixie main\n' "$mirror" "$mirror" \
		>"$root/etc/apt/sources.list"
	rm -f "$root"/etc/apt/sources.list.d/*
	# No daemons from package scripts inside the chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod +x "$root/usr/sbin/policy-rc.d"
	mount_chroot
	phase "chroot packages: ${chroot_pkgs[*]}"
	APT_PREFIX="chroot $root" apt_retry update -qq >"$cache/chroot-apt.log" 2>&1 ||
		{ tail -20 "$cache/chroot-apt.log"; die "apt-get update in the chroot failed"; }
	APT_PREFIX="chroot $root" apt_retry install -qq --no-install-recommends "${chroot_pkgs[@]}" \
		>>"$cache/chroot-apt.log" 2>&1 ||
		{ tail -20 "$cache/chroot-apt.log"; die "apt-get install in the chroot failed"; }
	rm -f "$root"/.uipc-chroot-*
	touch "$chroot_stamp"
fi
mount_chroot
phase "chroot ready: $(cat "$root/etc/debian_version") in $root"

# ---- 2. Bochs 3.0 with the UINTR fix ------------------------------------------
patch_file=$here/tests/uintr-emu/bochs-uintr.patch
# --disable-show-ips: Bochs prints its IPS from a SIGALRM handler through
# the logger's stdio; a signal that lands while the emulator itself writes
# its log deadlocks it on the stdio lock (seen once: the guest stalled with
# Bochs asleep in a futex). Without it, no signal handler logs.
bochs_conf=(--with-nogui --disable-plugins --disable-docbook --disable-readline
	--enable-x86-64 --enable-smp --enable-cpu-level=6 --enable-all-optimizations
	--enable-avx --enable-evex --enable-amx --enable-cet --enable-uintr --enable-vmx=2
	--enable-protection-keys --enable-monitor-mwait --enable-fpu --enable-a20-pin
	--enable-pci --enable-cdrom --enable-repeat-speedups --enable-long-phy-address
	--enable-alignment-check --disable-show-ips)
bochs_key=$( (cat "$patch_file"; echo "${bochs_conf[*]}") | sha256sum | cut -c1-12)
bdir=$root/build/bochs
if [ ! -x "$bdir/bochs-$bochs_key" ]; then
	[ $install = 1 ] || [ -e "$bdir/bochs_3.0+dfsg.orig.tar.xz" ] ||
		die "--no-install: Bochs source not in the cache"
	mkdir -p "$bdir"
	if [ ! -e "$bdir/bochs_3.0+dfsg.orig.tar.xz" ]; then
		# The tarballs are checked against the signed Sources index; the .dsc
		# itself may be missing on a mirror (only the tarballs are needed).
		(cd "$bdir" && CHROOT_TIMEOUT=600 in_chroot sh -c \
			'cd /build/bochs && apt-get source -q --download-only bochs=3.0+dfsg-1' \
			>"$cache/bochs-source.log" 2>&1) || true
		[ -e "$bdir/bochs_3.0+dfsg.orig.tar.xz" ] ||
			{ cat "$cache/bochs-source.log"; die "cannot download Debian's bochs 3.0+dfsg source"; }
	fi
	rm -rf "$bdir/src" && mkdir -p "$bdir/src"
	tar -xf "$bdir/bochs_3.0+dfsg.orig.tar.xz" -C "$bdir/src" --strip-components=1
	patch -d "$bdir/src" -p1 -s <"$patch_file" || die "bochs-uintr.patch does not apply"
	phase "building Bochs 3.0 (headless, UINTR fix)"
	CHROOT_TIMEOUT=900 in_chroot sh -c "cd /build/bochs/src && CXXFLAGS=-O2 CFLAGS=-O2 \
		./configure ${bochs_conf[*]} && make -j$(nproc)" >"$cache/bochs-build.log" 2>&1 ||
		{ tail -30 "$cache/bochs-build.log"; die "Bochs build failed"; }
	rm -f "$bdir"/bochs-*
	cp "$bdir/src/bochs" "$bdir/bochs-$bochs_key"
fi
ln -sf "bochs-$bochs_key" "$bdir/bochs"
phase "Bochs: $(in_chroot /build/bochs/bochs --help 2>&1 | grep -m1 -o 'Bochs x86 Emulator [0-9.]*' || echo '?')"

# ---- 3. Debian 13's kernel and the module --------------------------------------
kver=$(in_chroot dpkg-query -W -f='${Depends}' linux-headers-amd64 |
	sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p')
[ -n "$kver" ] || die "cannot tell the version of linux-headers-amd64 in the chroot"
kdir=/lib/modules/$kver/build
vmlinuz=$cache/kernel/vmlinuz-$kver
if [ ! -r "$vmlinuz" ]; then
	[ $install = 1 ] || die "--no-install: no $vmlinuz in the cache"
	# The image package only for its vmlinuz: not installed (no initramfs-tools run).
	rm -rf "$root/build/kernel" && mkdir -p "$root/build/kernel" "$cache/kernel"
	CHROOT_TIMEOUT=600 in_chroot sh -c "cd /build/kernel && apt-get download -q linux-image-$kver" \
		>"$cache/kernel-download.log" 2>&1 ||
		{ cat "$cache/kernel-download.log"; die "cannot download linux-image-$kver"; }
	dpkg-deb --fsys-tarfile "$root"/build/kernel/linux-image-"$kver"_*.deb |
		tar -xO "./boot/vmlinuz-$kver" >"$vmlinuz.tmp"
	mv "$vmlinuz.tmp" "$vmlinuz"
fi
log "kernel $kver (Debian 13), headers $kdir in the chroot"

b=$root/build/uipc
mkdir -p "$b"
rm -rf "$b/kmod" && mkdir -p "$b/kmod"
cp "$here"/backends/uintr/kmod/{Kbuild,*.c,*.h} "$here"/backends/uintr/uintr-abi.h "$b/kmod/"
in_chroot make -s -C "$kdir" M=/build/uipc/kmod W=1 modules >"$out.kbuild.log" 2>&1 ||
	{ cat "$out.kbuild.log"; die "module build against $kver failed"; }
if grep -Ei 'warning|error' "$out.kbuild.log" | grep -v 'Skipping BTF generation'; then
	die "module build against $kver is not warning-free (W=1)"
fi
[ "$(in_chroot modinfo -F vermagic /build/uipc/kmod/uipc_uintr.ko | cut -d' ' -f1)" = "$kver" ] ||
	die "vermagic of uipc_uintr.ko is not $kver"
phase "uipc_uintr.ko built warning-free (W=1) against $kver"

# ---- 4. the library, the tests, the initramfs, the ISO --------------------------
# The source as git sees it (tracked and untracked-not-ignored files), else all.
src=$b/src
mkdir -p "$src"
if git -C "$here" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$here" && git ls-files -z -c -o --exclude-standard) >"$out.files"
else
	(cd "$here" && find . -path ./build\* -prune -o -type f -print0) >"$out.files"
fi
# Into a staging copy, then only files whose content differs replace the
# cached ones (with a new mtime): ninja rebuilds what changed, whatever the
# timestamps of the source tree were.
rm -rf "$b/src.new" && mkdir -p "$b/src.new"
(cd "$here" && tar --null -T "$out.files" -cf - 2>/dev/null) | tar -xf - -C "$b/src.new"
(cd "$b/src.new" && find . -type f | sort) >"$out.new.list"
(cd "$src" && find . -type f | sort) >"$out.old.list"
comm -13 "$out.new.list" "$out.old.list" | (cd "$src" && xargs -r -d '\n' rm -f --)
while IFS= read -r f; do
	if ! cmp -s "$b/src.new/$f" "$src/$f"; then
		mkdir -p "$src/$(dirname "$f")"
		cp "$b/src.new/$f" "$src/$f"
	fi
done <"$out.new.list"
rm -rf "$b/src.new"
lb=/build/uipc/lib
if [ ! -f "$b/lib/build.ninja" ]; then
	in_chroot meson setup "$lb" /build/uipc/src -Ddefault_library=static -Dbuildtype=debugoptimized \
		-Duintr=enabled -Dtests=enabled -Dexamples=enabled -Dbench=disabled -Dkmod=disabled \
		-Dhwloc=disabled -Dnuma=disabled >"$out.meson.log" 2>&1 ||
		{ cat "$out.meson.log"; die "meson setup in the chroot failed"; }
fi
in_chroot ninja -C "$lb" >"$out.ninja.log" 2>&1 || { tail -40 "$out.ninja.log"; die "library build failed"; }
cflags=(-std=gnu11 -O2 -Wall -Wextra -Werror -pthread -I/build/uipc/src/backends/uintr)
in_chroot gcc "${cflags[@]}" /build/uipc/src/tests/kmod/uintr-kmod-test.c -o "$lb/uintr-kmod-test"
in_chroot gcc "${cflags[@]}" -muintr /build/uipc/src/tests/uintr-emu/uintr-selftest.c -o "$lb/uintr-selftest"
in_chroot gcc "${cflags[@]}" -muintr /build/uipc/src/tests/uintr-emu/uintr-wake.c -o "$lb/uintr-wake"
in_chroot gcc "${cflags[@]}" -I/build/uipc/src/include -I"$lb/include" \
	/build/uipc/src/tests/uintr-emu/uintr-emu-lib.c "$lb/src/libuipc.a" -lm -o "$lb/uintr-emu-lib" ||
	die "the uintr test programs do not build"
phase "library, test suites and uintr tests built in the chroot (gcc $(in_chroot gcc -dumpversion))"

suites=${UIPC_EMU_SUITES:-notify xproc stress faults kill chan}
gate_suites=${UIPC_EMU_GATE_SUITES-$suites}
ir=$out/initramfs
rm -rf "$ir" && mkdir -p "$ir"/{bin,dev,proc,sys,tmp,t}
cp "$root/usr/bin/busybox" "$ir/bin/busybox"
progs=("$lb/uintr-kmod-test" "$lb/uintr-selftest" "$lb/uintr-wake" "$lb/uintr-emu-lib" "$lb/tools/uipc-info"
	"$lb/examples/pingpong")
for t in $suites; do progs+=("$lb/tests/test-$t"); done
for t in "$root$lb"/tests/regress/regress-uintr-*; do
	[ -f "$t" ] && [ -x "$t" ] && progs+=("${t#"$root"}")
done
for p in "${progs[@]}"; do
	[ -x "$root$p" ] || die "missing $p"
	cp "$root$p" "$ir/t/"
done
cp "$b/kmod/uipc_uintr.ko" "$ir/t/"
# KVM's modules of this kernel (the chroot has them), for the kvm_intel row.
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-intel; do
	f=$root/usr/lib/modules/$kver/kernel/$m.ko
	if [ -r "$f.xz" ]; then
		xz -dc "$f.xz" >"$ir/t/$(basename "$m").ko"
	elif [ -r "$f" ]; then
		cp "$f" "$ir/t/"
	else
		log "no $m.ko for $kver: the kvm_intel row is skipped"
	fi
done
# The shared libraries those programs load (libc, libcmocka...), from the chroot.
for lib in $(for p in "${progs[@]}"; do in_chroot ldd "$p"; done |
	sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' | sort -u); do
	mkdir -p "$ir$(dirname "$lib")"
	cp -L "$root$lib" "$ir$lib"
done
[ -e "$ir/lib64/ld-linux-x86-64.so.2" ] || die "no dynamic loader collected for the initramfs"
cp "$here/tests/uintr-emu/init.sh" "$ir/init"
chmod +x "$ir/init"
cat >"$ir/t/emu.env" <<EOF
EMU_CORE="$suites"
EMU_GATE_SUITES="$gate_suites"
EMU_SUITE_TIMEOUT=${UIPC_EMU_SUITE_TIMEOUT:-120}
EMU_SUITE_ENV="UIPC_STRESS_SCALE=${UIPC_EMU_STRESS_SCALE:-0.01} UIPC_KILL_ITERS=${UIPC_EMU_KILL_ITERS:-5} UIPC_CHAN_STRESS_MSGS=${UIPC_EMU_CHAN_MSGS:-5000}"
EOF
# cpio and xorriso from the chroot: the host needs nothing but debootstrap.
in_chroot sh -c 'cd /build/out/initramfs && find . | cpio -o -H newc --quiet | gzip -1' \
	>"$out.initrd.gz" || die "cpio of the initramfs failed"

iso=$out/iso
rm -rf "$iso" && mkdir -p "$iso/isolinux"
cp "$root/usr/lib/ISOLINUX/isolinux.bin" "$root/usr/lib/syslinux/modules/bios/ldlinux.c32" "$iso/isolinux/"
cp "$vmlinuz" "$iso/isolinux/vmlinuz"
cp "$out.initrd.gz" "$iso/isolinux/initrd.gz"
# pti=off: the shim refuses to enable UINTR with page-table isolation;
# clearcpuid=amx_tile: the CPU model reports AMX without XFD and the kernel
# would program an invalid XCR0; no5lvl: Bochs's SMM restore rejects CR4.LA57.
cmdline="console=ttyS0,115200 pti=off clearcpuid=amx_tile no5lvl panic=-1 quiet loglevel=4"
cat >"$iso/isolinux/isolinux.cfg" <<EOF
default uipc
prompt 0
timeout 0
serial 0 115200
label uipc
  kernel vmlinuz
  append initrd=initrd.gz $cmdline
EOF
in_chroot xorriso -as mkisofs -quiet -o /build/out.iso -b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table /build/out/iso >"$out.xorriso.log" 2>&1 ||
	{ cat "$out.xorriso.log"; die "xorriso failed"; }
phase "initramfs ($(du -k "$out.initrd.gz" | cut -f1) KiB) and ISO ready; kernel command line: $cmdline"

# ---- 5. boot under Bochs ----------------------------------------------------------
run=$root/build/run
rm -rf "$run" && mkdir -p "$run"
cp "$out.iso" "$run/boot.iso"
cat >"$run/bochsrc" <<'EOF'
megs: 1024
cpu: model=sapphire_rapids, count=1:2:1, ips=50000000, quantum=16, reset_on_triple_fault=0
clock: sync=none, time0=local
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=/build/run/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=/build/run/serial.log
display_library: nogui
log: /build/run/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOF
log "booting under Bochs (2 emulated CPUs; timeout ${boot_timeout}s)"
boot_start=$SECONDS
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin /build/bochs/bochs -q -f /build/run/bochsrc \
	</dev/null >"$run/bochs.out" 2>&1 &
bochs_pid=$!
result=""
while kill -0 "$bochs_pid" 2>/dev/null; do
	if grep -q '^UIPC-EMU-RESULT' "$run/serial.log" 2>/dev/null; then
		result=1
		sleep 3 # poweroff -f: let Bochs stop by itself, else it is stopped here
		break
	fi
	if [ $((SECONDS - boot_start)) -ge "$boot_timeout" ]; then
		log "timeout after ${boot_timeout}s"
		break
	fi
	# A stalled emulator: no console output for 240 s while asleep.
	size=$(stat -c %s "$run/serial.log" 2>/dev/null || echo 0)
	if [ "$size" != "${last_size:-}" ]; then
		last_size=$size
		last_change=$SECONDS
	elif [ $((SECONDS - last_change)) -ge 240 ] &&
		[ "$(cut -d' ' -f3 "/proc/$bochs_pid/stat" 2>/dev/null)" = S ]; then
		log "Bochs stalled: no console output for 240s and the emulator is asleep"
		break
	fi
	sleep 2
done
kill "$bochs_pid" 2>/dev/null || true
wait "$bochs_pid" 2>/dev/null || true
bochs_pid=
boot_time=$((SECONDS - boot_start))
tr -d '\r' <"$run/serial.log" >"$out.console.txt" 2>/dev/null || : >"$out.console.txt"
cp "$run/bochs.log" "$out.bochs.log" 2>/dev/null || : >"$out.bochs.log"
phase "Bochs ran ${boot_time}s"

# ---- 6. verdict ---------------------------------------------------------------------
sed -n '/^== uipc uintr-emu/,/^== dmesg/p' "$out.console.txt"
passed=$(grep -c '^STEP ok' "$out.console.txt" || true)
failed=$(grep -c '^STEP FAIL' "$out.console.txt" || true)
problems=()
[ -n "$result" ] || problems+=("the guest did not finish (no UIPC-EMU-RESULT line)")
grep -q '^UIPC-EMU-RESULT fails=0$' "$out.console.txt" || problems+=("the guest reported failed steps")
grep -q 'uipc_uintr: /dev/uintr ready (ABI 1, hardware enabled)' "$out.console.txt" ||
	problems+=("the module did not enable the (emulated) hardware")
# User-space faults the selftest provokes on purpose are reported by the
# kernel as "traps: uintr-selftest[pid] general protection fault": not a
# kernel problem (their number is checked in bochs.log below).
if grep -nE 'WARNING:|BUG:|Oops|Call Trace|general protection|UBSAN|KASAN|refcount_t|kernel panic|Unknown symbol|leaked' \
	"$out.console.txt" | grep -v 'traps: uintr-selftest\['; then
	problems+=("kernel log has warnings")
fi
# bochs.log: the UINTR faults the tests provoke on purpose (each announced on
# the console as "EXPECT-BOCHS-FAULT: <message>"), exactly those; nothing
# else that is a #GP/#UD of a UINTR instruction, no panic.
uintr_re='SENDUIPI|UIRET|UINTR|STUI|CLUI|TESTUI'
sed -n 's/^EXPECT-BOCHS-FAULT: //p' "$out.console.txt" | sort | uniq -c >"$out.faults.expected"
sed 's/^[^]]*\] //' "$out.bochs.log" | grep -E "^($uintr_re)" | sort | uniq -c >"$out.faults.seen" || true
if ! diff -u "$out.faults.expected" "$out.faults.seen" >"$out.faults.diff"; then
	cat "$out.faults.diff"
	problems+=("bochs.log: UINTR faults differ from the ones the tests provoke")
fi
log "bochs.log: UINTR faults as expected: $(awk '{n += $1} END {print n + 0}' "$out.faults.seen")"
# The guest's power-off reaches Bochs as an ACPI "panic"; that one is expected.
if sed 's/^[^]]*\] //' "$out.bochs.log" | grep -nE '>>PANIC<<|FATAL|#GP|#UD' |
	grep -vE "^[0-9]+:($uintr_re)|ACPI control: soft power off" | head -20 | grep .; then
	problems+=("bochs.log has an unexpected #GP/#UD or a panic")
fi
grep -E '^SUITE (ok|FAIL)' "$out.console.txt" | sed 's/^/uintr-emu: not counted: /' || true
total=$((SECONDS - start))
log "stage took ${total}s (boot and tests ${boot_time}s); logs: $out.console.txt $out.bochs.log"
if [ ${#problems[@]} -gt 0 ]; then
	printf 'uintr-emu: FAIL: %s\n' "${problems[@]}" >&2
	[ "$failed" -gt 0 ] || failed=1
fi
echo "uintr-emu: $passed passed, $failed failed"
[ ${#problems[@]} -eq 0 ] && [ "$failed" -eq 0 ]
