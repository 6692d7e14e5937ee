#!/bin/bash
# SPDX-License-Identifier: MIT
#
# CI for the /dev/uintr kernel shim without UINTR hardware:
#  1. install Debian's kernel headers and image, busybox, qemu (apt-get);
#  2. build backends/uintr/kmod against the installed headers' version (never
#     the running kernel's, which may be anything), with W=1, warning-free;
#  3. boot that kernel under qemu-system-x86_64 -accel tcg with a busybox
#     initramfs that loads the module, runs tests/kmod/uintr-kmod-test (and
#     the library checks, when the library builds), unloads it twice over;
#  4. check the console log: every step passed, no kernel warning.
#
# Usage: scripts/kmod-ci.sh [--no-install]     (run as root for apt-get)
# Env:   KMOD_CI_WORK (scratch dir, default: a fresh mktemp -d),
#        KMOD_CI_TIMEOUT (seconds for qemu, default 400),
#        KMOD_CI_MEM (the VM's memory in MiB, default 512),
#        KMOD_CI_KDIR and KMOD_CI_VMLINUZ (both or neither: a kernel build tree
#        to build the module against and its bzImage, instead of Debian's
#        packaged kernel, which is then not installed; the release is the
#        tree's include/config/kernel.release; scripts/kmod-debug.sh),
#        KMOD_CI_MODDIR (with those two: the kernel's installed modules, for
#        KVM's; default the build tree's, scripts/kmod-newest.sh gives one),
#        KMOD_CI_MODULE_SRC (a folder with the module's sources to test instead
#        of backends/uintr/kmod: an older module, to see a regression fail),
#        KMOD_CI_X2APIC=1 (opt-in row: a q35 machine with QEMU's intel-iommu
#        doing interrupt remapping, so that the guest kernel runs its local
#        APICs in x2APIC mode, checked in dmesg; the fake build's blocked
#        waits then use the x2APIC NDST layout. Not in the default stage),
#        KMOD_CI_STALL (seconds a step may run before the guest prints the
#        kernel stacks of its processes and the run fails; default 90).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${KMOD_CI_WORK:-$(mktemp -d /tmp/uipc-kmod-ci.XXXXXX)}
qemu_timeout=${KMOD_CI_TIMEOUT:-400}
start=$SECONDS

log() { printf 'kmod-ci: %s\n' "$*"; }
die() { printf 'kmod-ci: FAIL: %s\n' "$*" >&2; exit 1; }

# ---- 1. packages ---------------------------------------------------------
custom_kernel=0
if [ -n "${KMOD_CI_KDIR:-}${KMOD_CI_VMLINUZ:-}" ]; then
	[ -n "${KMOD_CI_KDIR:-}" ] && [ -n "${KMOD_CI_VMLINUZ:-}" ] ||
		die "KMOD_CI_KDIR and KMOD_CI_VMLINUZ go together"
	custom_kernel=1
fi
pkgs=(busybox-static qemu-system-x86 cpio kmod gcc make meson ninja-build)
if [ "${1:-}" != "--no-install" ]; then
	# Waits for the dpkg lock (another apt run) and retries: scripts/apt.sh.
	. "$here/scripts/apt.sh"
	[ $custom_kernel = 1 ] || pkgs+=(linux-headers-amd64 linux-image-amd64)
	apt_install "${pkgs[@]}" || die "apt-get install failed"
fi

if [ $custom_kernel = 1 ]; then
	kdir=$KMOD_CI_KDIR
	vmlinuz=$KMOD_CI_VMLINUZ
	kver=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) ||
		die "no $kdir/include/config/kernel.release (not a built kernel tree?)"
else
	# The kernel the metapackages point at, e.g. 6.1.0-56-amd64.
	kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 |
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p')
	[ -n "$kver" ] || die "cannot tell the version of linux-headers-amd64"
	kdir=/lib/modules/$kver/build
	vmlinuz=/boot/vmlinuz-$kver
fi
[ -d "$kdir" ] || die "no $kdir"
[ -r "$vmlinuz" ] || die "no $vmlinuz (linux-image-$kver not installed?)"
log "kernel $kver (host runs $(uname -r), not used)"

# ---- 2. module build -----------------------------------------------------
mod=$work/kmod
rm -rf "$mod" && mkdir -p "$mod"
cp "$here"/backends/uintr/kmod/{Kbuild,*.c,*.h} "$here"/backends/uintr/uintr-abi.h "$mod"/
if [ -n "${KMOD_CI_MODULE_SRC:-}" ]; then
	cp "$KMOD_CI_MODULE_SRC"/{Kbuild,*.c,*.h} "$mod"/
	log "module sources from $KMOD_CI_MODULE_SRC, not this tree"
fi
# UIPC_FAKE=1: also uipc_uintr_fake.ko, the same code on emulated hardware (CI only).
make -s -C "$kdir" M="$mod" W=1 UIPC_FAKE=1 modules >"$work/kbuild.log" 2>&1 ||
	{ cat "$work/kbuild.log"; die "module build failed"; }
if grep -Ei 'warning|error' "$work/kbuild.log" | grep -v 'Skipping BTF generation'; then
	die "module build is not warning-free"
fi
for ko in uipc_uintr uipc_uintr_fake; do
	[ "$(modinfo -F vermagic "$mod/$ko.ko" | cut -d' ' -f1)" = "$kver" ] ||
		die "vermagic of $ko.ko is not $kver"
done
# A stand-in module named kvm_intel that loads (TCG has no VMX for the real one).
standin=$work/kvm-intel-standin
rm -rf "$standin" && mkdir -p "$standin"
cp "$here"/tests/kmod/kvm-intel-standin/{Kbuild,kvm_intel.c} "$standin"/
make -s -C "$kdir" M="$standin" W=1 modules >"$work/kbuild-standin.log" 2>&1 ||
	{ cat "$work/kbuild-standin.log"; die "the kvm_intel stand-in does not build"; }
log "modules built warning-free (W=1) against $kdir"

# ---- test programs (static: the initramfs has no libc) -------------------
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -I"$here/backends/uintr" \
	"$here/tests/kmod/uintr-kmod-test.c" -o "$work/uintr-kmod-test"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -pthread -I"$here/backends/uintr" \
	"$here/tests/kmod/uintr-kmod-fake.c" -o "$work/uintr-kmod-fake"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -pthread -I"$here/backends/uintr" \
	"$here/tests/kmod/uintr-kmod-fuzz.c" -o "$work/uintr-kmod-fuzz"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -pthread -I"$here/backends/uintr" \
	"$here/tests/kmod/uintr-kmod-census.c" -o "$work/uintr-kmod-census"
# The shim's regression programs (tests/regress/kmod-*.c), one per defect.
kmod_regress=(exec-state uif-leak waitq-bound slot-reuse memory kvm-intel kvm-intel-live kick-storm)
for t in "${kmod_regress[@]}"; do
	gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -pthread -I"$here/backends/uintr" \
		"$here/tests/regress/kmod-$t.c" -o "$work/kmod-$t"
done

# The library side, if it builds here: a static test program and uipc-info.
have_lib=0
have_info=0
lb=$work/lib-build
if meson setup "$lb" "$here" -Ddefault_library=static -Dtests=disabled -Dexamples=disabled \
	-Dbench=disabled -Dkmod=disabled -Dhwloc=disabled -Dnuma=disabled -Dbuildtype=release >"$work/meson.log" 2>&1 &&
	ninja -C "$lb" -j2 src/libuipc.a src/libuipc_core.a >>"$work/meson.log" 2>&1; then
	if gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -I"$here/include" \
		-I"$lb/include" "$here/tests/kmod/uintr-kmod-lib.c" "$lb/src/libuipc.a" -lpthread -lm \
		-o "$work/uintr-kmod-lib" >>"$work/meson.log" 2>&1; then
		have_lib=1
	else
		cat "$work/meson.log"
		die "the library test program does not link statically"
	fi
	# uipc-info, linked statically here (meson links libc dynamically), with
	# the internal library for the detection details, as tools/meson.build does.
	if [ -f "$here/tools/uipc-info.c" ]; then
		gcc -std=c11 -D_GNU_SOURCE -O2 -static -DUIPC_INFO_UINTR_DETECT=1 -DUIPC_HAVE_BACKEND_UINTR_SIM=0 -I"$here" \
			-I"$here/include" -I"$lb/include" -I"$here/src" -I"$lb/src" -I"$lb" \
			"$here/tools/uipc-info.c" "$lb/src/libuipc_core.a" -lpthread -lm \
			-o "$work/uipc-info" >>"$work/meson.log" 2>&1 ||
			{ cat "$work/meson.log"; die "uipc-info does not link statically"; }
		have_info=1
	fi
else
	cat "$work/meson.log"
	die "the library does not build"
fi
log "library test program: $([ $have_lib = 1 ] && echo yes || echo no); static uipc-info: $([ $have_info = 1 ] && echo yes || echo no)"

# ---- 3. initramfs and boot -----------------------------------------------
root=$work/initramfs
rm -rf "$root" && mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp /bin/busybox "$root/bin/busybox"
cp "$mod/uipc_uintr.ko" "$mod/uipc_uintr_fake.ko" "$work/uintr-kmod-test" "$work/uintr-kmod-fake" "$work/uintr-kmod-fuzz" "$work/uintr-kmod-census" "$root/"
for t in "${kmod_regress[@]}"; do cp "$work/kmod-$t" "$root/"; done
mkdir -p "$root/standin" && cp "$standin/kvm_intel.ko" "$root/standin/"
# KVM's modules, for the regression of a kvm_intel load that fails (no VMX
# under TCG): KMOD_CI_MODDIR's, else installed ones for Debian's kernel,
# else the build tree's.
if [ -n "${KMOD_CI_MODDIR:-}" ]; then
	kvm_base=$KMOD_CI_MODDIR/kernel
elif [ $custom_kernel = 1 ]; then
	kvm_base=$kdir
else
	kvm_base=/lib/modules/$kver/kernel
fi
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-intel; do
	f=$kvm_base/$m.ko
	if [ -r "$f" ]; then cp "$f" "$root/"; elif [ -r "$f.xz" ]; then xz -dc "$f.xz" >"$root/$(basename "$m").ko"; fi
done
# A custom kernel may have no kvm-intel.ko (KVM built in or off, or its
# modules not given): the regression does not apply there. Debian's kernel
# always has one.
if [ $custom_kernel = 1 ] && [ ! -r "$root/kvm-intel.ko" ]; then
	log "no kvm-intel.ko in $kvm_base: regression kmod-kvm-intel is not applicable on this kernel"
	touch "$root/kvm-intel-not-applicable"
fi
[ "${KMOD_CI_X2APIC:-0}" = 1 ] && touch "$root/x2apic-row"
[ $have_lib = 1 ] && cp "$work/uintr-kmod-lib" "$root/"
[ $have_info = 1 ] && cp "$work/uipc-info" "$root/"
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "== uipc kmod test in $(uname -r), cpu: $(grep -m1 'model name' /proc/cpuinfo)"
fails=0
# Each step says what runs; /stall-watch prints the stacks of one that runs
# too long, rather than a log that stays silent until QEMU's timeout.
step() { # name command...
	n=$1; shift
	echo "$n" >/tmp/step.name
	cut -d. -f1 /proc/uptime >/tmp/step.new && mv /tmp/step.new /tmp/step.start
	if "$@"; then echo "STEP ok: $n"; else echo "STEP FAIL: $n"; fails=$((fails + 1)); fi
	rm -f /tmp/step.start
}
/stall-watch &
no_dev() { [ ! -e /dev/uintr ]; }
is_dev() { [ -c /dev/uintr ]; }
no_uintr_cpu() { ! grep -qw uintr /proc/cpuinfo; }
busy_rmmod() { ! rmmod uipc_uintr 2>/dev/null && [ -c /dev/uintr ]; }
# The fake build's last threads give their module references back after an
# RCU grace period (the reaper): wait for that, up to 30 s, then rmmod. A
# reference that stays still fails the step.
fake_rmmod() {
	i=0
	while [ "$(cat /sys/module/uipc_uintr_fake/refcnt 2>/dev/null)" != 0 ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rmmod uipc_uintr_fake
}
info_says() { # pattern
	/uipc-info >/tmp/info.txt 2>&1; cat /tmp/info.txt; grep -qi "$1" /tmp/info.txt
}
# The x2APIC row (KMOD_CI_X2APIC=1): the kernel must have switched to x2APIC.
x2apic_on() {
	dmesg | grep -iE 'x2apic' | head -5
	dmesg | grep -qE 'Enabled IRQ remapping in x2apic mode' &&
		! dmesg | grep -q "IRQ remapping doesn't support X2APIC mode"
}
[ -e /x2apic-row ] && step "local APICs in x2APIC mode (interrupt remapping on)" x2apic_on
step "no /dev/uintr before insmod" no_dev
step "CPU without UINTR" no_uintr_cpu
[ -x /uipc-info ] && step "uipc-info without the module: no /dev/uintr" info_says "kernel interface *none: no /dev/uintr"
for round in 1 2; do
	step "insmod ($round)" insmod /uipc_uintr.ko
	step "/dev/uintr appears ($round)" is_dev
	step "ioctl test ($round)" /uintr-kmod-test --expect-no-hw
	if [ -x /uintr-kmod-lib ]; then step "library test ($round)" /uintr-kmod-lib; fi
	if [ -x /uipc-info ]; then step "uipc-info: module present, no hardware ($round)" info_says "/dev/uintr is loaded but reports no UINTR hardware"; fi
	exec 3</dev/uintr
	step "rmmod refused while /dev/uintr is open ($round)" busy_rmmod
	exec 3<&-
	step "rmmod ($round)" rmmod uipc_uintr
	step "/dev/uintr gone ($round)" no_dev
done
# The same module code on emulated hardware: registration, tables, switching,
# waits, teardown at exit/exec, and no reference left behind.
step "insmod fake-hardware build" insmod /uipc_uintr_fake.ko
# CPU hotplug with the module loaded: the online callback must run again
# (the emulation warns on an MSR write where CR4.UINTR was not set).
cpu_cycle() { echo 0 >/sys/devices/system/cpu/cpu1/online && echo 1 >/sys/devices/system/cpu/cpu1/online; }
step "cpu1 offline and online again" cpu_cycle
# With a blocked waiter pinned to each CPU (NDST decoded as the CPU does).
step "fake-hardware ABI test (with a waiter pinned to each CPU)" /uintr-kmod-fake uipc_uintr_fake --pinned
# The shim's regressions, one program per defect (tests/regress/kmod-*.c).
mount -t cgroup2 none /sys/fs/cgroup
for t in exec-state uif-leak waitq-bound slot-reuse memory kick-storm; do
	step "regression kmod-$t" /kmod-$t
done
# The cost census: every repeatable operation, from CPU 0 as uid 65534; the
# interrupts it costs the other CPU and the slab it leaves (tests/kmod/uintr-kmod-census.c).
step "cost census (remote interrupts and slab per operation)" /uintr-kmod-census
# The own wake interrupt does not care about kvm_intel; the KVM-borrowed
# fallback (wake=kvm) does: the regression runs on that.
own_wake() { dmesg | grep -q 'uipc_uintr_fake: blocked waits are woken by the notification (own interrupt'; }
step "fake build: own wake interrupt by default" own_wake
# A live kvm_intel (the stand-in): the own wake must not care.
step "insmod the kvm_intel stand-in" insmod /standin/kvm_intel.ko
step "regression kmod-kvm-intel-live (with kvm_intel live)" /kmod-kvm-intel-live
step "rmmod the kvm_intel stand-in" rmmod kvm_intel
if [ -r /kvm-intel.ko ]; then
	step "rmmod fake-hardware build (for wake=kvm)" fake_rmmod
	step "insmod fake-hardware build, wake=kvm (the KVM-borrowed fallback)" insmod /uipc_uintr_fake.ko wake=kvm
	insmod /irqbypass.ko; insmod /kvm.ko
	if insmod /kvm-intel.ko 2>/dev/null; then
		echo "kvm_intel loaded (this guest has VMX): regression kmod-kvm-intel not applicable"
		rmmod kvm_intel
	else
		step "regression kmod-kvm-intel (after a failed kvm_intel load)" /kmod-kvm-intel
	fi
	rmmod kvm; rmmod irqbypass
	step "rmmod fake-hardware build (wake=kvm)" fake_rmmod
	step "insmod fake-hardware build again (own wake)" insmod /uipc_uintr_fake.ko
elif [ -e /kvm-intel-not-applicable ]; then
	echo "regression kmod-kvm-intel: not applicable on this kernel (no kvm-intel.ko)"
else
	echo "STEP FAIL: no kvm-intel.ko for regression kmod-kvm-intel"; fails=$((fails + 1))
fi
# Random ioctls from several processes and threads, with fork, exec, kills
# and CPU 1 going offline and online; the rmmod below proves nothing leaked.
step "uintr fuzzer (20 s)" /uintr-kmod-fuzz --seconds 20
# A shim that claims hardware on a CPU without the CPUID bit: the library
# must still never pick (or execute) UINTR.
if [ -x /uintr-kmod-lib ]; then step "library with the fake shim: still falls back" /uintr-kmod-lib; fi
if [ -x /uipc-info ]; then step "uipc-info with the fake shim: shim seen, uintr unusable" info_says "uintr *unavailable *this CPU has no user interrupts"; fi
step "rmmod fake-hardware build" fake_rmmod
step "/dev/uintr gone (fake)" no_dev
echo "== dmesg"
dmesg
echo "== end dmesg"
echo "UIPC-KMOD-RESULT fails=$fails"
poweroff -f
EOF
chmod +x "$root/init"
# A step that runs longer than KMOD_CI_STALL seconds (default 90; the
# longest, the fuzzer, takes 20 s) is reported once, with the kernel stack
# of every user process (/proc/PID/stack: where a stuck insmod or rmmod
# waits), then sysrq w (blocked tasks) and l (all CPUs), at a console log
# level that prints them. The verdict fails on it.
echo "${KMOD_CI_STALL:-90}" >"$root/stall-after"
cat >"$root/stall-watch" <<'EOF'
#!/bin/busybox sh
after=$(cat /stall-after)
dumped=
while :; do
	sleep 5
	t0=$(cat /tmp/step.start 2>/dev/null) && [ -n "$t0" ] || continue
	now=$(cut -d. -f1 /proc/uptime)
	step=$(cat /tmp/step.name)
	[ $((now - t0)) -ge "$after" ] && [ "$dumped" != "$t0 $step" ] || continue
	dumped="$t0 $step"
	dmesg -n 7
	echo "STALL: step '$step' still running after $((now - t0)) s; kernel stacks:"
	for d in /proc/[0-9]*; do
		cl=$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null)
		[ -n "$cl" ] || continue # kernel threads: sysrq w below
		c=$(cat "$d/comm" 2>/dev/null) || continue
		case "$c" in stall-watch | sleep | cat | tr | grep | cut) continue ;; esac
		echo "STALL: pid ${d#/proc/} ($c: $cl) $(grep State "$d/status" 2>/dev/null)"
		cat "$d/stack" 2>/dev/null
	done
	if [ -w /proc/sysrq-trigger ]; then
		echo w >/proc/sysrq-trigger
		echo l >/proc/sysrq-trigger
	fi
done
EOF
chmod +x "$root/stall-watch"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

log "booting $vmlinuz under qemu -accel tcg (timeout ${qemu_timeout}s)"
boot_start=$SECONDS
set +e
# x2APIC: Linux turns it on only with interrupt remapping in x2APIC mode
# (or under a hypervisor that vouches for it, which TCG does not): q35
# with the emulated VT-d remapping in extended interrupt mode. TCG has an
# x2APIC from QEMU 8.1 on (Debian 12's 7.2 refuses eim=on without KVM;
# Debian 13's 10.0 does it: scripts/kmod-newest.sh runs in trixie).
qemu_x2apic=()
if [ "${KMOD_CI_X2APIC:-0}" = 1 ]; then
	qv=$(qemu-system-x86_64 --version | sed -n '1s/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	read -r qmaj qmin <<<"${qv:-0 0}"
	[ "$qmaj" -gt 8 ] || { [ "$qmaj" = 8 ] && [ "$qmin" -ge 1 ]; } ||
		die "KMOD_CI_X2APIC=1 needs QEMU 8.1 or later (TCG x2APIC); this is ${qmaj}.${qmin}"
	qemu_x2apic=(-machine q35 -device intel-iommu,intremap=on,eim=on)
	log "x2APIC row: ${qemu_x2apic[*]} (QEMU ${qmaj}.${qmin})"
fi
timeout "$qemu_timeout" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "${KMOD_CI_MEM:-512}" -nographic -no-reboot \
	"${qemu_x2apic[@]}" -kernel "$vmlinuz" -initrd "$work/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null >"$work/console.log" 2>&1
qrc=$?
set -e
tr -d '\r' <"$work/console.log" >"$work/console.txt"
log "qemu exited with $qrc after $((SECONDS - boot_start))s"

# ---- 4. verdict ----------------------------------------------------------
sed -n '/== uipc kmod test/,/^== dmesg/p' "$work/console.txt" | sed 's/.*\(== uipc kmod test\)/\1/'
passed=$(grep -c '^STEP ok' "$work/console.txt" || true)
failed=$(grep -c '^STEP FAIL' "$work/console.txt" || true)
problems=()
grep -q '^UIPC-KMOD-RESULT fails=0$' "$work/console.txt" || problems+=("the VM did not finish with fails=0")
! grep -q '^STALL: ' "$work/console.txt" || problems+=("a step stalled (stacks in the console log)")
[ "$qrc" = 124 ] && problems+=("qemu timed out")
grep -q 'uipc_uintr: /dev/uintr ready (ABI 1, hardware absent)' "$work/console.txt" ||
	problems+=("the module did not report 'hardware absent'")
grep -q 'uipc_uintr_fake: /dev/uintr ready (ABI 1, hardware enabled)' "$work/console.txt" ||
	problems+=("the fake-hardware build did not come up")
# Kernel trouble anywhere in the log (boot, load, test, unload), including
# what a debug kernel reports (scripts/kmod-debug.sh): KASAN, lockdep,
# PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, debugobjects, list debugging.
# Most of these also print a WARNING: or BUG: line; named here all the same.
if grep -nE 'WARNING:|BUG:|Oops|Call Trace|general protection|UBSAN|KASAN|refcount_t|kernel panic|unknown symbol|Unknown symbol|leaked|possible circular locking|possible recursive locking|inconsistent lock state|lock held when returning|turning off the locking correctness validator|suspicious RCU usage|sleeping function called from invalid context|scheduling while atomic|using smp_processor_id\(\) in preemptible|ODEBUG|list_(add|del) corruption' \
	"$work/console.txt"; then
	problems+=("kernel log has warnings")
fi
if [ "${KMOD_CI_X2APIC:-0}" = 1 ] && ! grep -q '^STEP ok: local APICs in x2APIC mode' "$work/console.txt"; then
	problems+=("x2APIC row: the guest did not run in x2APIC mode")
fi
sed -n '/^== dmesg/,/^== end dmesg/p' "$work/console.txt" | grep -i 'uipc\|uintr\|x2apic' || true
total=$((SECONDS - start))
log "stage took ${total}s; console log: $work/console.txt"
if [ ${#problems[@]} -gt 0 ]; then
	printf 'kmod-ci: FAIL: %s\n' "${problems[@]}" >&2
	[ "$failed" -gt 0 ] || failed=1
fi
echo "kmod: $passed passed, $failed failed"
[ ${#problems[@]} -eq 0 ] && [ "$failed" -eq 0 ]
